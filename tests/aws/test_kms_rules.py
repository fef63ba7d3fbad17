"""KMS rules against moto's server: a failing key and a passing twin for each rule."""

from __future__ import annotations

import json
from typing import Any

from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.rules.engine import Engine, ResourceIndex
from tests.conftest import AwsAccount, finding_for, status_of

ACCOUNT = "123456789012"


def _key_policy(statement: dict[str, Any]) -> str:
    owner = {"Sid": "Owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [owner, statement]})


def _evaluate(rules: list[Any], rule_id: str, resource: Resource) -> Status:
    rule = next(rule for rule in rules if rule.id == rule_id)
    return Engine([rule]).evaluate_resource(rule, resource, ResourceIndex([resource])).status


def test_key_rotation_off_fails(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    static = kms.create_key(Description="static")["KeyMetadata"]
    rotating = kms.create_key(Description="rotating")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotating)

    result = aws.scan(["kms"])

    failing = finding_for(result, "aws-kms-key-rotation", static["KeyId"])
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::KMS::Key"
    assert failing.resource_id == static["Arn"]
    assert failing.evidence["supplementaryConfiguration.KeyRotationStatus"] is False
    assert status_of(result, "aws-kms-key-rotation", rotating) is Status.PASS


def test_rotation_skips_keys_that_cannot_rotate(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    disabled = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)

    result = aws.scan(["kms"])

    assert status_of(result, "aws-kms-key-rotation", signing) is Status.PASS
    assert status_of(result, "aws-kms-key-rotation", disabled) is Status.PASS


def test_aws_managed_key_is_not_judged(aws: AwsAccount) -> None:
    # moto cannot create AWS managed keys through its API, so the key is built by hand in the collector's
    # shape. An AWS managed key has neither a collected policy nor a rotation status.
    managed = Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::KMS::Key",
        id=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0a1b2c3d-aws-managed", name="0a1b2c3d-aws-managed",
        configuration={"keyId": "0a1b2c3d-aws-managed", "keyManager": "AWS", "keyState": "Enabled",
                       "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "origin": "AWS_KMS"},
    )
    customer = Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::KMS::Key",
        id=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/4e5f-customer", name="4e5f-customer",
        configuration={**managed.configuration, "keyManager": "CUSTOMER"},
    )

    for rule_id in ("aws-kms-key-rotation", "aws-kms-key-policy-public", "aws-kms-key-pending-deletion"):
        assert _evaluate(aws.rules, rule_id, managed) is Status.PASS, rule_id
    # The same key managed by the customer, with nothing collected, fails rotation: missing is not "on".
    assert _evaluate(aws.rules, "aws-kms-key-rotation", customer) is Status.FAIL


def test_key_policy_public(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    public = kms.create_key(Policy=_key_policy({
        "Sid": "AnyoneDecrypts", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
        "Resource": "*"}))["KeyMetadata"]["KeyId"]
    pinned = kms.create_key(Policy=_key_policy({
        "Sid": "AccountDecrypts", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
        "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}))["KeyMetadata"]["KeyId"]
    default = kms.create_key()["KeyMetadata"]["KeyId"]

    result = aws.scan(["kms"])

    failing = finding_for(result, "aws-kms-key-policy-public", public)
    assert failing.status is Status.FAIL
    assert "AnyoneDecrypts" in failing.evidence["aws.policy_public"]
    assert status_of(result, "aws-kms-key-policy-public", pinned) is Status.PASS
    assert status_of(result, "aws-kms-key-policy-public", default) is Status.PASS


def test_key_pending_deletion(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    doomed = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
    enabled_key = kms.create_key()["KeyMetadata"]["KeyId"]

    result = aws.scan(["kms"])

    failing = finding_for(result, "aws-kms-key-pending-deletion", doomed)
    assert failing.status is Status.FAIL
    assert failing.evidence["configuration.keyState"] == "PendingDeletion"
    assert status_of(result, "aws-kms-key-pending-deletion", enabled_key) is Status.PASS
    # A key pending deletion is not in use, so its rotation is not judged.
    assert status_of(result, "aws-kms-key-rotation", doomed) is Status.PASS
