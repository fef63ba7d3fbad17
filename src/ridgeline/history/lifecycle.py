"""The life cycle of each finding across scans: new, open, resolved, reopened.

A finding is resolved only by a scan that collected its (account, region, service) completely: a PASS
or a vanished resource in a partial, failed or missing unit may only mean "could not look".

An increment of the watcher (`PartialScope`) re-collects a few resources only. It changes the findings it
assessed and resolves those of resources it saw deleted; every other finding keeps its state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ridgeline.history.collected import CoverageIndex
from ridgeline.model.finding import Finding, Status
from ridgeline.model.scan import ACCOUNT_SCOPE_TYPE, Coverage, scope_resource_id
from ridgeline.rules.model import Rule
from ridgeline.store.database import FindingState, OutboxRow, Store, StoredScan

logger = logging.getLogger(__name__)


class State(StrEnum):
    """Life-cycle state of a finding."""

    NEW = "new"
    """Failing in this scan and never seen failing before."""
    OPEN = "open"
    """Failing (or MUTED) again, or kept open because the scan could not confirm a fix."""
    RESOLVED = "resolved"
    """PASS, or the resource is gone, in a scan that collected its unit completely."""
    REOPENED = "reopened"
    """Failing again after it was resolved."""


ACTIVE_STATES = frozenset({State.NEW, State.OPEN, State.REOPENED})
_FAILING = frozenset({Status.FAIL, Status.MUTED})


@dataclass(slots=True)
class KeptOpen:
    """A finding that the scan did not show failing but could not resolve, with the reason."""

    finding_id: str
    rule_id: str
    resource_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PartialScope:
    """The findings an increment assessed, so that findings outside it are left unchanged."""

    assessed: frozenset[tuple[str, str]] = frozenset()
    """(rule id, resource id) pairs the increment evaluated, whatever the result."""

    gone: frozenset[str] = frozenset()
    """Ids of resources the increment saw deleted: their active findings resolve."""


@dataclass(slots=True)
class LifecycleUpdate:
    """The changes one scan made: finding ids per new state, and the findings kept open."""

    new: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    kept_open: list[KeptOpen] = field(default_factory=list)
    """Findings not failing now that stay open because their collection was incomplete."""
    states: dict[str, FindingState] = field(default_factory=dict)
    """The saved rows, by finding id."""


def update_lifecycle(store: Store, scan: StoredScan, findings: Sequence[Finding], coverage: Sequence[Coverage],
                     rules: Sequence[Rule], *, partial: PartialScope | None = None) -> LifecycleUpdate:
    """Move the findings of the scan's provider and accounts through their life cycle, and save the states.

    Call it once per scan, after the scan is saved, in the order the scans ran. Findings of accounts
    that the scan did not include are left as they are. With `partial`, only the findings it names
    can change, besides those in `findings`.
    """
    update = plan_lifecycle(store, scan, findings, coverage, rules, partial=partial)
    save_lifecycle(store, scan, update)
    return update


def plan_lifecycle(store: Store, scan: StoredScan, findings: Sequence[Finding], coverage: Sequence[Coverage],
                   rules: Sequence[Rule], *, partial: PartialScope | None = None) -> LifecycleUpdate:
    """Compute the changes `update_lifecycle` makes, without saving them. `save_lifecycle` saves them.

    The split lets a caller store what the changes produce (notifications) in the same transaction.
    """
    if partial is None:
        loaded = store.load_finding_states(scan.provider, scan.accounts)
    else:
        # An increment reads only the rows of the resources it touched, so its cost follows the change.
        touched = {finding.resource_id for finding in findings} | set(partial.gone)
        touched |= {resource_id for _rule_id, resource_id in partial.assessed}
        loaded = store.load_finding_states(scan.provider, scan.accounts, resource_ids=touched)
    previous = {state.finding_id: state for state in loaded}
    index = CoverageIndex(coverage, {rule.id: rule.service for rule in rules}, scan.regions)
    update = LifecycleUpdate()
    changed: list[FindingState] = []
    seen: set[str] = set()

    for finding in findings:
        seen.add(finding.id)
        state = previous.get(finding.id)
        if finding.status in _FAILING:
            changed.append(_record_failing(finding, state, scan, update))
        elif state is not None and State(state.state) in ACTIVE_STATES:
            reason = _error_reason(finding) or index.incomplete_reason(
                finding.rule_id, finding.account, finding.region, finding.resource_type)
            changed.append(_record_not_failing(state, scan, reason, update))

    # Active findings whose resource (or rule result) is absent from this scan.
    for finding_id, state in previous.items():
        if finding_id in seen or State(state.state) not in ACTIVE_STATES:
            continue
        if partial is not None:
            if state.resource_id in partial.gone:
                # The resource was deleted, which is known, unlike a resource that was not looked at.
                changed.append(_record_not_failing(state, scan, None, update))
                continue
            if (state.rule_id, state.resource_id) not in partial.assessed:
                continue
        is_account_scope = state.resource_id == scope_resource_id(state.provider, state.account)
        reason = index.incomplete_reason(state.rule_id, state.account, state.region,
                                         ACCOUNT_SCOPE_TYPE if is_account_scope else "")
        changed.append(_record_not_failing(state, scan, reason, update))

    update.states = {state.finding_id: state for state in changed}
    return update


def save_lifecycle(store: Store, scan: StoredScan, update: LifecycleUpdate, outbox: Sequence[OutboxRow] = ()) -> None:
    """Save the states of a planned update, and the `outbox` rows it produced, in one transaction."""
    store.save_finding_states(list(update.states.values()), outbox=outbox)
    logger.info("scan %s life cycle: %d new, %d open, %d reopened, %d resolved, %d kept open (incomplete collection)",
                scan.id, len(update.new), len(update.open), len(update.reopened), len(update.resolved),
                len(update.kept_open))


def _record_failing(finding: Finding, state: FindingState | None, scan: StoredScan,
                    update: LifecycleUpdate) -> FindingState:
    muted = finding.status is Status.MUTED
    if state is None:
        update.new.append(finding.id)
        return FindingState(finding_id=finding.id, rule_id=finding.rule_id, resource_id=finding.resource_id,
                            provider=finding.provider, account=finding.account, region=finding.region,
                            state=State.NEW.value, muted=muted, first_seen=scan.finished_at,
                            last_seen=scan.finished_at, resolved_at=None, last_scan_id=scan.id)

    if State(state.state) is State.RESOLVED:
        update.reopened.append(finding.id)
        next_state = State.REOPENED
    else:
        update.open.append(finding.id)
        next_state = State.OPEN
    state.state = next_state.value
    state.muted = muted
    state.last_seen = scan.finished_at
    state.resolved_at = None
    state.last_scan_id = scan.id
    return state


def _record_not_failing(state: FindingState, scan: StoredScan, incomplete_reason: str | None,
                        update: LifecycleUpdate) -> FindingState:
    if incomplete_reason is None:
        update.resolved.append(state.finding_id)
        state.state = State.RESOLVED.value
        state.resolved_at = scan.finished_at
    else:
        # Not seen failing, but not seen fixed either: it is no longer new, and stays open.
        update.kept_open.append(KeptOpen(finding_id=state.finding_id, rule_id=state.rule_id,
                                         resource_id=state.resource_id, reason=incomplete_reason))
        state.state = State.OPEN.value
    state.last_scan_id = scan.id
    return state


def _error_reason(finding: Finding) -> str | None:
    if finding.status is Status.ERROR:
        return f"not assessed in this scan: {finding.message}"
    return None
