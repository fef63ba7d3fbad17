"""Demo EC2 and VPC resources: open security groups, an IMDSv1 instance on the internet, unencrypted and
public or shared EBS data, network ACLs and VPCs without safeguards, and secured twins."""

from __future__ import annotations

import json
from typing import Any

from ridgeline.demo.emulator import emulator_client

_WORLD_V4 = [{"CidrIp": "0.0.0.0/0"}]
_WORLD_V6 = [{"CidrIpv6": "::/0"}]
_IMAGE = "ami-12345678"
_WEB_SERVER = "demo-secure-web-server"


def seed(endpoint: str) -> int:
    """Create the demo EC2 and VPC resources in us-east-1 and eu-west-1; return how many."""
    east = emulator_client(endpoint, "ec2", "us-east-1")
    west = emulator_client(endpoint, "ec2", "eu-west-1")
    iam = emulator_client(endpoint, "iam")
    return _seed_east(east, iam) + _seed_west(west)


def _seed_east(ec2: Any, iam: Any) -> int:
    default_vpc = _default_vpc(ec2)

    # Security groups open to the internet, one per rule, in the default VPC.
    ssh_open = _group(ec2, default_vpc, "demo-ssh-open", _tcp(22, IpRanges=_WORLD_V4))
    _group(ec2, default_vpc, "demo-rdp-open-ipv6", _tcp(3389, Ipv6Ranges=_WORLD_V6))
    _group(ec2, default_vpc, "demo-database-open", _tcp(5432, IpRanges=_WORLD_V4), _tcp(6379, IpRanges=_WORLD_V4))
    _group(ec2, default_vpc, "demo-all-traffic-open", {"IpProtocol": "-1", "IpRanges": _WORLD_V4})
    _group(ec2, default_vpc, "demo-smb-open", _tcp(445, IpRanges=_WORLD_V4))
    web = _group(ec2, default_vpc, "demo-secure-web", _tcp(443, IpRanges=_WORLD_V4, Ipv6Ranges=_WORLD_V6))
    _group(ec2, default_vpc, "demo-secure-database", _tcp(5432, UserIdGroupPairs=[{"GroupId": web}]))

    # An internet-facing instance that accepts IMDSv1 behind the open SSH group, without a role and with
    # an unencrypted root volume, and its secured twin.
    _instance(ec2, "demo-imdsv1-public-ssh", [ssh_open], http_tokens="optional", encrypted_root=False)
    _instance(ec2, _WEB_SERVER, [web], http_tokens="required", encrypted_root=True,
              IamInstanceProfile={"Name": _web_server_profile(iam)})

    # EBS: an unencrypted volume, public and shared snapshots, and encrypted twins.
    plain = _volume(ec2, "demo-unencrypted-data", encrypted=False)
    encrypted = _volume(ec2, "demo-secure-encrypted-data", encrypted=True)
    _snapshot(ec2, plain, "demo-public-snapshot", GroupNames=["all"])
    _snapshot(ec2, plain, "demo-shared-snapshot", UserIds=["111122223333"])
    _snapshot(ec2, encrypted, "demo-secure-private-snapshot")

    # A VPC with every safeguard: an active flow log, an empty default security group, and a default
    # network ACL that denies remote administration before it allows the rest.
    secure_vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=_name_tag("vpc", "demo-secure-vpc"))
    secure_vpc_id = secure_vpc["Vpc"]["VpcId"]
    ec2.create_flow_logs(ResourceType="VPC", ResourceIds=[secure_vpc_id], TrafficType="ALL",
                         LogDestinationType="cloud-watch-logs", LogGroupName="demo-vpc-flow-logs",
                         DeliverLogsPermissionArn=_flow_logs_role(iam))
    default_group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [secure_vpc_id]},
                                                          {"Name": "group-name", "Values": ["default"]}])
    group = default_group["SecurityGroups"][0]
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    if group["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])
    _secure_default_network_acl(ec2, secure_vpc_id)

    # 7 groups, 2 instances, 2 volumes, 3 snapshots, the VPC, its flow log and its hardened default network
    # ACL, the web server's role and instance profile, and the flow log's role. The root volumes come with
    # the instances and are not counted.
    return 20


def _seed_west(ec2: Any) -> int:
    # Encryption by default on here (off in us-east-1). The default VPC keeps its default network ACL and
    # has no flow log, so both fail as in a fresh account.
    ec2.enable_ebs_encryption_by_default()
    _volume(ec2, "demo-secure-eu-volume", encrypted=True, zone="eu-west-1a")
    return 1


def _default_vpc(ec2: Any) -> str:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    return str(vpcs[0]["VpcId"])


def _name_tag(resource_type: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def _tcp(port: int, **peers: Any) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **peers}


def _group(ec2: Any, vpc_id: str, name: str, *permissions: dict[str, Any]) -> str:
    group_id = str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"])
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=list(permissions))
    return group_id


