"""The instance role rule against moto's server: an instance without an instance profile and one with."""

from __future__ import annotations

import json
from typing import Any

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, finding_for, status_of

ACCOUNT = AwsAccount.account_id
RULE = "aws-ec2-instance-iam-role"


def _instance(ec2: Any, name: str, **parameters: Any) -> str:
    response = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 TagSpecifications=[{"ResourceType": "instance",
                                                     "Tags": [{"Key": "Name", "Value": name}]}], **parameters)
    return str(response["Instances"][0]["InstanceId"])


def test_instance_without_profile_fails_and_with_profile_passes(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    profile = iam.create_instance_profile(InstanceProfileName="web")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="web")
    ec2 = aws.client("ec2")
    bare = _instance(ec2, "bare")
    _instance(ec2, "with-role", IamInstanceProfile={"Name": "web"})

    result = aws.scan(["ec2"])

    failing = finding_for(result, RULE, "bare")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::Instance"
    assert failing.resource_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{bare}"
    assert failing.evidence == {"configuration.iamInstanceProfile.arn": None}
    assert failing.message == "Instance bare has no IAM instance profile, so software on it cannot use an IAM role."
    assert status_of(result, RULE, "with-role") is Status.PASS
    [instance] = [r for r in result.collection.resources if r.name == "with-role"]
    assert instance.configuration["iamInstanceProfile"]["arn"] == profile["Arn"]
