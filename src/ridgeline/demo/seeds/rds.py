"""Demo RDS resources: a neglected public database with public and shared snapshots, an unprotected
cluster, and secured twins in eu-west-1."""

from __future__ import annotations

from typing import Any

from ridgeline.demo.emulator import emulator_client

# Seeded only into the emulator, and no real database uses it.
_DEMO_PASSWORD = "demo-only-password"
_OTHER_ACCOUNT = "111122223333"


def seed(endpoint: str) -> int:
    """Create the demo DB instances, clusters and snapshots, and return how many."""
    us = emulator_client(endpoint, "rds")
    eu = emulator_client(endpoint, "rds", "eu-west-1")

    # Everything a database can get wrong at once: public, unencrypted, one day of backups, no
    # deletion protection, password-only logins, one Availability Zone, no automatic minor upgrades.
    _instance(us, "demo-public-db", PubliclyAccessible=True, StorageEncrypted=False, BackupRetentionPeriod=1,
              DeletionProtection=False, EnableIAMDatabaseAuthentication=False, MultiAZ=False,
              AutoMinorVersionUpgrade=False)
    us.create_db_snapshot(DBSnapshotIdentifier="demo-public-snapshot", DBInstanceIdentifier="demo-public-db")
    us.modify_db_snapshot_attribute(DBSnapshotIdentifier="demo-public-snapshot", AttributeName="restore",
                                    ValuesToAdd=["all"])
    us.create_db_snapshot(DBSnapshotIdentifier="demo-shared-snapshot", DBInstanceIdentifier="demo-public-db")
    us.modify_db_snapshot_attribute(DBSnapshotIdentifier="demo-shared-snapshot", AttributeName="restore",
                                    ValuesToAdd=[_OTHER_ACCOUNT])

    us.create_db_cluster(DBClusterIdentifier="demo-unprotected-cluster", Engine="aurora-postgresql",
                         MasterUsername="dbadmin", MasterUserPassword=_DEMO_PASSWORD, StorageEncrypted=False,
                         BackupRetentionPeriod=1, DeletionProtection=False, AutoMinorVersionUpgrade=False)
    us.create_db_instance(DBInstanceIdentifier="demo-unprotected-cluster-1", DBInstanceClass="db.r6g.large",
                          Engine="aurora-postgresql", DBClusterIdentifier="demo-unprotected-cluster")
    us.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="demo-public-cluster-snapshot",
                                  DBClusterIdentifier="demo-unprotected-cluster")
    us.modify_db_cluster_snapshot_attribute(DBClusterSnapshotIdentifier="demo-public-cluster-snapshot",
                                            AttributeName="restore", ValuesToAdd=["all"])

    _instance(eu, "demo-secure-db", PubliclyAccessible=False, StorageEncrypted=True, BackupRetentionPeriod=14,
              DeletionProtection=True, EnableIAMDatabaseAuthentication=True, MultiAZ=True,
              AutoMinorVersionUpgrade=True)
    eu.create_db_snapshot(DBSnapshotIdentifier="demo-secure-snapshot", DBInstanceIdentifier="demo-secure-db")

    eu.create_db_cluster(DBClusterIdentifier="demo-secure-cluster", Engine="aurora-mysql", MasterUsername="dbadmin",
                         MasterUserPassword=_DEMO_PASSWORD, StorageEncrypted=True, BackupRetentionPeriod=14,
                         DeletionProtection=True, EnableIAMDatabaseAuthentication=True)
    for index, zone in enumerate(("eu-west-1a", "eu-west-1b")):
        eu.create_db_instance(DBInstanceIdentifier=f"demo-secure-cluster-{index + 1}", DBInstanceClass="db.r6g.large",
                              Engine="aurora-mysql", DBClusterIdentifier="demo-secure-cluster", AvailabilityZone=zone)
    eu.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="demo-secure-cluster-snapshot",
                                  DBClusterIdentifier="demo-secure-cluster")
    return 12


def _instance(client: Any, name: str, **settings: Any) -> None:
    client.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                              MasterUsername="dbadmin", MasterUserPassword=_DEMO_PASSWORD, AllocatedStorage=20,
                              **settings)
