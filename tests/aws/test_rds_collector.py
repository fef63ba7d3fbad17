"""The RDS collector against moto's server: AWS Config shapes, restore attributes and API calls made."""

from __future__ import annotations

from typing import Any

from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.collectors.rds import DB_CLUSTER_SNAPSHOTS, restore_values
from ridgeline.providers.aws.scanner import AwsScanOptions, Collection, collect_aws
from ridgeline.providers.aws.session import AwsSession
from tests.conftest import AwsAccount

ACCOUNT = "123456789012"


def _collect(regions: list[str], recorder: CallRecorder | None = None) -> Collection:
    return collect_aws(AwsScanOptions(regions=regions, services=["rds"]), session=AwsSession(recorder=recorder))


def _by_name(collection: Collection, type_name: str) -> dict[str, Any]:
    return {resource.name: resource for resource in collection.resources if resource.type == type_name}


def _seed(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="db", Description="database", VpcId=vpc)["GroupId"]
    rds.create_db_instance(DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="dbadmin", MasterUserPassword="not-a-real-password", AllocatedStorage=20,
                           VpcSecurityGroupIds=[group], EnableIAMDatabaseAuthentication=True,
                           Tags=[{"Key": "team", "Value": "payments"}])
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-shared", DBInstanceIdentifier="orders")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="orders-shared", AttributeName="restore",
                                     ValuesToAdd=["111122223333", "all"])
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-private", DBInstanceIdentifier="orders")
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-mysql", MasterUsername="dbadmin",
                          MasterUserPassword="not-a-real-password", StorageEncrypted=True)
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="ledger-copy", DBClusterIdentifier="ledger")
    aws.client("rds", "eu-west-1").create_db_cluster(
        DBClusterIdentifier="eu-ledger", Engine="aurora-postgresql", MasterUsername="dbadmin",
        MasterUserPassword="not-a-real-password")


def test_instances_keep_aws_config_shape(aws: AwsAccount) -> None:
    _seed(aws)

    collection = _collect(["us-east-1"])

    instance = _by_name(collection, "AWS::RDS::DBInstance")["orders"]
    assert instance.id == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders"
    assert instance.region == "us-east-1"
    configuration = instance.configuration
    assert configuration["dBInstanceIdentifier"] == "orders"
    assert configuration["iAMDatabaseAuthenticationEnabled"] is True
    assert configuration["dbiResourceId"].startswith("db-")
    assert configuration["engine"] == "postgres"
    assert "tagList" not in configuration
    assert isinstance(configuration["instanceCreateTime"], str)
    assert configuration["instanceCreateTime"].endswith("Z")
    assert instance.tags == {"team": "payments"}
    group_id = configuration["vpcSecurityGroups"][0]["vpcSecurityGroupId"]
    assert {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": group_id,
            "relationshipName": "Is associated with SecurityGroup"} in instance.relationships
    assert instance.errors == {}


def test_clusters_are_collected_in_each_region(aws: AwsAccount) -> None:
    _seed(aws)

    collection = _collect(["us-east-1", "eu-west-1"])

    clusters = _by_name(collection, "AWS::RDS::DBCluster")
    assert set(clusters) == {"ledger", "eu-ledger"}
    assert clusters["ledger"].id == f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:ledger"
    assert clusters["ledger"].configuration["storageEncrypted"] is True
    assert clusters["ledger"].configuration["dBClusterIdentifier"] == "ledger"
    assert clusters["eu-ledger"].region == "eu-west-1"


def test_manual_snapshots_carry_restore_attributes(aws: AwsAccount) -> None:
    _seed(aws)

    collection = _collect(["us-east-1"])

    # moto also keeps an automated snapshot of the instance, which cannot be shared and is not collected.
    snapshots = _by_name(collection, "AWS::RDS::DBSnapshot")
    assert set(snapshots) == {"orders-shared", "orders-private"}
    shared = snapshots["orders-shared"]
    assert shared.id == f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:orders-shared"
    assert sorted(shared.supplementary["RestoreAttributes"]) == ["111122223333", "all"]
    assert shared.configuration["dBSnapshotIdentifier"] == "orders-shared"
    assert snapshots["orders-private"].supplementary["RestoreAttributes"] == []
    cluster_snapshots = _by_name(collection, "AWS::RDS::DBClusterSnapshot")
    assert set(cluster_snapshots) == {"ledger-copy"}
    assert cluster_snapshots["ledger-copy"].supplementary["RestoreAttributes"] == []
    assert cluster_snapshots["ledger-copy"].configuration["dBClusterSnapshotIdentifier"] == "ledger-copy"


def test_each_snapshot_attribute_call_is_made_once(aws: AwsAccount) -> None:
    _seed(aws)
    recorder = CallRecorder()

    _collect(["us-east-1", "eu-west-1"], recorder)

    counts = recorder.counts
    assert counts[("rds", "DescribeDBInstances")] == 2
    assert counts[("rds", "DescribeDBClusters")] == 2
    assert counts[("rds", "DescribeDBSnapshots")] == 2
    assert counts[("rds", "DescribeDBClusterSnapshots")] == 2
    assert counts[("rds", "DescribeDBSnapshotAttributes")] == 2
    assert counts[("rds", "DescribeDBClusterSnapshotAttributes")] == 1


def test_restore_values_ignore_other_attributes() -> None:
    response = {"DBClusterSnapshotAttributesResult": {"DBClusterSnapshotAttributes": [
        {"AttributeName": "restore", "AttributeValues": ["all", "111122223333"]},
        {"AttributeName": "other", "AttributeValues": ["444455556666"]},
    ]}}

    assert restore_values(response, DB_CLUSTER_SNAPSHOTS) == ["all", "111122223333"]
    assert restore_values(None, DB_CLUSTER_SNAPSHOTS) == []
    assert restore_values({}, DB_CLUSTER_SNAPSHOTS) == []
