"""RDS: DB instances, DB clusters and their manual snapshots, with the accounts allowed to restore each snapshot.

Instances and clusters are the DescribeDBInstances and DescribeDBClusters output in AWS Config's
camelCase (`dBInstanceIdentifier`, `iAMDatabaseAuthenticationEnabled`). Manual snapshots carry the
values of their `restore` attribute as `supplementaryConfiguration.RestoreAttributes`: account ids, or
"all" when the snapshot is public. Automated snapshots cannot be shared, so they are not collected.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

DB_INSTANCE = "AWS::RDS::DBInstance"
DB_CLUSTER = "AWS::RDS::DBCluster"
DB_SNAPSHOT = "AWS::RDS::DBSnapshot"
DB_CLUSTER_SNAPSHOT = "AWS::RDS::DBClusterSnapshot"

CALLS = api_calls(
    "rds",
    "DescribeDBInstances",
    "DescribeDBClusters",
    "DescribeDBSnapshots",
    "DescribeDBSnapshotAttributes",
    "DescribeDBClusterSnapshots",
    "DescribeDBClusterSnapshotAttributes",
)

RESTORE_ATTRIBUTES = "supplementaryConfiguration.RestoreAttributes"


@dataclass(frozen=True, slots=True)
class SnapshotKind:
    """Listing and attribute calls of one kind of manual snapshot."""

    type_name: str
    list_operation: str
    list_key: str
    attributes_operation: str
    attributes_result: str
    attributes_key: str
    identifier: str
    """Field of the listing that names the snapshot, also the parameter of the attributes call."""

    arn: str
    not_found: str
    """Error code of the attributes call when the snapshot was deleted after the listing."""


DB_SNAPSHOTS = SnapshotKind(
    type_name=DB_SNAPSHOT,
    list_operation="DescribeDBSnapshots",
    list_key="DBSnapshots",
    attributes_operation="DescribeDBSnapshotAttributes",
    attributes_result="DBSnapshotAttributesResult",
    attributes_key="DBSnapshotAttributes",
    identifier="DBSnapshotIdentifier",
    arn="DBSnapshotArn",
    not_found="DBSnapshotNotFound",
)
DB_CLUSTER_SNAPSHOTS = SnapshotKind(
    type_name=DB_CLUSTER_SNAPSHOT,
    list_operation="DescribeDBClusterSnapshots",
    list_key="DBClusterSnapshots",
    attributes_operation="DescribeDBClusterSnapshotAttributes",
    attributes_result="DBClusterSnapshotAttributesResult",
    attributes_key="DBClusterSnapshotAttributes",
    identifier="DBClusterSnapshotIdentifier",
    arn="DBClusterSnapshotArn",
    not_found="DBClusterSnapshotNotFoundFault",
)


def collect(unit: UnitContext) -> None:
    """Collect the region's DB instances, DB clusters, and manual DB and cluster snapshots."""
    rds = unit.client("rds")

    try:
        instances = unit.paginate(rds, "DescribeDBInstances", "DBInstances")
    except CallFailed as failure:
        unit.fail_type(DB_INSTANCE, failure)
    else:
        for instance in instances:
            unit.add(instance_resource(unit, instance))

    try:
        clusters = unit.paginate(rds, "DescribeDBClusters", "DBClusters")
    except CallFailed as failure:
        unit.fail_type(DB_CLUSTER, failure)
    else:
        for cluster in clusters:
            unit.add(cluster_resource(unit, cluster))

    for kind in (DB_SNAPSHOTS, DB_CLUSTER_SNAPSHOTS):
        _collect_snapshots(unit, rds, kind)


