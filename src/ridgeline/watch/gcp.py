"""GCP change events: Cloud Asset Inventory feeds, delivered through a Pub/Sub subscription.

A feed message's data is a TemporalAsset in JSON: `asset` (the new state, with `name`, `assetType`,
`resource.data`, `iamPolicy`, `ancestors`), `priorAsset`, `priorAssetState`, `window` and `deleted`.
The message already carries the new state, so nothing is collected again: the asset becomes a resource
through the Cloud Asset Inventory importer, and a deleted asset a deletion.

A feed of content type IAM_POLICY carries no `resource` part; the watcher keeps the resource data it
has for such an asset (see `backends.GcpBackend.carried`).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from ridgeline.imports.aws_config import ImportReport
from ridgeline.imports.gcp_cai import resources_from_assets
from ridgeline.model.resource import Resource
from ridgeline.watch.events import ChangeEvent, MalformedEvent, ParseResult, ReceivedMessage, SourceUnavailable, Target

logger = logging.getLogger(__name__)


def asset_resource(asset: dict[str, Any], source: str) -> Resource:
    """Turn one Cloud Asset Inventory asset into a resource with the importer; raise MalformedEvent on a bad asset."""
    report = ImportReport()
    resources = list(resources_from_assets([asset], source, report))
    if report.errors or len(resources) != 1:
        details = "; ".join(issue.message for issue in report.errors) or f"{len(resources)} resources"
        raise MalformedEvent(f"asset {str(asset.get('name'))[:200]!r} could not be read: {details}")
    return resources[0]


class AssetFeedParser:
    """Turns Cloud Asset Inventory feed messages of the watched projects into change events."""

    def __init__(self, projects: set[str] | None = None, source: str = "gcp-feed") -> None:
        self.projects = projects
        self.source = source

    def __call__(self, message: ReceivedMessage) -> ParseResult:
        """Parse one feed message; the body is the decoded Pub/Sub data."""
        try:
            document = json.loads(message.body)
        except json.JSONDecodeError as error:
            raise MalformedEvent(f"invalid JSON in the feed message: {error}") from None
        if not isinstance(document, dict) or not isinstance(document.get("asset"), dict):
            raise MalformedEvent("feed message without an 'asset' object")
        asset = document["asset"]
        name, asset_type = asset.get("name"), asset.get("assetType", asset.get("asset_type"))
        if not isinstance(name, str) or not name or not isinstance(asset_type, str) or not asset_type:
            raise MalformedEvent("feed asset without name or assetType")

        window: dict[str, Any] = document["window"] if isinstance(document.get("window"), dict) else {}
        when = _time(window.get("startTime") or asset.get("updateTime"))
        if document.get("deleted") is True:
            project = _project(asset, name)
            if self.projects is not None and project not in self.projects:
                return ParseResult(skipped="other-account")
            target = Target(provider="gcp", account=project, region="", type=asset_type, key=name, delete=True)
            return ParseResult(events=[ChangeEvent(name=f"gcp {asset_type} deleted", event_id=message.message_id,
                                                   event_time=when, targets=[target])])

        resource = asset_resource(asset, self.source)
        if self.projects is not None and resource.account not in self.projects:
            return ParseResult(skipped="other-account")
        state = str(document.get("priorAssetState", ""))
        verb = "created" if state in ("DOES_NOT_EXIST", "DELETED") else "changed"
        return ParseResult(events=[ChangeEvent(name=f"gcp {asset_type} {verb}", event_id=message.message_id,
                                               event_time=when, resources=[resource])])


def _project(asset: dict[str, Any], name: str) -> str:
    """Return the project of a deleted asset: from its ancestors or its name, as the importer does."""
    for ancestor in asset.get("ancestors") or []:
        if isinstance(ancestor, str) and ancestor.startswith("projects/"):
            return ancestor.split("/", 1)[1]
    parts = name.split("/")
    if "projects" in parts and parts.index("projects") + 1 < len(parts):
        return parts[parts.index("projects") + 1]
    return "unknown"


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


PUBSUB_ENDPOINT = "https://pubsub.googleapis.com"
PUBSUB_SCOPE = "https://www.googleapis.com/auth/pubsub"


class PubSubSource:
    """A Pub/Sub subscription read with the REST pull API.

    `subscription` is projects/PROJECT/subscriptions/NAME. With PUBSUB_EMULATOR_HOST set (the variable
    Google's client libraries read), requests go to that host over HTTP without credentials. Otherwise
    they go to Pub/Sub with Application Default Credentials, which need roles/pubsub.subscriber on it.
    """

    def __init__(self, subscription: str, *, ack_deadline: int = 300, timeout: float = 60.0,
                 credentials: Any = None) -> None:
        parts = subscription.split("/")
        if len(parts) != 4 or parts[0] != "projects" or parts[2] != "subscriptions":
            raise ValueError(f"invalid subscription {subscription!r}: expected projects/PROJECT/subscriptions/NAME")
        self.subscription = subscription
        self.ack_deadline = ack_deadline
        self.timeout = timeout
        emulator = os.environ.get("PUBSUB_EMULATOR_HOST")
        self._endpoint = f"http://{emulator}" if emulator else PUBSUB_ENDPOINT
        self._credentials = credentials
        if not emulator and credentials is None:
            import google.auth
            from google.auth.exceptions import GoogleAuthError

            try:
                self._credentials, _project = google.auth.default(scopes=[PUBSUB_SCOPE])
            except GoogleAuthError as error:
                raise ValueError(f"no Application Default Credentials for Pub/Sub: {error}") from None

    @property
    def name(self) -> str:
        """The subscription path."""
        return f"pubsub:{self.subscription}"

    def _post(self, verb: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self._credentials is not None:
            from google.auth.transport.requests import Request

            if not self._credentials.valid:
                self._credentials.refresh(Request())
            headers["Authorization"] = f"Bearer {self._credentials.token}"
        request = urllib.request.Request(f"{self._endpoint}/v1/{self.subscription}:{verb}", method="POST",
                                         headers=headers, data=json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            error.close()
            raise SourceUnavailable(f"{verb} on {self.name} failed: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SourceUnavailable(f"{verb} on {self.name} failed: {error}") from None
        try:
            answer = json.loads(text or b"{}")
        except json.JSONDecodeError as error:
            raise SourceUnavailable(f"{verb} on {self.name} returned invalid JSON: {error}") from None
        return answer if isinstance(answer, dict) else {}

    def receive(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        """Pull up to `max_messages`; the server may return fewer, or none, before its own timeout."""
        answer = self._post("pull", {"maxMessages": max(1, max_messages)})
        messages = []
        for item in answer.get("receivedMessages", []):
            message = item.get("message", {})
            try:
                body = base64.b64decode(message.get("data", ""), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                body = ""
            published = _time(message.get("publishTime"))
            messages.append(ReceivedMessage(message_id=str(message.get("messageId", "")), body=body,
                                            receipt=item.get("ackId", ""),
                                            sent_at=published.timestamp() if published else None,
                                            receive_count=int(item.get("deliveryAttempt", 1) or 1)))
        if messages:
            # Taken messages stay hidden for the ack deadline the watcher works with.
            self._post("modifyAckDeadline", {"ackIds": [item.receipt for item in messages],
                                             "ackDeadlineSeconds": self.ack_deadline})
        return messages

    def delete(self, message: ReceivedMessage) -> None:
        """Acknowledge a processed message."""
        self._post("acknowledge", {"ackIds": [message.receipt]})

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        """Let Pub/Sub deliver the message again after `delay_s` seconds (at most 600)."""
        self._post("modifyAckDeadline", {"ackIds": [message.receipt], "ackDeadlineSeconds": int(min(600, delay_s))})

    def close(self) -> None:
        """Nothing to close: each call opens its own connection."""
