"""Imported items lacking a field that the provider's API returns for every resource of their type report ERROR.

A cut-down item (an advanced query that selected single fields, or one made by hand) must not pass a rule
because the field it reads is absent: an RDS instance without `publiclyAccessible` is not private. Each case
below is a provider-shaped item with every field of ALWAYS_RETURNED_CONFIGURATION, which the rules judge.
Without one of those fields, every rule reading it reports ERROR naming the field, unless other values of
the item already decide the rule.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import ALWAYS_RETURNED_CONFIGURATION, INCOMPLETE_FIELD_REASONS, import_files
from ridgeline.imports.evaluate import import_and_evaluate
from ridgeline.imports.streaming import paths_read
from ridgeline.model.finding import Finding, Status
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from ridgeline.rules.paths import paths_overlap
from tests.conftest import SHARED_SAMPLES, AwsAccount

ACCOUNT = "111122223333"
REGION = "us-east-1"
PROJECT = "demo-project"
BUNDLED_EXPORTS = Path(__file__).resolve().parents[2] / "src" / "ridgeline" / "demo" / "exports"

PASS, FAIL = Status.PASS, Status.FAIL


@pytest.fixture(scope="module")
def engine(builtin_rules: list[Rule]) -> Engine:
    return Engine(builtin_rules)


# Provider-shaped items ----------------------------------------------------------------------------

def config_item(resource_type: str, resource_id: str, arn: str, configuration: dict[str, Any],
                supplementary: dict[str, Any] | None = None) -> dict[str, Any]:
    """A configuration item as AWS Config delivers it in snapshot and history files."""
    return {"configurationItemVersion": "1.3", "configurationItemStatus": "OK", "awsAccountId": ACCOUNT,
            "configurationItemCaptureTime": "2025-05-01T10:00:00.000Z", "resourceType": resource_type,
            "resourceId": resource_id, "resourceName": resource_id, "ARN": arn, "awsRegion": REGION, "tags": {},
            "relationships": [], "configuration": configuration, "supplementaryConfiguration": supplementary or {}}


def url_encoded(document: dict[str, Any]) -> str:
    """A policy document as AWS Config records IAM policies: URL-encoded JSON text."""
    return urllib.parse.quote(json.dumps(document))


def statement_policy(principal: Any, action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}]}


def sql_asset(configuration: dict[str, Any]) -> dict[str, Any]:
    """A Cloud SQL instance as `gcloud asset export` writes it (one line of the export)."""
    return {"name": f"//sqladmin.googleapis.com/projects/{PROJECT}/instances/orders",
            "asset_type": "sqladmin.googleapis.com/Instance", "ancestors": ["projects/100000000001"],
            "update_time": "2025-05-01T10:00:00Z",
            "resource": {"version": "v1beta4", "discovery_name": "DatabaseInstance",
                         "parent": "//cloudresourcemanager.googleapis.com/projects/100000000001",
                         "location": "us-central1", "data": configuration}}


@dataclass
class Case:
    """One item of a table type, with the other items its rules look up, and what the rules find on it."""

    name: str
    item: dict[str, Any]
    expected: dict[str, Status]
    """Rule id -> status on the whole item, for the rules that read the type's always-returned fields."""

    companions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return "aws" if "resourceType" in self.item else "gcp"

    @property
    def type_name(self) -> str:
        return str(self.item.get("resourceType") or self.item["asset_type"])

    @property
    def resource_id(self) -> str:
        return str(self.item.get("ARN") or self.item["name"])

    @property
    def configuration(self) -> dict[str, Any]:
        return self.item["configuration"] if self.provider == "aws" else self.item["resource"]["data"]

    def without(self, key: str) -> Case:
        """Return this case with the configuration field `key` removed from the item."""
        item = json.loads(json.dumps(self.item))
        configuration = item["configuration"] if self.provider == "aws" else item["resource"]["data"]
        del configuration[key]
        return Case(self.name, item, self.expected, self.companions)