def instance_resource(unit: UnitContext, instance: dict[str, Any]) -> Resource:
    """Turn one DescribeDBInstances item into an `AWS::RDS::DBInstance` resource."""
    relationships = _security_group_relationships(instance)
    subnet_group = (instance.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    if subnet_group:
        relationships.append(_subnet_group_relationship(subnet_group))
    return unit.new_resource(
        DB_INSTANCE, instance["DBInstanceArn"], instance["DBInstanceIdentifier"],
        configuration=_configuration(instance), tags=tag_dict(instance.get("TagList")),
        relationships=relationships,
    )


def cluster_resource(unit: UnitContext, cluster: dict[str, Any]) -> Resource:
    """Turn one DescribeDBClusters item into an `AWS::RDS::DBCluster` resource."""
    relationships = _security_group_relationships(cluster)
    # DescribeDBClusters names the subnet group with a plain string, unlike DescribeDBInstances.
    subnet_group = cluster.get("DBSubnetGroup")
    if isinstance(subnet_group, str) and subnet_group:
        relationships.append(_subnet_group_relationship(subnet_group))
    return unit.new_resource(
        DB_CLUSTER, cluster["DBClusterArn"], cluster["DBClusterIdentifier"],
        configuration=_configuration(cluster), tags=tag_dict(cluster.get("TagList")),
        relationships=relationships,
    )


def _configuration(item: dict[str, Any]) -> dict[str, Any]:
    # Tags move to the envelope's `tags`, as AWS Config records them outside the configuration.
    shaped: dict[str, Any] = config_shape({key: value for key, value in item.items() if key != "TagList"})
    return shaped


def _security_group_relationships(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": group["VpcSecurityGroupId"],
         "relationshipName": "Is associated with SecurityGroup"}
        for group in item.get("VpcSecurityGroups", [])
        if group.get("VpcSecurityGroupId")
    ]


def _subnet_group_relationship(name: str) -> dict[str, Any]:
    return {"resourceType": "AWS::RDS::DBSubnetGroup", "resourceId": name,
            "relationshipName": "Is associated with DBSubnetGroup"}


def _collect_snapshots(unit: UnitContext, rds: Any, kind: SnapshotKind) -> None:
    try:
        snapshots = unit.paginate(rds, kind.list_operation, kind.list_key, SnapshotType="manual")
    except CallFailed as failure:
        unit.fail_type(kind.type_name, failure)
        return

    for resource in unit.map(lambda snapshot: _collect_snapshot(unit, kind, snapshot), snapshots):
        unit.add(resource)


def _collect_snapshot(unit: UnitContext, kind: SnapshotKind, snapshot: dict[str, Any]) -> Resource:
    identifier = snapshot[kind.identifier]
    resource = unit.new_resource(kind.type_name, snapshot[kind.arn], identifier,
                                 configuration=_configuration(snapshot), tags=tag_dict(snapshot.get("TagList")))

    rds = unit.client("rds")
    try:
        # A snapshot deleted since the listing is shared with no account any more.
        response = unit.call(rds, kind.attributes_operation, missing=(kind.not_found,), resource_id=resource.id,
                             **{kind.identifier: identifier})
    except CallFailed as failure:
        unit.detail_failed(resource, RESTORE_ATTRIBUTES, failure)
        return resource
    if response is None:
        logger.debug("account %s region %s: snapshot %s was deleted during the scan", unit.account, unit.region,
                      resource.id)

    # NOTE: the key name RestoreAttributes is Ridgeline's. AWS Config's name for this supplementary
    # value of snapshots was not checked against a recorded configuration item.
    resource.supplementary["RestoreAttributes"] = restore_values(response, kind)
    return resource


def restore_values(response: dict[str, Any] | None, kind: SnapshotKind = DB_SNAPSHOTS) -> list[str]:
    """Return the values of the `restore` attribute: account ids allowed to restore, or "all"."""
    if response is None:
        return []
    attributes = (response.get(kind.attributes_result) or {}).get(kind.attributes_key) or []
    values: list[str] = []
    for attribute in attributes:
        if attribute.get("AttributeName") == "restore":
            values.extend(str(value) for value in attribute.get("AttributeValues") or [])
    return values


