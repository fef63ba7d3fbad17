"""Pending changes between the receiving thread and the applying thread, with bursts merged per resource.

Changes wait until the oldest of them is `window` seconds old, then all pending changes go out as one
batch. Several events for one resource in that time become one re-collection. Of two events for the same
resource, the later one decides whether it was deleted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from ridgeline.model.resource import Resource
from ridgeline.watch.events import ChangeEvent, ReceivedMessage, Target

V = TypeVar("V")

TargetKey = tuple[str, str, str, str, str]
"""(provider, account, region, type, key)."""


@dataclass(slots=True)
class PendingMessage:
    """A message waiting for its changes to be stored."""

    message: ReceivedMessage
    events: list[ChangeEvent]
    received_at: float
    target_keys: set[TargetKey] = field(default_factory=set)


@dataclass(slots=True)
class Batch:
    """Changes taken together: targets and carried resources, each once, and the messages they came from."""

    targets: dict[TargetKey, Target] = field(default_factory=dict)
    resources: dict[TargetKey, Resource] = field(default_factory=dict)
    messages: list[PendingMessage] = field(default_factory=list)
    replaced_sources: set[str] = field(default_factory=set)
    """`Resource.source` values whose resources the batch's carried resources replace."""

    coalesced: int = 0
    """Changes merged into a change of the same resource in this batch."""

    @property
    def oldest(self) -> float | None:
        """The earliest time a message of the batch entered its source (or was received), in epoch seconds."""
        times = [item.message.sent_at or item.received_at for item in self.messages]
        return min(times) if times else None


def _resource_key(resource: Resource) -> TargetKey:
    return (resource.provider, resource.account, resource.region, resource.type, resource.id)


def _target_key(target: Target) -> TargetKey:
    return (target.provider, target.account, target.region, target.type, target.key)


class Coalescer:
    """Thread-safe store of pending changes."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._batch = Batch()
        self._times: dict[TargetKey, datetime | None] = {}
        self._by_message: dict[str, PendingMessage] = {}
        self._first_at: float | None = None

    def __len__(self) -> int:
        with self._condition:
            return len(self._batch.messages)

    def add(self, message: ReceivedMessage, events: list[ChangeEvent]) -> int:
        """Queue the changes of a message; return how many merged into pending changes."""
        with self._condition:
            known = self._by_message.get(message.message_id)
            if known is not None:
                # The source handed the message out again (its lease ran out): keep the newer receipt.
                known.message = message
                return 0

            pending = PendingMessage(message=message, events=events, received_at=time.time())
            merged = 0
            for event in events:
                for target in event.targets:
                    key = _target_key(target)
                    pending.target_keys.add(key)
                    merged += self._put(self._batch.targets, key, target, event.event_time)
                for resource in event.resources:
                    key = _resource_key(resource)
                    pending.target_keys.add(key)
                    merged += self._put(self._batch.resources, key, resource, event.event_time)
                if event.replaces_source is not None:
                    self._batch.replaced_sources.add(event.replaces_source)
            self._batch.messages.append(pending)
            self._batch.coalesced += merged
            self._by_message[message.message_id] = pending
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._condition.notify_all()
            return merged

    def _put(self, table: dict[TargetKey, V], key: TargetKey, value: V, when: datetime | None) -> int:
        if key not in table:
            table[key] = value
            self._times[key] = when
            return 0
        previous = self._times.get(key)
        # The later event decides; without times, the later message does.
        if when is None or previous is None or when >= previous:
            table[key] = value
            self._times[key] = when
        return 1

    def take(self, window: float, timeout: float, stop: threading.Event) -> Batch | None:
        """Wait up to `timeout` seconds for pending changes at least `window` seconds old; return them all."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._condition:
            while not stop.is_set():
                now = time.monotonic()
                if self._first_at is not None and now >= self._first_at + window:
                    return self._pop()
                if now >= deadline:
                    return None
                wake = deadline if self._first_at is None else min(deadline, self._first_at + window)
                self._condition.wait(timeout=min(1.0, max(0.01, wake - now)))
            return None

    def drain(self) -> Batch:
        """Return every pending change, for a shutdown that releases the messages."""
        with self._condition:
            return self._pop()

    def _pop(self) -> Batch:
        batch = self._batch
        self._batch = Batch()
        self._times.clear()
        self._by_message.clear()
        self._first_at = None
        return batch
