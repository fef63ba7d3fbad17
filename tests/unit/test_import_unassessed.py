"""Imported items that lack the settings a rule reads give ERROR ("not assessed"), never PASS or a false FAIL.

Each case is an export whose shape leaves settings out: AWS Config query results without
supplementaryConfiguration, items whose configuration is null, incomplete items, Resource Graph rows
projected without properties, and Cloud Asset Inventory assets without resource data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.aws_config import SELECT_ADVICE
from ridgeline.imports.aws_config_shapes import AWS_CONFIG_SHAPES
from ridgeline.imports.collection import (
    ALWAYS_RECORDED_PATHS,
    LIVE_ONLY_PATHS,
    RECORDED_WHEN_SET_PATHS,
    import_files,
)
from ridgeline.imports.evaluate import import_and_evaluate
from ridgeline.imports.streaming import paths_read
from ridgeline.model.finding import Finding, Status
from ridgeline.pipeline import evaluate_files
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule

ACCOUNT = "111122223333"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return load_builtin_rules()


def findings_of(path: Path, rules: list[Rule]) -> list[Finding]:
    """Return the findings of importing `path` whole, as `import_files` and the engine give them."""
    result = import_files([path])
    engine = Engine(rules)
    return [finding for collection in result.collections
            for finding in engine.evaluate(collection.resources, collection.coverage)]


def statuses(findings: list[Finding], resource_name: str) -> dict[str, tuple[str, str]]:
    return {finding.rule_id: (finding.status.value, finding.message) for finding in findings
            if finding.resource_name == resource_name}


def assert_not_assessed(found: dict[str, tuple[str, str]], rule_ids: list[str], reason: str) -> None:
    for rule_id in rule_ids:
        status, message = found[rule_id]
        assert status == "ERROR", f"{rule_id}: {status} {message}"
        assert reason in message, f"{rule_id}: {message}"


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# AWS Config: advanced query results without supplementaryConfiguration ---------------------------------

def query_result(resource_type: str, resource_id: str, configuration: dict[str, Any],
                 supplementary: dict[str, Any] | None = None) -> str:
    """One advanced query result (a JSON string, as SelectResourceConfig returns it)."""
    result: dict[str, Any] = {"resourceType": resource_type, "resourceId": resource_id, "accountId": ACCOUNT,
                              "awsRegion": "us-east-1", "arn": f"arn:aws:test:::{resource_id}",
                              "configuration": configuration}
    if supplementary is not None:
        result["supplementaryConfiguration"] = supplementary
    return json.dumps(result)


PUBLIC_KEY_CONFIGURATION = {"keyId": "k2", "keyManager": "CUSTOMER", "keyState": "Enabled", "origin": "AWS_KMS",
                            "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT"}

S3_SUPPLEMENTARY_RULES = ["aws-s3-bucket-acl-public", "aws-s3-bucket-policy-public",
                          "aws-s3-bucket-policy-cross-account", "aws-s3-bucket-secure-transport",
                          "aws-s3-bucket-versioning", "aws-s3-bucket-access-logging", "aws-s3-bucket-mfa-delete",
                          "aws-s3-bucket-default-encryption"]


def test_query_without_supplementary_configuration_is_not_assessed(tmp_path: Path, rules: list[Rule]) -> None:
    document = {"Results": [query_result("AWS::S3::Bucket", "pubbucket", {"name": "pubbucket"}),
                            query_result("AWS::KMS::Key", "k2", PUBLIC_KEY_CONFIGURATION)],
                "QueryInfo": {"SelectFields": [{"Name": name} for name in
                                               ("resourceType", "resourceId", "arn", "accountId", "awsRegion",
                                                "configuration")]}}
    path = write_json(tmp_path / "query.json", document)

    found = findings_of(path, rules)

    reason = "the query did not select supplementaryConfiguration"
    assert_not_assessed(statuses(found, "pubbucket"), S3_SUPPLEMENTARY_RULES, reason)
    assert_not_assessed(statuses(found, "k2"), ["aws-kms-key-policy-public", "aws-kms-key-rotation"], reason)


def test_query_without_supplementary_counted(tmp_path: Path) -> None:
    document = {"Results": [query_result("AWS::S3::Bucket", "b1", {"name": "b1"}),
                            query_result("AWS::S3::Bucket", "b2", {"name": "b2"})]}

    result = import_files([write_json(tmp_path / "query.json", document)])

    assert result.report.errors == []
    assert result.report.not_imported["AWS::S3::Bucket BucketPolicy"] == 2
    assert result.report.not_imported["AWS::S3::Bucket AccessControlList"] == 2


def test_query_with_supplementary_configuration_is_judged(tmp_path: Path, rules: list[Rule]) -> None:
    # The recorded item of a bucket without a policy: BucketPolicy is there, with a null policy text.
    supplementary = {"AccessControlList": json.dumps({"grantList": [], "owner": {"id": "o"}}),
                     "BucketPolicy": {"policyText": None},
                     "BucketLoggingConfiguration": {"destinationBucketName": None},
                     "BucketVersioningConfiguration": {"status": "Off", "isMfaDeleteEnabled": None}}
    document = {"Results": [query_result("AWS::S3::Bucket", "quiet", {"name": "quiet"}, supplementary)]}

    found = statuses(findings_of(write_json(tmp_path / "query.json", document), rules), "quiet")

    assert found["aws-s3-bucket-policy-public"][0] == "PASS"
    assert found["aws-s3-bucket-acl-public"][0] == "PASS"
    assert found["aws-s3-bucket-versioning"][0] == "FAIL"


def test_missing_resource_type_advice_names_supplementary_configuration(tmp_path: Path) -> None:
    document = {"Results": [json.dumps({"resourceId": "x", "configuration": {}})]}

    result = import_files([write_json(tmp_path / "query.json", document)])

    assert "supplementaryConfiguration" in SELECT_ADVICE
    assert any(SELECT_ADVICE in issue.message for issue in result.report.errors)


# AWS Config: items whose configuration is null ----------------------------------------------------

@pytest.mark.parametrize("shape", ["api", "delivered", "absent"])
def test_item_without_configuration_not_assessed(tmp_path: Path, rules: list[Rule], shape: str) -> None:
    item: dict[str, Any] = {"version": "1.3", "accountId": ACCOUNT, "configurationItemStatus": "OK",
                            "arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k2", "resourceType": "AWS::KMS::Key",
                            "resourceId": "k2", "awsRegion": "us-east-1", "configuration": None,
                            "supplementaryConfiguration": {"KeyRotationStatus": "false"}}
    if shape == "delivered":
        item["configuration"] = None
        item["supplementaryConfiguration"] = {"KeyRotationStatus": False}
    elif shape == "absent":
        del item["configuration"]
    path = write_json(tmp_path / "history.json", {"configurationItems": [item]})

    result = import_files([path])
    found = findings_of(path, rules)

    (issue,) = result.report.errors
    assert issue.file == str(path)
    assert issue.location == "item 0"
    assert "configuration is missing or null" in issue.message
    assert_not_assessed(statuses(found, "k2"), ["aws-kms-key-rotation", "aws-kms-key-pending-deletion"],
                        "configuration is missing or null"[len("configuration "):])


# AWS Config: incomplete items (hand-made or cut down) ---------------------------------------------

def delivered_item(resource_type: str, resource_id: str, configuration: dict[str, Any],
                   supplementary: dict[str, Any]) -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "configurationItemStatus": "OK", "awsAccountId": ACCOUNT,
            "resourceType": resource_type, "resourceId": resource_id, "resourceName": resource_id,
            "ARN": f"arn:aws:test:::{resource_id}", "awsRegion": "us-east-1", "tags": {}, "relationships": [],
            "configuration": configuration, "supplementaryConfiguration": supplementary}


def test_items_lacking_always_recorded_settings_are_not_assessed(tmp_path: Path, rules: list[Rule]) -> None:
    items = [delivered_item("AWS::S3::Bucket", "b1", {"name": "b1"}, {}),
             delivered_item("AWS::KMS::Key", "k1", PUBLIC_KEY_CONFIGURATION, {"KeyRotationStatus": True})]
    path = write_json(tmp_path / "snapshot.json", {"configurationItems": items})

    found = findings_of(path, rules)
    report = import_files([path]).report

    reason = "AWS Config records it for every resource of this type"
    assert_not_assessed(statuses(found, "b1"), ["aws-s3-bucket-acl-public", "aws-s3-bucket-policy-public",
                                                "aws-s3-bucket-policy-cross-account",
                                                "aws-s3-bucket-secure-transport", "aws-s3-bucket-versioning",
                                                "aws-s3-bucket-access-logging", "aws-s3-bucket-mfa-delete"], reason)
    assert_not_assessed(statuses(found, "k1"), ["aws-kms-key-policy-public"], reason)
    assert report.errors == []
    assert report.not_imported["AWS::KMS::Key Policy"] == 1
    assert "AWS::KMS::Key KeyRotationStatus" not in report.not_imported


def test_settings_recorded_only_when_set_stay_judged(tmp_path: Path, rules: list[Rule]) -> None:
    # A function without a resource policy has no Policy key: that absence means "no policy".
    function = delivered_item("AWS::Lambda::Function", "fn", {"functionName": "fn", "runtime": "python3.12"},
                              {"FunctionUrlConfigs": []})

    found = statuses(findings_of(write_json(tmp_path / "snapshot.json", [function]), rules), "fn")

    assert found["aws-lambda-function-policy-public"][0] == "PASS"


def test_supplementary_tables_cover_the_keys_that_rules_read(rules: list[Rule]) -> None:
    # A supplementary key that no table names is judged as absent when an imported item lacks it, which is
    # a verdict on a setting that AWS Config may never record (the metric filters of a log group).
    read = paths_read([rule for rule in rules if rule.provider == "aws"])
    prefix = "supplementaryConfiguration."
    # Keys whose absence the check function itself judges: without event selectors, a trail's
    # hasCustomEventSelectors (always recorded) shows whether it records the default events.
    judged_without = {"AWS::CloudTrail::Trail": {"EventSelectors", "AdvancedEventSelectors"}}
    for type_name in read:
        keys = {path.removeprefix(prefix).split(".")[0] for path in read.get(type_name, ()) if path.startswith(prefix)}
        shape = AWS_CONFIG_SHAPES.get(type_name)
        renamed = {path.removeprefix(prefix).split(".")[0] for path in shape.not_recorded} if shape else set()
        named = {*LIVE_ONLY_PATHS.get(type_name, ()), *ALWAYS_RECORDED_PATHS.get(type_name, ()),
                 *RECORDED_WHEN_SET_PATHS.get(type_name, ()), *judged_without.get(type_name, ()), *renamed}
        assert keys <= named, f"{type_name}: {sorted(keys - named)}"


# Azure: Resource Graph rows projected without properties ------------------------------------------

def arm_id(provider_type: str, name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/{provider_type}/{name}"


def projected_rows() -> dict[str, Any]:
    rows = [{"id": arm_id(type_name, name), "name": name, "type": type_name.lower(), "location": "eastus",
             "subscriptionId": SUBSCRIPTION}
            for type_name, name in (("Microsoft.Storage/storageAccounts", "stproj"),
                                    ("Microsoft.KeyVault/vaults", "kvproj"),
                                    ("Microsoft.Sql/servers", "sqlproj"))]
    return {"count": len(rows), "data": rows, "skip_token": None, "total_records": len(rows)}


AZURE_PROPERTY_RULES = {
    "stproj": ["azure-storage-https-only", "azure-storage-trusted-services-bypass", "azure-storage-minimum-tls",
               "azure-storage-public-network-disabled", "azure-storage-shared-key-disabled"],
    "kvproj": ["azure-keyvault-purge-protection", "azure-keyvault-rbac", "azure-keyvault-public-network-disabled"],
    "sqlproj": ["azure-sql-server-min-tls", "azure-sql-server-public-network-disabled"],
}


@pytest.mark.parametrize("streamed", [False, True])
def test_projected_rows_are_not_assessed(tmp_path: Path, rules: list[Rule], streamed: bool) -> None:
    path = write_json(tmp_path / "graph.json", projected_rows())

    if streamed:
        evaluated = import_and_evaluate([path], Engine(rules))
        assert evaluated.streamed["azure"]
        found = evaluated.findings["azure"]
    else:
        found = findings_of(path, rules)

    for name, rule_ids in AZURE_PROPERTY_RULES.items():
        assert_not_assessed(statuses(found, name), rule_ids, "the item has no properties")
    report = evaluated.result.report if streamed else import_files([path]).report
    assert [issue.describe() for issue in report.warnings] == [
        "resources without properties, whose rules report ERROR: Microsoft.KeyVault/vaults (1), "
        "Microsoft.Sql/servers (1), Microsoft.Storage/storageAccounts (1); export whole resources (a Resource "
        "Graph query without `project`, or `az resource show`)"]
    assert all(finding.status.value != "PASS" for finding in found), [
        finding.rule_id for finding in found if finding.status.value == "PASS"]


def test_child_row_without_properties(tmp_path: Path, rules: list[Rule]) -> None:
    account = arm_id("Microsoft.Storage/storageAccounts", "stfull")
    rows = [{"id": account, "name": "stfull", "type": "microsoft.storage/storageaccounts", "location": "eastus",
             "properties": {"supportsHttpsTrafficOnly": True}},
            {"id": f"{account}/blobServices/default", "name": "default",
             "type": "microsoft.storage/storageaccounts/blobservices"}]

    found = statuses(findings_of(write_json(tmp_path / "graph.json", {"data": rows}), rules), "stfull")

    assert found["azure-storage-https-only"][0] == "PASS"
    assert_not_assessed(found, ["azure-storage-blob-soft-delete"], "the item has no properties")


# GCP: assets without resource data ----------------------------------------------------------------

def assets_without_data() -> list[dict[str, Any]]:
    ancestors = ["projects/100000000001"]
    return [
        {"name": "//storage.googleapis.com/bproj", "asset_type": "storage.googleapis.com/Bucket",
         "ancestors": ancestors, "resource": {"parent": "//cloudresourcemanager.googleapis.com/projects/1"}},
        {"name": "//compute.googleapis.com/projects/p/global/firewalls/fwproj",
         "asset_type": "compute.googleapis.com/Firewall", "ancestors": ancestors,
         "resource": {"version": "v1", "discovery_name": "Firewall"}},
        {"name": "//sqladmin.googleapis.com/projects/p/instances/sqlproj",
         "asset_type": "sqladmin.googleapis.com/Instance", "ancestors": ancestors,
         "resource": {"data": None, "location": "us-central1"}},
        # The one asset with data, whose policy lines make the export's IAM content present.
        {"name": "//storage.googleapis.com/bfull", "asset_type": "storage.googleapis.com/Bucket",
         "ancestors": ancestors, "resource": {"data": {"name": "bfull"}},
         "iam_policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["user:a@example.com"]}]}},
    ]


GCP_DATA_RULES = {
    "sqlproj": ["gcp-sql-instance-no-open-authorized-networks", "gcp-sql-instance-ssl-required",
                "gcp-sql-instance-no-public-ip", "gcp-sql-instance-backups-enabled"],
    "fwproj": ["gcp-compute-firewall-ssh-internet", "gcp-compute-firewall-rdp-internet"],
    "bproj": ["gcp-storage-bucket-uniform-access"],
}


@pytest.mark.parametrize("streamed", [False, True])
def test_assets_without_resource_data_are_not_assessed(tmp_path: Path, rules: list[Rule], streamed: bool) -> None:
    path = tmp_path / "assets.jsonl"
    path.write_text("".join(json.dumps(asset) + "\n" for asset in assets_without_data()), encoding="utf-8")

    if streamed:
        evaluated = import_and_evaluate([path], Engine(rules))
        assert evaluated.streamed["gcp"]
        found = evaluated.findings["gcp"]
    else:
        found = findings_of(path, rules)

    report = evaluated.result.report if streamed else import_files([path]).report
    assert len(report.warnings) == 1
    assert report.warnings[0].describe().startswith(
        "assets without resource data, whose rules reading their settings report ERROR: "
        "compute.googleapis.com/Firewall (1), sqladmin.googleapis.com/Instance (1), storage.googleapis.com/Bucket (1)")
    for name, rule_ids in GCP_DATA_RULES.items():
        assert_not_assessed(statuses(found, name), rule_ids, "the export has no resource data for this asset")
        assert all(status != "PASS" for status, _ in statuses(found, name).values()), name
    assert statuses(found, "bfull")["gcp-storage-bucket-uniform-access"][0] == "FAIL"


def test_policy_content_first_then_resource_data_is_judged(tmp_path: Path, rules: list[Rule]) -> None:
    # The resource content of an asset may come after its IAM policy line, even in another file.
    name = "//storage.googleapis.com/later"
    policy = {"name": name, "asset_type": "storage.googleapis.com/Bucket", "ancestors": ["projects/100000000001"],
              "iam_policy": {"bindings": []}}
    resource = {"name": name, "asset_type": "storage.googleapis.com/Bucket", "ancestors": ["projects/100000000001"],
                "resource": {"data": {"name": "later", "iamConfiguration": {
                    "uniformBucketLevelAccess": {"enabled": True}}}}}
    (tmp_path / "policies.jsonl").write_text(json.dumps(policy) + "\n", encoding="utf-8")
    (tmp_path / "resources.jsonl").write_text(json.dumps(resource) + "\n", encoding="utf-8")

    found = statuses(findings_of(tmp_path, rules), "later")

    assert found["gcp-storage-bucket-uniform-access"][0] == "PASS"


def test_policy_only_asset_unassessed(tmp_path: Path) -> None:
    # `gcloud asset export --content-type=iam-policy` alone: no resource content, so the settings are unknown.
    # A dataset's IAM policy shows its access list, so that rule still decides from the policy.
    def policy_line(name: str, asset_type: str, role: str, member: str) -> dict[str, Any]:
        return {"name": name, "asset_type": asset_type, "ancestors": ["projects/1001"],
                "iam_policy": {"bindings": [{"role": role, "members": [member]}]}}

    lines = [
        policy_line("//sqladmin.googleapis.com/projects/p1/instances/db1", "sqladmin.googleapis.com/Instance",
                    "roles/viewer", "user:a@example.com"),
        policy_line("//bigquery.googleapis.com/projects/p1/datasets/shared", "bigquery.googleapis.com/Dataset",
                    "roles/bigquery.dataViewer", "allUsers"),
    ]
    path = tmp_path / "iam-only.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))

    findings = evaluate_files([str(path)], load_builtin_rules()).results[0].findings
    by_rule = {finding.rule_id: finding for finding in findings}

    assert by_rule["gcp-sql-instance-no-open-authorized-networks"].status is Status.ERROR
    assert "only this asset's policy" in by_rule["gcp-sql-instance-no-open-authorized-networks"].message
    assert by_rule["gcp-bigquery-dataset-not-public"].status is Status.FAIL


def test_log_group_alarms_unknown_without_live_settings(tmp_path: Path, rules: list[Rule]) -> None:
    # AWS Config records a log group as DescribeLogGroups returns it, without metric filters or alarms.
    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:trail-events:*"
    trail = delivered_item("AWS::CloudTrail::Trail", "org-trail",
                           {"name": "org-trail", "isMultiRegionTrail": True, "hasCustomEventSelectors": False,
                            "s3BucketName": "trail-logs", "cloudWatchLogsLogGroupArn": group_arn},
                           {"TrailStatus": {"isLogging": True}})
    trail["ARN"] = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"
    group = delivered_item("AWS::Logs::LogGroup", "trail-events",
                           {"logGroupName": "trail-events", "arn": group_arn, "retentionInDays": 365}, {})
    group["ARN"] = group_arn

    found = findings_of(write_json(tmp_path / "snapshot.json", {"configurationItems": [trail, group]}), rules)

    alarms = [finding for finding in found if finding.rule_id == "aws-cloudtrail-alarm-unauthorized-api-calls"]
    assert len(alarms) == 1
    assert alarms[0].status is Status.ERROR, alarms[0].message
    assert "MetricFilters" in alarms[0].message
