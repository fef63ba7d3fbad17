"""The EC2 collector against moto's server: AWS Config shapes, one call per listing, and failures that
become ERROR findings instead of PASS."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.scanner import AwsScanOptions, Collection, collect_aws
from ridgeline.providers.aws.session import AwsSession
from tests.aws.test_ec2_rules import finding_by_id, status_by_id
from tests.conftest import AwsAccount, findings_of

ACCOUNT = "123456789012"


def _collect(regions: list[str] | None = None, recorder: CallRecorder | None = None) -> Collection:
    session = AwsSession(recorder=recorder) if recorder is not None else None
    return collect_aws(AwsScanOptions(regions=regions or ["us-east-1"], services=["ec2"]), session=session)


def _resource(collection: Collection, type_name: str, short_id: str) -> Resource:
    matches = [r for r in collection.resources if r.type == type_name and r.id.rsplit("/", 1)[-1] == short_id]
    assert len(matches) == 1, f"expected one {type_name} {short_id}, found {len(matches)}"
    return matches[0]


def test_security_group_has_config_shape(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    peer = ec2.create_security_group(GroupName="peer", Description="peer", VpcId=vpc)["GroupId"]
    group = ec2.create_security_group(GroupName="web", Description="web tier", VpcId=vpc,
                                      TagSpecifications=[{"ResourceType": "security-group",
                                                          "Tags": [{"Key": "team", "Value": "edge"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "public"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": peer}]},
    ])

    collection = _collect()

    resource = _resource(collection, "AWS::EC2::SecurityGroup", group)
    assert resource.id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{group}"
    assert resource.name == "web"
    assert resource.tags == {"team": "edge"}
    assert resource.relationships == [{"resourceType": "AWS::EC2::VPC", "resourceId": vpc,
                                       "relationshipName": "Is contained in Vpc"}]
    configuration = resource.configuration
    assert configuration["groupId"] == group
    assert configuration["vpcId"] == vpc
    assert configuration["description"] == "web tier"
    https, from_peer = configuration["ipPermissions"]
    assert https["ipProtocol"] == "tcp"
    assert (https["fromPort"], https["toPort"]) == (443, 443)
    assert https["ipRanges"] == ["0.0.0.0/0"]
    assert https["ipv4Ranges"] == [{"cidrIp": "0.0.0.0/0", "description": "public"}]
    assert https["ipv6Ranges"] == [{"cidrIpv6": "::/0"}]
    assert https["prefixListIds"] == []
    assert https["userIdGroupPairs"] == []
    assert from_peer["ipRanges"] == []
    assert from_peer["ipv4Ranges"] == []
    assert from_peer["userIdGroupPairs"][0]["groupId"] == peer
    egress = configuration["ipPermissionsEgress"][0]
    assert egress["ipProtocol"] == "-1"
    assert egress["ipRanges"] == ["0.0.0.0/0"]


def test_instance_volume_and_network_acl_shapes(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    aws.client("iam").create_instance_profile(InstanceProfileName="app")
    launched = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        IamInstanceProfile={"Name": "app"}, MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web-1"}]}],
    )["Instances"][0]
    instance_id = launched["InstanceId"]
    terminated = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[terminated])
    volume_id = ec2.create_volume(AvailabilityZone="us-east-1a", Size=2, Encrypted=True)["VolumeId"]
    ec2.attach_volume(VolumeId=volume_id, InstanceId=instance_id, Device="/dev/sdf")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    acl_id = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="6", RuleAction="allow",
                                 Egress=False, CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=110, Protocol="-1", RuleAction="deny",
                                 Egress=True, Ipv6CidrBlock="::/0")

    collection = _collect()

    instance = _resource(collection, "AWS::EC2::Instance", instance_id)
    assert instance.name == "web-1"
    assert instance.configuration["instanceId"] == instance_id
    assert instance.configuration["state"]["name"] == "running"
    assert instance.configuration["publicIpAddress"]
    assert instance.configuration["metadataOptions"]["httpTokens"] == "required"
    assert instance.configuration["metadataOptions"]["httpEndpoint"] == "enabled"
    assert instance.configuration["iamInstanceProfile"]["arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/app"
    assert "securityGroups" in instance.configuration
    assert {"resourceType": "AWS::EC2::Volume", "resourceId": volume_id,
            "relationshipName": "Is attached to Volume"} in instance.relationships
    assert not [r for r in collection.resources if r.id.endswith(f"instance/{terminated}")]

    volume = _resource(collection, "AWS::EC2::Volume", volume_id)
    assert volume.configuration["encrypted"] is True
    assert volume.configuration["attachments"][0]["instanceId"] == instance_id
    assert volume.relationships == [{"resourceType": "AWS::EC2::Instance", "resourceId": instance_id,
                                     "relationshipName": "Is attached to Instance"}]

    acl = _resource(collection, "AWS::EC2::NetworkAcl", acl_id)
    assert acl.configuration["vpcId"] == vpc
    entries = {entry["ruleNumber"]: entry for entry in acl.configuration["entries"]}
    assert entries[100] == {"cidrBlock": "0.0.0.0/0", "egress": False, "portRange": {"from": 443, "to": 443},
                            "protocol": "6", "ruleAction": "allow", "ruleNumber": 100}
    assert entries[110]["ipv6CidrBlock"] == "::/0"
    assert entries[110]["egress"] is True


def test_snapshots_default_encryption_and_flow_logs(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2", "eu-west-1")
    volume_id = ec2.create_volume(AvailabilityZone="eu-west-1a", Size=1)["VolumeId"]
    snapshot_id = ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=["111122223333"])
    ec2.enable_ebs_encryption_by_default()
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    for resource_type, resource_id in (("VPC", vpc), ("Subnet", subnet)):
        ec2.create_flow_logs(ResourceType=resource_type, ResourceIds=[resource_id], TrafficType="ALL",
                             LogDestinationType="cloud-watch-logs", LogGroupName="flow-logs",
                             DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs")

    collection = _collect(["eu-west-1"])

    snapshot = _resource(collection, "AWS::EC2::Snapshot", snapshot_id)
    assert snapshot.id == f"arn:aws:ec2:eu-west-1::snapshot/{snapshot_id}"
    assert snapshot.account == ACCOUNT
    assert snapshot.configuration["volumeId"] == volume_id
    assert snapshot.configuration["ownerId"] == ACCOUNT
    assert snapshot.supplementary["CreateVolumePermissions"] == [{"userId": "111122223333"}]

    settings = [r for r in collection.resources if r.type == "AWS::EC2::EbsDefaultEncryption"]
    assert [r.id for r in settings] == [f"arn:aws:ec2:eu-west-1:{ACCOUNT}:ebs-default-encryption"]
    assert settings[0].configuration["ebsEncryptionByDefault"] is True

    flow_logs = _resource(collection, "AWS::EC2::VPC", vpc).supplementary["FlowLogs"]
    assert [(log["resourceId"], log["trafficType"], log["flowLogStatus"]) for log in flow_logs] == [
        (vpc, "ALL", "ACTIVE")]


def test_each_call_is_made_once(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    volume_id = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snapshots = [ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"] for _ in range(3)]
    recorder = CallRecorder()

    collection = _collect(recorder=recorder)

    calls_made = {operation: count for (client, operation), count in recorder.counts.items() if client == "ec2"}
    # The scanner itself checks the requested regions once with DescribeRegions.
    assert calls_made.pop("DescribeRegions") == 1
    assert calls_made == {
        "DescribeSecurityGroups": 1, "DescribeInstances": 1, "DescribeVolumes": 1, "DescribeSnapshots": 1,
        "DescribeSnapshotAttribute": len(snapshots), "GetEbsEncryptionByDefault": 1, "DescribeVpcs": 1,
        "DescribeFlowLogs": 1, "DescribeNetworkAcls": 1,
    }
    assert [unit.status for unit in collection.coverage] == [Completeness.COMPLETE]


# Denying calls through moto's IAM emulation: the scan runs as a user allowed everything but these actions.

def _set_moto_auth(endpoint: str, initial_free_requests: str) -> None:
    # A form content type would make Flask consume the body before moto reads it.
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", method="POST",
                                     data=initial_free_requests.encode(), headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@pytest.fixture
def deny(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return a function that makes later scans run as a user denied the given IAM actions."""
    enforced = []

    def restrict(*actions: str) -> None:
        iam = aws.client("iam")
        iam.create_user(UserName="auditor")
        iam.put_user_policy(UserName="auditor", PolicyName="almost-everything", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                          {"Effect": "Deny", "Action": list(actions), "Resource": "*"}],
        }))
        key = iam.create_access_key(UserName="auditor")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        _set_moto_auth(aws.endpoint, "0")
        enforced.append(True)

    yield restrict
    if enforced:
        _set_moto_auth(aws.endpoint, "inf")


