"""One scan from collected resources to stored findings: evaluate, store, summarise."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ridgeline.compliance.model import Posture
from ridgeline.model.finding import Finding, Status
from ridgeline.model.scan import Completeness
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store, StoredScan
from ridgeline.suppress import Suppression, SuppressionReport, apply_suppressions

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class ScanResult:
    """A finished scan: what was collected, what the rules found, and the rules themselves."""

    scan: StoredScan
    collection: Collection
    findings: list[Finding]
    rules: dict[str, Rule] = field(default_factory=dict)
    postures: list[Posture] = field(default_factory=list)
    """Compliance posture per framework the user asked for (empty when none was requested)."""
    suppression_report: SuppressionReport | None = None
    """The outcome of applying suppressions (None when the scan had no suppression file)."""

    @property
    def complete(self) -> bool:
        """Tell whether every unit was collected completely."""
        return self.scan.complete


def evaluate_collection(
    collection: Collection,
    rules: Sequence[Rule],
    *,
    store: Store | None,
    options: dict[str, Any] | None = None,
    suppressions: Sequence[Suppression] | None = None,
) -> ScanResult:
    """Evaluate `rules` over a collection, mute what `suppressions` cover, and save the scan (when a store is given).

    Suppressions expire by the scan's finish date (UTC).
    """
    finished = datetime.now(UTC)
    started = finished - timedelta(seconds=collection.duration_s)
    engine = Engine(rules)
    findings = engine.evaluate(collection.resources, collection.coverage)
    suppression_report = None
    if suppressions is not None:
        suppression_report = apply_suppressions(findings, collection.resources, suppressions, today=finished.date())
    findings.sort(key=lambda f: (-f.severity.rank, f.status is not Status.FAIL, f.rule_id, f.resource_id))

    scan = StoredScan(
        id=str(uuid.uuid4()),
        provider=collection.provider,
        started_at=started.isoformat(timespec="seconds"),
        finished_at=finished.isoformat(timespec="seconds"),
        accounts=collection.accounts,
        regions=collection.regions,
        complete=all(unit.status is Completeness.COMPLETE for unit in collection.coverage),
        api_calls=collection.api_calls,
        duration_s=round(collection.duration_s, 3),
        options=options or {},
    )
    if store is not None:
        store.save_scan(scan, collection.coverage, collection.resources, findings)
    return ScanResult(scan=scan, collection=collection, findings=findings, rules=engine.rules_by_id,
                      suppression_report=suppression_report)
