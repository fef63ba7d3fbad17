"""Entra ID in the live Azure scan: Microsoft Graph reads, the tenant's coverage unit, and ERROR when not read."""

from __future__ import annotations

from pathlib import Path

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.providers.azure.msgraph import GRAPH_ENDPOINT_ENV, resolve_graph_endpoint
from ridgeline.providers.azure.permissions import BUILTIN_NOTE
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_rule_files
from ridgeline.rules.model import Rule
from tests.azure.conftest import AzureScanner
from tests.azure.fake_arm import Scripted, graph_error
from tests.azure.tenant import REGISTRATION_PATH, SECURITY_DEFAULTS_PATH, TENANT, USER_NO_MFA, USER_READY

IDENTITY_RULES = Path(__file__).parents[2] / "src/ridgeline/rules/builtin/azure/identity.yaml"
SECURITY_DEFAULTS_RULE = "azure-entra-security-defaults-enabled"
MFA_RULE = "azure-entra-user-mfa-capable"
ENTRA_RULES = (SECURITY_DEFAULTS_RULE, MFA_RULE)


@pytest.fixture(scope="module")
def entra_rules() -> list[Rule]:
    return [rule for rule in load_rule_files([IDENTITY_RULES]) if rule.id in ENTRA_RULES]


def entra_unit(collection: Collection) -> Coverage:
    matches = [unit for unit in collection.coverage if unit.service == "entra"]
    assert len(matches) == 1, [unit.to_dict() for unit in matches]
    return matches[0]


