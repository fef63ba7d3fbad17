"""Imported AWS Config items are judged as a live scan of the same resource, whatever AWS Config's spelling.

The live side runs the real collector on API responses written after the service's API reference and
checked against botocore's service model (botocore's Stubber). The import side writes the same resource
as AWS Config records it and reads it with `import_files`. Where AWS Config does not record a field that
a rule reads, the import must report ERROR, never a verdict.

The last tests cover every path that a built-in AWS rule reads, so that a new rule reading a field that
AWS Config spells differently fails here.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from botocore.stub import Stubber

from ridgeline.imports.aws_config_shapes import (
    AWS_CONFIG_SHAPES,
    NOT_RECORDED_REASON,
    ConfigShape,
    Rename,
    apply_envelope_spelling,
    restore_values,
)
from ridgeline.imports.collection import import_files
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.collectors import accessanalyzer, config, efs, iam, kms, rds
from ridgeline.providers.aws.session import AwsSession
from ridgeline.providers.aws.unit import UnitContext
from ridgeline.rules import conditions
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from ridgeline.rules.paths import MISSING
from ridgeline.rules.paths import Path as RulePath
from tests.conftest import SHARED_SAMPLES

ACCOUNT = "111122223333"
REGION = "us-east-1"
PASS, FAIL, ERROR = Status.PASS, Status.FAIL, Status.ERROR


# Both sides of one resource --------------------------------------------------------------------------

class _OneClientSession:
    """Stands in for AwsSession: every collector here uses one client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, name: str, region: str | None = None) -> Any:
        assert name == self._client.meta.service_model.service_name, name
        return self._client


