"""Demo S3 buckets: public through a policy, public through an ACL, without default encryption, and a
secured data bucket with its access-log bucket.

Since April 2023 AWS creates every bucket with SSE-S3 default encryption, all four Block Public Access
settings and ACLs disabled (Object Ownership "BucketOwnerEnforced"). moto applies none of these, so
`create_bucket` sets them, and only the bucket that shows a missing setting leaves it out. The other
seeds create their buckets through the helpers of this module too.
"""

from __future__ import annotations

import json
from typing import Any

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client
from ridgeline.demo.seeds.kms import SECURE_KEY_ARN

SSE_S3: dict[str, Any] = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
"""The default encryption AWS gives every bucket."""

_DATA_BUCKET = "demo-secure-data"
_ACCESS_LOG_BUCKET = "demo-access-logs"


def seed(endpoint: str) -> int:
    """Create the demo buckets; return how many."""
    _seed_misconfigured(emulator_client(endpoint, "s3"))
    _seed_secured(emulator_client(endpoint, "s3", "eu-west-1"))
    return 5


def _seed_misconfigured(s3: Any) -> None:
    # S3 rejects a public policy while Block Public Access is on, so this bucket has it off.
    create_bucket(s3, "demo-public-policy", block_public_access=False)
    put_policy(s3, "demo-public-policy", {
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::demo-public-policy/*"})

    # A public ACL needs ACLs enabled (Object Ownership "ObjectWriter") and Block Public Access off.
    create_bucket(s3, "demo-public-acl", block_public_access=False, object_ownership="ObjectWriter")
    s3.put_bucket_acl(Bucket="demo-public-acl", ACL="public-read")

    # NOTE: AWS has applied SSE-S3 to every bucket, old ones included, since January 2023, and
    # DeleteBucketEncryption restores SSE-S3. So no bucket in a real account has no default encryption.
    # This bucket shows what the rule reports for an emulator or a configuration recorded before 2023.
    create_bucket(s3, "demo-legacy-unencrypted", encryption=None)


def _seed_secured(s3: Any) -> None:
    create_access_log_bucket(s3, _ACCESS_LOG_BUCKET)

    create_bucket(s3, _DATA_BUCKET, encryption=sse_kms(SECURE_KEY_ARN))
    enable_versioning(s3, _DATA_BUCKET)
    put_policy(s3, _DATA_BUCKET, {
        "Sid": "VpceOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{_DATA_BUCKET}/*",
        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc1234"}}},
        deny_insecure_transport(_DATA_BUCKET))
    log_requests(s3, _DATA_BUCKET, _ACCESS_LOG_BUCKET)
    s3.put_bucket_tagging(Bucket=_DATA_BUCKET, Tagging={"TagSet": [{"Key": "data-classification",
                                                                     "Value": "restricted"}]})


def create_bucket(s3: Any, name: str, *, encryption: dict[str, Any] | None = SSE_S3,
                  block_public_access: bool = True, object_ownership: str = "BucketOwnerEnforced") -> None:
    """Create a bucket in the client's region with the settings AWS gives a new bucket.

    `encryption=None`, `block_public_access=False` and another `object_ownership` leave out the
    corresponding setting.
    """
    region = s3.meta.region_name
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, ObjectOwnership=object_ownership, **location)

    if encryption is not None:
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=encryption)
    if block_public_access:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})


def create_access_log_bucket(s3: Any, name: str) -> None:
    """Create a versioned bucket that receives server access logs of buckets in its region over TLS only.

    It keeps SSE-S3 because log delivery needs no key policy for it, whereas SSE-KMS works only with a
    customer managed key whose policy lets logging.s3.amazonaws.com use it. It logs no requests itself:
    the S3 user guide advises against server access logging on a destination bucket, because the
    deliveries would create logs without end. So it fails the access-logging rule, as in a real account.
    """
    create_bucket(s3, name)
    enable_versioning(s3, name)
    # moto reads the statements in order, and a string Principal before the log-delivery grant makes it
    # fail on PutBucketLogging, so the grant comes first.
    put_policy(s3, name, {
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": DEMO_ACCOUNT}}},
        deny_insecure_transport(name))


def sse_kms(key_arn: str) -> dict[str, Any]:
    """Return a default encryption configuration with SSE-KMS under the key, with an S3 Bucket Key."""
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                       "BucketKeyEnabled": True}]}


def enable_versioning(s3: Any, name: str) -> None:
    """Turn on versioning.

    MFA Delete stays off: moto ignores the MFADelete setting, and in AWS only the root user can turn it
    on. So every demo bucket fails the MFA Delete rule, the secured ones included.
    """
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def put_policy(s3: Any, name: str, *statements: dict[str, Any]) -> None:
    """Set the bucket policy to the statements."""
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def deny_insecure_transport(name: str) -> dict[str, Any]:
    """Return the policy statement that denies every request to the bucket that does not use TLS."""
    return {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def log_requests(s3: Any, name: str, log_bucket: str) -> None:
    """Send the bucket's server access logs to the log bucket, under a prefix named after the bucket."""
    s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": log_bucket, "TargetPrefix": f"{name}/"}})