@dataclass(frozen=True, slots=True)
class _Lookup:
    """How to read one instance or cluster by identifier, for a targeted refresh."""

    operation: str
    parameter: str
    result_key: str
    not_found: str
    arn_kind: str
    """The ARN segment before the identifier: "db" or "cluster"."""


_LOOKUPS = {
    DB_INSTANCE: _Lookup("DescribeDBInstances", "DBInstanceIdentifier", "DBInstances", "DBInstanceNotFound", "db"),
    DB_CLUSTER: _Lookup("DescribeDBClusters", "DBClusterIdentifier", "DBClusters", "DBClusterNotFoundFault",
                        "cluster"),
}
_SNAPSHOT_ARN_KINDS = {DB_SNAPSHOT: "snapshot", DB_CLUSTER_SNAPSHOT: "cluster-snapshot"}


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named DB instances, clusters and manual snapshots (by identifier or ARN)."""
    rds = unit.client("rds")
    for type_name, identifiers in targets.items():
        wanted = list(dict.fromkeys(identifiers))
        if "*" in wanted:
            _refresh_all(unit, rds, type_name)
            continue
        for identifier in wanted:
            found = _refresh_one(unit, rds, type_name, identifier)
            if found is None:
                unit.mark_gone(type_name, _arn(unit, type_name, identifier))
            else:
                unit.add(found)


def _arn(unit: UnitContext, type_name: str, identifier: str) -> str:
    if identifier.startswith("arn:"):
        return identifier
    kind = _LOOKUPS[type_name].arn_kind if type_name in _LOOKUPS else _SNAPSHOT_ARN_KINDS[type_name]
    return f"arn:{unit.partition}:rds:{unit.region}:{unit.account}:{kind}:{identifier}"


def _refresh_all(unit: UnitContext, rds: Any, type_name: str) -> None:
    if type_name == DB_INSTANCE:
        for instance in unit.paginate(rds, "DescribeDBInstances", "DBInstances"):
            unit.add(instance_resource(unit, instance))
    elif type_name == DB_CLUSTER:
        for cluster in unit.paginate(rds, "DescribeDBClusters", "DBClusters"):
            unit.add(cluster_resource(unit, cluster))
    else:
        _collect_snapshots(unit, rds, DB_SNAPSHOTS if type_name == DB_SNAPSHOT else DB_CLUSTER_SNAPSHOTS)


def _refresh_one(unit: UnitContext, rds: Any, type_name: str, identifier: str) -> Resource | None:
    if type_name in _LOOKUPS:
        lookup = _LOOKUPS[type_name]
        response = unit.call(rds, lookup.operation, missing=(lookup.not_found,), resource_id=identifier,
                             **{lookup.parameter: identifier})
        items = (response or {}).get(lookup.result_key, [])
        if not items:
            return None
        build = instance_resource if type_name == DB_INSTANCE else cluster_resource
        return build(unit, items[0])

    kind = DB_SNAPSHOTS if type_name == DB_SNAPSHOT else DB_CLUSTER_SNAPSHOTS
    list_not_found = "DBSnapshotNotFound" if type_name == DB_SNAPSHOT else "DBClusterSnapshotNotFoundFault"
    response = unit.call(rds, kind.list_operation, missing=(list_not_found,), resource_id=identifier,
                         **{kind.identifier: identifier})
    snapshots = (response or {}).get(kind.list_key, [])
    if not snapshots:
        return None
    return _collect_snapshot(unit, kind, snapshots[0])


COLLECTOR = CollectorSpec(
    service="rds",
    global_service=False,
    calls=CALLS,
    resource_types=(DB_INSTANCE, DB_CLUSTER, DB_SNAPSHOT, DB_CLUSTER_SNAPSHOT),
    collect=collect,
    description="RDS DB instances, DB clusters and manual snapshots with their restore permissions",
)
