"""Tests for the native JSON and OCSF reports, built from hand-made scan results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from ridgeline import __version__
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.scanner import Collection
from ridgeline.report import native, ocsf, write_reports
from ridgeline.rules.loader import build_rule
from ridgeline.rules.model import Rule
from ridgeline.rules.yamlsource import load_yaml_text
from ridgeline.store.database import Store, StoredScan

ACCOUNT = "123456789012"
BUCKET = "AWS::S3::Bucket"
SEVERITIES = {"critical", "high", "medium", "low", "informational"}


def make_rule(rule_id: str, severity: str = "high") -> Rule:
    data = {
        "id": rule_id,
        "title": f"Title of {rule_id}",
        "severity": severity,
        "category": "storage-exposure",
        "provider": "aws",
        "service": "s3",
        "resource_types": [BUCKET],
        "description": "Why it matters.",
        "risk": "What can go wrong.",
        "remediation": {"text": "Fix ${name}.", "cli": "aws s3api delete-bucket-policy --bucket ${name}",
                        "terraform": "resource {}"},
        "references": ["https://docs.aws.amazon.com/AmazonS3/latest/userguide/"],
        "compliance": {"cis-aws-7.0": ["2.1.4"], "nist-800-53": ["AC-3", "AC-6"]},
        "fail_if": {"path": "configuration.public", "equals": True},
    }
    return build_rule(load_yaml_text(yaml.safe_dump(data)), {}, "outputs-test.yaml")


def make_finding(rule_id: str, status: Status, severity: Severity, *, name: str = "data",
                 evidence: dict[str, Any] | None = None, muted_reason: str = "",
                 resource_id: str | None = None) -> Finding:
    return Finding(rule_id=rule_id, status=status, severity=severity, category="storage-exposure", provider="aws",
                   account=ACCOUNT, region="us-east-1", resource_id=resource_id or f"arn:aws:s3:::{name}",
                   resource_type=BUCKET, resource_name=name, message=f"{name}: {status.value}",
                   evidence=evidence or {}, muted_reason=muted_reason)


def make_result() -> ScanResult:
    rules = {rule.id: rule for rule in (make_rule("aws-one", "critical"), make_rule("aws-two", "low"))}
    findings = [
        make_finding("aws-one", Status.FAIL, Severity.CRITICAL, name="x; rm -rf ~",
                     evidence={"configuration.public": True, "seen": datetime(2025, 3, 1, tzinfo=UTC)}),
        make_finding("aws-one", Status.PASS, Severity.CRITICAL, name="safe"),
        make_finding("aws-two", Status.ERROR, Severity.LOW, evidence={"not_assessed": ["denied"]}),
        make_finding("aws-two", Status.MUTED, Severity.LOW, name="muted", muted_reason="accepted until June"),
        make_finding("aws-gone", Status.FAIL, Severity.MEDIUM, name="orphan", resource_id=f"aws:{ACCOUNT}"),
        make_finding("aws-gone", Status.FAIL, Severity.HIGH, name="h"),
        make_finding("aws-gone", Status.FAIL, Severity.INFORMATIONAL, name="i"),
    ]
    coverage = [
        Coverage(provider="aws", account=ACCOUNT, region="global", service="s3", status=Completeness.PARTIAL,
                 resource_counts={BUCKET: 4},
                 errors=[CallError(call="s3:GetBucketPolicy", code="AccessDenied", message="denied",
                                   resource_id="arn:aws:s3:::data")],
                 duration_s=1.23456),
        Coverage(provider="aws", account=ACCOUNT, region="us-east-1", service="ec2", status=Completeness.FAILED,
                 failed_types={"AWS::EC2::Volume": "AccessDenied on ec2:DescribeVolumes"}),
    ]
    resources = [Resource(provider="aws", account=ACCOUNT, region="us-east-1", type=BUCKET,
                          id=f"arn:aws:s3:::b{number}", name=f"b{number}") for number in range(4)]
    collection = Collection(provider="aws", accounts=[ACCOUNT], regions=["us-east-1"], resources=resources,
                            coverage=coverage, api_calls=17, duration_s=12.5)
    scan = StoredScan(id="scan-1", provider="aws", started_at="2025-03-01T10:00:00+00:00",
                      finished_at="2025-03-01T10:00:12+00:00", accounts=[ACCOUNT], regions=["us-east-1"],
                      complete=False, api_calls=17, duration_s=12.5, options={})
    return ScanResult(scan=scan, collection=collection, findings=findings, rules=rules)


# --- Native JSON -----------------------------------------------------------------------

@pytest.fixture
def native_report() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(native.render(make_result()))
    return document


@pytest.mark.parametrize("with_findings", [True, False])
def test_native_written_finding_by_finding(with_findings: bool) -> None:
    # The report is written one finding at a time; the bytes are those of dumping the whole document.
    result = make_result()
    if not with_findings:
        result.findings = []
    whole = orjson.dumps(native.scan_document(result), option=orjson.OPT_INDENT_2, default=str)

    assert native.render(result) == whole


def test_native_scan_fields(native_report: dict[str, Any]) -> None:
    assert native_report["format_version"] == native.FORMAT_VERSION
    assert native_report["tool"] == {"name": "ridgeline", "version": __version__}
    assert native_report["scan"] == {
        "id": "scan-1", "provider": "aws", "started_at": "2025-03-01T10:00:00+00:00",
        "finished_at": "2025-03-01T10:00:12+00:00", "duration_s": 12.5, "accounts": [ACCOUNT],
        "regions": ["us-east-1"], "complete": False, "api_calls": 17,
    }
    assert native_report["summary"] == {
        "resources": 4, "findings": {"PASS": 1, "FAIL": 4, "ERROR": 1, "MUTED": 1}}


def test_native_collection(native_report: dict[str, Any]) -> None:
    s3, ec2 = native_report["collection"]

    assert s3 == {
        "provider": "aws", "account": ACCOUNT, "region": "global", "service": "s3", "status": "partial",
        "resource_counts": {BUCKET: 4}, "failed_types": {},
        "errors": [{"call": "s3:GetBucketPolicy", "code": "AccessDenied", "message": "denied",
                    "resource_id": "arn:aws:s3:::data"}],
        "duration_s": 1.235,
    }
    assert ec2["status"] == "failed"
    assert ec2["resource_counts"] == {}
    assert ec2["failed_types"] == {"AWS::EC2::Volume": "AccessDenied on ec2:DescribeVolumes"}


def test_native_finding_fields(native_report: dict[str, Any]) -> None:
    findings = native_report["findings"]
    result = make_result()

    assert len(findings) == len(result.findings)
    for document, finding in zip(findings, result.findings, strict=True):
        assert document["id"] == finding.id
        assert document["rule_id"] == finding.rule_id
        assert document["status"] == finding.status.value
        assert document["severity"] in SEVERITIES
        assert document["severity"] == finding.severity.value
        assert document["category"] == "storage-exposure"
        assert document["message"] == finding.message
        assert document["resource"] == {
            "id": finding.resource_id, "type": BUCKET, "name": finding.resource_name, "provider": "aws",
            "account": ACCOUNT, "region": "us-east-1"}
        assert isinstance(document["evidence"], dict)
        assert isinstance(document["remediation"], dict)


def test_native_finding_with_rule(native_report: dict[str, Any]) -> None:
    failed = native_report["findings"][0]

    assert failed["title"] == "Title of aws-one"
    assert failed["evidence"] == {"configuration.public": True, "seen": "2025-03-01T00:00:00+00:00"}
    assert failed["remediation"] == {
        "text": "Fix x; rm -rf ~.",
        "cli": "aws s3api delete-bucket-policy --bucket 'x; rm -rf ~'",
        "terraform": "resource {}",
    }
    assert failed["compliance"] == {"cis-aws-7.0": ["2.1.4"], "nist-800-53": ["AC-3", "AC-6"]}
    assert failed["muted_reason"] is None
    assert native_report["findings"][3]["muted_reason"] == "accepted until June"


def test_native_finding_without_rule(native_report: dict[str, Any]) -> None:
    orphan = native_report["findings"][4]

    assert orphan["title"] == "aws-gone"
    assert orphan["remediation"] == {}
    assert orphan["compliance"] == {}


# --- OCSF ------------------------------------------------------------------------------

@pytest.fixture
def ocsf_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(ocsf.render(make_result()))
    return events


def test_ocsf_event_classification(ocsf_events: list[dict[str, Any]]) -> None:
    assert len(ocsf_events) == 7
    for event in ocsf_events:
        assert event["class_uid"] == 2004
        assert event["category_uid"] == 2
        assert event["activity_id"] == 1
        assert event["type_uid"] == 200401
        assert event["metadata"]["version"] == "1.3.0"
        assert event["metadata"]["product"]["name"] == "Ridgeline"
        assert event["time"] == int(datetime(2025, 3, 1, 10, 0, 12, tzinfo=UTC).timestamp() * 1000)


def test_ocsf_severity_ids(ocsf_events: list[dict[str, Any]]) -> None:
    expected = {"critical": 5, "high": 4, "medium": 3, "low": 2, "informational": 1}
    result = make_result()

    for event, finding in zip(ocsf_events, result.findings, strict=True):
        assert event["severity_id"] == expected[finding.severity.value]
        assert event["severity"] == finding.severity.value.capitalize()
    assert {event["severity_id"] for event in ocsf_events} == {1, 2, 3, 4, 5}


def test_ocsf_identifiers(ocsf_events: list[dict[str, Any]]) -> None:
    result = make_result()

    for event, finding in zip(ocsf_events, result.findings, strict=True):
        assert event["finding_info"]["uid"] == finding.id
        assert event["metadata"]["uid"] == f"scan-1/{finding.id}"
        assert event["metadata"]["event_code"] == finding.rule_id
        assert event["cloud"]["account"]["uid"] == ACCOUNT
        assert event["cloud"]["provider"] == "AWS"
        assert event["resources"][0]["uid"] == finding.resource_id
        assert event["resources"][0]["type"] == BUCKET
    assert ocsf_events[0]["resources"][0]["data"]["evidence"] == {
        "configuration.public": True, "seen": "2025-03-01T00:00:00+00:00"}


def test_ocsf_statuses(ocsf_events: list[dict[str, Any]]) -> None:
    failed, passed, error, muted = ocsf_events[:4]

    assert (failed["unmapped"]["compliance_status_id"], failed["status_id"]) == (3, 1)
    assert passed["unmapped"]["compliance_status_id"] == 1
    assert error["unmapped"]["compliance_status_id"] == 0
    assert (muted["status_id"], muted["status"]) == (3, "Suppressed")
    assert muted["unmapped"]["muted_reason"] == "accepted until June"
    assert "muted_reason" not in failed["unmapped"]
    assert "compliance" not in failed


def test_ocsf_rule_details(ocsf_events: list[dict[str, Any]]) -> None:
    failed, orphan = ocsf_events[0], ocsf_events[4]

    assert failed["finding_info"]["title"] == "Title of aws-one"
    assert failed["finding_info"]["desc"] == "Why it matters."
    assert failed["unmapped"]["compliance"] == {"cis-aws-7.0": ["2.1.4"], "nist-800-53": ["AC-3", "AC-6"]}
    assert failed["remediation"]["desc"] == "Fix x; rm -rf ~."
    assert failed["unmapped"]["remediation_cli"] == "aws s3api delete-bucket-policy --bucket 'x; rm -rf ~'"
    assert all(reference.startswith("https://") for reference in failed["remediation"]["references"])
    assert failed["resources"][0]["cloud_partition"] == "aws"
    assert orphan["finding_info"]["title"] == "aws-gone"
    assert orphan["resources"][0]["cloud_partition"] is None


# --- Writing files and the pipeline ----------------------------------------------------

def test_write_reports(tmp_path: Path) -> None:
    result = make_result()

    written = write_reports(result, ["json", "ocsf"], tmp_path / "out")

    assert [path.name for path in written] == ["ridgeline-aws-2025-03-01T100000Z.json",
                                              "ridgeline-aws-2025-03-01T100000Z.ocsf.json"]
    assert written[0].read_bytes() == native.render(result)
    assert written[1].read_bytes() == ocsf.render(result)


def test_pipeline_evaluates_and_stores(tmp_path: Path) -> None:
    rules = [make_rule("aws-one", "critical"), make_rule("aws-two", "low")]
    resources = [Resource(provider="aws", account=ACCOUNT, region="us-east-1", type=BUCKET,
                          id=f"arn:aws:s3:::{name}", name=name, configuration={"public": public})
                 for name, public in (("open", True), ("closed", False))]
    coverage = [Coverage(provider="aws", account=ACCOUNT, region="global", service="s3",
                         resource_counts={BUCKET: 2})]
    collection = Collection(provider="aws", accounts=[ACCOUNT], regions=["us-east-1"], resources=resources,
                            coverage=coverage, api_calls=3, duration_s=2.0)
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")

    result = evaluate_collection(collection, rules, store=store)

    assert result.complete is True
    assert [(f.rule_id, f.resource_name, f.status) for f in result.findings] == [
        ("aws-one", "open", Status.FAIL), ("aws-one", "closed", Status.PASS),
        ("aws-two", "open", Status.FAIL), ("aws-two", "closed", Status.PASS)]
    assert set(result.rules) == {"aws-one", "aws-two"}
    assert store.get_scan(result.scan.id) == result.scan
    assert len(store.load_findings(result.scan.id)) == 4
    store.engine.dispose()
