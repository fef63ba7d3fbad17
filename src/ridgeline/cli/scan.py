"""`ridgeline scan aws`, `ridgeline scan file` and `ridgeline demo`: collect or import, evaluate, store, report.

Each provider's resources are judged as a scan of their own, because the store, the finding life cycle
and the summary are per provider. A command that reads several providers runs one scan per provider and
applies the --fail-on gate to all of them together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ridgeline.cli.common import (
    EXIT_GATE,
    EXIT_SETUP,
    load_rules,
    output_options,
    parse_formats,
    split_list,
)
from ridgeline.compliance.loader import FrameworkFileErrors, UnknownFrameworkError, find_framework, load_frameworks
from ridgeline.compliance.model import Framework
from ridgeline.compliance.posture import add_failing_since, compute_posture, first_seen_times
from ridgeline.compliance.render import summary_line
from ridgeline.demo.run import CLOUDS as DEMO_CLOUDS
from ridgeline.history.lifecycle import update_lifecycle
from ridgeline.model.finding import Severity, Status
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import ScanResult, evaluate_collection, evaluate_files
from ridgeline.providers.aws.scanner import (
    AwsScanOptions,
    Collection,
    ScanSetupError,
    collect_aws,
    select_collectors,
)
from ridgeline.report import write_reports
from ridgeline.report.terminal import print_next_steps, print_summary
from ridgeline.report.text import terminal_safe
from ridgeline.rules.model import Rule
from ridgeline.store.database import DEMO_DATABASE_FILE, Store, default_database_url, demo_database_url
from ridgeline.suppress import Suppression, SuppressionErrors, load_suppressions
from ridgeline.suppress.terminal import print_suppression_report

if TYPE_CHECKING:
    from ridgeline.imports.collection import ImportResult

PROVIDER_TITLES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}

_ISSUES_SHOWN = 20
"""Import errors printed before the rest are only counted."""


@click.group()
def scan() -> None:
    """Scan a cloud account."""

@scan.command("aws")
@click.option("--profile", help="AWS shared-config profile (default: the standard credential chain).")
@click.option("--role-arn", help="Assume this IAM role for the scan.")
@click.option("--external-id", help="External id for --role-arn.")
@click.option("--regions", help="Comma-separated regions [default: every region enabled for the account].")
@click.option("--services", help="Comma-separated services to scan [default: all]; see `ridgeline rules list`.")
@output_options
def scan_aws(profile: str | None, role_arn: str | None, external_id: str | None, regions: str | None,
             services: str | None, **report_options: Any) -> None:
    """Scan an AWS account through its read-only APIs.

    Credentials come from the standard chain (environment, --profile, SSO, instance or container
    roles). AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> point the scan at another endpoint.
    """
    options = AwsScanOptions(profile=profile, role_arn=role_arn, external_id=external_id,
                             regions=split_list(regions), services=split_list(services))
    run_aws_scan(options, **report_options)


@scan.command("file")
@click.argument("paths", nargs=-1, required=True)
@output_options
def scan_file(paths: tuple[str, ...], **report_options: Any) -> None:
    """Judge inventory exports without API access: AWS, Azure and GCP, mixed as you like.

    \b
    Reads:
    - AWS Config snapshot and history files, API items and advanced query results;
    - Cloud Asset Inventory exports (`gcloud asset export`, `gcloud asset list --format=json`);
    - Azure Resource Graph results (`az graph query`, REST) and Resource Manager JSON
      (`az resource show`, arrays, `{"value": [...]}` list responses, JSON lines).

    Each file's format is recognised from its content, and each provider is judged as its own scan.

    PATHS are files, folders (read recursively), .gz files, or - for standard input. A malformed file or
    item is reported with its name and position, and every valid item is still judged.
    """
    run_file_scan(paths, **report_options)


def run_file_scan(paths: Sequence[str], **report_options: Any) -> None:
    """Import and judge inventory files in one pass, store and report each provider's scan, then exit with the gate.

    The files are evaluated while they are read (`evaluate_files`), so memory does not grow with the
    export; a stored scan keeps the whole resources in a temporary file until it saves them.
    """
    settings = prepare_scans(**report_options)
    if settings.database_url is not None:
        settings.store = Store(settings.database_url)

    def scan_options(provider: str) -> dict[str, Any]:
        frameworks = _frameworks_of(settings, provider)
        return {"sources": list(paths), "compliance": [framework.id for framework in frameworks]}

    try:
        scans = evaluate_files(paths, settings.rules, options=scan_options, suppressions=settings.suppressions,
                               store=settings.store)
    except FileNotFoundError as error:
        settings.errors.print(f"[red]error:[/red] {terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    print_import_report(scans.imported, settings.errors, sources=len(paths), rules=settings.rules)
    if not scans.results:
        settings.errors.print("[red]error:[/red] no resource could be imported from the given files", soft_wrap=True)
        raise SystemExit(EXIT_SETUP)

    for result in scans.results:
        if len(scans.results) > 1:
            settings.console.rule(f"[bold]{PROVIDER_TITLES.get(result.scan.provider, result.scan.provider)}[/bold]")
        report_scan(settings, result)
    finish_scans(settings, scans.results)


def print_import_report(result: ImportResult, errors: Console, *, sources: int,
                        rules: Sequence[Rule] | None = None) -> None:
    """Print an import's errors, what it read per provider and the settings its files lack.

    With `rules`, only the missing settings that some rule reads are listed: the others change no finding.
    """
    report = result.report
    for issue in report.errors[:_ISSUES_SHOWN]:
        errors.print(f"[yellow]import:[/yellow] {terminal_safe(issue.describe())}", soft_wrap=True)
    if len(report.errors) > _ISSUES_SHOWN:
        errors.print(f"[yellow]import:[/yellow] ... and {len(report.errors) - _ISSUES_SHOWN} more error(s)")
    for issue in report.warnings[:_ISSUES_SHOWN]:
        errors.print(f"[yellow]import warning:[/yellow] {terminal_safe(issue.describe())}", soft_wrap=True)
    if len(report.warnings) > _ISSUES_SHOWN:
        errors.print(f"[yellow]import warning:[/yellow] ... and {len(report.warnings) - _ISSUES_SHOWN} more")
    for issue in report.duplicates[:_ISSUES_SHOWN]:
        errors.print(f"[yellow]given twice:[/yellow] {terminal_safe(issue.describe())}", soft_wrap=True)
    if len(report.duplicates) > _ISSUES_SHOWN:
        errors.print(f"[yellow]given twice:[/yellow] ... and {len(report.duplicates) - _ISSUES_SHOWN} more")

    for collection in result.collections:
        files = sum(1 for found in result.formats.values() if found.provider == collection.provider)
        errors.print(f"Imported {len(collection.resources)} {collection.provider} resource(s) of "
                     f"{len(collection.accounts)} account(s) from {files} file(s).")
    if report.folded:
        errors.print(f"Folded {sum(report.folded.values())} child resource(s) into their parents' "
                     "supplementaryConfiguration.")
    not_imported = report.not_imported
    if rules is not None:
        read = _supplementary_read(rules)
        not_imported = {key: count for key, count in not_imported.items() if key in read}
    if not_imported:
        lacking = ", ".join(f"{terminal_safe(key)} ({count})" for key, count in sorted(not_imported.items()))
        errors.print(f"[yellow]Not in the files[/yellow] (rules reading these report ERROR): {lacking}",
                     soft_wrap=True)
    if report.skipped:
        left_out = ", ".join(f"{terminal_safe(key)} ({count})" for key, count in sorted(report.skipped.items()))
        errors.print(f"Left out: {left_out}", soft_wrap=True)
    errors.print(f"Read {sources} source(s); {len(report.errors)} import error(s).")


def _supplementary_read(rules: Sequence[Rule]) -> set[str]:
    """Return "TYPE key" for every supplementary key that a rule reads on resources of that type."""
    from ridgeline.imports.streaming import paths_read

    prefix = "supplementaryConfiguration."
    return {f"{type_name} {path.removeprefix(prefix).split('.')[0].split('[')[0]}"
            for type_name, paths in paths_read(rules).items() for path in paths if path.startswith(prefix)}


# Running scans: shared by `scan aws`, `scan file`, `scan azure` and `demo` ------------------------------

@dataclass(slots=True)
class ScanSettings:
    """Settings that the scans of one command share: rules, suppressions, frameworks, store, report options."""

    formats: list[str]
    rules: list[Rule]
    suppressions: list[Suppression] | None
    frameworks: list[Framework]
    database_url: str | None
    """None when the scans are not stored (--no-store)."""

    output_dir: Path
    top: int
    fail_on: str | None
    console: Console
    errors: Console
    store: Store | None = None
    """Opened when the first scan is saved, so a setup error leaves no empty database behind."""

    written: list[str] = field(default_factory=list)
    """Report files the scans wrote so far."""


def prepare_scans(*, output_format: str, output_dir: Path, fail_on: str | None, database: str | None,
                  no_store: bool, rule_paths: Sequence[Path], top: int, suppressions_path: Path | None = None,
                  compliance_ids: Sequence[str] = (), framework_paths: Sequence[Path] = ()) -> ScanSettings:
    """Load the rules, suppressions and frameworks of the report options; exit with a message when invalid."""
    formats = parse_formats(output_format)
    rules = load_rules(rule_paths)
    errors = Console(stderr=True)
    try:
        suppressions = load_suppressions(suppressions_path, [r.id for r in rules]) if suppressions_path else None
    except SuppressionErrors as error:
        errors.print(f"[red]Invalid suppressions:[/red]\n{terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    try:
        frameworks = [find_framework(load_frameworks(framework_paths, rule_ids={r.id for r in rules}), framework_id)
                      for framework_id in compliance_ids]
    except (UnknownFrameworkError, FrameworkFileErrors) as error:
        errors.print(f"[red]Invalid --compliance or --frameworks:[/red]\n{terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    return ScanSettings(formats=formats, rules=rules, suppressions=suppressions, frameworks=frameworks,
                        database_url=None if no_store else (database or default_database_url()),
                        output_dir=output_dir, top=top, fail_on=fail_on, console=Console(), errors=errors)


def judge_collection(settings: ScanSettings, collection: Collection, options: Mapping[str, Any]) -> ScanResult:
    """Evaluate, store and report one provider's collection; return the result (the gate comes later)."""
    frameworks = _frameworks_of(settings, collection.provider)
    if settings.database_url is not None and settings.store is None:
        settings.store = Store(settings.database_url)
    store = settings.store

    result = evaluate_collection(collection, settings.rules, store=store, options={
        **options, "compliance": [framework.id for framework in frameworks],
    }, suppressions=settings.suppressions)
    report_scan(settings, result)
    return result


