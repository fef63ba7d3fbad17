"""Increments: the partial life-cycle update, snapshots put together from increments, and which rules re-run."""

from __future__ import annotations

import json

from ridgeline.history.diff import diff_scans
from ridgeline.history.lifecycle import PartialScope, update_lifecycle
from ridgeline.history.snapshot import IncrementInfo, load_snapshot
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Remediation, Rule
from ridgeline.store.database import Store, StoredScan
from ridgeline.watch.increment import IncrementalEvaluator
from ridgeline.watch.state import Base, LiveState

ACCOUNT = "123456789012"
RULE = Rule(id="aws-s3-test", title="t", severity=Severity.HIGH, category="encryption", provider="aws",
            service="s3", resource_types=("AWS::S3::Bucket",), description="d", risk="r",
            remediation=Remediation(text="fix"))
UNITS = [Coverage(provider="aws", account=ACCOUNT, region="global", service="s3")]


def scan(number: int, options: dict[str, object] | None = None) -> StoredScan:
    return StoredScan(id=f"scan-{number}", provider="aws", started_at=f"2025-03-01T10:00:0{number}+00:00",
                      finished_at=f"2025-03-01T10:00:0{number}+00:00", accounts=[ACCOUNT], regions=["us-east-1"],
                      complete=True, api_calls=0, duration_s=0.0, options=options or {})


def bucket(name: str, policy: str | None = None) -> Resource:
    return Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::S3::Bucket",
                    id=f"arn:aws:s3:::{name}", name=name, supplementary={"BucketPolicy": {"policyText": policy}})


def finding(name: str, status: Status) -> Finding:
    return Finding(rule_id=RULE.id, status=status, severity=Severity.HIGH, category="encryption", provider="aws",
                   account=ACCOUNT, region="us-east-1", resource_id=f"arn:aws:s3:::{name}",
                   resource_type="AWS::S3::Bucket", resource_name=name, message="m")


def states(store: Store) -> dict[str, str]:
    return {state.resource_id.rsplit(":", 1)[-1]: state.state for state in store.load_finding_states("aws", [ACCOUNT])}


def full(store: Store, number: int, findings: list[Finding], resources: list[Resource]) -> StoredScan:
    stored = scan(number)
    store.save_scan(stored, UNITS, resources, findings)
    update_lifecycle(store, stored, findings, UNITS, [RULE])
    return stored


def increment(store: Store, number: int, info: IncrementInfo, findings: list[Finding], resources: list[Resource],
              scope: PartialScope) -> StoredScan:
    stored = scan(number, info.to_options())
    store.save_scan(stored, UNITS, resources, findings)
    update_lifecycle(store, stored, findings, UNITS, [RULE], partial=scope)
    return stored


