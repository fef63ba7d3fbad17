"""Import inventory files and evaluate the rules in the same pass, as `ridgeline scan file` does.

`import_files` returns every resource at once. Evaluation needs far less, so Azure and Cloud Asset
Inventory files are streamed through a `StreamingEvaluation`: each resource is judged as soon as the
importer has finished it, and then dropped. Only what rules look up, and what waits for facts known at
the end of the import, is kept. A scan that is stored must save every resource whole, so with `spool`
they also go to a temporary file (`ResourceSpool`) and are read back when the scan is saved.

When the files need a merge that streaming cannot reproduce (a resource given twice, where the later
one replaces the earlier), that provider's files are imported whole instead, with the same result.
AWS Config files are always imported whole.
"""

from __future__ import annotations

import gc
import logging
import time
from collections import abc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ridgeline.imports.azure_arm import iter_azure_files, stream_azure_files
from ridgeline.imports.collection import (
    FOLDER_FILE_SKIPPED,
    PROVIDER_ORDER,
    ImportResult,
    ProjectIds,
    build_collection,
    catalogue_coverage_of_counts,
    detect_formats,
    mark_gcp_not_exported,
    mark_gcp_not_imported,
    mark_gcp_policy_unknown,
    mark_incomplete,
    mark_unread_items,
    name_gcp_projects_by_id,
    read_aws,
    readable_twice,
)
from ridgeline.imports.detect import Format
from ridgeline.imports.gcp_cai import iter_gcp_cai_files, stream_gcp_cai_files
from ridgeline.imports.report import ImportIssue, ImportReport
from ridgeline.imports.sources import InputFile, iter_input_files
from ridgeline.imports.spool import ResourceSpool
from ridgeline.imports.streaming import NotStreamable, StreamingEvaluation
from ridgeline.model.finding import Finding
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.scanner import Collection
from ridgeline.providers.azure import catalog as azure_catalog
from ridgeline.providers.gcp import catalog as gcp_catalog
from ridgeline.rules.engine import Engine

logger = logging.getLogger(__name__)

_NO_BODY: dict[str, Any] = {}
"""The one empty mapping that every body field of a bodiless resource refers to; nothing may change it."""

_NO_RELATIONSHIPS: list[dict[str, Any]] = []


@dataclass(slots=True)
class EvaluatedImport:
    """The import, with each provider's findings (neither muted nor sorted yet)."""

    result: ImportResult
    """Its collections hold bodiless resources for streamed providers (see `import_and_evaluate`)."""

    findings: dict[str, list[Finding]] = field(default_factory=dict)
    streamed: dict[str, bool] = field(default_factory=dict)
    """Provider -> whether its files were streamed (False: imported whole)."""

    full_resources: dict[str, abc.Iterable[Resource]] = field(default_factory=dict)
    """Provider -> every resource whole, for the store (only with `spool`): a `ResourceSpool` for streamed
    providers, the collection's own list for the others. Call `close` when done with them."""

    def close(self) -> None:
        """Delete the spool files."""
        for resources in self.full_resources.values():
            if isinstance(resources, ResourceSpool):
                resources.close()


