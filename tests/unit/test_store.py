"""Tests for the store: a scan saved and read back on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.store import schema
from ridgeline.store.database import Store, StoredScan

ACCOUNT = "123456789012"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nested' / 'ridgeline.db'}"






def make_scan(scan_id: str = "scan-1", started_at: str = "2025-03-01T10:00:00+00:00") -> StoredScan:
    return StoredScan(
        id=scan_id,
        provider="aws",
        started_at=started_at,
        finished_at="2025-03-01T10:05:00+00:00",
        accounts=[ACCOUNT],
        regions=["us-east-1", "eu-west-1"],
        complete=False,
        api_calls=42,
        duration_s=300.25,
        options={"services": ["s3"], "nested": {"regions": None, "workers": 8}},
    )


def make_coverage() -> list[Coverage]:
    return [
        Coverage(provider="aws", account=ACCOUNT, region="global", service="s3",
                 resource_counts={"AWS::S3::Bucket": 2}, duration_s=1.5),
        Coverage(provider="aws", account=ACCOUNT, region="us-east-1", service="ec2", status=Completeness.PARTIAL,
                 resource_counts={"AWS::EC2::SecurityGroup": 1},
                 failed_types={"AWS::EC2::Volume": "AccessDenied on ec2:DescribeVolumes: denied"},
                 errors=[CallError(call="ec2:DescribeVolumes", code="AccessDenied", message="denied",
                                   resource_id="")],
                 duration_s=0.75),
    ]


def make_resources() -> list[Resource]:
    return [
        Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::S3::Bucket",
                 id="arn:aws:s3:::data", name="data",
                 configuration={"name": "data", "encrypted": True, "sizes": [1, 2.5, None], "text": "é ✓ 'q' \"d\""},
                 supplementary={"BucketPolicy": {"policyText": '{"Statement": []}'}},
                 tags={"app.tier": "web", "owner": "'; DROP TABLE scans; --"},
                 relationships=[{"resourceType": "AWS::KMS::Key", "resourceId": "k-1"}],
                 errors={"supplementaryConfiguration.BucketLogging": "AccessDenied on s3:GetBucketLogging"},
                 collected_at="2025-03-01T10:01:00+00:00"),
        Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::EC2::SecurityGroup",
                 id="arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", name="web",
                 source="file:/tmp/export.json"),
    ]


def make_finding(rule_id: str, status: Status, message: str, evidence: dict[str, Any] | None = None,
                 muted_reason: str = "") -> Finding:
    return Finding(rule_id=rule_id, status=status, severity=Severity.HIGH, category="encryption", provider="aws",
                   account=ACCOUNT, region="us-east-1", resource_id="arn:aws:s3:::data",
                   resource_type="AWS::S3::Bucket", resource_name="data", message=message,
                   evidence=evidence or {}, muted_reason=muted_reason)


def make_findings() -> list[Finding]:
    return [
        make_finding("aws-s3-one", Status.FAIL, "data is not encrypted",
                     {"configuration.encrypted": False, "items": [{"a": 1}]}),
        make_finding("aws-s3-two", Status.PASS, "data meets: two"),
        make_finding("aws-s3-three", Status.ERROR, "Not assessed: denied", {"not_assessed": ["denied"]}),
        make_finding("aws-s3-four", Status.MUTED, "muted", muted_reason="accepted risk"),
    ]


def save_sample(store: Store, scan_id: str = "scan-1", started_at: str = "2025-03-01T10:00:00+00:00") -> None:
    store.save_scan(make_scan(scan_id, started_at), make_coverage(), make_resources(), make_findings())


def test_scan_round_trip(store: Store) -> None:
    save_sample(store)

    assert store.get_scan("scan-1") == make_scan()
    assert store.load_coverage("scan-1") == make_coverage()
    assert sorted(store.load_resources("scan-1"), key=lambda r: r.id) == sorted(make_resources(), key=lambda r: r.id)
    assert sorted(store.load_findings("scan-1"), key=lambda f: f.rule_id) == sorted(make_findings(),
                                                                                   key=lambda f: f.rule_id)


def test_finding_id_column(store: Store) -> None:
    save_sample(store)

    with store.engine.connect() as connection:
        stored = set(connection.execute(sqlalchemy.select(schema.findings.c.finding_id)).scalars())

    assert stored == {finding.id for finding in make_findings()}


def test_scans_kept_apart(store: Store) -> None:
    save_sample(store, "scan-1", "2025-03-01T10:00:00+00:00")
    save_sample(store, "scan-2", "2025-03-02T10:00:00+00:00")
    store.save_scan(make_scan("scan-3", "2025-03-03T10:00:00+00:00"), [], [], [])

    assert [scan.id for scan in store.list_scans()] == ["scan-3", "scan-2", "scan-1"]
    assert [scan.id for scan in store.list_scans(limit=1)] == ["scan-3"]
    assert len(store.load_findings("scan-2")) == 4
    assert store.load_findings("scan-3") == []
    assert store.load_resources("scan-3") == []
    assert store.load_coverage("scan-3") == []
    assert store.get_scan("absent") is None


def test_many_resources_in_batches(store: Store) -> None:
    resources = [Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::S3::Bucket",
                          id=f"arn:aws:s3:::bucket-{number}", name=f"bucket-{number}") for number in range(4100)]

    store.save_scan(make_scan(), [], resources, [])

    assert len(store.load_resources("scan-1")) == 4100


def test_failed_save_leaves_nothing(store: Store) -> None:
    broken = [*make_findings(), dataclasses.replace(make_findings()[0], rule_id="x" * 500)]

    # A rule id longer than its column fails on PostgreSQL, but SQLite does not check lengths.
    try:
        store.save_scan(make_scan(), make_coverage(), make_resources(), broken)
    except sqlalchemy.exc.DataError:
        assert store.get_scan("scan-1") is None
        assert store.load_resources("scan-1") == []
    else:
        assert store.engine.dialect.name == "sqlite"


def test_nul_characters_saved(store: Store) -> None:
    resource = Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::S3::Bucket",
                        id="arn:aws:s3:::odd\x00name", name="odd\x00name", configuration={"note": "a\x00b"})
    finding = Finding(rule_id="aws-s3-one", status=Status.FAIL, severity=Severity.LOW, category="encryption",
                      provider="aws", account=ACCOUNT, region="us-east-1", resource_id=resource.id,
                      resource_type=resource.type, resource_name=resource.name, message="odd\x00name fails",
                      evidence={"configuration.note": "a\x00b"})

    store.save_scan(make_scan(), [], [resource], [finding])

    assert store.load_resources("scan-1") == [resource]
    (loaded,) = store.load_findings("scan-1")
    assert loaded.resource_name == "odd\ufffdname"
    assert loaded.message == "odd\ufffdname fails"
    assert loaded.evidence == {"configuration.note": "a\x00b"}


def test_non_json_values_become_text(store: Store) -> None:
    moment = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    resource = Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::S3::Bucket",
                        id="arn:aws:s3:::b", name="b", configuration={"created": moment})

    store.save_scan(make_scan(), [], [resource], [])

    (loaded,) = store.load_resources("scan-1")
    assert loaded.configuration == {"created": "2025-03-01T10:00:00+00:00"}


def test_reopen_keeps_data_and_version(store: Store) -> None:
    save_sample(store)

    reopened = Store(store.url)
    try:
        assert reopened.get_scan("scan-1") == make_scan()
        with reopened.engine.connect() as connection:
            versions = connection.execute(sqlalchemy.select(schema.schema_info.c.version)).scalars().all()
    finally:
        reopened.engine.dispose()

    assert versions == [schema.SCHEMA_VERSION]


def test_newer_schema_rejected(store: Store) -> None:
    with store.engine.begin() as connection:
        connection.execute(sqlalchemy.update(schema.schema_info).values(version=schema.SCHEMA_VERSION + 1))

    with pytest.raises(RuntimeError, match="newer than this Ridgeline"):
        Store(store.url)


def test_sqlite_folder_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a' / 'b' / 'r.db'}"

    opened = Store(url)
    opened.engine.dispose()

    assert (tmp_path / "a" / "b" / "r.db").is_file()


def test_demo_database_ignores_the_configured_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ridgeline.store.database import default_database_url, demo_database_url

    monkeypatch.setenv("RIDGELINE_DATABASE_URL", "postgresql://127.0.0.1/production")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    assert default_database_url() == "postgresql://127.0.0.1/production"
    assert demo_database_url() == f"sqlite:///{tmp_path / 'ridgeline' / 'ridgeline-demo.db'}"