def test_partial_update_changes_only_assessed(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/db.sqlite")
    full(store, 1, [finding(name, Status.FAIL) for name in ("a", "b", "c")], [bucket("a"), bucket("b"), bucket("c")])
    assert states(store) == {"a": "new", "b": "new", "c": "new"}

    # "a" was collected again and passes; "b" is known deleted; "c" was not looked at.
    scope = PartialScope(assessed=frozenset({(RULE.id, "arn:aws:s3:::a")}), gone=frozenset({"arn:aws:s3:::b"}))
    info = IncrementInfo(base_scan_id="scan-1", sequence=1, recollected=("arn:aws:s3:::a",),
                         removed=("arn:aws:s3:::b",))
    increment(store, 2, info, [finding("a", Status.PASS)], [bucket("a")], scope)
    assert states(store) == {"a": "resolved", "b": "resolved", "c": "new"}


def test_partial_update_keeps_open_without_collection(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/db.sqlite")
    full(store, 1, [finding("a", Status.FAIL)], [bucket("a")])
    # Assessed, but not failing and no finding at all (rule no longer applies), in a partial unit.
    partial_units = [Coverage(provider="aws", account=ACCOUNT, region="global", service="s3",
                              status=Completeness.PARTIAL)]
    stored = scan(2, IncrementInfo(base_scan_id="scan-1", sequence=1).to_options())
    store.save_scan(stored, partial_units, [], [])
    update = update_lifecycle(store, stored, [], partial_units, [RULE],
                              partial=PartialScope(assessed=frozenset({(RULE.id, "arn:aws:s3:::a")})))
    assert states(store) == {"a": "open"}
    assert [item.resource_id for item in update.kept_open] == ["arn:aws:s3:::a"]


def test_snapshot_and_diff_of_increments(tmp_path: object) -> None:
    store = Store(f"sqlite:///{tmp_path}/db.sqlite")
    full(store, 1, [finding("a", Status.FAIL), finding("b", Status.PASS)], [bucket("a", "x"), bucket("b")])
    first = increment(store, 2, IncrementInfo("scan-1", 1, recollected=("arn:aws:s3:::a",)),
                      [finding("a", Status.PASS)], [bucket("a", "y")],
                      PartialScope(assessed=frozenset({(RULE.id, "arn:aws:s3:::a")})))
    second = increment(store, 3, IncrementInfo("scan-1", 2, removed=("arn:aws:s3:::b",)), [], [],
                       PartialScope(gone=frozenset({"arn:aws:s3:::b"})))

    snapshot = load_snapshot(store, first.id)
    assert sorted(resource.name for resource in snapshot.resources) == ["a", "b"]
    assert {item.resource_name: item.status for item in snapshot.findings} == {"a": Status.PASS, "b": Status.PASS}
    assert sorted(resource.name for resource in load_snapshot(store, second.id).resources) == ["a"]

    # An increment diffs against its predecessor like any scan: only what it changed shows.
    diff = diff_scans(store, "scan-1", first.id, [RULE])
    assert [change.resource.name for change in diff.changed] == ["a"]
    assert [item.resource_name for item in diff.resolved] == ["a"]
    assert diff.added == []
    assert diff.removed == []
    diff = diff_scans(store, first.id, second.id, [RULE])
    assert [ref.name for ref in diff.removed] == ["b"]
    assert diff.changed == []


def rules_for_account_block() -> list[Rule]:
    from ridgeline.rules.loader import load_builtin_rules

    return [rule for rule in load_builtin_rules() if rule.service == "s3"]


def test_account_block_change_reevaluates_buckets() -> None:
    rules = rules_for_account_block()
    public = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::p/*"}]})
    resources = [bucket("p", public), bucket("q"),
                 Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::S3::AccountPublicAccessBlock",
                          id=ACCOUNT, name=ACCOUNT, configuration={"restrictPublicBuckets": False})]
    state = LiveState("aws", [ACCOUNT], ["us-east-1"], resources, UNITS, Base("scan-1"))
    evaluator = IncrementalEvaluator(rules)

    block = Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::S3::AccountPublicAccessBlock",
                     id=ACCOUNT, name=ACCOUNT, configuration={"restrictPublicBuckets": True})
    state.upsert(block)
    result = evaluator.evaluate(state, [block], {block.type}, {ACCOUNT})

    policy_findings = {item.resource_name: item.status for item in result.findings
                       if item.rule_id == "aws-s3-bucket-policy-public"}
    assert policy_findings == {"p": Status.PASS, "q": Status.PASS}
    assert ("aws-s3-bucket-policy-public", "arn:aws:s3:::p") in result.assessed
    # The same rules on the same state, evaluated whole, agree.
    whole = Engine(rules).evaluate(list(state.resources.values()), UNITS)
    by_key = {(item.rule_id, item.resource_id): item.status for item in whole}
    for item in result.findings:
        assert by_key[(item.rule_id, item.resource_id)] == item.status, item.rule_id


def test_unrelated_change_leaves_other_buckets() -> None:
    rules = rules_for_account_block()
    state = LiveState("aws", [ACCOUNT], ["us-east-1"], [bucket("p"), bucket("q")], UNITS, Base("scan-1"))
    changed = bucket("p", "{}")
    state.upsert(changed)
    result = IncrementalEvaluator(rules).evaluate(state, [changed], {changed.type}, {ACCOUNT})
    assert {resource_id for _rule, resource_id in result.assessed} <= {"arn:aws:s3:::p", f"aws:{ACCOUNT}"}
    assert "arn:aws:s3:::q" not in {item.resource_id for item in result.findings}


def test_live_index_forgets_removed() -> None:
    state = LiveState("aws", [ACCOUNT], ["us-east-1"], [bucket("p"), bucket("q")], UNITS, Base("scan-1"))
    removed = state.remove_id("arn:aws:s3:::p")
    assert [resource.name for resource in removed] == ["p"]
    assert [resource.name for resource in state.index.by_type["AWS::S3::Bucket"]] == ["q"]
    assert state.index.find("AWS::S3::Bucket", bucket("x"), "name_from", "p") is None
    assert state.find(ACCOUNT, "AWS::S3::Bucket", "q")[0].name == "q"
    replaced = state.upsert(bucket("q", "{}"))
    assert replaced is not None and len(state.index.by_type["AWS::S3::Bucket"]) == 1


def test_org_policy_change_rejudges_projects() -> None:
    # A hierarchical firewall policy belongs to the organisation's account. The VPC rules it hides are in
    # the projects below it, which the policy's change event does not name.
    from ridgeline.rules.loader import load_builtin_rules

    rules = [rule for rule in load_builtin_rules() if rule.id == "gcp-compute-firewall-ssh-internet"]
    ancestors = {"p1": ["projects/1", "organizations/9"], "p2": ["projects/2", "organizations/9"]}
    firewalls = [Resource(provider="gcp", account=project, region="global", type="compute.googleapis.com/Firewall",
                          id=f"//compute.googleapis.com/projects/{project}/global/firewalls/ssh", name="ssh",
                          configuration={"name": "ssh", "network": f"projects/{project}/global/networks/vpc",
                                         "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                                         "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]},
                          supplementary={"ancestors": ancestors[project]}) for project in ("p1", "p2")]
    organization = Resource(provider="gcp", account="organizations/9", region="global",
                            type="cloudresourcemanager.googleapis.com/Organization",
                            id="//cloudresourcemanager.googleapis.com/organizations/9", name="example.com",
                            configuration={"name": "organizations/9"})
    units = [Coverage(provider="gcp", account=account, region="global", service=service)
             for account in ("p1", "p2", "organizations/9") for service in ("compute", "organization")]
    state = LiveState("gcp", ["p1", "p2"], [], [*firewalls, organization], units, Base("scan-1"))

    policy = Resource(provider="gcp", account="organizations/9", region="global",
                      type="compute.googleapis.com/FirewallPolicy",
                      id="//compute.googleapis.com/locations/global/firewallPolicies/5", name="baseline",
                      configuration={"name": "5", "shortName": "baseline", "parent": "organizations/9",
                                     "associations": [{"attachmentTarget": "organizations/9"}],
                                     "rules": [{"priority": 10, "action": "deny", "direction": "INGRESS",
                                                "match": {"srcIpRanges": ["0.0.0.0/0"],
                                                          "layer4Configs": [{"ipProtocol": "all"}]}}]})
    state.upsert(policy)
    result = IncrementalEvaluator(rules).evaluate(state, [policy], {policy.type}, {"organizations/9"})

    verdicts = {item.account: item.status for item in result.findings if item.rule_id == rules[0].id}
    assert verdicts == {"p1": Status.PASS, "p2": Status.PASS}
