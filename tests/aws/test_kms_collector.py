"""The KMS collector against moto's server: AWS Config shapes and the API calls made for each key."""

from __future__ import annotations

import json

from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.collectors.kms import key_configuration, rotation_readable
from ridgeline.providers.aws.scanner import AwsScanOptions, Collection, collect_aws
from ridgeline.providers.aws.session import AwsSession
from tests.conftest import AwsAccount

ACCOUNT = "123456789012"


def _collect(regions: list[str], recorder: CallRecorder | None = None) -> Collection:
    return collect_aws(AwsScanOptions(regions=regions, services=["kms"]), session=AwsSession(recorder=recorder))


def test_customer_key_has_policy_rotation_and_tags(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    key = kms.create_key(Description="orders", Tags=[{"TagKey": "team", "TagValue": "payments"}])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])

    collection = _collect(["us-east-1"])

    [resource] = collection.resources
    assert resource.type == "AWS::KMS::Key"
    assert resource.id == key["Arn"]
    assert resource.name == key["KeyId"]
    assert resource.configuration["keyManager"] == "CUSTOMER"
    assert resource.configuration["keySpec"] == "SYMMETRIC_DEFAULT"
    assert resource.configuration["awsaccountId"] == ACCOUNT
    assert resource.configuration["creationDate"].endswith("Z")
    assert resource.supplementary["KeyRotationStatus"] is True
    policy = json.loads(resource.supplementary["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert resource.tags == {"team": "payments"}
    assert resource.errors == {}


def test_signing_key_has_no_rotation_status(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")

    collection = _collect(["us-east-1"])

    [resource] = collection.resources
    assert "KeyRotationStatus" not in resource.supplementary
    assert "Policy" in resource.supplementary


def test_calls_per_key_are_made_once(aws: AwsAccount) -> None:
    kms = aws.client("kms")
    for _ in range(3):
        kms.create_key()
    kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    aws.client("kms", "eu-west-1").create_key()
    recorder = CallRecorder()

    collection = _collect(["us-east-1", "eu-west-1"], recorder)

    assert len(collection.resources) == 5
    assert {resource.region for resource in collection.resources} == {"us-east-1", "eu-west-1"}
    counts = recorder.counts
    assert counts[("kms", "ListKeys")] == 2
    assert counts[("kms", "DescribeKey")] == 5
    assert counts[("kms", "GetKeyPolicy")] == 5
    assert counts[("kms", "ListResourceTags")] == 5
    # The RSA key cannot rotate automatically, so its rotation status is not read.
    assert counts[("kms", "GetKeyRotationStatus")] == 4


def test_key_configuration_matches_aws_config_names() -> None:
    configuration = key_configuration({"AWSAccountId": ACCOUNT, "KeyId": "k", "KeyManager": "AWS",
                                       "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS"})

    assert configuration == {"awsaccountId": ACCOUNT, "keyId": "k", "keyManager": "AWS",
                             "keySpec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS"}


def test_rotation_readable_key_kinds() -> None:
    customer = {"keyManager": "CUSTOMER", "keySpec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS"}

    assert rotation_readable(customer)
    assert not rotation_readable({**customer, "keyManager": "AWS"})
    assert not rotation_readable({**customer, "keySpec": "HMAC_256"})
    assert not rotation_readable({**customer, "origin": "EXTERNAL"})
    assert not rotation_readable({**customer, "origin": "AWS_CLOUDHSM"})
