"""Change events and the interface every event source implements.

An event source (an SQS queue, an Azure Storage queue, a Pub/Sub subscription, a folder) hands out
messages. A parser turns one message into change events. A change event names the resources to collect
again or to forget, or carries their new state. Sources know nothing about resources, and parsers know
nothing about transports, so each provider's parser is tested on documented message shapes alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ridgeline.model.resource import Resource

ALL = "*"
"""Target key meaning every resource of the type in the unit."""


class MalformedEvent(ValueError):
    """A message that cannot be read as an event (invalid JSON, a missing field), with the problem in its text."""


class SourceUnavailable(RuntimeError):
    """The event source cannot be reached or used (network, missing queue, access denied)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One resource named by a change event."""

    provider: str
    account: str
    region: str
    """The resource's region ("global" for IAM and other global resources)."""

    type: str
    key: str
    """The provider's native id (bucket name, sg-..., ARN, Azure resource id) or ALL."""

    delete: bool = False
    """True when the event deleted the resource."""


@dataclass(slots=True)
class ChangeEvent:
    """One change that a message reports."""

    name: str
    """Label of the change for logs and metrics, such as "s3.amazonaws.com PutBucketPolicy"."""

    event_id: str
    event_time: datetime | None
    targets: list[Target] = field(default_factory=list)
    """Resources to collect again (or, with `delete`, to forget)."""

    resources: list[Resource] = field(default_factory=list)
    """New states carried by the event itself (Cloud Asset Inventory feeds, exported files)."""

    replaces_source: str | None = None
    """A `Resource.source` value ("file:PATH") whose resources `resources` replace: the others are gone."""


@dataclass(slots=True)
class ParseResult:
    """The parsed form of one message: change events, or the reason it was skipped."""

    events: list[ChangeEvent] = field(default_factory=list)
    skipped: str | None = None
    """Reason label for a well-formed message that changes nothing to watch (failed call, other account)."""

    unknown: str | None = None
    """The name of an event the parser does not map to resources."""


@dataclass(slots=True)
class ReceivedMessage:
    """One message taken from a source."""

    message_id: str
    body: str
    receipt: Any
    """The handle the source needs to delete or release the message (SQS receipt handle, pop receipt, ack id)."""

    sent_at: float | None = None
    """Time the message entered the source, in seconds since the epoch, when the source reports it."""

    receive_count: int = 1
    """How many times the source has handed out this message, this time included."""


Parser = Callable[[ReceivedMessage], ParseResult]
"""Turns a message into a ParseResult; raises MalformedEvent on a message it cannot read."""


class EventSource(Protocol):
    """A queue of change messages.

    A message taken with `receive` stays hidden from other readers until it is deleted, or released,
    or its lease times out, after which the source hands it out again.
    """

    @property
    def name(self) -> str:
        """Name used in logs and metrics, without secrets."""
        ...

    def receive(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        """Return up to `max_messages`, waiting up to `wait_s` seconds; raise SourceUnavailable."""
        ...

    def delete(self, message: ReceivedMessage) -> None:
        """Remove a processed message for good; raise SourceUnavailable."""
        ...

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        """Hand the message out again after `delay_s` seconds; raise SourceUnavailable."""
        ...

    def close(self) -> None:
        """Release the connections."""
        ...
