"""The live GCP scan reads what projects inherit: the folders and organization above them, and the
hierarchical firewall policies attached there, and the rules judge projects on the union.

The test organization (tests/gcp/organization.py) puts rl-alpha under folder prod, and rl-beta directly
under the organization. Each test changes the served assets where it needs to, before scanning.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from tests.gcp.conftest import GcpScanner
from tests.gcp.fake_gcp import FakeGcp, google_error
from tests.gcp.organization import (
    ALPHA,
    ALPHA_NAME,
    ALPHA_NUMBER,
    BETA,
    BETA_NAME,
    FOLDER,
    FOLDER_NAME,
    ORG,
    ORGANIZATION_NAME,
    UPDATE_TIME,
)

AUDIT_RULE = "gcp-logging-audit-logs-all-services"
POLICY_RULE = "gcp-compute-firewall-policy-internet-admin-ports"
PUBLIC_RULE = "gcp-iam-org-public-binding"

ORG_POLICY_NAME = "//compute.googleapis.com/locations/global/firewallPolicies/800000000001"
OTHER_POLICY_NAME = "//compute.googleapis.com/locations/global/firewallPolicies/800000000002"


@pytest.fixture(scope="module")
def gcp_rules(builtin_rules: list[Rule]) -> list[Rule]:
    return [rule for rule in builtin_rules if rule.provider == "gcp"]


def by_id(collection: Collection, resource_id: str) -> Resource:
    [resource] = [resource for resource in collection.resources if resource.id == resource_id]
    return resource


def statuses(collection: Collection, rules: list[Rule], rule_id: str) -> dict[str, Finding]:
    """Return the findings of one rule by resource id."""
    return {finding.resource_id: finding for finding in Engine(rules).evaluate(collection.resources,
                                                                               collection.coverage)
            if finding.rule_id == rule_id}


def served(fake: FakeGcp, name: str) -> dict[str, Any]:
    """Return the served asset named `name`, to change it before a scan."""
    return next(asset for asset in fake.assets if asset["name"] == name)


def audit_configs(*log_types: str) -> list[dict[str, Any]]:
    return [{"service": "allServices", "auditLogConfigs": [{"logType": log_type} for log_type in log_types]}]


def firewall_policy(name: str, parent: str, attachment: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a hierarchical firewall policy asset in the ListAssets shape."""
    number = name.rsplit("/", 1)[-1]
    return {
        "name": name, "assetType": "compute.googleapis.com/FirewallPolicy", "ancestors": [parent],
        "updateTime": UPDATE_TIME,
        "resource": {"version": "v1", "discoveryName": "FirewallPolicy", "location": "global",
                     "parent": f"//cloudresourcemanager.googleapis.com/{parent}",
                     "data": {"kind": "compute#firewallPolicy", "id": number, "name": number,
                              "shortName": f"policy-{number[-1]}", "parent": parent,
                              "associations": [{"name": f"attach-{number[-1]}", "attachmentTarget": attachment,
                                                "firewallPolicyId": number}],
                              "rules": rules}},
    }


SSH_FROM_WORLD = {"priority": 1000, "action": "allow", "direction": "INGRESS",
                  "match": {"srcIpRanges": ["0.0.0.0/0"], "layer4Configs": [{"ipProtocol": "tcp", "ports": ["22"]}]}}


# Envelopes -------------------------------------------------------------------------------------------