def _frameworks_of(settings: ScanSettings, provider: str) -> list[Framework]:
    return [framework for framework in settings.frameworks if framework.provider in (None, provider)]


def report_scan(settings: ScanSettings, result: ScanResult) -> None:
    """Update the findings' life cycle (when stored), compute the postures, print the summary and write the reports."""
    console = settings.console
    store = settings.store
    frameworks = _frameworks_of(settings, result.scan.provider)
    if store is not None:
        # Findings get their life (new, open, resolved, reopened); incomplete collection resolves nothing.
        update_lifecycle(store, result.scan, result.findings, result.collection.coverage, settings.rules)
    first_seen = first_seen_times(store, result.scan.provider, result.scan.accounts) if store else {}
    for framework in frameworks:
        posture = compute_posture(framework, result.findings, settings.rules, coverage=result.collection.coverage)
        add_failing_since(posture, result.findings, first_seen)
        result.postures.append(posture)

    print_summary(result, console, top=settings.top)
    for posture in result.postures:
        console.print(f"[bold]{terminal_safe(posture.framework.name)} {terminal_safe(posture.framework.version)}"
                      f"[/bold]: {summary_line(posture)}")
    if result.suppression_report is not None:
        print_suppression_report(result.suppression_report, console)
    written = write_reports(result, settings.formats, settings.output_dir)
    for path in written:
        console.print(f"Report written: {terminal_safe(path)}")
    if store is not None:
        console.print(f"Scan saved as {result.scan.id} in {terminal_safe(store.url)}")
    settings.written.extend(str(path) for path in written)


