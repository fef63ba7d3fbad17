"""Scans make only declared, read-only API calls, and denied calls become ERROR findings, never PASS."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ridgeline.demo.seed import DEMO_REGIONS, seed_demo_account
from ridgeline.model.finding import Status
from ridgeline.model.scan import Completeness
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.permissions import scan_policy
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws, declared_calls
from ridgeline.providers.aws.session import AwsSession
from tests.conftest import AwsAccount, findings_of, restricted_user_keys, set_moto_auth, status_of


def test_demo_scan_makes_only_declared_read_only_calls(aws: AwsAccount) -> None:
    seed_demo_account(aws.endpoint)
    recorder = CallRecorder(keep_calls=True)

    collection = collect_aws(AwsScanOptions(regions=list(DEMO_REGIONS)), session=AwsSession(recorder=recorder))

    declared = {(call.client, call.operation): call for call in declared_calls()}
    made = set(recorder.counts)
    assert made, "the scan made no API call"
    undeclared = sorted(made - set(declared))
    assert not undeclared, f"calls made but not declared by any collector: {undeclared}"
    mutating = sorted(key for key in made if not declared[key].read_only)
    assert not mutating, f"calls that are not read-only: {mutating}"
    assert collection.api_calls == sum(recorder.counts.values())


def test_demo_scan_makes_no_call_twice(aws: AwsAccount) -> None:
    seed_demo_account(aws.endpoint)
    recorder = CallRecorder(keep_calls=True)

    collect_aws(AwsScanOptions(regions=list(DEMO_REGIONS)), session=AwsSession(recorder=recorder))

    seen = Counter(
        (call.client, call.region, call.operation, json.dumps(call.parameters, sort_keys=True, default=str))
        for call in recorder.calls
    )
    repeated = sorted((*key[:3], key[3][:80]) for key, count in seen.items() if count > 1)
    assert not repeated, f"calls made more than once with the same parameters: {repeated[:10]}"


def test_every_declared_call_is_read_only() -> None:
    mutating = sorted(f"{call.client}:{call.operation}" for call in declared_calls() if not call.read_only)
    assert mutating == []


def test_permission_policy_lists_every_declared_action() -> None:
    policy = scan_policy()
    actions = set(policy["Statement"][0]["Action"])
    assert "s3:GetBucketPolicy" in actions
    assert "s3:GetAccountPublicAccessBlock" in actions
    assert "s3:ListAllMyBuckets" in actions
    assert {call.action for call in declared_calls()} - {"sts:GetCallerIdentity"} == actions
    assert all(not action.startswith(("s3:Put", "s3:Delete", "ec2:Create")) for action in actions)


def _public_bucket(aws: AwsAccount, name: str) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}]}))


def test_denied_detail_call_makes_error_findings_not_pass(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _public_bucket(aws, "secret-data")
    keys = restricted_user_keys(aws, ["s3:GetBucketPolicy"])
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["s3"]))
    finally:
        set_moto_auth(aws.endpoint, "inf")
    result = evaluate_collection(collection, aws.rules, store=None)

    policy_findings = findings_of(result, "aws-s3-bucket-policy-public")
    assert [f.status for f in policy_findings] == [Status.ERROR]
    assert "AccessDenied" in policy_findings[0].message
    assert "s3:GetBucketPolicy" in policy_findings[0].message
    assert status_of(result, "aws-s3-bucket-secure-transport", "secret-data") is Status.ERROR
    # Rules that read only what could be read are still judged.
    assert status_of(result, "aws-s3-bucket-versioning", "secret-data") is Status.FAIL
    assert [unit.status for unit in collection.coverage] == [Completeness.PARTIAL]
    assert {error.call for error in collection.coverage[0].errors} == {"s3:GetBucketPolicy"}


def test_denied_listing_makes_error_findings_for_every_rule(aws: AwsAccount,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _public_bucket(aws, "secret-data")
    keys = restricted_user_keys(aws, ["s3:ListAllMyBuckets"])
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["s3"]))
    finally:
        set_moto_auth(aws.endpoint, "inf")
    result = evaluate_collection(collection, aws.rules, store=None)

    bucket_rules = [rule.id for rule in aws.rules if "AWS::S3::Bucket" in rule.resource_types]
    for rule_id in bucket_rules:
        findings = findings_of(result, rule_id)
        assert [f.status for f in findings] == [Status.ERROR], rule_id
        assert "s3:ListAllMyBuckets" in findings[0].message, rule_id
        assert findings[0].resource_type == "Ridgeline::Account"
    assert not [f for f in result.findings if f.status is Status.PASS and f.rule_id in bucket_rules]
    assert collection.coverage[0].failed_types.keys() == {"AWS::S3::Bucket"}