def test_project_scan_reads_ancestors(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(projects=[ALPHA])

    organization = by_id(collection, ORGANIZATION_NAME)
    folder = by_id(collection, FOLDER_NAME)
    assert organization.account == f"organizations/{ORG}"
    assert folder.account == f"folders/{FOLDER}"
    # Named by their display names, as an import names them; the ids keep the numbers.
    assert (organization.name, folder.name) == ("ridgeline.test", "prod")
    assert organization.supplementary["iamPolicy"]["auditConfigs"] == audit_configs("ADMIN_READ")
    assert folder.supplementary["iamPolicy"]["bindings"][0]["role"] == "roles/resourcemanager.folderViewer"
    for node, own_type in ((f"folders/{FOLDER}", "cloudresourcemanager.googleapis.com/Folder"),
                           (f"organizations/{ORG}", "cloudresourcemanager.googleapis.com/Organization")):
        for content_type in ("RESOURCE", "IAM_POLICY"):
            [request] = gcp_scan.fake.asset_requests(node, content_type)
            assert sorted(request.query["assetTypes"]) == sorted([own_type, "compute.googleapis.com/FirewallPolicy"])
    assert all(unit.status is Completeness.COMPLETE for unit in collection.coverage)


def test_project_envelope_names_its_ancestors(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(projects=[ALPHA])

    project = by_id(collection, ALPHA_NAME)
    assert project.supplementary["ancestors"] == [f"projects/{ALPHA_NUMBER}", f"folders/{FOLDER}",
                                                  f"organizations/{ORG}"]
    assert [(link["resourceType"], link["resourceId"]) for link in project.relationships] == [
        ("cloudresourcemanager.googleapis.com/Folder", FOLDER_NAME),
        ("cloudresourcemanager.googleapis.com/Organization", ORGANIZATION_NAME),
    ]
    # Other assets keep their ancestors, but only projects and folders name them as relationships.
    bucket = by_id(collection, "//storage.googleapis.com/rl-alpha-public")
    assert bucket.supplementary["ancestors"][-1] == f"organizations/{ORG}"
    assert bucket.relationships == []


def test_organization_scope_lists_no_ancestors(gcp_scan: GcpScanner) -> None:
    gcp_scan.scan(organization=ORG)

    assert gcp_scan.fake.asset_requests(f"folders/{FOLDER}") == []
    assert len(gcp_scan.fake.asset_requests(f"organizations/{ORG}")) == 2


# Inherited audit configuration -----------------------------------------------------------------------

@pytest.fixture
def beta_inherits_data_logs(fake_gcp: FakeGcp) -> FakeGcp:
    """rl-beta records only ADMIN_READ itself; the organization enables DATA_READ and DATA_WRITE."""
    served(fake_gcp, BETA_NAME)["iamPolicy"]["auditConfigs"] = audit_configs("ADMIN_READ")
    served(fake_gcp, ORGANIZATION_NAME)["iamPolicy"]["auditConfigs"] = audit_configs("DATA_READ", "DATA_WRITE")
    return fake_gcp


def test_audit_logs_inherited_from_organization(beta_inherits_data_logs: FakeGcp, gcp_scan: GcpScanner,
                                                gcp_rules: list[Rule]) -> None:
    collection = gcp_scan.scan(projects=[BETA])

    assert statuses(collection, gcp_rules, AUDIT_RULE)[BETA_NAME].status is Status.PASS


def test_audit_logs_missing_everywhere_fail(beta_inherits_data_logs: FakeGcp, gcp_scan: GcpScanner,
                                            gcp_rules: list[Rule]) -> None:
    served(beta_inherits_data_logs, ORGANIZATION_NAME)["iamPolicy"]["auditConfigs"] = audit_configs("DATA_READ")
    collection = gcp_scan.scan(projects=[BETA])

    finding = statuses(collection, gcp_rules, AUDIT_RULE)[BETA_NAME]
    assert finding.status is Status.FAIL
    missing = finding.evidence["gcp.logging_audit_log_types_missing"]
    assert missing == "allServices does not record DATA_READ, DATA_WRITE"


def test_unreadable_organization_is_error_not_pass(beta_inherits_data_logs: FakeGcp, gcp_scan: GcpScanner,
                                                   gcp_rules: list[Rule]) -> None:
    beta_inherits_data_logs.script(f"assets:organizations/{ORG}:IAM_POLICY", google_error(
        403, "PERMISSION_DENIED", "Permission cloudasset.assets.listIamPolicy denied on organizations/"
        f"{ORG}", reason="IAM_PERMISSION_DENIED"))
    collection = gcp_scan.scan(projects=[BETA])

    assert ORGANIZATION_NAME not in {resource.id for resource in collection.resources}
    finding = statuses(collection, gcp_rules, AUDIT_RULE)[BETA_NAME]
    assert finding.status is Status.ERROR
    assert f"organizations/{ORG}' was not collected" in finding.message
    [unit] = [unit for unit in collection.coverage if (unit.account, unit.service) == (BETA, "resourcemanager")]
    assert unit.status is Completeness.PARTIAL
    assert unit.errors[0].message.startswith(
        f"not assessed: ancestor organizations/{ORG} unreadable: PERMISSION_DENIED")


def test_unreadable_organization_leaves_exemptions_unknown(fake_gcp: FakeGcp, gcp_scan: GcpScanner,
                                                           gcp_rules: list[Rule]) -> None:
    # The project records every log type itself, but the organization it could not read may exempt members.
    served(fake_gcp, BETA_NAME)["iamPolicy"]["auditConfigs"] = audit_configs("ADMIN_READ", "DATA_READ", "DATA_WRITE")
    fake_gcp.script(f"assets:organizations/{ORG}:RESOURCE", google_error(403, "PERMISSION_DENIED", "denied"))
    collection = gcp_scan.scan(projects=[BETA])

    finding = statuses(collection, gcp_rules, AUDIT_RULE)[BETA_NAME]
    assert finding.status is Status.ERROR
    assert f"the organization service was not scanned in organizations/{ORG}" in finding.message


def test_folder_exemption_fails_project(beta_inherits_data_logs: FakeGcp, gcp_scan: GcpScanner,
                                        gcp_rules: list[Rule]) -> None:
    # rl-alpha sits in the folder; it records every log type itself, with an exemption of its own removed.
    alpha = served(beta_inherits_data_logs, ALPHA_NAME)
    alpha["iamPolicy"]["auditConfigs"] = audit_configs("ADMIN_READ", "DATA_READ", "DATA_WRITE")
    served(beta_inherits_data_logs, FOLDER_NAME)["iamPolicy"]["auditConfigs"] = [{
        "service": "storage.googleapis.com",
        "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": ["serviceAccount:etl@rl-alpha.test"]}]}]
    collection = gcp_scan.scan(projects=[ALPHA])

    finding = statuses(collection, gcp_rules, AUDIT_RULE)[ALPHA_NAME]
    assert finding.status is Status.FAIL
    assert "storage.googleapis.com exempts serviceAccount:etl@rl-alpha.test" in str(finding.evidence)