def live_findings(rules: list[Rule], spec: CollectorSpec, responses: Sequence[tuple[str, Any]]) -> list[Finding]:
    """Run a collector on recorded responses and judge what it collected.

    `responses` are (boto3 method, response) in call order; a response that is a string is the error code
    of a failed call.
    """
    # The service name is a variable, which boto3's typed overloads do not take.
    create_client: Any = boto3.client
    client = create_client(spec.calls[0].client, region_name=REGION, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
    stubber = Stubber(client)
    for method, response in responses:
        if isinstance(response, str):
            stubber.add_client_error(method, service_error_code=response, http_status_code=403)
        else:
            stubber.add_response(method, response)
    unit = UnitContext(cast(AwsSession, _OneClientSession(client)), account=ACCOUNT, partition="aws", region=REGION,
                       service=spec.service, declared=spec.calls)
    with stubber:
        spec.collect(unit)
        stubber.assert_no_pending_responses()
    return Engine(rules).evaluate(unit.resources, [unit.coverage])


def config_item(resource_type: str, resource_id: str, arn: str, configuration: dict[str, Any],
                supplementary: dict[str, Any] | None = None) -> dict[str, Any]:
    """A configuration item as AWS Config delivers it in snapshot files."""
    return {"configurationItemVersion": "1.3", "configurationItemStatus": "OK", "awsAccountId": ACCOUNT,
            "configurationItemCaptureTime": "2025-05-01T10:00:00.000Z", "resourceType": resource_type,
            "resourceId": resource_id, "resourceName": resource_id, "ARN": arn, "awsRegion": REGION, "tags": {},
            "relationships": [], "configuration": configuration, "supplementaryConfiguration": supplementary or {}}


def imported_findings(rules: list[Rule], folder: Path, *items: dict[str, Any]) -> list[Finding]:
    path = folder / "snapshot.json"
    path.write_text(json.dumps({"configurationItems": list(items)}), encoding="utf-8")
    result = import_files([path])
    assert [issue.message for issue in result.report.errors] == []
    (collection,) = result.collections
    return Engine(rules).evaluate(collection.resources, collection.coverage)


def statuses(findings: list[Finding], rule_ids: Sequence[str], resource_id: str | None = None) -> dict[str, Status]:
    """Return the status of each rule: on `resource_id`, or of the rule's one scope finding when None."""
    found: dict[str, Status] = {}
    for rule_id in rule_ids:
        matching = [finding for finding in findings if finding.rule_id == rule_id
                    and (resource_id is None or finding.resource_id == resource_id)]
        assert len(matching) == 1, f"{rule_id}: expected one finding, found {len(matching)}"
        found[rule_id] = matching[0].status
    return found


# EFS: AWS Config records file systems in the CloudFormation registry's spelling ---------------------

EFS_ID = "fs-0a1b2c3d"
EFS_ARN = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{EFS_ID}"


@pytest.mark.parametrize("encrypted", [True, False])
def test_efs_file_system_judged_as_live(builtin_rules: list[Rule], tmp_path: Path, encrypted: bool) -> None:
    # DescribeFileSystems entry, fields as in the EFS API reference (FileSystemDescription).
    live = live_findings(builtin_rules, efs.COLLECTOR, [("describe_file_systems", {"FileSystems": [{
        "OwnerId": ACCOUNT, "CreationToken": "console-1", "FileSystemId": EFS_ID, "FileSystemArn": EFS_ARN,
        "CreationTime": datetime(2024, 3, 1, tzinfo=UTC), "LifeCycleState": "available", "NumberOfMountTargets": 1,
        "SizeInBytes": {"Value": 6144}, "PerformanceMode": "generalPurpose", "Encrypted": encrypted,
        "ThroughputMode": "bursting", "Tags": []}]})])
    # AWS Config spelling: configuration.Arn, Encrypted, FileSystemId, KmsKeyId, PerformanceMode and
    # ThroughputMode in the AWS::EFS::FileSystem property list of awslabs/aws-config-resource-schema.
    imported = imported_findings(builtin_rules, tmp_path, config_item("AWS::EFS::FileSystem", EFS_ID, EFS_ARN, {
        "FileSystemId": EFS_ID, "Arn": EFS_ARN, "Encrypted": encrypted, "PerformanceMode": "generalPurpose",
        "ThroughputMode": "bursting", "BackupPolicy": {"Status": "DISABLED"}, "LifecyclePolicies": [],
        "FileSystemTags": []}))

    rule_ids = ["aws-efs-file-system-encrypted"]
    expected = PASS if encrypted else FAIL
    assert statuses(live, rule_ids, EFS_ARN) == {"aws-efs-file-system-encrypted": expected}
    assert statuses(imported, rule_ids, EFS_ARN) == statuses(live, rule_ids, EFS_ARN)


# RDS clusters and snapshots: AWS Config lowers "DB" and "IAM" whole ---------------------------------

CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:ledger"
CLUSTER_RULES = ["aws-rds-iam-authentication", "aws-rds-storage-encrypted", "aws-rds-deletion-protection",
                 "aws-rds-multi-az", "aws-rds-backup-retention", "aws-rds-auto-minor-version-upgrade"]


def rds_responses(clusters: Sequence[dict[str, Any]] = (), snapshots: Sequence[dict[str, Any]] = (),
                  attributes: Sequence[dict[str, Any]] = ()) -> list[tuple[str, Any]]:
    """The calls of the RDS collector in order: instances, clusters, snapshots and their attributes."""
    responses: list[tuple[str, Any]] = [("describe_db_instances", {"DBInstances": []}),
                                        ("describe_db_clusters", {"DBClusters": list(clusters)}),
                                        ("describe_db_snapshots", {"DBSnapshots": list(snapshots)})]
    responses += [("describe_db_snapshot_attributes", {"DBSnapshotAttributesResult": {
        "DBSnapshotIdentifier": snapshot["DBSnapshotIdentifier"], "DBSnapshotAttributes": list(attributes)}})
        for snapshot in snapshots]
    responses.append(("describe_db_cluster_snapshots", {"DBClusterSnapshots": []}))
    return responses


@pytest.mark.parametrize("protected", [True, False])
def test_rds_cluster_judged_as_live(builtin_rules: list[Rule], tmp_path: Path, protected: bool) -> None:
    # DescribeDBClusters entry, fields as in the RDS API reference (DBCluster).
    live = live_findings(builtin_rules, rds.COLLECTOR, rds_responses(clusters=[{
        "DBClusterIdentifier": "ledger", "DBClusterArn": CLUSTER_ARN, "Engine": "aurora-mysql", "Status": "available",
        "StorageEncrypted": protected, "IAMDatabaseAuthenticationEnabled": protected,
        "DeletionProtection": protected, "MultiAZ": protected, "BackupRetentionPeriod": 7 if protected else 1,
        "AutoMinorVersionUpgrade": protected, "DBClusterParameterGroup": "default.aurora-mysql8.0",
        "DBSubnetGroup": "default",
        "DBClusterMembers": [{"DBInstanceIdentifier": "ledger-1", "IsClusterWriter": True,
                              "DBClusterParameterGroupStatus": "in-sync", "PromotionTier": 1}]}]))
    # AWS Config spelling: dbclusterIdentifier, dbclusterArn, iamdatabaseAuthenticationEnabled,
    # dbclusterMembers.dbinstanceIdentifier, dbsubnetGroup in the AWS::RDS::DBCluster property list of
    # awslabs/aws-config-resource-schema.
    imported = imported_findings(builtin_rules, tmp_path, config_item("AWS::RDS::DBCluster", "cluster-LEDGER",
                                                                      CLUSTER_ARN, {
        "dbclusterIdentifier": "ledger", "dbclusterArn": CLUSTER_ARN, "engine": "aurora-mysql", "status": "available",
        "storageEncrypted": protected, "iamdatabaseAuthenticationEnabled": protected,
        "deletionProtection": protected, "multiAZ": protected, "backupRetentionPeriod": 7 if protected else 1,
        "autoMinorVersionUpgrade": protected, "dbclusterParameterGroup": "default.aurora-mysql8.0",
        "dbsubnetGroup": "default",
        "dbclusterMembers": [{"dbinstanceIdentifier": "ledger-1", "isClusterWriter": True,
                              "dbclusterParameterGroupStatus": "in-sync", "promotionTier": 1}]}))

    expected = PASS if protected else FAIL
    assert statuses(live, CLUSTER_RULES, CLUSTER_ARN) == dict.fromkeys(CLUSTER_RULES, expected)
    assert statuses(imported, CLUSTER_RULES, CLUSTER_ARN) == statuses(live, CLUSTER_RULES, CLUSTER_ARN)


def test_rds_cluster_envelope_matches_live_spelling(tmp_path: Path) -> None:
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(config_item("AWS::RDS::DBCluster", "cluster-LEDGER", CLUSTER_ARN, {
        "dbclusterIdentifier": "ledger", "engine": "aurora-mysql", "storageEncrypted": True,
        "iamdatabaseAuthenticationEnabled": True,
        "dbclusterMembers": [{"dbinstanceIdentifier": "ledger-1", "isClusterWriter": True}]})), encoding="utf-8")
    (resource,) = import_files([path]).collections[0].resources

    assert resource.configuration["dBClusterIdentifier"] == "ledger"
    assert resource.configuration["iAMDatabaseAuthenticationEnabled"] is True
    assert resource.configuration["dBClusterMembers"] == [{"dBInstanceIdentifier": "ledger-1", "isClusterWriter": True}]
    # The recorded spelling is moved, not kept beside the envelope's.
    assert "dbclusterIdentifier" not in resource.configuration
    assert "iamdatabaseAuthenticationEnabled" not in resource.configuration


SNAPSHOT_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:orders-manual"
SNAPSHOT_RULES = ["aws-rds-snapshot-public", "aws-rds-snapshot-shared"]


@pytest.mark.parametrize("restore", [[], ["all"], ["444455556666"]], ids=["private", "public", "shared"])
def test_rds_snapshot_judged_as_live(builtin_rules: list[Rule], tmp_path: Path, restore: list[str]) -> None:
    snapshot = {"DBSnapshotIdentifier": "orders-manual", "DBSnapshotArn": SNAPSHOT_ARN, "Engine": "postgres",
                "Encrypted": True, "SnapshotType": "manual", "Status": "available"}
    live = live_findings(builtin_rules, rds.COLLECTOR, rds_responses(
        snapshots=[snapshot], attributes=[{"AttributeName": "restore", "AttributeValues": restore}]))
    # AWS Config records the DescribeDBSnapshotAttributes entries whole, as
    # supplementaryConfiguration.DBSnapshotAttributes (attributeName, attributeValues) in the
    # AWS::RDS::DBSnapshot property list of awslabs/aws-config-resource-schema.
    imported = imported_findings(builtin_rules, tmp_path, config_item(
        "AWS::RDS::DBSnapshot", "orders-manual", SNAPSHOT_ARN,
        {"dBSnapshotIdentifier": "orders-manual", "dBSnapshotArn": SNAPSHOT_ARN, "engine": "postgres",
         "encrypted": True, "snapshotType": "manual", "status": "available"},
        {"DBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": restore}]}))

    assert statuses(live, SNAPSHOT_RULES, SNAPSHOT_ARN) == {
        "aws-rds-snapshot-public": FAIL if "all" in restore else PASS,
        "aws-rds-snapshot-shared": FAIL if restore and "all" not in restore else PASS}
    assert statuses(imported, SNAPSHOT_RULES, SNAPSHOT_ARN) == statuses(live, SNAPSHOT_RULES, SNAPSHOT_ARN)


