"""Filter notifications and deliver them on a background thread, with retries, so a scan never waits on a notifier."""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ridgeline.model.finding import Severity
from ridgeline.notify.model import EVENTS, DeliveryError, Event, Notification, Notifier

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry a failed delivery."""

    attempts: int = 5
    """Total tries per batch and notifier, the first one included."""
    base_delay: float = 1.0
    """Seconds before the first retry. Each later retry waits twice as long, up to `max_delay`."""
    max_delay: float = 60.0
    jitter: float = 0.5
    """Fraction of each delay that is random, so that many watchers do not retry in step."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"invalid retry attempts {self.attempts}: expected 1 or more")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"invalid retry delays {self.base_delay}, {self.max_delay}: expected 0 or more")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"invalid retry jitter {self.jitter}: expected 0 to 1")

    def delay(self, retry: int) -> float:
        """Return the seconds to wait before retry number `retry` (1 for the first retry)."""
        delay: float = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return delay * (1 - self.jitter * random.random())


@dataclass(slots=True)
class DispatchStats:
    """Delivery counters, counted per notification and notifier."""

    sent: int = 0
    retried: int = 0
    """Notifications sent again after a failed attempt (once per retry)."""
    failed: int = 0
    """Notifications dropped after the last attempt."""
    dropped: int = 0
    """Notifications rejected because the queue was full or the worker had stopped."""


_STOP = None
_LOGGED_IDS = 10
"""Finding ids named in one log line; longer batches end with a count."""


def _describe_ids(batch: Sequence[Notification]) -> str:
    ids = ",".join(item.finding.id for item in batch[:_LOGGED_IDS])
    if len(batch) > _LOGGED_IDS:
        ids += f" and {len(batch) - _LOGGED_IDS} more"
    return ids


class Dispatcher:
    """Deliver notifications to notifiers on one background thread.

    `submit` never blocks: batches go through a bounded queue, and a batch that does not fit is dropped,
    logged and counted. Call `close` to deliver what is queued and stop the thread.

    NOTE: a notifier that raises anything other than `DeliveryError` ends the worker thread (the error
    goes to `threading.excepthook`). Later batches are then dropped, logged and counted.
    """

    def __init__(self, notifiers: Sequence[Notifier], *, min_severity: Severity = Severity.INFORMATIONAL,
                 events: Iterable[Event] = EVENTS, retry: RetryPolicy | None = None,
                 queue_size: int = 1000) -> None:
        if queue_size < 1:
            raise ValueError(f"invalid queue size {queue_size}: expected 1 or more")
        self._notifiers = list(notifiers)
        self._min_rank = min_severity.rank
        self._events = frozenset(events)
        unknown = self._events - set(EVENTS)
        if unknown:
            raise ValueError(f"invalid events {sorted(unknown)}: expected some of {list(EVENTS)}")
        self._retry = retry or RetryPolicy()
        self._queue: queue.Queue[list[Notification] | None] = queue.Queue(maxsize=queue_size)
        self._stats = DispatchStats()
        self._lock = threading.Lock()
        self._closing = False
        # Set when close() times out, so that a worker sleeping before a retry gives up instead.
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ridgeline-notify", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> DispatchStats:
        """A copy of the delivery counters."""
        with self._lock:
            return DispatchStats(self._stats.sent, self._stats.retried, self._stats.failed, self._stats.dropped)

    def accepts(self, notification: Notification) -> bool:
        """Return whether the notification passes the severity and event filters."""
        return (notification.event in self._events
                and notification.finding.severity.rank >= self._min_rank)

    def submit(self, notifications: Iterable[Notification]) -> int:
        """Queue the notifications that pass the filters as one batch; return how many were queued."""
        batch = [item for item in notifications if self.accepts(item)]
        if not batch:
            return 0

        if self._closing or not self._thread.is_alive():
            logger.error("notification dispatcher is stopped: dropped %d notifications (first finding %s)",
                         len(batch), batch[0].finding.id)
            self._count(dropped=len(batch))
            return 0

        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            logger.warning("notification queue is full (%d batches): dropped %d notifications (first finding %s)",
                           self._queue.maxsize, len(batch), batch[0].finding.id)
            self._count(dropped=len(batch))
            return 0
        return len(batch)

    def close(self, timeout: float | None = None) -> bool:
        """Deliver the queued batches and stop the thread; return False if `timeout` seconds were not enough."""
        self._closing = True
        deadline = None if timeout is None else time.monotonic() + timeout

        # The stop marker must not be lost on a full queue, so wait for room within the same timeout.
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            pass
        self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._abort.set()
            logger.warning("notification dispatcher did not finish within %s seconds: about %d batches "
                           "not delivered", timeout, self._queue.qsize())
            return False
        return True

    def _count(self, *, sent: int = 0, retried: int = 0, failed: int = 0, dropped: int = 0) -> None:
        with self._lock:
            self._stats.sent += sent
            self._stats.retried += retried
            self._stats.failed += failed
            self._stats.dropped += dropped

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            for notifier in self._notifiers:
                self._deliver(notifier, batch)

    def _deliver(self, notifier: Notifier, batch: list[Notification]) -> None:
        ids = _describe_ids(batch)
        for attempt in range(1, self._retry.attempts + 1):
            if attempt > 1:
                self._count(retried=len(batch))
                if self._abort.wait(self._retry.delay(attempt - 1)):
                    break
            try:
                notifier.send(batch)
            except DeliveryError as error:
                logger.warning("notifier %s: attempt %d of %d failed for findings %s: %s",
                               notifier.name, attempt, self._retry.attempts, ids, error)
                continue
            self._count(sent=len(batch))
            return

        logger.error("notifier %s: dropped %d notifications for findings %s after %d attempts",
                     notifier.name, len(batch), ids, attempt)
        self._count(failed=len(batch))
