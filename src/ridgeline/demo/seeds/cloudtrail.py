"""Demo CloudTrail trails: a stopped multi-region trail that fails every trail rule, and a secured
single-region twin.

No trail of the account is a logging multi-region trail, so the account-wide rules (management events,
S3 data events) fail too. The secured twin passes every per-trail rule.
"""

from __future__ import annotations

import json

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client

_PUBLIC_LOG_BUCKET = "demo-cloudtrail-logs-public"
_SECURE_LOG_BUCKET = "demo-secure-cloudtrail-logs"
_ACCESS_LOG_BUCKET = "demo-secure-cloudtrail-access-logs"


def seed(endpoint: str) -> int:
    """Create the demo trails and their log buckets; return how many resources."""
    _seed_stopped_trail(endpoint)
    _seed_secure_trail(endpoint)
    return 5


def _seed_stopped_trail(endpoint: str) -> None:
    s3 = emulator_client(endpoint, "s3")
    s3.create_bucket(Bucket=_PUBLIC_LOG_BUCKET)
    s3.put_bucket_acl(Bucket=_PUBLIC_LOG_BUCKET, ACL="public-read")

    # Multi-region with S3 data events for all buckets, but never started: logs nothing.
    cloudtrail = emulator_client(endpoint, "cloudtrail")
    cloudtrail.create_trail(Name="demo-trail-stopped", S3BucketName=_PUBLIC_LOG_BUCKET, IsMultiRegionTrail=True)
    cloudtrail.put_event_selectors(TrailName="demo-trail-stopped", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])


def _seed_secure_trail(endpoint: str) -> None:
    s3 = emulator_client(endpoint, "s3", "eu-west-1")
    for bucket in (_SECURE_LOG_BUCKET, _ACCESS_LOG_BUCKET):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=_ACCESS_LOG_BUCKET, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "S3ServerAccessLogs", "Effect": "Allow",
                       "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                       "Resource": f"arn:aws:s3:::{_ACCESS_LOG_BUCKET}/*",
                       "Condition": {"StringEquals": {"aws:SourceAccount": DEMO_ACCOUNT}}}],
    }))
    s3.put_bucket_logging(Bucket=_SECURE_LOG_BUCKET, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": _ACCESS_LOG_BUCKET, "TargetPrefix": f"{_SECURE_LOG_BUCKET}/"}})

    # moto checks neither the key nor the log group and role; a real account needs all three to exist.
    cloudtrail = emulator_client(endpoint, "cloudtrail", "eu-west-1")
    cloudtrail.create_trail(
        Name="demo-secure-regional-trail",
        S3BucketName=_SECURE_LOG_BUCKET,
        EnableLogFileValidation=True,
        KmsKeyId=f"arn:aws:kms:eu-west-1:{DEMO_ACCOUNT}:key/0d2c4e6a-8b1f-4c3d-9e5f-7a6b5c4d3e2f",
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:eu-west-1:{DEMO_ACCOUNT}:log-group:demo-cloudtrail:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{DEMO_ACCOUNT}:role/demo-cloudtrail-to-logs",
    )
    cloudtrail.put_event_selectors(TrailName="demo-secure-regional-trail", AdvancedEventSelectors=[
        {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        {"Name": "S3 object events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]},
    ])
    cloudtrail.start_logging(Name="demo-secure-regional-trail")
