"""Filter notifications and deliver them on a background thread, with retries, so a scan never waits on a notifier.

With a store, delivery is durable: the caller writes the notifications to the store's outbox in the
transaction that stores the life-cycle change, and the dispatcher marks each row delivered or failed.
Rows that a crash left pending are queued again by `recover` when the next run starts, so delivery is at
least once: a crash between a delivery and its mark sends that notification again, with the same id.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from ridgeline.model.finding import Severity
from ridgeline.notify.model import EVENTS, DeliveryError, Event, Notification, Notifier
from ridgeline.store.database import OUTBOX_PENDING, OutboxRow, Store

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=30)
"""How long delivered outbox rows are kept before `prune` deletes them."""

RECOVERY_BATCH = 200
"""Rows per batch when notifications left by an earlier run are queued again."""

_STORE_TRIES = 3
"""Tries of each outbox update, because SQLite raises "database is locked" while a large scan is being saved."""


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
    """Notifications given up after the last attempt (kept in the outbox as failed, with a store)."""
    dropped: int = 0
    """Notifications rejected because the queue was full or the worker had stopped."""
    recovered: int = 0
    """Notifications left pending in the outbox by an earlier run and queued again."""


@dataclass(frozen=True, slots=True)
class _Job:
    """A batch and the notifiers it goes to: every notifier for new work, one for a recovered batch."""

    notifiers: tuple[Notifier, ...]
    batch: list[Notification]


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

    With `store`, the notifications submitted must already be in its outbox (see `outbox_rows`). A dropped
    batch then stays pending there and goes out after the next start, when the caller runs `recover`.
    Without a store, a dropped or undelivered batch is lost, which suits one-off use and tests.

    NOTE: a notifier that raises anything other than `DeliveryError` ends the worker thread (the error
    goes to `threading.excepthook`). Later batches are then dropped, logged and counted.
    """

    def __init__(self, notifiers: Sequence[Notifier], *, min_severity: Severity = Severity.INFORMATIONAL,
                 events: Iterable[Event] = EVENTS, retry: RetryPolicy | None = None,
                 queue_size: int = 1000, store: Store | None = None,
                 retention: timedelta = DEFAULT_RETENTION) -> None:
        if queue_size < 1:
            raise ValueError(f"invalid queue size {queue_size}: expected 1 or more")
        if retention <= timedelta(0):
            raise ValueError(f"invalid outbox retention {retention}: expected more than 0")
        self._notifiers = list(notifiers)
        names = [notifier.name for notifier in self._notifiers]
        if store is not None and len(set(names)) != len(names):
            # Outbox rows are keyed by notifier name, so two notifiers of one name would share their rows.
            raise ValueError(f"invalid notifier names {names}: each notifier needs its own name with a store")
        self._by_name = dict(zip(names, self._notifiers, strict=True))
        self._store = store
        self._retention = retention
        self._min_rank = min_severity.rank
        self._events = frozenset(events)
        unknown = self._events - set(EVENTS)
        if unknown:
            raise ValueError(f"invalid events {sorted(unknown)}: expected some of {list(EVENTS)}")
        self._retry = retry or RetryPolicy()
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
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
            return DispatchStats(self._stats.sent, self._stats.retried, self._stats.failed, self._stats.dropped,
                                 self._stats.recovered)

    @property
    def store(self) -> Store | None:
        """The store whose outbox the dispatcher updates, or None when delivery is not durable."""
        return self._store

    def accepts(self, notification: Notification) -> bool:
        """Return whether the notification passes the severity and event filters."""
        return (notification.event in self._events
                and notification.finding.severity.rank >= self._min_rank)

    def outbox_rows(self, notifications: Iterable[Notification], created_at: datetime | None = None) -> list[OutboxRow]:
        """Return the outbox rows of the notifications that pass the filters: one per notification and notifier.

        The caller stores them in the transaction that stores the change, then submits the same notifications.
        """
        created = (created_at or datetime.now(UTC)).isoformat(timespec="microseconds")
        rows: list[OutboxRow] = []
        for item in notifications:
            if not self.accepts(item):
                continue
            document = item.document()
            finding = item.finding
            rows.extend(OutboxRow(notification_id=item.id, notifier=notifier.name, finding_id=finding.id,
                                  event=item.event, provider=finding.provider, account=finding.account,
                                  scan_id=item.scan_id, document=document, created_at=created)
                        for notifier in self._notifiers)
        return rows

    def submit(self, notifications: Iterable[Notification]) -> int:
        """Queue the notifications that pass the filters as one batch; return how many were queued."""
        batch = [item for item in notifications if self.accepts(item)]
        if not batch:
            return 0
        # With a store, a batch that is not queued stays pending in the outbox until the next start.
        outcome = "left pending in the outbox for the next start" if self._store is not None else "dropped"

        if self._closing or not self._thread.is_alive():
            logger.error("notification dispatcher is stopped: %s %d notifications (first finding %s)",
                         outcome, len(batch), batch[0].finding.id)
            self._count(dropped=len(batch))
            return 0

        try:
            self._queue.put_nowait(_Job(tuple(self._notifiers), batch))
        except queue.Full:
            logger.warning("notification queue is full (%d batches): %s %d notifications (first finding %s)",
                           self._queue.maxsize, outcome, len(batch), batch[0].finding.id)
            self._count(dropped=len(batch))
            return 0
        return len(batch)

    def recover(self, provider: str, accounts: Collection[str], created_before: datetime) -> int:
        """Queue the outbox rows of `provider` and `accounts` that an earlier run left pending; return how many.

        Call it before submitting new work, so that old notifications go out first. `created_before` (the
        start of this run) keeps out the rows this run wrote, which are queued already. Empty `accounts`
        means every account of the provider, for a watcher that learns its accounts from its first scan.
        Rows go out as they were stored, whatever the filters of this run.

        NOTE: rows name their notifier (`webhook-1`), not its URL, so a pending row goes to the notifier
        that has that name in this run, even when the configuration changed in between.
        """
        if self._store is None:
            return 0
        before = created_before.isoformat(timespec="microseconds")
        rows = self._store.load_notifications(states=[OUTBOX_PENDING], provider=provider,
                                              accounts=accounts or None, created_before=before)
        if not rows:
            logger.info("notification outbox: nothing left undelivered by an earlier run for %s account(s) %s",
                        provider, ",".join(sorted(accounts)) or "(all)")
            return 0

        by_notifier: dict[str, list[OutboxRow]] = defaultdict(list)
        for row in rows:
            by_notifier[row.notifier].append(row)
        queued = 0
        for name, group in by_notifier.items():
            notifier = self._by_name.get(name)
            if notifier is None:
                logger.warning("notification outbox: %d pending notification(s) for notifier %s, which this run "
                               "does not have, stay pending (first finding %s); configure it again to deliver "
                               "them, or delete the rows", len(group), name, group[0].finding_id)
                continue
            notifications = self._rebuild(notifier, group)
            for start in range(0, len(notifications), RECOVERY_BATCH):
                batch = notifications[start:start + RECOVERY_BATCH]
                try:
                    self._queue.put_nowait(_Job((notifier,), batch))
                except queue.Full:
                    logger.warning("notification queue is full: %d recovered notification(s) for notifier %s stay "
                                   "pending until the next start", len(notifications) - start, name)
                    break
                queued += len(batch)
        self._count(recovered=queued)
        logger.info("notification outbox: queued %d notification(s) left undelivered by an earlier run",
                    queued)
        return queued

    def prune(self, now: datetime | None = None) -> int:
        """Delete the outbox rows delivered more than the retention ago; return how many."""
        if self._store is None:
            return 0
        cutoff = (now or datetime.now(UTC)) - self._retention
        try:
            deleted = self._store.prune_notifications(cutoff.isoformat(timespec="microseconds"))
        except SQLAlchemyError as error:
            logger.warning("notification outbox: deleting rows delivered before %s failed (%s: %s); the next "
                           "prune tries again", cutoff.isoformat(), type(error).__name__, error)
            return 0
        if deleted:
            logger.info("notification outbox: deleted %d row(s) delivered before %s", deleted, cutoff.isoformat())
        return deleted

    def _rebuild(self, notifier: Notifier, rows: Sequence[OutboxRow]) -> list[Notification]:
        """Rebuild notifications from stored rows. A row that cannot be read is marked failed."""
        notifications = []
        for row in rows:
            try:
                notifications.append(Notification.from_document(row.document))
            except ValueError as error:
                logger.error("notification outbox: row %s of finding %s for notifier %s cannot be read and is "
                             "marked failed: %s", row.notification_id, row.finding_id, notifier.name, error)
                if self._store is not None:
                    self._write(f"marking notification {row.notification_id} failed",
                                partial(self._store.record_notification_failure, notifier.name,
                                        [row.notification_id], f"unreadable row: {error}", final=True))
        return notifications

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

    def _count(self, *, sent: int = 0, retried: int = 0, failed: int = 0, dropped: int = 0,
               recovered: int = 0) -> None:
        with self._lock:
            self._stats.sent += sent
            self._stats.retried += retried
            self._stats.failed += failed
            self._stats.dropped += dropped
            self._stats.recovered += recovered

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            for notifier in job.notifiers:
                self._deliver(notifier, job.batch)

    def _deliver(self, notifier: Notifier, batch: list[Notification]) -> None:
        ids = _describe_ids(batch)
        notification_ids = [item.id for item in batch]
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
                if self._store is not None:
                    self._write(f"recording a failed attempt of notifier {notifier.name} for findings {ids}",
                                partial(self._store.record_notification_failure, notifier.name, notification_ids,
                                        str(error), final=attempt == self._retry.attempts))
                continue
            self._count(sent=len(batch))
            if self._store is not None and not self._write(
                    f"marking the delivery of notifier {notifier.name} for findings {ids}",
                    partial(self._store.mark_notifications_delivered, notifier.name, notification_ids,
                            datetime.now(UTC).isoformat(timespec="microseconds"))):
                logger.error("notifier %s: %d notifications for findings %s were delivered but stay pending in the "
                             "outbox; the next start delivers them again", notifier.name, len(batch), ids)
            return

        self._count(failed=len(batch))
        if self._abort.is_set() and self._store is not None:
            # Cut short by a shutdown that ran out of time: the rows stay pending for the next start.
            logger.warning("notifier %s: stopped retrying %d notifications for findings %s at shutdown; they stay "
                           "pending in the outbox", notifier.name, len(batch), ids)
            return
        outcome = "kept them in the outbox as failed" if self._store is not None else "dropped them"
        logger.error("notifier %s: %d notifications for findings %s failed %d attempts; %s", notifier.name,
                     len(batch), ids, attempt, outcome)

    def _write(self, description: str, action: Callable[[], object]) -> bool:
        """Run one outbox update, up to `_STORE_TRIES` times. Return False, after logging, if every try failed."""
        for attempt in range(1, _STORE_TRIES + 1):
            try:
                action()
            except SQLAlchemyError as error:
                logger.warning("notification outbox: %s failed (try %d of %d, %s: %s)", description, attempt,
                               _STORE_TRIES, type(error).__name__, error)
                if attempt < _STORE_TRIES and not self._abort.wait(1.0):
                    continue
                return False
            return True
        return False
