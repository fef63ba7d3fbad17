"""The store: saves scans with their coverage, resources and findings, and reads them back.

The default is an SQLite file; any SQLAlchemy URL (e.g. postgresql+psycopg://...) works the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.store import schema

logger = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The database cannot be opened: an invalid URL, an unreachable server, refused credentials.

    The message shows the URL without its password.
    """


def _shown_url(url: str) -> str:
    """Return `url` for messages, with the password of `scheme://user:password@host` hidden."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"

_BATCH = 2000


def default_database_url(file_name: str = "ridgeline.db") -> str:
    """Return RIDGELINE_DATABASE_URL, or an SQLite file (`file_name`) in the user's data folder."""
    configured = os.environ.get("RIDGELINE_DATABASE_URL")
    if configured:
        return configured
    return _data_file_url(file_name)


DEMO_DATABASE_FILE = "ridgeline-demo.db"
"""Demo scans go to their own file, so they never mix with scans of real accounts."""


def demo_database_url() -> str:
    """Return the SQLite file of `ridgeline demo`, which RIDGELINE_DATABASE_URL does not change.

    That variable names where real scans go, often a shared PostgreSQL database. The emulated account of
    the demo must not add scans and findings to it.
    """
    return _data_file_url(DEMO_DATABASE_FILE)


def _data_file_url(file_name: str) -> str:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "ridgeline"
    return f"sqlite:///{base / file_name}"


@dataclass(slots=True)
class StoredScan:
    """A scan as read back from the store."""

    id: str
    provider: str
    started_at: str
    finished_at: str
    accounts: list[str]
    regions: list[str]
    complete: bool
    api_calls: int
    duration_s: float
    options: dict[str, Any]


@dataclass(slots=True)
class FindingState:
    """The life-cycle state of one finding across scans (one row of `finding_states`)."""

    finding_id: str
    rule_id: str
    resource_id: str
    provider: str
    account: str
    region: str
    state: str
    """"new", "open", "resolved" or "reopened"."""

    muted: bool
    first_seen: str
    last_seen: str
    resolved_at: str | None
    last_scan_id: str


OUTBOX_PENDING = "pending"
"""Not delivered yet: waiting, being retried, or left by a run that ended before delivering it."""
OUTBOX_DELIVERED = "delivered"
OUTBOX_FAILED = "failed"
"""Every attempt of one run failed. The row stays for inspection and is not retried."""


@dataclass(slots=True)
class OutboxRow:
    """One notification for one notifier (one row of `notification_outbox`)."""

    notification_id: str
    notifier: str
    finding_id: str
    event: str
    provider: str
    account: str
    scan_id: str
    document: dict[str, Any]
    """The notification as the notifiers send it (`Notification.document()`)."""

    created_at: str
    state: str = OUTBOX_PENDING
    attempts: int = 0
    last_error: str | None = None
    delivered_at: str | None = None
    claimed_by: str | None = None
    """Instance id of the watcher that delivers the row, or None while no watcher has claimed it."""
    claim_expires_at: str | None = None
    """End of the claim's lease, after which another watcher may take the row over."""


