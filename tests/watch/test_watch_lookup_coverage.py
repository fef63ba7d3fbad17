"""Lookups in increments are judged by the coverage of the watcher's state, as a full scan judges them.

A `related` lookup that finds nothing proves an absence only where the scan read the looked-up type's
service. The watcher's index keeps the coverage of its last full scan and of the units that increments
read again. So an increment of the judged resource gives the ERROR of the full scan, not the rule's
`missing:` verdict, and an increment gives the verdicts of a fresh full scan of the same state.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.loader import load_builtin_rules, load_rule_files
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store
from ridgeline.watch.backends import GcpBackend
from ridgeline.watch.events import ReceivedMessage
from ridgeline.watch.files import import_provider
from ridgeline.watch.gcp import AssetFeedParser
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.conftest import AwsAccount
from tests.watch.conftest import cloudtrail_event, start_watcher, wait_until
from tests.watch.test_watch_file_formats import (
    GROUP,
    PROJECT,
    PROJECT_NUMBER,
    SUBSCRIPTION,
    FolderWatch,
    graph_page,
    project_asset,
    write_gz,
    write_lines,
)
from tests.watch.test_watch_rescan import ListSource

DNS_RULE = "gcp-dns-network-query-logging"
WATCHER_RULE = "azure-network-watcher-in-region"

_BUILTIN: list[Rule] = []


def builtin_rules() -> list[Rule]:
    if not _BUILTIN:
        _BUILTIN.extend(load_builtin_rules())
    return _BUILTIN


def rule(rule_id: str) -> Rule:
    [found] = [candidate for candidate in builtin_rules() if candidate.id == rule_id]
    return found


def newest_findings(store: Store, rule_id: str) -> dict[str, Finding]:
    """Return the findings of `rule_id` in the newest stored scan (full or increment), by resource id."""
    newest = store.list_scans(limit=1)[0]
    return {finding.resource_id: finding for finding in store.load_findings(newest.id) if finding.rule_id == rule_id}


def increments(watcher: Watcher) -> int:
    return int(watcher.metrics.value("ridgeline_watch_increments_total"))


def assert_same_verdicts(judged: list[Finding], fresh: list[Finding]) -> None:
    """Check that each finding of an increment has the status and message of its finding in a fresh full scan."""
    assert judged, "the increment evaluated nothing"
    scanned = {(finding.rule_id, finding.resource_id): (finding.status, finding.message) for finding in fresh}
    for finding in judged:
        key = (finding.rule_id, finding.resource_id)
        assert key in scanned, f"{key} is in the increment, not in a fresh scan"
        assert (finding.status, finding.message) == scanned[key], key


# GCP feed messages: a network judged by the DNS policies of its project ------------------------------

def network_id(name: str) -> str:
    return f"//compute.googleapis.com/projects/{PROJECT}/global/networks/{name}"


def network_data(name: str, *, description: str = "") -> dict[str, Any]:
    return {"name": name, "description": description, "autoCreateSubnetworks": False,
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/{name}"}


class ScannedNetworks(GcpBackend):
    """A GcpBackend whose full scan returns two networks of a project, with or without the dns service read."""

    def __init__(self, *, dns_read: bool) -> None:
        super().__init__(type("Options", (), {"projects": [PROJECT]})())
        self.dns_read = dns_read

    def full_scan(self) -> Collection:
        networks = [Resource(provider="gcp", account=PROJECT, region="global", type="compute.googleapis.com/Network",
                             id=network_id(name), name=name, configuration=network_data(name))
                    for name in ("vpc-a", "vpc-b")]
        coverage = [Coverage(provider="gcp", account=PROJECT, region="global", service="compute")]
        if self.dns_read:
            # The dns service was read and has no server policy: a real absence.
            coverage.append(Coverage(provider="gcp", account=PROJECT, region="global", service="dns"))
        self._ids_by_number[PROJECT_NUMBER] = PROJECT
        return Collection(provider="gcp", accounts=[PROJECT], regions=["global"], resources=networks,
                          coverage=coverage)


def network_feed(name: str, description: str) -> str:
    asset = {"name": network_id(name), "assetType": "compute.googleapis.com/Network",
             "ancestors": [f"projects/{PROJECT_NUMBER}"],
             "resource": {"version": "v1", "parent": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}",
                          "data": network_data(name, description=description), "location": "global"}}
    return json.dumps({"asset": asset, "priorAssetState": "PRESENT", "deleted": False,
                       "window": {"startTime": "2026-12-04T10:00:00Z"}})


@pytest.mark.parametrize(("dns_read", "status", "reason"), [
    pytest.param(False, Status.ERROR, f"the dns service was not scanned in project {PROJECT}", id="dns-not-read"),
    pytest.param(True, Status.FAIL, "", id="dns-read"),
])
def test_gcp_feed_increment_keeps_full_scan_verdict(tmp_path: Path, dns_read: bool, status: Status,
                                                    reason: str) -> None:
    store = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    source = ListSource()
    watcher = Watcher(ScannedNetworks(dns_read=dns_read), store, [rule(DNS_RULE)], source=source,
                      parser=AssetFeedParser(), settings=WatchSettings(coalesce_window=0.1, receive_wait=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(watcher.ready.is_set, what="the initial scan")
        scanned = newest_findings(store, DNS_RULE)
        assert {finding.status for finding in scanned.values()} == {status}
        assert all(reason in finding.message for finding in scanned.values())

        # A change of vpc-a's description: the increment judges vpc-a again, and nothing about DNS changed.
        with source.lock:
            source.pending.append(ReceivedMessage("m-1", network_feed("vpc-a", "changed"), receipt="m-1"))
        wait_until(lambda: increments(watcher) == 1, what="the increment of vpc-a")

        judged = newest_findings(store, DNS_RULE)
        assert list(judged) == [network_id("vpc-a")]
        assert judged[network_id("vpc-a")].status is status
        assert judged[network_id("vpc-a")].message == scanned[network_id("vpc-a")].message
    finally:
        watcher.stop()
        thread.join(30)
    store.engine.dispose()


# AWS: a trail judged by its S3 bucket, with the watcher's --services ----------------------------------

TRAIL_RULE = "test-aws-trail-bucket-collected"
TRAIL_RULE_FILE = f"""
defaults:
  provider: aws
  service: cloudtrail
  resource_types: [AWS::CloudTrail::Trail]
