"""S3 rules against moto's server: a failing bucket and a passing twin for each rule."""

from __future__ import annotations

import json

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, finding_for, status_of


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