def trail() -> Case:
    bucket = config_item("AWS::S3::Bucket", "trail-logs", "arn:aws:s3:::trail-logs", {"name": "trail-logs"}, {
        "AccessControlList": json.dumps({"grantList": [], "owner": {"id": "owner"}}),
        "BucketPolicy": {"policyText": None}, "BucketLoggingConfiguration": {"destinationBucketName": None},
        "BucketVersioningConfiguration": {"status": "Off", "isMfaDeleteEnabled": None},
        "BucketOwnershipControls": {"rules": [{"objectOwnership": "BucketOwnerEnforced"}]}})
    item = config_item("AWS::CloudTrail::Trail", "main", f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main", {
        "name": "main", "s3BucketName": "trail-logs", "isMultiRegionTrail": True, "logFileValidationEnabled": True,
        "hasCustomEventSelectors": False, "homeRegion": REGION}, {"TrailStatus": {"isLogging": True}})
    return Case("trail", item, {"aws-cloudtrail-bucket-not-public": PASS, "aws-cloudtrail-bucket-access-logging": FAIL},
                companions=[bucket])


def web_group(group_id: str = "sg-0web", name: str = "web", ingress: list[dict[str, Any]] | None = None,
              egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return config_item("AWS::EC2::SecurityGroup", group_id,
                       f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group_id}", {
                           "groupId": group_id, "groupName": name, "description": name, "ownerId": ACCOUNT,
                           "vpcId": "vpc-0main", "ipPermissions": ingress if ingress is not None else [],
                           "ipPermissionsEgress": egress if egress is not None else []})


SSH_FROM_ANYWHERE = {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "userIdGroupPairs": [],
                     "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}], "ipRanges": ["0.0.0.0/0"], "prefixListIds": []}


def instance() -> Case:
    item = config_item("AWS::EC2::Instance", "i-0web", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0web", {
        "instanceId": "i-0web", "publicIpAddress": "203.0.113.10", "vpcId": "vpc-0main",
        "securityGroups": [{"groupId": "sg-0web", "groupName": "web"}],
        "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"}})
    return Case("instance", item, {"aws-ec2-instance-public-exposed": FAIL},
                companions=[web_group(ingress=[SSH_FROM_ANYWHERE])])


def network_acl() -> Case:
    entries = [{"ruleNumber": 100, "protocol": "6", "ruleAction": "allow", "egress": False, "cidrBlock": "0.0.0.0/0",
                "portRange": {"from": 22, "to": 22}},
               {"ruleNumber": 32767, "protocol": "-1", "ruleAction": "deny", "egress": False,
                "cidrBlock": "0.0.0.0/0"},
               {"ruleNumber": 32767, "protocol": "-1", "ruleAction": "deny", "egress": True,
                "cidrBlock": "0.0.0.0/0"}]
    item = config_item("AWS::EC2::NetworkAcl", "acl-0main", f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-acl/acl-0main",
                       {"networkAclId": "acl-0main", "vpcId": "vpc-0main", "isDefault": False, "entries": entries})
    return Case("network-acl", item, {"aws-ec2-nacl-admin-ports-open": FAIL})


def default_group() -> Case:
    sg_rules = ["aws-ec2-sg-admin-ports-open", "aws-ec2-sg-all-traffic-open", "aws-ec2-sg-cifs-open",
                "aws-ec2-sg-database-ports-open"]
    return Case("default-security-group", web_group("sg-0default", "default"),
                {"aws-ec2-default-sg-no-traffic": PASS, **{rule_id: PASS for rule_id in sg_rules}})


def volume() -> Case:
    item = config_item("AWS::EC2::Volume", "vol-0data", f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0data",
                       {"volumeId": "vol-0data", "size": 8, "state": "in-use", "encrypted": False})
    return Case("volume", item, {"aws-ec2-volume-encrypted": FAIL})


def iam_group() -> Case:
    item = config_item("AWS::IAM::Group", "AGPA0GROUP", f"arn:aws:iam::{ACCOUNT}:group/ops",
                       {"groupName": "ops", "attachedManagedPolicies": [], "groupPolicyList": []})
    return Case("iam-group", item, {"aws-iam-no-admin-policy-attached": PASS})


def iam_policy() -> Case:
    document = url_encoded({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}]})
    item = config_item("AWS::IAM::Policy", "ANPA0POLICY", f"arn:aws:iam::{ACCOUNT}:policy/launcher", {
        "policyName": "launcher", "defaultVersionId": "v1",
        "policyVersionList": [{"versionId": "v1", "isDefaultVersion": True, "document": document}]})
    return Case("iam-policy", item, {"aws-iam-policy-privilege-escalation": FAIL})


