"""The watcher with the Azure backend: an Event Grid event reads one resource again, not the subscriptions."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from ridgeline.model.finding import finding_id
from ridgeline.providers.azure.scanner import AzureScanOptions
from ridgeline.rules.loader import load_rule_files
from ridgeline.store.database import Store
from ridgeline.watch.azure import EventGridParser
from ridgeline.watch.backends import AzureBackend
from ridgeline.watch.events import ReceivedMessage
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.azure.conftest import (  # noqa: F401 (fixtures used by name)
    FakeCredential,
    credential,
    fake_azure,
    no_real_azure_credentials,
    tls_files,
)
from tests.azure.fake_arm import GRAPH_PATH, FakeAzure
from tests.azure.tenant import STORAGE_A, STORAGE_B, SUB_A, SUB_B
from tests.watch.conftest import wait_until
from tests.watch.test_watch_rescan import ListSource

RULE_ID = "test-azure-blob-public"
RULE_FILE = f"""
defaults:
  provider: azure
  service: storage
  resource_types: [Microsoft.Storage/storageAccounts]
rules:
  - id: {RULE_ID}
    title: Storage accounts do not allow public blob access
    severity: high
    category: storage-exposure
    fail_if: {{path: configuration.properties.allowBlobPublicAccess, equals: true}}
    description: A storage account that allows public blob access lets containers be read anonymously.
    risk: Anyone can read the blobs of a public container.
    remediation:
      text: Turn off public blob access on the storage account.
"""


def write_event(source: ListSource, message_id: str, subject: str) -> None:
    event = {"subject": subject, "eventType": "Microsoft.Resources.ResourceWriteSuccess", "id": message_id,
             "eventTime": "2026-12-04T10:00:00Z", "data": {"status": "Succeeded"}}
    with source.lock:
        source.pending.append(ReceivedMessage(message_id, json.dumps(event), receipt=message_id))


def set_public(fake: FakeAzure, resource_id: str, public: bool) -> None:
    for row in fake.tables["resources"]:
        if row["id"] == resource_id:
            row["properties"]["allowBlobPublicAccess"] = public


def test_event_refreshes_one_account(tmp_path: Path, fake_azure: FakeAzure,  # noqa: F811 (fixture)
                                     credential: FakeCredential) -> None:  # noqa: F811 (fixture)
    rule_path = tmp_path / "rules.yaml"
    rule_path.write_text(RULE_FILE)
    store = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    backend = AzureBackend(AzureScanOptions(subscriptions=[SUB_A, SUB_B], endpoint=fake_azure.base_url, workers=4),
                           credential=credential)
    source = ListSource()
    watcher = Watcher(backend, store, load_rule_files([rule_path]), source=source,
                      parser=EventGridParser([SUB_A, SUB_B]),
                      settings=WatchSettings(coalesce_window=0.1, receive_wait=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    finding_a = finding_id(RULE_ID, STORAGE_A, "westeurope")
    finding_b = finding_id(RULE_ID, STORAGE_B, "westeurope")

    def states() -> dict[str, str]:
        return {row.finding_id: row.state for row in store.load_finding_states("azure", [SUB_A, SUB_B])}

    try:
        wait_until(watcher.ready.is_set, what="the initial scan")
        assert states()[finding_a] == "new"
        before_b = states().get(finding_b)

        # Both accounts change in Azure, but the event names only the first.
        set_public(fake_azure, STORAGE_A, False)
        set_public(fake_azure, STORAGE_B, True)
        fake_azure.requests.clear()
        write_event(source, "m-1", STORAGE_A)
        wait_until(lambda: states()[finding_a] == "resolved", what="the finding of the named account to resolve")
        wait_until(lambda: source.deleted == ["m-1"], what="the message deleted")
    finally:
        watcher.stop()
        thread.join(30)
        store.engine.dispose()

    # The second account became public too, but no event named it: its finding waits for the next full scan.
    assert states().get(finding_b) == before_b
    assert before_b is None
    graph = [request for request in fake_azure.requests if request.path.lower() == GRAPH_PATH]
    assert len(graph) == 1
    assert STORAGE_A in graph[0].body["query"]
    assert not fake_azure.requests_to(f"{STORAGE_B}/blobServices/default")
    assert not fake_azure.requests_to(f"/subscriptions/{SUB_A}/providers/Microsoft.Security/securityContacts")


def test_backend_maps_types_to_units(credential: FakeCredential) -> None:  # noqa: F811 (fixture)
    backend = AzureBackend(AzureScanOptions(subscriptions=[SUB_A], endpoint="https://127.0.0.1:1"),
                           credential=credential)
    assert backend.unit_of("Microsoft.Storage/storageAccounts", "") == ("storage", "global")
    assert backend.unit_of("Microsoft.KeyVault/vaults/keys", "") == ("keyvault", "global")
    assert backend.unit_of("Microsoft.Resources/resourceGroups", "") == ("subscription", "global")
    assert backend.unit_of("microsoft.graph.userRegistrationDetails", "") is None
    assert backend.unit_of("Microsoft.Network/networkInterfaces", "") is None


def test_container_event_names_container() -> None:
    container = f"{STORAGE_A}/blobServices/default/containers/public"
    event = {"subject": container, "eventType": "Microsoft.Resources.ResourceDeleteSuccess", "id": "e-1",
             "data": {"status": "Succeeded"}}
    [parsed] = EventGridParser()(ReceivedMessage("m", json.dumps(event), None)).events
    [target] = parsed.targets
    assert target.type == "Microsoft.Storage/storageAccounts/blobServices/containers"
    assert target.key == container
    assert target.delete is True
