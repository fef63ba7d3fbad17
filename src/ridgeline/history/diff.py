"""The difference between two stored scans: resources added, removed and changed, findings opened and resolved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ridgeline.history.collected import CoverageIndex
from ridgeline.history.snapshot import load_snapshot
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store, StoredScan

COMPARED_FIELDS = ("name", "configuration", "supplementaryConfiguration", "tags", "relationships")
"""Envelope fields compared; collection time, source and read errors are bookkeeping, not configuration."""

_MISSING = object()


@dataclass(slots=True)
class ValueChange:
    """One configuration path whose value differs; `kind` is "added", "removed" or "changed"."""

    path: str
    kind: str
    old: Any = None
    new: Any = None


@dataclass(slots=True)
class ResourceRef:
    """The identity of a resource in a diff."""

    type: str
    id: str
    name: str
    account: str
    region: str


@dataclass(slots=True)
class ResourceChange:
    """A resource present in both scans whose configuration differs."""

    resource: ResourceRef
    changes: list[ValueChange]
    unknown_paths: list[str] = field(default_factory=list)
    """Paths that one of the scans could not read; their differences are not reported."""


@dataclass(slots=True)
class UnknownFinding:
    """A finding failing in the old scan whose fix the new scan could not confirm."""

    finding: Finding
    reason: str


@dataclass(slots=True)
class ScanDiff:
    """Everything that differs between an old and a new scan."""

    old: StoredScan
    new: StoredScan
    added: list[ResourceRef] = field(default_factory=list)
    removed: list[ResourceRef] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    opened: list[Finding] = field(default_factory=list)
    """FAIL in the new scan, not FAIL (or absent) in the old one."""
    resolved: list[Finding] = field(default_factory=list)
    """FAIL in the old scan, PASS or gone in the new one, which collected it completely (old findings)."""
    unknown: list[UnknownFinding] = field(default_factory=list)
    """FAIL in the old scan and not FAIL in the new one, but not collected completely (old findings)."""


def diff_scans(store: Store, old_id: str, new_id: str, rules: Sequence[Rule]) -> ScanDiff:
    """Compare two stored scans; `rules` map findings to the services whose coverage decides "resolved".

    An increment of the watcher is compared as the snapshot it completes (its base with the increments
    up to it applied).
    """
    old, new = load_snapshot(store, old_id), load_snapshot(store, new_id)

    result = ScanDiff(old=old.scan, new=new.scan)
    _diff_resources(old.resources, new.resources, result)
    index = CoverageIndex(new.coverage, {rule.id: rule.service for rule in rules}, new.scan.regions)
    _diff_findings(old.findings, new.findings, index, result)
    return result


def diff_values(old: Any, new: Any, path: str = "") -> list[ValueChange]:
    """Return the paths where two JSON values differ, such as `supplementaryConfiguration.BucketPolicy.policyText`.

    Lists are compared by position, so an inserted item also shows every later item as changed.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[ValueChange] = []
        for key in sorted(set(old) | set(new), key=str):
            child = _join(path, str(key))
            changes.extend(_diff_child(old.get(key, _MISSING), new.get(key, _MISSING), child))
        return changes

    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for position in range(max(len(old), len(new))):
            child = f"{path}[{position}]"
            old_item = old[position] if position < len(old) else _MISSING
            new_item = new[position] if position < len(new) else _MISSING
            changes.extend(_diff_child(old_item, new_item, child))
        return changes

    if old == new and type(old) is type(new):
        return []
    return [ValueChange(path=path, kind="changed", old=old, new=new)]


def _diff_child(old: Any, new: Any, path: str) -> list[ValueChange]:
    if old is _MISSING:
        return [ValueChange(path=path, kind="added", new=new)]
    if new is _MISSING:
        return [ValueChange(path=path, kind="removed", old=old)]
    return diff_values(old, new, path)


def _join(path: str, key: str) -> str:
    # Keys with dots or brackets (tag keys such as "app.tier") are quoted so the path stays readable.
    segment = f'["{key}"]' if any(character in key for character in '.[]"') else key
    if segment.startswith("["):
        return f"{path}{segment}"
    return f"{path}.{segment}" if path else segment