def iam_role() -> Case:
    trust = url_encoded(statement_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "sts:AssumeRole"))
    item = config_item("AWS::IAM::Role", "AROA0ROLE", f"arn:aws:iam::{ACCOUNT}:role/deployer", {
        "roleName": "deployer", "assumeRolePolicyDocument": trust, "attachedManagedPolicies": [],
        "rolePolicyList": [], "instanceProfileList": []})
    return Case("iam-role", item, {"aws-iam-role-trust-public": PASS, "aws-iam-no-admin-policy-attached": PASS,
                                   "aws-iam-support-role": FAIL})


def iam_user() -> Case:
    item = config_item("AWS::IAM::User", "AIDA0USER", f"arn:aws:iam::{ACCOUNT}:user/alice", {
        "userName": "alice", "attachedManagedPolicies": [], "userPolicyList": [], "groupList": ["ops"]})
    return Case("iam-user", item, {"aws-iam-no-admin-policy-attached": PASS,
                                   "aws-iam-user-permissions-through-groups": PASS})


def kms_key(key_state: str) -> Case:
    public_policy = json.dumps(statement_policy("*", "kms:*"))
    key_id = f"k-{key_state.lower()}"
    item = config_item("AWS::KMS::Key", key_id, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}", {
        "keyId": key_id, "keyManager": "CUSTOMER", "keyState": key_state, "origin": "AWS_KMS",
        "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT"},
        {"Policy": public_policy, "KeyRotationStatus": False})
    pending = key_state == "PendingDeletion"
    return Case(f"kms-key-{key_state}", item, {
        "aws-kms-key-policy-public": FAIL, "aws-kms-key-pending-deletion": FAIL if pending else PASS,
        "aws-kms-key-rotation": PASS if pending else FAIL})


def db_cluster() -> Case:
    # AWS Config spells the identifier and the IAM setting of a cluster in lower case (dbclusterIdentifier).
    item = config_item("AWS::RDS::DBCluster", "cluster-LEDGER", f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:ledger", {
        "dbclusterIdentifier": "ledger", "engine": "aurora-mysql", "storageEncrypted": False,
        "iamdatabaseAuthenticationEnabled": False, "deletionProtection": True, "multiAZ": True,
        "backupRetentionPeriod": 7})
    return Case("db-cluster", item, {"aws-rds-storage-encrypted": FAIL, "aws-rds-iam-authentication": FAIL})


def db_cluster_snapshot() -> Case:
    item = config_item("AWS::RDS::DBClusterSnapshot", "ledger-copy",
                       f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:ledger-copy",
                       {"dbclusterSnapshotIdentifier": "ledger-copy", "engine": "aurora-mysql",
                        "storageEncrypted": True}, {"RestoreAttributes": []})
    return Case("db-cluster-snapshot", item, {"aws-rds-snapshot-encrypted": PASS})


def db_instance(publicly_accessible: bool) -> Case:
    item = config_item("AWS::RDS::DBInstance", "db-ORDERS", f"arn:aws:rds:{REGION}:{ACCOUNT}:db:orders", {
        "dBInstanceIdentifier": "orders", "engine": "postgres", "dBInstanceStatus": "available",
        "publiclyAccessible": publicly_accessible, "storageEncrypted": False, "multiAZ": False,
        "autoMinorVersionUpgrade": False, "backupRetentionPeriod": 0, "iAMDatabaseAuthenticationEnabled": False,
        "deletionProtection": False})
    return Case(f"db-instance-public-{publicly_accessible}", item, {
        "aws-rds-instance-public-access": FAIL if publicly_accessible else PASS, "aws-rds-storage-encrypted": FAIL,
        "aws-rds-multi-az": FAIL, "aws-rds-auto-minor-version-upgrade": FAIL, "aws-rds-backup-retention": FAIL,
        "aws-rds-iam-authentication": FAIL})


def db_snapshot() -> Case:
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:orders-manual"
    item = config_item("AWS::RDS::DBSnapshot", "orders-manual", arn,
                       {"dBSnapshotIdentifier": "orders-manual", "engine": "postgres", "encrypted": False},
                       {"RestoreAttributes": []})
    return Case("db-snapshot", item, {"aws-rds-snapshot-encrypted": FAIL})


