"""Tests for the finding life cycle: every transition, and findings kept open by incomplete collection."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy

from ridgeline.history.lifecycle import LifecycleUpdate, update_lifecycle
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.rules.model import Remediation, Rule
from ridgeline.store import schema
from ridgeline.store.database import Store, StoredScan

ACCOUNT = "123456789012"
BUCKET = "arn:aws:s3:::data"
RULE = Rule(id="aws-s3-test", title="t", severity=Severity.HIGH, category="encryption", provider="aws",
            service="s3", resource_types=("AWS::S3::Bucket",), description="d", risk="r",
            remediation=Remediation(text="fix"))






def make_scan(number: int) -> StoredScan:
    return StoredScan(id=f"scan-{number}", provider="aws", started_at=f"2025-03-0{number}T10:00:00+00:00",
                      finished_at=f"2025-03-0{number}T10:05:00+00:00", accounts=[ACCOUNT], regions=["us-east-1"],
                      complete=True, api_calls=1, duration_s=1.0, options={})


def make_finding(status: Status) -> Finding:
    return Finding(rule_id=RULE.id, status=status, severity=Severity.HIGH, category="encryption", provider="aws",
                   account=ACCOUNT, region="global", resource_id=BUCKET, resource_type="AWS::S3::Bucket",
                   resource_name="data", message="m")


def s3_unit(status: Completeness = Completeness.COMPLETE) -> list[Coverage]:
    return [Coverage(provider="aws", account=ACCOUNT, region="global", service="s3", status=status)]


def run_scan(store: Store, number: int, status: Status | None, coverage: list[Coverage]) -> LifecycleUpdate:
    """Save scan `number` with one finding of `status` (None: the bucket is gone) and update the life cycle."""
    findings = [] if status is None else [make_finding(status)]
    scan = make_scan(number)
    store.save_scan(scan, coverage, [], findings)
    return update_lifecycle(store, scan, findings, coverage, [RULE])


def bucket_state(store: Store) -> str | None:
    states = store.load_finding_states("aws", [ACCOUNT])
    return states[0].state if states else None


# (statuses of earlier scans, status of the last scan, coverage of the last scan, expected state, kept open)
TRANSITIONS = [
    ([], Status.FAIL, s3_unit(), "new", False),
    ([], Status.MUTED, s3_unit(), "new", False),
    ([], Status.PASS, s3_unit(), None, False),
    ([Status.FAIL], Status.FAIL, s3_unit(), "open", False),
    ([Status.FAIL], Status.MUTED, s3_unit(), "open", False),
    ([Status.FAIL], Status.PASS, s3_unit(), "resolved", False),
    ([Status.FAIL], None, s3_unit(), "resolved", False),
    ([Status.FAIL, Status.PASS], Status.FAIL, s3_unit(), "reopened", False),
    ([Status.FAIL, Status.PASS], Status.PASS, s3_unit(), "resolved", False),
    ([Status.FAIL, Status.PASS, Status.FAIL], Status.FAIL, s3_unit(), "open", False),
    ([Status.FAIL, Status.PASS, Status.FAIL], Status.PASS, s3_unit(), "resolved", False),
    # Incomplete collection never resolves.
    ([Status.FAIL], Status.PASS, s3_unit(Completeness.PARTIAL), "open", True),
    ([Status.FAIL], Status.PASS, s3_unit(Completeness.FAILED), "open", True),
    ([Status.FAIL], None, s3_unit(Completeness.PARTIAL), "open", True),
    ([Status.FAIL], None, s3_unit(Completeness.FAILED), "open", True),
    ([Status.FAIL], None, [], "open", True),
    ([Status.FAIL], Status.PASS, [Coverage(provider="aws", account=ACCOUNT, region="global", service="iam")],
     "open", True),
    ([Status.FAIL], Status.ERROR, s3_unit(), "open", True),
    ([Status.FAIL, Status.PASS, Status.FAIL], None, s3_unit(Completeness.PARTIAL), "open", True),
]


@pytest.mark.parametrize(("earlier", "last", "coverage", "expected", "kept_open"), TRANSITIONS)
def test_lifecycle_transition(store: Store, earlier: list[Status], last: Status | None, coverage: list[Coverage],
                              expected: str | None, kept_open: bool) -> None:
    for number, status in enumerate(earlier, start=1):
        run_scan(store, number, status, s3_unit())

    update = run_scan(store, len(earlier) + 1, last, coverage)

    assert bucket_state(store) == expected
    assert [item.finding_id for item in update.kept_open] == ([make_finding(Status.FAIL).id] if kept_open else [])


def test_lifecycle_dates_and_muted(store: Store) -> None:
    run_scan(store, 1, Status.FAIL, s3_unit())
    run_scan(store, 2, Status.MUTED, s3_unit())
    muted = store.load_finding_states("aws", [ACCOUNT])[0]
    run_scan(store, 3, Status.PASS, s3_unit())
    resolved = store.load_finding_states("aws", [ACCOUNT])[0]

    assert muted.muted is True
    assert muted.first_seen == "2025-03-01T10:05:00+00:00"
    assert muted.last_seen == "2025-03-02T10:05:00+00:00"
    assert muted.resolved_at is None
    assert resolved.state == "resolved"
    assert resolved.resolved_at == "2025-03-03T10:05:00+00:00"
    assert resolved.last_seen == "2025-03-02T10:05:00+00:00"
    assert resolved.last_scan_id == "scan-3"


def test_lifecycle_update_lists(store: Store) -> None:
    first = run_scan(store, 1, Status.FAIL, s3_unit())
    kept = run_scan(store, 2, Status.PASS, s3_unit(Completeness.PARTIAL))
    resolved = run_scan(store, 3, Status.PASS, s3_unit())
    reopened = run_scan(store, 4, Status.FAIL, s3_unit())

    finding = make_finding(Status.FAIL).id
    assert first.new == [finding]
    assert "partial" in kept.kept_open[0].reason
    assert resolved.resolved == [finding]
    assert reopened.reopened == [finding]


def test_lifecycle_unknown_rule_kept_open(store: Store) -> None:
    run_scan(store, 1, Status.FAIL, s3_unit())
    scan = make_scan(2)
    store.save_scan(scan, s3_unit(), [], [])

    update = update_lifecycle(store, scan, [], s3_unit(), rules=[])

    assert bucket_state(store) == "open"
    assert "not loaded" in update.kept_open[0].reason


def test_lifecycle_other_account_untouched(store: Store) -> None:
    run_scan(store, 1, Status.FAIL, s3_unit())
    other = StoredScan(id="other", provider="aws", started_at="2025-03-02T10:00:00+00:00",
                       finished_at="2025-03-02T10:05:00+00:00", accounts=["999999999999"], regions=["us-east-1"],
                       complete=True, api_calls=0, duration_s=0.0, options={})
    store.save_scan(other, [], [], [])

    update = update_lifecycle(store, other, [], [], [RULE])

    assert update.kept_open == []
    assert store.load_finding_states("aws", [ACCOUNT])[0].last_scan_id == "scan-1"


def test_version_1_database_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sqlalchemy.create_engine(url)
    old_tables = [table for name, table in schema.metadata.tables.items() if name != "finding_states"]
    schema.metadata.create_all(engine, tables=old_tables)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.insert(schema.schema_info).values(version=1))
    engine.dispose()
    Store(url).save_scan(make_scan(1), s3_unit(), [], [make_finding(Status.FAIL)])
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.update(schema.schema_info).values(version=1))
        connection.execute(sqlalchemy.text("DROP TABLE finding_states"))
    engine.dispose()

    upgraded = Store(url)

    assert upgraded.get_scan("scan-1") == make_scan(1)
    assert len(upgraded.load_findings("scan-1")) == 1
    assert upgraded.load_finding_states("aws", [ACCOUNT]) == []
    with upgraded.engine.connect() as connection:
        assert connection.execute(sqlalchemy.select(schema.schema_info.c.version)).scalar() == 2


@pytest.mark.parametrize(("region", "expected"), [
    ("us-east-1", "resolved"),
    ("eu-west-1", "open"),
])
def test_lifecycle_global_unit_regions(store: Store, region: str, expected: str) -> None:
    """A bucket is collected by the global S3 unit, but only in the regions the scan included."""
    failing = make_finding(Status.FAIL)
    failing.region = region
    first = make_scan(1)
    store.save_scan(first, s3_unit(), [], [failing])
    update_lifecycle(store, first, [failing], s3_unit(), [RULE])
    second = make_scan(2)
    store.save_scan(second, s3_unit(), [], [])

    update_lifecycle(store, second, [], s3_unit(), [RULE])

    assert bucket_state(store) == expected
