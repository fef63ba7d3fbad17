"""Database tables: scans, their coverage, the resources they saw and the findings they produced.

One schema serves SQLite (the embedded default) and PostgreSQL. JSON documents are stored as text so
that both behave the same; queries filter on the typed columns.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text

SCHEMA_VERSION = 2
"""Version 2 added `finding_states`; opening a version 1 database creates that table.

`notification_outbox` and `watcher_leases` came later without a new version: an older Ridgeline ignores those
tables, and a newer one creates them when they are missing. The claim columns of the outbox (`ADDED_COLUMNS`)
are added the same way, because an older Ridgeline writes its rows without them.
"""

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("version", Integer, nullable=False),
)

scans = Table(
    "scans",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("provider", String(16), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("finished_at", String(32), nullable=False),
    Column("accounts", Text, nullable=False, doc="JSON list of account ids"),
    Column("regions", Text, nullable=False, doc="JSON list of regions"),
    Column("complete", Integer, nullable=False, doc="1 when every unit was collected completely"),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("duration_s", Float, nullable=False, default=0.0),
    Column("options", Text, nullable=False, default="{}", doc="JSON of the scan options"),
)

coverage = Table(
    "coverage",
    metadata,
    Column("scan_id", String(36), ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("service", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", Text, nullable=False, doc="JSON of the Coverage record"),
    Index("ix_coverage_scan", "scan_id"),
)

resources = Table(
    "resources",
    metadata,
    Column("scan_id", String(36), ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("type", String(128), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("document", Text, nullable=False, doc="JSON of the resource envelope (secrets redacted)"),
    Index("ix_resources_scan", "scan_id"),
)

findings = Table(
    "findings",
    metadata,
    Column("scan_id", String(36), ForeignKey("scans.id", ondelete="CASCADE"), nullable=False),
    Column("finding_id", String(32), nullable=False, doc="Stable id: the same rule on the same resource"),
    Column("rule_id", String(128), nullable=False),
    Column("status", String(8), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_name", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("evidence", Text, nullable=False, doc="JSON"),
    Column("muted_reason", Text, nullable=False, default=""),
    Index("ix_findings_scan", "scan_id"),
    Index("ix_findings_finding", "finding_id"),
)

finding_states = Table(
    "finding_states",
    metadata,
    Column("finding_id", String(32), primary_key=True, doc="The stable finding id (rule, resource, region)"),
    Column("rule_id", String(128), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("provider", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("region", String(64), nullable=False),
    Column("state", String(16), nullable=False, doc="new, open, resolved or reopened"),
    Column("muted", Integer, nullable=False, default=0, doc="1 when the last FAIL was MUTED by a suppression"),
    Column("first_seen", String(32), nullable=False, doc="Finish time of the first scan that found it failing"),
    Column("last_seen", String(32), nullable=False, doc="Finish time of the last scan that found it failing"),
    Column("resolved_at", String(32), nullable=True, doc="Finish time of the scan that resolved it, if resolved"),
    Column("last_scan_id", String(36), nullable=False, doc="The last scan that changed this row"),
    Index("ix_finding_states_scope", "provider", "account"),
    Index("ix_finding_states_resource", "resource_id"),
)

ADDED_INDEXES = ("ix_finding_states_resource",)
"""Indexes added to tables that older databases already have; `create_all` creates only missing tables."""

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("notification_id", String(32), primary_key=True,
           doc="Stable id from the finding id, the event and the scan that made the change"),
    Column("notifier", String(64), primary_key=True, doc="Name of the notifier the row is for, such as webhook-1"),
    Column("finding_id", String(32), nullable=False),
    Column("event", String(16), nullable=False, doc="new, reopened or resolved"),
    Column("provider", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("scan_id", String(36), nullable=False, doc="The scan whose life-cycle change produced the notification"),
    Column("document", Text, nullable=False, doc="JSON of the notification as the notifiers send it"),
    Column("state", String(16), nullable=False, doc="pending, delivered or failed"),
    Column("created_at", String(32), nullable=False, doc="When the row was written, with the life-cycle change"),
    Column("attempts", Integer, nullable=False, default=0, doc="Delivery attempts so far, over every run"),
    Column("last_error", Text, nullable=True, doc="Error of the last failed attempt"),
    Column("delivered_at", String(32), nullable=True, doc="When the notifier accepted it; null until then"),
    Column("claimed_by", String(128), nullable=True,
           doc="Instance id of the watcher that delivers the row; null while no watcher holds it"),
    Column("claim_expires_at", String(32), nullable=True,
           doc="End of the claim's lease: after it, another watcher may take the row over"),
    Index("ix_notification_outbox_state", "state", "provider", "created_at"),
)
"""Notifications stored with the life-cycle change that produced them, until their notifier has them.

Opening an older database creates the table (`create_all` adds missing tables) and adds its missing
`ADDED_COLUMNS`, so the schema version stays 2.
"""

ADDED_COLUMNS = {"notification_outbox": ("claimed_by", "claim_expires_at")}
"""Nullable columns added to tables that older databases already have; `Store` adds the missing ones."""

watcher_leases = Table(
    "watcher_leases",
    metadata,
    Column("provider", String(16), primary_key=True),
    Column("scope", String(255), primary_key=True,
           doc="What the watcher watches: the account, regions and services, or the subscriptions or projects"),
    Column("instance_id", String(128), nullable=False, doc="The watcher instance that holds the lease"),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", String(32), nullable=False, doc="When the holder started"),
    Column("heartbeat_at", String(32), nullable=False, doc="The holder's last renewal"),
    Column("expires_at", String(32), nullable=False,
           doc="End of the lease unless renewed; after it, another watcher of the scope takes the lease over"),
)
"""One row per watched provider and scope, held by the one watcher that works on it."""