def test_rds_cluster_snapshot_restore_attributes(builtin_rules: list[Rule], tmp_path: Path) -> None:
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:ledger-copy"
    # AWS Config spelling: dbclusterSnapshotIdentifier and supplementaryConfiguration.DBClusterSnapshotAttributes
    # in the AWS::RDS::DBClusterSnapshot property list of awslabs/aws-config-resource-schema.
    imported = imported_findings(builtin_rules, tmp_path, config_item(
        "AWS::RDS::DBClusterSnapshot", "ledger-copy", arn,
        {"dbclusterSnapshotIdentifier": "ledger-copy", "dbclusterIdentifier": "ledger", "engine": "aurora-mysql",
         "storageEncrypted": True},
        {"DBClusterSnapshotAttributes": [{"attributeName": "restore", "attributeValues": ["all"]}]}))

    assert statuses(imported, [*SNAPSHOT_RULES, "aws-rds-snapshot-encrypted"], arn) == {
        "aws-rds-snapshot-public": FAIL, "aws-rds-snapshot-shared": PASS, "aws-rds-snapshot-encrypted": PASS}


def test_rds_snapshot_attributes_unreadable_are_unknown(builtin_rules: list[Rule], tmp_path: Path) -> None:
    imported = imported_findings(builtin_rules, tmp_path, config_item(
        "AWS::RDS::DBSnapshot", "orders-manual", SNAPSHOT_ARN,
        {"dBSnapshotIdentifier": "orders-manual", "encrypted": True}, {"DBSnapshotAttributes": {"restore": "all"}}))

    assert statuses(imported, SNAPSHOT_RULES, SNAPSHOT_ARN) == dict.fromkeys(SNAPSHOT_RULES, ERROR)


# IAM Access Analyzer: CloudFormation spelling, and no status ---------------------------------------

ANALYZER_ARN = f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/account-analyzer"


def analyzer_item(analyzer_type: str) -> dict[str, Any]:
    # AWS Config spelling: configuration.AnalyzerName, Arn, Type and ArchiveRules in the
    # AWS::AccessAnalyzer::Analyzer property list of awslabs/aws-config-resource-schema, which has no status.
    return config_item("AWS::AccessAnalyzer::Analyzer", "account-analyzer", ANALYZER_ARN, {
        "AnalyzerName": "account-analyzer", "Arn": ANALYZER_ARN, "Type": analyzer_type, "ArchiveRules": []})


@pytest.mark.parametrize("analyzer_type", ["ACCOUNT", "ACCOUNT_UNUSED_ACCESS"])
def test_access_analyzer_judged_as_live(builtin_rules: list[Rule], tmp_path: Path, analyzer_type: str) -> None:
    # ListAnalyzers entry, fields as in the IAM Access Analyzer API reference (AnalyzerSummary).
    live = live_findings(builtin_rules, accessanalyzer.COLLECTOR, [("list_analyzers", {"analyzers": [{
        "arn": ANALYZER_ARN, "name": "account-analyzer", "type": analyzer_type, "status": "ACTIVE",
        "createdAt": datetime(2024, 3, 1, tzinfo=UTC)}]})])
    imported = imported_findings(builtin_rules, tmp_path, analyzer_item(analyzer_type))

    rule_ids = ["aws-accessanalyzer-enabled"]
    if analyzer_type == "ACCOUNT":
        # Active live; the import cannot tell whether the analyzer is active, creating, disabled or failed.
        assert statuses(live, rule_ids) == {"aws-accessanalyzer-enabled": PASS}
        assert statuses(imported, rule_ids) == {"aws-accessanalyzer-enabled": ERROR}
    else:
        # An unused access analyzer does not count, whatever its status.
        assert statuses(live, rule_ids) == {"aws-accessanalyzer-enabled": FAIL}
        assert statuses(imported, rule_ids) == statuses(live, rule_ids)


def test_access_analyzer_status_reason(tmp_path: Path) -> None:
    path = tmp_path / "analyzer.json"
    path.write_text(json.dumps(analyzer_item("ACCOUNT")), encoding="utf-8")
    (resource,) = import_files([path]).collections[0].resources

    assert resource.configuration == {"name": "account-analyzer", "arn": ANALYZER_ARN, "type": "ACCOUNT",
                                      "ArchiveRules": []}
    assert resource.errors == {"configuration.status": NOT_RECORDED_REASON}


# Configuration recorders: CloudFormation spelling, status without lastStatus -----------------------

RECORDER_ARN = f"arn:aws:config:{REGION}:{ACCOUNT}:configuration-recorder/default/abcdef"
RECORDER_RULES = ["aws-config-recorder-enabled", "aws-config-global-resources-recorded"]


def recorder_responses(recording: bool) -> list[tuple[str, Any]]:
    # Fields as in the AWS Config API reference (ConfigurationRecorder, ConfigurationRecorderStatus).
    return [
        ("describe_configuration_recorders", {"ConfigurationRecorders": [{
            "arn": RECORDER_ARN, "name": "default", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True, "resourceTypes": []}}]}),
        ("describe_configuration_recorder_status", {"ConfigurationRecordersStatus": [{
            "arn": RECORDER_ARN, "name": "default", "recording": recording, "lastStatus": "SUCCESS"}]}),
        ("describe_delivery_channels", {"DeliveryChannels": []}),
    ]