def outcomes(collection: Collection, rules: list[Rule]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {rule_id: [] for rule_id in ENTRA_RULES}
    for finding in Engine(rules).evaluate(collection.resources, collection.coverage):
        found[finding.rule_id].append(finding)
    return found


def test_graph_objects_become_findings(azure_scan: AzureScanner, entra_rules: list[Rule]) -> None:
    assert {rule.id for rule in entra_rules} == set(ENTRA_RULES)

    collection = azure_scan.scan()

    unit = entra_unit(collection)
    assert (unit.provider, unit.account, unit.region) == ("azure", TENANT, "global")
    assert unit.status is Completeness.COMPLETE, unit.to_dict()
    assert unit.resource_counts == {"microsoft.graph.identitySecurityDefaultsEnforcementPolicy": 1,
                                    "microsoft.graph.userRegistrationDetails": 2}
    policy = [resource for resource in collection.resources
              if resource.type == "microsoft.graph.identitySecurityDefaultsEnforcementPolicy"]
    assert [(item.account, item.region, item.name, item.configuration["isEnabled"]) for item in policy] == [
        (TENANT, "global", "Security Defaults", False)]

    found = outcomes(collection, entra_rules)
    assert [(finding.status, finding.account) for finding in found[SECURITY_DEFAULTS_RULE]] == [
        (Status.FAIL, TENANT)]
    by_user = {finding.resource_id: finding.status for finding in found[MFA_RULE]}
    assert by_user == {USER_READY: Status.PASS, USER_NO_MFA: Status.FAIL}

    # Both pages were read (the second through @odata.nextLink), with a Graph token for the tenant.
    pages = azure_scan.fake.requests_to(REGISTRATION_PATH)
    assert [request.query.get("$skiptoken") for request in pages] == [None, ["2"]]
    graph_scope = f"{azure_scan.fake.base_url}/.default"
    assert ((graph_scope,), TENANT) in azure_scan.credential.requests


def test_refused_read_is_error_with_permission(azure_scan: AzureScanner, entra_rules: list[Rule]) -> None:
    azure_scan.fake.script(SECURITY_DEFAULTS_PATH, graph_error(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))

    collection = azure_scan.scan()

    unit = entra_unit(collection)
    assert unit.status is Completeness.PARTIAL
    reason = unit.failed_types["microsoft.graph.identitySecurityDefaultsEnforcementPolicy"]
    assert "Authorization_RequestDenied" in reason
    assert "Policy.Read.All" in reason
    found = outcomes(collection, entra_rules)
    [defaults] = found[SECURITY_DEFAULTS_RULE]
    assert defaults.status is Status.ERROR
    assert "Policy.Read.All" in defaults.message
    # The other read succeeded, so its rule still judges the users.
    assert {finding.status for finding in found[MFA_RULE]} == {Status.PASS, Status.FAIL}


def test_every_read_refused_fails_unit(azure_scan: AzureScanner, entra_rules: list[Rule]) -> None:
    denied = graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    azure_scan.fake.script(SECURITY_DEFAULTS_PATH, denied)
    azure_scan.fake.script(REGISTRATION_PATH, denied)

    collection = azure_scan.scan()

    unit = entra_unit(collection)
    assert unit.status is Completeness.FAILED
    assert "AuditLog.Read.All" in unit.failed_types["microsoft.graph.userRegistrationDetails"]
    assert not [resource for resource in collection.resources if resource.type.startswith("microsoft.graph.")]
    found = outcomes(collection, entra_rules)
    for rule_id in ENTRA_RULES:
        assert [finding.status for finding in found[rule_id]] == [Status.ERROR], rule_id
        assert "AuditLog.Read.All" in found[rule_id][0].message
        assert "grant" in found[rule_id][0].message


def test_foreign_next_link_is_error(azure_scan: AzureScanner, entra_rules: list[Rule]) -> None:
    azure_scan.fake.script(REGISTRATION_PATH, Scripted(200, {
        "value": [], "@odata.nextLink": "https://graph.example.invalid/v1.0/next"}))

    collection = azure_scan.scan()

    reason = entra_unit(collection).failed_types["microsoft.graph.userRegistrationDetails"]
    assert "another host" in reason
    assert [finding.status for finding in outcomes(collection, entra_rules)[MFA_RULE]] == [Status.ERROR]


def test_no_graph_endpoint_is_error(azure_scan: AzureScanner, entra_rules: list[Rule],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server is no known cloud, so without an explicit Graph endpoint none is used.
    monkeypatch.delenv(GRAPH_ENDPOINT_ENV, raising=False)

    collection = azure_scan.scan(graph_endpoint=None)

    unit = entra_unit(collection)
    assert unit.account == TENANT
    assert unit.status is Completeness.FAILED
    assert not azure_scan.fake.requests_to(SECURITY_DEFAULTS_PATH)
    found = outcomes(collection, entra_rules)
    for rule_id in ENTRA_RULES:
        [finding] = found[rule_id]
        assert finding.status is Status.ERROR
        assert GRAPH_ENDPOINT_ENV in finding.message


def test_unknown_tenant_is_error(azure_scan: AzureScanner, entra_rules: list[Rule]) -> None:
    for row in azure_scan.fake.subscriptions:
        row.pop("tenantId", None)

    collection = azure_scan.scan()

    unit = entra_unit(collection)
    assert unit.status is Completeness.FAILED
    assert "no tenant id" in unit.failed_types["microsoft.graph.userRegistrationDetails"]
    found = outcomes(collection, entra_rules)
    for rule_id in ENTRA_RULES:
        assert [finding.status for finding in found[rule_id]] == [Status.ERROR], rule_id


def test_graph_endpoint_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(GRAPH_ENDPOINT_ENV, raising=False)
    assert resolve_graph_endpoint("https://management.azure.com/", None) == "https://graph.microsoft.com"
    assert resolve_graph_endpoint("https://management.usgovcloudapi.net", None) == "https://graph.microsoft.us"
    assert resolve_graph_endpoint("https://127.0.0.1:8443", None) is None
    monkeypatch.setenv(GRAPH_ENDPOINT_ENV, "https://127.0.0.1:9443/")
    assert resolve_graph_endpoint("https://management.azure.com", None) == "https://127.0.0.1:9443"
    with pytest.raises(ScanSetupError, match="must start with https://"):
        resolve_graph_endpoint("https://management.azure.com", "http://127.0.0.1:9443")


def test_permissions_note_names_graph_permissions() -> None:
    for permission in ("Policy.Read.All", "AuditLog.Read.All"):
        assert permission in BUILTIN_NOTE
