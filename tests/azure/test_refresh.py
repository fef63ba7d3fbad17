"""Targeted refresh of Azure resources against the local HTTPS server: only the named resources are read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.pipeline import policies

from ridgeline.model.redaction import REDACTED
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.scanner import RefreshOutcome, RefreshRequest
from ridgeline.providers.azure import clients as clients_module
from ridgeline.providers.azure.clients import AzureClients
from ridgeline.providers.azure.declarations import PARENT_LISTINGS
from ridgeline.providers.azure.refresh import AzureRefresher, parent_id
from tests.azure.conftest import AzureScanner, FakeCredential
from tests.azure.fake_arm import GRAPH_PATH, FakeAzure, arm_error
from tests.azure.tenant import SITE, STORAGE_A, SUB_A, SUB_B, VAULT

STORAGE = "Microsoft.Storage/storageAccounts"


@pytest.fixture
def refresher(fake_azure: FakeAzure, credential: FakeCredential) -> Iterator[AzureRefresher]:
    with AzureClients(credential, fake_azure.base_url, pool_size=4) as clients:
        yield AzureRefresher(clients, workers=4)


def refresh_one(refresher: AzureRefresher, service: str, type_name: str, *ids: str) -> RefreshOutcome:
    [outcome] = refresher.refresh(RefreshRequest(service=service, region="global", targets={type_name: list(ids)}))
    return outcome


def comparable(resource: Resource) -> dict[str, Any]:
    data = resource.to_dict()
    data.pop("collected_at")
    return data


def test_refresh_reads_only_named_account(fake_azure: FakeAzure, refresher: AzureRefresher) -> None:
    fake_azure.requests.clear()
    outcome = refresh_one(refresher, "storage", STORAGE, STORAGE_A)

    assert outcome.failure is None
    assert outcome.gone == []
    assert [resource.id for resource in outcome.resources] == [STORAGE_A]
    graph = [request for request in fake_azure.requests if request.path.lower() == GRAPH_PATH]
    assert len(graph) == 1
    assert "| where id in~ (" in graph[0].body["query"]
    assert f"'{STORAGE_A}'" in graph[0].body["query"]
    assert graph[0].body["subscriptions"] == [SUB_A]
    reads = sorted(request.path for request in fake_azure.requests if request.path.lower() != GRAPH_PATH)
    assert reads == [f"{STORAGE_A}/blobServices/default", f"{STORAGE_A}/fileServices/default"]
    assert outcome.coverage.account == SUB_A
    assert outcome.coverage.service == "storage"


def test_refresh_envelope_equals_full_scan(azure_scan: AzureScanner, refresher: AzureRefresher) -> None:
    full = {resource.id: resource for resource in azure_scan.scan().resources}
    for service, type_name, resource_id in (("storage", STORAGE, STORAGE_A),
                                            ("web", "Microsoft.Web/sites", SITE),
                                            ("keyvault", "Microsoft.KeyVault/vaults", VAULT)):
        [resource] = refresh_one(refresher, service, type_name, resource_id).resources
        assert comparable(resource) == comparable(full[resource_id]), resource_id
    # The site's app settings are redacted on both paths.
    [site] = refresh_one(refresher, "web", "Microsoft.Web/sites", SITE).resources
    settings = site.configuration["properties"]["siteConfig"]["appSettings"]
    assert settings[0]["value"] == REDACTED


def test_deleted_account_is_gone(fake_azure: FakeAzure, refresher: AzureRefresher) -> None:
    fake_azure.tables["resources"] = [row for row in fake_azure.tables["resources"] if row["id"] != STORAGE_A]
    outcome = refresh_one(refresher, "storage", STORAGE, STORAGE_A)
    assert outcome.failure is None
    assert outcome.resources == []
    assert outcome.gone == [(STORAGE, STORAGE_A)]


@pytest.mark.parametrize(("status", "code"), [(403, "AuthorizationFailed"), (500, "InternalServerError")])
def test_failed_query_is_not_deletion(fake_azure: FakeAzure, credential: FakeCredential,
                                      monkeypatch: pytest.MonkeyPatch, status: int, code: str) -> None:
    # One retry without backoff keeps the 500 case fast; the SDK still retries it once.
    original = clients_module._policies

    def quick_retry(*args: Any) -> list[Any]:
        return [policies.RetryPolicy(retry_total=1, retry_backoff_factor=0)
                if isinstance(policy, policies.RetryPolicy) else policy for policy in original(*args)]

    monkeypatch.setattr(clients_module, "_policies", quick_retry)
    fake_azure.script("graph:resources", *[arm_error(status, code, "scripted failure")] * 2)
    with AzureClients(credential, fake_azure.base_url, pool_size=4) as clients:
        outcome = refresh_one(AzureRefresher(clients, workers=2), "storage", STORAGE, STORAGE_A)

    assert outcome.failure is not None
    assert code in outcome.failure
    assert outcome.gone == []
    assert outcome.resources == []
    assert not [request for request in fake_azure.requests if "blobServices" in request.path]


def test_key_refresh_reads_one_listing(fake_azure: FakeAzure, refresher: AzureRefresher) -> None:
    key_type = "Microsoft.KeyVault/vaults/keys"
    fake_azure.requests.clear()
    outcome = refresh_one(refresher, "keyvault", key_type, f"{VAULT}/keys/cmk", f"{VAULT}/keys/removed")

    assert outcome.failure is None
    assert [resource.id for resource in outcome.resources] == [f"{VAULT}/keys/cmk"]
    assert outcome.resources[0].relationships[0]["resourceId"] == VAULT
    assert outcome.gone == [(key_type, f"{VAULT}/keys/removed")]
    reads = [request.path for request in fake_azure.requests if request.path.lower() != GRAPH_PATH]
    assert reads == [f"{VAULT}/keys"]


def test_subscription_listing_refresh(fake_azure: FakeAzure, refresher: AzureRefresher) -> None:
    contacts = "Microsoft.Security/securityContacts"
    fake_azure.requests.clear()
    outcome = refresh_one(refresher, "security", contacts,
                          f"/subscriptions/{SUB_B}/providers/Microsoft.Security/securityContacts/default")

    assert outcome.failure is None
    assert {resource.account for resource in outcome.resources} == {SUB_B}
    assert [request.path for request in fake_azure.requests] == [
        f"/subscriptions/{SUB_B}/providers/Microsoft.Security/securityContacts"]


def test_listing_failure_is_not_deletion(fake_azure: FakeAzure, refresher: AzureRefresher) -> None:
    fake_azure.script(f"{VAULT}/keys", arm_error(403, "AuthorizationFailed", "no access to keys"))
    outcome = refresh_one(refresher, "keyvault", "Microsoft.KeyVault/vaults/keys", f"{VAULT}/keys/cmk")
    assert outcome.failure is not None
    assert "AuthorizationFailed" in outcome.failure
    assert outcome.gone == []


def test_parent_id_of_listed_items() -> None:
    containers = next(listing for listing in PARENT_LISTINGS if listing.type.endswith("containers"))
    assert parent_id(f"{STORAGE_A}/blobServices/default/containers/logs", containers) == STORAGE_A
    assert parent_id(STORAGE_A, containers) is None