rules:
  - id: {TRAIL_RULE}
    title: The trail delivers its logs to a bucket of the account
    severity: high
    category: logging-monitoring
    fail_if:
      not:
        related: {{type: AWS::S3::Bucket, match: {{name_from: configuration.s3BucketName}}}}
        missing: false
        where: {{path: name, exists: true}}
    description: A trail whose bucket is not in the account sends its logs where the account cannot see them.
    risk: The audit logs are kept by someone else.
    remediation:
      text: Deliver the trail's logs to a bucket of the account.
"""


@pytest.mark.parametrize(("services", "status", "reason"), [
    pytest.param(("cloudtrail",), Status.ERROR, "the s3 service was not scanned in account", id="s3-not-read"),
    pytest.param(("cloudtrail", "s3"), Status.PASS, "", id="s3-read"),
])
def test_aws_trail_increment_keeps_full_scan_verdict(aws: AwsAccount, store: Store, queue_url: str,
                                                     tmp_path: Path, services: tuple[str, ...], status: Status,
                                                     reason: str) -> None:
    rule_path = tmp_path / "rules.yaml"
    rule_path.write_text(TRAIL_RULE_FILE)
    account = AwsAccount(aws.endpoint, [*load_rule_files([rule_path]), *builtin_rules()])
    s3, cloudtrail, sqs = aws.client("s3"), aws.client("cloudtrail"), aws.client("sqs")
    s3.create_bucket(Bucket="trail-logs")
    trail_arn = cloudtrail.create_trail(Name="org-trail", S3BucketName="trail-logs")["TrailARN"]
    running = start_watcher(account, store, queue_url, services=services)
    try:
        scanned = newest_findings(store, TRAIL_RULE)
        assert scanned[trail_arn].status is status
        assert reason in scanned[trail_arn].message

        cloudtrail.start_logging(Name="org-trail")
        sqs.send_message(QueueUrl=queue_url, MessageBody=cloudtrail_event(
            "cloudtrail.amazonaws.com", "StartLogging", {"name": "org-trail"}))
        wait_until(lambda: increments(running.watcher) == 1, what="the increment of the trail")

        # Before the watcher's index had the coverage, the absent bucket made this a FAIL (`missing: false`).
        judged = newest_findings(store, TRAIL_RULE)
        assert judged[trail_arn].status is status
        assert judged[trail_arn].message == scanned[trail_arn].message

        # The same account scanned afresh with the same services gives the same findings, among them those
        # of the built-in rules that look up the trail's bucket.
        newest = store.list_scans(limit=1)[0]
        assert_same_verdicts(store.load_findings(newest.id), account.scan(services).findings)
    finally:
        running.stop()


# Folders of exports: each increment against a fresh `scan file` of the same files -------------------

def assert_increment_matches_fresh_scan(watch: FolderWatch, folder: Path, provider: str) -> dict[str, Finding]:
    """Check every finding of the newest increment against a fresh import; return the lookup rule's findings."""
    newest = watch.store.list_scans(limit=1)[0]
    judged = watch.store.load_findings(newest.id)
    imported = import_provider(folder, provider)
    assert imported.collection is not None
    assert_same_verdicts(judged, evaluate_collection(imported.collection, builtin_rules(), store=None).findings)
    lookup_rule = DNS_RULE if provider == "gcp" else WATCHER_RULE
    return {finding.resource_id: finding for finding in judged if finding.rule_id == lookup_rule}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "exports"
    path.mkdir()
    return path


