"""The live Azure scan against the local ARM/Resource Graph server: envelopes, paging, failures, retries, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import DefaultAzureCredential

from ridgeline.model.finding import Finding, Status
from ridgeline.model.redaction import REDACTED
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.providers.azure import declarations, graph
from ridgeline.providers.azure.catalog import BY_NAME, LIST, SINGLE, TYPES_BY_LOWER_NAME
from ridgeline.providers.azure.credentials import CredentialSetupError, TenantCredential, build_credential
from ridgeline.providers.azure.declarations import GRAPH_READS
from ridgeline.providers.azure.permissions import scan_actions
from ridgeline.providers.azure.scanner import NOT_COLLECTED_REASON, AzureScanOptions, collect_azure, scanned_services
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_rule_files
from ridgeline.rules.model import Rule
from tests.azure.conftest import AzureScanner, FakeCredential
from tests.azure.fake_arm import GRAPH_PATH, arm_error
from tests.azure.tenant import (
    POSTGRES,
    SECRET_CONNECTION,
    SECRET_SETTING,
    SITE,
    SQL_SERVER,
    STORAGE_A,
    STORAGE_FILES,
    SUB_A,
    SUB_B,
    TENANT,
    VAULT,
)

TEST_RULES = Path(__file__).with_name("rules.yaml")


@pytest.fixture(scope="module")
def scan_rules() -> list[Rule]:
    return load_rule_files([TEST_RULES])


def by_id(collection: Collection, resource_id: str) -> Resource:
    matches = [resource for resource in collection.resources if resource.id == resource_id]
    assert len(matches) == 1, f"{resource_id}: {len(matches)} resource(s)"
    return matches[0]


def unit(collection: Collection, subscription: str, service: str) -> Coverage:
    matches = [item for item in collection.coverage if (item.account, item.service) == (subscription, service)]
    assert len(matches) == 1
    return matches[0]


def findings(collection: Collection, rules: list[Rule], rule_id: str) -> list[Finding]:
    return [finding for finding in Engine(rules).evaluate(collection.resources, collection.coverage)
            if finding.rule_id == rule_id]


def test_envelopes_follow_catalogue(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan()

    assert collection.provider == "azure"
    assert collection.accounts == [SUB_A, SUB_B]
    assert collection.regions == ["westeurope"]
    for resource in collection.resources:
        entry = TYPES_BY_LOWER_NAME.get(resource.type.lower())
        assert entry is not None and entry.name == resource.type, resource.type
        assert resource.provider == "azure"
        # Entra ID objects read through Microsoft Graph belong to the tenant, the rest to a subscription.
        assert resource.account in ((TENANT,) if resource.type.startswith("microsoft.graph.") else (SUB_A, SUB_B))
        assert resource.region == resource.region.lower()
        assert " " not in resource.region
        # Graph objects keep their Graph shape, which has no `type` (as the file importer keeps them).
        assert resource.configuration.get("type", resource.type) == resource.type
        assert resource.source == "api"
        assert resource.collected_at

    storage = by_id(collection, STORAGE_A)
    assert storage.type == "Microsoft.Storage/storageAccounts"
    assert storage.region == "westeurope"
    assert storage.name == "stapp"
    assert storage.tags == {"env": "test"}
    assert storage.configuration["properties"]["allowBlobPublicAccess"] is True
    assert storage.configuration["subscriptionId"] == SUB_A

    # Resource Graph writes lower-case types; the row of a type outside the catalogue is dropped.
    assert not [resource for resource in collection.resources if "networkinterfaces" in resource.type.lower()]
    alert = [resource for resource in collection.resources if resource.type == "Microsoft.Insights/activityLogAlerts"]
    assert [resource.region for resource in alert] == ["global"]


def test_children_fill_supplementary(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan()

    for resource in collection.resources:
        entry = TYPES_BY_LOWER_NAME[resource.type.lower()]
        for key, child in entry.supplementary.items():
            if f"supplementaryConfiguration.{key}" in resource.errors:
                continue
            value = resource.supplementary[key]
            expected = {SINGLE: dict, LIST: list, BY_NAME: dict}[child.shape]
            assert isinstance(value, expected), f"{resource.id} {key}"

    server = by_id(collection, SQL_SERVER)
    assert server.supplementary["auditingSettings"]["properties"]["state"] == "Disabled"
    assert server.supplementary["firewallRules"][0]["name"] == "AllowAllWindowsAzureIps"
    assert server.supplementary["administrators"][0]["properties"]["administratorType"] == "ActiveDirectory"
    assert by_id(collection, f"{SQL_SERVER}/databases/db-app").supplementary["transparentDataEncryption"][
        "properties"]["state"] == "Enabled"

    postgres = by_id(collection, POSTGRES)
    configurations = postgres.supplementary["configurations"]
    assert configurations["log_checkpoints"]["properties"]["value"] == "on"
    assert configurations["connection_throttle.enable"]["properties"]["value"] == "off"

    vault = by_id(collection, VAULT)
    assert vault.supplementary["diagnosticSettings"][0]["name"] == "to-workspace"
    assert by_id(collection, STORAGE_A).supplementary["blobServices"]["properties"]["deleteRetentionPolicy"][
        "enabled"] is True

    # A FileStorage account has no blob service: the scan sends no request and records why the key is unknown.
    files = by_id(collection, STORAGE_FILES)
    assert "blobServices" not in files.supplementary
    assert "not applicable" in files.errors["supplementaryConfiguration.blobServices"]
    assert "fileServices" in files.supplementary
    assert not azure_scan.fake.requests_to(f"{STORAGE_FILES}/blobServices/default")


def test_listed_resources_and_coverage(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan()

    key = by_id(collection, f"{VAULT}/keys/cmk")
    assert key.type == "Microsoft.KeyVault/vaults/keys"
    assert key.configuration["properties"]["rotationPolicy"]["lifetimeActions"][0]["action"]["type"] == "rotate"
    assert key.relationships == [{"resourceType": "Microsoft.KeyVault/vaults", "resourceId": VAULT,
                                  "resourceName": "kv-app", "relationshipName": "Is contained in"}]
    secret = by_id(collection, f"{VAULT}/secrets/db-password")
    assert "value" not in secret.configuration["properties"]
    container = by_id(collection, f"{STORAGE_A}/blobServices/default/containers/public-data")
    assert container.configuration["properties"]["publicAccess"] == "Container"
    assert container.region == "westeurope"

    exports = [resource for resource in collection.resources
               if resource.type == "Microsoft.Insights/diagnosticSettings"]
    assert [(resource.account, resource.region, resource.name) for resource in exports] == [
        (SUB_A, "global", "activity-log")]
    pricings = sorted((resource.account, resource.configuration["properties"]["pricingTier"])
                      for resource in collection.resources if resource.type == "Microsoft.Security/pricings")
    assert pricings == [(SUB_A, "Standard"), (SUB_B, "Free")]

    expected_units = {(subscription, service) for subscription in (SUB_A, SUB_B) for service in scanned_services()}
    assert {(item.account, item.service) for item in collection.coverage} == expected_units | {(TENANT, "entra")}
    assert "entra" not in scanned_services()
    for item in collection.coverage:
        assert (item.provider, item.region) == ("azure", "global")
        assert item.status is Completeness.COMPLETE, item.to_dict()
    assert unit(collection, SUB_A, "keyvault").resource_counts == {
        "Microsoft.KeyVault/vaults": 1, "Microsoft.KeyVault/vaults/keys": 1, "Microsoft.KeyVault/vaults/secrets": 1}


def test_requests_are_declared_reads(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan()

    requests = azure_scan.fake.requests
    assert requests
    for request in requests:
        assert request.method == "GET" or (request.method, request.path.lower()) == ("POST", GRAPH_PATH), request
        # Microsoft Graph has no api-version: its version is the path prefix.
        assert request.query.get("api-version") or request.path.startswith("/v1.0/"), request.path
        assert request.authorization.startswith("Bearer ")
    actions = set(scan_actions()) | {read.call.action for read in GRAPH_READS}
    for call in azure_scan.recorder.calls.values():
        assert call.read_only and call.action in actions, call
    assert collection.api_calls == len(requests)
    assert azure_scan.credential.requests[0][0] == (f"{azure_scan.fake.base_url}/.default",)


def test_graph_pages_with_skip_token(azure_scan: AzureScanner) -> None:
    full = azure_scan.scan()
    azure_scan.fake.requests.clear()
    azure_scan.fake.graph_page_size = 2

    paged = azure_scan.scan()

    pages = azure_scan.fake.graph_requests("resources")
    assert len(pages) > 3
    assert "$skipToken" not in pages[0].body["options"]
    assert [request.body["options"]["$skipToken"] for request in pages[1:]] == [
        str(2 * index) for index in range(1, len(pages))]
    assert sorted(resource.id for resource in paged.resources) == sorted(resource.id for resource in full.resources)


def test_graph_batches_subscriptions(azure_scan: AzureScanner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph, "SUBSCRIPTIONS_PER_REQUEST", 1)

    collection = azure_scan.scan()

    scopes = [request.body["subscriptions"] for request in azure_scan.fake.graph_requests("resources")]
    assert scopes == [[SUB_A], [SUB_B]]
    assert {resource.account for resource in collection.resources
            if resource.type == "Microsoft.Storage/storageAccounts"} == {SUB_A, SUB_B}


def test_arm_lists_follow_next_link(azure_scan: AzureScanner) -> None:
    fake = azure_scan.fake
    path = f"{STORAGE_A}/blobServices/default/containers"
    first = fake.arm[path.lower()]
    first["nextLink"] = f"{fake.base_url}{path}?api-version=2023-05-01&$skiptoken=2"
    fake.put(f"{path}?$skiptoken=2", {"value": [
        {"id": f"{path}/logs", "name": "logs", "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
         "properties": {"publicAccess": "None"}}]})

    collection = azure_scan.scan()

    names = sorted(resource.name for resource in collection.resources
                   if resource.type == "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert names == ["logs", "public-data"]
    assert len(fake.requests_to(path)) == 2


def test_next_link_to_other_host_fails_listing(azure_scan: AzureScanner) -> None:
    fake = azure_scan.fake
    fake.arm[f"{VAULT}/keys".lower()]["nextLink"] = "https://attacker.example/keys?page=2"

    collection = azure_scan.scan()

    keyvault = unit(collection, SUB_A, "keyvault")
    assert "UnexpectedNextLink" in keyvault.failed_types["Microsoft.KeyVault/vaults/keys"]
    assert keyvault.status is Completeness.PARTIAL


def test_child_denied_gives_resource_error(azure_scan: AzureScanner, scan_rules: list[Rule]) -> None:
    azure_scan.fake.script(f"{SQL_SERVER}/auditingSettings/default",
                           arm_error(403, "AuthorizationFailed", "The client does not have authorization to perform "
                                     "action 'Microsoft.Sql/servers/auditingSettings/read'."))

    collection = azure_scan.scan()

    server = by_id(collection, SQL_SERVER)
    assert "auditingSettings" not in server.supplementary
    reason = server.errors["supplementaryConfiguration.auditingSettings"]
    assert reason.startswith("AuthorizationFailed on Microsoft.Sql/servers/auditingSettings/read")
    assert "firewallRules" in server.supplementary
    sql = unit(collection, SUB_A, "sql")
    assert sql.status is Completeness.PARTIAL
    assert [(error.call, error.code, error.resource_id) for error in sql.errors] == [
        ("Microsoft.Sql/servers/auditingSettings/read", "AuthorizationFailed", SQL_SERVER)]

    auditing = findings(collection, scan_rules, "test-azure-sql-auditing-enabled")
    assert [(finding.status, finding.resource_id) for finding in auditing] == [(Status.ERROR, SQL_SERVER)]
    assert "AuthorizationFailed" in auditing[0].message
    firewall = findings(collection, scan_rules, "test-azure-sql-no-allow-all-azure")
    assert [finding.status for finding in firewall] == [Status.FAIL]


def test_graph_denied_fails_units(azure_scan: AzureScanner, scan_rules: list[Rule]) -> None:
    azure_scan.fake.script("graph:resources", arm_error(403, "AuthorizationFailed", "no access to Resource Graph"))

    collection = azure_scan.scan(subscriptions=[SUB_A])

    storage = unit(collection, SUB_A, "storage")
    assert storage.status is Completeness.FAILED
    assert "AuthorizationFailed" in storage.failed_types["Microsoft.Storage/storageAccounts"]
    assert "could not be listed" in storage.failed_types["Microsoft.Storage/storageAccounts/blobServices/containers"]
    assert unit(collection, SUB_A, "keyvault").status is Completeness.FAILED
    # The subscription's diagnostic settings come from ARM, so the monitor unit is only partial.
    monitor = unit(collection, SUB_A, "monitor")
    assert monitor.status is Completeness.PARTIAL
    assert set(monitor.failed_types) == {"Microsoft.Insights/activityLogAlerts", "Microsoft.Insights/components"}
    assert unit(collection, SUB_A, "security").status is Completeness.COMPLETE
    assert not [resource for resource in collection.resources if resource.type == "Microsoft.Storage/storageAccounts"]

    public = findings(collection, scan_rules, "test-azure-storage-no-public-blobs")
    assert [(finding.status, finding.resource_id) for finding in public] == [(Status.ERROR, f"azure:{SUB_A}")]


def test_subscription_listing_denied(azure_scan: AzureScanner, scan_rules: list[Rule]) -> None:
    azure_scan.fake.script(f"/subscriptions/{SUB_A}/providers/Microsoft.Insights/diagnosticSettings",
                           arm_error(403, "AuthorizationFailed", "denied"))

    collection = azure_scan.scan()

    monitor = unit(collection, SUB_A, "monitor")
    assert monitor.status is Completeness.PARTIAL
    assert "AuthorizationFailed" in monitor.failed_types["Microsoft.Insights/diagnosticSettings"]
    exported = {finding.account: finding.status
                for finding in findings(collection, scan_rules, "test-azure-monitor-activity-log-exported")}
    # Subscription B was read and has no export: FAIL. Subscription A could not be read: ERROR, not FAIL or PASS.
    assert exported == {SUB_A: Status.ERROR, SUB_B: Status.FAIL}


def test_throttled_call_is_retried(azure_scan: AzureScanner) -> None:
    fake = azure_scan.fake
    fake.script(f"{SITE}/config/web", arm_error(429, "TooManyRequests", "slow down", {"Retry-After": "1"}))
    fake.script("graph:securityresources", arm_error(429, "RateLimiting", "slow down", {"Retry-After": "1"}))

    collection = azure_scan.scan()

    site = by_id(collection, SITE)
    assert site.errors == {}
    assert site.supplementary["config"]["properties"]["minTlsVersion"] == "1.2"
    attempts = fake.requests_to(f"{SITE}/config/web")
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 0.9
    graph_attempts = fake.graph_requests("securityresources")
    assert len(graph_attempts) == 2
    assert graph_attempts[1].at - graph_attempts[0].at >= 0.9
    assert all(item.status is Completeness.COMPLETE for item in collection.coverage)
    # Retries are the SDK's: the scan counts one call for each.
    assert azure_scan.recorder.counts["web.config"] == 1


def test_secrets_are_redacted(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan()

    site = by_id(collection, SITE)
    config = site.supplementary["config"]["properties"]
    assert config["appSettings"] == [{"name": "API_KEY", "value": REDACTED}]
    # The shared list of secret keys redacts `connectionStrings` as a whole.
    assert config["connectionStrings"] == REDACTED
    assert site.configuration["properties"]["siteConfig"]["appSettings"] == [
        {"name": "STORAGE_CONNECTION", "value": REDACTED}]
    auditing = by_id(collection, SQL_SERVER).supplementary["auditingSettings"]["properties"]
    assert auditing["storageAccountAccessKey"] == REDACTED
    dumped = json.dumps([resource.to_dict() for resource in collection.resources])
    for secret in (SECRET_SETTING, SECRET_CONNECTION, "plain-text-api-key", "a2V5LXZhbHVl"):
        assert secret not in dumped


def test_truncated_graph_result_fails_types(azure_scan: AzureScanner) -> None:
    azure_scan.fake.graph_body_override["securityresources"] = {
        "totalRecords": 5, "count": 1, "resultTruncated": "true", "facets": [],
        "data": azure_scan.fake.tables["securityresources"][:1]}

    collection = azure_scan.scan()

    security = unit(collection, SUB_A, "security")
    assert "ResultTruncated" in security.failed_types["Microsoft.Security/pricings"]
    assert security.status is Completeness.PARTIAL


def test_type_without_source_is_not_silent(azure_scan: AzureScanner, monkeypatch: pytest.MonkeyPatch) -> None:
    reduced = tuple(name for name in declarations.TABLE_TYPES["resources"] if name != "Microsoft.Compute/disks")
    monkeypatch.setitem(declarations.TABLE_TYPES, "resources", reduced)

    collection = azure_scan.scan(subscriptions=[SUB_B])

    assert unit(collection, SUB_B, "compute").failed_types == {"Microsoft.Compute/disks": NOT_COLLECTED_REASON}


def test_management_group_scope(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan(management_group="mg-prod")

    assert collection.accounts == [SUB_B]
    listing = azure_scan.fake.graph_requests("resourcecontainers")
    assert listing[0].body["managementGroups"] == ["mg-prod"]
    assert {resource.account for resource in collection.resources
            if not resource.type.startswith("microsoft.graph.")} == {SUB_B}


def test_subscription_ids_accept_any_case(azure_scan: AzureScanner) -> None:
    collection = azure_scan.scan(subscriptions=[SUB_B.upper()])

    assert collection.accounts == [SUB_B]


@pytest.mark.parametrize(("options", "message"), [
    ({"subscriptions": ["00000000-0000-0000-0000-0000000000ff"]}, "not found or not readable"),
    ({"subscriptions": ["not-a-guid"]}, "invalid subscription id"),
    ({"subscriptions": [SUB_A], "management_group": "mg-prod"}, "not both"),
    ({"management_group": "mg-missing"}, "cannot list the subscriptions under management group mg-missing"),
    ({"management_group": "bad/group"}, "invalid management group id"),
])
def test_setup_errors(azure_scan: AzureScanner, options: dict[str, object], message: str) -> None:
    with pytest.raises(ScanSetupError, match=message):
        azure_scan.scan(**options)


def test_no_visible_subscription(azure_scan: AzureScanner) -> None:
    azure_scan.fake.subscriptions = []

    with pytest.raises(ScanSetupError, match="can read no subscription"):
        azure_scan.scan()


def test_graph_denied_at_start(azure_scan: AzureScanner) -> None:
    azure_scan.fake.script("graph:resourcecontainers", arm_error(403, "AuthorizationFailed", "denied"))

    with pytest.raises(ScanSetupError, match=r"Microsoft\.ResourceGraph/resources/read"):
        azure_scan.scan()


class NoCredential:
    """A credential chain that finds nothing, like DefaultAzureCredential on a machine with no sign-in."""

    def get_token(self, *scopes: str, **kwargs: object) -> None:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                        "credentials.\nAttempted credentials:\n\tEnvironmentCredential: missing")


def test_missing_credential() -> None:
    with pytest.raises(ScanSetupError, match="no Azure credential is available") as raised:
        collect_azure(AzureScanOptions(endpoint="https://127.0.0.1:9"), credential=NoCredential())  # type: ignore[arg-type]

    assert "\n" not in str(raised.value)
    assert "az login" in str(raised.value)


def test_plain_http_endpoint_rejected(credential: FakeCredential) -> None:
    with pytest.raises(ScanSetupError, match="must start with https://"):
        collect_azure(AzureScanOptions(endpoint="http://127.0.0.1:9"), credential=credential)


def test_tenant_binds_credential() -> None:
    bound = build_credential("contoso.onmicrosoft.com")

    assert isinstance(bound, TenantCredential)
    assert bound.tenant == "contoso.onmicrosoft.com"
    assert isinstance(build_credential(None), DefaultAzureCredential)


def test_invalid_tenant_is_setup_error(credential: FakeCredential) -> None:
    with pytest.raises(CredentialSetupError, match="invalid --tenant"):
        build_credential("contoso tenant/../x")
    with pytest.raises(ScanSetupError, match="invalid --tenant"):
        collect_azure(AzureScanOptions(tenant="bad tenant", endpoint="https://127.0.0.1:9"))


def test_tenant_credential_requests_tenant(credential: FakeCredential) -> None:
    TenantCredential(credential, "contoso.onmicrosoft.com").get_token("https://management.azure.com/.default")

    assert credential.requests == [(("https://management.azure.com/.default",), "contoso.onmicrosoft.com")]
