"""`ridgeline watch file` on Cloud Asset Inventory and Azure Resource Graph exports, written while a real watcher runs.

Each test writes export files into a folder watched by the watchers that `ridgeline watch file` builds
(one per provider, with an SQLite store) and reads the findings' life cycle from the store.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ridgeline.model.scan import Completeness
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store
from ridgeline.watch.backends import ImportBackend
from ridgeline.watch.files import (
    FolderBackend,
    FolderSource,
    build_folder_watch,
    import_folder,
    import_provider,
    parse_file_message,
    run_watchers,
)
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.watch.conftest import wait_until

QUIET = 0.3
"""Quiet period of the test watchers, in seconds."""

PROJECT = "shop-prod"
PROJECT_NUMBER = "412345678901"
BUCKET_RULE = "gcp-storage-bucket-not-public"

SUBSCRIPTION = "0a1b2c3d-0000-4000-8000-00000000ab01"
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-shop"
STORAGE_RULE = "azure-storage-no-anonymous-blob-access"

ACTIVE = ("new", "open", "reopened")
"""Life-cycle states of a finding that still fails."""

_RULES: list[Rule] = []


def rules() -> list[Rule]:
    if not _RULES:
        _RULES.extend(load_builtin_rules())
    return _RULES


# Cloud Asset Inventory exports ------------------------------------------------------------------------

def bucket_id(name: str) -> str:
    return f"//storage.googleapis.com/{name}"


def project_asset() -> dict[str, Any]:
    return {"name": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}",
            "asset_type": "cloudresourcemanager.googleapis.com/Project",
            "ancestors": [f"projects/{PROJECT_NUMBER}", "organizations/42"], "update_time": "2024-05-01T10:00:00Z",
            "resource": {"version": "v1", "discovery_name": "Project", "location": "global",
                         "parent": "//cloudresourcemanager.googleapis.com/organizations/42",
                         "data": {"projectId": PROJECT, "projectNumber": PROJECT_NUMBER, "lifecycleState": "ACTIVE",
                                  "name": PROJECT}}}


def bucket_asset(name: str, update_time: str = "2024-05-01T10:00:00Z") -> dict[str, Any]:
    """A bucket's RESOURCE line of `gcloud asset export`, with uniform bucket-level access on."""
    return {"name": bucket_id(name), "asset_type": "storage.googleapis.com/Bucket",
            "ancestors": [f"projects/{PROJECT_NUMBER}", "organizations/42"], "update_time": update_time,
            "resource": {"version": "v1", "discovery_name": "Bucket", "location": "europe-west1",
                         "discovery_document_uri": "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
                         "parent": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}",
                         "data": {"name": name, "projectNumber": PROJECT_NUMBER, "location": "EUROPE-WEST1",
                                  "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                                                       "publicAccessPrevention": "inherited"}}}}


def bucket_policy(name: str, *, public: bool, update_time: str = "2024-05-01T10:00:00Z") -> dict[str, Any]:
    """A bucket's IAM_POLICY line of `gcloud asset export`."""
    members = ["group:shop-readers@example.com"] + (["allUsers"] if public else [])
    return {"name": bucket_id(name), "asset_type": "storage.googleapis.com/Bucket",
            "ancestors": [f"projects/{PROJECT_NUMBER}", "organizations/42"], "update_time": update_time,
            "iam_policy": {"version": 1, "etag": "BwXhqDxyz0=",
                           "bindings": [{"role": "roles/storage.objectViewer", "members": members}]}}


def write_lines(path: Path, assets: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(asset) + "\n" for asset in assets), encoding="utf-8")


def write_resources(folder: Path, names: list[str], stamp: str = "2024-05-01T10:00:00Z") -> None:
    """Write the RESOURCE file of an export of the project's buckets."""
    write_lines(folder / "resources.jsonl", [project_asset(), *(bucket_asset(name, stamp) for name in names)])


def write_policies(folder: Path, public: dict[str, bool], stamp: str = "2024-05-01T10:00:00Z") -> None:
    """Write the IAM_POLICY file of an export of the project's buckets (name -> public)."""
    write_lines(folder / "iam.jsonl", [bucket_policy(name, public=flag, update_time=stamp)
                                       for name, flag in public.items()])


def write_gcp_export(folder: Path, public: dict[str, bool], *, stamp: str = "2024-05-01T10:00:00Z") -> None:
    """Write the RESOURCE and IAM_POLICY files of one export of the project's buckets (name -> public)."""
    write_resources(folder, list(public), stamp)
    write_policies(folder, public, stamp)


# Azure Resource Graph exports -------------------------------------------------------------------------

def storage_id(name: str) -> str:
    return f"{GROUP}/providers/Microsoft.Storage/storageAccounts/{name}"


def storage_row(name: str, *, public: bool) -> dict[str, Any]:
    """A storage account row of `az graph query`."""
    return {"id": storage_id(name), "name": name, "type": "microsoft.storage/storageaccounts",
            "location": "westeurope", "subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-shop", "tags": {},
            "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
            "properties": {"allowBlobPublicAccess": public, "supportsHttpsTrafficOnly": True,
                           "minimumTlsVersion": "TLS1_2"}}


def graph_page(rows: list[dict[str, Any]], total: int, *, more: bool = False) -> dict[str, Any]:
    return {"count": len(rows), "data": rows, "skip_token": "ew0KICAiJGlkIjogIjEiLA0K" if more else None,
            "total_records": total}


def write_gz(path: Path, document: Any) -> None:
    path.write_bytes(gzip.compress(json.dumps(document, indent=2).encode()))


def write_azure_export(folder: Path, public: dict[str, bool]) -> None:
    """Write one `az graph query` page set of the storage accounts (name -> public), two rows per page."""
    rows = [storage_row(name, public=flag) for name, flag in public.items()]
    pages = [rows[start:start + 2] for start in range(0, len(rows), 2)]
    for number, page in enumerate(pages, start=1):
        write_gz(folder / f"graph-page-{number}.json.gz", graph_page(page, len(rows), more=number < len(pages)))
    for stale in sorted(folder.glob("graph-page-*.json.gz"))[len(pages):]:
        stale.unlink()


# The running watchers ---------------------------------------------------------------------------------

class FolderWatch:
    """The watchers of one folder, as `ridgeline watch file` builds them, running on a thread."""

    def __init__(self, folder: Path, store: Store) -> None:
        self.store = store
        parts = build_folder_watch(folder, poll_interval=0.05, quiet_period=QUIET)
        assert parts, f"no provider found in {folder}"
        settings = WatchSettings(coalesce_window=0.1, receive_wait=0.3, full_scan_interval=3600, retry_delay=0.5,
                                 shutdown_timeout=5.0)
        self.watchers = {backend.provider: Watcher(backend, store, rules(), source=source, parser=parser,
                                                   settings=settings)
                         for backend, source, parser in parts}
        self.thread = threading.Thread(target=run_watchers, args=(list(self.watchers.values()),), daemon=True)
        self.thread.start()
        for watcher in self.watchers.values():
            wait_until(watcher.ready.is_set, what="the watcher's first full scan")

    def processed(self, provider: str) -> int:
        return int(self.watchers[provider].metrics.value("ridgeline_watch_events_processed_total"))

    def wait_for_import(self, provider: str, before: int) -> None:
        """Wait until the watcher of `provider` has applied a message received after `before` were."""
        wait_until(lambda: self.processed(provider) > before, what=f"the {provider} watcher to apply the change")

    def state(self, provider: str, account: str, rule_id: str, resource_id: str) -> str | None:
        states = [state.state for state in self.store.load_finding_states(provider, [account])
                  if state.rule_id == rule_id and state.resource_id == resource_id]
        assert len(states) <= 1
        return states[0] if states else None

    def stop(self) -> None:
        for watcher in self.watchers.values():
            watcher.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the watchers did not stop within 30 s"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    yield opened
    opened.engine.dispose()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "exports"
    path.mkdir()
    return path


def bucket_state(watch: FolderWatch, name: str) -> str | None:
    return watch.state("gcp", PROJECT, BUCKET_RULE, bucket_id(name))


def account_state(watch: FolderWatch, name: str) -> str | None:
    return watch.state("azure", SUBSCRIPTION, STORAGE_RULE, storage_id(name))


# GCP --------------------------------------------------------------------------------------------------

def test_gcp_exports_open_and_resolve(folder: Path, store: Store) -> None:
    write_gcp_export(folder, {"shop-assets": False, "shop-public": True, "shop-logs": False})
    watch = FolderWatch(folder, store)
    try:
        assert bucket_state(watch, "shop-public") == "new"
        assert bucket_state(watch, "shop-assets") is None

        before = watch.processed("gcp")
        write_gcp_export(folder, {"shop-assets": True, "shop-public": True, "shop-logs": False},
                         stamp="2024-05-02T10:00:00Z")
        wait_until(lambda: bucket_state(watch, "shop-assets") == "new", what="the bucket made public")
        watch.wait_for_import("gcp", before)
        assert bucket_state(watch, "shop-public") in ACTIVE

        write_gcp_export(folder, {"shop-assets": False, "shop-public": True, "shop-logs": False},
                         stamp="2024-05-03T10:00:00Z")
        wait_until(lambda: bucket_state(watch, "shop-assets") == "resolved", what="the fixed bucket to resolve")

        # A complete export without the public bucket: it is gone, and its finding resolves.
        write_gcp_export(folder, {"shop-assets": False, "shop-logs": False}, stamp="2024-05-04T10:00:00Z")
        wait_until(lambda: bucket_state(watch, "shop-public") == "resolved", what="the deleted bucket to resolve")
    finally:
        watch.stop()


def test_gcp_truncated_file_resolves_nothing(folder: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    write_gcp_export(folder, {"shop-assets": False, "shop-public": True, "shop-logs": False})
    watch = FolderWatch(folder, store)
    try:
        assert bucket_state(watch, "shop-public") == "new"

        # The writer stopped in the middle of the public bucket's line: the bucket is missing from the read.
        lines = [json.dumps(asset) for asset in (project_asset(), bucket_asset("shop-assets"),
                                                  bucket_asset("shop-public"), bucket_asset("shop-logs"))]
        cut = "\n".join(lines[:2]) + "\n" + lines[2][:60]
        caplog.set_level(logging.WARNING, logger="ridgeline.watch.files")
        before = watch.processed("gcp")
        (folder / "resources.jsonl").write_text(cut, encoding="utf-8")
        watch.wait_for_import("gcp", before)

        assert bucket_state(watch, "shop-public") in ACTIVE
        errors = [record.getMessage() for record in caplog.records if "invalid JSON" in record.getMessage()]
        assert errors, "the import error was not logged"
        assert f"{folder / 'resources.jsonl'}, line 3" in errors[0]
        assert any("resolves no finding" in record.getMessage() for record in caplog.records)

        # The whole file again: the bucket is back and still public.
        before = watch.processed("gcp")
        write_gcp_export(folder, {"shop-assets": False, "shop-public": True, "shop-logs": False})
        watch.wait_for_import("gcp", before)
        assert bucket_state(watch, "shop-public") in ACTIVE
    finally:
        watch.stop()


def test_gcp_partial_export_keeps_missing_bucket(folder: Path, store: Store) -> None:
    write_gcp_export(folder, {"shop-assets": False, "shop-public": True})
    watch = FolderWatch(folder, store)
    try:
        assert bucket_state(watch, "shop-public") == "new"

        # The public bucket's line lost its asset type: an unreadable item, so the export is partial.
        damaged = bucket_asset("shop-public")
        del damaged["asset_type"]
        before = watch.processed("gcp")
        write_lines(folder / "resources.jsonl", [project_asset(), bucket_asset("shop-assets"), damaged])
        write_lines(folder / "iam.jsonl", [bucket_policy("shop-assets", public=False)])
        watch.wait_for_import("gcp", before)
        assert bucket_state(watch, "shop-public") == "new"

        # The same export read whole: the bucket is gone, and its finding resolves.
        write_lines(folder / "resources.jsonl", [project_asset(), bucket_asset("shop-assets")])
        wait_until(lambda: bucket_state(watch, "shop-public") == "resolved", what="the deleted bucket to resolve")
    finally:
        watch.stop()


def test_gcp_resource_file_alone_keeps_policies(folder: Path, store: Store) -> None:
    write_gcp_export(folder, {"shop-assets": False, "shop-public": True})
    watch = FolderWatch(folder, store)
    try:
        assert bucket_state(watch, "shop-public") == "new"

        # The RESOURCE file of the next export arrives alone: it is judged with the policies already there.
        before = watch.processed("gcp")
        write_resources(folder, ["shop-assets", "shop-public"], "2024-05-02T10:00:00Z")
        watch.wait_for_import("gcp", before)
        newest = store.list_scans(limit=1)[0]
        judged = {finding.resource_id: finding.status.value for finding in store.load_findings(newest.id)
                  if finding.rule_id == BUCKET_RULE}
        assert judged == {bucket_id("shop-assets"): "PASS", bucket_id("shop-public"): "FAIL"}
        assert bucket_state(watch, "shop-public") == "open"

        # Then its IAM_POLICY file, which makes the other bucket public.
        write_policies(folder, {"shop-assets": True, "shop-public": True}, "2024-05-02T10:00:00Z")
        wait_until(lambda: bucket_state(watch, "shop-assets") == "new", what="the bucket made public")
        assert bucket_state(watch, "shop-public") == "open"
    finally:
        watch.stop()


def test_gcp_files_within_quiet_period_are_one_import(folder: Path, store: Store) -> None:
    write_gcp_export(folder, {"shop-assets": False, "shop-public": True})
    watch = FolderWatch(folder, store)
    try:
        increments = watch.watchers["gcp"].metrics.value("ridgeline_watch_increments_total")
        before = watch.processed("gcp")
        # A new bucket in the RESOURCE file alone would be an increment of its own.
        write_resources(folder, ["shop-assets", "shop-public", "shop-new"], "2024-05-02T10:00:00Z")
        threading.Event().wait(0.15)
        write_policies(folder, {"shop-assets": True, "shop-public": False, "shop-new": False}, "2024-05-02T10:00:00Z")
        wait_until(lambda: watch.processed("gcp") >= before + 2, what="both files to be applied")

        assert bucket_state(watch, "shop-assets") == "new"
        assert bucket_state(watch, "shop-public") == "resolved"
        assert watch.watchers["gcp"].metrics.value("ridgeline_watch_increments_total") == increments + 1
    finally:
        watch.stop()


# Azure ------------------------------------------------------------------------------------------------

def test_azure_exports_open_and_resolve(folder: Path, store: Store) -> None:
    write_azure_export(folder, {"stshopassets": False, "stshoppublic": True, "stshoplogs": False})
    watch = FolderWatch(folder, store)
    try:
        assert account_state(watch, "stshoppublic") == "new"
        assert account_state(watch, "stshopassets") is None

        write_azure_export(folder, {"stshopassets": True, "stshoppublic": True, "stshoplogs": False})
        wait_until(lambda: account_state(watch, "stshopassets") == "new", what="the account made public")
        assert account_state(watch, "stshoppublic") in ACTIVE

        write_azure_export(folder, {"stshopassets": False, "stshoppublic": True, "stshoplogs": False})
        wait_until(lambda: account_state(watch, "stshopassets") == "resolved", what="the fixed account to resolve")

        # A complete page set without the public account: it is gone, and its finding resolves.
        write_azure_export(folder, {"stshopassets": False, "stshoplogs": False})
        wait_until(lambda: account_state(watch, "stshoppublic") == "resolved", what="the deleted account to resolve")
    finally:
        watch.stop()


def test_azure_gzip_cut_short_resolves_nothing(folder: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    write_azure_export(folder, {"stshopassets": False, "stshoppublic": True, "stshoplogs": False})
    watch = FolderWatch(folder, store)
    try:
        assert account_state(watch, "stshoppublic") == "new"

        # The first page of the next export, fixed, but cut short while it was copied.
        page = gzip.compress(json.dumps(graph_page([storage_row("stshopassets", public=False),
                                                    storage_row("stshoppublic", public=False)], 3, more=True),
                                        indent=2).encode())
        caplog.set_level(logging.WARNING, logger="ridgeline.watch.files")
        before = watch.processed("azure")
        (folder / "graph-page-1.json.gz").write_bytes(page[:len(page) * 2 // 3])
        watch.wait_for_import("azure", before)

        assert account_state(watch, "stshoppublic") in ACTIVE
        page_errors = [record.getMessage() for record in caplog.records
                       if "azure import:" in record.getMessage() and "graph-page-1.json.gz" in record.getMessage()]
        assert page_errors, "the import error was not logged"
        assert "graph-page-1.json.gz, line " in page_errors[0]
        assert "the gzip data ends early" in page_errors[0]
        assert any("resolves no finding" in record.getMessage() for record in caplog.records)
    finally:
        watch.stop()


def test_azure_truncated_page_set_keeps_missing_account(folder: Path, store: Store) -> None:
    write_azure_export(folder, {"stshopassets": False, "stshoplogs": False, "stshoppublic": True})
    watch = FolderWatch(folder, store)
    try:
        assert account_state(watch, "stshoppublic") == "new"

        # Only the first page of three records is left: the public account on page 2 is not in the read.
        before = watch.processed("azure")
        (folder / "graph-page-2.json.gz").unlink()
        watch.wait_for_import("azure", before)
        assert account_state(watch, "stshoppublic") == "new"

        # A complete page set without it: it is gone, and its finding resolves.
        write_azure_export(folder, {"stshopassets": False, "stshoplogs": False})
        wait_until(lambda: account_state(watch, "stshoppublic") == "resolved", what="the deleted account to resolve")
    finally:
        watch.stop()


# A folder of several providers ------------------------------------------------------------------------

def test_mixed_folder_one_watcher_per_provider(folder: Path, store: Store) -> None:
    write_gcp_export(folder, {"shop-public": True})
    write_azure_export(folder, {"stshoppublic": True})
    watch = FolderWatch(folder, store)
    try:
        assert sorted(watch.watchers) == ["azure", "gcp"]
        assert all(isinstance(watcher.backend, FolderBackend) for watcher in watch.watchers.values())
        assert bucket_state(watch, "shop-public") == "new"
        assert account_state(watch, "stshoppublic") == "new"
        assert sorted(scan.provider for scan in store.list_scans()) == ["azure", "gcp"]

        gcp_before = watch.processed("gcp")
        write_azure_export(folder, {"stshoppublic": False})
        wait_until(lambda: account_state(watch, "stshoppublic") == "resolved", what="the fixed account to resolve")
        # The GCP watcher reads only the files of GCP and those of unknown format.
        assert watch.processed("gcp") == gcp_before
        assert bucket_state(watch, "shop-public") == "new"
    finally:
        watch.stop()


def test_gcp_new_project_gets_full_scan(folder: Path, store: Store) -> None:
    write_gcp_export(folder, {"shop-public": True})
    watch = FolderWatch(folder, store)
    try:
        # A second project's export arrives: the watcher's accounts come from its last full scan, so one runs.
        other = {**project_asset(), "name": "//cloudresourcemanager.googleapis.com/projects/598765432109",
                 "ancestors": ["projects/598765432109", "organizations/42"]}
        other["resource"] = {**other["resource"], "data": {"projectId": "shop-dev", "projectNumber": "598765432109",
                                                           "lifecycleState": "ACTIVE", "name": "shop-dev"}}

        def dev_bucket(public: bool) -> list[dict[str, Any]]:
            resource = bucket_asset("shop-dev-data")
            resource["ancestors"] = ["projects/598765432109", "organizations/42"]
            resource["resource"]["data"]["projectNumber"] = "598765432109"
            policy = bucket_policy("shop-dev-data", public=public)
            policy["ancestors"] = resource["ancestors"]
            return [other, resource, policy]

        write_lines(folder / "dev.jsonl", dev_bucket(public=True))
        wait_until(lambda: watch.state("gcp", "shop-dev", BUCKET_RULE, bucket_id("shop-dev-data")) == "new",
                   what="the new project's public bucket")
        full_scans = watch.watchers["gcp"].metrics.value("ridgeline_watch_full_scans_total", {"outcome": "complete"})
        assert full_scans == 2

        # Its later changes are increments of a project that the watcher now covers.
        write_lines(folder / "dev.jsonl", dev_bucket(public=False))
        wait_until(lambda: watch.state("gcp", "shop-dev", BUCKET_RULE, bucket_id("shop-dev-data")) == "resolved",
                   what="the new project's fixed bucket to resolve")
        assert bucket_state(watch, "shop-public") in ACTIVE
    finally:
        watch.stop()


def test_recent_file_makes_import_partial(folder: Path) -> None:
    write_gcp_export(folder, {"shop-public": True})

    imported = import_provider(folder, "gcp", quiet_period=600)

    assert imported.collection is not None
    assert {unit.status for unit in imported.collection.coverage} == {Completeness.PARTIAL}
    assert "may still be being written" in imported.partial_reason
    settled = import_provider(folder, "gcp")
    assert settled.collection is not None
    assert {unit.status for unit in settled.collection.coverage} == {Completeness.COMPLETE}


# The per-file parser of an ImportBackend --------------------------------------------------------------

AWS_ACCOUNT = "111122223333"
VOLUME_RULE = "aws-ec2-volume-encrypted"


def volume_item(volume: str) -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "awsAccountId": AWS_ACCOUNT, "configurationItemStatus": "OK",
            "resourceType": "AWS::EC2::Volume", "resourceId": volume, "resourceName": volume,
            "ARN": f"arn:aws:ec2:us-east-1:{AWS_ACCOUNT}:volume/{volume}", "awsRegion": "us-east-1", "tags": {},
            "relationships": [], "configuration": {"volumeId": volume, "encrypted": False},
            "supplementaryConfiguration": {}}


def test_import_backend_truncated_file_resolves_nothing(folder: Path, store: Store) -> None:
    (folder / "a.json").write_text(json.dumps({"configurationItems": [volume_item("vol-a")]}))
    (folder / "b.json").write_text(json.dumps({"configurationItems": [volume_item("vol-b")]}))
    backend = ImportBackend("aws", lambda: import_folder(folder))
    watcher = Watcher(backend, store, rules(), source=FolderSource(folder, poll_interval=0.05),
                      parser=parse_file_message,
                      settings=WatchSettings(coalesce_window=0.1, receive_wait=0.3, full_scan_interval=3600))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()

    def volume_state(volume: str) -> str | None:
        arn = f"arn:aws:ec2:us-east-1:{AWS_ACCOUNT}:volume/{volume}"
        states = [state.state for state in store.load_finding_states("aws", [AWS_ACCOUNT])
                  if state.rule_id == VOLUME_RULE and state.resource_id == arn]
        return states[0] if states else None

    try:
        wait_until(lambda: volume_state("vol-a") == "new", what="the initial import")
        text = json.dumps({"configurationItems": [volume_item("vol-a")]})
        (folder / "a.json").write_text(text[:len(text) * 3 // 4])
        wait_until(lambda: watcher.metrics.value("ridgeline_watch_events_processed_total") >= 1,
                   what="the truncated file to be applied")
        # Without the read's errors taken into account, the file's volume would be gone and resolved.
        assert volume_state("vol-a") in ACTIVE
        assert volume_state("vol-b") in ACTIVE
    finally:
        watcher.stop()
        thread.join(30)
