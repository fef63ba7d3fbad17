"""Demo KMS keys: one that never rotates, one whose policy lets anyone decrypt, one scheduled for deletion,
and secured twins in eu-west-1. Keys have no names, so each has a description and an alias."""

from __future__ import annotations

import json
from typing import Any

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client

SECURE_KEY_ARN = f"arn:aws:kms:eu-west-1:{DEMO_ACCOUNT}:alias/demo-secure-key"
"""The secured key by alias ARN, for the seeds that encrypt with it and run before this one (seeds run in
name order). CloudTrail and S3 default encryption accept an alias ARN in place of a key ARN, and moto does
not check that the key exists."""

_OWNER_STATEMENT = {"Sid": "OwnerAccount", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{DEMO_ACCOUNT}:root"},
                    "Action": "kms:*", "Resource": "*"}


def seed(endpoint: str) -> int:
    """Create the demo keys and return how many."""
    us = emulator_client(endpoint, "kms")
    eu = emulator_client(endpoint, "kms", "eu-west-1")

    _key(us, "demo-no-rotation", "Encrypts application data; automatic rotation is off")

    _key(us, "demo-public-key-policy", "Key policy lets any AWS account decrypt", policy={
        "Version": "2012-10-17",
        "Statement": [_OWNER_STATEMENT, {"Sid": "AnyoneCanDecrypt", "Effect": "Allow", "Principal": {"AWS": "*"},
                                         "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}],
    }, rotate=True)

    doomed = _key(us, "demo-pending-deletion", "Still protects old backups but is scheduled for deletion", rotate=True)
    us.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=30)

    # The secured trail and buckets encrypt with this key, so its policy lets CloudTrail use it for the
    # account's trails.
    _key(eu, "demo-secure-key", "Rotating key whose policy names only the owner account", rotate=True, policy={
        "Version": "2012-10-17",
        "Statement": [_OWNER_STATEMENT,
                      {"Sid": "AccountServicesDecrypt", "Effect": "Allow", "Principal": {"AWS": "*"},
                       "Action": "kms:Decrypt", "Resource": "*",
                       "Condition": {"StringEquals": {"kms:CallerAccount": DEMO_ACCOUNT}}},
                      {"Sid": "CloudTrailEncrypt", "Effect": "Allow",
                       "Principal": {"Service": "cloudtrail.amazonaws.com"},
                       "Action": "kms:GenerateDataKey*", "Resource": "*",
                       "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                                    f"arn:aws:cloudtrail:*:{DEMO_ACCOUNT}:trail/*"}}}],
    })
    # Signing keys cannot rotate automatically, so the rotation rule leaves them alone.
    _key(eu, "demo-signing-key", "Signs release artefacts", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")

    _rotate_aws_managed_keys(us)
    _rotate_aws_managed_keys(eu)
    return 5


def _rotate_aws_managed_keys(client: Any) -> None:
    # moto creates the aws/ebs key of encrypted volumes (seeded by ec2 and instance_profile, which run
    # before this module) as a customer managed key without rotation. In AWS it is an AWS managed key,
    # which AWS rotates every year, so turning rotation on keeps the rotation rule from failing on it.
    # NOTE: its key manager still reads CUSTOMER, where AWS would report AWS.
    # moto also lists aliases of AWS managed keys it never created, so only existing keys are touched.
    existing = {key["KeyId"] for key in client.list_keys()["Keys"]}
    for alias in client.list_aliases()["Aliases"]:
        if alias["AliasName"].startswith("alias/aws/") and alias.get("TargetKeyId") in existing:
            client.enable_key_rotation(KeyId=alias["TargetKeyId"])


def _key(client: Any, alias: str, description: str, *, rotate: bool = False, policy: dict[str, Any] | None = None,
         **settings: Any) -> str:
    if policy is not None:
        settings["Policy"] = json.dumps(policy)
    key_id = str(client.create_key(Description=description, Tags=[{"TagKey": "demo", "TagValue": alias}],
                                   **settings)["KeyMetadata"]["KeyId"])
    client.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key_id)
    if rotate:
        client.enable_key_rotation(KeyId=key_id)
    return key_id