def finish_scans(settings: ScanSettings, results: Sequence[ScanResult]) -> None:
    """Print the overview of several scans, the next steps, and exit with the gate's code across all of them."""
    if len(results) > 1:
        settings.console.print(_overview_table(results))
    if any(finding.status is Status.FAIL for result in results for finding in result.findings):
        print_next_steps(settings.console, settings.written)
    _note_unused_frameworks(settings, results)

    if settings.fail_on is None:
        return
    threshold = Severity.parse(settings.fail_on).rank
    gating = sum(1 for result in results for finding in result.findings
                 if finding.status is Status.FAIL and finding.severity.rank >= threshold)
    if gating:
        settings.errors.print(f"[red]{gating} FAIL finding(s) at or above {settings.fail_on}: "
                              f"exit code {EXIT_GATE}[/red]")
        raise SystemExit(EXIT_GATE)


def run_scan(collect: Callable[[Console], Collection | Sequence[Collection]], *,
             scan_options: Mapping[str, Any] | None = None, banner: str = "", **report_options: Any) -> None:
    """Collect (or import) one collection or one per provider, then judge each and exit with the gate's code.

    `collect` raises ScanSetupError for problems the user must fix; they exit with code 2.
    """
    settings = prepare_scans(**report_options)
    if banner:
        settings.errors.print(banner)
    try:
        collected = collect(settings.errors)
    except ScanSetupError as error:
        settings.errors.print(f"[red]error:[/red] {terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None

    collections = [collected] if isinstance(collected, Collection) else list(collected)
    results = []
    for collection in collections:
        if len(collections) > 1:
            settings.console.rule(f"[bold]{PROVIDER_TITLES.get(collection.provider, collection.provider)}[/bold]")
        results.append(judge_collection(settings, collection, scan_options or {}))
    finish_scans(settings, results)


def run_aws_scan(options: AwsScanOptions, *, output_format: str, output_dir: Path, fail_on: str | None,
                 database: str | None, no_store: bool, rule_paths: Sequence[Path], top: int,
                 suppressions_path: Path | None = None, compliance_ids: Sequence[str] = (),
                 framework_paths: Sequence[Path] = (), banner: str = "",
                 collect: Callable[[Console], Collection] | None = None) -> None:
    """Collect (or import, with `collect`), evaluate, store and report one scan, then exit with the gate's code."""
    def collect_aws_account(errors: Console) -> Collection:
        return collect(errors) if collect is not None else _collect_with_progress(options, errors)

    run_scan(collect_aws_account, scan_options=_aws_scan_options(options), banner=banner,
             output_format=output_format, output_dir=output_dir, fail_on=fail_on, database=database,
             no_store=no_store, rule_paths=rule_paths, top=top, suppressions_path=suppressions_path,
             compliance_ids=compliance_ids, framework_paths=framework_paths)


def _aws_scan_options(options: AwsScanOptions) -> dict[str, Any]:
    return {"regions": options.regions, "services": options.services, "role_arn": options.role_arn}


def _overview_table(results: Sequence[ScanResult]) -> Table:
    table = Table(title="All clouds", title_justify="left")
    table.add_column("Cloud")
    table.add_column("Accounts", justify="right")
    table.add_column("Resources", justify="right")
    for status in Status:
        table.add_column(status.value, justify="right")
    # A unique prefix of the id is enough for `ridgeline report` and `ridgeline diff`.
    table.add_column("Scan", no_wrap=True)
    for result in results:
        counts = Counter(finding.status for finding in result.findings)
        table.add_row(PROVIDER_TITLES.get(result.scan.provider, result.scan.provider), str(len(result.scan.accounts)),
                      str(len(result.collection.resources)), *(str(counts.get(status, 0)) for status in Status),
                      result.scan.id[:8])
    return table


def _note_unused_frameworks(settings: ScanSettings, results: Sequence[ScanResult]) -> None:
    providers = {result.scan.provider for result in results}
    for framework in settings.frameworks:
        if framework.provider is not None and framework.provider not in providers:
            settings.errors.print(f"[yellow]note:[/yellow] {terminal_safe(framework.id)} is a framework for "
                                  f"{framework.provider}, and no {framework.provider} scan ran, so no posture "
                                  "is shown for it.")


def _collect_with_progress(options: AwsScanOptions, console: Console) -> Collection:
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("Collecting", total=0)

        def report(event: str, unit: Coverage) -> None:
            if event == "planned":
                progress.update(task, total=(progress.tasks[0].total or 0) + 1)
            else:
                progress.update(task, advance=1, description=f"Collected {unit.service} {unit.region}")

        return collect_aws(options, progress=report)


@click.command()
@click.option("--regions", default=None,
              help="Comma-separated AWS regions to scan [default: the regions the demo account uses].")
@click.option("--services",
              help="Comma-separated services to judge, of any cloud (s3, storage, keyvault, ...) [default: all]. "
                   "A cloud with none of them is left out.")
@click.option("--clouds", default=",".join(DEMO_CLOUDS), show_default=True,
              help="Comma-separated clouds to include: aws (an emulated account), azure and gcp (bundled "
                   "inventory exports).")
@output_options(database_file=DEMO_DATABASE_FILE)
def demo(regions: str | None, services: str | None, clouds: str, **report_options: Any) -> None:
    """Judge deliberately misconfigured AWS, Azure and GCP resources, without any cloud account.

    AWS: starts moto's server on a free loopback port inside this process, seeds an account and scans it
    over HTTP exactly like a real account (needs the `demo` extra: pip install 'ridgeline[demo]').
    Azure and GCP: imports bundled Resource Manager and Cloud Asset Inventory exports, as `ridgeline
    scan file` does. Each cloud is stored as its own scan and gets its own summary.
    """
    from ridgeline.demo.run import NOT_EMULATED, DemoUnavailable, demo_environment, import_bundled

    errors = Console(stderr=True)
    try:
        chosen = _demo_services(split_list(clouds) or [], split_list(services))
    except ScanSetupError as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None
    report_options["database"] = report_options["database"] or demo_database_url()
    settings = prepare_scans(**report_options)
    results: list[ScanResult] = []

    def heading(provider: str) -> None:
        if len(chosen) > 1:
            settings.console.rule(f"[bold]{PROVIDER_TITLES[provider]}[/bold]")

    if "aws" in chosen:
        heading("aws")
        try:
            with demo_environment() as environment:
                aws_services = chosen["aws"] or [collector.service for collector in select_collectors(None)
                                                 if collector.service not in NOT_EMULATED]
                options = AwsScanOptions(regions=split_list(regions) or environment.regions, services=aws_services)
                settings.errors.print(environment.banner)
                collection = _collect_with_progress(options, settings.errors)
                results.append(judge_collection(settings, collection, _aws_scan_options(options)))
        except DemoUnavailable as error:
            # terminal_safe keeps "[demo]" and "[server]" in the install hint: Rich would read them as tags.
            errors.print(f"[red]error:[/red] {terminal_safe(error)}\n`ridgeline demo --clouds azure,gcp` runs "
                         "without it.", soft_wrap=True)
            raise SystemExit(EXIT_SETUP) from None

    for provider in ("azure", "gcp"):
        if provider not in chosen:
            continue
        heading(provider)
        bundled = import_bundled(provider, chosen[provider])
        for issue in bundled.report.errors:
            settings.errors.print(f"[yellow]import:[/yellow] {terminal_safe(issue.describe())}", soft_wrap=True)
        settings.errors.print(bundled.banner)
        if bundled.collection is not None:
            results.append(judge_collection(settings, bundled.collection, {
                "sources": bundled.files, "services": chosen[provider]}))

    finish_scans(settings, results)


def _demo_services(clouds: Sequence[str], services: Sequence[str] | None) -> dict[str, list[str] | None]:
    """Return the clouds the demo judges, each with its chosen services (None for all).

    Raises ScanSetupError naming an unknown cloud or a service that no chosen cloud has.
    """
    from ridgeline.providers.azure import catalog as azure_catalog
    from ridgeline.providers.gcp import catalog as gcp_catalog

    unknown_clouds = [cloud for cloud in clouds if cloud not in DEMO_CLOUDS]
    if unknown_clouds or not clouds:
        raise ScanSetupError(f"unknown cloud(s) {', '.join(unknown_clouds) or '(none given)'}; "
                             f"available: {', '.join(DEMO_CLOUDS)}")
    known = {"aws": [collector.service for collector in select_collectors(None)],
             "azure": list(azure_catalog.services()), "gcp": list(gcp_catalog.services())}
    chosen_clouds = [cloud for cloud in DEMO_CLOUDS if cloud in clouds]
    if not services:
        return {cloud: None for cloud in chosen_clouds}

    unknown = [name for name in services if not any(name in known[cloud] for cloud in chosen_clouds)]
    if unknown:
        available = "; ".join(f"{cloud}: {', '.join(sorted(known[cloud]))}" for cloud in chosen_clouds)
        raise ScanSetupError(f"unknown service(s) {', '.join(unknown)}; available: {available}")
    chosen: dict[str, list[str] | None] = {}
    for cloud in chosen_clouds:
        names = [name for name in dict.fromkeys(services) if name in known[cloud]]
        if names:
            chosen[cloud] = names
    return chosen
