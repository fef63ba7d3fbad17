"""Framework posture from real scans of moto's server, and `ridgeline compliance` on the stored scan."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.compliance.loader import find_framework, load_frameworks
from ridgeline.compliance.model import Posture, RequirementResult, RequirementStatus
from ridgeline.compliance.posture import compute_posture
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.store.database import Store
from tests.conftest import AwsAccount


def _tls_only_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]})


def _posture(result: ScanResult, framework_id: str = "cis-aws-7.0") -> Posture:
    framework = find_framework(load_frameworks(), framework_id)
    return compute_posture(framework, result.findings, result.rules.values(), coverage=result.collection.coverage)


def _result(posture: Posture, requirement_id: str) -> RequirementResult:
    return next(item for item in posture.results if item.requirement.id == requirement_id)


def test_s3_scan_posture(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="plain-http")
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=_tls_only_policy("tls-only"))

    posture = _posture(aws.scan(["s3"]))

    tls = _result(posture, "3.1.1")
    assert tls.status is RequirementStatus.FAIL
    assert tls.failing_resources == ["arn:aws:s3:::plain-http"]
    assert (tls.passed_findings, tls.failed_findings) == (1, 1)
    root_keys = _result(posture, "2.4")
    assert root_keys.status is RequirementStatus.NOT_ASSESSED
    assert root_keys.reason.startswith("Not scanned: iam")
    # 2.21 spans S3, KMS and Lambda policies: S3 alone cannot make it pass.
    anonymous = _result(posture, "2.21")
    assert anonymous.status is RequirementStatus.NOT_ASSESSED
    assert "kms" in anonymous.reason
    assert "lambda" in anonymous.reason
    assert _result(posture, "2.1.1").status is RequirementStatus.MANUAL
    assert _result(posture, "3.2.1").reason.startswith("Not scanned: rds")


def test_fixed_bucket_makes_requirement_pass(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="plain-http")
    assert _result(_posture(aws.scan(["s3"])), "3.1.1").status is RequirementStatus.FAIL

    s3.put_bucket_policy(Bucket="plain-http", Policy=_tls_only_policy("plain-http"))

    fixed = _result(_posture(aws.scan(["s3"])), "3.1.1")
    assert fixed.status is RequirementStatus.PASS
    assert fixed.failing_resources == []


def test_pci_posture_counts_rules_across_services(aws: AwsAccount) -> None:
    aws.client("s3").create_bucket(Bucket="plain-http")

    posture = _posture(aws.scan(["s3", "iam"]), "pci-dss-4.0")

    transit = _result(posture, "4.2.1")
    assert transit.status is RequirementStatus.FAIL
    assert "arn:aws:s3:::plain-http" in transit.failing_resources
    assert set(transit.rules) == {"aws-s3-bucket-secure-transport", "aws-iam-server-certificate-expired"}
    assert _result(posture, "12.1.1").status is RequirementStatus.MANUAL


def test_compliance_command_reads_stored_scan(aws: AwsAccount, tmp_path: Path) -> None:
    aws.client("s3").create_bucket(Bucket="plain-http")
    url = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["s3"]))
    result = evaluate_collection(collection, aws.rules, store=Store(url))

    output = CliRunner().invoke(main, ["compliance", "cis-aws-7.0", "--database", url, "--format", "json"])

    assert output.exit_code == 0, output.output
    data = json.loads(output.output)
    assert data["scan"]["id"] == result.scan.id
    expected = {item.requirement.id: item.status.value for item in _posture(result).results}
    assert {requirement["id"]: requirement["status"] for requirement in data["requirements"]} == expected
    assert data["score"] == _posture(result).score
