"""Filter notifications and deliver them on a background thread, with retries, so a scan never waits on a notifier.

With a store, delivery is durable: the caller writes the notifications to the store's outbox in the
transaction that stores the life-cycle change, and the dispatcher marks each row delivered or failed.
Rows that a crash left pending are queued again by `recover` when the next run starts, so delivery is at
least once: a crash between a delivery and its mark sends that notification again, with the same id.

Several dispatchers can share one outbox without sending a row twice. Each row is claimed by one
dispatcher (its instance id) with a lease: the rows a dispatcher writes are claimed by it from the start,
it renews its claims while it runs, and it claims each row again, in one conditional UPDATE, before each
attempt to send it. Another dispatcher takes only unclaimed rows or rows whose lease expired, which
is how the rows of a watcher that died are delivered by the others.
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
from ridgeline.store.leases import new_instance_id, utc_text

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=30)
"""How long delivered outbox rows are kept before `prune` deletes them."""

RECOVERY_BATCH = 200
"""Rows per batch when notifications left by an earlier run are queued again."""

_STORE_TRIES = 3
"""Tries of each outbox update, because SQLite raises "database is locked" while a large scan is being saved."""

DEFAULT_CLAIM_LEASE = timedelta(seconds=60)
"""How long a claim on an outbox row lasts unless renewed. Renewals run every quarter of it, and another
dispatcher looks for expired claims every half of it."""


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
    taken_over: int = 0
    """Notifications queued here whose claim another dispatcher took over, so they were not sent here."""


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
    batch then stays pending there: its claims are released, and a later sweep (or the next start's
    `recover`) queues it again.
    Without a store, a dropped or undelivered batch is lost, which suits one-off use and tests.

    With a store, a second thread renews the claims of `instance_id` on its outbox rows and, once `recover`
    has named the provider and accounts, takes over the rows whose claim expired.

    NOTE: a notifier that raises anything other than `DeliveryError` ends the worker thread (the error
    goes to `threading.excepthook`). Later batches are then dropped, logged and counted.
    """

    def __init__(self, notifiers: Sequence[Notifier], *, min_severity: Severity = Severity.INFORMATIONAL,
                 events: Iterable[Event] = EVENTS, retry: RetryPolicy | None = None,
                 queue_size: int = 1000, store: Store | None = None,
                 retention: timedelta = DEFAULT_RETENTION, claim_lease: timedelta = DEFAULT_CLAIM_LEASE,
                 instance_id: str | None = None) -> None:
        if queue_size < 1:
            raise ValueError(f"invalid queue size {queue_size}: expected 1 or more")
        if retention <= timedelta(0):
            raise ValueError(f"invalid outbox retention {retention}: expected more than 0")
        if claim_lease <= timedelta(0):
            raise ValueError(f"invalid claim lease {claim_lease}: expected more than 0")
        self._notifiers = list(notifiers)
        names = [notifier.name for notifier in self._notifiers]
        if store is not None and len(set(names)) != len(names):
            # Outbox rows are keyed by notifier name, so two notifiers of one name would share their rows.
            raise ValueError(f"invalid notifier names {names}: each notifier needs its own name with a store")
        self._by_name = dict(zip(names, self._notifiers, strict=True))
        self._store = store
        self._retention = retention
        self._claim_lease = claim_lease
        self.instance_id = instance_id or new_instance_id()
        """The id that claims outbox rows for this dispatcher (the watcher's instance id)."""
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
        # Outbox rows claimed here that nothing will send (a dropped batch): their claims are released by the
        # claims thread, so that a sweep takes them again.
        self._unsent: set[tuple[str, str]] = set()
        self._sweep_scope: tuple[str, tuple[str, ...]] | None = None
        # One takeover at a time: two could both select a row, and both would win it with this instance's id.
        self._take_over_lock = threading.Lock()
        self._claims_stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ridgeline-notify", daemon=True)
        self._thread.start()
        self._claims_thread: threading.Thread | None = None
        if store is not None:
            self._claims_thread = threading.Thread(target=self._maintain_claims, name="ridgeline-notify-claims",
                                                   daemon=True)
            self._claims_thread.start()

    @property
    def stats(self) -> DispatchStats:
        """A copy of the delivery counters."""
        with self._lock:
            return DispatchStats(self._stats.sent, self._stats.retried, self._stats.failed, self._stats.dropped,
                                 self._stats.recovered, self._stats.taken_over)

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
        The rows are claimed by this dispatcher, so that no other one takes them while they wait in its queue.
        """
        created = (created_at or datetime.now(UTC)).isoformat(timespec="microseconds")
        expires = self._claim_expiry()
        rows: list[OutboxRow] = []
        for item in notifications:
            if not self.accepts(item):
                continue
            document = item.document()
            finding = item.finding
            rows.extend(OutboxRow(notification_id=item.id, notifier=notifier.name, finding_id=finding.id,
                                  event=item.event, provider=finding.provider, account=finding.account,
                                  scan_id=item.scan_id, document=document, created_at=created,
                                  claimed_by=self.instance_id, claim_expires_at=expires)
                        for notifier in self._notifiers)
        return rows

    def submit(self, notifications: Iterable[Notification]) -> int:
        """Queue the notifications that pass the filters as one batch; return how many were queued."""
        batch = [item for item in notifications if self.accepts(item)]
        if not batch:
            return 0
        # With a store, a batch that is not queued stays pending in the outbox until a later sweep takes it.
        outcome = "left pending in the outbox for a later sweep" if self._store is not None else "dropped"

        if self._closing or not self._thread.is_alive():
            logger.error("notification dispatcher is stopped: %s %d notifications (first finding %s)",
                         outcome, len(batch), batch[0].finding.id)
            self._drop(self._notifiers, batch)
            return 0

        try:
            self._queue.put_nowait(_Job(tuple(self._notifiers), batch))
        except queue.Full:
            logger.warning("notification queue is full (%d batches): %s %d notifications (first finding %s)",
                           self._queue.maxsize, outcome, len(batch), batch[0].finding.id)
            self._drop(self._notifiers, batch)
            return 0
        return len(batch)

    def _drop(self, notifiers: Sequence[Notifier], batch: Sequence[Notification]) -> None:
        """Count a batch that is not queued, and free its claims for a later sweep to take."""
        self._count(dropped=len(batch))
        if self._store is not None:
            with self._lock:
                self._unsent.update((notifier.name, item.id) for notifier in notifiers for item in batch)

    def recover(self, provider: str, accounts: Collection[str], *, taking_over_from: str | None = None) -> int:
        """Queue the outbox rows of `provider` and `accounts` that no live dispatcher holds; return how many.

        Call it at start, before submitting new work, so that old notifications go out first. It takes the
        pending rows that nobody holds (left by a run that stopped, or written by an older Ridgeline), whose
        claim expired (their dispatcher died), or that `taking_over_from` holds (the instance whose watcher
        lease this run took over). Rows that another live dispatcher has claimed stay with it. Empty `accounts`
        means every account of the provider, for a watcher that learns its accounts from its first scan.
        Rows go out as they were stored, whatever the filters of this run. After this call, the claims
        thread repeats the takeover of expired claims for the same provider and accounts while it runs.

        NOTE: rows name their notifier (`webhook-1`), not its URL, so a pending row goes to the notifier
        that has that name in this run, even when the configuration changed in between.
        """
        if self._store is None:
            return 0
        with self._lock:
            self._sweep_scope = (provider, tuple(sorted(accounts)))
        queued = self._take_over(provider, accounts, taking_over_from=taking_over_from, at_start=True)
        if queued:
            logger.info("notification outbox: queued %d notification(s) left undelivered by an earlier run",
                        queued)
        return queued

    def _take_over(self, provider: str, accounts: Collection[str], *, taking_over_from: str | None,
                   at_start: bool) -> int:
        """Claim and queue the pending rows of the scope that no live dispatcher holds; return how many."""
        with self._take_over_lock:
            return self._take_over_locked(provider, accounts, taking_over_from=taking_over_from, at_start=at_start)

    def _take_over_locked(self, provider: str, accounts: Collection[str], *, taking_over_from: str | None,
                          at_start: bool) -> int:
        assert self._store is not None
        # A start reads the rows of every notifier, to name those this run lacks; a sweep reads only its own.
        rows = self._store.load_notifications(states=[OUTBOX_PENDING], provider=provider,
                                              accounts=accounts or None,
                                              notifiers=None if at_start else list(self._by_name),
                                              claimable_by=self.instance_id, now=utc_text(),
                                              taking_over_from=taking_over_from)
        if not rows:
            if at_start:
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
                # Unclaimed, so that a run with that notifier can deliver them; named once per start.
                if at_start:
                    logger.warning("notification outbox: %d pending notification(s) for notifier %s, which this "
                                   "run does not have, stay pending (first finding %s); configure it again to "
                                   "deliver them, or delete the rows", len(group), name, group[0].finding_id)
                continue
            queued += self._queue_claimed(notifier, group, taking_over_from)
        self._count(recovered=queued)
        if queued and not at_start:
            logger.info("notification outbox: took over %d notification(s) that no live watcher has claimed (a claim "
                        "expired or was released)", queued)
        return queued

    def _queue_claimed(self, notifier: Notifier, rows: Sequence[OutboxRow], taking_over_from: str | None) -> int:
        """Claim `rows` for `notifier` in batches and queue the ones won; return how many were queued."""
        assert self._store is not None
        queued = 0
        for start in range(0, len(rows), RECOVERY_BATCH):
            chunk = rows[start:start + RECOVERY_BATCH]
            won = self._store.claim_notifications(notifier.name, [row.notification_id for row in chunk],
                                                  self.instance_id, now=utc_text(), expires_at=self._claim_expiry(),
                                                  taking_over_from=taking_over_from)
            batch = self._rebuild(notifier, [row for row in chunk if row.notification_id in won])
            if not batch:
                continue
            try:
                self._queue.put_nowait(_Job((notifier,), batch))
            except queue.Full:
                logger.warning("notification queue is full: %d recovered notification(s) for notifier %s stay "
                               "pending for a later sweep", len(rows) - start, notifier.name)
                with self._lock:
                    self._unsent.update((notifier.name, item.id) for item in batch)
                break
            queued += len(batch)
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
                                        [row.notification_id], f"unreadable row: {error}", final=True,
                                        claimant=self.instance_id))
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
        finished = not self._thread.is_alive()
        if not finished:
            self._abort.set()
            logger.warning("notification dispatcher did not finish within %s seconds: about %d batches "
                           "not delivered", timeout, self._queue.qsize())
        self._stop_claims(release=finished)
        return finished

    def _stop_claims(self, *, release: bool) -> None:
        """Stop the claims thread and, when nothing is sending any more, release the claims of this instance.

        Released rows are free at once for the next run or another watcher. While the worker may still be
        sending, the claims stay and end with their lease, so that no other dispatcher sends a row that is in
        flight here.
        """
        if self._claims_thread is None or self._store is None:
            return
        self._claims_stop.set()
        self._claims_thread.join(10)
        if not release:
            return
        store = self._store
        released = [0]

        def release_all() -> None:
            released[0] = store.release_notification_claims(self.instance_id)

        if self._write("releasing the claims of this instance", release_all) and released[0]:
            logger.info("notification outbox: released %d undelivered notification(s) for the next run",
                        released[0])

    def _count(self, *, sent: int = 0, retried: int = 0, failed: int = 0, dropped: int = 0,
               recovered: int = 0, taken_over: int = 0) -> None:
        with self._lock:
            self._stats.sent += sent
            self._stats.retried += retried
            self._stats.failed += failed
            self._stats.dropped += dropped
            self._stats.recovered += recovered
            self._stats.taken_over += taken_over

    def _claim_expiry(self) -> str:
        return utc_text(datetime.now(UTC) + self._claim_lease)

    def _maintain_claims(self) -> None:
        """Renew this instance's claims, free the claims of dropped rows, and take over expired claims."""
        interval = self._claim_lease.total_seconds() / 4
        ticks = 0
        while not self._claims_stop.wait(interval):
            ticks += 1
            try:
                self._renew_and_release()
                with self._lock:
                    scope = self._sweep_scope
                # Sweeps run every other renewal, every half lease, because each one reads the pending rows.
                # A dispatcher whose worker has stopped takes nothing, because nothing would send it.
                if scope is not None and ticks % 2 == 0 and self._thread.is_alive() and not self._closing:
                    self._take_over(scope[0], scope[1], taking_over_from=None, at_start=False)
            except SQLAlchemyError as error:
                logger.warning("notification outbox: renewing or taking over claims of instance %s failed (%s: "
                               "%s); tried again in %.1f s", self.instance_id, type(error).__name__, error,
                               interval)

    def _renew_and_release(self) -> None:
        assert self._store is not None
        self._store.renew_notification_claims(self.instance_id, self._claim_expiry())
        with self._lock:
            unsent = set(self._unsent)
        if unsent:
            self._store.release_notification_claims(self.instance_id, unsent)
            with self._lock:
                self._unsent -= unsent

    def _confirm_claims(self, notifier: Notifier, batch: list[Notification]) -> list[Notification] | None:
        """Claim the batch's rows again right before an attempt; return the notifications still held here.

        Return None when the outbox cannot be reached, so that the attempt waits for the next retry.
        """
        assert self._store is not None
        store = self._store
        won: set[str] = set()

        def claim() -> None:
            won.update(store.claim_notifications(notifier.name, [item.id for item in batch], self.instance_id,
                                                 now=utc_text(), expires_at=self._claim_expiry()))

        if not self._write(f"claiming {len(batch)} notification(s) for notifier {notifier.name}", claim):
            return None
        held = [item for item in batch if item.id in won]
        if len(held) < len(batch):
            lost = [item for item in batch if item.id not in won]
            self._count(taken_over=len(lost))
            logger.info("notifier %s: %d notification(s) for findings %s are delivered or held by another "
                        "watcher; not sent here", notifier.name, len(lost), _describe_ids(lost))
        return held

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
        marked_failed = False
        for attempt in range(1, self._retry.attempts + 1):
            if attempt > 1:
                self._count(retried=len(batch))
                if self._abort.wait(self._retry.delay(attempt - 1)):
                    break
            if self._store is not None:
                # Only the holder of a row's claim sends it: another watcher may have taken it over.
                held = self._confirm_claims(notifier, batch)
                if held is None:
                    logger.warning("notifier %s: attempt %d of %d skipped for findings %s: the outbox cannot be "
                                   "reached to confirm the claims", notifier.name, attempt, self._retry.attempts,
                                   ids)
                    continue
                if not held:
                    return
                if len(held) < len(batch):
                    batch = held
                    ids = _describe_ids(batch)
                    notification_ids = [item.id for item in batch]
            try:
                notifier.send(batch)
            except DeliveryError as error:
                logger.warning("notifier %s: attempt %d of %d failed for findings %s: %s",
                               notifier.name, attempt, self._retry.attempts, ids, error)
                if self._store is not None:
                    recorded = self._write(
                        f"recording a failed attempt of notifier {notifier.name} for findings {ids}",
                        partial(self._store.record_notification_failure, notifier.name, notification_ids,
                                str(error), final=attempt == self._retry.attempts, claimant=self.instance_id))
                    marked_failed = recorded and attempt == self._retry.attempts
                continue
            self._count(sent=len(batch))
            if self._store is not None and not self._write(
                    f"marking the delivery of notifier {notifier.name} for findings {ids}",
                    partial(self._store.mark_notifications_delivered, notifier.name, notification_ids,
                            datetime.now(UTC).isoformat(timespec="microseconds"))):
                logger.error("notifier %s: %d notifications for findings %s were delivered but stay pending in the "
                             "outbox; a later sweep delivers them again", notifier.name, len(batch), ids)
                with self._lock:
                    self._unsent.update((notifier.name, item_id) for item_id in notification_ids)
            return

        self._count(failed=len(batch))
        if self._abort.is_set() and self._store is not None:
            # Cut short by a shutdown that ran out of time: the rows stay pending, claimed until the lease ends.
            logger.warning("notifier %s: stopped retrying %d notifications for findings %s at shutdown; they stay "
                           "pending in the outbox", notifier.name, len(batch), ids)
            return
        if self._store is not None and not marked_failed:
            # The outbox could not record the outcome, so the rows stay pending; their claims are released for a
            # later sweep, which tries them again.
            logger.error("notifier %s: %d notifications for findings %s failed %d attempts, and the outbox could not "
                         "mark them failed; they stay pending for a later sweep", notifier.name, len(batch), ids,
                         attempt)
            with self._lock:
                self._unsent.update((notifier.name, item_id) for item_id in notification_ids)
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
