"""Azure change events: Activity Log resource events that Event Grid delivers to a Storage queue.

Event Grid raises `Microsoft.Resources.ResourceWriteSuccess` and `ResourceDeleteSuccess` for the PUT,
PATCH and DELETE calls sent to Azure Resource Manager, with the resource id as `subject`. Both the Event
Grid schema (`eventType`, `eventTime`) and the CloudEvents schema (`type`, `time`) are read. A Storage
queue message contains one event, as JSON or as Base64-encoded JSON. An Event Hubs batch is a JSON array.

Each event names the catalogue resource whose state it changes (`catalogued_target`): the resource itself,
or the catalogued resource that stores the changed child or extension in `supplementary` (a blob service,
a firewall rule, the diagnostic settings of a key vault). The watcher reads that resource again alone.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Collection
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ridgeline.providers.azure.catalog import TYPES_BY_LOWER_NAME
from ridgeline.watch.events import ChangeEvent, MalformedEvent, ParseResult, ReceivedMessage, SourceUnavailable, Target

logger = logging.getLogger(__name__)

WRITE_SUCCESS = "Microsoft.Resources.ResourceWriteSuccess"
DELETE_SUCCESS = "Microsoft.Resources.ResourceDeleteSuccess"
FAILED_EVENTS = frozenset({
    "Microsoft.Resources.ResourceWriteFailure", "Microsoft.Resources.ResourceWriteCancel",
    "Microsoft.Resources.ResourceDeleteFailure", "Microsoft.Resources.ResourceDeleteCancel",
    "Microsoft.Resources.ResourceActionFailure", "Microsoft.Resources.ResourceActionCancel",
})
RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"

EXTENSIONS_AT_ANY_SCOPE = frozenset({"microsoft.authorization/roleassignments"})
"""Catalogue types read at any scope, also when they extend another resource: the Resource Graph table
authorizationresources contains role assignments at, and below, each subscription."""


def resource_target(resource_id: str) -> tuple[str, str, str, bool]:
    """Return (subscription, top-level resource type, top-level resource id, whether the id names a child).

    "/subscriptions/S/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default"
    gives ("S", "Microsoft.Storage/storageAccounts", ".../storageAccounts/a", True): a change of a child
    (a container, a firewall rule) is a change of the resource Ridgeline collects.
    """
    parts = [part for part in resource_id.split("/") if part]
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise MalformedEvent(f"subject {resource_id[:200]!r} is not an Azure resource id")
    subscription = parts[1]
    lowered = [part.lower() for part in parts]
    if "providers" not in lowered:
        if len(parts) >= 4 and lowered[2] == "resourcegroups":
            return subscription, RESOURCE_GROUP_TYPE, "/" + "/".join(parts[:4]), len(parts) > 4
        raise MalformedEvent(f"subject {resource_id[:200]!r} names no resource provider")
    # The last "providers" segment names the resource (extension resources nest one id in another).
    position = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[position + 1:]
    if len(rest) < 3:
        raise MalformedEvent(f"subject {resource_id[:200]!r} has no resource type and name")
    namespace, type_name, name = rest[0], rest[1], rest[2]
    top_id = "/" + "/".join([*parts[:position + 1], namespace, type_name, name])
    return subscription, f"{namespace}/{type_name}", top_id, len(rest) > 3


def catalogued_target(resource_id: str) -> tuple[str, str, bool] | None:
    """Return (catalogue type, id, whether `resource_id` names a child of it) of the resource an id changes.

    The most specific catalogued type wins: ".../servers/s1/databases/d1" is a database, and
    ".../servers/s1/firewallRules/r1" changes the server. An extension resource changes the resource it
    extends when that resource's catalogue entry stores it (diagnostic settings of a key vault). Returns
    None for an id that changes nothing the scan reads (a lock, or a type outside the catalogue).
    """
    parts = [part for part in resource_id.split("/") if part]
    lowered = [part.lower() for part in parts]
    if "providers" not in lowered:
        return None
    position = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[position + 1:]
    scope = parts[:position]

    # Type segments alternate with names: NAMESPACE/TYPE/NAME[/TYPE/NAME...].
    best: tuple[str, str, bool] | None = None
    for depth in range(1, (len(rest) - 1) // 2 + 1):
        type_name = "/".join([rest[0], *rest[1:2 * depth:2]])
        entry = TYPES_BY_LOWER_NAME.get(type_name.lower())
        if entry is not None:
            found_id = "/" + "/".join([*parts[:position + 1], *rest[:2 * depth + 1]])
            best = (entry.name, found_id, len(rest) > 2 * depth + 1)

    extends_resource = "providers" in [part.lower() for part in scope]
    if not extends_resource:
        return best
    if best is not None and best[0].lower() in EXTENSIONS_AT_ANY_SCOPE:
        return best
    parent = catalogued_target("/" + "/".join(scope))
    if parent is None:
        return None
    parent_entry = TYPES_BY_LOWER_NAME[parent[0].lower()]
    extension_type = "/".join([rest[0], *rest[1:2:2]]).lower()
    if any(child.type.lower() == extension_type for child in parent_entry.supplementary.values()):
        return parent[0], parent[1], True
    return None


class EventGridParser:
    """Turns Event Grid resource events of the watched subscriptions into change events."""

    def __init__(self, subscriptions: Collection[str] | None = None) -> None:
        self.subscriptions = {item.lower() for item in subscriptions} if subscriptions else None

    def __call__(self, message: ReceivedMessage) -> ParseResult:
        """Parse one queue message (one event, or an array of events)."""
        document = _decode(message.body)
        items = document if isinstance(document, list) else [document]
        result = ParseResult()
        reasons: list[str] = []
        for item in items:
            if not isinstance(item, dict):
                raise MalformedEvent(f"an event is JSON {type(item).__name__}, expected an object")
            event, reason = self.parse_event(item)
            if event is not None:
                result.events.append(event)
            else:
                reasons.append(reason)
        if not result.events:
            unknown = [reason for reason in reasons if reason.startswith("unknown:")]
            if unknown:
                result.unknown = unknown[0].removeprefix("unknown:")
            else:
                result.skipped = reasons[0] if reasons else "empty"
        return result

    def parse_event(self, event: dict[str, Any]) -> tuple[ChangeEvent | None, str]:
        """Return the change event, or None with a skip reason ("unknown:NAME" for an unmapped event)."""
        event_type = event.get("eventType", event.get("type"))
        if not isinstance(event_type, str):
            raise MalformedEvent("event without eventType (Event Grid schema) or type (CloudEvents schema)")
        if event_type in FAILED_EVENTS:
            return None, "failed-call"
        if event_type not in (WRITE_SUCCESS, DELETE_SUCCESS):
            return None, f"unknown:{event_type}"
        data: dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
        subject = event.get("subject") or data.get("resourceUri")
        if not isinstance(subject, str) or not subject:
            raise MalformedEvent(f"{event_type} event without a subject")

        subscription, type_name, top_id, child = resource_target(subject)
        if self.subscriptions is not None and subscription.lower() not in self.subscriptions:
            return None, "other-account"
        if str(data.get("status", "Succeeded")) not in ("Succeeded", ""):
            return None, "failed-call"
        if type_name != RESOURCE_GROUP_TYPE:
            catalogued = catalogued_target(subject)
            if catalogued is None:
                return None, "not-collected"
            type_name, top_id, child = catalogued
        # Deleting a child (a firewall rule) changes its parent, which still exists.
        delete = event_type == DELETE_SUCCESS and not child
        # The scan writes subscription ids in lower case; events keep the casing of the request.
        target = Target(provider="azure", account=subscription.lower(), region="", type=type_name, key=top_id,
                        delete=delete)
        operation = str(data.get("operationName") or event_type)
        return ChangeEvent(name=f"azure {operation}", event_id=str(event.get("id") or ""),
                           event_time=_time(event.get("eventTime", event.get("time"))), targets=[target]), ""


def _decode(body: str) -> Any:
    text = body.strip()
    if not text.startswith(("{", "[")):
        # Storage queue messages are often Base64-encoded.
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise MalformedEvent("message body is neither JSON nor Base64-encoded JSON") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedEvent(f"invalid JSON in the event: {error}") from None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        # Event Grid writes up to seven fractional digits, which fromisoformat (3.11) reads.
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


STORAGE_API_VERSION = "2021-12-02"
"""x-ms-version of the Queue service REST calls."""


class StorageQueueSource:
    """An Azure Storage queue read over its REST API.

    `queue_url` is https://ACCOUNT.queue.core.windows.net/QUEUE, optionally with a SAS token as its query.
    Without a SAS token, requests carry a Microsoft Entra token from `credential` (DefaultAzureCredential
    when None), which needs the Storage Queue Data Message Processor role on the queue.
    """

    def __init__(self, queue_url: str, *, credential: Any = None, visibility_timeout: int = 300,
                 timeout: float = 30.0) -> None:
        split = urllib.parse.urlsplit(queue_url)
        if split.scheme not in ("http", "https") or not split.path.strip("/"):
            raise ValueError(f"invalid queue URL {queue_url!r}: expected https://ACCOUNT.queue.core.windows.net/QUEUE")
        self._base = urllib.parse.urlunsplit((split.scheme, split.netloc, split.path.rstrip("/"), "", ""))
        self._sas = split.query
        self._label = f"azure-queue:{split.netloc.split('.')[0]}/{split.path.strip('/')}"
        self._credential = credential
        if not self._sas and credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential()
        self.visibility_timeout = visibility_timeout
        self.timeout = timeout

    @property
    def name(self) -> str:
        """The storage account and queue, without the SAS token."""
        return self._label

    def _url(self, path: str, **query: str | int) -> str:
        parameters = urllib.parse.urlencode({key: str(value) for key, value in query.items()})
        joined = "&".join(part for part in (parameters, self._sas) if part)
        return f"{self._base}{path}" + (f"?{joined}" if joined else "")

    def _request(self, method: str, url: str, what: str) -> tuple[bytes, dict[str, str]]:
        headers = {"x-ms-version": STORAGE_API_VERSION}
        if self._credential is not None and not self._sas:
            token = self._credential.get_token("https://storage.azure.com/.default")
            headers["Authorization"] = f"Bearer {token.token}"
        request = urllib.request.Request(url, method=method, headers=headers, data=b"" if method == "PUT" else None)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            error.close()
            raise SourceUnavailable(f"{what} on {self.name} failed: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SourceUnavailable(f"{what} on {self.name} failed: {error}") from None

    def receive(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        """Get up to 32 messages; the Queue service has no long polling, so empty reads are retried until `wait_s`."""
        deadline = time.monotonic() + wait_s
        while True:
            body, _headers = self._request("GET", self._url("/messages", numofmessages=max(1, min(32, max_messages)),
                                                             visibilitytimeout=self.visibility_timeout),
                                           "Get Messages")
            messages = _queue_messages(body)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def delete(self, message: ReceivedMessage) -> None:
        """Delete a processed message."""
        self._request("DELETE", self._url(f"/messages/{urllib.parse.quote(message.message_id)}",
                                          popreceipt=message.receipt), "Delete Message")

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        """Make the message visible again after `delay_s` seconds."""
        self._request("PUT", self._url(f"/messages/{urllib.parse.quote(message.message_id)}",
                                       popreceipt=message.receipt, visibilitytimeout=int(max(0, delay_s))),
                      "Update Message")

    def close(self) -> None:
        """Nothing to close: each call opens its own connection."""


def _queue_messages(body: bytes) -> list[ReceivedMessage]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise SourceUnavailable(f"Get Messages returned invalid XML: {error}") from None
    messages = []
    for item in root.findall("QueueMessage"):
        inserted = item.findtext("InsertionTime")
        sent_at = None
        if inserted:
            try:
                sent_at = parsedate_to_datetime(inserted).timestamp()
            except (TypeError, ValueError):
                sent_at = None
        messages.append(ReceivedMessage(message_id=item.findtext("MessageId", ""),
                                        body=item.findtext("MessageText", ""),
                                        receipt=item.findtext("PopReceipt", ""), sent_at=sent_at,
                                        receive_count=int(item.findtext("DequeueCount", "1") or 1)))
    return messages
