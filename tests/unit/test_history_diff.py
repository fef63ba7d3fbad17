"""Tests for `ridgeline diff` and the scan comparison behind it, on two scans saved with the Store API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import EXIT_SETUP, main
from ridgeline.history.diff import ValueChange, diff_scans, diff_values
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.store.database import Store, StoredScan

ACCOUNT = "123456789012"
DATA = "arn:aws:s3:::data"
GONE = "arn:aws:s3:::old-bucket"
ADDED = "arn:aws:s3:::new-bucket"
GROUP = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"
HOSTILE_NAME = "new\x1b[31m[bold]bucket"


def scan(scan_id: str, day: int) -> StoredScan:
    return StoredScan(id=scan_id, provider="aws", started_at=f"2025-03-0{day}T10:00:00+00:00",
                      finished_at=f"2025-03-0{day}T10:05:00+00:00", accounts=[ACCOUNT], regions=["us-east-1"],
                      complete=False, api_calls=1, duration_s=1.0, options={})


def bucket(arn: str, name: str, policy: str, **extra: Any) -> Resource:
    return Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::S3::Bucket", id=arn, name=name,
                    configuration={"name": name}, supplementary={"BucketPolicy": {"policyText": policy}}, **extra)


def group(ports: list[int]) -> Resource:
    return Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::EC2::SecurityGroup", id=GROUP,
                    name="web", configuration={"ipPermissions": [{"fromPort": port} for port in ports]})


def finding(rule_id: str, resource_id: str, status: Status, message: str = "m") -> Finding:
    is_group = resource_id == GROUP
    return Finding(rule_id=rule_id, status=status, severity=Severity.HIGH, category="network-exposure",
                   provider="aws", account=ACCOUNT, region="us-east-1",
                   resource_id=resource_id, resource_type="AWS::EC2::SecurityGroup" if is_group else "AWS::S3::Bucket",
                   resource_name=resource_id.rsplit(":", 1)[-1], message=message)


OLD_FINDINGS = [
    finding("aws-s3-bucket-policy-public", DATA, Status.FAIL),
    finding("aws-s3-bucket-acl-public", GONE, Status.FAIL),
    finding("aws-s3-bucket-default-encryption", DATA, Status.PASS),
    finding("aws-ec2-sg-admin-ports-open", GROUP, Status.FAIL),
    finding("aws-ec2-sg-database-ports-open", GROUP, Status.FAIL),
    finding("aws-ec2-sg-all-traffic-open", GROUP, Status.FAIL),
    finding("aws-ec2-sg-cifs-open", GROUP, Status.FAIL),
]
NEW_FINDINGS = [
    finding("aws-s3-bucket-policy-public", DATA, Status.PASS),
    finding("aws-s3-bucket-default-encryption", DATA, Status.FAIL),
    finding("aws-ec2-sg-admin-ports-open", GROUP, Status.PASS),
    finding("aws-ec2-sg-database-ports-open", GROUP, Status.ERROR, "Not assessed: denied"),
    finding("aws-ec2-sg-all-traffic-open", GROUP, Status.FAIL),
    finding("aws-ec2-sg-cifs-open", GROUP, Status.MUTED),
]


def coverage(ec2: Completeness) -> list[Coverage]:
    return [Coverage(provider="aws", account=ACCOUNT, region="global", service="s3"),
            Coverage(provider="aws", account=ACCOUNT, region="us-east-1", service="ec2", status=ec2)]


@pytest.fixture
def database(tmp_path: Path) -> str:
    """An SQLite database with an old and a new scan of the same account."""
    url = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    store = Store(url)
    old_resources = [
        bucket(DATA, "data", '{"Statement": []}', tags={"app.tier": "web"},
               errors={"supplementaryConfiguration.BucketLogging": "AccessDenied"}),
        bucket(GONE, "old-bucket", "{}"),
        group([22, 443]),
    ]
    new_resources = [
        bucket(DATA, "data", '{"Statement": [{"Effect": "Allow"}]}', tags={"app.tier": "api", "owner": "ops"}),
        bucket(ADDED, HOSTILE_NAME, "{}"),
        group([443]),
    ]
    old_resources[0].supplementary["BucketLogging"] = {"enabled": False}
    store.save_scan(scan("scan-old", 1), coverage(Completeness.COMPLETE), old_resources, OLD_FINDINGS)
    store.save_scan(scan("scan-new", 2), coverage(Completeness.PARTIAL), new_resources, NEW_FINDINGS)
    store.engine.dispose()
    return url


@pytest.mark.parametrize(("old", "new", "expected"), [
    ({"a": 1}, {"a": 1}, []),
    ({"a": 1}, {"a": 2}, [ValueChange("a", "changed", 1, 2)]),
    ({"a": {"b": {"c": "x"}}}, {"a": {"b": {"c": "y"}}}, [ValueChange("a.b.c", "changed", "x", "y")]),
    ({}, {"a": [1]}, [ValueChange("a", "added", None, [1])]),
    ({"a": 1}, {}, [ValueChange("a", "removed", 1, None)]),
    ({"a": [1, 2]}, {"a": [1, 3, 4]}, [ValueChange("a[1]", "changed", 2, 3), ValueChange("a[2]", "added", None, 4)]),
    ({"a": [{"p": 1}]}, {"a": [{"p": 2}]}, [ValueChange("a[0].p", "changed", 1, 2)]),
    ({"t": {"app.tier": "web"}}, {"t": {"app.tier": "api"}}, [ValueChange('t["app.tier"]', "changed", "web", "api")]),
    ({"a": 1}, {"a": True}, [ValueChange("a", "changed", 1, True)]),
    ({"a": {"b": 1}}, {"a": None}, [ValueChange("a", "changed", {"b": 1}, None)]),
])
def test_diff_values(old: Any, new: Any, expected: list[ValueChange]) -> None:
    assert diff_values(old, new) == expected


def test_diff_scans_resources(database: str) -> None:
    result = diff_scans(Store(database), "scan-old", "scan-new", load_builtin_rules())

    assert [ref.id for ref in result.added] == [ADDED]
    assert [ref.id for ref in result.removed] == [GONE]
    changes = {change.resource.id: change for change in result.changed}
    assert sorted(changes) == [GROUP, DATA]
    assert changes[DATA].changes == [
        ValueChange("supplementaryConfiguration.BucketPolicy.policyText", "changed", '{"Statement": []}',
                    '{"Statement": [{"Effect": "Allow"}]}'),
        ValueChange('tags["app.tier"]', "changed", "web", "api"),
        ValueChange("tags.owner", "added", None, "ops"),
    ]
    assert changes[DATA].unknown_paths == ["supplementaryConfiguration.BucketLogging"]
    assert changes[GROUP].changes == [
        ValueChange("configuration.ipPermissions[0].fromPort", "changed", 22, 443),
        ValueChange("configuration.ipPermissions[1]", "removed", {"fromPort": 443}, None),
    ]


def test_diff_scans_findings(database: str) -> None:
    result = diff_scans(Store(database), "scan-old", "scan-new", load_builtin_rules())

    assert [f.rule_id for f in result.opened] == ["aws-s3-bucket-default-encryption"]
    assert sorted(f.rule_id for f in result.resolved) == ["aws-s3-bucket-acl-public", "aws-s3-bucket-policy-public"]
    unknown = {item.finding.rule_id: item.reason for item in result.unknown}
    assert sorted(unknown) == ["aws-ec2-sg-admin-ports-open", "aws-ec2-sg-database-ports-open"]
    assert "partial" in unknown["aws-ec2-sg-admin-ports-open"]
    assert "not assessed" in unknown["aws-ec2-sg-database-ports-open"]


def test_diff_cli_json_default_scans(database: str) -> None:
    output = CliRunner().invoke(main, ["diff", "--database", database, "--format", "json"])

    assert output.exit_code == 0, output.output
    data = json.loads(output.output)
    assert data["old_scan"]["id"] == "scan-old"
    assert data["new_scan"]["id"] == "scan-new"
    assert [item["id"] for item in data["resources"]["added"]] == [ADDED]
    assert [item["rule_id"] for item in data["findings"]["opened"]] == ["aws-s3-bucket-default-encryption"]
    assert len(data["findings"]["unknown"]) == 2


@pytest.mark.parametrize("arguments", [
    ["scan-old", "scan-new"],
    ["scan-o"],
    ["--baseline", "scan-old"],
    ["--baseline", "scan-old", "scan-new"],
])
def test_diff_cli_scan_choice(database: str, arguments: list[str]) -> None:
    output = CliRunner().invoke(main, ["diff", "--database", database, "--format", "json", *arguments])

    assert output.exit_code == 0, output.output
    data = json.loads(output.output)
    assert (data["old_scan"]["id"], data["new_scan"]["id"]) == ("scan-old", "scan-new")


def test_diff_cli_text_is_terminal_safe(database: str) -> None:
    output = CliRunner().invoke(main, ["diff", "--database", database], env={"COLUMNS": "300"})

    assert output.exit_code == 0, output.output
    assert "\x1b" not in output.output
    assert "\\x1b[31m[bold]bucket" in output.output
    assert "supplementaryConfiguration.BucketPolicy.policyText" in output.output
    assert "Unknown: not collected completely" in output.output


def test_diff_cli_single_scan_rejected(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    store = Store(url)
    store.save_scan(scan("only", 1), [], [], [])
    store.engine.dispose()

    output = CliRunner().invoke(main, ["diff", "--database", url])

    assert output.exit_code == EXIT_SETUP
    assert "no earlier scan" in output.output


def test_diff_cli_narrow_terminal_leaves_ids_to_json(database: str) -> None:
    narrow = CliRunner().invoke(main, ["diff", "--database", database], env={"COLUMNS": "80"})
    wide = CliRunner().invoke(main, ["diff", "--database", database], env={"COLUMNS": "300"})

    assert narrow.exit_code == 0, narrow.output
    assert " Id" not in narrow.output.split("Resources added and removed", 1)[-1].split("\n\n", 1)[0]
    assert " Id" in wide.output
