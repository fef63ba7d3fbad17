"""EC2 and VPC: security groups, instances, EBS volumes and snapshots, EBS encryption by default, VPCs
with their flow logs, and network ACLs, per region.

Resources use the AWS Config configuration item shape, so rules read them the same way from a live scan
and from a Config snapshot. Two types are not AWS Config types: `AWS::EC2::Snapshot` (Config does not
record EBS snapshots) and the pseudo type `AWS::EC2::EbsDefaultEncryption` (a regional account setting).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import arn, config_shape, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

SECURITY_GROUP = "AWS::EC2::SecurityGroup"
INSTANCE = "AWS::EC2::Instance"
VOLUME = "AWS::EC2::Volume"
SNAPSHOT = "AWS::EC2::Snapshot"
"""EBS snapshots owned by the account. Not an AWS Config type: the shape is DescribeSnapshots output in
camelCase, with the createVolumePermission attribute as supplementaryConfiguration.CreateVolumePermissions."""

EBS_DEFAULT_ENCRYPTION = "AWS::EC2::EbsDefaultEncryption"
"""Pseudo type: one per region, the GetEbsEncryptionByDefault response in camelCase."""

VPC = "AWS::EC2::VPC"
NETWORK_ACL = "AWS::EC2::NetworkAcl"

FLOW_LOGS_PATH = "supplementaryConfiguration.FlowLogs"
CREATE_VOLUME_PERMISSIONS_PATH = "supplementaryConfiguration.CreateVolumePermissions"

CALLS = api_calls(
    "ec2",
    "DescribeSecurityGroups",
    "DescribeInstances",
    "DescribeVolumes",
    "DescribeSnapshots",
    "DescribeSnapshotAttribute",
    "GetEbsEncryptionByDefault",
    "DescribeVpcs",
    "DescribeFlowLogs",
    "DescribeNetworkAcls",
)

# Instances in these states are gone or about to be. DescribeInstances keeps listing terminated
# instances for a while after termination.
_GONE_STATES = frozenset({"shutting-down", "terminated"})

_FLOW_LOGS = "flow logs"


def collect(unit: UnitContext) -> None:
    """Collect every EC2 and VPC resource type of the unit's region."""
    ec2 = unit.client("ec2")

    # The listings are independent, so they run concurrently. Each returns its items or its CallFailed.
    listings = _listings(unit, ec2)
    outcomes = dict(zip(listings, unit.map(_attempt, listings.values()), strict=True))

    builders: dict[str, Callable[[UnitContext, Any], list[Resource]]] = {
        SECURITY_GROUP: security_group_resources,
        INSTANCE: instance_resources,
        VOLUME: volume_resources,
        SNAPSHOT: lambda unit, snapshots: snapshot_resources(unit, ec2, snapshots),
        EBS_DEFAULT_ENCRYPTION: ebs_default_encryption_resources,
        VPC: lambda unit, vpcs: vpc_resources(unit, vpcs, outcomes[_FLOW_LOGS]),
        NETWORK_ACL: network_acl_resources,
    }
    for type_name, build in builders.items():
        outcome = outcomes[type_name]
        if isinstance(outcome, CallFailed):
            unit.fail_type(type_name, outcome)
            continue
        for resource in build(unit, outcome):
            unit.add(resource)


def _listings(unit: UnitContext, ec2: Any) -> dict[str, Callable[[], Any]]:
    """Return the listing calls of the unit, keyed by the resource type they list."""
    return {
        SECURITY_GROUP: lambda: unit.paginate(ec2, "DescribeSecurityGroups", "SecurityGroups"),
        INSTANCE: lambda: unit.paginate(ec2, "DescribeInstances", "Reservations"),
        VOLUME: lambda: unit.paginate(ec2, "DescribeVolumes", "Volumes"),
        SNAPSHOT: lambda: unit.paginate(ec2, "DescribeSnapshots", "Snapshots", OwnerIds=["self"]),
        EBS_DEFAULT_ENCRYPTION: lambda: unit.call(ec2, "GetEbsEncryptionByDefault") or {},
        VPC: lambda: unit.paginate(ec2, "DescribeVpcs", "Vpcs"),
        _FLOW_LOGS: lambda: unit.paginate(ec2, "DescribeFlowLogs", "FlowLogs"),
        NETWORK_ACL: lambda: unit.paginate(ec2, "DescribeNetworkAcls", "NetworkAcls"),
    }


def _attempt(job: Callable[[], Any]) -> Any:
    try:
        return job()
    except CallFailed as failure:
        return failure


def _name(tags: list[dict[str, Any]] | None, fallback: str) -> str:
    """Return the Name tag, or `fallback` (the resource id) when there is none."""
    return tag_dict(tags).get("Name") or fallback


