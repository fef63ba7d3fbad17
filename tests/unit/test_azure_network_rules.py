"""Azure network, compute and database rules against recorded Azure responses, unknowns and the demo export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import import_files
from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import ACCOUNT_SCOPE_TYPE, Coverage
from ridgeline.rules.checks_azure_databases import server_parameter_violates, sql_audit_retention_short
from ridgeline.rules.checks_azure_network import (
    appgw_tls_below,
    firewall_rules_admit_internet,
    flow_log_retention_short,
    nsg_internet_exposure,
)
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from tests.conftest import SHARED_SAMPLES

CASSETTES = SHARED_SAMPLES / "azure" / "custodian-cassettes"
needs_cassettes = pytest.mark.skipif(not CASSETTES.is_dir(),
                                     reason=f"recorded Azure responses not present at {CASSETTES}")

DEMO_EXPORTS = Path(__file__).resolve().parents[2] / "src" / "ridgeline" / "demo" / "exports" / "azure"
DEMO_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000d1"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


def cassette_values(name: str, url_part: str) -> list[dict[str, Any]]:
    """Return the `value` list of the recorded response whose request URL contains `url_part`."""
    recording = json.loads((CASSETTES / name).read_text(encoding="utf-8"))
    for interaction in recording["interactions"]:
        if url_part in interaction["request"]["uri"]:
            body = interaction["response"]["body"]
            document = body["data"] if "data" in body else json.loads(body["string"])
            return list(document["value"])
    raise AssertionError(f"{name} has no request to {url_part}")


def azure_resource(type_name: str, configuration: dict[str, Any], **fields: Any) -> Resource:
    name = str(configuration.get("name") or fields.pop("name"))
    default_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/{type_name}/{name}"
    return Resource(
        provider="azure",
        account=fields.pop("account", SUBSCRIPTION),
        region=fields.pop("region", str(configuration.get("location", "global")).replace(" ", "").lower()),
        type=type_name,
        id=str(configuration.get("id") or default_id),
        name=name,
        configuration=configuration,
        source="test",
        **fields,
    )


def full_coverage(account: str = SUBSCRIPTION, **failed: dict[str, str]) -> list[Coverage]:
    """One complete unit per Azure service; `failed` maps a service to its failed types."""
    services = {"network", "compute", "sql", "postgresql", "mysql", "cosmosdb"}
    return [Coverage(provider="azure", account=account, region="global", service=service,
                     failed_types=failed.get(service, {})) for service in sorted(services)]


def statuses(rules: dict[str, Rule], rule_id: str, resources: list[Resource],
             coverage: list[Coverage] | None = None) -> dict[str, Status]:
    findings = Engine([rules[rule_id]]).evaluate(resources, coverage or full_coverage())
    return {finding.resource_name: finding.status for finding in findings}


@pytest.fixture(scope="module")
def rules(builtin_rules: list[Rule]) -> dict[str, Rule]:
    return {rule.id: rule for rule in builtin_rules if rule.provider == "azure"}


# --- Recorded responses -------------------------------------------------------------------------


@needs_cassettes
@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        # The recorded NSG allows every protocol to ports 88-90 from "*", denies SSH from 10.0.0.0/16
        # and allows SSH outbound only.
        pytest.param("azure-network-nsg-udp-open", Status.FAIL, id="udp"),
        pytest.param("azure-network-nsg-ssh-open", Status.PASS, id="ssh"),
        pytest.param("azure-network-nsg-rdp-open", Status.PASS, id="rdp"),
        pytest.param("azure-network-nsg-http-open", Status.PASS, id="http"),
    ],
)
def test_recorded_nsg(rules: dict[str, Rule], rule_id: str, expected: Status) -> None:
    nsg = cassette_values("NetworkSecurityGroupTest.test_cidr_and_ingress_match.json", "networkSecurityGroups")[0]

    found = statuses(rules, rule_id, [azure_resource("Microsoft.Network/networkSecurityGroups", nsg)])

    assert found == {"c7n-nsg": expected}


@needs_cassettes
def test_recorded_nsg_exposure_detail() -> None:
    nsg = cassette_values("NetworkSecurityGroupTest.test_cidr_and_ingress_match.json", "networkSecurityGroups")[0]

    outcome = nsg_internet_exposure(nsg, protocols=["udp"])

    assert outcome.matched is True
    assert outcome.detail == "udp 88-90 from * (rule test6, priority 330)"


@needs_cassettes
@pytest.mark.parametrize(
    ("rule_id", "expected"),
    [
        pytest.param("azure-sql-server-firewall-open-to-internet", Status.PASS, id="open-to-internet"),
        pytest.param("azure-sql-server-allow-azure-services", Status.FAIL, id="azure-services"),
    ],
)
def test_recorded_sql_firewall(rules: dict[str, Rule], rule_id: str, expected: Status) -> None:
    server = cassette_values("SqlServerTest.firewall.json", "/providers/Microsoft.Sql/servers?")[0]
    firewall_rules = cassette_values("SqlServerTest.firewall.json", "/firewallRules")
    resource = azure_resource("Microsoft.Sql/servers", server, supplementary={"firewallRules": firewall_rules})

    found = statuses(rules, rule_id, [resource])

    assert found == {server["name"]: expected}


@needs_cassettes
def test_recorded_vm_managed_disks(rules: dict[str, Rule]) -> None:
    vm = cassette_values("ResourceGraphSource.test_resource_graph_and_arm_sources_vm_are_equivalent.json",
                         "Microsoft.Compute/virtualMachines")[0]

    found = statuses(rules, "azure-compute-vm-managed-disks", [azure_resource("Microsoft.Compute/virtualMachines", vm)])

    assert found == {"cctestvm": Status.PASS}


# --- Resources a rule does not apply to --------------------------------------------------------

NSG_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg-web"
VNET_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-app"


@pytest.mark.parametrize(
    ("rule_id", "resource"),
    [
        pytest.param("azure-network-nsg-flow-log-retention",
                     azure_resource("Microsoft.Network/networkWatchers/flowLogs",
                                    {"name": "fl-vnet", "properties": {"targetResourceId": VNET_ID, "enabled": False}}),
                     id="nsg-rule-skips-vnet-flow-log"),
        pytest.param("azure-network-vnet-flow-log-retention",
                     azure_resource("Microsoft.Network/networkWatchers/flowLogs",
                                    {"name": "fl-nsg", "properties": {"targetResourceId": NSG_ID, "enabled": False}}),
                     id="vnet-rule-skips-nsg-flow-log"),
        pytest.param("azure-sql-database-tde",
                     azure_resource("Microsoft.Sql/servers/databases", {"name": "master", "properties": {}},
                                    supplementary={"transparentDataEncryption": {"properties": {"state": "Disabled"}}}),
                     id="tde-skips-master"),
        pytest.param("azure-network-vpn-p2s-entra-auth",
                     azure_resource("Microsoft.Network/virtualNetworkGateways",
                                    {"name": "vgw-s2s", "properties": {"gatewayType": "Vpn", "vpnType": "RouteBased"}}),
                     id="vpn-rule-skips-gateway-without-p2s"),
        pytest.param("azure-network-vpn-p2s-entra-auth",
                     azure_resource("Microsoft.Network/virtualNetworkGateways",
                                    {"name": "vgw-er", "properties": {"gatewayType": "ExpressRoute"}}),
                     id="vpn-rule-skips-expressroute"),
        pytest.param("azure-network-watcher-in-region",
                     azure_resource("Microsoft.Network/networkWatchers",
                                    {"name": "NetworkWatcher_eastus", "location": "eastus",
                                     "properties": {"provisioningState": "Failed"}}),
                     id="watcher-rule-judges-networks-only"),
        pytest.param("azure-network-waf-request-body-inspection",
                     azure_resource("Microsoft.Network/applicationGateways",
                                    {"name": "agw-standard", "properties": {"sku": {"tier": "Standard_v2"}}}),
                     id="body-rule-skips-gateway-without-waf"),
    ],
)
def test_rule_not_applicable(rules: dict[str, Rule], rule_id: str, resource: Resource) -> None:
    assert statuses(rules, rule_id, [resource]) == {}


# --- Unknowns become ERROR ---------------------------------------------------------------------


def test_watcher_listing_failure_is_error(rules: dict[str, Rule]) -> None:
    vnet = azure_resource("Microsoft.Network/virtualNetworks", {"name": "vnet-east", "location": "eastus",
                                                                "properties": {}})
    coverage = full_coverage(network={"Microsoft.Network/networkWatchers": "AuthorizationFailed"})

    findings = Engine([rules["azure-network-watcher-in-region"]]).evaluate([vnet], coverage)

    scope_findings = [finding for finding in findings if finding.resource_type == ACCOUNT_SCOPE_TYPE]
    assert [finding.status for finding in scope_findings] == [Status.ERROR]
    assert "AuthorizationFailed" in scope_findings[0].message


@pytest.mark.parametrize(
    "outcome",
    [
        pytest.param(nsg_internet_exposure(None), id="nsg-none"),
        pytest.param(nsg_internet_exposure({"name": "nsg"}), id="nsg-without-properties"),
        pytest.param(flow_log_retention_short(None, 90), id="flow-log-none"),
        pytest.param(appgw_tls_below(None), id="gateway-none"),
        pytest.param(appgw_tls_below({}, minimum="TLSv9"), id="gateway-bad-minimum"),
        pytest.param(firewall_rules_admit_internet(None), id="firewall-none"),
        pytest.param(server_parameter_violates(None, "tls_version", allowed=["TLSv1.2"]), id="parameters-none"),
        pytest.param(server_parameter_violates({}, "tls_version", allowed=["TLSv1.2"]), id="parameter-missing"),
        pytest.param(sql_audit_retention_short(None, 90), id="auditing-none"),
    ],
)
def test_check_functions_unknown(outcome: Any) -> None:
    assert outcome.matched is None
    assert outcome.detail


# --- The demo export ---------------------------------------------------------------------------

DEMO_FILES = ("network.json", "compute.json", "databases.json")

# Each rule's verdict on the bundled demo resources: the misconfigured resource FAILs and its
# well-configured twin PASSes. azure-sql-server-entra-admin has no failing server, because an export
# cannot show an empty list of administrators: the import would mark the list unknown (ERROR), and
# `ridgeline demo` is expected to assess everything.
DEMO_EXPECTED: dict[str, dict[str, str]] = {
    "azure-network-nsg-rdp-open": {"nsg-demo-open": "FAIL", "nsg-demo-secure": "PASS"},
    "azure-network-nsg-ssh-open": {"nsg-demo-open": "FAIL", "nsg-demo-secure": "PASS"},
    "azure-network-nsg-udp-open": {"nsg-demo-open": "FAIL", "nsg-demo-secure": "PASS"},
    "azure-network-nsg-http-open": {"nsg-demo-open": "FAIL", "nsg-demo-secure": "PASS"},
    "azure-network-nsg-flow-log-retention": {"fl-demo-nsg-short": "FAIL", "fl-demo-nsg-kept": "PASS"},
    "azure-network-vnet-flow-log-retention": {"fl-demo-vnet-short": "FAIL", "fl-demo-vnet-kept": "PASS"},
    "azure-network-watcher-in-region": {"vnet-demo-exposed": "FAIL", "vnet-demo-secure": "PASS"},
    "azure-network-vpn-p2s-entra-auth": {"vgw-demo-certificate": "FAIL", "vgw-demo-entra": "PASS"},
    "azure-network-appgw-waf-enabled": {"agw-demo-public": "FAIL", "agw-demo-secure": "PASS"},
    "azure-network-subnet-nsg": {"vnet-demo-exposed": "FAIL", "vnet-demo-secure": "PASS"},
    "azure-network-appgw-tls-min-version": {"agw-demo-public": "FAIL", "agw-demo-secure": "PASS"},
    "azure-network-appgw-http2": {"agw-demo-public": "FAIL", "agw-demo-secure": "PASS"},
    "azure-network-waf-request-body-inspection": {"wafpol-demo-weak": "FAIL", "wafpol-demo-secure": "PASS"},
    "azure-network-waf-bot-protection": {"wafpol-demo-weak": "FAIL", "wafpol-demo-secure": "PASS"},
    "azure-network-bastion-exists": {DEMO_SUBSCRIPTION: "PASS"},
    "azure-network-vnet-ddos-protection": {"vnet-demo-exposed": "FAIL", "vnet-demo-secure": "PASS"},
    "azure-compute-vm-managed-disks": {"vm-demo-unmanaged": "FAIL", "vm-demo-secure": "PASS"},
    "azure-compute-vm-encryption-at-host": {"vm-demo-unmanaged": "FAIL", "vm-demo-secure": "PASS"},
    "azure-compute-disk-attached-cmk": {"disk-demo-data-platform": "FAIL", "disk-demo-os-cmk": "PASS"},
    "azure-compute-disk-unattached-cmk": {"disk-demo-orphan-platform": "FAIL", "disk-demo-orphan-cmk": "PASS"},
    "azure-compute-disk-public-export": {"disk-demo-data-platform": "FAIL", "disk-demo-os-cmk": "PASS",
                                         "disk-demo-orphan-platform": "PASS", "disk-demo-orphan-cmk": "PASS"},
    "azure-sql-server-auditing-enabled": {"sql-demo-unaudited": "FAIL", "sql-demo-public": "PASS",
                                          "sql-demo-secure": "PASS"},
    "azure-sql-server-auditing-retention": {"sql-demo-public": "FAIL", "sql-demo-secure": "PASS"},
    "azure-sql-server-entra-admin": {"sql-demo-public": "PASS", "sql-demo-unaudited": "PASS",
                                     "sql-demo-secure": "PASS"},
    "azure-sql-database-tde": {"sqldb-demo-plain": "FAIL", "sqldb-demo-encrypted": "PASS"},
    "azure-sql-server-tde-cmk": {"sql-demo-public": "FAIL", "sql-demo-unaudited": "FAIL", "sql-demo-secure": "PASS"},
    "azure-sql-server-firewall-open-to-internet": {"sql-demo-public": "FAIL", "sql-demo-unaudited": "PASS",
                                                   "sql-demo-secure": "PASS"},
    "azure-sql-server-allow-azure-services": {"sql-demo-public": "FAIL", "sql-demo-unaudited": "PASS",
                                              "sql-demo-secure": "PASS"},
    "azure-sql-server-public-network-disabled": {"sql-demo-public": "FAIL", "sql-demo-unaudited": "PASS",
                                                 "sql-demo-secure": "PASS"},
    "azure-sql-server-min-tls": {"sql-demo-public": "FAIL", "sql-demo-unaudited": "PASS", "sql-demo-secure": "PASS"},
    "azure-postgresql-secure-transport": {"psql-demo-public": "FAIL", "psql-demo-secure": "PASS"},
    "azure-postgresql-log-checkpoints": {"psql-demo-public": "FAIL", "psql-demo-secure": "PASS"},
    "azure-postgresql-connection-throttling": {"psql-demo-public": "FAIL", "psql-demo-secure": "PASS"},
    "azure-postgresql-log-retention": {"psql-demo-public": "FAIL", "psql-demo-secure": "PASS"},
    "azure-postgresql-firewall-open-to-internet": {"psql-demo-public": "FAIL", "psql-demo-secure": "PASS"},
    "azure-mysql-secure-transport": {"mysql-demo-public": "FAIL", "mysql-demo-secure": "PASS"},
    "azure-mysql-tls-version": {"mysql-demo-public": "FAIL", "mysql-demo-secure": "PASS"},
    "azure-mysql-audit-log": {"mysql-demo-public": "FAIL", "mysql-demo-secure": "PASS"},
    "azure-mysql-audit-log-connections": {"mysql-demo-public": "FAIL", "mysql-demo-secure": "PASS"},
    "azure-mysql-firewall-open-to-internet": {"mysql-demo-public": "FAIL", "mysql-demo-secure": "PASS"},
    "azure-cosmosdb-network-restricted": {"cosmos-demo-public": "FAIL", "cosmos-demo-secure": "PASS"},
    "azure-cosmosdb-local-auth-disabled": {"cosmos-demo-public": "FAIL", "cosmos-demo-secure": "PASS"},
}


@pytest.fixture(scope="module")
def demo_findings(rules: dict[str, Rule]) -> dict[str, dict[str, str]]:
    result = import_files([DEMO_EXPORTS / name for name in DEMO_FILES])
    assert result.report.errors == []
    (collection,) = result.collections
    chosen = [rules[rule_id] for rule_id in DEMO_EXPECTED]

    found: dict[str, dict[str, str]] = {rule_id: {} for rule_id in DEMO_EXPECTED}
    for finding in Engine(chosen).evaluate(collection.resources, collection.coverage):
        found[finding.rule_id][finding.resource_name] = finding.status.value
    return found


@pytest.mark.parametrize("rule_id", sorted(DEMO_EXPECTED))
def test_demo_export_verdicts(demo_findings: dict[str, dict[str, str]], rule_id: str) -> None:
    assert demo_findings[rule_id] == DEMO_EXPECTED[rule_id]


def test_demo_export_covers_every_rule(rules: dict[str, Rule]) -> None:
    own_files = {"network.yaml", "compute.yaml", "databases.yaml"}
    own_rules = {rule_id for rule_id, rule in rules.items()
                 if Path(rule.source.rsplit(":", 1)[0]).name in own_files
                 and Path(rule.source.rsplit(":", 1)[0]).parent.name == "azure"}

    assert own_rules == set(DEMO_EXPECTED)


@pytest.mark.parametrize("file_name", DEMO_FILES)
def test_demo_export_ids(file_name: str) -> None:
    items = json.loads((DEMO_EXPORTS / file_name).read_text(encoding="utf-8"))

    for item in items:
        assert item["id"].startswith(f"/subscriptions/{DEMO_SUBSCRIPTION}/resourceGroups/rg-ridgeline-demo/providers/")
        assert item["id"].rsplit("/", 1)[-1] == item["name"], item["id"]
