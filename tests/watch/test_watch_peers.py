"""Increments judge again the resources that a changed resource is a peer of, as a full scan would.

A check function that takes `peers` judges a resource together with every resource of its type in its
account. `gcp.firewall_internet_ports` weighs the deny rules of a VPC firewall rule's network: a deny rule
of a lower priority number hides what an allow rule of the same network admits. Adding, disabling or
deleting a deny rule therefore changes the verdicts of allow rules that no event names, and each increment
must give the findings of a fresh full scan (or import) of the same state.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ridgeline.history.snapshot import load_snapshot
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.conditions import AllNode, CheckNode, CountNode, ItemsNode, Node, NotNode, RelatedNode
from ridgeline.rules.loader import load_rule_files
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store
from ridgeline.watch.backends import GcpBackend
from ridgeline.watch.events import ReceivedMessage
from ridgeline.watch.files import import_provider
from ridgeline.watch.gcp import AssetFeedParser, asset_resource
from ridgeline.watch.increment import IncrementalEvaluator
from ridgeline.watch.state import Base, LiveState
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.watch.conftest import wait_until
from tests.watch.test_watch_file_formats import PROJECT, PROJECT_NUMBER, FolderWatch, project_asset, write_lines
from tests.watch.test_watch_lookup_coverage import builtin_rules, cai_asset, increments
from tests.watch.test_watch_rescan import ListSource

FIREWALL_TYPE = "compute.googleapis.com/Firewall"


@dataclass(frozen=True)
class Exposure:
    """A built-in rule on VPC firewall rules that admit a port from the internet."""

    rule_id: str
    port: str
    protocols: tuple[str, ...]


SSH = Exposure("gcp-compute-firewall-ssh-internet", "22", ("tcp",))
RDP = Exposure("gcp-compute-firewall-rdp-internet", "3389", ("tcp", "udp"))
EXPOSURES = [pytest.param(SSH, id="ssh"), pytest.param(RDP, id="rdp")]

ALLOW = "allow-admin"
"""An allow rule of network `default` that admits the port from 0.0.0.0/0, which the deny rule hides."""

LEGACY = "allow-admin-legacy"
"""The same allow rule in network `legacy`, which the deny rule of `default` does not hide."""

WEB = "allow-web"
"""An allow rule of HTTPS from 0.0.0.0/0, which never fails the rule."""

DENY = "deny-admin"
"""A deny rule of network `default`, of a lower priority number than ALLOW's, for the same port and source."""


def firewall_id(name: str) -> str:
    return f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/{name}"


def firewall_data(name: str, protocols: tuple[str, ...], port: str, *, deny: bool = False, network: str = "default",
                  priority: int = 1000, disabled: bool = False) -> dict[str, Any]:
    """Return the data of a VPC firewall rule of ingress from 0.0.0.0/0, in the Compute API's shape."""
    entries = [{"IPProtocol": protocol, "ports": [port]} for protocol in protocols]
    return {"name": name, "network": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/{network}",
            "priority": priority, "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"], "disabled": disabled,
            "denied" if deny else "allowed": entries, "logConfig": {"enable": False},
            "selfLink": f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/firewalls/{name}"}


def starting_firewalls(exposure: Exposure) -> dict[str, dict[str, Any]]:
    """Return the firewall rules of the project before any deny rule, by name."""
    return {ALLOW: firewall_data(ALLOW, exposure.protocols, exposure.port),
            LEGACY: firewall_data(LEGACY, exposure.protocols, exposure.port, network="legacy"),
            WEB: firewall_data(WEB, ("tcp",), "443")}


def deny_data(exposure: Exposure, *, disabled: bool = False) -> dict[str, Any]:
    return firewall_data(DENY, exposure.protocols, exposure.port, deny=True, priority=100, disabled=disabled)


def finding_states(store: Store, rule_id: str) -> dict[str, str]:
    """Return the life-cycle state of each finding of `rule_id` in the project, by firewall rule name."""
    return {row.resource_id.rsplit("/", 1)[-1]: row.state for row in store.load_finding_states("gcp", [PROJECT])
            if row.rule_id == rule_id}


def verdicts(findings: list[Finding]) -> dict[tuple[str, str], tuple[Status, str]]:
    return {(finding.rule_id, finding.resource_id): (finding.status, finding.message) for finding in findings}


def assert_snapshot_matches(store: Store, fresh: list[Finding], exposure: Exposure, states: dict[str, str]) -> None:
    """Check the findings as of the newest increment against a fresh scan, and the life cycle of the rule's findings."""
    newest = store.list_scans(limit=1)[0]
    judged = store.load_findings(newest.id)
    # The increment judged the allow rules again, although the event named only the deny rule.
    assert (exposure.rule_id, firewall_id(ALLOW)) in verdicts(judged)
    assert verdicts(load_snapshot(store, newest.id).findings) == verdicts(fresh)
    assert finding_states(store, exposure.rule_id) == states