def _relationship(type_name: str, resource_id: str, name: str) -> dict[str, Any]:
    return {"resourceType": type_name, "resourceId": resource_id, "relationshipName": name}


def security_group_resources(unit: UnitContext, groups: list[dict[str, Any]]) -> list[Resource]:
    """Build the `AWS::EC2::SecurityGroup` items of DescribeSecurityGroups output."""
    resources = []
    for group in groups:
        group_id = group["GroupId"]
        relationships = []
        if group.get("VpcId"):
            relationships.append(_relationship(VPC, group["VpcId"], "Is contained in Vpc"))
        resources.append(unit.new_resource(
            SECURITY_GROUP, arn(unit.partition, "ec2", unit.region, unit.account, f"security-group/{group_id}"),
            group.get("GroupName") or group_id, configuration=security_group_configuration(group),
            tags=tag_dict(group.get("Tags")), relationships=relationships,
        ))
    return resources


def security_group_configuration(group: dict[str, Any]) -> dict[str, Any]:
    """Return a DescribeSecurityGroups entry in the AWS Config shape."""
    configuration: dict[str, Any] = config_shape(group)
    for key in ("ipPermissions", "ipPermissionsEgress"):
        configuration[key] = [_permission(permission) for permission in configuration.get(key) or []]
    return configuration


def _permission(permission: dict[str, Any]) -> dict[str, Any]:
    # AWS Config lists each IPv4 range twice: as a plain CIDR string in ipRanges and as an object
    # (cidrIp, description) in ipv4Ranges. The API has only the objects, under IpRanges.
    shaped = dict(permission)
    ipv4_ranges = shaped.get("ipRanges") or []
    shaped["ipRanges"] = [item["cidrIp"] for item in ipv4_ranges if item.get("cidrIp")]
    shaped["ipv4Ranges"] = ipv4_ranges
    for key in ("ipv6Ranges", "prefixListIds", "userIdGroupPairs"):
        shaped[key] = shaped.get(key) or []
    return shaped


def instance_resources(unit: UnitContext, reservations: list[dict[str, Any]]) -> list[Resource]:
    """Build the `AWS::EC2::Instance` items of DescribeInstances output, leaving out terminated ones."""
    resources = []
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            instance_id = instance["InstanceId"]
            state = (instance.get("State") or {}).get("Name")
            if state in _GONE_STATES:
                logger.debug("account %s region %s: skipping instance %s in state %s", unit.account,
                             unit.region, instance_id, state)
                continue
            resources.append(unit.new_resource(
                INSTANCE, arn(unit.partition, "ec2", unit.region, unit.account, f"instance/{instance_id}"),
                _name(instance.get("Tags"), instance_id), configuration=config_shape(instance),
                tags=tag_dict(instance.get("Tags")), relationships=_instance_relationships(instance),
            ))
    return resources


def _instance_relationships(instance: dict[str, Any]) -> list[dict[str, Any]]:
    relationships = []
    for interface in instance.get("NetworkInterfaces", []):
        relationships.append(_relationship("AWS::EC2::NetworkInterface", interface["NetworkInterfaceId"],
                                           "Contains NetworkInterface"))
    for group in instance.get("SecurityGroups", []):
        relationships.append(_relationship(SECURITY_GROUP, group["GroupId"], "Is associated with SecurityGroup"))
    if instance.get("SubnetId"):
        relationships.append(_relationship("AWS::EC2::Subnet", instance["SubnetId"], "Is contained in Subnet"))
    for mapping in instance.get("BlockDeviceMappings", []):
        volume_id = (mapping.get("Ebs") or {}).get("VolumeId")
        if volume_id:
            relationships.append(_relationship(VOLUME, volume_id, "Is attached to Volume"))
    if instance.get("VpcId"):
        relationships.append(_relationship(VPC, instance["VpcId"], "Is contained in Vpc"))
    return relationships


def volume_resources(unit: UnitContext, volumes: list[dict[str, Any]]) -> list[Resource]:
    """Build the `AWS::EC2::Volume` items of DescribeVolumes output."""
    resources = []
    for volume in volumes:
        volume_id = volume["VolumeId"]
        relationships = [_relationship(INSTANCE, attachment["InstanceId"], "Is attached to Instance")
                         for attachment in volume.get("Attachments", []) if attachment.get("InstanceId")]
        resources.append(unit.new_resource(
            VOLUME, arn(unit.partition, "ec2", unit.region, unit.account, f"volume/{volume_id}"),
            _name(volume.get("Tags"), volume_id), configuration=config_shape(volume),
            tags=tag_dict(volume.get("Tags")), relationships=relationships,
        ))
    return resources