def cai_asset(asset_type: str, path: str, data: dict[str, Any]) -> dict[str, Any]:
    """Return one RESOURCE line of `gcloud asset export` in the project."""
    service = asset_type.split("/", 1)[0]
    return {"name": f"//{service}/projects/{PROJECT}/{path}", "asset_type": asset_type,
            "ancestors": [f"projects/{PROJECT_NUMBER}", "organizations/42"], "update_time": "2024-05-01T10:00:00Z",
            "resource": {"version": "v1", "discovery_name": asset_type.rsplit("/", 1)[-1], "location": "global",
                         "parent": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}", "data": data}}


def network_line(name: str, description: str = "") -> dict[str, Any]:
    return cai_asset("compute.googleapis.com/Network", f"global/networks/{name}",
                     network_data(name, description=description))


def dns_lines(*, policy_for: str | None) -> list[dict[str, Any]]:
    """Return a managed zone, and a logging DNS server policy of the network `policy_for` unless it is None."""
    lines = [cai_asset("dns.googleapis.com/ManagedZone", "managedZones/corp",
                       {"name": "corp", "dnsName": "corp.example.com.", "visibility": "private"})]
    if policy_for is not None:
        url = network_data(policy_for)["selfLink"]
        lines.append(cai_asset("dns.googleapis.com/Policy", "policies/query-logs",
                               {"name": "query-logs", "enableLogging": True, "networks": [{"networkUrl": url}]}))
    return lines


def test_gcp_folder_increments_match_fresh_scan(folder: Path, store: Store) -> None:
    # A compute-only export: it does not show whether the project has DNS server policies.
    write_lines(folder / "compute.jsonl", [project_asset(), network_line("vpc-a"), network_line("vpc-b")])
    watch = FolderWatch(folder, store)
    watcher = watch.watchers["gcp"]
    try:
        scanned = newest_findings(store, DNS_RULE)
        assert {finding.status for finding in scanned.values()} == {Status.ERROR}
        assert all(f"the imported files hold no dns resources of project {PROJECT}" in finding.message
                   for finding in scanned.values())

        # vpc-a changes: judged again, still unknown.
        write_lines(folder / "compute.jsonl", [project_asset(), network_line("vpc-a", "changed"),
                                               network_line("vpc-b")])
        wait_until(lambda: increments(watcher) == 1, what="the increment of vpc-a")
        judged = assert_increment_matches_fresh_scan(watch, folder, "gcp")
        assert judged[network_id("vpc-a")].status is Status.ERROR

        # A DNS export with a managed zone and no policy: policies may have been left out, so still unknown,
        # for the reason a fresh scan gives, although no network changed.
        write_lines(folder / "dns.jsonl", dns_lines(policy_for=None))
        wait_until(lambda: increments(watcher) == 2, what="the increment of the managed zone")
        judged = assert_increment_matches_fresh_scan(watch, folder, "gcp")
        assert sorted(judged) == [network_id("vpc-a"), network_id("vpc-b")]
        assert all("not in the imported files" in finding.message for finding in judged.values())

        # The DNS export with a server policy of vpc-a: the dns service was read, so vpc-b's absence is real.
        write_lines(folder / "dns.jsonl", dns_lines(policy_for="vpc-a"))
        wait_until(lambda: increments(watcher) == 3, what="the increment of the DNS policy")
        judged = assert_increment_matches_fresh_scan(watch, folder, "gcp")
        assert judged[network_id("vpc-a")].status is Status.PASS
        assert judged[network_id("vpc-b")].status is Status.FAIL
    finally:
        watch.stop()


def vnet_id(name: str) -> str:
    return f"{GROUP}/providers/Microsoft.Network/virtualNetworks/{name}"


def vnet_row(name: str, location: str, prefix: str = "10.0.0.0/16") -> dict[str, Any]:
    """A virtual network row of `az graph query`."""
    return {"id": vnet_id(name), "name": name, "type": "microsoft.network/virtualnetworks", "location": location,
            "subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-shop", "tags": {},
            "properties": {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": [prefix]},
                           "subnets": []}}


def network_watcher_row(location: str) -> dict[str, Any]:
    """A Network Watcher row of `az graph query`, in the resource group that Azure creates for them."""
    name = f"NetworkWatcher_{location}"
    return {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/"
                  f"networkWatchers/{name}",
            "name": name, "type": "microsoft.network/networkwatchers", "location": location,
            "subscriptionId": SUBSCRIPTION, "resourceGroup": "NetworkWatcherRG", "tags": {},
            "properties": {"provisioningState": "Succeeded"}}


def write_graph_rows(folder: Path, rows: list[dict[str, Any]]) -> None:
    write_gz(folder / "graph-page-1.json.gz", graph_page(rows, len(rows)))


def test_azure_folder_increments_match_fresh_scan(folder: Path, store: Store) -> None:
    write_graph_rows(folder, [vnet_row("vnet-weu", "westeurope"), vnet_row("vnet-neu", "northeurope")])
    watch = FolderWatch(folder, store)
    watcher = watch.watchers["azure"]
    try:
        # The page set has no Network Watcher: the query may have left them out, so both are unknown.
        scanned = newest_findings(store, WATCHER_RULE)
        assert {finding.status for finding in scanned.values()} == {Status.ERROR}

        # vnet-neu changes: judged again, still unknown (`missing: true` would make it FAIL).
        vnets = [vnet_row("vnet-weu", "westeurope"), vnet_row("vnet-neu", "northeurope", "10.1.0.0/16")]
        write_graph_rows(folder, vnets)
        wait_until(lambda: increments(watcher) == 1, what="the increment of vnet-neu")
        judged = assert_increment_matches_fresh_scan(watch, folder, "azure")
        assert judged[vnet_id("vnet-neu")].status is Status.ERROR

        # A Network Watcher in westeurope: its type is now read, so northeurope's absence is real.
        write_graph_rows(folder, [*vnets, network_watcher_row("westeurope")])
        wait_until(lambda: increments(watcher) == 2, what="the increment of the first Network Watcher")
        judged = assert_increment_matches_fresh_scan(watch, folder, "azure")
        assert judged[vnet_id("vnet-weu")].status is Status.PASS
        assert judged[vnet_id("vnet-neu")].status is Status.FAIL

        # A Network Watcher in northeurope: the virtual network there, which did not change, passes now.
        write_graph_rows(folder, [*vnets, network_watcher_row("westeurope"), network_watcher_row("northeurope")])
        wait_until(lambda: increments(watcher) == 3, what="the increment of the second Network Watcher")
        judged = assert_increment_matches_fresh_scan(watch, folder, "azure")
        assert judged[vnet_id("vnet-neu")].status is Status.PASS
    finally:
        watch.stop()
