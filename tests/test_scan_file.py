"""`ridgeline scan file`: AWS, Azure and GCP exports judged by the same rules, with honest coverage."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import EXIT_GATE, EXIT_SETUP, main
from ridgeline.imports.collection import (
    CATALOGUE_MISSING_TYPE_REASON,
    MISSING_TYPE_REASON,
    NO_IAM_POLICIES_REASON,
    import_aws_config,
    import_files,
)
from ridgeline.imports.detect import Format, detect_format
from ridgeline.imports.sources import InputFile
from ridgeline.model.finding import Status
from ridgeline.pipeline import evaluate_files
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.store.database import Store

ACCOUNT = "111122223333"


def _item(resource_type: str, resource_id: str, configuration: dict[str, object],
          supplementary: dict[str, object] | None = None, region: str = "us-east-1") -> dict[str, object]:
    return {"configurationItemVersion": "1.3", "awsAccountId": ACCOUNT, "configurationItemStatus": "OK",
            "resourceType": resource_type, "resourceId": resource_id, "resourceName": resource_id,
            "ARN": f"arn:aws:test:{region}:{ACCOUNT}:{resource_id}", "awsRegion": region, "tags": {},
            "relationships": [], "configuration": configuration,
            "supplementaryConfiguration": supplementary or {}}


def _snapshot(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_bytes(gzip.compress(json.dumps({"fileVersion": "1.0", "configurationItems": items}).encode()))
    return path


def test_missing_types_and_live_only_settings_are_not_assessed(tmp_path: Path) -> None:
    trail = _item("AWS::CloudTrail::Trail", "trail", {"name": "trail", "isMultiRegionTrail": True,
                                                      "logFileValidationEnabled": False, "s3BucketName": "logs"})
    volume = _item("AWS::EC2::Volume", "vol-1", {"volumeId": "vol-1", "encrypted": False})
    snapshot = _snapshot(tmp_path / "snapshot.json.gz", [trail, volume])

    collection, report = import_aws_config([snapshot])

    assert report.errors == []
    trail_resource = next(r for r in collection.resources if r.type == "AWS::CloudTrail::Trail")
    assert "supplementaryConfiguration.TrailStatus" in trail_resource.errors
    ec2_unit = next(unit for unit in collection.coverage if unit.service == "ec2")
    assert ec2_unit.failed_types["AWS::EC2::SecurityGroup"] == MISSING_TYPE_REASON
    assert "AWS::EC2::Volume" not in ec2_unit.failed_types


def test_scan_file_judges_an_export(tmp_path: Path) -> None:
    volume = _item("AWS::EC2::Volume", "vol-1", {"volumeId": "vol-1", "encrypted": False})
    trail = _item("AWS::CloudTrail::Trail", "trail", {"name": "trail", "isMultiRegionTrail": True,
                                                      "logFileValidationEnabled": False, "s3BucketName": "logs"})
    snapshot = _snapshot(tmp_path / "snapshot.json.gz", [volume, trail])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    result = CliRunner().invoke(main, ["scan", "file", str(snapshot), str(broken), "--no-store",
                                       "-o", str(tmp_path / "out"), "-f", "json"])

    assert result.exit_code == 0, result.output
    assert "broken.json" in result.output
    report = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    by_rule = {}
    for finding in report["findings"]:
        by_rule.setdefault(finding["rule_id"], []).append(finding)
    assert [f["status"] for f in by_rule["aws-ec2-volume-encrypted"]] == ["FAIL"]
    assert [f["status"] for f in by_rule["aws-cloudtrail-log-file-validation"]] == ["FAIL"]
    # Settings a configuration item does not hold are not assessed, never a false FAIL or PASS.
    assert {f["status"] for f in by_rule["aws-cloudtrail-multi-region-trail"]} == {"ERROR"}
    # A type the export lacks makes its rules ERROR instead of silence.
    assert {f["status"] for f in by_rule["aws-ec2-sg-admin-ports-open"]} == {"ERROR"}
    assert "s3" not in {unit["service"] for unit in report["collection"]}


def test_rds_public_access_as_string_is_error(tmp_path: Path) -> None:
    # A Config item that gives the flag as the string "true" must not PASS as if it were false.
    as_string = _item("AWS::RDS::DBInstance", "db-text", {"dBInstanceIdentifier": "db-text",
                                                          "publiclyAccessible": "true"})
    as_boolean = _item("AWS::RDS::DBInstance", "db-flag", {"dBInstanceIdentifier": "db-flag",
                                                           "publiclyAccessible": True})
    snapshot = _snapshot(tmp_path / "snapshot.json.gz", [as_string, as_boolean])

    scans = evaluate_files([snapshot], load_builtin_rules())

    findings = {finding.resource_name: finding for result in scans.results for finding in result.findings
                if finding.rule_id == "aws-rds-instance-public-access"}
    assert findings["db-flag"].status is Status.FAIL
    assert findings["db-text"].status is Status.ERROR
    assert "configuration.publiclyAccessible (equals): expected a boolean, found string 'true'" in (
        findings["db-text"].message)


def test_scan_file_without_importable_items_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"configurationItems": []}))

    result = CliRunner().invoke(main, ["scan", "file", str(empty), "--no-store", "-o", str(tmp_path / "out")])

    assert result.exit_code == 2
    assert "no resource could be imported" in result.output


# Format detection and mixed providers ------------------------------------------------------------------

AZURE_SUBSCRIPTION = "00000000-0000-0000-0000-00000000f11e"
AZURE_GROUP = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-file"
GCP_PROJECT = "file-project"


def _azure_storage(name: str, https_only: bool) -> dict[str, object]:
    return {"id": f"{AZURE_GROUP}/providers/Microsoft.Storage/storageAccounts/{name}", "name": name,
            "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
            "properties": {"supportsHttpsTrafficOnly": https_only, "minimumTlsVersion": "TLS1_2"}}


def _azure_export(path: Path) -> Path:
    """An `az graph query` result with a secure and an insecure storage account, and one blob service."""
    secure, insecure = _azure_storage("stfilesecure", True), _azure_storage("stfileplain", False)
    blob = {"id": f"{secure['id']}/blobServices/default", "name": "default",
            "type": "Microsoft.Storage/storageAccounts/blobServices",
            "properties": {"deleteRetentionPolicy": {"enabled": True, "days": 7}}}
    path.write_text(json.dumps({"count": 3, "data": [secure, insecure, blob], "skip_token": None,
                                "total_records": 3}, indent=2))
    return path


def _cai_bucket(name: str, public: bool) -> dict[str, object]:
    members = ["allUsers"] if public else ["projectViewer:file-project"]
    return {"name": f"//storage.googleapis.com/{name}", "asset_type": "storage.googleapis.com/Bucket",
            "ancestors": ["projects/100000000042"],
            "resource": {"version": "v1", "location": "europe-west1", "data": {
                "name": name, "projectNumber": "100000000042",
                "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                                     "publicAccessPrevention": "inherited"}}},
            "iam_policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": members}]}}


def _cai_export(path: Path) -> Path:
    lines = [_cai_bucket("file-bucket-public", True), _cai_bucket("file-bucket-private", False)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.parametrize(("document", "expected"), [
    ({"fileVersion": "1.0", "configurationItems": [{"resourceType": "AWS::EC2::Volume"}]}, Format.AWS_CONFIG),
    ({"status_code": 200, "data": {"Results": ['{"resourceType": "AWS::SNS::Topic"}']}}, Format.AWS_CONFIG),
    ({"configurationItemStatus": "OK", "resourceType": "AWS::S3::Bucket"}, Format.AWS_CONFIG),
    ({"assets": [{"name": "//x", "assetType": "storage.googleapis.com/Bucket"}]}, Format.GCP_CAI),
    ([{"name": "//x", "assetType": "storage.googleapis.com/Bucket"}], Format.GCP_CAI),
    ({"count": 0, "data": [], "skip_token": None, "total_records": 0}, Format.AZURE),
    ({"totalRecords": 1, "data": {"columns": [{"name": "id"}], "rows": [["/subscriptions/s"]]}}, Format.AZURE),
    ({"value": [{"id": "/subscriptions/s/resourceGroups/r/providers/A.B/c/d", "type": "A.B/c"}]}, Format.AZURE),
    ({"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a", "type": "Microsoft.Web/sites",
      "properties": {"rules": [1, 2]}}, Format.AZURE),
    ({"@odata.type": "#microsoft.graph.identitySecurityDefaultsEnforcementPolicy", "id": "x"}, Format.AZURE),
])
@pytest.mark.parametrize("indent", [None, 2], ids=["one-line", "pretty"])
def test_format_detected_from_content(tmp_path: Path, document: object, expected: Format, indent: int | None) -> None:
    path = tmp_path / "export.data"
    path.write_text(json.dumps(document, indent=indent))

    detection = detect_format(InputFile(str(path)))

    assert detection.format is expected
    assert detection.json_lines is False


def test_format_detection_json_lines(tmp_path: Path) -> None:
    cai = _cai_export(tmp_path / "export.json")
    detection = detect_format(InputFile(str(cai)))
    assert (detection.format, detection.json_lines) == (Format.GCP_CAI, True)


@pytest.mark.parametrize(("content", "reason"), [
    ('{"version": 1, "interactions": []}', "top-level fields: interactions, version"),
    ('[{"a": 1}]', "array of objects with fields a"),
    ("", "the file is empty"),
    ('{"broken" 1}', "invalid JSON"),
])
def test_unknown_format_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)

    detection = detect_format(InputFile(str(path)))

    assert detection.format is None
    assert reason in detection.reason


def test_mixed_providers_import(tmp_path: Path) -> None:
    volume = _item("AWS::EC2::Volume", "vol-1", {"volumeId": "vol-1", "encrypted": False})
    sources = [_snapshot(tmp_path / "aws.json.gz", [volume]), _azure_export(tmp_path / "azure.json"),
               _cai_export(tmp_path / "gcp.json")]

    result = import_files(sources)

    assert result.report.errors == []
    assert [collection.provider for collection in result.collections] == ["aws", "azure", "gcp"]
    assert set(result.formats.values()) == {Format.AWS_CONFIG, Format.AZURE, Format.GCP_CAI}
    azure = result.collections[1]
    assert azure.accounts == [AZURE_SUBSCRIPTION]
    assert azure.regions == ["westeurope"]
    (storage_unit,) = azure.coverage
    assert (storage_unit.provider, storage_unit.region, storage_unit.service) == ("azure", "global", "storage")
    assert storage_unit.resource_counts == {"Microsoft.Storage/storageAccounts": 2}
    assert storage_unit.failed_types == {
        "Microsoft.Storage/storageAccounts/blobServices/containers": CATALOGUE_MISSING_TYPE_REASON}
    secure = next(r for r in azure.resources if r.name == "stfilesecure")
    assert set(secure.supplementary) == {"blobServices"}
    assert set(secure.errors) == {"supplementaryConfiguration.fileServices"}
    gcp = result.collections[2]
    assert {unit.service for unit in gcp.coverage} == {"storage"}
    assert all(unit.region == "global" and unit.failed_types == {} for unit in gcp.coverage)


def test_cai_without_iam_content_marks_policy_unknown(tmp_path: Path) -> None:
    bucket = _cai_bucket("no-policy", False)
    del bucket["iam_policy"]
    path = tmp_path / "resources.jsonl"
    path.write_text(json.dumps(bucket) + "\n")

    (collection,) = import_files([path]).collections

    (resource,) = collection.resources
    assert resource.errors == {"supplementaryConfiguration.iamPolicy": NO_IAM_POLICIES_REASON}


def test_cai_project_number_becomes_id(tmp_path: Path) -> None:
    project = {"name": "//cloudresourcemanager.googleapis.com/projects/100000000042",
               "asset_type": "cloudresourcemanager.googleapis.com/Project", "ancestors": ["projects/100000000042"],
               "resource": {"data": {"projectNumber": "100000000042", "projectId": GCP_PROJECT}}}
    path = _cai_export(tmp_path / "gcp.jsonl")
    with path.open("a") as export:
        export.write(json.dumps(project) + "\n")

    (collection,) = import_files([path]).collections

    # The buckets name their project only by number (ancestors); the project asset maps it to the id.
    assert collection.accounts == [GCP_PROJECT]
    assert {unit.account for unit in collection.coverage} == {GCP_PROJECT}


def test_stdin_format_detected(tmp_path: Path) -> None:
    export = _azure_export(tmp_path / "azure.json")
    database = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    result = CliRunner().invoke(main, ["scan", "file", "-", "--database", database, "-o", str(tmp_path / "out")],
                                input=export.read_bytes())

    assert result.exit_code == 0, result.output
    assert "Imported 2 azure resource(s)" in result.output
    store = Store(database)
    (scan,) = store.list_scans()
    assert scan.provider == "azure"
    assert {resource.source for resource in store.load_resources(scan.id)} == {"file:<stdin>"}


def test_scan_file_mixed_providers_judged_by_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(TEST_RULES)
    sources = [_azure_export(tmp_path / "azure.json"), _cai_export(tmp_path / "gcp.jsonl"),
               tmp_path / "unknown.json"]
    (tmp_path / "unknown.json").write_text('{"version": 1, "interactions": []}')

    result = CliRunner().invoke(main, ["scan", "file", *map(str, sources), "--no-store", "--rules", str(rules),
                                       "-o", str(tmp_path / "out"), "-f", "json"])

    assert result.exit_code == 0, result.output
    assert "unknown.json: unknown format" in result.output
    assert "Imported 2 azure resource(s)" in result.output
    assert "Imported 2 gcp resource(s)" in result.output
    reports = {path.name.split("-")[1]: json.loads(path.read_text())
               for path in (tmp_path / "out").glob("ridgeline-*.json")}
    assert set(reports) == {"azure", "gcp"}

    azure = _statuses(reports["azure"])
    assert azure["test-azure-https-only"] == {"stfilesecure": "PASS", "stfileplain": "FAIL"}
    # The insecure account's blob service was not exported: unknown, so ERROR, never PASS.
    assert azure["test-azure-blob-soft-delete"] == {"stfilesecure": "PASS", "stfileplain": "ERROR"}
    gcp = _statuses(reports["gcp"])
    assert gcp["test-gcp-bucket-not-public"] == {"file-bucket-public": "FAIL", "file-bucket-private": "PASS"}
    assert "test-aws-volume" not in azure | gcp

    # The built-in rules of the services in the files judge them too; other services stay out.
    builtin = {rule.id: rule for rule in load_builtin_rules()}
    for provider, statuses in (("azure", azure), ("gcp", gcp)):
        for rule_id in statuses:
            if rule_id in builtin:
                assert builtin[rule_id].provider == provider
                assert builtin[rule_id].service == "storage", rule_id
    expected = {rule.id for rule in builtin.values()
                if rule.provider == "azure" and rule.service == "storage" and rule.applies_if is None}
    assert expected <= set(azure)


def test_scan_file_gate_spans_providers(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(TEST_RULES)
    volume = _item("AWS::EC2::Volume", "vol-1", {"volumeId": "vol-1", "encrypted": True})
    sources = [_snapshot(tmp_path / "aws.json.gz", [volume]), _cai_export(tmp_path / "gcp.jsonl")]

    result = CliRunner().invoke(main, ["scan", "file", *map(str, sources), "--no-store", "--rules", str(rules),
                                       "--fail-on", "critical", "-o", str(tmp_path / "out")])

    # Only the GCP scan has the critical FAIL; the gate counts the findings of every provider.
    assert result.exit_code == EXIT_GATE, result.output
    assert "FAIL finding(s) at or above critical" in result.output


def test_scan_file_missing_path_is_setup_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", "file", str(_azure_export(tmp_path / "a.json")),
                                       str(tmp_path / "missing.json"), "--no-store", "-o", str(tmp_path / "out")])

    assert result.exit_code == EXIT_SETUP
    assert "missing.json" in result.output
    assert not (tmp_path / "out").exists()


def test_scan_file_only_unknown_formats_is_setup_error(tmp_path: Path) -> None:
    (tmp_path / "cassette.json").write_text('{"version": 1, "interactions": []}')

    result = CliRunner().invoke(main, ["scan", "file", str(tmp_path / "cassette.json"), "--no-store",
                                       "-o", str(tmp_path / "out")])

    assert result.exit_code == EXIT_SETUP
    assert "cassette.json: unknown format" in result.output
    assert "no resource could be imported" in result.output


def _statuses(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    statuses: dict[str, dict[str, str]] = {}
    for finding in report["findings"]:
        statuses.setdefault(finding["rule_id"], {})[finding["resource"]["name"]] = finding["status"]
    return statuses


TEST_RULES = """
rules:
  - id: test-azure-https-only
    title: Storage accounts accept HTTPS only
    severity: high
    category: encryption
    provider: azure
    service: storage
    resource_types: [Microsoft.Storage/storageAccounts]
    fail_if: {path: configuration.properties.supportsHttpsTrafficOnly, not_equals: true}
    description: d
    risk: r
    remediation: {text: Require HTTPS.}
  - id: test-azure-blob-soft-delete
    title: Blob soft delete is on
    severity: medium
    category: data-protection
    provider: azure
    service: storage
    resource_types: [Microsoft.Storage/storageAccounts]
    fail_if:
      not: {path: supplementaryConfiguration.blobServices.properties.deleteRetentionPolicy.enabled, equals: true}
    description: d
    risk: r
    remediation: {text: Turn on blob soft delete.}
  - id: test-gcp-bucket-not-public
    title: Buckets grant nothing to allUsers
    severity: critical
    category: storage-exposure
    provider: gcp
    service: storage
    resource_types: [storage.googleapis.com/Bucket]
    fail_if:
      any_item: supplementaryConfiguration.iamPolicy.bindings
      where: {path: members, contains: allUsers}
    description: d
    risk: r
    remediation: {text: Remove allUsers.}
  - id: test-aws-volume
    title: Volumes are encrypted
    severity: low
    category: encryption
    provider: aws
    service: ec2
    resource_types: [AWS::EC2::Volume]
    fail_if: {path: configuration.encrypted, not_equals: true}
    description: d
    risk: r
    remediation: {text: Encrypt.}