def recorder_item(recording: bool | None) -> dict[str, Any]:
    # AWS Config spelling: configuration.Name, RoleARN, Recording, RecordingGroup.AllSupported,
    # RecordingGroup.IncludeGlobalResourceTypes and RecordingGroup.ResourceTypes in the
    # AWS::Config::ConfigurationRecorder property list of awslabs/aws-config-resource-schema.
    configuration: dict[str, Any] = {
        "Name": "default", "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
        "RecordingGroup": {"AllSupported": True, "IncludeGlobalResourceTypes": True, "ResourceTypes": []}}
    if recording is not None:
        configuration["Recording"] = recording
    return config_item("AWS::Config::ConfigurationRecorder", "default", RECORDER_ARN, configuration)


def test_recorder_not_recording_judged_as_live(builtin_rules: list[Rule], tmp_path: Path) -> None:
    live = live_findings(builtin_rules, config.COLLECTOR, recorder_responses(recording=False))
    imported = imported_findings(builtin_rules, tmp_path, recorder_item(recording=False))

    assert statuses(live, RECORDER_RULES) == dict.fromkeys(RECORDER_RULES, FAIL)
    assert statuses(imported, RECORDER_RULES) == statuses(live, RECORDER_RULES)


def test_recorder_recording_without_last_status(builtin_rules: list[Rule], tmp_path: Path) -> None:
    live = live_findings(builtin_rules, config.COLLECTOR, recorder_responses(recording=True))
    imported = imported_findings(builtin_rules, tmp_path, recorder_item(recording=True))

    assert statuses(live, RECORDER_RULES) == dict.fromkeys(RECORDER_RULES, PASS)
    # The global types rule reads the recording group and flag only, as AWS Config records them.
    assert statuses(imported, ["aws-config-global-resources-recorded"]) == {
        "aws-config-global-resources-recorded": PASS}
    # A recorder whose last recording failed is not enabled, and the item does not say whether it failed.
    assert statuses(imported, ["aws-config-recorder-enabled"]) == {"aws-config-recorder-enabled": ERROR}


def test_recorder_without_recording_flag_is_unknown(builtin_rules: list[Rule], tmp_path: Path) -> None:
    imported = imported_findings(builtin_rules, tmp_path, recorder_item(recording=None))

    assert statuses(imported, RECORDER_RULES) == dict.fromkeys(RECORDER_RULES, ERROR)


def test_recorder_envelope_matches_live_spelling(tmp_path: Path) -> None:
    path = tmp_path / "recorder.json"
    path.write_text(json.dumps(recorder_item(recording=True)), encoding="utf-8")
    (resource,) = import_files([path]).collections[0].resources

    assert resource.configuration == {
        "name": "default", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
        "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True, "resourceTypes": []}}
    assert resource.supplementary["ConfigurationRecorderStatus"] == {"recording": True}


# KMS keys recorded before KeySpec existed -----------------------------------------------------------

KEY_ID = "803e5b22-eb7b-4ff2-863b-8a4ea1e4b5a3"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
KEY_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]})


def kms_responses(rotating: bool) -> list[tuple[str, Any]]:
    # DescribeKey's KeyMetadata as in the KMS API reference, which today returns KeySpec and its deprecated
    # name CustomerMasterKeySpec.
    return [
        ("list_keys", {"Keys": [{"KeyId": KEY_ID, "KeyArn": KEY_ARN}], "Truncated": False}),
        ("describe_key", {"KeyMetadata": {
            "KeyId": KEY_ID, "Arn": KEY_ARN, "AWSAccountId": ACCOUNT, "KeyManager": "CUSTOMER", "KeyState": "Enabled",
            "Origin": "AWS_KMS", "KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": "ENCRYPT_DECRYPT", "Enabled": True, "CreationDate": datetime(2021, 5, 20, tzinfo=UTC)}}),
        ("get_key_policy", {"Policy": KEY_POLICY}),
        ("get_key_rotation_status", {"KeyRotationEnabled": rotating}),
        ("list_resource_tags", {"Tags": [], "Truncated": False}),
    ]


def old_key_item(**spec: str) -> dict[str, Any]:
    # An item recorded in 2021, before KMS added KeySpec: the configuration fields of a recorded advanced
    # query result (cloud-custodian, tests/data/placebo/test_kms_config_source/config.SelectResourceConfig_1.json).
    return config_item("AWS::KMS::Key", KEY_ID, KEY_ARN, {
        **spec, "keyState": "Enabled", "origin": "AWS_KMS", "encryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "keyId": KEY_ID, "creationDate": "2021-05-20T18:12:43.927Z", "signingAlgorithms": [], "enabled": True,
        "keyManager": "CUSTOMER", "keyUsage": "ENCRYPT_DECRYPT", "arn": KEY_ARN, "awsaccountId": ACCOUNT},
        {"Policy": KEY_POLICY, "KeyRotationStatus": False})


@pytest.mark.parametrize("rotating", [True, False])
def test_kms_key_without_key_spec_judged_as_live(builtin_rules: list[Rule], tmp_path: Path, rotating: bool) -> None:
    live = live_findings(builtin_rules, kms.COLLECTOR, kms_responses(rotating))
    item = old_key_item(customerMasterKeySpec="SYMMETRIC_DEFAULT")
    item["supplementaryConfiguration"]["KeyRotationStatus"] = rotating
    imported = imported_findings(builtin_rules, tmp_path, item)

    rule_ids = ["aws-kms-key-rotation"]
    assert statuses(live, rule_ids, KEY_ARN) == {"aws-kms-key-rotation": PASS if rotating else FAIL}
    assert statuses(imported, rule_ids, KEY_ARN) == statuses(live, rule_ids, KEY_ARN)


def test_kms_key_asymmetric_old_spelling_passes(builtin_rules: list[Rule], tmp_path: Path) -> None:
    imported = imported_findings(builtin_rules, tmp_path, old_key_item(customerMasterKeySpec="RSA_2048"))

    assert statuses(imported, ["aws-kms-key-rotation"], KEY_ARN) == {"aws-kms-key-rotation": PASS}


def test_kms_key_without_any_spec_is_unknown(builtin_rules: list[Rule], tmp_path: Path) -> None:
    imported = imported_findings(builtin_rules, tmp_path, old_key_item())

    assert statuses(imported, ["aws-kms-key-rotation"], KEY_ARN) == {"aws-kms-key-rotation": ERROR}


