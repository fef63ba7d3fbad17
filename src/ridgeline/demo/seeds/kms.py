"""Demo KMS keys: one that never rotates, one whose policy lets anyone decrypt, one scheduled for deletion,
and secured twins in eu-west-1. Keys have no names, so each has a description and an alias."""

from __future__ import annotations

import json
from typing import Any

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client

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

    _key(eu, "demo-secure-key", "Rotating key whose policy names only the owner account", rotate=True, policy={
        "Version": "2012-10-17",
        "Statement": [_OWNER_STATEMENT, {"Sid": "AccountServicesDecrypt", "Effect": "Allow",
                                         "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
                                         "Condition": {"StringEquals": {"kms:CallerAccount": DEMO_ACCOUNT}}}],
    })
    # Signing keys cannot rotate automatically, so the rotation rule leaves them alone.
    _key(eu, "demo-signing-key", "Signs release artefacts", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    return 5


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