"""


# The demo's Azure and GCP parts ------------------------------------------------------------------------

def test_bundled_demo_exports_import_cleanly() -> None:
    from ridgeline.demo.exports import export_files

    for provider in ("azure", "gcp"):
        files = export_files(provider)
        if not files:
            pytest.skip(f"no bundled {provider} export in this checkout")
        result = import_files(files)

        assert [issue.describe() for issue in result.report.errors] == [], provider
        assert [collection.provider for collection in result.collections] == [provider]


def test_demo_judges_bundled_exports(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--clouds", "azure,gcp", "--no-store", "-o", str(tmp_path / "out"),
                                       "--fail-on", "critical"])

    assert result.exit_code in (0, EXIT_GATE), result.output
    assert "All clouds" in result.output
    for provider in ("azure", "gcp"):
        (path,) = (tmp_path / "out").glob(f"ridgeline-{provider}-*.json")
        statuses = {finding["status"] for finding in json.loads(path.read_text())["findings"]}
        assert {"PASS", "FAIL"} <= statuses, provider


def test_demo_services_choose_clouds(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--clouds", "azure,gcp", "--services", "keyvault", "--no-store",
                                       "-o", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    assert [path.name.split("-")[1] for path in (tmp_path / "out").glob("*.json")] == ["azure"]
    report = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    assert {unit["service"] for unit in report["collection"]} == {"keyvault"}


def test_demo_unknown_cloud_is_setup_error() -> None:
    result = CliRunner().invoke(main, ["demo", "--clouds", "aws,oracle", "--no-store"])

    assert result.exit_code == EXIT_SETUP
    assert "unknown cloud(s) oracle" in result.output


def test_corrupt_line_resolves_nothing(tmp_path: Path) -> None:
    # The second export cuts the public bucket's line in half: the bucket is missing, but its FAIL must
    # stay open, because a scan that could not read every item is not complete.
    database = f"sqlite:///{tmp_path / 'scans.db'}"
    good = _cai_export(tmp_path / "good.jsonl")
    lines = good.read_text().splitlines()
    corrupt = tmp_path / "corrupt.jsonl"
    corrupt.write_text(lines[0][: len(lines[0]) // 2] + "\n" + lines[1] + "\n")

    for path in (good, corrupt):
        result = CliRunner().invoke(main, ["scan", "file", str(path), "--database", database,
                                           "--output-dir", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output

    store = Store(database)
    latest = store.list_scans()[0]
    assert not latest.complete
    coverage = store.load_coverage(latest.id)
    assert all(unit.status.value == "partial" for unit in coverage)
    assert any("corrupt.jsonl, line 1" in error.message for unit in coverage for error in unit.errors)
    states = {state.resource_id: state.state for state in store.load_finding_states("gcp", latest.accounts)
              if state.rule_id == "gcp-storage-bucket-not-public"}
    assert states["//storage.googleapis.com/file-bucket-public"] != "resolved"


def test_import_lists_only_missing_settings_that_rules_read(tmp_path: Path) -> None:
    # A firewall rule has no IAM policy, and no rule reads one: that gap must not be listed as causing ERROR.
    firewall = {"name": "//compute.googleapis.com/projects/file-project/global/firewalls/fw",
                "asset_type": "compute.googleapis.com/Firewall", "ancestors": ["projects/100000000042"],
                "resource": {"data": {"name": "fw", "direction": "INGRESS", "sourceRanges": ["10.0.0.0/8"],
                                      "allowed": [{"IPProtocol": "tcp", "ports": ["443"]}]}}}
    organization = {"name": "//cloudresourcemanager.googleapis.com/organizations/7",
                    "asset_type": "cloudresourcemanager.googleapis.com/Organization",
                    "ancestors": ["organizations/7"], "resource": {"data": {"name": "organizations/7"}}}
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(asset) + "\n" for asset in (firewall, organization)))

    result = CliRunner().invoke(main, ["scan", "file", str(path), "--no-store", "--output-dir", str(tmp_path)])

    lacking = next(line for line in result.output.splitlines() if line.startswith("Not in the files"))
    assert "Organization essentialContacts" in lacking
    assert "Firewall iamPolicy" not in lacking


def test_folder_files_left_out_and_yaml_are_explained(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    _cai_export(folder / "assets.jsonl")
    (folder / "notes.txt").write_text("not an export\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("bindings: []\n")

    result = CliRunner().invoke(main, ["scan", "file", str(folder), str(policy), "--no-store",
                                       "--output-dir", str(tmp_path / "out")])

    assert "Left out: file in a folder not named .json, .jsonl or .ndjson (gzipped or not) (1)" in result.output
    assert "a YAML file: Ridgeline reads the JSON" in result.output
