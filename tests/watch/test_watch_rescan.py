"""A provider that cannot collect single resources again: change events run a full scan instead."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from ridgeline.cli import EXIT_SETUP, main
from ridgeline.model.finding import finding_id
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.providers.aws.scanner import Collection, RefreshOutcome, RefreshRequest
from ridgeline.rules.loader import load_rule_files
from ridgeline.store.database import Store
from ridgeline.watch.azure import EventGridParser
from ridgeline.watch.events import ReceivedMessage
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.watch.conftest import wait_until

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
ACCOUNT_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Storage/"
              "storageAccounts/stdata")
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


class ListSource:
    """An in-memory event source: messages put in a list, deleted ones recorded."""

    name = "list"

    def __init__(self) -> None:
        self.pending: list[ReceivedMessage] = []
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def receive(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        with self.lock:
            taken, self.pending = self.pending[:max_messages], self.pending[max_messages:]
        if not taken:
            threading.Event().wait(min(wait_s, 0.1))
        return taken

    def delete(self, message: ReceivedMessage) -> None:
        with self.lock:
            self.deleted.append(message.message_id)

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        with self.lock:
            self.pending.append(message)

    def close(self) -> None:
        pass


class SubscriptionBackend:
    """One storage account whose public-access setting the test changes between full scans."""

    provider = "azure"
    supports_refresh = False
    regions: list[str] = []

    def __init__(self) -> None:
        self.accounts = [SUBSCRIPTION]
        self.public = False
        self.scans = 0

    def full_scan(self) -> Collection:
        self.scans += 1
        account = Resource(provider="azure", account=SUBSCRIPTION, region="westeurope",
                           type="Microsoft.Storage/storageAccounts", id=ACCOUNT_ID, name="stdata",
                           configuration={"properties": {"allowBlobPublicAccess": self.public}})
        unit = Coverage(provider="azure", account=SUBSCRIPTION, region="global", service="storage")
        return Collection(provider="azure", accounts=[SUBSCRIPTION], regions=["westeurope"], resources=[account],
                          coverage=[unit])

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        raise AssertionError("a backend without targeted refresh must not be asked to refresh")

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        return None

    def service_types(self, service: str) -> tuple[str, ...]:
        return ()

    @property
    def api_calls(self) -> int:
        return 0

    def close(self) -> None:
        pass


def write_event(source: ListSource, message_id: str) -> None:
    event = {"subject": ACCOUNT_ID, "eventType": "Microsoft.Resources.ResourceWriteSuccess", "id": message_id,
             "eventTime": "2026-12-04T10:00:00Z", "data": {"status": "Succeeded", "subscriptionId": SUBSCRIPTION}}
    with source.lock:
        source.pending.append(ReceivedMessage(message_id, json.dumps(event), receipt=message_id))


def test_events_run_full_scan(tmp_path: Path) -> None:
    rule_path = tmp_path / "rules.yaml"
    rule_path.write_text(RULE_FILE)
    rules = load_rule_files([rule_path])
    store = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    backend, source = SubscriptionBackend(), ListSource()
    watcher = Watcher(backend, store, rules, source=source, parser=EventGridParser([SUBSCRIPTION]),
                      settings=WatchSettings(coalesce_window=0.1, receive_wait=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    finding = finding_id(RULE_ID, ACCOUNT_ID, "westeurope")

    def state() -> str | None:
        rows = [row.state for row in store.load_finding_states("azure", [SUBSCRIPTION]) if row.finding_id == finding]
        return rows[0] if rows else None

    try:
        wait_until(watcher.ready.is_set, what="the initial scan")
        assert state() is None

        backend.public = True
        write_event(source, "m-1")
        write_event(source, "m-2")
        wait_until(lambda: state() == "new", what="the finding after the events")
        wait_until(lambda: sorted(source.deleted) == ["m-1", "m-2"], what="both messages deleted")

        backend.public = False
        write_event(source, "m-3")
        wait_until(lambda: state() == "resolved", what="the finding to resolve")
    finally:
        watcher.stop()
        thread.join(30)
    # The initial scan, one scan for the burst of two events, one for the third.
    assert backend.scans == 3
    store.engine.dispose()


def test_watch_gcp_rejects_bad_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["watch", "gcp", "--project", "Not_A_Project!",
                                       "--database", f"sqlite:///{tmp_path / 'watch.db'}"])
    assert result.exit_code == EXIT_SETUP, result.output
    assert "invalid project id" in result.output


def test_watch_azure_rejects_bad_subscription(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["watch", "azure", "--subscription", "not-a-guid",
                                       "--database", f"sqlite:///{tmp_path / 'watch.db'}"])
    assert result.exit_code == EXIT_SETUP, result.output
    assert "invalid subscription id" in result.output
