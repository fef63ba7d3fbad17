"""Import of Cloud Asset Inventory exports: real sample files, snake_case and camelCase, merging and bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.aws_config import ImportReport
from ridgeline.imports.gcp_cai import LEGACY_ASSET_TYPES, iter_gcp_cai_assets
from ridgeline.model.redaction import REDACTED
from ridgeline.model.resource import Resource
from tests.conftest import SHARED_SAMPLES

GCP_SAMPLES = SHARED_SAMPLES / "gcp"
needs_samples = pytest.mark.skipif(not GCP_SAMPLES.is_dir(), reason=f"sample exports not present at {GCP_SAMPLES}")

BUCKET = "//storage.googleapis.com/logs-bucket"


def import_all(*sources: Path | str) -> tuple[dict[str, Resource], ImportReport]:
    report = ImportReport()
    resources = list(iter_gcp_cai_assets(list(sources), report))
    by_name = {resource.id: resource for resource in resources}
    assert len(by_name) == len(resources), "an asset name was emitted twice"
    return by_name, report


def write_lines(path: Path, assets: list[Any]) -> Path:
    path.write_text("".join(json.dumps(asset) + "\n" for asset in assets), encoding="utf-8")
    return path


def snake_bucket() -> dict[str, Any]:
    """A bucket with its IAM policy in the `gcloud asset export` shape."""
    return {
        "name": BUCKET,
        "asset_type": "storage.googleapis.com/Bucket",
        "ancestors": ["projects/123456", "organizations/42"],
        "update_time": "2024-05-01T10:00:00Z",
        "resource": {
            "version": "v1",
            "discovery_document_uri": "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
            "discovery_name": "Bucket",
            "parent": "//cloudresourcemanager.googleapis.com/projects/123456",
            "location": "europe-west1",
            "data": {"name": "logs-bucket", "labels": {"team": "platform"}, "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": True}}},
        },
        "iam_policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}],
                       "audit_configs": [{"service": "storage.googleapis.com",
                                          "audit_log_configs": [{"log_type": "DATA_READ"}]}]},
    }


def camel_bucket() -> dict[str, Any]:
    """The same bucket as the client libraries and `gcloud asset list --format=json` spell it."""
    return {
        "name": BUCKET,
        "assetType": "storage.googleapis.com/Bucket",
        "ancestors": ["projects/123456", "organizations/42"],
        "updateTime": "2024-05-01T10:00:00Z",
        "resource": {
            "version": "v1",
            "discoveryDocumentUri": "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
            "discoveryName": "Bucket",
            "parent": "//cloudresourcemanager.googleapis.com/projects/123456",
            "location": "europe-west1",
            "data": {"name": "logs-bucket", "labels": {"team": "platform"}, "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": True}}},
        },
        "iamPolicy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}],
                      "auditConfigs": [{"service": "storage.googleapis.com",
                                        "auditLogConfigs": [{"logType": "DATA_READ"}]}]},
    }


def comparable(resource: Resource) -> dict[str, Any]:
    """The envelope without `source`, which names the file."""
    data = resource.to_dict()
    del data["source"]
    return data


# Real exports ----------------------------------------------------------------------------------------

@needs_samples
@pytest.mark.parametrize(("folder", "count"), [("forseti", 133), ("professional-services", 4), ("policy-library", 39)])
def test_sample_folder_imports(folder: str, count: int) -> None:
    resources, report = import_all(GCP_SAMPLES / folder)

    assert len(resources) == count
    assert sum(report.imported.values()) == count
    # Assets outside any project (organizations, folders, billing accounts, ...) are warnings, not errors, and
    # so is the count of assets with a policy but no resource content.
    assert [issue.describe() for issue in report.errors] == []
    assert all("no project found" in issue.message or issue.message.startswith("assets without resource data")
               for issue in report.warnings)


@needs_samples
def test_forseti_bucket_merges_iam_policy() -> None:
    resources, _ = import_all(GCP_SAMPLES / "forseti")

    bucket = resources["//storage.googleapis.com/bucket1"]
    assert bucket.provider == "gcp"
    assert bucket.type == "storage.googleapis.com/Bucket"
    assert bucket.name == "bucket1"
    assert bucket.account == "1043"
    assert bucket.region == "global"
    assert bucket.configuration["storageClass"] == "STANDARD"
    assert bucket.supplementary["iamPolicy"]["bindings"] == [
        {"members": ["projectEditor:project3", "projectOwner:project3"], "role": "roles/storage.legacyBucketOwner"},
        {"members": ["projectViewer:project3"], "role": "roles/storage.legacyBucketReader"},
    ]
    assert bucket.source.endswith("mock_cai_resources.jsonl")


@needs_samples
def test_forseti_organization_collects_every_part() -> None:
    resources, report = import_all(GCP_SAMPLES / "forseti")

    organization = resources["//cloudresourcemanager.googleapis.com/organizations/111222333"]
    assert organization.type == "cloudresourcemanager.googleapis.com/Organization"
    assert organization.account == "organizations/111222333"
    assert organization.configuration["displayName"] == "forseti.test"
    assert organization.supplementary["iamPolicy"]["bindings"] == [
        {"members": ["user:a_user@forseti.test"], "role": "roles/resourcemanager.organizationAdmin"}]
    assert organization.supplementary["orgPolicy"][0]["constraint"] == "constraints/compute.disableSerialPortAccess"
    assert organization.supplementary["orgPolicy"][0]["booleanPolicy"] == {"enforced": True}
    assert organization.supplementary["accessPolicy"]["title"] == "default policy"
    assert [level["title"] for level in organization.supplementary["accessLevels"]] == ["abcb", "cdcd", "abc"]
    assert organization.supplementary["accessLevels"][0]["basic"]["conditions"][0]["ipSubnetworks"] == ["0.0.0.0/0"]
    assert len(organization.supplementary["servicePerimeters"]) == 1
    # An organisation belongs to no project: its account is itself, as in a live scan, without an error.
    assert not any(issue.message.startswith("//cloudresourcemanager.googleapis.com/organizations/111222333")
                   for issue in report.errors)


@needs_samples
def test_forseti_project_and_labels() -> None:
    resources, _ = import_all(GCP_SAMPLES / "forseti")

    account = resources["//iam.googleapis.com/projects/project1/serviceAccounts/1101"]
    assert account.type == "iam.googleapis.com/ServiceAccount"
    assert account.account == "project1"
    assert account.name == "1101"
    assert account.configuration["email"] == "1041-compute@developer.gserviceaccount.com"
    assert "iamPolicy" in account.supplementary

    sql = resources["//cloudsql.googleapis.com/projects/project1/instances/forseti"]
    assert sql.account == "project1"

    clusters = [resource for resource in resources.values() if resource.type == "dataproc.googleapis.com/Cluster"]
    assert clusters[0].tags["goog-dataproc-cluster-name"] == "test-cluster"


@needs_samples
def test_professional_services_legacy_types() -> None:
    resources, report = import_all(GCP_SAMPLES / "professional-services")

    firewall = resources["//compute.googleapis.com/projects/dothraki-horses-dev-1/global/firewalls/"
                         "default-allow-internal"]
    assert firewall.type == "compute.googleapis.com/Firewall"
    assert firewall.name == "default-allow-internal"
    # The parent names the project by number, and the number is kept.
    assert firewall.account == "56004542525"
    assert firewall.configuration["direction"] == "INGRESS"

    instance = resources["//compute.googleapis.com/projects/forseti-gcpidentityexample-1/zones/us-central1-c/"
                         "instances/forseti-server-vm-75890e3"]
    assert instance.type == "compute.googleapis.com/Instance"
    assert instance.account == "1015892006478"

    billing = resources["//cloudbilling.googleapis.com/billingAccounts/00DADC-921703-05D351"]
    assert billing.type == "cloudbilling.googleapis.com/BillingAccount"
    assert billing.configuration == {}
    assert billing.supplementary["iamPolicy"] == {"etag": "BwVmE0T93HQ="}
    assert report.imported["compute.googleapis.com/Firewall"] == 1


@needs_samples
def test_policy_library_array_files() -> None:
    resources, _ = import_all(GCP_SAMPLES / "policy-library" / "storage_bucket_world_readable.json")

    bucket = resources["//storage.googleapis.com/my-test-bucket"]
    assert bucket.type == "storage.googleapis.com/Bucket"
    assert bucket.name == "my-test-bucket"
    assert bucket.account == "unknown"
    assert bucket.supplementary["iamPolicy"]["bindings"][0] == {
        "role": "roles/storage.legacyBucketOwner", "members": ["projectEditor:test-editor", "projectOwner:test-owner"]}


@needs_samples
def test_recorded_http_responses_rejected() -> None:
    resources, report = import_all(GCP_SAMPLES / "custodian-flights")

    assert resources == {}
    assert len(report.errors) == 3
    for issue in report.errors:
        assert issue.location == ""
        assert "not a Cloud Asset Inventory asset" in issue.message
        assert "body, headers" in issue.message


# Shapes ----------------------------------------------------------------------------------------------

def test_snake_and_camel_give_same_resource(tmp_path: Path) -> None:
    snake, _ = import_all(write_lines(tmp_path / "export.jsonl", [snake_bucket()]))
    (tmp_path / "list.json").write_text(json.dumps([camel_bucket()], indent=2), encoding="utf-8")
    camel, report = import_all(tmp_path / "list.json")

    assert report.errors == []
    assert comparable(snake[BUCKET]) == comparable(camel[BUCKET])


def test_bucket_envelope_fields(tmp_path: Path) -> None:
    resources, report = import_all(write_lines(tmp_path / "export.jsonl", [snake_bucket()]))

    bucket = resources[BUCKET]
    assert report.errors == []
    assert (bucket.provider, bucket.account, bucket.region) == ("gcp", "123456", "europe-west1")
    assert (bucket.type, bucket.name) == ("storage.googleapis.com/Bucket", "logs-bucket")
    assert bucket.tags == {"team": "platform"}
    assert bucket.collected_at == "2024-05-01T10:00:00Z"
    assert bucket.supplementary["iamPolicy"]["auditConfigs"] == [
        {"service": "storage.googleapis.com", "auditLogConfigs": [{"logType": "DATA_READ"}]}]
    assert bucket.source == f"file:{tmp_path / 'export.jsonl'}"


def test_list_assets_response(tmp_path: Path) -> None:
    path = tmp_path / "response.json"
    path.write_text(json.dumps({"assets": [camel_bucket()], "nextPageToken": ""}), encoding="utf-8")
    resources, report = import_all(path)

    assert report.errors == []
    assert list(resources) == [BUCKET]


def test_list_assets_response_line(tmp_path: Path) -> None:
    page = {"assets": [camel_bucket(), {"assetType": "x"}], "nextPageToken": "abc"}
    path = write_lines(tmp_path / "pages.jsonl", [page])
    resources, report = import_all(path)

    assert list(resources) == [BUCKET]
    assert [issue.location for issue in report.errors] == ["line 1, item 1"]


def test_json_lines_in_json_file(tmp_path: Path) -> None:
    # `gcloud asset export --output-path=...json` writes JSON lines whatever the suffix.
    resources, report = import_all(write_lines(tmp_path / "export.json", [snake_bucket(), camel_bucket()]))

    assert report.errors == []
    assert list(resources) == [BUCKET]


@pytest.mark.parametrize(("legacy", "current"), [
    ("google.cloud.storage.Bucket", "storage.googleapis.com/Bucket"),
    ("google.compute.Firewall", "compute.googleapis.com/Firewall"),
    ("google.cloud.resourcemanager.Project", "cloudresourcemanager.googleapis.com/Project"),
])
def test_legacy_type_mapped(tmp_path: Path, legacy: str, current: str) -> None:
    asset: dict[str, Any] = {"name": "//example.googleapis.com/projects/p1/things/x", "asset_type": legacy,
                             "resource": {"data": {"projectId": "p1"}}}
    resources, _ = import_all(write_lines(tmp_path / "legacy.jsonl", [asset]))

    assert LEGACY_ASSET_TYPES[legacy] == current
    assert resources[asset["name"]].type == current


def test_unknown_type_kept(tmp_path: Path) -> None:
    asset: dict[str, Any] = {"name": "//new.googleapis.com/projects/p1/widgets/w",
                             "asset_type": "new.googleapis.com/Widget"}
    resources, _ = import_all(write_lines(tmp_path / "new.jsonl", [asset]))

    assert resources[asset["name"]].type == "new.googleapis.com/Widget"


# Project ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("asset", "project"), [
    ({"resource": {"data": {"projectId": "from-data"}, "parent": "//cloudresourcemanager.googleapis.com/projects/9"},
      "ancestors": ["projects/8"]}, "from-data"),
    ({"resource": {"data": {"project_id": "snake-data"}}}, "snake-data"),
    ({"resource": {"data": {}, "parent": "//cloudresourcemanager.googleapis.com/projects/9"},
      "ancestors": ["folders/7", "projects/8", "organizations/1"]}, "8"),
    ({"resource": {"data": {}, "parent": "//cloudresourcemanager.googleapis.com/projects/9"}}, "9"),
    ({"resource": {"data": {}}, "name": "//sqladmin.googleapis.com/projects/named/instances/db"}, "named"),
])
def test_project_sources(tmp_path: Path, asset: dict[str, Any], project: str) -> None:
    full = {"name": "//example.googleapis.com/things/x", "asset_type": "example.googleapis.com/Thing", **asset}
    resources, report = import_all(write_lines(tmp_path / "one.jsonl", [full]))

    assert report.errors == []
    assert resources[full["name"]].account == project


def test_folder_is_its_own_account(tmp_path: Path) -> None:
    asset: dict[str, Any] = {"name": "//cloudresourcemanager.googleapis.com/folders/7",
                             "asset_type": "cloudresourcemanager.googleapis.com/Folder", "resource": {"data": {}}}
    path = write_lines(tmp_path / "folder.jsonl", [asset])
    resources, report = import_all(path)

    assert resources[asset["name"]].account == "folders/7"
    assert report.errors == []


def test_project_missing_reported(tmp_path: Path) -> None:
    asset: dict[str, Any] = {"name": "//example.googleapis.com/widgets/7",
                             "asset_type": "example.googleapis.com/Widget", "resource": {"data": {}}}
    path = write_lines(tmp_path / "folder.jsonl", [asset])
    resources, report = import_all(path)

    # The asset is imported whole, so this is a warning: it does not make coverage partial.
    assert resources[asset["name"]].account == "unknown"
    assert report.errors == []
    assert len(report.warnings) == 1
    assert report.warnings[0].file == str(path)
    assert report.warnings[0].location == "line 1"
    assert "no project found" in report.warnings[0].message


# Merging ---------------------------------------------------------------------------------------------

def test_merge_across_two_files(tmp_path: Path) -> None:
    bucket = snake_bucket()
    policy = {"name": BUCKET, "asset_type": "storage.googleapis.com/Bucket", "iam_policy": bucket.pop("iam_policy")}
    policy_file = write_lines(tmp_path / "iam_policy.jsonl", [policy])
    resource_file = write_lines(tmp_path / "resource.jsonl", [bucket])

    resources, report = import_all(policy_file, resource_file)

    assert report.errors == []
    assert list(resources) == [BUCKET]
    merged = resources[BUCKET]
    assert merged.configuration["name"] == "logs-bucket"
    assert merged.supplementary["iamPolicy"]["bindings"] == [
        {"role": "roles/storage.objectViewer", "members": ["allUsers"]}]
    assert merged.source == f"file:{resource_file}"
    assert report.imported == {"storage.googleapis.com/Bucket": 1}


def test_merge_legacy_and_current_names(tmp_path: Path) -> None:
    legacy = {"name": BUCKET, "asset_type": "google.cloud.storage.Bucket", "iam_policy": {"etag": "x"}}
    resources, report = import_all(write_lines(tmp_path / "mixed.jsonl", [legacy, snake_bucket()]))

    assert report.errors == []
    assert list(resources) == [BUCKET]


def test_conflicting_types_reported(tmp_path: Path) -> None:
    other = {"name": BUCKET, "asset_type": "compute.googleapis.com/BackendBucket", "iam_policy": {"etag": "x"}}
    resources, report = import_all(write_lines(tmp_path / "conflict.jsonl", [snake_bucket(), other]))

    assert resources[BUCKET].type == "storage.googleapis.com/Bucket"
    assert [issue.location for issue in report.errors] == ["line 2"]
    assert "differs from storage.googleapis.com/Bucket" in report.errors[0].message


# Bad input -------------------------------------------------------------------------------------------

def test_bad_line_in_middle(tmp_path: Path) -> None:
    first = {"name": "//storage.googleapis.com/a", "asset_type": "storage.googleapis.com/Bucket",
             "resource": {"data": {"projectId": "p1"}}}
    last = {"name": "//storage.googleapis.com/b", "asset_type": "storage.googleapis.com/Bucket",
            "resource": {"data": {"projectId": "p1"}}}
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(first) + "\n{\"name\": broken\n\n" + json.dumps(last) + "\n[1]\n{\"other\": 1}\n",
                    encoding="utf-8")

    resources, report = import_all(path)

    assert sorted(resources) == ["//storage.googleapis.com/a", "//storage.googleapis.com/b"]
    assert [(issue.file, issue.location) for issue in report.errors] == [
        (str(path), "line 2"), (str(path), "line 5"), (str(path), "line 6")]
    assert report.errors[0].message.startswith("invalid JSON")
    assert "expected an asset object, found an array" in report.errors[1].message
    assert "not a Cloud Asset Inventory asset" in report.errors[2].message


@pytest.mark.parametrize(("asset", "message"), [
    ({"asset_type": "storage.googleapis.com/Bucket"}, "missing name"),
    ({"name": BUCKET, "asset_type": ""}, "missing asset_type"),
    ({"name": BUCKET, "asset_type": "storage.googleapis.com/Bucket", "resource": []}, "resource must be a JSON object"),
    ({"name": BUCKET, "asset_type": "storage.googleapis.com/Bucket", "resource": {"data": "x"}},
     "resource.data must be a JSON object"),
])
def test_invalid_array_items(tmp_path: Path, asset: dict[str, Any], message: str) -> None:
    path = tmp_path / "list.json"
    path.write_text(json.dumps([camel_bucket(), asset], indent=1), encoding="utf-8")
    _, report = import_all(path)

    assert [issue.location for issue in report.errors] == ["item 1"]
    assert message in report.errors[0].message


def test_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        stream.write(json.dumps(snake_bucket()) + "\n")
    resources, report = import_all(path)

    assert report.errors == []
    assert resources[BUCKET].supplementary["iamPolicy"]["bindings"][0]["members"] == ["allUsers"]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"\x1f\x8bnot gzip", "could not read the file"),
    (b'{"kind": "storage#bucket",\n "name": "x"}', "not a Cloud Asset Inventory asset"),
    (b"[1, 2]", "not a Cloud Asset Inventory export"),
    (b'"text"', "expected a JSON object or array"),
])
def test_bad_file_reported(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    resources, report = import_all(path)

    assert resources == {}
    assert len(report.errors) == 1
    assert report.errors[0].location == ""
    assert message in report.errors[0].message


def test_cut_array_reports_items_and_cut(tmp_path: Path) -> None:
    # A document that cannot be parsed whole is read item by item, up to the cut.
    path = tmp_path / "bad.json"
    path.write_bytes(b"[1, 2")

    resources, report = import_all(path)

    assert resources == {}
    assert [issue.location for issue in report.errors] == ["item 0", "item 1", "line 1, item 2"]
    assert "expected an asset object, found a number" in report.errors[0].message
    assert report.errors[2].message.startswith("invalid JSON")


def test_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        import_all(tmp_path / "absent.jsonl")


def test_secrets_redacted(tmp_path: Path) -> None:
    asset: dict[str, Any] = {
        "name": "//sqladmin.googleapis.com/projects/p1/instances/db", "asset_type": "sqladmin.googleapis.com/Instance",
        "resource": {"data": {"projectId": "p1", "settings": {"password": "hunter2"}}}}
    resources, _ = import_all(write_lines(tmp_path / "sql.jsonl", [asset]))

    assert resources[asset["name"]].configuration["settings"]["password"] == REDACTED


def _project_without_its_asset() -> list[dict[str, Any]]:
    # No cloudresourcemanager Project asset: the instance's name gives the id, its ancestors the number.
    ancestors = ["projects/424242", "organizations/1"]
    return [
        {"name": "//compute.googleapis.com/projects/shop-prod/zones/europe-west1-b/instances/web-1",
         "asset_type": "compute.googleapis.com/Instance", "ancestors": ancestors,
         "resource": {"data": {"name": "web-1"}, "location": "europe-west1-b"}},
        {"name": "//storage.googleapis.com/shop-prod-assets", "asset_type": "storage.googleapis.com/Bucket",
         "ancestors": ancestors, "resource": {"data": {"name": "shop-prod-assets", "projectNumber": "424242"}}},
        {"name": "//serviceusage.googleapis.com/projects/424242/services/compute.googleapis.com",
         "asset_type": "serviceusage.googleapis.com/Service", "ancestors": ancestors,
         "resource": {"data": {"name": "projects/424242/services/compute.googleapis.com", "state": "ENABLED"}}},
    ]


@pytest.mark.parametrize("streamed", [False, True])
def test_project_number_mapped_to_id_from_asset_names(tmp_path: Path, streamed: bool) -> None:
    from ridgeline.imports.collection import import_files
    from ridgeline.pipeline import evaluate_files
    from ridgeline.rules.loader import load_builtin_rules

    path = write_lines(tmp_path / "export.jsonl", _project_without_its_asset())

    if streamed:
        result = evaluate_files([str(path)], load_builtin_rules()).results[0]
        accounts = {result.scan.provider: result.collection.accounts}
        findings_accounts = {finding.account for finding in result.findings}
        assert findings_accounts <= {"shop-prod"}
    else:
        collection = import_files([str(path)]).collections[0]
        accounts = {collection.provider: collection.accounts}
    assert accounts == {"gcp": ["shop-prod"]}


def test_project_names_that_disagree_rename_nothing(tmp_path: Path) -> None:
    from ridgeline.imports.collection import import_files

    assets = _project_without_its_asset()
    other = dict(assets[0], name="//compute.googleapis.com/projects/shop-staging/zones/europe-west1-b/instances/x")
    path = write_lines(tmp_path / "export.jsonl", [*assets, other])

    collection = import_files([str(path)]).collections[0]

    assert collection.accounts == ["424242"]
