"""S3 rules against moto's server: a failing bucket and a passing twin for each rule."""

from __future__ import annotations

import json

from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.rules.model import Rule
from tests.conftest import AwsAccount, evaluate_resources, finding_for, status_of


def _public_policy(bucket: str, condition: dict[str, object] | None = None) -> str:
    statement: dict[str, object] = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                    "Resource": f"arn:aws:s3:::{bucket}/*"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_bucket_policy_public_fails_and_pinned_policy_passes(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="open-bucket")
    s3.put_bucket_policy(Bucket="open-bucket", Policy=_public_policy("open-bucket"))
    s3.create_bucket(Bucket="vpce-bucket")
    s3.put_bucket_policy(Bucket="vpce-bucket", Policy=_public_policy(
        "vpce-bucket", {"StringEquals": {"aws:SourceVpce": "vpce-1234"}}))
    s3.create_bucket(Bucket="no-policy")

    result = aws.scan(["s3"])

    failing = finding_for(result, "aws-s3-bucket-policy-public", "open-bucket")
    assert failing.status is Status.FAIL
    assert failing.resource_id == "arn:aws:s3:::open-bucket"
    assert failing.resource_type == "AWS::S3::Bucket"
    assert "aws.policy_public" in failing.evidence
    assert status_of(result, "aws-s3-bucket-policy-public", "vpce-bucket") is Status.PASS
    assert status_of(result, "aws-s3-bucket-policy-public", "no-policy") is Status.PASS


def test_bucket_policy_public_blocked_by_account_block_public_access(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="open-bucket")
    s3.put_bucket_policy(Bucket="open-bucket", Policy=_public_policy("open-bucket"))
    aws.client("s3control").put_public_access_block(
        AccountId=aws.account_id,
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                        "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
    )

    result = aws.scan(["s3"])

    assert status_of(result, "aws-s3-bucket-policy-public", "open-bucket") is Status.PASS


def test_bucket_acl_public_fails_and_private_acl_passes(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="acl-public")
    s3.put_bucket_acl(Bucket="acl-public", ACL="public-read")
    s3.create_bucket(Bucket="acl-private")

    result = aws.scan(["s3"])

    failing = finding_for(result, "aws-s3-bucket-acl-public", "acl-public")
    assert failing.status is Status.FAIL
    assert "AllUsers" in failing.evidence["aws.s3_acl_public"]
    assert status_of(result, "aws-s3-bucket-acl-public", "acl-private") is Status.PASS


def test_default_encryption_missing_fails_and_kms_passes(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="plain")
    s3.create_bucket(Bucket="encrypted")
    s3.put_bucket_encryption(Bucket="encrypted", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})

    result = aws.scan(["s3"])

    assert status_of(result, "aws-s3-bucket-default-encryption", "plain") is Status.FAIL
    assert status_of(result, "aws-s3-bucket-default-encryption", "encrypted") is Status.PASS


_ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True}


def test_block_public_access_bucket_and_account(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="unguarded")
    s3.create_bucket(Bucket="guarded")
    s3.put_public_access_block(Bucket="guarded", PublicAccessBlockConfiguration=_ALL_BLOCKED)
    s3.create_bucket(Bucket="partly-guarded")
    s3.put_public_access_block(Bucket="partly-guarded",
                               PublicAccessBlockConfiguration={**_ALL_BLOCKED, "RestrictPublicBuckets": False})

    result = aws.scan(["s3"])

    assert status_of(result, "aws-s3-bucket-block-public-access", "unguarded") is Status.FAIL
    assert status_of(result, "aws-s3-bucket-block-public-access", "partly-guarded") is Status.FAIL
    assert status_of(result, "aws-s3-bucket-block-public-access", "guarded") is Status.PASS
    assert status_of(result, "aws-s3-account-block-public-access", aws.account_id) is Status.FAIL


def test_account_block_public_access_covers_every_bucket(aws: AwsAccount) -> None:
    aws.client("s3").create_bucket(Bucket="unguarded")
    aws.client("s3control").put_public_access_block(AccountId=aws.account_id,
                                                   PublicAccessBlockConfiguration=_ALL_BLOCKED)

    result = aws.scan(["s3"])

    assert status_of(result, "aws-s3-account-block-public-access", aws.account_id) is Status.PASS
    assert status_of(result, "aws-s3-bucket-block-public-access", "unguarded") is Status.PASS


def test_secure_transport_deny_passes_and_missing_deny_fails(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="tls-only")
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    s3.create_bucket(Bucket="http-ok")
    s3.create_bucket(Bucket="deny-get-only")
    s3.put_bucket_policy(Bucket="deny-get-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::deny-get-only/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))

    result = aws.scan(["s3"])

    assert status_of(result, "aws-s3-bucket-secure-transport", "tls-only") is Status.PASS
    assert status_of(result, "aws-s3-bucket-secure-transport", "http-ok") is Status.FAIL
    # Denying only reads over HTTP still lets writes through.
    assert status_of(result, "aws-s3-bucket-secure-transport", "deny-get-only") is Status.FAIL


def test_versioning_logging_and_ownership(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="bare")
    s3.create_bucket(Bucket="logs")
    s3.put_bucket_acl(Bucket="logs", ACL="log-delivery-write")
    s3.create_bucket(Bucket="careful")
    s3.put_bucket_versioning(Bucket="careful", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_logging(Bucket="careful", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "careful/"}})
    s3.put_bucket_ownership_controls(Bucket="careful", OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})

    result = aws.scan(["s3"])

    for rule_id in ("aws-s3-bucket-versioning", "aws-s3-bucket-access-logging", "aws-s3-bucket-acls-disabled",
                    "aws-s3-bucket-mfa-delete"):
        assert status_of(result, rule_id, "bare") is Status.FAIL, rule_id
    for rule_id in ("aws-s3-bucket-versioning", "aws-s3-bucket-access-logging", "aws-s3-bucket-acls-disabled"):
        assert status_of(result, rule_id, "careful") is Status.PASS, rule_id


def test_mfa_delete_enabled_passes(builtin_rules: list[Rule]) -> None:
    # moto 5.2 drops MFADelete from PutBucketVersioning, so the enabled state is built by hand in the
    # shape the S3 collector and AWS Config produce.
    bucket = Resource(provider="aws", account="123456789012", region="us-east-1", type="AWS::S3::Bucket",
                      id="arn:aws:s3:::mfa", name="mfa", configuration={"name": "mfa"},
                      supplementary={"BucketVersioningConfiguration": {"status": "Enabled",
                                                                       "isMfaDeleteEnabled": True}})

    findings = evaluate_resources(builtin_rules, [bucket], ["s3"])

    assert status_of(findings, "aws-s3-bucket-mfa-delete", "mfa") is Status.PASS


def test_cross_account_bucket_policy(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="shared")
    s3.put_bucket_policy(Bucket="shared", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::shared/*"}]}))
    s3.create_bucket(Bucket="own")
    s3.put_bucket_policy(Bucket="own", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.account_id}:root"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::own/*"}]}))

    result = aws.scan(["s3"])

    failing = finding_for(result, "aws-s3-bucket-policy-cross-account", "shared")
    assert failing.status is Status.FAIL
    assert "999999999999" in failing.evidence["aws.policy_cross_account"]
    assert status_of(result, "aws-s3-bucket-policy-cross-account", "own") is Status.PASS
