"""GCP feed messages applied by the watcher: the new state as carried, completed from the last scan."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ridgeline.model.finding import finding_id
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.loader import load_rule_files
from ridgeline.store.database import Store
from ridgeline.watch.backends import GcpBackend
from ridgeline.watch.events import ReceivedMessage
from ridgeline.watch.gcp import AssetFeedParser
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.watch.conftest import wait_until
from tests.watch.test_watch_rescan import ListSource

PROJECT = "analytics-prod"
NUMBER = "123456789"
BUCKET = "//storage.googleapis.com/reports"
RULE_ID = "test-gcp-bucket-uniform-access"
RULE_FILE = f"""
defaults:
  provider: gcp
  service: storage
  resource_types: [storage.googleapis.com/Bucket]
rules:
  - id: {RULE_ID}
    title: Buckets use uniform bucket-level access
    severity: high
    category: storage-exposure
    fail_if: {{path: configuration.iamConfiguration.uniformBucketLevelAccess.enabled, equals: false}}
    description: Object ACLs can grant access that the bucket's IAM policy does not show.
    risk: Objects readable by people the bucket policy does not name.
    remediation:
      text: Turn on uniform bucket-level access.
"""


class ScannedProject(GcpBackend):
    """A GcpBackend whose full scan returns one project and one bucket instead of calling GCP."""

    def __init__(self) -> None:
        super().__init__(type("Options", (), {"projects": [PROJECT]})())

    def full_scan(self) -> Collection:
        project = Resource(provider="gcp", account=PROJECT, region="global",
                           type="cloudresourcemanager.googleapis.com/Project",
                           id=f"//cloudresourcemanager.googleapis.com/projects/{NUMBER}", name=NUMBER,
                           configuration={"projectId": PROJECT, "projectNumber": NUMBER})
        bucket = Resource(provider="gcp", account=PROJECT, region="us", type="storage.googleapis.com/Bucket",
                          id=BUCKET, name="reports",
                          configuration={"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}},
                          supplementary={"iamPolicy": {"bindings": []}, "logging": {"enabled": True}})
        unit = Coverage(provider="gcp", account=PROJECT, region="global", service="storage")
        self._ids_by_number[NUMBER] = PROJECT
        return Collection(provider="gcp", accounts=[PROJECT], regions=["us"], resources=[project, bucket],
                          coverage=[unit])


def feed(asset: dict[str, Any], *, deleted: bool = False) -> str:
    return json.dumps({"asset": asset, "priorAssetState": "PRESENT", "deleted": deleted,
                       "window": {"startTime": "2026-12-04T10:00:00Z"}})


def bucket_asset(uniform: bool) -> dict[str, Any]:
    return {"name": BUCKET, "assetType": "storage.googleapis.com/Bucket", "ancestors": [f"projects/{NUMBER}"],
            "resource": {"version": "v1", "parent": f"//cloudresourcemanager.googleapis.com/projects/{NUMBER}",
                         "data": {"name": "reports", "iamConfiguration": {"uniformBucketLevelAccess": {
                             "enabled": uniform}}}, "location": "us"}}


def test_feed_messages_change_findings(tmp_path: Path) -> None:
    rule_path = tmp_path / "rules.yaml"
    rule_path.write_text(RULE_FILE)
    store = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    backend, source = ScannedProject(), ListSource()
    watcher = Watcher(backend, store, load_rule_files([rule_path]), source=source, parser=AssetFeedParser(),
                      settings=WatchSettings(coalesce_window=0.1, receive_wait=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    finding = finding_id(RULE_ID, BUCKET, "us")

    def state() -> str | None:
        rows = [row.state for row in store.load_finding_states("gcp", [PROJECT]) if row.finding_id == finding]
        return rows[0] if rows else None

    def send(message_id: str, body: str) -> None:
        with source.lock:
            source.pending.append(ReceivedMessage(message_id, body, receipt=message_id))

    try:
        wait_until(watcher.ready.is_set, what="the initial scan")
        send("m-1", feed(bucket_asset(uniform=False)))
        wait_until(lambda: state() == "new", what="the finding from the feed")
        assert watcher.state is not None
        [bucket] = watcher.state.with_id(BUCKET)
        assert bucket.account == PROJECT
        assert bucket.supplementary["logging"] == {"enabled": True}

        send("m-2", feed({"name": BUCKET, "assetType": "storage.googleapis.com/Bucket",
                          "ancestors": [f"projects/{NUMBER}"]}, deleted=True))
        wait_until(lambda: state() == "resolved", what="the deleted bucket's finding to resolve")
        assert watcher.state.with_id(BUCKET) == []
    finally:
        watcher.stop()
        thread.join(30)
    assert sorted(source.deleted) == ["m-1", "m-2"]
    store.engine.dispose()


def test_policy_only_asset_keeps_resource_data() -> None:
    backend = ScannedProject()
    backend.full_scan()
    previous = backend.full_scan().resources[1]
    parsed = AssetFeedParser()(ReceivedMessage("m", feed({
        "name": BUCKET, "assetType": "storage.googleapis.com/Bucket", "ancestors": [f"projects/{NUMBER}"],
        "iamPolicy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]}}), None))
    [resource] = parsed.events[0].resources
    merged = backend.carried(resource, previous)
    assert merged.configuration == previous.configuration
    assert merged.supplementary["iamPolicy"]["bindings"][0]["members"] == ["allUsers"]
    new = AssetFeedParser()(ReceivedMessage("m", feed(bucket_asset(uniform=True)), None)).events[0].resources[0]
    assert backend.carried(new, None).account == PROJECT

