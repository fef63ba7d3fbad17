"""Demo AWS Config recorders: us-east-1 records only some resource types, eu-west-1 records all of them.

Neither recorder includes global resource types, so the account-wide rule for IAM history fails.
"""

from __future__ import annotations

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client

_ROLE = f"arn:aws:iam::{DEMO_ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
# moto does not check that the delivery channel's bucket exists.
_HISTORY_BUCKET = "demo-config-history"


def seed(endpoint: str) -> int:
    """Create and start one recorder per demo region; return how many."""
    _start_recorder(endpoint, "us-east-1", {
        "allSupported": False,
        "resourceTypes": ["AWS::EC2::Instance", "AWS::S3::Bucket"],
        "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
    })
    _start_recorder(endpoint, "eu-west-1", {"allSupported": True, "includeGlobalResourceTypes": False})
    return 2


def _start_recorder(endpoint: str, region: str, recording_group: dict[str, object]) -> None:
    config = emulator_client(endpoint, "config", region)
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "default", "roleARN": _ROLE, "recordingGroup": recording_group})
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": _HISTORY_BUCKET})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
