"""Demo CloudTrail trails: a stopped multi-region trail that fails every trail rule, and a secured
single-region twin.

No trail of the account is a logging multi-region trail, so the account-wide rules (management events,
S3 data events) fail too. The secured twin passes every per-trail rule, and its log bucket passes every
bucket rule but MFA Delete.
"""

from __future__ import annotations

import json
from typing import Any

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client
from ridgeline.demo.seeds.kms import SECURE_KEY_ARN
from ridgeline.demo.seeds.s3 import (
    create_access_log_bucket,
    create_bucket,
    deny_insecure_transport,
    enable_versioning,
    log_requests,
    put_policy,
    sse_kms,
)

_PUBLIC_LOG_BUCKET = "demo-cloudtrail-logs-public"
_SECURE_LOG_BUCKET = "demo-secure-cloudtrail-logs"
_ACCESS_LOG_BUCKET = "demo-cloudtrail-access-logs"


def seed(endpoint: str) -> int:
    """Create the demo trails, their log buckets and the secured trail's role; return how many resources."""
    _seed_stopped_trail(endpoint)
    _seed_secure_trail(endpoint)
    return 6


def _seed_stopped_trail(endpoint: str) -> None:
    # A log bucket that everyone can read through its ACL, which needs ACLs enabled and Block Public
    # Access off.
    s3 = emulator_client(endpoint, "s3")
    create_bucket(s3, _PUBLIC_LOG_BUCKET, block_public_access=False, object_ownership="ObjectWriter")
    s3.put_bucket_acl(Bucket=_PUBLIC_LOG_BUCKET, ACL="public-read")
    put_policy(s3, _PUBLIC_LOG_BUCKET, *_trail_delivery_statements(_PUBLIC_LOG_BUCKET, "us-east-1",
                                                                    "demo-trail-stopped"))

    # Multi-region with S3 data events for all buckets, but never started: logs nothing.
    cloudtrail = emulator_client(endpoint, "cloudtrail")
    cloudtrail.create_trail(Name="demo-trail-stopped", S3BucketName=_PUBLIC_LOG_BUCKET, IsMultiRegionTrail=True)
    cloudtrail.put_event_selectors(TrailName="demo-trail-stopped", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": True,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])


def _seed_secure_trail(endpoint: str) -> None:
    s3 = emulator_client(endpoint, "s3", "eu-west-1")
    create_access_log_bucket(s3, _ACCESS_LOG_BUCKET)

    create_bucket(s3, _SECURE_LOG_BUCKET, encryption=sse_kms(SECURE_KEY_ARN))
    enable_versioning(s3, _SECURE_LOG_BUCKET)
    put_policy(s3, _SECURE_LOG_BUCKET,
               *_trail_delivery_statements(_SECURE_LOG_BUCKET, "eu-west-1", "demo-secure-regional-trail"),
               deny_insecure_transport(_SECURE_LOG_BUCKET))
    log_requests(s3, _SECURE_LOG_BUCKET, _ACCESS_LOG_BUCKET)

    # moto checks neither the key nor the log group and role, which a real account needs. The kms and
    # monitoring seeds create the key and the log group later, and AWS would report the key's ARN in
    # place of its alias.
    log_group = f"arn:aws:logs:eu-west-1:{DEMO_ACCOUNT}:log-group:demo-cloudtrail"
    logs_role = _logs_delivery_role(endpoint, log_group)
    cloudtrail = emulator_client(endpoint, "cloudtrail", "eu-west-1")
    cloudtrail.create_trail(
        Name="demo-secure-regional-trail",
        S3BucketName=_SECURE_LOG_BUCKET,
        EnableLogFileValidation=True,
        KmsKeyId=SECURE_KEY_ARN,
        CloudWatchLogsLogGroupArn=f"{log_group}:*",
        CloudWatchLogsRoleArn=logs_role,
    )
    cloudtrail.put_event_selectors(TrailName="demo-secure-regional-trail", AdvancedEventSelectors=[
        {"Name": "Management events", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
        {"Name": "S3 object events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]},
    ])
    cloudtrail.start_logging(Name="demo-secure-regional-trail")


def _logs_delivery_role(endpoint: str, log_group: str) -> str:
    """Create the role that CloudTrail assumes to write to the log group; return its ARN."""
    iam = emulator_client(endpoint, "iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="demo-cloudtrail-to-logs", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="demo-cloudtrail-to-logs", PolicyName="write-trail-events",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": f"{log_group}:log-stream:*"}]}))
    return str(role["Role"]["Arn"])


def _trail_delivery_statements(bucket: str, region: str, trail: str) -> list[dict[str, Any]]:
    """Return the bucket policy statements that let CloudTrail write the trail's log files to the bucket."""
    source = {"aws:SourceArn": f"arn:aws:cloudtrail:{region}:{DEMO_ACCOUNT}:trail/{trail}"}
    return [
        {"Sid": "CloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}", "Condition": {"StringEquals": source}},
        {"Sid": "CloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{DEMO_ACCOUNT}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}}},
    ]
