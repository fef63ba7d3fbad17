"""AWS change events: CloudTrail management events that EventBridge puts on an SQS queue.

The SQS message body is the EventBridge event: `detail-type` "AWS API Call via CloudTrail", and
`detail` the CloudTrail record (eventSource, eventName, requestParameters, responseElements,
recipientAccountId, awsRegion, errorCode). A body that SNS wrapped (`Type` "Notification" with the event
in `Message`) and a bare CloudTrail record are read too. The table in `aws_mappings` maps each event to the
resources it changes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ridgeline.providers.aws.collectors import all_collectors, s3
from ridgeline.watch.aws_mappings import TargetSpec, event_specs, resolve_type
from ridgeline.watch.events import (
    ALL,
    ChangeEvent,
    MalformedEvent,
    ParseResult,
    ReceivedMessage,
    SourceUnavailable,
    Target,
)

logger = logging.getLogger(__name__)

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"

REGIONAL_TYPES_OF_GLOBAL_SERVICES = frozenset({s3.BUCKET})
"""Types that a global collector collects but that live in a region (a bucket is in the event's region)."""


def type_services() -> dict[str, tuple[str, bool]]:
    """Return each AWS resource type's collector service and whether that service is global."""
    return {type_name: (collector.service, collector.global_service)
            for collector in all_collectors() for type_name in collector.resource_types}


class CloudTrailParser:
    """Turns EventBridge CloudTrail messages into change events of one account and its watched regions."""

    def __init__(self, account: str, regions: Sequence[str]) -> None:
        self.account = account
        self.regions = set(regions)
        self._types = type_services()

    def __call__(self, message: ReceivedMessage) -> ParseResult:
        """Parse one message; raise MalformedEvent when it is not a readable event."""
        envelope = _unwrap(_json_object(message.body, "message body"))
        if "detail-type" in envelope:
            detail_type = envelope["detail-type"]
            if detail_type != CLOUDTRAIL_DETAIL_TYPE:
                return ParseResult(unknown=f"detail-type {str(detail_type)[:100]}")
            record = envelope.get("detail")
            if not isinstance(record, dict):
                raise MalformedEvent("EventBridge event without a 'detail' object")
        elif "eventSource" in envelope:
            record, envelope = envelope, {}
        else:
            raise MalformedEvent("neither an EventBridge event (no 'detail-type') nor a CloudTrail record "
                                 "(no 'eventSource')")
        return self.parse_record(record, envelope)

    def parse_record(self, record: dict[str, Any], envelope: dict[str, Any]) -> ParseResult:
        """Map one CloudTrail record to the resources it changed."""
        event_source, event_name = record.get("eventSource"), record.get("eventName")
        if not isinstance(event_source, str) or not isinstance(event_name, str):
            raise MalformedEvent("CloudTrail record without eventSource or eventName")
        label = f"{event_source} {event_name}"

        if record.get("errorCode"):
            # A call that failed changed nothing.
            logger.debug("skipping failed call %s: %s", label, record.get("errorCode"))
            return ParseResult(skipped="failed-call")
        specs = event_specs(event_source, event_name)
        if specs is None:
            return ParseResult(unknown=label)

        account = str(record.get("recipientAccountId") or envelope.get("account") or "")
        if account != self.account:
            logger.debug("skipping %s of account %s (watching %s)", label, account, self.account)
            return ParseResult(skipped="other-account")
        region = str(record.get("awsRegion") or envelope.get("region") or "")
        if not region:
            raise MalformedEvent(f"{label}: no awsRegion")

        targets = self._targets(record, specs, account, region)
        if targets is None:
            return ParseResult(skipped="other-region")
        if not targets:
            logger.warning("event %s (%s) names no resource id that Ridgeline can look up", label,
                           record.get("eventID", "no event id"))
            return ParseResult(skipped="no-resource-id")
        event = ChangeEvent(name=label, event_id=str(record.get("eventID") or envelope.get("id") or ""),
                            event_time=_time(record.get("eventTime") or envelope.get("time")), targets=targets)
        return ParseResult(events=[event])

    def _targets(self, record: dict[str, Any], specs: Sequence[TargetSpec], account: str,
                 region: str) -> list[Target] | None:
        """Return the targets, or None when every one is in a region that is not watched."""
        targets: list[Target] = []
        outside = 0
        for spec in specs:
            if spec.fallback and targets:
                continue
            for key in _first_values(record, spec.paths) if spec.paths else [ALL]:
                type_name = resolve_type(spec.type, key) if key != ALL else spec.type
                if type_name is None or type_name not in self._types:
                    continue
                _service, global_service = self._types[type_name]
                regional = not global_service or type_name in REGIONAL_TYPES_OF_GLOBAL_SERVICES
                resource_region = region if regional else "global"
                if regional and self.regions and resource_region not in self.regions:
                    outside += 1
                    continue
                targets.append(Target(provider="aws", account=account, region=resource_region, type=type_name,
                                      key=key, delete=spec.delete))
        if not targets and outside:
            return None
        return targets


def _unwrap(document: dict[str, Any]) -> dict[str, Any]:
    if document.get("Type") == "Notification" and isinstance(document.get("Message"), str):
        return _json_object(document["Message"], "SNS Message")
    return document


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise MalformedEvent(f"invalid JSON in the {what}: {error}") from None
    if not isinstance(document, dict):
        raise MalformedEvent(f"the {what} is JSON {type(document).__name__}, expected an object")
    return document


_PATH_STEP = re.compile(r"([^.\[\]]+)(\[\])?")


def values_at(document: Any, path: str) -> list[str]:
    """Return the non-empty string values at a dotted path; `[]` after a key steps into each list item."""
    current: list[Any] = [document]
    for match in _PATH_STEP.finditer(path):
        key, every = match.group(1), match.group(2)
        following: list[Any] = []
        for value in current:
            child = value.get(key) if isinstance(value, dict) else None
            if every:
                following.extend(child if isinstance(child, list) else [])
            elif child is not None:
                following.append(child)
        current = following
    return [str(value) for value in current if isinstance(value, str | int) and str(value)]


def _first_values(record: dict[str, Any], paths: Sequence[str]) -> list[str]:
    for path in paths:
        values = values_at(record, path)
        if values:
            return list(dict.fromkeys(values))
    return []


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


_QUEUE_URL = re.compile(r"^https?://(?:sqs\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.")


class SqsSource:
    """An SQS queue read with long polling; messages are deleted only when `delete` is called."""

    def __init__(self, queue_url: str, *, session: boto3.Session | None = None, region: str | None = None,
                 visibility_timeout: int = 300, wait_time: int = 20) -> None:
        if not 0 <= visibility_timeout <= 43200:
            raise ValueError(f"invalid visibility timeout {visibility_timeout}: expected 0 to 43200 seconds")
        if not 0 <= wait_time <= 20:
            raise ValueError(f"invalid SQS wait time {wait_time}: expected 0 to 20 seconds")
        self.queue_url = queue_url
        self.visibility_timeout = visibility_timeout
        self.wait_time = wait_time
        match = _QUEUE_URL.match(queue_url)
        session = session or boto3.Session()
        region = region or (match.group("region") if match else None) or session.region_name or "us-east-1"
        # Few retries and short timeouts, so that a queue that is down shows as down within seconds.
        config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5,
                        read_timeout=wait_time + 10)
        self._client = session.client("sqs", region_name=region, config=config)

    @property
    def name(self) -> str:
        """The queue name (last segment of the URL)."""
        return "sqs:" + self.queue_url.rstrip("/").rsplit("/", 1)[-1]

    def receive(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        """Long-poll up to 10 messages."""
        try:
            response = self._client.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=max(1, min(10, max_messages)),
                WaitTimeSeconds=int(max(0, min(self.wait_time, wait_s))), VisibilityTimeout=self.visibility_timeout,
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"])
        except (ClientError, BotoCoreError) as error:
            raise SourceUnavailable(f"ReceiveMessage on {self.name} failed: {_describe(error)}") from None

        messages = []
        for item in response.get("Messages", []):
            attributes = item.get("Attributes", {})
            sent = attributes.get("SentTimestamp")
            messages.append(ReceivedMessage(
                message_id=item["MessageId"], body=item.get("Body", ""), receipt=item["ReceiptHandle"],
                sent_at=int(sent) / 1000 if sent and str(sent).isdigit() else None,
                receive_count=int(attributes.get("ApproximateReceiveCount", "1") or 1)))
        return messages

    def delete(self, message: ReceivedMessage) -> None:
        """Delete a processed message."""
        try:
            self._client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt)
        except (ClientError, BotoCoreError) as error:
            raise SourceUnavailable(f"DeleteMessage of {message.message_id} on {self.name} failed: "
                                    f"{_describe(error)}") from None

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        """Make the message visible again after `delay_s` seconds."""
        try:
            self._client.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message.receipt,
                                                   VisibilityTimeout=int(max(0, min(43200, delay_s))))
        except (ClientError, BotoCoreError) as error:
            raise SourceUnavailable(f"ChangeMessageVisibility of {message.message_id} on {self.name} failed: "
                                    f"{_describe(error)}") from None

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()


def _describe(error: ClientError | BotoCoreError) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', '?')}: {details.get('Message', '')}"
    return " ".join(str(error).split())
