"""Snapshots of an account: a stored full scan, or a full scan with the watcher's increments applied.

The watcher stores each change it applies as an increment: a scan row that contains only the resources it
collected again and their findings. Its options name its base (the full scan it builds on), its place in
the chain, the resources it collected again and those it saw deleted. `load_snapshot` puts a base and its
increments together, so an increment reads like any other scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ridgeline.model.finding import Finding
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.store.database import Store, StoredScan

WATCH_OPTION = "watch"
"""Key of the scan options under which an increment records how it was made."""


@dataclass(frozen=True, slots=True)
class IncrementInfo:
    """The relation of an increment to its base full scan."""

    base_scan_id: str
    sequence: int
    """Position in the chain of increments of the same base, from 1."""

    recollected: tuple[str, ...] = ()
    """Ids of the resources collected again; their findings in the base are replaced."""

    removed: tuple[str, ...] = ()
    """Ids of the resources known deleted."""

    whole_units: tuple[tuple[str, str], ...] = ()
    """(service, region) units collected again whole, whose coverage replaces the base's."""

    def to_options(self, **extra: Any) -> dict[str, Any]:
        """Return the scan options that record this increment, with `extra` entries."""
        return {WATCH_OPTION: {"mode": "increment", "base_scan_id": self.base_scan_id, "sequence": self.sequence,
                               "recollected": list(self.recollected), "removed": list(self.removed),
                               "whole_units": [list(unit) for unit in self.whole_units], **extra}}


def increment_info(scan: StoredScan) -> IncrementInfo | None:
    """Return the increment details of a scan, or None for a full scan."""
    watch = scan.options.get(WATCH_OPTION)
    if not isinstance(watch, dict) or watch.get("mode") != "increment":
        return None
    return IncrementInfo(
        base_scan_id=str(watch["base_scan_id"]),
        sequence=int(watch.get("sequence", 0)),
        recollected=tuple(str(item) for item in watch.get("recollected", [])),
        removed=tuple(str(item) for item in watch.get("removed", [])),
        whole_units=tuple((str(unit[0]), str(unit[1])) for unit in watch.get("whole_units", [])),
    )


@dataclass(slots=True)
class Snapshot:
    """The resources, findings and coverage of an account as of one stored scan."""

    scan: StoredScan
    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    base: StoredScan | None = None
    """The full scan an increment builds on; None for a full scan."""


def load_snapshot(store: Store, scan_id: str) -> Snapshot:
    """Return the snapshot as of `scan_id`: the scan itself, or its base with its increments up to it applied.

    Raises KeyError when the scan or the base of an increment is not in the store.
    """
    scan = store.get_scan(scan_id)
    if scan is None:
        raise KeyError(scan_id)
    info = increment_info(scan)
    if info is None:
        return Snapshot(scan=scan, resources=store.load_resources(scan_id), findings=store.load_findings(scan_id),
                        coverage=store.load_coverage(scan_id))

    base = store.get_scan(info.base_scan_id)
    if base is None:
        raise KeyError(info.base_scan_id)
    resources = {_key(resource): resource for resource in store.load_resources(base.id)}
    findings = {finding.id: finding for finding in store.load_findings(base.id)}
    coverage = {(unit.account, unit.region, unit.service): unit for unit in store.load_coverage(base.id)}

    for step, step_info in increments_of(store, base, up_to=info.sequence):
        apply_increment(resources, findings, coverage, step_info, store.load_resources(step.id),
                        store.load_findings(step.id), store.load_coverage(step.id))
    return Snapshot(scan=scan, resources=list(resources.values()), findings=list(findings.values()),
                    coverage=sorted(coverage.values(), key=lambda unit: (unit.account, unit.service, unit.region)),
                    base=base)


def increments_of(store: Store, base: StoredScan, up_to: int | None = None) -> list[tuple[StoredScan, IncrementInfo]]:
    """Return the increments stored on `base` (up to sequence `up_to`), in the order they were applied."""
    chain = []
    for candidate in store.scans_since(base.provider, base.started_at):
        info = increment_info(candidate)
        if info is None or info.base_scan_id != base.id or (up_to is not None and info.sequence > up_to):
            continue
        chain.append((candidate, info))
    chain.sort(key=lambda item: item[1].sequence)
    return chain


def apply_increment(resources: dict[tuple[str, str, str, str], Resource], findings: dict[str, Finding],
                    coverage: dict[tuple[str, str, str], Coverage], info: IncrementInfo,
                    new_resources: Sequence[Resource], new_findings: Sequence[Finding],
                    new_coverage: Sequence[Coverage]) -> None:
    """Apply one increment to a snapshot's resources, findings and coverage, in place."""
    dropped = set(info.recollected) | set(info.removed)
    for key in [key for key, resource in resources.items() if resource.id in dropped]:
        del resources[key]
    for resource in new_resources:
        resources[_key(resource)] = resource

    # The increment evaluated every rule of the resources it collected again, so their old findings go.
    for finding_id in [finding_id for finding_id, finding in findings.items() if finding.resource_id in dropped]:
        del findings[finding_id]
    for finding in new_findings:
        findings[finding.id] = finding

    whole = set(info.whole_units)
    for unit in new_coverage:
        if (unit.service, unit.region) in whole:
            coverage[(unit.account, unit.region, unit.service)] = unit


def _key(resource: Resource) -> tuple[str, str, str, str]:
    return (resource.account, resource.region, resource.type, resource.id)
