"""Demo S3 buckets: public through a policy, public through an ACL, unencrypted, and secured twins."""

from __future__ import annotations

import json

from ridgeline.demo.emulator import emulator_client


def seed(endpoint: str) -> int:
    """Create the demo buckets; return how many."""
    s3 = emulator_client(endpoint, "s3")
    eu = emulator_client(endpoint, "s3", "eu-west-1")

    s3.create_bucket(Bucket="demo-public-policy")
    s3.put_bucket_policy(Bucket="demo-public-policy", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::demo-public-policy/*"}],
    }))

    s3.create_bucket(Bucket="demo-public-acl")
    s3.put_bucket_acl(Bucket="demo-public-acl", ACL="public-read")

    eu.create_bucket(Bucket="demo-secure-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_policy(Bucket="demo-secure-data", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "VpceOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::demo-secure-data/*",
                       "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0abc1234"}}},
                      {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": ["arn:aws:s3:::demo-secure-data", "arn:aws:s3:::demo-secure-data/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
    }))
    eu.put_bucket_encryption(Bucket="demo-secure-data", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]})
    eu.put_bucket_versioning(Bucket="demo-secure-data", VersioningConfiguration={"Status": "Enabled"})
    eu.put_public_access_block(Bucket="demo-secure-data", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    eu.create_bucket(Bucket="demo-secure-access-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    eu.put_bucket_policy(Bucket="demo-secure-access-logs", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "S3ServerAccessLogs", "Effect": "Allow",
                       "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::demo-secure-access-logs/*",
                       "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}],
    }))
    eu.put_bucket_logging(Bucket="demo-secure-data", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "demo-secure-access-logs", "TargetPrefix": "demo-secure-data/"}})
    eu.put_bucket_tagging(Bucket="demo-secure-data", Tagging={"TagSet": [{"Key": "data-classification",
                                                                           "Value": "restricted"}]})
    return 4