def test_kms_key_spec_wins_over_old_name(builtin_rules: list[Rule], tmp_path: Path) -> None:
    # KeySpec decides when both are present, even if they disagree.
    imported = imported_findings(builtin_rules, tmp_path, old_key_item(
        keySpec="HMAC_256", customerMasterKeySpec="SYMMETRIC_DEFAULT"))

    assert statuses(imported, ["aws-kms-key-rotation"], KEY_ARN) == {"aws-kms-key-rotation": PASS}


def test_kms_sample_key_without_key_spec_fails(builtin_rules: list[Rule], tmp_path: Path) -> None:
    sample = SHARED_SAMPLES / "aws" / "custodian-placebo" / "test_kms_config_source.config.SelectResourceConfig_1.json"
    if not sample.is_file():
        pytest.skip(f"the shared sample {sample} is absent from this checkout")
    # The advanced query selected configuration fields only, so the envelope fields are added around them.
    (row,) = json.loads(sample.read_text(encoding="utf-8"))["data"]["Results"]
    recorded = json.loads(row)
    arn = recorded["configuration"]["arn"]
    imported = imported_findings(builtin_rules, tmp_path, config_item(
        "AWS::KMS::Key", recorded["resourceId"], arn, recorded["configuration"],
        recorded["supplementaryConfiguration"]))

    # A customer managed symmetric key with KeyRotationStatus false, recorded with customerMasterKeySpec only.
    assert "keySpec" not in recorded["configuration"]
    assert statuses(imported, ["aws-kms-key-rotation"], arn) == {"aws-kms-key-rotation": FAIL}


# IAM server certificates: CloudFormation spelling, and no expiration ------------------------------

CERTIFICATE_ARN = f"arn:aws:iam::{ACCOUNT}:server-certificate/www"


@pytest.mark.parametrize("expired", [True, False])
def test_server_certificate_expiration_unknown(builtin_rules: list[Rule], tmp_path: Path, expired: bool) -> None:
    expiration = datetime(2020 if expired else 2099, 1, 1, tzinfo=UTC)
    # The IAM collector's calls in order; all but ListServerCertificates are denied, because only the
    # certificate is compared here. ServerCertificateMetadata as in the IAM API reference.
    live = live_findings(builtin_rules, iam.COLLECTOR, [
        ("generate_credential_report", "AccessDenied"),
        ("get_account_authorization_details", "AccessDenied"),
        ("get_account_summary", "AccessDenied"),
        ("list_virtual_mfa_devices", "AccessDenied"),
        ("get_account_password_policy", "AccessDenied"),
        ("list_server_certificates", {"ServerCertificateMetadataList": [{
            "Path": "/", "ServerCertificateName": "www", "ServerCertificateId": "ASCA0EXAMPLE0WWW01",
            "Arn": CERTIFICATE_ARN,
            "UploadDate": datetime(2019, 1, 1, tzinfo=UTC), "Expiration": expiration}], "IsTruncated": False}),
    ])
    # AWS Config spelling: configuration.Arn, Path, PrivateKey and ServerCertificateName in the
    # AWS::IAM::ServerCertificate property list of awslabs/aws-config-resource-schema, without an expiration.
    imported = imported_findings(builtin_rules, tmp_path, config_item(
        "AWS::IAM::ServerCertificate", "ASCA0EXAMPLE0WWW01", CERTIFICATE_ARN,
        {"Arn": CERTIFICATE_ARN, "Path": "/", "ServerCertificateName": "www"}))

    rule_ids = ["aws-iam-server-certificate-expired"]
    expected = FAIL if expired else PASS
    assert statuses(live, rule_ids, CERTIFICATE_ARN) == {"aws-iam-server-certificate-expired": expected}
    assert statuses(imported, rule_ids, CERTIFICATE_ARN) == {"aws-iam-server-certificate-expired": ERROR}


# The rewriting itself ---------------------------------------------------------------------------------

def resource_of(type_name: str, configuration: dict[str, Any], supplementary: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None) -> Resource:
    return Resource(provider="aws", account=ACCOUNT, region=REGION, type=type_name, id="r-1", name="r-1",
                    configuration=configuration, supplementary=supplementary or {}, errors=errors or {})


SHAPES = {"Test::Type": ConfigShape(
    renames=(Rename("configuration.Flag", "configuration.flag"),
             Rename("configuration.Nested.Value", "supplementaryConfiguration.Status.value"),
             Rename("supplementaryConfiguration.Attributes", "supplementaryConfiguration.Restore", restore_values)),
    not_recorded=("configuration.state",))}


def test_spelling_moves_fields() -> None:
    resource = resource_of("Test::Type", {"Flag": True, "Nested": {"Value": 3, "Other": 1}, "state": "on"})

    apply_envelope_spelling(resource, SHAPES)

    assert resource.configuration == {"flag": True, "Nested": {"Other": 1}, "state": "on"}
    assert resource.supplementary == {"Status": {"value": 3}}
    assert resource.errors == {}


def test_spelling_keeps_envelope_spelling() -> None:
    resource = resource_of("Test::Type", {"Flag": False, "flag": True, "state": "on"})

    apply_envelope_spelling(resource, SHAPES)

    assert resource.configuration == {"Flag": False, "flag": True, "state": "on"}


def test_spelling_marks_unrecorded_field() -> None:
    resource = resource_of("Test::Type", {"Flag": True})

    apply_envelope_spelling(resource, SHAPES)

    assert resource.errors == {"configuration.state": NOT_RECORDED_REASON}


def test_spelling_leaves_missing_configuration() -> None:
    resource = resource_of("Test::Type", {}, errors={"configuration": "is missing or null"})

    apply_envelope_spelling(resource, SHAPES)

    assert resource.errors == {"configuration": "is missing or null"}


def test_spelling_unreadable_value_is_unknown() -> None:
    resource = resource_of("Test::Type", {"state": "on"}, {"Attributes": "restore=all"})

    apply_envelope_spelling(resource, SHAPES)

    assert resource.supplementary == {"Attributes": "restore=all"}
    assert set(resource.errors) == {"supplementaryConfiguration.Restore"}
    assert "unexpected shape" in resource.errors["supplementaryConfiguration.Restore"]


