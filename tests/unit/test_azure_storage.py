"""Tests for the Azure storage, Key Vault and Databricks analysis helpers and their check functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.analysis import azure_storage
from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules import checks_azure_storage as checks
from ridgeline.rules.engine import Engine
from ridgeline.rules.functions import Outcome
from ridgeline.rules.loader import load_builtin_rules

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "cspm-samples" / "azure"


# --- SMB protocol versions ----------------------------------------------------------------------

@pytest.mark.parametrize(("versions", "minimum", "expected"), [
    pytest.param(None, "SMB3.1.1", ["SMB2.1", "SMB3.0"], id="unset-means-all-versions"),
    pytest.param("", "SMB3.1.1", ["SMB2.1", "SMB3.0"], id="empty-means-all-versions"),
    pytest.param("SMB3.1.1", "SMB3.1.1", [], id="only-3.1.1"),
    pytest.param("SMB3.0;SMB3.1.1", "SMB3.1.1", ["SMB3.0"], id="3.0-listed"),
    pytest.param("SMB2.1;SMB3.0;SMB3.1.1", "SMB3.1.1", ["SMB2.1", "SMB3.0"], id="maximum-compatibility"),
    pytest.param("smb3.1.1; ", "SMB3.1.1", [], id="case-and-trailing-separator"),
    pytest.param("SMB3.0;SMB3.1.1", "SMB3.0", [], id="lower-minimum"),
    pytest.param("SMB3.1.1;SMB3.2", "SMB3.1.1", [], id="newer-version-is-not-below"),
])
def test_smb_versions_below(versions: Any, minimum: str, expected: list[str]) -> None:
    assert azure_storage.smb_versions_below(versions, minimum) == expected


@pytest.mark.parametrize("versions", [
    pytest.param("SMB3.x", id="not-a-number"),
    pytest.param("3.1.1", id="no-prefix"),
    pytest.param(["SMB3.1.1"], id="list-not-string"),
])
def test_smb_versions_below_rejects_malformed(versions: Any) -> None:
    with pytest.raises(ValueError, match=r"SMB|versions"):
        azure_storage.smb_versions_below(versions)


# --- SMB channel encryption ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(None, ["AES-128-CCM", "AES-128-GCM"], id="unset-means-all-algorithms"),
    pytest.param("AES-256-GCM", [], id="only-aes-256-gcm"),
    pytest.param("aes-256-gcm", [], id="case-insensitive"),
    pytest.param("AES-128-GCM;AES-256-GCM", ["AES-128-GCM"], id="aes-128-listed"),
    pytest.param("AES-128-CCM", ["AES-128-CCM"], id="only-weak"),
    pytest.param("AES-256-GCM;ROT13", ["ROT13"], id="unknown-algorithm-is-not-accepted"),
])
def test_weak_smb_channel_encryption(value: Any, expected: list[str]) -> None:
    assert azure_storage.weak_smb_channel_encryption(value) == expected


# --- Firewall bypass ------------------------------------------------------------------------------

@pytest.mark.parametrize(("bypass", "expected"), [
    pytest.param(None, {"azureservices"}, id="unset-means-api-default"),
    pytest.param("None", set(), id="none"),
    pytest.param("AzureServices", {"azureservices"}, id="azure-services"),
    pytest.param("Logging, Metrics", {"logging", "metrics"}, id="logging-and-metrics"),
    pytest.param("Logging,Metrics,AzureServices", {"logging", "metrics", "azureservices"}, id="all-without-spaces"),
    pytest.param("azureservices", {"azureservices"}, id="lower-case"),
])
def test_bypassed_services(bypass: Any, expected: set[str]) -> None:
    assert azure_storage.bypassed_services(bypass) == expected


def test_bypassed_services_rejects_list() -> None:
    with pytest.raises(ValueError, match=r"networkAcls\.bypass"):
        azure_storage.bypassed_services(["AzureServices"])


# --- Replication SKUs -----------------------------------------------------------------------------

@pytest.mark.parametrize(("sku", "expected"), [
    ("Standard_GRS", True), ("Standard_RAGRS", True), ("Standard_GZRS", True), ("Standard_RAGZRS", True),
    ("standard_gzrs", True), ("StandardV2_GRS", True),
    ("Standard_LRS", False), ("Standard_ZRS", False), ("Premium_LRS", False), ("Premium_ZRS", False),
])
def test_is_geo_redundant(sku: str, expected: bool) -> None:
    assert azure_storage.is_geo_redundant(sku) is expected


@pytest.mark.parametrize("sku", [None, "", {"name": "Standard_GRS"}])
def test_is_geo_redundant_rejects_missing_or_malformed(sku: Any) -> None:
    with pytest.raises(ValueError, match=r"sku\.name"):
        azure_storage.is_geo_redundant(sku)


# --- Tags -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("tags", "expected"), [
    pytest.param({"criticality": "high"}, "high", id="exact-name"),
    pytest.param({"Criticality": "High"}, "High", id="name-in-another-case"),
    pytest.param({"owner": "data"}, None, id="absent"),
    pytest.param(None, None, id="no-tags"),
    pytest.param({"criticality": None}, None, id="null-value"),
])
def test_tag_value(tags: Any, expected: str | None) -> None:
    assert azure_storage.tag_value(tags, "criticality") == expected


def test_tag_value_rejects_list() -> None:
    with pytest.raises(ValueError, match="tags"):
        azure_storage.tag_value([{"criticality": "high"}], "criticality")


# --- Databricks subnets ---------------------------------------------------------------------------

def _subnet(name: str, *, delegated: bool, nsg: bool, flattened: bool = False) -> dict[str, Any]:
    settings: dict[str, Any] = {"addressPrefix": "10.0.0.0/24"}
    if delegated:
        delegation: dict[str, Any] = {"name": "databricks"}
        if flattened:
            delegation["serviceName"] = "Microsoft.Databricks/workspaces"
        else:
            delegation["properties"] = {"serviceName": "Microsoft.Databricks/workspaces"}
        settings["delegations"] = [delegation]
    if nsg:
        settings["networkSecurityGroup"] = {"id": f"/subscriptions/s/nsg-{name}"}
    return {"name": name, **settings} if flattened else {"name": name, "properties": settings}


@pytest.mark.parametrize(("subnets", "with_nsg", "without_nsg"), [
    pytest.param([_subnet("host", delegated=True, nsg=True), _subnet("container", delegated=True, nsg=True)],
                 ["host", "container"], [], id="both-protected"),
    pytest.param([_subnet("host", delegated=True, nsg=True), _subnet("container", delegated=True, nsg=False)],
                 ["host"], ["container"], id="container-unprotected"),
    pytest.param([_subnet("app", delegated=False, nsg=False), _subnet("host", delegated=True, nsg=True)],
                 ["host"], [], id="undelegated-subnet-ignored"),
    pytest.param([_subnet("host", delegated=True, nsg=False, flattened=True)], [], ["host"], id="cli-flattened"),
    pytest.param([], [], [], id="no-subnets"),
    pytest.param(None, [], [], id="subnets-missing"),
])
def test_databricks_subnets_without_nsg(subnets: Any, with_nsg: list[str], without_nsg: list[str]) -> None:
    assert azure_storage.databricks_subnets_without_nsg(subnets) == (with_nsg, without_nsg)


def test_databricks_subnet_with_empty_nsg_id_is_unprotected() -> None:
    delegation = {"properties": {"serviceName": "Microsoft.Databricks/workspaces"}}
    subnet = {"name": "host", "properties": {"networkSecurityGroup": {"id": ""}, "delegations": [delegation]}}

    assert azure_storage.databricks_subnets_without_nsg([subnet]) == ([], ["host"])


@pytest.mark.parametrize("subnets", [
    pytest.param("snet", id="string"),
    pytest.param(["snet"], id="item-not-object"),
    pytest.param([{"name": "a", "properties": {"delegations": "Microsoft.Databricks/workspaces"}}],
                 id="delegations-not-list"),
])
def test_databricks_subnets_rejects_malformed(subnets: Any) -> None:
    with pytest.raises(ValueError, match="subnet"):
        azure_storage.databricks_subnets_without_nsg(subnets)


# --- Check functions: outcomes and their reasons --------------------------------------------------

@pytest.mark.parametrize(("outcome", "matched", "detail"), [
    pytest.param(checks.smb_versions_below(None), True, "versions not set", id="smb-unset"),
    pytest.param(checks.smb_versions_below("SMB3.1.1"), False, "only SMB3.1.1", id="smb-strict"),
    pytest.param(checks.smb_versions_below("SMB3.x"), None, "invalid SMB version", id="smb-malformed"),
    pytest.param(checks.smb_channel_encryption_weak("AES-128-GCM;AES-256-GCM"), True, "AES-128-GCM",
                 id="channel-weak"),
    pytest.param(checks.smb_channel_encryption_weak(3), None, "channelEncryption", id="channel-malformed"),
    pytest.param(checks.storage_bypass_excludes("Logging", "AzureServices"), True, "does not include",
                 id="bypass-missing-service"),
    pytest.param(checks.storage_bypass_excludes(None, "AzureServices"), False, "includes", id="bypass-default"),
    pytest.param(checks.storage_sku_not_geo_redundant("Standard_LRS"), True, "one region", id="sku-lrs"),
    pytest.param(checks.storage_sku_not_geo_redundant(None), None, "sku.name", id="sku-missing"),
    pytest.param(checks.tag_value_in({"CRITICALITY": "Critical"}, "criticality", ["high", "critical"]), True,
                 "'Critical'", id="tag-any-case"),
    pytest.param(checks.tag_value_in({}, "criticality", ["high"]), False, "None", id="tag-absent"),
    pytest.param(checks.databricks_subnets_without_nsg([]), None, "no subnet delegated", id="subnets-none-delegated"),
    pytest.param(checks.diagnostic_logs_not_exported(None), None, "not collected", id="diagnostics-not-collected"),
    pytest.param(checks.diagnostic_logs_not_exported([]), True, "no diagnostic setting", id="diagnostics-empty"),
])
def test_check_outcome(outcome: Outcome, matched: bool | None, detail: str) -> None:
    assert outcome.matched is matched
    assert detail in outcome.detail


# --- Recorded responses ---------------------------------------------------------------------------

def _recorded_account() -> dict[str, Any]:
    sample = SAMPLES / "rest-api-specs" / "StorageAccountGetProperties.json"
    if not sample.exists():
        pytest.skip(f"the shared samples are not checked out next to the repository ({sample})")
    body: dict[str, Any] = json.loads(sample.read_text(encoding="utf-8"))["responses"]["200"]["body"]
    return body


def test_recorded_storage_account_network_settings() -> None:
    # A storage account from the REST API specification's GET example: the firewall admits all
    # networks, trusted services bypass it, and the SKU is geo-redundant.
    account = _recorded_account()

    assert azure_storage.bypassed_services(account["properties"]["networkAcls"]["bypass"]) == {"azureservices"}
    assert azure_storage.is_geo_redundant(account["sku"]["name"]) is True
    outcome = checks.storage_bypass_excludes(account["properties"]["networkAcls"]["bypass"], "AzureServices")
    assert outcome.matched is False


@pytest.mark.parametrize(("rule_id", "status"), [
    ("azure-storage-https-only", Status.FAIL),
    ("azure-storage-firewall-default-deny", Status.FAIL),
    ("azure-storage-trusted-services-bypass", Status.PASS),
    ("azure-storage-public-network-disabled", Status.FAIL),
    ("azure-storage-access-keys-rotated", Status.FAIL),
    ("azure-storage-no-anonymous-blob-access", Status.FAIL),
])
def test_rules_on_recorded_storage_account(rule_id: str, status: Status) -> None:
    account = _recorded_account()
    resource = Resource(provider="azure", account="00000000-0000-0000-0000-000000000001", region="eastus2",
                        type=account["type"], id=account["id"], name=account["name"], configuration=account,
                        tags=account.get("tags") or {}, source="test")
    rule = next(rule for rule in load_builtin_rules() if rule.id == rule_id)
    coverage = [Coverage(provider="azure", account=resource.account, region="global", service=rule.service)]

    findings = Engine([rule]).evaluate([resource], coverage)

    assert [finding.status for finding in findings] == [status]