def _web_server_profile(iam: Any) -> str:
    # The instance_profile seed runs after this one, so the web server gets its own role.
    _service_role(iam, _WEB_SERVER, "ec2.amazonaws.com")
    iam.create_instance_profile(InstanceProfileName=_WEB_SERVER)
    iam.add_role_to_instance_profile(InstanceProfileName=_WEB_SERVER, RoleName=_WEB_SERVER)
    return _WEB_SERVER


def _flow_logs_role(iam: Any) -> str:
    # moto does not check the role, but VPC Flow Logs needs one that can write to the log group.
    arn = _service_role(iam, "demo-flow-logs", "vpc-flow-logs.amazonaws.com")
    iam.put_role_policy(RoleName="demo-flow-logs", PolicyName="write-flow-logs", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups",
            "logs:DescribeLogStreams"]}],
    }))
    return arn


def _service_role(iam: Any, name: str, service: str) -> str:
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def _instance(ec2: Any, name: str, groups: list[str], *, http_tokens: str, encrypted_root: bool,
              **settings: Any) -> None:
    # Instances in the default VPC's subnets get a public IP address. The root volume is named after the
    # instance so that its volume finding shows which instance it belongs to.
    ec2.run_instances(ImageId=_IMAGE, MinCount=1, MaxCount=1, InstanceType="t3.micro", SecurityGroupIds=groups,
                      MetadataOptions={"HttpTokens": http_tokens, "HttpEndpoint": "enabled"},
                      BlockDeviceMappings=[{"DeviceName": "/dev/sda1",
                                            "Ebs": {"VolumeSize": 8, "Encrypted": encrypted_root}}],
                      TagSpecifications=[*_name_tag("instance", name), *_name_tag("volume", f"{name}-root")],
                      **settings)


def _volume(ec2: Any, name: str, *, encrypted: bool, zone: str = "us-east-1a") -> str:
    volume = ec2.create_volume(AvailabilityZone=zone, Size=8, Encrypted=encrypted,
                               TagSpecifications=_name_tag("volume", name))
    return str(volume["VolumeId"])


def _snapshot(ec2: Any, volume_id: str, name: str, **permission: Any) -> None:
    snapshot = ec2.create_snapshot(VolumeId=volume_id, TagSpecifications=_name_tag("snapshot", name))
    if permission:
        ec2.modify_snapshot_attribute(SnapshotId=snapshot["SnapshotId"], Attribute="createVolumePermission",
                                      OperationType="add", **permission)


def _secure_default_network_acl(ec2: Any, vpc_id: str) -> None:
    # The default network ACL applies to every subnet of the VPC that has no other one, so this is the
    # network ACL to harden.
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                              {"Name": "default", "Values": ["true"]}])
    acl_id = acls["NetworkAcls"][0]["NetworkAclId"]
    ec2.create_tags(Resources=[acl_id], Tags=[{"Key": "Name", "Value": "demo-secure-nacl"}])
    rule_number = 10
    for protocol in ("6", "17"):
        for port in (22, 3389):
            for block in ({"CidrBlock": "0.0.0.0/0"}, {"Ipv6CidrBlock": "::/0"}):
                ec2.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=rule_number, Protocol=protocol,
                                             RuleAction="deny", Egress=False, PortRange={"From": port, "To": port},
                                             **block)
                rule_number += 1