# GCP feed messages ------------------------------------------------------------------------------------

def feed_asset(data: dict[str, Any]) -> dict[str, Any]:
    """Return a firewall rule's asset as a Cloud Asset Inventory feed carries it."""
    return {"name": firewall_id(data["name"]), "assetType": FIREWALL_TYPE, "ancestors": [f"projects/{PROJECT_NUMBER}"],
            "resource": {"version": "v1", "discoveryName": "Firewall", "location": "global",
                         "parent": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}", "data": data}}


def feed(data: dict[str, Any], *, deleted: bool = False) -> str:
    return json.dumps({"asset": feed_asset(data), "priorAssetState": "PRESENT", "deleted": deleted,
                       "window": {"startTime": "2026-12-04T10:00:00Z"}})


def scanned_collection(firewalls: dict[str, dict[str, Any]]) -> Collection:
    """Return what a full scan of the project reads: its firewall rules, named by project id as the scan does."""
    resources = []
    for data in firewalls.values():
        resource = asset_resource(feed_asset(data), "gcp-scan")
        resource.account = PROJECT
        resources.append(resource)
    coverage = [Coverage(provider="gcp", account=PROJECT, region="global", service="compute")]
    return Collection(provider="gcp", accounts=[PROJECT], regions=["global"], resources=resources, coverage=coverage)


class ScannedFirewalls(GcpBackend):
    """A GcpBackend whose full scan returns the firewall rules of `firewalls` instead of calling GCP."""

    def __init__(self, firewalls: dict[str, dict[str, Any]]) -> None:
        super().__init__(type("Options", (), {"projects": [PROJECT]})())
        self.firewalls = firewalls

    def full_scan(self) -> Collection:
        self._ids_by_number[PROJECT_NUMBER] = PROJECT
        return scanned_collection(self.firewalls)


@pytest.mark.parametrize("exposure", EXPOSURES)
def test_gcp_feed_deny_rule_rejudges_allow_rules(tmp_path: Path, store: Store, exposure: Exposure) -> None:
    firewalls = starting_firewalls(exposure)
    source = ListSource()
    watcher = Watcher(ScannedFirewalls(dict(firewalls)), store, builtin_rules(), source=source,
                      parser=AssetFeedParser(), settings=WatchSettings(coalesce_window=0.1, receive_wait=0.2))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()

    def apply(body: str, count: int, what: str) -> list[Finding]:
        """Send one feed message, wait for its increment, and return a fresh full scan of the new state."""
        with source.lock:
            source.pending.append(ReceivedMessage(f"m-{count}", body, receipt=f"m-{count}"))
        wait_until(lambda: increments(watcher) == count, what=what)
        return evaluate_collection(scanned_collection(firewalls), builtin_rules(), store=None).findings

    try:
        wait_until(watcher.ready.is_set, what="the initial scan")
        assert finding_states(store, exposure.rule_id) == {ALLOW: "new", LEGACY: "new"}

        firewalls[DENY] = deny_data(exposure)
        fresh = apply(feed(firewalls[DENY]), 1, "the increment of the new deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "resolved", LEGACY: "open"})

        firewalls[DENY] = deny_data(exposure, disabled=True)
        fresh = apply(feed(firewalls[DENY]), 2, "the increment of the disabled deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "reopened", LEGACY: "open"})

        firewalls[DENY] = deny_data(exposure)
        fresh = apply(feed(firewalls[DENY]), 3, "the increment of the enabled deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "resolved", LEGACY: "open"})

        deleted = firewalls.pop(DENY)
        fresh = apply(feed(deleted, deleted=True), 4, "the increment of the deleted deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "reopened", LEGACY: "open"})
    finally:
        watcher.stop()
        thread.join(30)
    assert not thread.is_alive(), "the watcher did not stop within 30 s"


# `ridgeline watch file` on Cloud Asset Inventory exports ----------------------------------------------

def write_firewalls(folder: Path, firewalls: dict[str, dict[str, Any]]) -> None:
    """Write the export of the project and its firewall rules, as `gcloud asset export` writes RESOURCE lines."""
    lines = [cai_asset(FIREWALL_TYPE, f"global/firewalls/{name}", data) for name, data in firewalls.items()]
    write_lines(folder / "compute.jsonl", [project_asset(), *lines])


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "exports"
    path.mkdir()
    return path


@pytest.mark.parametrize("exposure", EXPOSURES)
def test_gcp_folder_deny_rule_rejudges_allow_rules(folder: Path, store: Store, exposure: Exposure) -> None:
    firewalls = starting_firewalls(exposure)
    write_firewalls(folder, firewalls)
    # Older than the quiet period, so the first import is complete. A partial one would make the next import
    # judge every resource again, which would hide a missed peer on the first change.
    settled = time.time() - 60
    os.utime(folder / "compute.jsonl", (settled, settled))
    watch = FolderWatch(folder, store)
    watcher = watch.watchers["gcp"]

    def apply(count: int, what: str) -> list[Finding]:
        """Write the export of `firewalls`, wait for its increment, and return a fresh import of the folder."""
        write_firewalls(folder, firewalls)
        wait_until(lambda: increments(watcher) == count, what=what)
        imported = import_provider(folder, "gcp")
        assert imported.collection is not None
        return evaluate_collection(imported.collection, builtin_rules(), store=None).findings

    try:
        assert finding_states(store, exposure.rule_id) == {ALLOW: "new", LEGACY: "new"}

        firewalls[DENY] = deny_data(exposure)
        fresh = apply(1, "the increment of the new deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "resolved", LEGACY: "open"})

        firewalls[DENY] = deny_data(exposure, disabled=True)
        fresh = apply(2, "the increment of the disabled deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "reopened", LEGACY: "open"})

        firewalls[DENY] = deny_data(exposure)
        fresh = apply(3, "the increment of the enabled deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "resolved", LEGACY: "open"})

        # The deny rule is left out of a complete export of the project's compute assets: it is gone.
        del firewalls[DENY]
        fresh = apply(4, "the increment of the deleted deny rule")
        assert_snapshot_matches(store, fresh, exposure, {ALLOW: "reopened", LEGACY: "open"})
    finally:
        watch.stop()


# Every built-in rule that takes peers, on the evaluator ---------------------------------------------

def takes_peers(node: Node | None) -> bool:
    """Tell whether a condition calls a check function that takes `peers`, anywhere in it."""
    if node is None:
        return False
    if isinstance(node, CheckNode):
        return "peers" in node.function.literal_args
    if isinstance(node, AllNode):
        return any(takes_peers(child) for child in node.children)
    if isinstance(node, NotNode):
        return takes_peers(node.child)
    if isinstance(node, ItemsNode | RelatedNode | CountNode):
        return takes_peers(node.where)
    return False


def peers_rules() -> list[Rule]:
    return [rule for rule in builtin_rules()
            if any(takes_peers(root) for root in (rule.fail_if, rule.require_one, rule.applies_if))]


def test_builtin_peers_rules_found() -> None:
    # The firewall rules above are among them, and the test below covers any other.
    assert {rule.id for rule in peers_rules()} >= {SSH.rule_id, RDP.rule_id}


OTHER_RULE = "test-path-rule-without-peers"


def rule_without_peers(tmp_path: Path, rule: Rule) -> Rule:
    """Return a rule on the same type and service as `rule` whose condition reads only the resource itself."""
    path = tmp_path / "rules.yaml"
    path.write_text(f"""
rules:
  - id: {OTHER_RULE}
    provider: {rule.provider}
    service: {rule.service}
    resource_types: [{rule.resource_types[0]}]
    title: The resource is marked
    severity: low
    category: {rule.category}
    fail_if: {{path: configuration.marked, equals: true}}
    description: A marked resource.
    risk: None.
    remediation:
      text: Remove the mark.
""")
    [loaded] = load_rule_files([path])
    return loaded


@pytest.mark.parametrize("rule", peers_rules(), ids=lambda rule: rule.id)
def test_peers_rule_rejudged_in_changed_account(tmp_path: Path, rule: Rule) -> None:
    type_name = rule.resource_types[0]

    def resource(account: str, name: str) -> Resource:
        return Resource(provider=rule.provider, account=account, region="global", type=type_name,
                        id=f"{account}/{name}", name=name, configuration={"name": name})

    changed, peer, elsewhere = resource("acct-a", "changed"), resource("acct-a", "peer"), resource("acct-b", "other")
    units = [Coverage(provider=rule.provider, account=account, region="global", service=rule.service)
             for account in ("acct-a", "acct-b")]
    state = LiveState(rule.provider, ["acct-a", "acct-b"], ["global"], [changed, peer, elsewhere], units, Base("s-1"))
    evaluator = IncrementalEvaluator([rule, rule_without_peers(tmp_path, rule)])

    # A change in acct-a, in a batch that also changed something in acct-b.
    result = evaluator.evaluate(state, [changed], {type_name}, {"acct-a", "acct-b"})
    assert (rule.id, changed.id) in result.assessed
    assert (rule.id, peer.id) in result.assessed
    assert (rule.id, elsewhere.id) not in result.assessed
    assert (OTHER_RULE, changed.id) in result.assessed
    assert (OTHER_RULE, peer.id) not in result.assessed

    # The deletion of a resource of the type judges its peers again.
    state.remove_id(changed.id)
    result = evaluator.evaluate(state, [], {type_name}, {"acct-a"}, gone=[changed])
    assert result.assessed == {(rule.id, peer.id)}
