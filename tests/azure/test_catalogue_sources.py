"""The live scan and the catalogue agree: every type has a source, every Child a request; the role only reads."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.providers.azure.catalog import TYPES
from ridgeline.providers.azure.declarations import CHILD_REQUESTS, declared_calls
from ridgeline.providers.azure.envelope import normalise_location, subscription_of
from ridgeline.providers.azure.graph import inventory_query
from ridgeline.providers.azure.permissions import scan_actions, scan_role
from ridgeline.providers.azure.scanner import live_types, scanned_services


def test_every_scanned_type_has_source() -> None:
    sources = live_types()
    missing = [name for types in scanned_services().values() for name in types if name not in sources]

    assert missing == []
    assert set(sources) <= {entry.name for entry in TYPES}


def test_every_child_has_request() -> None:
    children = {(entry.name, key): child for entry in TYPES for key, child in entry.supplementary.items()}

    assert set(CHILD_REQUESTS) == set(children)
    for key, request in CHILD_REQUESTS.items():
        # The catalogue documents the request ("GET {server id}/auditingSettings/default"); the scan sends it.
        assert children[key].call.endswith(request.suffix), key


def test_role_has_only_reads() -> None:
    actions = scan_actions()

    assert "Microsoft.ResourceGraph/resources/read" in actions
    assert all(action.endswith("/read") for action in actions), actions
    assert not [action for action in actions if "listkeys" in action.lower() or "/list" in action.lower()]
    assert {call.action for call in declared_calls()} <= set(actions)
    assert all(call.read_only for call in declared_calls())
    assert len(actions) == len(set(actions))


def test_permissions_cli_prints_role() -> None:
    result = CliRunner().invoke(main, ["permissions", "azure", "--assignable-scope", "/subscriptions/x"])

    assert result.exit_code == 0, result.output
    role = json.loads(result.stdout)
    assert role == scan_role(["/subscriptions/x"])
    assert role["IsCustom"] is True
    assert role["DataActions"] == ["Microsoft.KeyVault/vaults/certificates/read"]
    assert "Reader" in result.stderr
    assert "Security Reader" in result.stderr


@pytest.mark.parametrize(("location", "region"), [
    ("westeurope", "westeurope"),
    ("West Europe", "westeurope"),
    ("East US 2", "eastus2"),
    ("Global", "global"),
    ("", "global"),
    (None, "global"),
])
def test_location_normalised(location: object, region: str) -> None:
    assert normalise_location(location) == region


def test_subscription_from_id_when_row_has_none() -> None:
    document = {"id": "/subscriptions/ABCDEF00-0000-0000-0000-000000000000/resourceGroups/rg/providers/x/y/z"}

    assert subscription_of(document) == "abcdef00-0000-0000-0000-000000000000"
    assert subscription_of({"id": "/providers/Microsoft.Authorization/roleDefinitions/x"}) == ""


def test_inventory_query_lists_types_in_lower_case() -> None:
    text = inventory_query("resources", ["Microsoft.Storage/storageAccounts", "Microsoft.Web/sites"])

    assert text.splitlines()[0] == "resources"
    assert "type in~ ('microsoft.storage/storageaccounts', 'microsoft.web/sites')" in text