def test_denied_flow_logs_unknown_on_vpcs(aws: AwsAccount, deny: Any) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    volume_id = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    deny("ec2:DescribeFlowLogs")

    collection = _collect()
    result = evaluate_collection(collection, aws.rules, store=None)

    for vpc_id in (vpc, default_vpc):
        resource = _resource(collection, "AWS::EC2::VPC", vpc_id)
        assert "FlowLogs" not in resource.supplementary
        assert "ec2:DescribeFlowLogs" in resource.errors["supplementaryConfiguration.FlowLogs"]
        finding = finding_by_id(result, "aws-ec2-vpc-flow-logs", vpc_id)
        assert finding.status is Status.ERROR
        assert "ec2:DescribeFlowLogs" in finding.message
    # Rules on what could be read are still judged.
    assert status_by_id(result, "aws-ec2-volume-encrypted", volume_id) is Status.FAIL
    assert [unit.status for unit in collection.coverage] == [Completeness.PARTIAL]


def test_denied_listing_fails_only_that_type(aws: AwsAccount, deny: Any) -> None:
    ec2 = aws.client("ec2")
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)
    deny("ec2:DescribeVolumes")

    collection = _collect()
    result = evaluate_collection(collection, aws.rules, store=None)

    assert collection.coverage[0].failed_types.keys() == {"AWS::EC2::Volume"}
    assert collection.coverage[0].status is Completeness.PARTIAL
    volume_findings = findings_of(result, "aws-ec2-volume-encrypted")
    assert [f.status for f in volume_findings] == [Status.ERROR]
    assert "ec2:DescribeVolumes" in volume_findings[0].message
    assert not [r for r in collection.resources if r.type == "AWS::EC2::Volume"]
    ebs_default = findings_of(result, "aws-ec2-ebs-default-encryption")
    assert [f.status for f in ebs_default] == [Status.FAIL]


def test_denied_snapshot_attribute_is_error(aws: AwsAccount, deny: Any) -> None:
    ec2 = aws.client("ec2")
    volume_id = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snapshot_id = ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission",
                                  OperationType="add", GroupNames=["all"])
    deny("ec2:DescribeSnapshotAttribute")

    collection = _collect()
    result = evaluate_collection(collection, aws.rules, store=None)

    snapshot = _resource(collection, "AWS::EC2::Snapshot", snapshot_id)
    assert "ec2:DescribeSnapshotAttribute" in snapshot.errors["supplementaryConfiguration.CreateVolumePermissions"]
    for rule_id in ("aws-ec2-snapshot-public", "aws-ec2-snapshot-shared"):
        assert status_by_id(result, rule_id, snapshot_id) is Status.ERROR, rule_id
