"""One scan from collected resources to stored findings: evaluate, store, summarise."""

from __future__ import annotations

import logging
import operator
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ridgeline.compliance.model import Posture
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness
from ridgeline.providers.aws.scanner import Collection
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store, StoredScan
from ridgeline.suppress import Suppression, SuppressionReport, apply_suppressions

if TYPE_CHECKING:
    from ridgeline.imports.collection import ImportResult

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
    engine = Engine(rules)
    findings = engine.evaluate(collection.resources, collection.coverage)
    return conclude_scan(collection, findings, engine, store=store, options=options, suppressions=suppressions)


def conclude_scan(
    collection: Collection,
    findings: list[Finding],
    engine: Engine,
    *,
    store: Store | None,
    options: dict[str, Any] | None = None,
    suppressions: Sequence[Suppression] | None = None,
    stored_resources: Iterable[Resource] | None = None,
) -> ScanResult:
    """Mute what `suppressions` cover in the findings of a collection, sort them, and save the scan (with a store).

    The store saves `stored_resources` when given (the whole resources of a streamed import, whose
    collection contains them without their bodies), else the collection's resources.
    """
    finished = datetime.now(UTC)
    started = finished - timedelta(seconds=collection.duration_s)
    suppression_report = None
    if suppressions is not None:
        suppression_report = apply_suppressions(findings, collection.resources, suppressions, today=finished.date())
    sort_findings(findings)

    scan = StoredScan(
        id=str(uuid.uuid4()),
        provider=collection.provider,
        started_at=started.isoformat(timespec="microseconds"),
        finished_at=finished.isoformat(timespec="microseconds"),
        accounts=collection.accounts,
        regions=collection.regions,
        complete=all(unit.status is Completeness.COMPLETE for unit in collection.coverage),
        api_calls=collection.api_calls,
        duration_s=round(collection.duration_s, 3),
        options=options or {},
    )
    if store is not None:
        resources = collection.resources if stored_resources is None else stored_resources
        store.save_scan(scan, collection.coverage, resources, findings)
    return ScanResult(scan=scan, collection=collection, findings=findings, rules=engine.rules_by_id,
                      suppression_report=suppression_report)


def sort_findings(findings: list[Finding]) -> None:
    """Sort findings by severity (most urgent first), FAIL before the others, rule id and resource id.

    Three stable sorts from the last key to the first give the order of one sort by the tuple of the
    keys, without building a tuple per finding: a scan of a large import has millions of findings.
    """
    findings.sort(key=_RESOURCE_ID)
    findings.sort(key=_RULE_ID)
    findings.sort(key=lambda finding: -2 * finding.severity.rank + (finding.status is not Status.FAIL))


# Sort keys in C: a lambda per key would call Python once per finding and sort.
_RESOURCE_ID = operator.attrgetter("resource_id")
_RULE_ID = operator.attrgetter("rule_id")


@dataclass(slots=True)
class FileScans:
    """The scans of one `ridgeline scan file`: one per provider in the files, and the import's report."""

    results: list[ScanResult]
    imported: ImportResult
    """The import: its report, each file's format, and the collections of `results`."""

    streamed: dict[str, bool] = field(default_factory=dict)
    """Provider -> whether its files were evaluated while read (see `ridgeline.imports.evaluate`)."""


def evaluate_files(
    sources: Iterable[str | Path],
    rules: Sequence[Rule],
    *,
    options: Callable[[str], dict[str, Any]] | None = None,
    suppressions: Sequence[Suppression] | None = None,
    store: Store | None = None,
) -> FileScans:
    """Import inventory files and judge each provider's resources as one scan, saved when `store` is given.

    The files are evaluated while they are read, so memory does not grow with the export, and the scans'
    collections hold each resource without its body (see `import_and_evaluate`). A stored scan still
    saves every resource whole: they wait in a temporary file until the evaluation is over. `options`
    returns the scan options of a provider. Raises FileNotFoundError when a source does not exist.
    """
    from ridgeline.imports.evaluate import import_and_evaluate

    engine = Engine(rules)
    # Tag matchers of suppressions read the resources' tags, so those stay when there are suppressions.
    evaluated = import_and_evaluate(sources, engine, keep_tags=suppressions is not None, spool=store is not None)
    try:
        results = [conclude_scan(collection, evaluated.findings[collection.provider], engine, store=store,
                                 options=options(collection.provider) if options else None,
                                 suppressions=suppressions,
                                 stored_resources=evaluated.full_resources.get(collection.provider))
                   for collection in evaluated.result.collections]
    finally:
        evaluated.close()
    return FileScans(results=results, imported=evaluated.result, streamed=evaluated.streamed)
