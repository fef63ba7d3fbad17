"""Watcher leases in the store: which watcher instance works on a provider and scope, and until when.

Every change is one conditional statement, so two instances that race for one lease cannot both win it.
Times are ISO 8601 text in UTC with microseconds, so that comparing the text compares the times.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ridgeline.store import schema
from ridgeline.store.database import Store


def utc_text(moment: datetime | None = None) -> str:
    """Return `moment` (default: now) as the ISO 8601 text in UTC that leases and claims compare."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


def new_instance_id() -> str:
    """Return an id for this process's watcher: host name, process id and a random part, unique per start."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """One row of `watcher_leases`: who holds the lease of a provider and scope."""

    provider: str
    scope: str
    instance_id: str
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    expires_at: str

    def describe(self) -> str:
        """Name the holder for log and error messages: instance, host, process id, start and last heartbeat."""
        return (f"instance {self.instance_id} (host {self.host}, pid {self.pid}, started {self.started_at}, "
                f"last heartbeat {self.heartbeat_at}, lease until {self.expires_at})")


def read_lease(store: Store, provider: str, scope: str) -> LeaseRecord | None:
    """Return the lease of `provider` and `scope`, or None when no watcher has it."""
    table = schema.watcher_leases
    with store.engine.connect() as connection:
        row = connection.execute(
            select(table).where(table.c.provider == provider, table.c.scope == scope)).mappings().first()
    if row is None:
        return None
    return LeaseRecord(provider=row["provider"], scope=row["scope"], instance_id=row["instance_id"],
                       host=row["host"], pid=row["pid"], started_at=row["started_at"],
                       heartbeat_at=row["heartbeat_at"], expires_at=row["expires_at"])


def insert_lease(store: Store, record: LeaseRecord) -> bool:
    """Store `record` as the lease of its provider and scope; return False when a row exists already."""
    try:
        with store.engine.begin() as connection:
            connection.execute(insert(schema.watcher_leases).values(_values(record)))
    except IntegrityError:
        return False
    return True


def replace_lease(store: Store, record: LeaseRecord, previous: LeaseRecord, *, expired_before: str | None) -> bool:
    """Replace the lease `previous` with `record`; return False when `previous` changed meanwhile.

    The UPDATE matches only the row as it was read (same holder, same heartbeat), so a holder that renewed
    in between keeps its lease. With `expired_before`, it also matches only a lease that ended before then.
    """
    table = schema.watcher_leases
    conditions = [table.c.provider == previous.provider, table.c.scope == previous.scope,
                  table.c.instance_id == previous.instance_id, table.c.heartbeat_at == previous.heartbeat_at]
    if expired_before is not None:
        conditions.append(table.c.expires_at < expired_before)
    with store.engine.begin() as connection:
        result = connection.execute(update(table).where(*conditions).values(_values(record)))
    return int(result.rowcount) == 1


def renew_lease(store: Store, provider: str, scope: str, instance_id: str, heartbeat_at: str,
                expires_at: str) -> bool:
    """Move the heartbeat and the end of the lease that `instance_id` holds; return False when it holds none."""
    table = schema.watcher_leases
    with store.engine.begin() as connection:
        result = connection.execute(
            update(table)
            .where(table.c.provider == provider, table.c.scope == scope, table.c.instance_id == instance_id)
            .values(heartbeat_at=heartbeat_at, expires_at=expires_at))
    return int(result.rowcount) == 1


def delete_lease(store: Store, provider: str, scope: str, instance_id: str) -> bool:
    """Delete the lease if `instance_id` holds it; return whether it did."""
    table = schema.watcher_leases
    with store.engine.begin() as connection:
        result = connection.execute(
            delete(table)
            .where(table.c.provider == provider, table.c.scope == scope, table.c.instance_id == instance_id))
    return int(result.rowcount) == 1


def _values(record: LeaseRecord) -> dict[str, object]:
    return {"provider": record.provider, "scope": record.scope, "instance_id": record.instance_id,
            "host": record.host, "pid": record.pid, "started_at": record.started_at,
            "heartbeat_at": record.heartbeat_at, "expires_at": record.expires_at}
