"""The watcher lease: at most one live watcher works on a provider and scope of one database.

A watcher takes the lease row of its provider and scope at start and renews it (its heartbeat) every
quarter of the lease duration. A second watcher of the same scope finds the row held, logs the holder
(instance, host, process id, start) and, by default, waits to see whether the holder is alive. A holder
that renews is alive, and the second watcher raises `LeaseHeld`, which the command turns into an error
and exit code 4. A holder that lets its lease expire (it crashed or was killed) is taken over. With
`standby`, the second watcher waits instead until the lease is free. A watcher that finds at a heartbeat
that another one took its lease over stops.

NOTE: expiry compares the time of each host with the times other hosts wrote, so the hosts need
synchronised clocks. A host whose clock is S seconds ahead takes leases as expired S seconds early.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from ridgeline.store.database import Store
from ridgeline.store.leases import (
    LeaseRecord,
    delete_lease,
    insert_lease,
    new_instance_id,
    read_lease,
    renew_lease,
    replace_lease,
    utc_text,
)

logger = logging.getLogger(__name__)

DEFAULT_LEASE_DURATION = 60.0
"""Seconds a lease lasts without a heartbeat; heartbeats run every quarter of it."""

STANDBY_REPORT_INTERVAL = 600.0
"""Seconds between two log lines of a watcher that waits in standby."""

_MAX_SCOPE = 255
"""Length of the `scope` column; longer scopes keep their start and end with a digest of the whole text."""


class LeaseHeld(RuntimeError):
    """Another live watcher holds the lease of this provider and scope."""

    def __init__(self, holder: LeaseRecord) -> None:
        super().__init__(f"another watcher of {holder.provider} scope {holder.scope!r} is running on the same "
                         f"database: {holder.describe()}. Stop it first, run this one with --standby to take over "
                         "when it stops, or, if it is gone (killed, host lost), start with --take-over-lease")
        self.holder = holder


def lease_scope(text: str) -> str:
    """Return `text` as a lease scope, shortened with a digest when it is longer than the column."""
    if len(text) <= _MAX_SCOPE:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[:_MAX_SCOPE - 40]} sha256:{digest}"


class WatcherLease:
    """The lease of one watcher instance on a provider and scope; see the module documentation."""

    def __init__(self, store: Store, provider: str, scope: str, *, instance_id: str | None = None,
                 duration: float = DEFAULT_LEASE_DURATION, standby: bool = False, take_over: bool = False) -> None:
        if duration <= 0:
            raise ValueError(f"invalid lease duration {duration}: expected more than 0 seconds")
        self.store = store
        self.provider = provider
        self.scope = lease_scope(scope)
        self.instance_id = instance_id or new_instance_id()
        self.duration = duration
        self.standby = standby
        self.take_over = take_over
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = utc_text()
        self.held = False
        self.taken_over: LeaseRecord | None = None
        """Previous holder of the lease that this instance took over (expired, or forced by `take_over`), if any."""
        self.lost_to: LeaseRecord | None = None
        """Watcher that took this instance's lease over while it ran, if any."""
        self._beat_stop = threading.Event()
        self._beat_thread: threading.Thread | None = None

    def acquire(self, stop: threading.Event) -> bool:
        """Take the lease; return False when `stop` was set before it could be taken.

        Raise `LeaseHeld` when another watcher holds it and renews it, unless `standby` is set: a standby
        waits until the lease is released or expires. Without `standby`, the wait for a holder that does not
        renew lasts at most one lease duration past the first look.
        """
        observed: LeaseRecord | None = None
        deadline = time.monotonic() + self.duration + 1.0
        last_report = time.monotonic()
        poll = min(5.0, self.duration / 4) if self.standby else min(1.0, self.duration / 8)
        failures = 0
        while True:
            try:
                holder = self._try_acquire()
            except SQLAlchemyError as error:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    logger.warning("reading the lease of %s scope %r failed %d time(s) (%s: %s); trying again",
                                   self.provider, self.scope, failures, type(error).__name__, error)
                if stop.wait(poll):
                    return False
                continue
            if holder is None:
                return True

            if observed is None or holder.instance_id != observed.instance_id:
                action = ("waits in standby until it stops or its lease expires" if self.standby
                          else "waits up to one lease duration to see whether it is alive")
                logger.warning("the lease of %s scope %r is held by another watcher on this database: %s; this "
                               "watcher (instance %s) %s", self.provider, self.scope, holder.describe(),
                               self.instance_id, action)
                observed = holder
                deadline = time.monotonic() + self.duration + 1.0
            elif not self.standby and (holder.heartbeat_at != observed.heartbeat_at or time.monotonic() > deadline):
                # A renewal shows that the holder is alive. A lease that outlasts a full duration without one
                # comes from a clock far ahead of this host's, and is treated as alive too.
                raise LeaseHeld(holder)
            elif self.standby and time.monotonic() - last_report >= STANDBY_REPORT_INTERVAL:
                logger.info("standby: the lease of %s scope %r is still held by %s", self.provider, self.scope,
                            holder.describe())
                last_report = time.monotonic()

            if stop.wait(poll):
                logger.info("stop requested before the lease of %s scope %r was free", self.provider, self.scope)
                return False

    def _try_acquire(self) -> LeaseRecord | None:
        """Try once to take the lease; return None when taken, or the record of the live holder."""
        while True:
            now = datetime.now(UTC)
            record = self._record(now)
            current = read_lease(self.store, self.provider, self.scope)
            if current is None:
                if insert_lease(self.store, record):
                    self._won(None)
                    return None
                continue  # Another watcher inserted it first: read who.

            if current.instance_id == self.instance_id:
                if renew_lease(self.store, self.provider, self.scope, self.instance_id, record.heartbeat_at,
                               record.expires_at):
                    self._won(None)
                    return None
                continue

            expired = current.expires_at < record.heartbeat_at
            if not (expired or self.take_over):
                return current
            # The UPDATE matches only the row as read, so a holder that renewed in between keeps its lease.
            if replace_lease(self.store, record, current,
                             expired_before=None if self.take_over else record.heartbeat_at):
                self._won(current)
                return None

    def _won(self, previous: LeaseRecord | None) -> None:
        self.held = True
        self.taken_over = previous
        if previous is None:
            logger.info("took the lease of %s scope %r as instance %s (lease %.0f s, renewed every %.1f s)",
                        self.provider, self.scope, self.instance_id, self.duration, self.duration / 4)
            return
        reason = "forced by --take-over-lease" if self.take_over else "its lease expired"
        logger.warning("took over the lease of %s scope %r from %s (%s); its undelivered notifications are taken "
                       "over too", self.provider, self.scope, previous.describe(), reason)

    def _record(self, now: datetime) -> LeaseRecord:
        return LeaseRecord(provider=self.provider, scope=self.scope, instance_id=self.instance_id, host=self.host,
                           pid=self.pid, started_at=self.started_at, heartbeat_at=utc_text(now),
                           expires_at=utc_text(now + timedelta(seconds=self.duration)))

    # Heartbeat

    def start_heartbeat(self, on_lost: Callable[[LeaseRecord | None], None]) -> None:
        """Renew the lease on a thread; call `on_lost` with the new holder when another watcher took it over."""
        self._beat_stop.clear()
        self._beat_thread = threading.Thread(target=self._beat, args=(on_lost,), name="ridgeline-lease",
                                             daemon=True)
        self._beat_thread.start()

    def _beat(self, on_lost: Callable[[LeaseRecord | None], None]) -> None:
        interval = self.duration / 4
        failures = 0
        while not self._beat_stop.wait(interval):
            now = datetime.now(UTC)
            record = self._record(now)
            try:
                renewed = renew_lease(self.store, self.provider, self.scope, self.instance_id, record.heartbeat_at,
                                      record.expires_at)
                # A row that was deleted (by hand) is inserted again rather than given up.
                if not renewed and read_lease(self.store, self.provider, self.scope) is None:
                    renewed = insert_lease(self.store, record)
                holder = None if renewed else read_lease(self.store, self.provider, self.scope)
            except SQLAlchemyError as error:
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    logger.warning("renewing the lease of %s scope %r failed %d time(s) (%s: %s); another watcher "
                                   "may take it over once it expires", self.provider, self.scope, failures,
                                   type(error).__name__, error)
                continue

            if renewed:
                if failures:
                    logger.info("lease of %s scope %r renewed again after %d failed attempt(s)", self.provider,
                                self.scope, failures)
                    failures = 0
                continue

            self.held = False
            self.lost_to = holder
            logger.error("the lease of %s scope %r was taken over by %s; this watcher (instance %s) stops",
                         self.provider, self.scope, holder.describe() if holder else "another watcher",
                         self.instance_id)
            on_lost(holder)
            return

    def release(self) -> None:
        """Stop the heartbeat and delete the lease row if this instance holds it, so a successor starts at once."""
        self._beat_stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(10)
        if not self.held:
            return
        self.held = False
        try:
            deleted = delete_lease(self.store, self.provider, self.scope, self.instance_id)
        except SQLAlchemyError as error:
            logger.warning("releasing the lease of %s scope %r failed (%s: %s); it expires by itself within %.0f s",
                           self.provider, self.scope, type(error).__name__, error, self.duration)
            return
        if deleted:
            logger.info("released the lease of %s scope %r", self.provider, self.scope)