def import_and_evaluate(sources: Iterable[str | Path], engine: Engine, *, keep_tags: bool = False,
                        spool: bool = False) -> EvaluatedImport:
    """Read inventory files as `import_files` does and evaluate `engine`'s rules, streaming where possible.

    The collections of streamed providers hold each resource without its body (configuration,
    supplementary, relationships and errors are one shared empty value, and tags too unless
    `keep_tags`), which is enough for counts and tag suppressions but not for the store. With `spool`,
    `full_resources` gives every resource whole for the store, from a temporary file for streamed
    providers. Raises FileNotFoundError when a source does not exist, before any file is read.
    """
    started = time.monotonic()
    outcome = EvaluatedImport(result=ImportResult())
    result = outcome.result
    left_out: list[str] = []
    files = [input_file for source in sources for input_file in iter_input_files(source, left_out)]

    for _ in left_out:
        result.report.count(result.report.skipped, FOLDER_FILE_SKIPPED)
    with readable_twice(files) as readable, _collector_paused():
        by_format = detect_formats(readable, result)
        unreadable_files = list(result.report.errors)
        evaluated: dict[str, tuple[Collection, list[Finding]]] = {}
        issues: dict[str, list[ImportIssue]] = {}
        if by_format[Format.AWS_CONFIG]:
            first = len(result.report.errors)
            resources = read_aws(by_format[Format.AWS_CONFIG], result.report)
            issues["aws"] = result.report.errors[first:]
            if resources:
                collection = build_collection("aws", resources, result.report)
                evaluated["aws"] = (collection, engine.evaluate(collection.resources, collection.coverage))
                if spool:
                    outcome.full_resources["aws"] = collection.resources

        for file_format in (Format.AZURE, Format.GCP_CAI):
            provider = file_format.provider
            provider_files = [input_file for input_file, _ in by_format[file_format]]
            if not provider_files:
                continue
            report = ImportReport()
            resource_spool = ResourceSpool() if spool else None
            try:
                part = _stream(provider, provider_files, engine, report, keep_tags=keep_tags, spool=resource_spool)
                outcome.streamed[provider] = True
                if resource_spool is not None:
                    outcome.full_resources[provider] = resource_spool
            except NotStreamable as reason:
                # The findings are the same either way, and copies that differ are reported as duplicates, so
                # this only explains the time and memory that reading whole takes.
                logger.info("import: reading the %s files whole, because %s", provider, reason)
                if resource_spool is not None:
                    resource_spool.close()
                report = ImportReport()
                part = _whole(provider, provider_files, engine, report)
                outcome.streamed[provider] = False
                if spool and part is not None:
                    outcome.full_resources[provider] = part[0].resources
            _add_report(result.report, report)
            issues[provider] = list(report.errors)
            if part is not None:
                evaluated[provider] = part

    duration = time.monotonic() - started
    for provider in PROVIDER_ORDER:
        if provider in evaluated:
            collection, findings = evaluated[provider]
            collection.duration_s = duration
            # After the evaluation: a partial unit changes no finding, only which findings may be resolved.
            mark_unread_items(collection, [*unreadable_files, *issues.get(provider, [])])
            result.collections.append(collection)
            outcome.findings[provider] = findings
    return outcome


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the block runs, then restore its previous state.

    The import keeps millions of objects until its end (findings, resource ids), and every full
    collection walks all of them: with the collector running, a generated 100,000-asset export took 6.3 s
    of CPU time instead of 4.7 s. Parsed JSON has no reference cycles, so pausing does not let memory grow.

    The objects that survive the block are then frozen (moved out of the collector's generations). Else
    the first collection after it would still walk all of them once, about 7% of a 100,000-asset import.
    Reference counting frees frozen objects as usual; only a reference cycle among them would stay.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def _whole(provider: str, files: Sequence[InputFile], engine: Engine,
           report: ImportReport) -> tuple[Collection, list[Finding]] | None:
    """Import one provider's files whole, as `import_files` does, and evaluate them."""
    if provider == "azure":
        resources = list(iter_azure_files(files, report))
    else:
        resources = list(iter_gcp_cai_files(files, report))
        name_gcp_projects_by_id(resources)
        mark_gcp_not_imported(resources, report)
    if not resources:
        return None
    collection = build_collection(provider, resources, report)
    return collection, engine.evaluate(collection.resources, collection.coverage)


def _stream(provider: str, files: Sequence[InputFile], engine: Engine, report: ImportReport, *,
            keep_tags: bool, spool: ResourceSpool | None = None) -> tuple[Collection, list[Finding]] | None:
    """Import and evaluate one provider's files in one pass; raise NotStreamable when that cannot be exact."""
    catalog: Any = azure_catalog if provider == "azure" else gcp_catalog
    # GCP accounts may still be renamed at the end, from project numbers to project ids.
    evaluation = StreamingEvaluation(engine, provider, service_of=catalog.service_of,
                                     accounts_final=provider != "gcp")
    tally = _Tally(provider, evaluation, report, keep_tags=keep_tags, spool=spool)

    accounts: dict[str, str] = {}
    settle = None
    if provider == "azure":
        stream_azure_files(files, report, tally)
    else:
        any_policy = stream_gcp_cai_files(files, report, tally)
        accounts = tally.project_ids()
        if not any_policy:
            tally.count_unknown_policies()
            settle = _policy_unknown
    if not tally.resources:
        return None

    tally.rename_accounts(accounts)
    coverage = catalogue_coverage_of_counts(provider, tally.counts, catalog.services(), catalog.service_of)
    mark_incomplete(coverage, report.incomplete)
    findings = evaluation.finish(coverage, accounts=accounts, settle=settle)
    if spool is not None:
        spool.settle(accounts=accounts, settle=settle)

    collection = Collection(
        provider=provider,
        accounts=sorted({resource.account for resource in tally.resources}),
        regions=sorted({resource.region for resource in tally.resources if resource.region != "global"}),
        resources=tally.resources,
        coverage=coverage,
    )
    return collection, findings


def _policy_unknown(resource: Resource) -> None:
    mark_gcp_policy_unknown(resource, None)


class _Tally:
    """Counts what coverage needs of each streamed resource, keeps it bodiless, and passes it on to evaluation."""

    def __init__(self, provider: str, evaluation: StreamingEvaluation, report: ImportReport, *,
                 keep_tags: bool, spool: ResourceSpool | None = None) -> None:
        self.provider = provider
        self.spool = spool
        self.evaluation = evaluation
        self.report = report
        self.keep_tags = keep_tags
        self.resources: list[Resource] = []
        self.counts: dict[tuple[str, str], int] = {}
        self._shared_text: dict[str, str] = {}
        self._catalogued: dict[str, int] = {}
        self._projects = ProjectIds()

    def add(self, resource: Resource, *, order: Any, unsettled: abc.Collection[str] = ()) -> None:
        """Count, keep bodiless and evaluate one finished resource."""
        # Each resource brings its own copy of these few distinct values. Findings and bodiless resources
        # keep them, so sharing one copy saves memory in proportion to the export.
        shared = self._shared_text.setdefault
        resource.account = shared(resource.account, resource.account)
        resource.region = shared(resource.region, resource.region)
        resource.type = shared(resource.type, resource.type)
        resource.source = shared(resource.source, resource.source)
        if self.provider == "gcp":
            self._note_gcp(resource, order)
        key = (resource.account, resource.type)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        self.resources.append(self._bodiless(resource))
        if self.spool is not None:
            self.spool.write(resource)
        self.evaluation.add(resource, order=order, unsettled=unsettled)

    def prune(self, resource: Resource) -> Resource:
        """Return the copy of a resource that the importer keeps until the end of the import."""
        if self.spool is not None:
            # The store needs the whole resource, and a parent that children may still fold into reaches
            # `add` only at the end: it waits whole, which costs memory in proportion to such parents.
            return resource
        return self.evaluation.prune(resource)

    def project_ids(self) -> dict[str, str]:
        """Return project number -> project id, as `name_gcp_projects_by_id` finds them."""
        return self._projects.mapping()

    def count_unknown_policies(self) -> None:
        """Count every catalogued resource's IAM policy as not imported, as `mark_gcp_not_imported` does."""
        for type_name, count in self._catalogued.items():
            key = f"{type_name} iamPolicy"
            self.report.not_imported[key] = self.report.not_imported.get(key, 0) + count

    def rename_accounts(self, accounts: dict[str, str]) -> None:
        """Rename the accounts of the bodiless resources and of the counts."""
        if not accounts:
            return
        for resource in self.resources:
            resource.account = accounts.get(resource.account, resource.account)
        counts: dict[tuple[str, str], int] = {}
        for (account, type_name), count in self.counts.items():
            key = (accounts.get(account, account), type_name)
            counts[key] = counts.get(key, 0) + count
        self.counts = counts

    def _note_gcp(self, resource: Resource, order: Any) -> None:
        mark_gcp_not_exported(resource, self.report)
        if resource.type in gcp_catalog.TYPES_BY_NAME:
            self._catalogued[resource.type] = self._catalogued.get(resource.type, 0) + 1

        self._projects.note(resource, order)

    def _bodiless(self, resource: Resource) -> Resource:
        return Resource(provider=resource.provider, account=resource.account, region=resource.region,
                        type=resource.type, id=resource.id, name=resource.name, configuration=_NO_BODY,
                        supplementary=_NO_BODY, tags=resource.tags if self.keep_tags else _NO_BODY,
                        relationships=_NO_RELATIONSHIPS, errors=_NO_BODY, source=resource.source)


def _add_report(total: ImportReport, part: ImportReport) -> None:
    """Add the counts and errors of one provider's import to the report of the whole import."""
    for name in ("imported", "skipped", "folded", "not_imported"):
        counter: dict[str, int] = getattr(total, name)
        for key, count in getattr(part, name).items():
            counter[key] = counter.get(key, 0) + count
    total.errors.extend(part.errors)
    total.duplicates.extend(part.duplicates)
    total.warnings.extend(part.warnings)
    total.incomplete.update(part.incomplete)