def test_spelling_ignores_other_types() -> None:
    resource = resource_of("AWS::EC2::Volume", {"Encrypted": True})

    apply_envelope_spelling(resource)

    assert resource.configuration == {"Encrypted": True}
    assert resource.errors == {}


def test_restore_values_of_recorded_attributes() -> None:
    assert restore_values([{"attributeName": "restore", "attributeValues": ["all", "444455556666"]}]) == [
        "all", "444455556666"]
    assert restore_values([{"attributeName": "restore", "attributeValues": []}]) == []
    assert restore_values([{"attributeName": "other", "attributeValues": ["x"]}]) == []


# Every path a built-in rule reads -------------------------------------------------------------------

# Types that rules read but AWS Config records no item of, or none whose spelling a source shows.
WITHOUT_CONFIG_ITEM = {
    "AWS::Account::AlternateContact": "Ridgeline's item of GetAlternateContact; AWS Config records no such type",
    "AWS::EC2::EbsDefaultEncryption": "Ridgeline's item of GetEbsEncryptionByDefault; AWS Config records no such type",
    "AWS::EC2::Snapshot": "no AWS Config property list for the type and no recorded item among the samples",
    "AWS::IAM::AccountPasswordPolicy": "Ridgeline's item of GetAccountPasswordPolicy; AWS Config records no such type",
    "AWS::IAM::RootUser": "Ridgeline's item of GetAccountSummary; AWS Config records no such type",
    "AWS::Logs::LogGroup": "no AWS Config property list for the type and no recorded item among the samples",
    "AWS::SecurityHub::Hub": "no AWS Config property list for the type and no recorded item among the samples",
}


def url_encoded(document: dict[str, Any]) -> str:
    """A policy document as AWS Config records IAM policies: URL-encoded JSON text."""
    return urllib.parse.quote(json.dumps(document))


ADMIN_POLICY = url_encoded({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
ATTACHED = [{"policyName": "AdministratorAccess", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]

# One item per type, in AWS Config's spelling, holding every field that a rule reads and AWS Config records.
# Sources, per type: the property list of awslabs/aws-config-resource-schema (schema), or an example item of
# awslabs/aws-config-rdk (rdk/template/example_ci/<file>).
CONFIG_ITEMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # schema
    "AWS::AccessAnalyzer::Analyzer": (
        {"AnalyzerName": "a", "Arn": ANALYZER_ARN, "Type": "ACCOUNT", "ArchiveRules": []}, {}),
    # AWS_Cloudtrail_Trail.json, with kmsKeyId and cloudWatchLogsLogGroupArn from the schema
    "AWS::CloudTrail::Trail": (
        {"name": "t", "s3BucketName": "logs", "isMultiRegionTrail": True, "logFileValidationEnabled": True,
         "hasCustomEventSelectors": False, "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/k",
         "cloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:111122223333:log-group:trail:*",
         "homeRegion": REGION, "trailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}, {"Tags": []}),
    # schema
    "AWS::Config::ConfigurationRecorder": (
        {"Name": "default", "Recording": True, "RoleARN": "arn:aws:iam::111122223333:role/config",
         "RecordingGroup": {"AllSupported": True, "IncludeGlobalResourceTypes": True, "ResourceTypes": []}}, {}),
    # AWS_EC2_Instance.json, with iamInstanceProfile from the schema
    "AWS::EC2::Instance": (
        {"instanceId": "i-1", "metadataOptions": {"httpTokens": "optional", "httpEndpoint": "enabled"},
         "iamInstanceProfile": {"arn": "arn:aws:iam::111122223333:instance-profile/web", "id": "AIPA1"},
         "publicIpAddress": "34.205.29.138", "securityGroups": [{"groupName": "web", "groupId": "sg-1"}]}, {}),
    # schema
    "AWS::EC2::NetworkAcl": (
        {"networkAclId": "acl-1", "vpcId": "vpc-1", "isDefault": True, "entries": [
            {"cidrBlock": "0.0.0.0/0", "egress": False, "portRange": {"from": 22, "to": 22}, "protocol": "6",
             "ruleAction": "allow", "ruleNumber": 100}]}, {}),
    # AWS_EC2_SecurityGroup.json
    "AWS::EC2::SecurityGroup": (
        {"groupId": "sg-1", "groupName": "default", "vpcId": "vpc-1",
         "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "ipRanges": ["0.0.0.0/0"],
                            "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipv6Ranges": [], "prefixListIds": [],
                            "userIdGroupPairs": []}],
         "ipPermissionsEgress": []}, {}),
    # AWS_EC2_VPC.json
    "AWS::EC2::VPC": ({"vpcId": "vpc-1", "cidrBlock": "172.31.0.0/16", "isDefault": True}, {}),
    # AWS_EC2_Volume.json
    "AWS::EC2::Volume": ({"volumeId": "vol-1", "encrypted": True}, {}),
    # schema
    "AWS::EFS::FileSystem": ({"FileSystemId": EFS_ID, "Arn": EFS_ARN, "Encrypted": True,
                              "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/efs"}, {}),
    # AWS_IAM_Group.json, with the policy document URL-encoded as AWS Config records it
    "AWS::IAM::Group": (
        {"groupName": "ops", "groupPolicyList": [{"policyName": "p", "policyDocument": ADMIN_POLICY}],
         "attachedManagedPolicies": ATTACHED}, {}),
    # AWS_IAM_Policy.json
    "AWS::IAM::Policy": (
        {"policyName": "p", "policyVersionList": [{"document": ADMIN_POLICY, "versionId": "v1",
                                                   "isDefaultVersion": True}]}, {}),
    # AWS_IAM_Role.json
    "AWS::IAM::Role": (
        {"roleName": "r", "assumeRolePolicyDocument": ADMIN_POLICY, "attachedManagedPolicies": ATTACHED,
         "rolePolicyList": [{"policyName": "p", "policyDocument": ADMIN_POLICY}]}, {}),
    # schema
    "AWS::IAM::ServerCertificate": ({"Arn": CERTIFICATE_ARN, "Path": "/", "ServerCertificateName": "www"}, {}),
    # AWS_IAM_User.json
    "AWS::IAM::User": (
        {"userName": "u", "userPolicyList": [{"policyName": "p", "policyDocument": ADMIN_POLICY}],
         "attachedManagedPolicies": ATTACHED, "groupList": []}, {}),
    # AWS_KMS_Key.json
    "AWS::KMS::Key": (
        {"keyId": "k", "keyManager": "CUSTOMER", "keyState": "Enabled", "origin": "AWS_KMS",
         "customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keySpec": "SYMMETRIC_DEFAULT"},
        {"Policy": KEY_POLICY, "KeyRotationStatus": True}),
    # AWS_LAMBDA_FUNCTION.json, with the resource policy that AWS Config records when one is set
    "AWS::Lambda::Function": ({"functionName": "f", "runtime": "python3.12"}, {"Policy": KEY_POLICY}),
    # schema, as for clusters
    "AWS::RDS::DBCluster": (
        {"dbclusterIdentifier": "c", "engine": "aurora-mysql", "storageEncrypted": True,
         "iamdatabaseAuthenticationEnabled": True, "deletionProtection": True, "multiAZ": True,
         "backupRetentionPeriod": 7, "autoMinorVersionUpgrade": True}, {}),
    # schema
    "AWS::RDS::DBClusterSnapshot": (
        {"dbclusterSnapshotIdentifier": "s", "storageEncrypted": True},
        {"DBClusterSnapshotAttributes": [{"attributeName": "restore", "attributeValues": []}]}),
    # AWS_RDS_DBInstance.json, with dBClusterIdentifier, readReplicaSourceDBInstanceIdentifier and
    # iAMDatabaseAuthenticationEnabled from the schema
    "AWS::RDS::DBInstance": (
        {"dBInstanceIdentifier": "d", "engine": "mysql", "storageEncrypted": True, "publiclyAccessible": False,
         "multiAZ": True, "backupRetentionPeriod": 7, "autoMinorVersionUpgrade": True,
         "iAMDatabaseAuthenticationEnabled": True, "dBClusterIdentifier": "c",
         "readReplicaSourceDBInstanceIdentifier": "d0", "deletionProtection": True}, {}),
    # schema
    "AWS::RDS::DBSnapshot": (
        {"dBSnapshotIdentifier": "s", "encrypted": True},
        {"DBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": []}]}),
    # AWS_S3_AccountPublicAccessBlock.json
    "AWS::S3::AccountPublicAccessBlock": (
        {"blockPublicAcls": True, "ignorePublicAcls": True, "blockPublicPolicy": True, "restrictPublicBuckets": True},
        {}),
    # AWS_S3_Bucket.json, with the encryption and public access block settings from the schema
    "AWS::S3::Bucket": (
        {"name": "b"},
        {"AccessControlList": json.dumps({"grantList": [], "owner": {"id": "o"}}),
         "BucketLoggingConfiguration": {"destinationBucketName": "logs", "logFilePrefix": None},
         "BucketPolicy": {"policyText": KEY_POLICY},
         "BucketVersioningConfiguration": {"status": "Enabled", "isMfaDeleteEnabled": True},
         "PublicAccessBlockConfiguration": {"blockPublicAcls": True, "ignorePublicAcls": True,
                                            "blockPublicPolicy": True, "restrictPublicBuckets": True},
         "ServerSideEncryptionConfiguration": {"rules": [{"applyServerSideEncryptionByDefault": {
             "sseAlgorithm": "AES256"}}]}}),
}