def ebs_default_encryption_resources(unit: UnitContext, response: dict[str, Any]) -> list[Resource]:
    """Build the region's `AWS::EC2::EbsDefaultEncryption` item from GetEbsEncryptionByDefault output."""
    configuration = config_shape(response)
    configuration.setdefault("ebsEncryptionByDefault", False)
    resource_id = arn(unit.partition, "ec2", unit.region, unit.account, "ebs-default-encryption")
    return [unit.new_resource(EBS_DEFAULT_ENCRYPTION, resource_id, "ebs-default-encryption",
                              configuration=configuration)]


def network_acl_resources(unit: UnitContext, acls: list[dict[str, Any]]) -> list[Resource]:
    """Build the `AWS::EC2::NetworkAcl` items of DescribeNetworkAcls output."""
    resources = []
    for acl in acls:
        acl_id = acl["NetworkAclId"]
        relationships = []
        if acl.get("VpcId"):
            relationships.append(_relationship(VPC, acl["VpcId"], "Is contained in Vpc"))
        for association in acl.get("Associations", []):
            if association.get("SubnetId"):
                relationships.append(_relationship("AWS::EC2::Subnet", association["SubnetId"],
                                                   "Is attached to Subnet"))
        resources.append(unit.new_resource(
            NETWORK_ACL, arn(unit.partition, "ec2", unit.region, unit.account, f"network-acl/{acl_id}"),
            _name(acl.get("Tags"), acl_id), configuration=config_shape(acl), tags=tag_dict(acl.get("Tags")),
            relationships=relationships,
        ))
    return resources


def vpc_resources(unit: UnitContext, vpcs: list[dict[str, Any]], flow_logs: list[dict[str, Any]] | CallFailed,
                  ) -> list[Resource]:
    """Build the `AWS::EC2::VPC` items, each with its flow logs, or with FlowLogs unknown when they failed."""
    by_vpc: dict[str, list[dict[str, Any]]] = {}
    if not isinstance(flow_logs, CallFailed):
        # DescribeFlowLogs also returns the flow logs of subnets, network interfaces and transit gateways,
        # which do not cover the whole VPC.
        for flow_log in flow_logs:
            by_vpc.setdefault(flow_log.get("ResourceId", ""), []).append(config_shape(flow_log))

    if isinstance(flow_logs, CallFailed) and not vpcs:
        # No rule reads the flow logs without a VPC, but the user should still learn of the failure.
        logger.warning("account %s region %s: %s", unit.account, unit.region, flow_logs.describe())

    resources = []
    for vpc in vpcs:
        vpc_id = vpc["VpcId"]
        resource = unit.new_resource(
            VPC, arn(unit.partition, "ec2", unit.region, unit.account, f"vpc/{vpc_id}"),
            _name(vpc.get("Tags"), vpc_id), configuration=config_shape(vpc), tags=tag_dict(vpc.get("Tags")),
        )
        if isinstance(flow_logs, CallFailed):
            unit.detail_failed(resource, FLOW_LOGS_PATH, flow_logs)
        else:
            resource.supplementary["FlowLogs"] = by_vpc.get(vpc_id, [])
        resources.append(resource)
    return resources


def snapshot_resources(unit: UnitContext, ec2: Any, snapshots: list[dict[str, Any]]) -> list[Resource]:
    """Build the `AWS::EC2::Snapshot` items, reading each one's createVolumePermission concurrently."""

    def read(snapshot: dict[str, Any]) -> Resource | None:
        snapshot_id = snapshot["SnapshotId"]
        # Snapshot ARNs have an empty account field, like AMI ARNs.
        resource = unit.new_resource(
            SNAPSHOT, arn(unit.partition, "ec2", unit.region, "", f"snapshot/{snapshot_id}"),
            _name(snapshot.get("Tags"), snapshot_id), configuration=config_shape(snapshot),
            tags=tag_dict(snapshot.get("Tags")),
        )
        if snapshot.get("VolumeId"):
            resource.relationships.append(_relationship(VOLUME, snapshot["VolumeId"], "Is created from Volume"))

        try:
            response = unit.call(ec2, "DescribeSnapshotAttribute", missing=("InvalidSnapshot.NotFound",),
                                 resource_id=resource.id, SnapshotId=snapshot_id, Attribute="createVolumePermission")
        except CallFailed as failure:
            unit.detail_failed(resource, CREATE_VOLUME_PERMISSIONS_PATH, failure)
            return resource
        if response is None:
            logger.debug("account %s region %s: snapshot %s was deleted during the scan", unit.account,
                         unit.region, snapshot_id)
            return None
        resource.supplementary["CreateVolumePermissions"] = config_shape(response.get("CreateVolumePermissions", []))
        return resource

    return [resource for resource in unit.map(read, snapshots) if resource is not None]


