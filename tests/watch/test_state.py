"""The watcher's live state: Azure ids compare without case, and a deleted parent's children are found."""

from __future__ import annotations

from ridgeline.model.resource import Resource
from ridgeline.watch.state import Base, LiveState

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
ACCOUNT_ID = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/RG-Data/providers/Microsoft.Storage/storageAccounts/st1"


def _resource(type_name: str, resource_id: str) -> Resource:
    return Resource(provider="azure", account=SUBSCRIPTION, region="eastus", type=type_name, id=resource_id,
                    name=resource_id.rsplit("/", 1)[-1])


def _state() -> LiveState:
    resources = [
        _resource("Microsoft.Storage/storageAccounts", ACCOUNT_ID),
        _resource("Microsoft.Storage/storageAccounts/blobServices/containers",
                  f"{ACCOUNT_ID}/blobServices/default/containers/reports"),
        _resource("Microsoft.Storage/storageAccounts", ACCOUNT_ID + "2"),
    ]
    return LiveState("azure", [SUBSCRIPTION], ["eastus"], resources, [], Base(scan_id="scan-1"))


def test_remove_id_ignores_case_of_azure_ids() -> None:
    state = _state()

    removed = state.remove_id(ACCOUNT_ID.lower())

    assert [resource.id for resource in removed] == [ACCOUNT_ID]
    assert state.with_id(ACCOUNT_ID) == []


def test_find_ignores_case_of_azure_ids() -> None:
    state = _state()

    found = state.find(SUBSCRIPTION, "Microsoft.Storage/storageAccounts", ACCOUNT_ID.upper())

    assert [resource.id for resource in found] == [ACCOUNT_ID]


def test_descendants_are_the_resources_under_an_id() -> None:
    state = _state()

    children = state.descendants(ACCOUNT_ID.lower())

    assert [resource.name for resource in children] == ["reports"]