class Store:
    """Access to one database."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_database_url()
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except ImportError as error:
            # A valid URL whose database driver is missing (psycopg for postgresql+psycopg://).
            raise StoreUnavailable(f"the database URL {_shown_url(self.url)} needs the Python module "
                                   f"{error.name or error}, which is not installed; for PostgreSQL, install "
                                   "Ridgeline's postgres extra (pip install 'ridgeline[postgres]')") from error
        except (ArgumentError, NoSuchModuleError) as error:
            raise StoreUnavailable(f"invalid database URL {_shown_url(self.url)}: {error}") from error
        shown = self.engine.url.render_as_string(hide_password=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            schema.metadata.create_all(self.engine)
        except OperationalError as error:
            # The first statement is where an unreachable server, a wrong password or an unwritable file shows.
            reason = " ".join(str(error.orig or error).split())
            raise StoreUnavailable(f"cannot open the database {shown}: {reason}; check the "
                                   "--database URL (or RIDGELINE_DATABASE_URL) and that the server is "
                                   "reachable") from error
        self._add_columns()
        self._add_indexes()
        self._check_version()

    def _add_columns(self) -> None:
        """Add the `schema.ADDED_COLUMNS` that an older database lacks (all nullable, so old rows stay valid)."""
        for table_name, names in schema.ADDED_COLUMNS.items():
            table = schema.metadata.tables[table_name]
            present = {column["name"] for column in inspect(self.engine).get_columns(table_name)}
            for name in names:
                if name in present:
                    continue
                column_type = table.c[name].type.compile(dialect=self.engine.dialect)
                try:
                    with self.engine.begin() as connection:
                        connection.execute(text(f"ALTER TABLE {table_name} ADD COLUMN {name} {column_type}"))
                except (OperationalError, ProgrammingError):
                    # Another process opening the same database may have added it first.
                    if name not in {column["name"] for column in inspect(self.engine).get_columns(table_name)}:
                        raise
                logger.info("database %s: added column %s.%s", self.engine.url, table_name, name)

    def _add_indexes(self) -> None:
        with self.engine.begin() as connection:
            for table in schema.metadata.tables.values():
                for index in table.indexes:
                    if index.name in schema.ADDED_INDEXES:
                        index.create(connection, checkfirst=True)

    def _check_version(self) -> None:
        with self.engine.begin() as connection:
            version = connection.execute(select(schema.schema_info.c.version)).scalar()
            if version is None:
                connection.execute(insert(schema.schema_info).values(version=schema.SCHEMA_VERSION))
            elif version > schema.SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"database {self.engine.url.render_as_string(hide_password=True)} has schema version "
                    f"{version}, newer than this Ridgeline "
                    f"({schema.SCHEMA_VERSION}); upgrade Ridgeline"
                )
            elif version < schema.SCHEMA_VERSION:
                # Every upgrade so far only adds tables, which create_all has just created.
                connection.execute(update(schema.schema_info).values(version=schema.SCHEMA_VERSION))
                logger.info("database %s upgraded from schema version %d to %d", self.url, version,
                            schema.SCHEMA_VERSION)

    def save_scan(self, scan: StoredScan, coverage: list[Coverage], resources: Iterable[Resource],
                  findings: list[Finding]) -> None:
        """Save a whole scan in one transaction; `resources` is read once, in batches (it may be a stream)."""
        stored = 0
        with self.engine.begin() as connection:
            connection.execute(insert(schema.scans).values(
                id=scan.id, provider=scan.provider, started_at=scan.started_at, finished_at=scan.finished_at,
                accounts=_json(scan.accounts), regions=_json(scan.regions), complete=int(scan.complete),
                api_calls=scan.api_calls, duration_s=scan.duration_s, options=_json(scan.options),
            ))
            if coverage:
                connection.execute(insert(schema.coverage), [
                    {"scan_id": scan.id, "provider": unit.provider, "account": unit.account, "region": unit.region,
                     "service": unit.service, "status": unit.status.value, "document": _json(unit.to_dict())}
                    for unit in coverage
                ])
            batches = iter(resources)
            while batch := list(islice(batches, _BATCH)):
                connection.execute(insert(schema.resources), [
                    {"scan_id": scan.id, "resource_id": _text(r.id), "type": r.type, "provider": r.provider,
                     "account": r.account, "region": r.region, "name": _text(r.name), "document": _json(r.to_dict())}
                    for r in batch
                ])
                stored += len(batch)
            for start in range(0, len(findings), _BATCH):
                connection.execute(insert(schema.findings), [
                    {"scan_id": scan.id, "finding_id": f.id, "rule_id": f.rule_id, "status": f.status.value,
                     "severity": f.severity.value, "category": f.category, "provider": f.provider,
                     "account": f.account, "region": f.region, "resource_id": _text(f.resource_id),
                     "resource_type": f.resource_type, "resource_name": _text(f.resource_name),
                     "message": _text(f.message), "evidence": _json(f.evidence), "muted_reason": _text(f.muted_reason)}
                    for f in findings[start:start + _BATCH]
                ])
        logger.info("saved scan %s: %d resource(s), %d finding(s) to %s", scan.id, stored, len(findings),
                    self.url)

    def list_scans(self, limit: int = 50) -> list[StoredScan]:
        """Return the newest scans first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.scans).order_by(schema.scans.c.started_at.desc()).limit(limit)
            ).mappings().all()
        return [_scan(row) for row in rows]

    def scans_since(self, provider: str, started_at: str) -> list[StoredScan]:
        """Return the scans of `provider` that started at or after `started_at`, oldest first."""
        scans = schema.scans
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(scans).where(scans.c.provider == provider, scans.c.started_at >= started_at)
                .order_by(scans.c.started_at)
            ).mappings().all()
        return [_scan(row) for row in rows]

    def get_scan(self, scan_id: str) -> StoredScan | None:
        """Return one scan, or None."""
        with self.engine.connect() as connection:
            row = connection.execute(select(schema.scans).where(schema.scans.c.id == scan_id)).mappings().first()
        return _scan(row) if row else None

    def find_scan_ids(self, prefix: str, limit: int = 2) -> list[str]:
        """Return up to `limit` scan ids that start with `prefix`, so a caller can spot an ambiguous prefix."""
        # LIKE wildcards in the prefix are escaped: "%" must match a literal percent sign.
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.scans.c.id).where(schema.scans.c.id.like(pattern, escape="\\"))
                .order_by(schema.scans.c.started_at.desc()).limit(limit)
            ).scalars().all()
        return list(rows)

    def count_findings(self, scan_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Return the number of findings per status for each scan: scan id -> status -> count."""
        counts: dict[str, dict[str, int]] = {scan_id: {} for scan_id in scan_ids}
        if not scan_ids:
            return counts
        findings = schema.findings
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(findings.c.scan_id, findings.c.status, func.count())
                .where(findings.c.scan_id.in_(list(scan_ids)))
                .group_by(findings.c.scan_id, findings.c.status)
            ).all()
        for scan_id, status, count in rows:
            counts[scan_id][status] = count
        return counts

    def load_findings(self, scan_id: str) -> list[Finding]:
        """Return the findings of a scan."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.findings).where(schema.findings.c.scan_id == scan_id)
                .order_by(schema.findings.c.rule_id, schema.findings.c.resource_id, schema.findings.c.region)
            ).mappings().all()
        return [
            Finding(rule_id=row["rule_id"], status=Status(row["status"]), severity=Severity(row["severity"]),
                    category=row["category"], provider=row["provider"], account=row["account"],
                    region=row["region"], resource_id=row["resource_id"], resource_type=row["resource_type"],
                    resource_name=row["resource_name"], message=row["message"],
                    evidence=orjson.loads(row["evidence"]), muted_reason=row["muted_reason"])
            for row in rows
        ]

    def load_resources(self, scan_id: str) -> list[Resource]:
        """Return the resources of a scan."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.resources.c.document).where(schema.resources.c.scan_id == scan_id)
            ).scalars().all()
        return [Resource.from_dict(orjson.loads(document)) for document in rows]

    def load_coverage(self, scan_id: str) -> list[Coverage]:
        """Return the coverage records of a scan."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(schema.coverage.c.document).where(schema.coverage.c.scan_id == scan_id)
            ).scalars().all()
        result = []
        for document in rows:
            data = orjson.loads(document)
            result.append(Coverage(
                provider=data["provider"], account=data["account"], region=data["region"], service=data["service"],
                status=Completeness(data["status"]), resource_counts=data.get("resource_counts", {}),
                failed_types=data.get("failed_types", {}),
                errors=[CallError(**error) for error in data.get("errors", [])],
                duration_s=data.get("duration_s", 0.0),
            ))
        return result

    def load_finding_states(self, provider: str, accounts: Sequence[str],
                            resource_ids: Collection[str] | None = None) -> list[FindingState]:
        """Return the life-cycle rows of the findings of `provider` in `accounts` (of `resource_ids` only, if given)."""
        states = schema.finding_states
        conditions = [states.c.provider == provider, states.c.account.in_(list(accounts))]
        with self.engine.connect() as connection:
            if resource_ids is None:
                rows = list(connection.execute(
                    select(states).where(*conditions).order_by(states.c.finding_id)
                ).mappings().all())
            else:
                ids = sorted({_text(resource_id) for resource_id in resource_ids})
                rows = []
                for start in range(0, len(ids), _BATCH):
                    rows.extend(connection.execute(
                        select(states).where(*conditions, states.c.resource_id.in_(ids[start:start + _BATCH]))
                    ).mappings().all())
                rows.sort(key=lambda row: row["finding_id"])
        return [
            FindingState(finding_id=row["finding_id"], rule_id=row["rule_id"], resource_id=row["resource_id"],
                         provider=row["provider"], account=row["account"], region=row["region"],
                         state=row["state"], muted=bool(row["muted"]), first_seen=row["first_seen"],
                         last_seen=row["last_seen"], resolved_at=row["resolved_at"],
                         last_scan_id=row["last_scan_id"])
            for row in rows
        ]

    def save_finding_states(self, states: Sequence[FindingState], outbox: Sequence[OutboxRow] = ()) -> None:
        """Insert or replace life-cycle rows and add the `outbox` rows they produce, in one transaction.

        Either both are stored or neither is, so a crash cannot keep a change whose notifications are lost.
        """
        table = schema.finding_states
        ids = [state.finding_id for state in states]
        with self.engine.begin() as connection:
            # Delete and insert is an upsert that SQLite and PostgreSQL run the same way.
            for start in range(0, len(ids), _BATCH):
                connection.execute(delete(table).where(table.c.finding_id.in_(ids[start:start + _BATCH])))
            for start in range(0, len(states), _BATCH):
                connection.execute(insert(table), [
                    {"finding_id": s.finding_id, "rule_id": s.rule_id, "resource_id": _text(s.resource_id),
                     "provider": s.provider, "account": s.account, "region": s.region, "state": s.state,
                     "muted": int(s.muted), "first_seen": s.first_seen, "last_seen": s.last_seen,
                     "resolved_at": s.resolved_at, "last_scan_id": s.last_scan_id}
                    for s in states[start:start + _BATCH]
                ])
            for start in range(0, len(outbox), _BATCH):
                connection.execute(insert(schema.notification_outbox), [
                    {"notification_id": row.notification_id, "notifier": row.notifier, "finding_id": row.finding_id,
                     "event": row.event, "provider": row.provider, "account": row.account, "scan_id": row.scan_id,
                     "document": _json(row.document), "state": row.state, "created_at": row.created_at,
                     "attempts": row.attempts, "last_error": _optional_text(row.last_error),
                     "delivered_at": row.delivered_at, "claimed_by": row.claimed_by,
                     "claim_expires_at": row.claim_expires_at}
                    for row in outbox[start:start + _BATCH]
                ])
        logger.debug("saved %d finding state(s) and %d outbox row(s) to %s", len(states), len(outbox), self.url)

    def load_notifications(self, *, states: Collection[str] | None = None, provider: str | None = None,
                           accounts: Collection[str] | None = None, created_before: str | None = None,
                           notifiers: Collection[str] | None = None, claimable_by: str | None = None,
                           now: str | None = None, taking_over_from: str | None = None) -> list[OutboxRow]:
        """Return outbox rows, oldest first, filtered by state, provider, accounts, creation time and notifier.

        With `claimable_by` (an instance id) and `now`, only the rows that instance could take over are
        returned: unclaimed rows, rows whose claim expired before `now`, and rows of `taking_over_from`.
        Rows it holds itself are left out, because it has them queued already.
        """
        table = schema.notification_outbox
        conditions: list[ColumnElement[bool]] = []
        if claimable_by is not None:
            if now is None:
                raise ValueError("claimable_by needs now")
            conditions.append(table.c.claimed_by.is_distinct_from(claimable_by))
            conditions.append(_claimable(now, taking_over_from))
        if states is not None:
            conditions.append(table.c.state.in_(sorted(states)))
        if provider is not None:
            conditions.append(table.c.provider == provider)
        if accounts is not None:
            conditions.append(table.c.account.in_(sorted(accounts)))
        if created_before is not None:
            conditions.append(table.c.created_at < created_before)
        if notifiers is not None:
            conditions.append(table.c.notifier.in_(sorted(notifiers)))
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(table).where(*conditions)
                .order_by(table.c.created_at, table.c.notification_id, table.c.notifier)
            ).mappings().all()
        return [
            OutboxRow(notification_id=row["notification_id"], notifier=row["notifier"], finding_id=row["finding_id"],
                      event=row["event"], provider=row["provider"], account=row["account"], scan_id=row["scan_id"],
                      document=orjson.loads(row["document"]), created_at=row["created_at"], state=row["state"],
                      attempts=row["attempts"], last_error=row["last_error"], delivered_at=row["delivered_at"],
                      claimed_by=row["claimed_by"], claim_expires_at=row["claim_expires_at"])
            for row in rows
        ]

    def claim_notifications(self, notifier: str, notification_ids: Sequence[str], claimant: str, *, now: str,
                            expires_at: str, taking_over_from: str | None = None) -> set[str]:
        """Claim the pending rows of `notifier` for the instance `claimant` until `expires_at`; return the ids won.

        A row is won when it is pending and unclaimed, `claimant` has claimed it already (the claim is
        renewed), its claim expired before `now`, or `taking_over_from` has claimed it. The test and the write are
        one conditional UPDATE, which the database runs atomically: of two instances that claim one row, one
        UPDATE changes it and the other's matches nothing. When the row count shows that some rows were not
        won, a SELECT in the same transaction finds which are held now.
        """
        table = schema.notification_outbox
        won: set[str] = set()
        ids = sorted(set(notification_ids))
        with self.engine.begin() as connection:
            for start in range(0, len(ids), _BATCH):
                chunk = ids[start:start + _BATCH]
                in_chunk = and_(table.c.notifier == notifier, table.c.notification_id.in_(chunk),
                                table.c.state == OUTBOX_PENDING)
                result = connection.execute(
                    update(table)
                    .where(in_chunk, or_(table.c.claimed_by == claimant, _claimable(now, taking_over_from)))
                    .values(claimed_by=claimant, claim_expires_at=expires_at))
                if result.rowcount == len(chunk):
                    won.update(chunk)
                    continue
                won.update(connection.execute(
                    select(table.c.notification_id).where(in_chunk, table.c.claimed_by == claimant)
                ).scalars().all())
        return won

    def renew_notification_claims(self, claimant: str, expires_at: str) -> int:
        """Extend every claim that `claimant` holds on a pending row to `expires_at`; return how many."""
        table = schema.notification_outbox
        with self.engine.begin() as connection:
            result = connection.execute(
                update(table).where(table.c.claimed_by == claimant, table.c.state == OUTBOX_PENDING)
                .values(claim_expires_at=expires_at))
        return int(result.rowcount)

    def release_notification_claims(self, claimant: str,
                                    rows: Collection[tuple[str, str]] | None = None) -> int:
        """Drop the claims of `claimant` on pending rows, so that any instance may take them; return how many.

        `rows` limits the release to those (notifier, notification id) pairs; without it every claim goes.
        """
        table = schema.notification_outbox
        owned = and_(table.c.claimed_by == claimant, table.c.state == OUTBOX_PENDING)
        released = 0
        with self.engine.begin() as connection:
            if rows is None:
                result = connection.execute(update(table).where(owned).values(claimed_by=None,
                                                                              claim_expires_at=None))
                return int(result.rowcount)
            by_notifier: dict[str, list[str]] = {}
            for notifier, notification_id in sorted(set(rows)):
                by_notifier.setdefault(notifier, []).append(notification_id)
            for notifier, ids in by_notifier.items():
                for start in range(0, len(ids), _BATCH):
                    result = connection.execute(
                        update(table)
                        .where(owned, table.c.notifier == notifier,
                               table.c.notification_id.in_(ids[start:start + _BATCH]))
                        .values(claimed_by=None, claim_expires_at=None))
                    released += int(result.rowcount)
        return released

    def mark_notifications_delivered(self, notifier: str, notification_ids: Sequence[str], delivered_at: str) -> None:
        """Count one more attempt for the rows of `notifier`, mark them delivered at `delivered_at`, clear errors.

        An error from an earlier attempt is cleared, so that `last_error` is set only on rows that still need
        attention. An `attempts` count above 1 still shows that the delivery was retried.
        """
        table = schema.notification_outbox
        with self.engine.begin() as connection:
            for start in range(0, len(notification_ids), _BATCH):
                connection.execute(
                    update(table)
                    .where(table.c.notifier == notifier,
                           table.c.notification_id.in_(notification_ids[start:start + _BATCH]))
                    .values(state=OUTBOX_DELIVERED, delivered_at=delivered_at, attempts=table.c.attempts + 1,
                            last_error=None))

    def record_notification_failure(self, notifier: str, notification_ids: Sequence[str], error: str, *,
                                    final: bool, claimant: str | None = None) -> None:
        """Count one more failed attempt for the rows of `notifier`, and mark them failed when `final`.

        With `claimant`, only the rows that instance has claimed are changed, so a row another watcher took over
        keeps its own count. A failed row loses its claim, so that a reset to pending makes it free to take.
        """
        table = schema.notification_outbox
        values: dict[str, Any] = {"attempts": table.c.attempts + 1, "last_error": _text(error)}
        if final:
            values.update(state=OUTBOX_FAILED, claimed_by=None, claim_expires_at=None)
        conditions: list[ColumnElement[bool]] = [table.c.notifier == notifier, table.c.state != OUTBOX_DELIVERED]
        if claimant is not None:
            conditions.append(table.c.claimed_by == claimant)
        with self.engine.begin() as connection:
            for start in range(0, len(notification_ids), _BATCH):
                # A row that another run has delivered meanwhile stays delivered.
                connection.execute(
                    update(table)
                    .where(*conditions, table.c.notification_id.in_(notification_ids[start:start + _BATCH]))
                    .values(**values))

    def prune_notifications(self, delivered_before: str) -> int:
        """Delete the delivered outbox rows delivered before `delivered_before`; return how many."""
        table = schema.notification_outbox
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(table).where(table.c.state == OUTBOX_DELIVERED, table.c.delivered_at < delivered_before))
        return int(result.rowcount)


def _claimable(now: str, taking_over_from: str | None) -> ColumnElement[bool]:
    """Return the condition of an outbox row that is unclaimed, whose claim expired, or that a dead instance claimed."""
    table = schema.notification_outbox
    # Times are ISO 8601 in UTC with microseconds, so comparing the text compares the times.
    conditions = [table.c.claimed_by.is_(None), table.c.claim_expires_at < now]
    if taking_over_from is not None:
        conditions.append(table.c.claimed_by == taking_over_from)
    return or_(*conditions)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _text(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and names from imported files may contain it; JSON documents
    # escape it, but the typed columns need a replacement character.
    return value.replace("\x00", "\ufffd")


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _scan(row: Any) -> StoredScan:
    return StoredScan(
        id=row["id"], provider=row["provider"], started_at=row["started_at"], finished_at=row["finished_at"],
        accounts=orjson.loads(row["accounts"]), regions=orjson.loads(row["regions"]), complete=bool(row["complete"]),
        api_calls=row["api_calls"], duration_s=row["duration_s"], options=orjson.loads(row["options"]),
    )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets a reader (a report) work while a scan writes; foreign keys make deletes cascade.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
