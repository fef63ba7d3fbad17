"""RDS rules against moto's server: a failing resource and a passing twin for each rule."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.rules.engine import Engine, ResourceIndex
from tests.conftest import AwsAccount, finding_for, findings_of, status_of

ACCOUNT = "123456789012"

SECURE_INSTANCE: dict[str, Any] = {
    "StorageEncrypted": True,
    "PubliclyAccessible": False,
    "AutoMinorVersionUpgrade": True,
    "BackupRetentionPeriod": 7,
    "DeletionProtection": True,
    "EnableIAMDatabaseAuthentication": True,
    "MultiAZ": True,
}
SECURE_CLUSTER: dict[str, Any] = {
    "StorageEncrypted": True,
    "BackupRetentionPeriod": 14,
    "DeletionProtection": True,
    "EnableIAMDatabaseAuthentication": True,
}


def _create_instance(rds: Any, name: str, engine: str = "postgres", **settings: Any) -> None:
    rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine=engine,
                           MasterUsername="dbadmin", MasterUserPassword="not-a-real-password",
                           AllocatedStorage=20, **settings)


def _create_cluster(rds: Any, name: str, **settings: Any) -> None:
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername="dbadmin",
                          MasterUserPassword="not-a-real-password", **settings)


def _evaluate(rules: list[Any], rule_id: str, resource: Resource) -> Status:
    rule = next(rule for rule in rules if rule.id == rule_id)
    return Engine([rule]).evaluate_resource(rule, resource, ResourceIndex([resource])).status


# (rule, settings that break it on a DB instance, evidence path, evidence value)
INSTANCE_CASES = [
    ("aws-rds-storage-encrypted", {"StorageEncrypted": False}, "configuration.storageEncrypted", False),
    ("aws-rds-instance-public-access", {"PubliclyAccessible": True}, "configuration.publiclyAccessible", True),
    ("aws-rds-auto-minor-version-upgrade", {"AutoMinorVersionUpgrade": False},
     "configuration.autoMinorVersionUpgrade", False),
    ("aws-rds-backup-retention", {"BackupRetentionPeriod": 6}, "configuration.backupRetentionPeriod", 6),
    ("aws-rds-deletion-protection", {"DeletionProtection": False}, "configuration.deletionProtection", False),
    ("aws-rds-iam-authentication", {"EnableIAMDatabaseAuthentication": False},
     "configuration.iAMDatabaseAuthenticationEnabled", False),
    ("aws-rds-multi-az", {"MultiAZ": False}, "configuration.multiAZ", False),
]


@pytest.mark.parametrize(("rule_id", "weakened", "evidence_path", "evidence_value"), INSTANCE_CASES,
                         ids=[case[0] for case in INSTANCE_CASES])
def test_instance_rules_fail_and_pass(aws: AwsAccount, rule_id: str, weakened: dict[str, Any],
                                      evidence_path: str, evidence_value: Any) -> None:
    rds = aws.client("rds")
    _create_instance(rds, "weak-db", **{**SECURE_INSTANCE, **weakened})
    _create_instance(rds, "secure-db", **SECURE_INSTANCE)

    result = aws.scan(["rds"])

    failing = finding_for(result, rule_id, "weak-db")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::RDS::DBInstance"
    assert failing.resource_id == f"arn:aws:rds:us-east-1:{ACCOUNT}:db:weak-db"
    assert failing.evidence[evidence_path] == evidence_value
    assert status_of(result, rule_id, "secure-db") is Status.PASS


# (rule, settings that break it on a DB cluster, evidence path, evidence value)
CLUSTER_CASES = [
    ("aws-rds-storage-encrypted", {"StorageEncrypted": False}, "configuration.storageEncrypted", False),
    ("aws-rds-auto-minor-version-upgrade", {"AutoMinorVersionUpgrade": False},
     "configuration.autoMinorVersionUpgrade", False),
    ("aws-rds-backup-retention", {"BackupRetentionPeriod": 1}, "configuration.backupRetentionPeriod", 1),
    ("aws-rds-deletion-protection", {"DeletionProtection": False}, "configuration.deletionProtection", False),
    ("aws-rds-iam-authentication", {"EnableIAMDatabaseAuthentication": False},
     "configuration.iAMDatabaseAuthenticationEnabled", False),
]


@pytest.mark.parametrize(("rule_id", "weakened", "evidence_path", "evidence_value"), CLUSTER_CASES,
                         ids=[case[0] for case in CLUSTER_CASES])
def test_cluster_rules_fail_and_pass(aws: AwsAccount, rule_id: str, weakened: dict[str, Any],
                                     evidence_path: str, evidence_value: Any) -> None:
    rds = aws.client("rds")
    _create_cluster(rds, "weak-cluster", **{**SECURE_CLUSTER, **weakened})
    _create_cluster(rds, "secure-cluster", **SECURE_CLUSTER)

    result = aws.scan(["rds"])

    failing = finding_for(result, rule_id, "weak-cluster")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::RDS::DBCluster"
    assert failing.resource_id == f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:weak-cluster"
    assert failing.evidence[evidence_path] == evidence_value
    assert status_of(result, rule_id, "secure-cluster") is Status.PASS


def test_cluster_multi_az_follows_member_zones(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_cluster(rds, "single-zone", **SECURE_CLUSTER)
    rds.create_db_instance(DBInstanceIdentifier="single-zone-1", DBInstanceClass="db.r6g.large",
                           Engine="aurora-postgresql", DBClusterIdentifier="single-zone",
                           AvailabilityZone="us-east-1a")
    _create_cluster(rds, "two-zones", **SECURE_CLUSTER)
    for index, zone in enumerate(("us-east-1a", "us-east-1b")):
        rds.create_db_instance(DBInstanceIdentifier=f"two-zones-{index}", DBInstanceClass="db.r6g.large",
                               Engine="aurora-postgresql", DBClusterIdentifier="two-zones", AvailabilityZone=zone)

    result = aws.scan(["rds"])

    failing = finding_for(result, "aws-rds-multi-az", "single-zone")
    assert failing.status is Status.FAIL
    assert failing.evidence["configuration.multiAZ"] is False
    assert status_of(result, "aws-rds-multi-az", "two-zones") is Status.PASS


def test_cluster_members_judged_through_cluster(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_cluster(rds, "aurora", **SECURE_CLUSTER)
    # moto reports the member's own defaults (unencrypted, 1-day backups, no deletion protection), which
    # Aurora ignores. The rules must judge the cluster's settings instead.
    rds.create_db_instance(DBInstanceIdentifier="aurora-1", DBInstanceClass="db.r6g.large",
                           Engine="aurora-postgresql", DBClusterIdentifier="aurora")

    result = aws.scan(["rds"])

    for rule_id in ("aws-rds-storage-encrypted", "aws-rds-backup-retention", "aws-rds-deletion-protection",
                    "aws-rds-iam-authentication", "aws-rds-multi-az"):
        # A member instance is judged through its cluster: no finding of its own, neither PASS nor FAIL.
        assert [f for f in findings_of(result, rule_id) if f.resource_name == "aurora-1"] == [], rule_id
    # Public access is a setting of each instance, also in a cluster.
    assert status_of(result, "aws-rds-instance-public-access", "aurora-1") is Status.PASS


def test_read_replica_passes_backup_retention(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_instance(rds, "source-db", **SECURE_INSTANCE)
    rds.create_db_instance_read_replica(DBInstanceIdentifier="replica-db", SourceDBInstanceIdentifier="source-db")
    rds.modify_db_instance(DBInstanceIdentifier="replica-db", BackupRetentionPeriod=0, ApplyImmediately=True)

    result = aws.scan(["rds"])

    replica = next(resource for resource in result.collection.resources if resource.name == "replica-db")
    assert replica.configuration["backupRetentionPeriod"] == 0
    assert replica.configuration["readReplicaSourceDBInstanceIdentifier"] == "source-db"
    assert [f for f in findings_of(result, "aws-rds-backup-retention") if f.resource_name == "replica-db"] == []
    assert status_of(result, "aws-rds-backup-retention", "source-db") is Status.PASS


def test_iam_authentication_skips_unsupported_engines(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_instance(rds, "oracle-db", engine="oracle-ee", **{**SECURE_INSTANCE,
                                                             "EnableIAMDatabaseAuthentication": False})
    _create_instance(rds, "mysql-db", engine="mysql", **{**SECURE_INSTANCE,
                                                         "EnableIAMDatabaseAuthentication": False})

    result = aws.scan(["rds"])

    assert status_of(result, "aws-rds-iam-authentication", "oracle-db") is Status.PASS
    assert status_of(result, "aws-rds-iam-authentication", "mysql-db") is Status.FAIL


def test_aurora_cluster_without_upgrade_field(aws: AwsAccount) -> None:
    # moto always reports AutoMinorVersionUpgrade on clusters, but AWS reports it only for Multi-AZ DB
    # clusters, so an Aurora cluster without the field is built by hand.
    aurora = Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::RDS::DBCluster",
                      id=f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:aurora", name="aurora",
                      configuration={"dBClusterIdentifier": "aurora", "engine": "aurora-mysql"})

    assert _evaluate(aws.rules, "aws-rds-auto-minor-version-upgrade", aurora) is Status.PASS


def _snapshot_of(rds: Any, instance: str, snapshot: str, restore: list[str] | None = None) -> None:
    rds.create_db_snapshot(DBSnapshotIdentifier=snapshot, DBInstanceIdentifier=instance)
    if restore:
        rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=snapshot, AttributeName="restore",
                                         ValuesToAdd=restore)


def _cluster_snapshot_of(rds: Any, cluster: str, snapshot: str, restore: list[str] | None = None) -> None:
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot, DBClusterIdentifier=cluster)
    if restore:
        rds.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier=snapshot, AttributeName="restore",
                                                 ValuesToAdd=restore)


def test_snapshot_public(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_instance(rds, "db", **SECURE_INSTANCE)
    _snapshot_of(rds, "db", "public-snapshot", ["all"])
    _snapshot_of(rds, "db", "private-snapshot")
    _create_cluster(rds, "cluster", **SECURE_CLUSTER)
    _cluster_snapshot_of(rds, "cluster", "public-cluster-snapshot", ["all"])
    _cluster_snapshot_of(rds, "cluster", "private-cluster-snapshot")

    result = aws.scan(["rds"])

    failing = finding_for(result, "aws-rds-snapshot-public", "public-snapshot")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::RDS::DBSnapshot"
    assert failing.resource_id == f"arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:public-snapshot"
    assert failing.evidence["supplementaryConfiguration.RestoreAttributes (matching items)"] == ["all"]
    failing_cluster = finding_for(result, "aws-rds-snapshot-public", "public-cluster-snapshot")
    assert failing_cluster.status is Status.FAIL
    assert failing_cluster.resource_type == "AWS::RDS::DBClusterSnapshot"
    assert status_of(result, "aws-rds-snapshot-public", "private-snapshot") is Status.PASS
    assert status_of(result, "aws-rds-snapshot-public", "private-cluster-snapshot") is Status.PASS


def test_snapshot_shared(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_instance(rds, "db", **SECURE_INSTANCE)
    _snapshot_of(rds, "db", "shared-snapshot", ["111122223333"])
    _snapshot_of(rds, "db", "public-snapshot", ["all"])
    _snapshot_of(rds, "db", "private-snapshot")
    _create_cluster(rds, "cluster", **SECURE_CLUSTER)
    _cluster_snapshot_of(rds, "cluster", "shared-cluster-snapshot", ["111122223333"])

    result = aws.scan(["rds"])

    failing = finding_for(result, "aws-rds-snapshot-shared", "shared-snapshot")
    assert failing.status is Status.FAIL
    assert failing.evidence["supplementaryConfiguration.RestoreAttributes (matching items)"] == ["111122223333"]
    assert status_of(result, "aws-rds-snapshot-shared", "shared-cluster-snapshot") is Status.FAIL
    # A public snapshot is reported by aws-rds-snapshot-public, not as a share with named accounts.
    assert status_of(result, "aws-rds-snapshot-shared", "public-snapshot") is Status.PASS
    assert status_of(result, "aws-rds-snapshot-shared", "private-snapshot") is Status.PASS


def test_snapshot_encrypted(aws: AwsAccount) -> None:
    rds = aws.client("rds")
    _create_instance(rds, "plain-db", **{**SECURE_INSTANCE, "StorageEncrypted": False})
    _create_instance(rds, "encrypted-db", **SECURE_INSTANCE)
    _snapshot_of(rds, "plain-db", "plain-snapshot")
    _snapshot_of(rds, "encrypted-db", "encrypted-snapshot")
    _create_cluster(rds, "plain-cluster", **{**SECURE_CLUSTER, "StorageEncrypted": False})
    _create_cluster(rds, "encrypted-cluster", **SECURE_CLUSTER)
    _cluster_snapshot_of(rds, "plain-cluster", "plain-cluster-snapshot")
    _cluster_snapshot_of(rds, "encrypted-cluster", "encrypted-cluster-snapshot")

    result = aws.scan(["rds"])

    failing = finding_for(result, "aws-rds-snapshot-encrypted", "plain-snapshot")
    assert failing.status is Status.FAIL
    assert failing.evidence["configuration.encrypted"] is False
    failing_cluster = finding_for(result, "aws-rds-snapshot-encrypted", "plain-cluster-snapshot")
    assert failing_cluster.status is Status.FAIL
    assert failing_cluster.evidence["configuration.storageEncrypted"] is False
    assert status_of(result, "aws-rds-snapshot-encrypted", "encrypted-snapshot") is Status.PASS
    assert status_of(result, "aws-rds-snapshot-encrypted", "encrypted-cluster-snapshot") is Status.PASS