@dataclass(frozen=True, slots=True)
class _Lookup:
    """How to read one resource of a type by its id, for a targeted refresh."""

    operation: str
    parameter: str
    result_key: str
    not_found: str
    """Error code of `operation` when the id does not exist (any more)."""

    arn_path: str
    """ARN resource part before the id, such as "security-group/"."""


_LOOKUPS = {
    SECURITY_GROUP: _Lookup("DescribeSecurityGroups", "GroupIds", "SecurityGroups", "InvalidGroup.NotFound",
                            "security-group/"),
    INSTANCE: _Lookup("DescribeInstances", "InstanceIds", "Reservations", "InvalidInstanceID.NotFound", "instance/"),
    VOLUME: _Lookup("DescribeVolumes", "VolumeIds", "Volumes", "InvalidVolume.NotFound", "volume/"),
    SNAPSHOT: _Lookup("DescribeSnapshots", "SnapshotIds", "Snapshots", "InvalidSnapshot.NotFound", "snapshot/"),
    VPC: _Lookup("DescribeVpcs", "VpcIds", "Vpcs", "InvalidVpcID.NotFound", "vpc/"),
    NETWORK_ACL: _Lookup("DescribeNetworkAcls", "NetworkAclIds", "NetworkAcls", "InvalidNetworkAclID.NotFound",
                         "network-acl/"),
}


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named resources of the region by id (sg-..., i-..., vol-..., snap-..., vpc-..., acl-...).

    EBS encryption by default is one setting per region, so any id re-reads it.
    """
    ec2 = unit.client("ec2")
    for type_name, ids in targets.items():
        wanted = list(dict.fromkeys(ids))
        if type_name == EBS_DEFAULT_ENCRYPTION:
            for resource in ebs_default_encryption_resources(unit, unit.call(ec2, "GetEbsEncryptionByDefault") or {}):
                unit.add(resource)
            continue
        if type_name not in _LOOKUPS:
            raise ValueError(f"ec2 refresh cannot look up resource type {type_name}")

        if "*" in wanted:
            listed = _listings(unit, ec2)[type_name]()
            found = _build(unit, ec2, type_name, listed)
        else:
            found = []
            for resource_id in wanted:
                resources = _refresh_one(unit, ec2, type_name, resource_id)
                if not resources:
                    account = "" if type_name == SNAPSHOT else unit.account
                    unit.mark_gone(type_name, arn(unit.partition, "ec2", unit.region, account,
                                                  _LOOKUPS[type_name].arn_path + resource_id))
                found.extend(resources)
        for resource in found:
            unit.add(resource)


def _refresh_one(unit: UnitContext, ec2: Any, type_name: str, resource_id: str) -> list[Resource]:
    lookup = _LOOKUPS[type_name]
    parameters: dict[str, Any] = {lookup.parameter: [resource_id]}
    if type_name == SNAPSHOT:
        parameters["OwnerIds"] = ["self"]
    response = unit.call(ec2, lookup.operation, missing=(lookup.not_found,), resource_id=resource_id, **parameters)
    if response is None:
        return []
    return _build(unit, ec2, type_name, response.get(lookup.result_key, []))


def _build(unit: UnitContext, ec2: Any, type_name: str, items: list[dict[str, Any]]) -> list[Resource]:
    if type_name == SNAPSHOT:
        return snapshot_resources(unit, ec2, items)
    if type_name == VPC:
        flow_logs: list[dict[str, Any]] | CallFailed
        try:
            vpc_ids = [vpc["VpcId"] for vpc in items]
            flow_logs = unit.paginate(ec2, "DescribeFlowLogs", "FlowLogs",
                                      Filter=[{"Name": "resource-id", "Values": vpc_ids}]) if vpc_ids else []
        except CallFailed as failure:
            flow_logs = failure
        return vpc_resources(unit, items, flow_logs)
    builders: dict[str, Callable[[UnitContext, Any], list[Resource]]] = {
        SECURITY_GROUP: security_group_resources,
        INSTANCE: instance_resources,
        VOLUME: volume_resources,
        NETWORK_ACL: network_acl_resources,
    }
    return builders[type_name](unit, items)


COLLECTOR = CollectorSpec(
    service="ec2",
    global_service=False,
    calls=CALLS,
    resource_types=(SECURITY_GROUP, INSTANCE, VOLUME, SNAPSHOT, EBS_DEFAULT_ENCRYPTION, VPC, NETWORK_ACL),
    collect=collect,
    description="EC2 security groups, instances, EBS volumes, snapshots and default encryption, VPCs and "
                "network ACLs",
)