def _key(resource: Resource) -> tuple[str, str, str, str]:
    return (resource.account, resource.region, resource.type, resource.id)


def _ref(resource: Resource) -> ResourceRef:
    return ResourceRef(type=resource.type, id=resource.id, name=resource.name, account=resource.account,
                       region=resource.region)


def _diff_resources(old: Sequence[Resource], new: Sequence[Resource], result: ScanDiff) -> None:
    old_by_key = {_key(resource): resource for resource in old}
    new_by_key = {_key(resource): resource for resource in new}

    result.added = [_ref(new_by_key[key]) for key in sorted(new_by_key.keys() - old_by_key.keys())]
    result.removed = [_ref(old_by_key[key]) for key in sorted(old_by_key.keys() - new_by_key.keys())]

    for key in sorted(old_by_key.keys() & new_by_key.keys()):
        before, after = old_by_key[key].to_dict(), new_by_key[key].to_dict()
        unknown = sorted(set(before["errors"]) | set(after["errors"]))
        changes = [
            change
            for name in COMPARED_FIELDS
            for change in diff_values(before[name], after[name], name)
            if not _under_any(change.path, unknown)
        ]
        if changes:
            result.changed.append(ResourceChange(resource=_ref(new_by_key[key]), changes=changes,
                                                 unknown_paths=unknown))


def _under_any(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == prefix or path.startswith((prefix + ".", prefix + "[")) for prefix in prefixes)


def _diff_findings(old: Sequence[Finding], new: Sequence[Finding], index: CoverageIndex, result: ScanDiff) -> None:
    old_by_id: Mapping[str, Finding] = {finding.id: finding for finding in old}
    new_by_id: Mapping[str, Finding] = {finding.id: finding for finding in new}

    for finding_id, finding in sorted(new_by_id.items()):
        before = old_by_id.get(finding_id)
        if finding.status is Status.FAIL and (before is None or before.status is not Status.FAIL):
            result.opened.append(finding)

    for finding_id, finding in sorted(old_by_id.items()):
        if finding.status is not Status.FAIL:
            continue
        after = new_by_id.get(finding_id)
        # Still failing, or failing but muted now: neither opened nor resolved.
        if after is not None and after.status in (Status.FAIL, Status.MUTED):
            continue
        if after is not None and after.status is Status.ERROR:
            result.unknown.append(UnknownFinding(finding, f"not assessed in the new scan: {after.message}"))
            continue
        reason = index.incomplete_reason(finding.rule_id, finding.account, finding.region, finding.resource_type)
        if reason is None:
            result.resolved.append(finding)
        else:
            result.unknown.append(UnknownFinding(finding, f"not collected completely: {reason}"))


def diff_to_dict(diff: ScanDiff) -> dict[str, Any]:
    """Return JSON-ready data of a diff."""
    def finding(item: Finding) -> dict[str, Any]:
        return {"finding_id": item.id, "rule_id": item.rule_id, "status": item.status.value,
                "severity": item.severity.value, "account": item.account, "region": item.region,
                "resource_id": item.resource_id, "resource_type": item.resource_type,
                "resource_name": item.resource_name, "message": item.message}

    def resource(ref: ResourceRef) -> dict[str, Any]:
        return {"type": ref.type, "id": ref.id, "name": ref.name, "account": ref.account, "region": ref.region}

    return {
        "old_scan": {"id": diff.old.id, "started_at": diff.old.started_at},
        "new_scan": {"id": diff.new.id, "started_at": diff.new.started_at},
        "resources": {
            "added": [resource(ref) for ref in diff.added],
            "removed": [resource(ref) for ref in diff.removed],
            "changed": [
                {**resource(change.resource), "unknown_paths": change.unknown_paths,
                 "changes": [{"path": c.path, "kind": c.kind, "old": c.old, "new": c.new} for c in change.changes]}
                for change in diff.changed
            ],
        },
        "findings": {
            "opened": [finding(item) for item in diff.opened],
            "resolved": [finding(item) for item in diff.resolved],
            "unknown": [{**finding(item.finding), "reason": item.reason} for item in diff.unknown],
        },
    }