def account_public_access_block() -> Case:
    item = config_item("AWS::S3::AccountPublicAccessBlock", ACCOUNT, f"arn:aws:s3:::{ACCOUNT}", {
        "blockPublicAcls": True, "ignorePublicAcls": True, "blockPublicPolicy": True, "restrictPublicBuckets": True})
    return Case("account-public-access-block", item, {"aws-s3-account-block-public-access": PASS})


# Database flags that the engine sets to an unsafe value by default, one rule for each engine.
UNSAFE_DEFAULT_FLAG_RULES = {"POSTGRES": "gcp-sql-postgres-log-connections", "MYSQL": "gcp-sql-mysql-local-infile-off",
                             "SQLSERVER": "gcp-sql-sqlserver-remote-access-off"}


def sql_instance(database_version: str) -> Case:
    data = {"name": "orders", "project": PROJECT, "databaseVersion": database_version,
            "instanceType": "CLOUD_SQL_INSTANCE", "backendType": "SECOND_GEN", "region": "us-central1",
            "settings": {"tier": "db-custom-1-3840", "databaseFlags": [],
                         "backupConfiguration": {"enabled": False},
                         "ipConfiguration": {"ipv4Enabled": True, "requireSsl": False,
                                             "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                                             "authorizedNetworks": [{"value": "0.0.0.0/0", "name": "anywhere"}]}}}
    engine_name = database_version.split("_")[0]
    return Case(f"sql-instance-{engine_name.lower()}", sql_asset(data), {
        "gcp-sql-instance-no-public-ip": FAIL, "gcp-sql-instance-ssl-required": FAIL,
        "gcp-sql-instance-no-open-authorized-networks": FAIL, "gcp-sql-instance-backups-enabled": FAIL,
        UNSAFE_DEFAULT_FLAG_RULES[engine_name]: FAIL})


CASES = [trail(), instance(), network_acl(), default_group(), volume(), iam_group(), iam_policy(), iam_role(),
         iam_user(), kms_key("Enabled"), kms_key("PendingDeletion"), db_cluster(), db_cluster_snapshot(),
         db_instance(True), db_instance(False), db_snapshot(), account_public_access_block(),
         sql_instance("POSTGRES_15"), sql_instance("MYSQL_8_0"), sql_instance("SQLSERVER_2019_STANDARD")]


def case_fields() -> Iterator[tuple[Case, str]]:
    for case in CASES:
        for key in ALWAYS_RETURNED_CONFIGURATION[case.type_name]:
            yield case, key


# Import and evaluation --------------------------------------------------------------------------------

def write_case(folder: Path, case: Case) -> Path:
    """Write the case's items as one AWS Config snapshot or one Cloud Asset Inventory export file."""
    if case.provider == "aws":
        path = folder / "snapshot.json"
        path.write_text(json.dumps({"configurationItems": [case.item, *case.companions]}), encoding="utf-8")
    else:
        path = folder / "assets.jsonl"
        path.write_text("".join(json.dumps(asset) + "\n" for asset in [case.item, *case.companions]),
                        encoding="utf-8")
    return path


def findings_of(tmp_path: Path, case: Case, engine: Engine) -> dict[str, Finding]:
    """Return the findings on the case's item by rule id, from importing its file whole.

    Rules of account or region scope judge the one account of the case as a whole, so their findings count.
    """
    folder = tmp_path / case.name
    folder.mkdir(exist_ok=True)
    result = import_files([write_case(folder, case)])
    findings = [finding for collection in result.collections
                for finding in engine.evaluate(collection.resources, collection.coverage)]
    scoped = {rule.id for rule in engine.rules if rule.scope != "resource" and case.type_name in rule.resource_types}
    return {finding.rule_id: finding for finding in findings
            if finding.resource_id == case.resource_id or finding.rule_id in scoped}


def direct_readers(rules: list[Rule], type_name: str, key: str) -> list[str]:
    """Return the ids of the rules judging `type_name` that read configuration field `key`."""
    path = f"configuration.{key}"
    return sorted(rule.id for rule in rules if type_name in rule.resource_types
                  and any(paths_overlap(path, read) for read in rule.paths))


def missing_reason(provider: str, type_name: str, key: str) -> str:
    """Return the reason that the findings on an item lacking configuration field `key` give."""
    return INCOMPLETE_FIELD_REASONS[provider].format(fields=f"configuration.{key}", type=type_name)


# Tests ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_whole_item_judged(tmp_path: Path, engine: Engine, case: Case) -> None:
    found = findings_of(tmp_path, case, engine)

    for rule_id, status in case.expected.items():
        assert rule_id in found, f"{rule_id} gave no finding on {case.name}"
        assert found[rule_id].status is status, f"{rule_id}: {found[rule_id].status} {found[rule_id].message}"


@pytest.mark.parametrize(("case", "key"), list(case_fields()), ids=lambda value: getattr(value, "name", value))
def test_item_without_field_not_assessed(tmp_path: Path, engine: Engine, builtin_rules: list[Rule], case: Case,
                                         key: str) -> None:
    whole = findings_of(tmp_path, case, engine)
    found = findings_of(tmp_path, case.without(key), engine)

    readers = direct_readers(builtin_rules, case.type_name, key)
    assert readers, f"no rule on {case.type_name} reads configuration.{key}"
    for rule_id in readers:
        if rule_id not in whole:
            continue
        finding = found[rule_id]
        if finding.status is Status.ERROR:
            assert missing_reason(case.provider, case.type_name, key) in finding.message, finding.message
        else:
            # Other values of the item decide the rule whatever the field's value (a rotating key passes
            # whether AWS or the customer manages it), so the status is the whole item's, never a new PASS.
            assert finding.status is whole[rule_id].status, f"{rule_id}: {finding.status} {finding.message}"


def test_rds_instance_without_publicly_accessible(tmp_path: Path, engine: Engine) -> None:
    case = db_instance(False).without("publiclyAccessible")

    finding = findings_of(tmp_path, case, engine)["aws-rds-instance-public-access"]

    assert finding.status is Status.ERROR
    assert finding.message == ("Not assessed: configuration.publiclyAccessible: the item has no "
                               "configuration.publiclyAccessible, which AWS Config records for every "
                               "AWS::RDS::DBInstance; the item is incomplete")


def test_null_field_not_assessed(tmp_path: Path, engine: Engine) -> None:
    case = db_instance(False)
    case.configuration["publiclyAccessible"] = None

    finding = findings_of(tmp_path, case, engine)["aws-rds-instance-public-access"]

    assert finding.status is Status.ERROR
    assert "configuration.publiclyAccessible" in finding.message


def test_incomplete_item_warning(tmp_path: Path) -> None:
    case = db_instance(False).without("publiclyAccessible").without("engine")
    path = write_case(tmp_path, case)

    report = import_files([path]).report

    (warning,) = report.warnings
    assert warning.file == str(path)
    assert case.resource_id in warning.message
    assert "configuration.engine, configuration.publiclyAccessible" in warning.message
    assert "AWS::RDS::DBInstance" in warning.message
    assert report.errors == []


@pytest.mark.parametrize(("json_lines", "location"), [(False, "item 1"), (True, "line 2")])
def test_incomplete_item_warning_position(tmp_path: Path, json_lines: bool, location: str) -> None:
    # A whole instance first, so the incomplete one is the second item of the file.
    whole = db_instance(True)
    whole.item["ARN"] = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:billing"
    items = [whole.item, db_instance(False).without("engine").item]
    if json_lines:
        path = tmp_path / "items.jsonl"
        path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    else:
        path = tmp_path / "snapshot.json"
        path.write_text(json.dumps({"configurationItems": items}, indent=2), encoding="utf-8")

    (warning,) = import_files([path]).report.warnings

    assert warning.file == str(path)
    assert warning.location == location
    assert "configuration.engine" in warning.message


def test_whole_item_has_no_warning(tmp_path: Path) -> None:
    report = import_files([write_case(tmp_path, db_instance(True))]).report

    assert report.warnings == []


def test_missing_configuration_marked_once(tmp_path: Path) -> None:
    # A null configuration is unknown as a whole already, so its fields are not marked one by one.
    case = db_instance(False)
    case.item["configuration"] = None

    result = import_files([write_case(tmp_path, case)])

    (resource,) = result.collections[0].resources
    assert set(resource.errors) == {"configuration"}
    assert result.report.warnings == []


@pytest.mark.parametrize("streamed", [False, True])
def test_sql_asset_without_settings(tmp_path: Path, engine: Engine, streamed: bool) -> None:
    path = write_case(tmp_path, sql_instance("POSTGRES_15").without("settings"))

    if streamed:
        evaluated = import_and_evaluate([path], engine)
        assert evaluated.streamed["gcp"]
        findings = evaluated.findings["gcp"]
        warnings = evaluated.result.report.warnings
    else:
        result = import_files([path])
        findings = [finding for collection in result.collections
                    for finding in engine.evaluate(collection.resources, collection.coverage)]
        warnings = result.report.warnings

    found = {finding.rule_id: finding for finding in findings
             if finding.resource_type == "sqladmin.googleapis.com/Instance"}
    for rule_id in ("gcp-sql-instance-no-public-ip", "gcp-sql-instance-no-open-authorized-networks",
                    "gcp-sql-postgres-log-connections"):
        assert found[rule_id].status is Status.ERROR, found[rule_id].message
        assert missing_reason("gcp", "sqladmin.googleapis.com/Instance", "settings") in found[rule_id].message
    assert len(warnings) == 1
    assert "configuration.settings" in warnings[0].message


def test_table_rows_read_by_rules(builtin_rules: list[Rule]) -> None:
    # A field that no rule reads would only add warnings, and a renamed rule path would leave its row stale.
    read = paths_read(builtin_rules)
    for type_name, keys in ALWAYS_RETURNED_CONFIGURATION.items():
        for key in keys:
            path = f"configuration.{key}"
            assert any(paths_overlap(path, rule_path) for rule_path in read.get(type_name, ())), \
                f"no built-in rule reads {path} of {type_name}"


def test_every_removed_field_errors_its_readers(tmp_path: Path, engine: Engine, builtin_rules: list[Rule]) -> None:
    # Over all the cases of a type, removing a field turns every rule reading it into ERROR at least once.
    assert {case.type_name for case in CASES} == set(ALWAYS_RETURNED_CONFIGURATION)

    not_seen = {(case.type_name, key, rule_id) for case, key in case_fields()
                for rule_id in direct_readers(builtin_rules, case.type_name, key)}
    for case, key in case_fields():
        found = findings_of(tmp_path, case.without(key), engine)
        for rule_id, finding in found.items():
            if finding.status is Status.ERROR and missing_reason(case.provider, case.type_name, key) in finding.message:
                not_seen.discard((case.type_name, key, rule_id))

    assert not_seen == set()


needs_samples = pytest.mark.skipif(not SHARED_SAMPLES.is_dir(),
                                   reason=f"sample exports not present at {SHARED_SAMPLES}")


@needs_samples
@pytest.mark.parametrize("folder", [SHARED_SAMPLES, BUNDLED_EXPORTS], ids=["shared-samples", "bundled-exports"])
def test_real_exports_complete(folder: Path) -> None:
    # Real exports have every field of the table: none of their items is reported incomplete.
    result = import_files([folder])

    resources = [resource for collection in result.collections for resource in collection.resources]
    assert any(resource.type in ALWAYS_RETURNED_CONFIGURATION for resource in resources)
    incomplete = [(resource.id, key) for resource in resources
                  for key in ALWAYS_RETURNED_CONFIGURATION.get(resource.type, ())
                  if f"configuration.{key}" in resource.errors]
    assert incomplete == []
    assert not [warning for warning in result.report.warnings if "is incomplete" in warning.message]


def test_live_scan_not_marked(aws: AwsAccount) -> None:
    # The table applies to imported items only: a live scan reads the API itself. moto's DescribeDBInstances
    # leaves PubliclyAccessible out when it was not given, and the live item stays as the collector read it.
    aws.client("rds").create_db_instance(DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro",
                                         Engine="postgres", MasterUsername="dbadmin",
                                         MasterUserPassword="not-a-real-password", AllocatedStorage=20)

    collection = collect_aws(AwsScanOptions(regions=[REGION], services=["rds"]))

    (resource,) = [resource for resource in collection.resources if resource.type == "AWS::RDS::DBInstance"]
    assert "publiclyAccessible" not in resource.configuration
    assert resource.errors == {}
    findings = aws.scan(["rds"]).findings
    (public,) = [finding for finding in findings if finding.rule_id == "aws-rds-instance-public-access"]
    assert public.status is Status.PASS