# Paths that rules read on a type and that its AWS Config item lacks by design, with the reason.
ABSENT_FROM_ITEM: dict[str, dict[str, str]] = {
    "AWS::CloudTrail::Trail": {
        "supplementaryConfiguration.EventSelectors": "not in the schema; without selectors the checks decide by "
                                                     "hasCustomEventSelectors, and report unknown when it is true",
        "supplementaryConfiguration.AdvancedEventSelectors": "as EventSelectors",
    },
    "AWS::IAM::Group": {"configuration.userPolicyList": "a user's list",
                        "configuration.rolePolicyList": "a role's list"},
    "AWS::IAM::Role": {"configuration.userPolicyList": "a user's list",
                       "configuration.groupPolicyList": "a group's list"},
    "AWS::IAM::User": {"configuration.groupPolicyList": "a group's list",
                       "configuration.rolePolicyList": "a role's list"},
    # NOTE: AWS Config's Lambda property list has no environment, and no sample function has variables, so
    # whether AWS Config records them is not confirmed. An item without them judges as a function without.
    "AWS::Lambda::Function": {"configuration.environment.variables": "not in the schema; unconfirmed"},
    "AWS::RDS::DBCluster": {
        "configuration.readReplicaSourceDBInstanceIdentifier": "an instance's field, read for instances only"},
    "AWS::RDS::DBClusterSnapshot": {"configuration.encrypted": "a DB snapshot's field, read for those only"},
    "AWS::RDS::DBSnapshot": {"configuration.storageEncrypted": "a cluster snapshot's field, read for those only"},
}


def rule_reads(rules: list[Rule]) -> dict[str, set[str]]:
    """Return, per resource type, the paths that the AWS rules read on resources of that type.

    A path inside an item quantifier is written `LIST[].FIELD`. Lookups (`related`, `count`) read the
    paths of their `where` on the type they look up.
    """
    reads: dict[str, set[str]] = {}

    def add(type_name: str, path: str) -> None:
        reads.setdefault(type_name, set()).add(path)

    def walk(node: conditions.Node, type_name: str, items: str) -> None:
        def located(path: RulePath) -> str | None:
            if not path.relative:
                return path.text
            if path.text == "@" or not items:
                return None
            return f"{items}[].{path.text.removeprefix('@.')}"

        if isinstance(node, conditions.AllNode):
            for child in node.children:
                walk(child, type_name, items)
        elif isinstance(node, conditions.NotNode):
            walk(node.child, type_name, items)
        elif isinstance(node, conditions.LeafNode):
            text = located(node.path)
            if text is not None:
                add(type_name, text)
        elif isinstance(node, conditions.ItemsNode):
            text = located(node.path)
            if text is not None:
                add(type_name, text)
                walk(node.where, type_name, text)
        elif isinstance(node, conditions.CheckNode):
            for path in node.path_values.values():
                text = located(path)
                if text is not None:
                    add(type_name, text)
        elif isinstance(node, conditions.RelatedNode):
            if node.value_path is not None:
                text = located(node.value_path)
                if text is not None:
                    add(type_name, text)
            walk(node.where, node.type_name, "")
        elif isinstance(node, conditions.CountNode):
            walk(node.where, node.type_name, "")
        else:
            raise AssertionError(f"unknown condition node {type(node).__name__}: extend rule_reads")

    for rule in rules:
        if rule.provider != "aws":
            continue
        for type_name in rule.resource_types:
            for node in (rule.applies_if, rule.fail_if, rule.require_one):
                if node is not None:
                    walk(node, type_name, "")
    return reads