# Organization-level IAM ------------------------------------------------------------------------------

def test_public_binding_on_organization_found_by_project_scan(fake_gcp: FakeGcp, gcp_scan: GcpScanner,
                                                              gcp_rules: list[Rule]) -> None:
    served(fake_gcp, ORGANIZATION_NAME)["iamPolicy"]["bindings"].append(
        {"role": "roles/browser", "members": ["allAuthenticatedUsers"]})
    collection = gcp_scan.scan(projects=[ALPHA])

    findings = statuses(collection, gcp_rules, PUBLIC_RULE)
    assert findings[ORGANIZATION_NAME].status is Status.FAIL
    assert findings[ORGANIZATION_NAME].message.startswith("The IAM policy of ridgeline.test grants")
    assert findings[FOLDER_NAME].status is Status.PASS
    assert findings[ORGANIZATION_NAME].account == f"organizations/{ORG}"


# Hierarchical firewall policies ----------------------------------------------------------------------

def test_attached_firewall_policy_collected_and_judged(fake_gcp: FakeGcp, gcp_scan: GcpScanner,
                                                       gcp_rules: list[Rule]) -> None:
    fake_gcp.assets.append(firewall_policy(ORG_POLICY_NAME, f"organizations/{ORG}", f"folders/{FOLDER}",
                                           [SSH_FROM_WORLD]))
    # A policy attached to a folder outside rl-alpha's ancestry is not part of its scan.
    fake_gcp.assets.append(firewall_policy(OTHER_POLICY_NAME, f"organizations/{ORG}", "folders/999",
                                           [copy.deepcopy(SSH_FROM_WORLD)]))
    collection = gcp_scan.scan(projects=[ALPHA])

    ids = {resource.id for resource in collection.resources}
    assert ORG_POLICY_NAME in ids
    assert OTHER_POLICY_NAME not in ids
    policy = by_id(collection, ORG_POLICY_NAME)
    assert policy.account == f"organizations/{ORG}"
    assert policy.name == "policy-1"
    assert policy.configuration["rules"][0]["priority"] == 1000
    finding = statuses(collection, gcp_rules, POLICY_RULE)[ORG_POLICY_NAME]
    assert finding.status is Status.FAIL
    assert "tcp 22 from 0.0.0.0/0 (firewall policy policy-1 rule 1000)" in str(finding.evidence)


def test_organization_scope_lists_firewall_policies(fake_gcp: FakeGcp, gcp_scan: GcpScanner,
                                                    gcp_rules: list[Rule]) -> None:
    deny_first = {"priority": 10, "action": "deny", "direction": "INGRESS",
                  "match": {"srcIpRanges": ["0.0.0.0/0"], "layer4Configs": [{"ipProtocol": "tcp"}]}}
    fake_gcp.assets.append(firewall_policy(ORG_POLICY_NAME, f"organizations/{ORG}", f"organizations/{ORG}",
                                           [deny_first, SSH_FROM_WORLD]))
    collection = gcp_scan.scan(organization=ORG)

    assert statuses(collection, gcp_rules, POLICY_RULE)[ORG_POLICY_NAME].status is Status.PASS
