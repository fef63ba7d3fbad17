"""Demo instance role: an instance in eu-west-1 that reaches AWS through an instance profile, a secured
twin of demo-imdsv1-public-ssh in us-east-1, which has none."""

from __future__ import annotations

import json

from ridgeline.demo.emulator import emulator_client

_NAME = "demo-secure-app-server"


def seed(endpoint: str) -> int:
    """Create the role, its instance profile and the instance; return how many resources."""
    iam = emulator_client(endpoint, "iam")
    iam.create_role(RoleName=_NAME, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    iam.create_instance_profile(InstanceProfileName=_NAME)
    iam.add_role_to_instance_profile(InstanceProfileName=_NAME, RoleName=_NAME)

    # IMDSv2 and an encrypted root volume, so this instance passes the other instance rules too.
    emulator_client(endpoint, "ec2", "eu-west-1").run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        IamInstanceProfile={"Name": _NAME},
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8, "Encrypted": True}}],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": _NAME}]},
                           {"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": f"{_NAME}-root"}]}],
    )
    return 3
