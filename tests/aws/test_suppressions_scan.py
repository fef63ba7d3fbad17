"""Suppressions end to end: `ridgeline scan aws --suppressions` against moto's server, and its native JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ridgeline.cli import EXIT_SETUP, main
from ridgeline.model.finding import Status
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.suppress import load_suppressions
from tests.conftest import AwsAccount, finding_for

POLICY_RULE = "aws-s3-bucket-policy-public"

SUPPRESSIONS = f"""\
suppressions:
  - id: public-website
    rule: {POLICY_RULE}
    resource: arn:aws:s3:::website-assets
    reason: Static website assets are public by design
    ticket: SEC-101
  - id: sandbox-versioning
    rule: aws-s3-bucket-versioning
    tags: {{env: sandbox}}
    reason: Sandbox buckets hold throwaway data
  - id: old-exception
    rule: aws-s3-bucket-default-encryption
    reason: Encryption rollout pending
    expires: 2020-01-31
  - id: iam-leftover
    rule: aws-iam-*
    account: '999988887777'
    reason: Former account
"""


def _public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def _seed_buckets(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    for bucket in ("website-assets", "customer-exports"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    s3.put_bucket_tagging(Bucket="customer-exports", Tagging={"TagSet": [{"Key": "env", "Value": "prod"}]})
    s3.create_bucket(Bucket="scratch")
    s3.put_bucket_tagging(Bucket="scratch", Tagging={"TagSet": [{"Key": "env", "Value": "sandbox"}]})


def _native_finding(report: dict[str, Any], rule_id: str, bucket: str) -> dict[str, Any]:
    matches = [f for f in report["findings"] if f["rule_id"] == rule_id and f["resource"]["name"] == bucket]
    assert len(matches) == 1, f"expected one {rule_id} finding for {bucket}, found {len(matches)}"
    finding: dict[str, Any] = matches[0]
    return finding


def test_scan_mutes_suppressed_fail(aws: AwsAccount, tmp_path: Path) -> None:
    _seed_buckets(aws)
    suppressions = tmp_path / "suppressions.yaml"
    suppressions.write_text(SUPPRESSIONS, encoding="utf-8")
    out = tmp_path / "out"

    result = CliRunner().invoke(main, ["scan", "aws", "--regions", "us-east-1", "--services", "s3", "--no-store",
                                       "--output-dir", str(out), "--suppressions", str(suppressions)])

    assert result.exit_code == 0, result.output
    report = json.loads(next(out.glob("*.json")).read_text())

    muted = _native_finding(report, POLICY_RULE, "website-assets")
    assert muted["status"] == "MUTED"
    assert muted["muted_reason"] == ("Static website assets are public by design "
                                     "(suppression public-website, ticket SEC-101)")
    still_failing = _native_finding(report, POLICY_RULE, "customer-exports")
    assert still_failing["status"] == "FAIL"
    assert still_failing["muted_reason"] is None

    assert _native_finding(report, "aws-s3-bucket-versioning", "scratch")["status"] == "MUTED"
    assert _native_finding(report, "aws-s3-bucket-versioning", "customer-exports")["status"] == "FAIL"
    assert _native_finding(report, "aws-s3-bucket-default-encryption", "scratch")["status"] == "FAIL"
    assert report["summary"]["findings"]["MUTED"] == 2

    assert "Suppressions: 2 finding(s) muted by 2 of 3 active suppression(s)" in result.output
    assert "old-exception (expired 2020-01-31): Encryption rollout pending" in result.output
    assert "iam-leftover: Former account" in result.output


def test_pipeline_returns_suppression_report(aws: AwsAccount, tmp_path: Path) -> None:
    _seed_buckets(aws)
    path = tmp_path / "suppressions.yaml"
    path.write_text(SUPPRESSIONS, encoding="utf-8")
    suppressions = load_suppressions(path, [rule.id for rule in aws.rules])
    collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["s3"]))

    result = evaluate_collection(collection, aws.rules, store=None, suppressions=suppressions)

    report = result.suppression_report
    assert report is not None
    assert report.muted == 2
    assert report.matched == {"public-website": 1, "sandbox-versioning": 1, "iam-leftover": 0}
    assert [s.id for s in report.expired] == ["old-exception"]
    assert [s.id for s in report.unused] == ["iam-leftover"]
    assert finding_for(result, POLICY_RULE, "website-assets").status is Status.MUTED


def test_invalid_suppressions_stop_scan(tmp_path: Path) -> None:
    suppressions = tmp_path / "suppressions.yaml"
    suppressions.write_text("suppressions:\n  - rule: aws-s3-bucket-policy-publik\n", encoding="utf-8")

    result = CliRunner().invoke(main, ["scan", "aws", "--no-store", "--output-dir", str(tmp_path / "out"),
                                       "--suppressions", str(suppressions)])

    assert result.exit_code == EXIT_SETUP
    assert "Invalid suppressions" in result.output
    assert f"{suppressions}:2: field 'suppressions[0].reason': missing reason" in result.output
    assert "did you mean 'aws-s3-bucket-policy-public'?" in result.output
    assert not (tmp_path / "out").exists()
