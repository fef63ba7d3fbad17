"""The resource hierarchy in GCP envelopes and the audit configuration functions that rules combine over it.

The importer keeps each asset's `ancestors` and names the folders and organization above projects and
folders in `relationships`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.analysis.gcp_bindings import google_managed_service_account
from ridgeline.analysis.gcp_logging import audit_exemptions, audit_log_types
from ridgeline.imports.aws_config import ImportReport
from ridgeline.imports.gcp_cai import ancestor_relationships, iter_gcp_cai_assets
from ridgeline.model.resource import Resource
from ridgeline.rules.checks_gcp_iam_logging import (
    logging_audit_exemptions,
    logging_audit_log_type_missing,
    logging_audit_log_types_missing,
)

ORG = "organizations/789"
FOLDER = "folders/456"
PROJECT_ASSET = "//cloudresourcemanager.googleapis.com/projects/1001"
POLICY_ASSET = "//compute.googleapis.com/locations/global/firewallPolicies/555"


def import_lines(tmp_path: Path, assets: list[dict[str, Any]]) -> tuple[dict[str, Resource], ImportReport]:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(asset) + "\n" for asset in assets), encoding="utf-8")
    report = ImportReport()
    return {resource.id: resource for resource in iter_gcp_cai_assets(path, report)}, report


def project_asset() -> dict[str, Any]:
    return {"name": PROJECT_ASSET, "asset_type": "cloudresourcemanager.googleapis.com/Project",
            "ancestors": ["projects/1001", FOLDER, "folders/455", ORG],
            "resource": {"data": {"projectId": "app-prod", "projectNumber": "1001"}}}


def test_project_keeps_ancestors_and_names_them(tmp_path: Path) -> None:
    resources, report = import_lines(tmp_path, [project_asset()])

    project = resources[PROJECT_ASSET]
    assert report.errors == []
    assert project.account == "app-prod"
    assert project.supplementary["ancestors"] == ["projects/1001", FOLDER, "folders/455", ORG]
    assert [(link["resourceType"].rsplit("/", 1)[-1], link["resourceName"]) for link in project.relationships] == [
        ("Folder", FOLDER), ("Folder", "folders/455"), ("Organization", ORG)]
    assert project.relationships[0] == {
        "relationshipName": "Is contained in", "resourceType": "cloudresourcemanager.googleapis.com/Folder",
        "resourceId": "//cloudresourcemanager.googleapis.com/folders/456", "resourceName": FOLDER}


def test_folder_names_its_parents_but_not_itself() -> None:
    links = ancestor_relationships("//cloudresourcemanager.googleapis.com/folders/456", [FOLDER, ORG])
    assert [link["resourceName"] for link in links] == [ORG]


def test_other_assets_keep_ancestors_without_relationships(tmp_path: Path) -> None:
    bucket: dict[str, Any] = {"name": "//storage.googleapis.com/b1", "asset_type": "storage.googleapis.com/Bucket",
              "ancestors": ["projects/1001", ORG], "resource": {"data": {"name": "b1"}}}
    resources, _ = import_lines(tmp_path, [bucket])

    assert resources[bucket["name"]].supplementary["ancestors"] == ["projects/1001", ORG]
    assert resources[bucket["name"]].relationships == []


def test_organization_level_assets_belong_to_their_container(tmp_path: Path) -> None:
    # As in a live scan, an asset above every project has its closest organization or folder as account.
    organization: dict[str, Any] = {"name": f"//cloudresourcemanager.googleapis.com/{ORG}",
                    "asset_type": "cloudresourcemanager.googleapis.com/Organization", "ancestors": [ORG],
                    "resource": {"data": {"name": ORG}}}
    policy = {"name": POLICY_ASSET, "asset_type": "compute.googleapis.com/FirewallPolicy", "ancestors": [ORG],
              "resource": {"data": {"name": "555", "parent": ORG, "rules": []}}}
    resources, report = import_lines(tmp_path, [organization, policy])

    assert resources[organization["name"]].account == ORG
    assert resources[POLICY_ASSET].account == ORG
    assert resources[POLICY_ASSET].supplementary["ancestors"] == [ORG]
    assert report.errors == []


CONTAINER_NAME_CASES = [
    # (case id, asset type, asset name, resource data, expected Resource.name)
    ("organization display name", "cloudresourcemanager.googleapis.com/Organization",
     f"//cloudresourcemanager.googleapis.com/{ORG}", {"name": ORG, "displayName": "example.com"}, "example.com"),
    ("folder display name", "cloudresourcemanager.googleapis.com/Folder",
     f"//cloudresourcemanager.googleapis.com/{FOLDER}", {"name": FOLDER, "displayName": "prod"}, "prod"),
    ("organization without a display name", "cloudresourcemanager.googleapis.com/Organization",
     f"//cloudresourcemanager.googleapis.com/{ORG}", {"name": ORG}, "789"),
    ("blank display name", "cloudresourcemanager.googleapis.com/Folder",
     f"//cloudresourcemanager.googleapis.com/{FOLDER}", {"displayName": " "}, "456"),
    ("firewall policy short name", "compute.googleapis.com/FirewallPolicy", POLICY_ASSET,
     {"name": "555", "shortName": "org-baseline", "displayName": "old"}, "org-baseline"),
    ("firewall policy display name", "compute.googleapis.com/FirewallPolicy", POLICY_ASSET,
     {"name": "555", "displayName": "folder-baseline"}, "folder-baseline"),
    ("firewall policy without either", "compute.googleapis.com/FirewallPolicy", POLICY_ASSET, {"name": "555"}, "555"),
    # Other types keep the last segment of the asset name, even when their data has a display name.
    ("project", "cloudresourcemanager.googleapis.com/Project", PROJECT_ASSET,
     {"projectId": "app-prod", "displayName": "App"}, "1001"),
]


@pytest.mark.parametrize(("asset_type", "asset_name", "data", "expected"), [case[1:] for case in CONTAINER_NAME_CASES],
                         ids=[case[0] for case in CONTAINER_NAME_CASES])
def test_container_and_policy_names_from_data(tmp_path: Path, asset_type: str, asset_name: str,
                                              data: dict[str, Any], expected: str) -> None:
    asset = {"name": asset_name, "asset_type": asset_type, "ancestors": [ORG], "resource": {"data": data}}
    resources, _ = import_lines(tmp_path, [asset])

    assert resources[asset_name].name == expected
    assert resources[asset_name].id == asset_name


# Audit configuration -----------------------------------------------------------------------------------

def _policy(*configs: dict[str, Any]) -> dict[str, Any]:
    return {"bindings": [], "auditConfigs": list(configs)}


ALL_SERVICES = {"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}
EXEMPTING = {"service": "bigquery.googleapis.com",
             "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": ["group:analysts@example.com"]}]}


def test_audit_log_types_and_exemptions() -> None:
    policy = _policy(ALL_SERVICES, EXEMPTING)

    assert audit_log_types(policy) == frozenset({"DATA_READ", "DATA_WRITE"})
    assert audit_exemptions(policy) == ["bigquery.googleapis.com exempts group:analysts@example.com from DATA_READ"]
    assert audit_log_types({"bindings": []}) == frozenset()


@pytest.mark.parametrize("bad", [[], {"auditConfigs": {"service": "allServices"}}, {"auditConfigs": ["x"]}])
def test_audit_functions_reject_malformed_policies(bad: Any) -> None:
    with pytest.raises(ValueError):
        audit_log_types(bad)


def test_audit_check_functions() -> None:
    policy = _policy(ALL_SERVICES)

    assert logging_audit_log_types_missing(policy, ["ADMIN_READ", "DATA_READ"]) == (
        True, "allServices does not record ADMIN_READ")
    assert logging_audit_log_types_missing(policy, ["DATA_READ"]) == (False, "")
    # The single-type form leaves the evidence to the summary above.
    assert logging_audit_log_type_missing(policy, "ADMIN_READ") == (True, "")
    assert logging_audit_log_type_missing(policy, "DATA_WRITE") == (False, "")
    assert logging_audit_exemptions(_policy(EXEMPTING)).matched is True
    assert logging_audit_exemptions(policy) == (False, "")


@pytest.mark.parametrize("call", [
    lambda: logging_audit_log_type_missing(None, "DATA_READ"),
    lambda: logging_audit_log_type_missing({"bindings": []}, "DATA_DELETE"),
    lambda: logging_audit_log_types_missing({"bindings": []}, []),
    lambda: logging_audit_exemptions(None),
    lambda: logging_audit_exemptions({"auditConfigs": "all"}),
], ids=["no policy", "unknown log type", "no log types", "no policy for exemptions", "malformed"])
def test_audit_check_functions_unknown(call: Any) -> None:
    assert call().matched is None


@pytest.mark.parametrize(("member", "agent"), [
    ("serviceAccount:service-org-789@security-center-api.iam.gserviceaccount.com", True),
    ("serviceAccount:service-folder-456@gcp-sa-logging.iam.gserviceaccount.com", True),
    ("serviceAccount:service-org-x@security-center-api.iam.gserviceaccount.com", False),
    ("serviceAccount:org-789@app-prod.iam.gserviceaccount.com", False),
])
def test_organization_and_folder_service_agents(member: str, agent: bool) -> None:
    # Organizations and folders have service agents of their own, which the organization rules skip.
    assert google_managed_service_account(member) is agent