def read_anywhere(resource: Resource, path: str) -> bool:
    """Tell whether `path` (with at most one `[]`) leads to a value, in at least one item of a list."""
    if "[]." not in path:
        return RulePath(path).get(resource) not in (MISSING, None)
    list_path, field = path.split("[].", 1)
    items = RulePath(list_path).get(resource)
    if isinstance(items, dict):
        items = list(items.values())
    if not isinstance(items, list):
        return False
    return any(RulePath(field, relative=True).get(item) not in (MISSING, None) for item in items)


def exempt(path: str, allowed: Mapping[str, str]) -> bool:
    """Tell whether `path` is one of `allowed` or lies inside one (`userPolicyList[].policyDocument`)."""
    return any(path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")) for prefix in allowed)


def unknown_on(resource: Resource, path: str) -> bool:
    return RulePath(path.split("[]", 1)[0]).error_for(resource) is not None


def imported_resource(folder: Path, type_name: str) -> Resource:
    configuration, supplementary = CONFIG_ITEMS[type_name]
    item = config_item(type_name, "r-1", f"arn:aws:test:{REGION}:{ACCOUNT}:r-1", json.loads(json.dumps(configuration)),
                       json.loads(json.dumps(supplementary)))
    path = folder / "item.json"
    path.write_text(json.dumps(item), encoding="utf-8")
    result = import_files([path])
    assert [issue.message for issue in result.report.errors] == []
    (resource,) = result.collections[0].resources
    return resource


def test_every_rule_type_classified(builtin_rules: list[Rule]) -> None:
    # A rule on a new type needs an item of that type in AWS Config's spelling, or a reason why there is none.
    read_types = set(rule_reads(builtin_rules))

    assert read_types - set(CONFIG_ITEMS) - set(WITHOUT_CONFIG_ITEM) == set()
    assert set(CONFIG_ITEMS) & set(WITHOUT_CONFIG_ITEM) == set()
    assert set(AWS_CONFIG_SHAPES) <= set(CONFIG_ITEMS)


@pytest.mark.parametrize("type_name", sorted(CONFIG_ITEMS))
def test_rule_paths_read_in_config_spelling(builtin_rules: list[Rule], tmp_path: Path, type_name: str) -> None:
    resource = imported_resource(tmp_path, type_name)
    allowed = ABSENT_FROM_ITEM.get(type_name, {})

    unread = sorted(path for path in rule_reads(builtin_rules).get(type_name, set())
                    if path.split(".", 1)[0] in ("configuration", "supplementaryConfiguration")
                    and not exempt(path, allowed) and not read_anywhere(resource, path)
                    and not unknown_on(resource, path))

    # Each path listed here is read by a rule but absent after import: AWS Config spells it otherwise (add
    # the spelling to AWS_CONFIG_SHAPES) or the item above lacks it (add it as AWS Config records it).
    assert unread == []


@pytest.mark.parametrize("type_name", sorted(ABSENT_FROM_ITEM))
def test_absent_paths_still_read(builtin_rules: list[Rule], type_name: str) -> None:
    # An exemption for a path that no rule reads any more hides nothing, and is removed.
    assert set(ABSENT_FROM_ITEM[type_name]) <= rule_reads(builtin_rules).get(type_name, set())


def near_misses(resource: Resource, paths: set[str]) -> list[str]:
    """Return keys of `resource` that differ from a path's key in letter case only (`dbclusterIdentifier`)."""
    found = []
    for path in sorted(paths):
        root, *keys = path.replace("[]", "").split(".")
        if root not in ("configuration", "supplementaryConfiguration"):
            continue
        container: Any = resource.configuration if root == "configuration" else resource.supplementary
        for key in keys:
            if isinstance(container, list):
                container = next((item for item in container if isinstance(item, dict)), None)
            if not isinstance(container, dict):
                break
            if key not in container:
                found += [f"{path}: {other}" for other in container if other.lower() == key.lower()]
                break
            container = container[key]
    return found


def sample_resources() -> Iterator[Resource]:
    folder = SHARED_SAMPLES / "aws"
    if not folder.is_dir():
        pytest.skip(f"the shared sample folder {folder} is absent from this checkout")
    files = sorted(path for path in folder.rglob("*.json") if "ListDiscoveredResources" not in path.name)
    for collection in import_files(files).collections:
        yield from collection.resources


def test_samples_spelled_as_rules_read(builtin_rules: list[Rule]) -> None:
    reads = rule_reads(builtin_rules)
    resources = list(sample_resources())
    assert len(resources) >= 20

    misses = [f"{resource.type} {miss}" for resource in resources
              for miss in near_misses(resource, reads.get(resource.type, set()))]

    assert misses == []


@pytest.mark.parametrize("type_name", sorted(AWS_CONFIG_SHAPES))
def test_config_spelling_not_left(builtin_rules: list[Rule], tmp_path: Path, type_name: str) -> None:
    # The recorded spelling of every renamed field is gone after import, so no rule could read it by mistake.
    resource = imported_resource(tmp_path, type_name)
    shape: ConfigShape = AWS_CONFIG_SHAPES[type_name]

    assert near_misses(resource, rule_reads(builtin_rules).get(type_name, set())) == []
    for rename in shape.renames:
        assert not read_anywhere(resource, rename.source), rename.source


def test_table_paths_are_envelope_paths() -> None:
    for type_name, shape in AWS_CONFIG_SHAPES.items():
        for rename in shape.renames:
            assert rename.source != rename.target, type_name
            for path in (rename.source, rename.target):
                assert path.split(".", 1)[0] in ("configuration", "supplementaryConfiguration"), (type_name, path)
        for path in shape.not_recorded:
            assert path.split(".", 1)[0] in ("configuration", "supplementaryConfiguration"), (type_name, path)

