"""EC2 and VPC rules against moto's server: a failing resource and a passing twin for each rule."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.pipeline import ScanResult
from ridgeline.rules.model import Rule
from tests.conftest import AwsAccount, evaluate_resources, findings_of

ACCOUNT = "123456789012"
WORLD_V4 = [{"CidrIp": "0.0.0.0/0"}]
WORLD_V6 = [{"CidrIpv6": "::/0"}]


def finding_by_id(result: ScanResult | list[Finding], rule_id: str, short_id: str) -> Finding:
    """Return the single finding of `rule_id` on the resource whose ARN ends with `short_id`."""
    matches = [f for f in findings_of(result, rule_id) if f.resource_id.rsplit("/", 1)[-1] == short_id]
    assert len(matches) == 1, f"expected one {rule_id} finding for {short_id}, found {len(matches)}"
    return matches[0]


def status_by_id(result: ScanResult | list[Finding], rule_id: str, short_id: str) -> Status:
    """Return the status of `rule_id` on the resource whose ARN ends with `short_id`."""
    return finding_by_id(result, rule_id, short_id).status


def _vpc(ec2: Any, cidr: str = "10.0.0.0/16") -> str:
    return str(ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"])


def _group(ec2: Any, vpc_id: str, name: str, *permissions: dict[str, Any]) -> str:
    group_id = str(ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"])
    if permissions:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=list(permissions))
    return group_id


def _tcp(from_port: int, to_port: int | None = None, **peers: Any) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": from_port, "ToPort": to_port if to_port is not None else from_port,
            **peers}


def _default_group(ec2: Any, vpc_id: str) -> dict[str, Any]:
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "group-name", "Values": ["default"]}])
    group: dict[str, Any] = groups["SecurityGroups"][0]
    return group


def _default_vpc(ec2: Any) -> str:
    return str(ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"])


def test_admin_ports_open_to_world(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    vpc = _vpc(ec2)
    ssh = _group(ec2, vpc, "ssh-world", _tcp(22, IpRanges=WORLD_V4))
    rdp_v6 = _group(ec2, vpc, "rdp-world-v6", _tcp(3389, Ipv6Ranges=WORLD_V6))
    rdp_udp = _group(ec2, vpc, "rdp-udp", {"IpProtocol": "udp", "FromPort": 3389, "ToPort": 3389,
                                           "IpRanges": WORLD_V4})
    private = _group(ec2, vpc, "ssh-private", _tcp(22, IpRanges=[{"CidrIp": "10.0.0.0/8"}]))
    web = _group(ec2, vpc, "web", _tcp(443, IpRanges=WORLD_V4))

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-sg-admin-ports-open", ssh)
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::SecurityGroup"
    assert failing.resource_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{ssh}"
    assert failing.resource_name == "ssh-world"
    assert failing.evidence["aws.sg_world_ports"] == "ipPermissions[0] tcp 22 from 0.0.0.0/0 reaches tcp 22"
    assert "tcp 3389 from ::/0" in finding_by_id(result, "aws-ec2-sg-admin-ports-open", rdp_v6).evidence[
        "aws.sg_world_ports"]
    assert "reaches udp 3389" in finding_by_id(result, "aws-ec2-sg-admin-ports-open", rdp_udp).evidence[
        "aws.sg_world_ports"]
    assert status_by_id(result, "aws-ec2-sg-admin-ports-open", private) is Status.PASS
    assert status_by_id(result, "aws-ec2-sg-admin-ports-open", web) is Status.PASS


# (IpPermission, admin rule status, all-traffic rule status)
HARD_CASES = [
    pytest.param(_tcp(0, 65535, Ipv6Ranges=WORLD_V6), Status.FAIL, Status.PASS, id="tcp-all-ports-ipv6"),
    pytest.param({"IpProtocol": "-1", "Ipv6Ranges": WORLD_V6}, Status.FAIL, Status.FAIL, id="all-protocols-ipv6"),
    pytest.param({"IpProtocol": "-1", "IpRanges": WORLD_V4}, Status.FAIL, Status.FAIL, id="all-protocols-ipv4"),
    pytest.param(_tcp(80, 443, IpRanges=WORLD_V4), Status.PASS, Status.PASS, id="tcp-80-443"),
    pytest.param(_tcp(20, 23, IpRanges=WORLD_V4), Status.FAIL, Status.PASS, id="range-around-22"),
    pytest.param({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": WORLD_V4}, Status.PASS,
                 Status.PASS, id="icmp-all-types"),
]


@pytest.mark.parametrize(("permission", "admin_status", "all_traffic_status"), HARD_CASES)
def test_port_semantics_through_api(aws: AwsAccount, permission: dict[str, Any], admin_status: Status,
                                        all_traffic_status: Status) -> None:
    ec2 = aws.client("ec2")
    group = _group(ec2, _vpc(ec2), "case", permission)

    result = aws.scan(["ec2"])

    assert status_by_id(result, "aws-ec2-sg-admin-ports-open", group) is admin_status
    assert status_by_id(result, "aws-ec2-sg-all-traffic-open", group) is all_traffic_status


def test_all_protocols_evidence_names_ports(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    group = _group(ec2, _vpc(ec2), "everything-v6", {"IpProtocol": "-1", "Ipv6Ranges": WORLD_V6})

    result = aws.scan(["ec2"])

    admin = finding_by_id(result, "aws-ec2-sg-admin-ports-open", group).evidence["aws.sg_world_ports"]
    assert admin == "ipPermissions[0] all traffic from ::/0 reaches tcp 22, tcp 3389, udp 22, udp 3389"
    all_traffic = finding_by_id(result, "aws-ec2-sg-all-traffic-open", group)
    assert all_traffic.evidence["aws.sg_allows_all_traffic"] == "all traffic from ::/0"


def test_gre_rule_exposes_no_port(builtin_rules: list[Rule]) -> None:
    # moto returns HTTP 500 to a rule on a protocol number without ports, so the group is built by hand
    # in the shape the EC2 collector produces.
    group = Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::EC2::SecurityGroup",
        id=f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0gre", name="gre",
        configuration={"groupId": "sg-0gre", "groupName": "gre", "vpcId": "vpc-1",
                       "ipPermissions": [{"ipProtocol": "47", "ipRanges": ["0.0.0.0/0"],
                                          "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [],
                                          "prefixListIds": [], "userIdGroupPairs": []}],
                       "ipPermissionsEgress": []},
    )

    findings = evaluate_resources(builtin_rules, [group], ["ec2"])

    for rule_id in ("aws-ec2-sg-admin-ports-open", "aws-ec2-sg-database-ports-open", "aws-ec2-sg-cifs-open",
                    "aws-ec2-sg-all-traffic-open"):
        assert status_by_id(findings, rule_id, "sg-0gre") is Status.PASS, rule_id


def _malformed_group() -> Resource:
    return Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::EC2::SecurityGroup",
        id=f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0bad", name="bad",
        configuration={"groupId": "sg-0bad", "groupName": "bad",
                       "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                                          "ipRanges": ["not-a-cidr"]}]},
    )


@pytest.mark.parametrize("rule_id", ["aws-ec2-sg-admin-ports-open", "aws-ec2-sg-database-ports-open",
                                     "aws-ec2-sg-cifs-open"])
def test_malformed_group_is_error(builtin_rules: list[Rule], rule_id: str) -> None:
    rules = [rule for rule in builtin_rules if rule.id == rule_id]

    findings = evaluate_resources(rules, [_malformed_group()], ["ec2"])

    failing = finding_by_id(findings, rule_id, "sg-0bad")
    assert failing.status is Status.ERROR
    assert "not-a-cidr" in failing.message


def test_malformed_group_all_traffic_is_error(builtin_rules: list[Rule]) -> None:
    rules = [rule for rule in builtin_rules if rule.id == "aws-ec2-sg-all-traffic-open"]

    findings = evaluate_resources(rules, [_malformed_group()], ["ec2"])

    assert status_by_id(findings, "aws-ec2-sg-all-traffic-open", "sg-0bad") is Status.ERROR


def test_database_ports_open_to_world(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    vpc = _vpc(ec2)
    postgres = _group(ec2, vpc, "postgres-world", _tcp(5432, IpRanges=WORLD_V4))
    redis_v6 = _group(ec2, vpc, "redis-world-v6", _tcp(6379, Ipv6Ranges=WORLD_V6))
    private = _group(ec2, vpc, "postgres-private", _tcp(5432, IpRanges=[{"CidrIp": "10.0.0.0/8"}]))
    app = _group(ec2, vpc, "app", _tcp(8443, IpRanges=WORLD_V4))
    from_app = _group(ec2, vpc, "mysql-from-app", _tcp(3306, UserIdGroupPairs=[{"GroupId": app}]))

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-sg-database-ports-open", postgres)
    assert failing.status is Status.FAIL
    assert failing.evidence["aws.sg_world_ports"] == "ipPermissions[0] tcp 5432 from 0.0.0.0/0 reaches tcp 5432 " \
                                                     "(postgresql)"
    assert "tcp 6379 (redis)" in finding_by_id(result, "aws-ec2-sg-database-ports-open", redis_v6).evidence[
        "aws.sg_world_ports"]
    for group in (private, app, from_app):
        assert status_by_id(result, "aws-ec2-sg-database-ports-open", group) is Status.PASS, group


def test_all_traffic_open_to_world(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    vpc = _vpc(ec2)
    open_group = _group(ec2, vpc, "all-world", {"IpProtocol": "-1", "IpRanges": WORLD_V4})
    peer = _group(ec2, vpc, "all-from-peer")
    ec2.authorize_security_group_ingress(GroupId=peer, IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": open_group}]}])

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-sg-all-traffic-open", open_group)
    assert failing.status is Status.FAIL
    assert failing.evidence["aws.sg_allows_all_traffic"] == "all traffic from 0.0.0.0/0"
    assert status_by_id(result, "aws-ec2-sg-all-traffic-open", peer) is Status.PASS


def test_cifs_open_to_world(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    vpc = _vpc(ec2)
    smb = _group(ec2, vpc, "smb-world", _tcp(445, IpRanges=WORLD_V4))
    wide = _group(ec2, vpc, "wide-range-v6", _tcp(400, 500, Ipv6Ranges=WORLD_V6))
    https = _group(ec2, vpc, "https-world", _tcp(443, IpRanges=WORLD_V4))

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-sg-cifs-open", smb)
    assert failing.status is Status.FAIL
    assert failing.evidence["aws.sg_world_ports"] == "ipPermissions[0] tcp 445 from 0.0.0.0/0 reaches tcp 445"
    assert status_by_id(result, "aws-ec2-sg-cifs-open", wide) is Status.FAIL
    assert status_by_id(result, "aws-ec2-sg-cifs-open", https) is Status.PASS


def test_default_group_must_be_empty(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    emptied_vpc = _vpc(ec2, "10.1.0.0/16")
    emptied = _default_group(ec2, emptied_vpc)
    ec2.revoke_security_group_egress(GroupId=emptied["GroupId"], IpPermissions=emptied["IpPermissionsEgress"])
    ingress_vpc = _vpc(ec2, "10.2.0.0/16")
    with_ingress = _default_group(ec2, ingress_vpc)
    ec2.revoke_security_group_egress(GroupId=with_ingress["GroupId"],
                                     IpPermissions=with_ingress["IpPermissionsEgress"])
    ec2.authorize_security_group_ingress(GroupId=with_ingress["GroupId"], IpPermissions=[
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": with_ingress["GroupId"]}]}])
    # moto gives its default VPC a default group with an allow-all egress rule, as AWS does.
    moto_default = _default_group(ec2, _default_vpc(ec2))
    custom = _group(ec2, emptied_vpc, "custom", _tcp(443, IpRanges=WORLD_V4))

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-default-sg-no-traffic", moto_default["GroupId"])
    assert failing.status is Status.FAIL
    assert failing.resource_name == "default"
    assert failing.evidence["configuration.ipPermissionsEgress"][0]["ipProtocol"] == "-1"
    assert status_by_id(result, "aws-ec2-default-sg-no-traffic", with_ingress["GroupId"]) is Status.FAIL
    assert status_by_id(result, "aws-ec2-default-sg-no-traffic", emptied["GroupId"]) is Status.PASS
    # A PASS on another group would tell nothing about the default one, so the rule does not judge it.
    assert not [finding for finding in result.findings if finding.rule_id == "aws-ec2-default-sg-no-traffic"
                and finding.resource_id.endswith(custom)]


def _acl(ec2: Any, vpc_id: str, *entries: dict[str, Any]) -> str:
    acl_id = str(ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"])
    for entry in entries:
        ec2.create_network_acl_entry(NetworkAclId=acl_id, Egress=False, **entry)
    return acl_id


def test_network_acl_admin_ports_in_rule_order(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    vpc = _vpc(ec2)
    allow_all = {"Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}
    deny_all = {"Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}
    deny_first = _acl(ec2, vpc, {"RuleNumber": 90, **deny_all}, {"RuleNumber": 100, **allow_all})
    allow_first = _acl(ec2, vpc, {"RuleNumber": 90, **allow_all}, {"RuleNumber": 100, **deny_all})
    ssh_only = _acl(ec2, vpc, {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0",
                               "PortRange": {"From": 22, "To": 22}})
    ipv6_all = _acl(ec2, vpc, {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Ipv6CidrBlock": "::/0"})
    web_only = _acl(ec2, vpc, {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0",
                               "PortRange": {"From": 80, "To": 443}})
    empty = _acl(ec2, vpc)
    # moto gives every VPC a default network ACL that allows all traffic, as AWS does.
    default_acl = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                     {"Name": "default", "Values": ["true"]}])
    default_id = default_acl["NetworkAcls"][0]["NetworkAclId"]

    result = aws.scan(["ec2"])

    rule_id = "aws-ec2-nacl-admin-ports-open"
    failing = finding_by_id(result, rule_id, allow_first)
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::NetworkAcl"
    assert "rule 90 allows tcp 22 from 0.0.0.0/0" in failing.evidence["aws.nacl_world_ports"]
    assert finding_by_id(result, rule_id, ssh_only).evidence["aws.nacl_world_ports"] == \
        "rule 100 allows tcp 22 from 0.0.0.0/0"
    assert "rule 100 allows tcp 3389 from ::/0" in finding_by_id(result, rule_id, ipv6_all).evidence[
        "aws.nacl_world_ports"]
    assert status_by_id(result, rule_id, default_id) is Status.FAIL
    for acl_id in (deny_first, web_only, empty):
        assert status_by_id(result, rule_id, acl_id) is Status.PASS, acl_id


def _instance(ec2: Any, **parameters: Any) -> str:
    response = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 **parameters)
    return str(response["Instances"][0]["InstanceId"])


def test_imdsv2_required_or_endpoint_disabled(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    optional = _instance(ec2, MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "enabled"})
    required = _instance(ec2, MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"})
    disabled = _instance(ec2, MetadataOptions={"HttpTokens": "optional", "HttpEndpoint": "disabled"})

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-instance-imdsv2", optional)
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::Instance"
    assert failing.resource_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{optional}"
    assert failing.evidence["configuration.metadataOptions.httpTokens"] == "optional"
    assert status_by_id(result, "aws-ec2-instance-imdsv2", required) is Status.PASS
    assert status_by_id(result, "aws-ec2-instance-imdsv2", disabled) is Status.PASS


def test_public_instance_with_open_group(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    default_vpc = _default_vpc(ec2)
    closed = _group(ec2, default_vpc, "closed", _tcp(443, IpRanges=WORLD_V4))
    open_ssh = _group(ec2, default_vpc, "open-ssh", _tcp(22, IpRanges=WORLD_V4))
    # The closed group comes first, so the evidence must come from the second group.
    exposed = _instance(ec2, SecurityGroupIds=[closed, open_ssh])
    public_closed = _instance(ec2, SecurityGroupIds=[closed])
    private_vpc = _vpc(ec2)
    subnet = ec2.create_subnet(VpcId=private_vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    private_open = _instance(ec2, SubnetId=subnet,
                             SecurityGroupIds=[_group(ec2, private_vpc, "open-rdp", _tcp(3389, IpRanges=WORLD_V4))])

    result = aws.scan(["ec2"])

    rule_id = "aws-ec2-instance-public-exposed"
    failing = finding_by_id(result, rule_id, exposed)
    assert failing.status is Status.FAIL
    assert failing.evidence["configuration.publicIpAddress"]
    assert failing.evidence["configuration.securityGroups (matching items)"] == [
        {"groupId": open_ssh, "groupName": "open-ssh"}]
    assert failing.evidence["aws.sg_world_ports"] == "ipPermissions[0] tcp 22 from 0.0.0.0/0 reaches tcp 22"
    assert status_by_id(result, rule_id, public_closed) is Status.PASS
    assert status_by_id(result, rule_id, private_open) is Status.PASS


def test_public_instance_missing_group_is_error(builtin_rules: list[Rule]) -> None:
    # An instance whose security group is missing from the scan cannot be judged either way.
    instance = Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::EC2::Instance",
        id=f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0lonely", name="i-0lonely",
        configuration={"instanceId": "i-0lonely", "publicIpAddress": "198.51.100.7",
                       "securityGroups": [{"groupId": "sg-0missing", "groupName": "gone"}],
                       "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"}},
    )

    findings = evaluate_resources(builtin_rules, [instance], ["ec2"])

    assert status_by_id(findings, "aws-ec2-instance-public-exposed", "i-0lonely") is Status.ERROR


def test_volume_encryption(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    plain = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    encrypted = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, Encrypted=True)["VolumeId"]

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-volume-encrypted", plain)
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::Volume"
    assert failing.evidence["configuration.encrypted"] is False
    assert status_by_id(result, "aws-ec2-volume-encrypted", encrypted) is Status.PASS


def test_ebs_default_encryption_per_region(aws: AwsAccount) -> None:
    aws.client("ec2", "eu-west-1").enable_ebs_encryption_by_default()

    result = aws.scan(["ec2"], regions=["us-east-1", "eu-west-1"])

    by_region = {f.region: f for f in findings_of(result, "aws-ec2-ebs-default-encryption")}
    assert set(by_region) == {"us-east-1", "eu-west-1"}
    failing = by_region["us-east-1"]
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::EbsDefaultEncryption"
    assert failing.resource_id == f"arn:aws:ec2:us-east-1:{ACCOUNT}:ebs-default-encryption"
    assert failing.evidence["configuration.ebsEncryptionByDefault"] is False
    assert "us-east-1" in failing.message
    assert by_region["eu-west-1"].status is Status.PASS


def _snapshot(ec2: Any, **permission: Any) -> str:
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snapshot_id = str(ec2.create_snapshot(VolumeId=volume)["SnapshotId"])
    if permission:
        ec2.modify_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission",
                                      OperationType="add", **permission)
    return snapshot_id


def test_snapshot_public_and_shared(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    public = _snapshot(ec2, GroupNames=["all"])
    shared = _snapshot(ec2, UserIds=["111122223333"])
    private = _snapshot(ec2)

    result = aws.scan(["ec2"])

    failing = finding_by_id(result, "aws-ec2-snapshot-public", public)
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EC2::Snapshot"
    assert failing.resource_id == f"arn:aws:ec2:us-east-1::snapshot/{public}"
    assert failing.evidence["supplementaryConfiguration.CreateVolumePermissions (matching items)"] == [
        {"group": "all"}]
    assert status_by_id(result, "aws-ec2-snapshot-public", shared) is Status.PASS
    assert status_by_id(result, "aws-ec2-snapshot-public", private) is Status.PASS

    sharing = finding_by_id(result, "aws-ec2-snapshot-shared", shared)
    assert sharing.status is Status.FAIL
    assert sharing.severity.value == "medium"
    assert sharing.evidence["supplementaryConfiguration.CreateVolumePermissions (matching items)"] == [
        {"userId": "111122223333"}]
    assert status_by_id(result, "aws-ec2-snapshot-shared", public) is Status.PASS
    assert status_by_id(result, "aws-ec2-snapshot-shared", private) is Status.PASS


def test_vpc_flow_logs(aws: AwsAccount) -> None:
    ec2 = aws.client("ec2")
    logged = _vpc(ec2, "10.1.0.0/16")
    accept_only = _vpc(ec2, "10.2.0.0/16")
    subnet_only = _vpc(ec2, "10.3.0.0/16")
    subnet = ec2.create_subnet(VpcId=subnet_only, CidrBlock="10.3.1.0/24")["Subnet"]["SubnetId"]
    for resource_type, resource_id, traffic in (("VPC", logged, "REJECT"), ("VPC", accept_only, "ACCEPT"),
                                                ("Subnet", subnet, "ALL")):
        created = ec2.create_flow_logs(ResourceType=resource_type, ResourceIds=[resource_id], TrafficType=traffic,
                                       LogDestinationType="cloud-watch-logs", LogGroupName="flow-logs",
                                       DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs")
        assert not created["Unsuccessful"]

    result = aws.scan(["ec2"])

    for vpc_id in (accept_only, subnet_only, _default_vpc(ec2)):
        failing = finding_by_id(result, "aws-ec2-vpc-flow-logs", vpc_id)
        assert failing.status is Status.FAIL, vpc_id
        assert failing.resource_type == "AWS::EC2::VPC"
    assert status_by_id(result, "aws-ec2-vpc-flow-logs", logged) is Status.PASS
