"""Demo AWS Config recorders: us-east-1 records only some resource types, eu-west-1 records all of them.
Both deliver to one history bucket in us-east-1.

Neither recorder includes global resource types, so the account-wide rule for IAM history fails.
"""

from __future__ import annotations

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client
from ridgeline.demo.seeds.s3 import create_bucket, put_policy

_ROLE = f"arn:aws:iam::{DEMO_ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
_HISTORY_BUCKET = "demo-config-history"


def seed(endpoint: str) -> int:
    """Create the history bucket and start one recorder per demo region; return how many resources."""
    _create_history_bucket(endpoint)
    _start_recorder(endpoint, "us-east-1", {
        "allSupported": False,
        "resourceTypes": ["AWS::EC2::Instance", "AWS::S3::Bucket"],
        "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
    })
    _start_recorder(endpoint, "eu-west-1", {"allSupported": True, "includeGlobalResourceTypes": False})
    return 3


def _create_history_bucket(endpoint: str) -> None:
    # moto does not check that the delivery channel's bucket exists, but AWS does. The bucket has the
    # defaults of a new bucket and the policy that Config needs, nothing more.
    s3 = emulator_client(endpoint, "s3")
    create_bucket(s3, _HISTORY_BUCKET)
    service = {"Service": "config.amazonaws.com"}
    own_account = {"StringEquals": {"aws:SourceAccount": DEMO_ACCOUNT}}
    put_policy(
        s3, _HISTORY_BUCKET,
        {"Sid": "ConfigAclCheck", "Effect": "Allow", "Principal": service, "Action": "s3:GetBucketAcl",
         "Resource": f"arn:aws:s3:::{_HISTORY_BUCKET}", "Condition": own_account},
        {"Sid": "ConfigExistenceCheck", "Effect": "Allow", "Principal": service, "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{_HISTORY_BUCKET}", "Condition": own_account},
        {"Sid": "ConfigDelivery", "Effect": "Allow", "Principal": service, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{_HISTORY_BUCKET}/AWSLogs/{DEMO_ACCOUNT}/Config/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control",
                                        "aws:SourceAccount": DEMO_ACCOUNT}}},
    )


def _start_recorder(endpoint: str, region: str, recording_group: dict[str, object]) -> None:
    config = emulator_client(endpoint, "config", region)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": _ROLE, "recordingGroup": recording_group})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": _HISTORY_BUCKET})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
