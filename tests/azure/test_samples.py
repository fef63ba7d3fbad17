"""The scan against documented response shapes: REST API specification examples and recorded responses.

The files live in the shared sample folder next to the repository and are read at test time. Each test
skips with the reason when its file is absent. The tests in test_scan_flow.py run on the project's own
fixtures and need no sample.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.model.finding import Status
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_rule_files
from tests.azure.conftest import AzureScanner
from tests.azure.tenant import SUB_A, graph_row, subscription_row

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "cspm-samples" / "azure"
SPECS = SAMPLES / "rest-api-specs"
CASSETTES = SAMPLES / "custodian-cassettes"
TEST_RULES = Path(__file__).with_name("rules.yaml")


def load_sample(path: Path) -> Any:
    if not path.is_file():
        pytest.skip(f"sample {path.name} is not available at {path.parent}")
    return json.loads(path.read_text(encoding="utf-8"))


def cassette_bodies(path: Path) -> list[Any]:
    """Return the JSON response bodies of a recorded cassette, in order."""
    bodies = []
    for interaction in load_sample(path)["interactions"]:
        body = interaction["response"]["body"]
        bodies.append(json.loads(body["string"]) if "string" in body else body.get("data"))
    return bodies


def table_to_objects(result: dict[str, Any]) -> dict[str, Any]:
    """Return a Resource Graph response in the table format as the objectArray format returns it."""
    columns = [column["name"] for column in result["data"]["columns"]]
    rows = [dict(zip(columns, row, strict=True)) for row in result["data"]["rows"]]
    return {"totalRecords": len(rows), "count": len(rows), "resultTruncated": result.get("resultTruncated", "false"),
            "facets": [], "data": rows}


def add_subscription(scanner: AzureScanner, subscription: str) -> None:
    """Make `subscription` visible, with empty subscription-level listings."""
    fake = scanner.fake
    fake.subscriptions.append(subscription_row(subscription, "sample"))
    for suffix in ("Microsoft.Insights/diagnosticSettings", "Microsoft.Security/securityContacts",
                   "Microsoft.Security/autoProvisioningSettings", "Microsoft.Security/settings"):
        fake.put(f"/subscriptions/{subscription}/providers/{suffix}", {"value": []})


def resources_of(collection: Collection, type_name: str) -> list[Any]:
    return [resource for resource in collection.resources if resource.type == type_name]


def test_documented_graph_query_response(azure_scan: AzureScanner) -> None:
    example = load_sample(SPECS / "ResourcesBasicQuery.json")
    subscription = example["parameters"]["query"]["subscriptions"][0]
    add_subscription(azure_scan, subscription)
    azure_scan.fake.graph_body_override["resources"] = example["responses"]["200"]["body"]

    collection = azure_scan.scan(subscriptions=[subscription])

    found = sorted((resource.type, resource.name, resource.region, resource.account)
                   for resource in collection.resources if not resource.type.startswith("microsoft.graph."))
    # The example's rows carry no subscriptionId column: the scan takes it from the id. The network
    # interface is not a catalogue type and is left out.
    assert found == [("Microsoft.Network/publicIPAddresses", "myPublicIp", "westus", subscription),
                     ("Microsoft.Network/virtualNetworks", "myVnet", "westus", subscription)]


def test_documented_storage_account(azure_scan: AzureScanner) -> None:
    example = load_sample(SPECS / "StorageAccountGetProperties.json")
    document = json.loads(json.dumps(example["responses"]["200"]["body"]).replace("{subscription-id}", SUB_A))
    fake = azure_scan.fake
    fake.tables["resources"] = [graph_row(document, SUB_A)]
    for child in ("blobServices/default", "fileServices/default"):
        fake.put(f"{document['id']}/{child}", {"id": f"{document['id']}/{child}", "name": "default",
                                               "properties": {}})
    fake.put(f"{document['id']}/blobServices/default/containers", {"value": []})

    collection = azure_scan.scan(subscriptions=[SUB_A])

    [account] = resources_of(collection, "Microsoft.Storage/storageAccounts")
    assert account.id == document["id"]
    assert account.tags == document["tags"]
    assert account.region == "eastus2(stage)"
    for key, value in document.items():
        assert account.configuration[key] == value, key
    assert account.errors == {}


def test_documented_sql_firewall_rules(azure_scan: AzureScanner) -> None:
    servers, rules = cassette_bodies(CASSETTES / "SqlServerTest.firewall.json")
    server = servers["value"][0]
    subscription = server["id"].split("/")[2]
    add_subscription(azure_scan, subscription)
    azure_scan.fake.tables["resources"] = [graph_row(server, subscription)]
    azure_scan.fake.put(f"{server['id']}/firewallRules", rules)

    collection = azure_scan.scan(subscriptions=[subscription])

    [resource] = resources_of(collection, "Microsoft.Sql/servers")
    assert resource.supplementary["firewallRules"] == rules["value"]
    # The other children were not served: each is unknown with the reason, never an empty value.
    assert "auditingSettings" not in resource.supplementary
    assert resource.errors["supplementaryConfiguration.auditingSettings"].startswith("ResourceNotFound on ")
    statuses = {finding.rule_id: finding.status
                for finding in Engine(load_rule_files([TEST_RULES])).evaluate(collection.resources,
                                                                              collection.coverage)
                if finding.resource_id == resource.id}
    assert statuses == {"test-azure-sql-no-allow-all-azure": Status.FAIL,
                        "test-azure-sql-auditing-enabled": Status.ERROR}


def test_recorded_network_security_group(azure_scan: AzureScanner) -> None:
    [listing] = cassette_bodies(CASSETTES / "NetworkSecurityGroupTest.test_cidr_and_ingress_match.json")
    groups = listing["value"]
    subscription = groups[0]["id"].split("/")[2]
    add_subscription(azure_scan, subscription)
    azure_scan.fake.tables["resources"] = [graph_row(group, subscription) for group in groups]

    collection = azure_scan.scan(subscriptions=[subscription])

    found = {resource.id: resource for resource in resources_of(collection, "Microsoft.Network/networkSecurityGroups")}
    assert set(found) == {group["id"] for group in groups}
    for group in groups:
        assert found[group["id"]].configuration["properties"]["securityRules"] == \
            group["properties"]["securityRules"]


@pytest.mark.parametrize(("cassette", "type_name", "fields"), [
    ("ResourceGraphSource.test_resource_graph_and_arm_sources_vm_are_equivalent.json",
     "Microsoft.Compute/virtualMachines", (("properties", "hardwareProfile"), ("properties", "vmId"))),
    ("ResourceGraphSource.test_resource_graph_and_arm_sources_storage_are_equivalent.json",
     "Microsoft.Storage/storageAccounts", (("sku",), ("kind",), ("properties", "networkAcls"),
                                           ("properties", "supportsHttpsTrafficOnly"))),
])
def test_graph_rows_match_arm(azure_scan: AzureScanner, cassette: str, type_name: str,
                              fields: tuple[tuple[str, ...], ...]) -> None:
    arm_listing, graph_result = cassette_bodies(CASSETTES / cassette)
    subscription = arm_listing["value"][0]["id"].split("/")[2]
    add_subscription(azure_scan, subscription)
    azure_scan.fake.graph_body_override["resources"] = table_to_objects(graph_result)
    for item in arm_listing["value"]:
        # Children of storage accounts, so the scan completes; their content is not under test here.
        for child in ("blobServices/default", "fileServices/default"):
            azure_scan.fake.put(f"{item['id']}/{child}", {"name": "default", "properties": {}})
        azure_scan.fake.put(f"{item['id']}/blobServices/default/containers", {"value": []})

    collection = azure_scan.scan(subscriptions=[subscription])

    arm = {item["id"].lower(): item for item in arm_listing["value"]}
    scanned = resources_of(collection, type_name)
    assert scanned
    for resource in scanned:
        expected = arm[resource.id.lower()]
        assert resource.name == expected["name"]
        assert resource.region == expected["location"]
        for path in fields:
            value: Any = copy.deepcopy(resource.configuration)
            wanted: Any = expected
            for key in path:
                value, wanted = value[key], wanted[key]
            assert value == wanted, path
