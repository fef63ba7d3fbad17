"""`ridgeline scan aws` and `ridgeline demo`: collect, evaluate, store and report one account."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ridgeline.cli.common import (
    EXIT_SETUP,
    exit_for_gate,
    load_rules,
    output_options,
    parse_formats,
    split_list,
)
from ridgeline.compliance.loader import FrameworkFileErrors, UnknownFrameworkError, find_framework, load_frameworks
from ridgeline.compliance.posture import add_failing_since, compute_posture, first_seen_times
from ridgeline.compliance.render import summary_line
from ridgeline.history.lifecycle import update_lifecycle
from ridgeline.model.finding import Status
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import evaluate_collection
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
from ridgeline.store.database import DEMO_DATABASE_FILE, Store, default_database_url
from ridgeline.suppress import SuppressionErrors, load_suppressions
from ridgeline.suppress.terminal import print_suppression_report


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
    """Judge AWS Config exports (snapshot or history files, API items, query results) without API access.

    PATHS are files, folders (read recursively), .gz files, or - for standard input. A malformed file or
    item is reported with its name and position, and every valid item is still judged.
    """
    def collect(errors: Console) -> Collection:
        from ridgeline.imports.collection import import_aws_config

        try:
            collection, report = import_aws_config(paths)
        except FileNotFoundError as error:
            raise ScanSetupError(str(error)) from error
        for issue in report.errors[:20]:
            errors.print(f"[yellow]import:[/yellow] {terminal_safe(issue.describe())}", soft_wrap=True)
        if len(report.errors) > 20:
            errors.print(f"[yellow]import:[/yellow] ... and {len(report.errors) - 20} more error(s)")
        if not collection.resources:
            raise ScanSetupError("no resource could be imported from the given files")
        errors.print(f"Imported {len(collection.resources)} resource(s) from {len(paths)} source(s); "
                     f"{len(report.errors)} error(s).")
        return collection

    options = AwsScanOptions()
    run_aws_scan(options, collect=collect, **report_options)


def run_aws_scan(options: AwsScanOptions, *, output_format: str, output_dir: Path, fail_on: str | None,
                 database: str | None, no_store: bool, rule_paths: Sequence[Path], top: int,
                 suppressions_path: Path | None = None, compliance_ids: Sequence[str] = (),
                 framework_paths: Sequence[Path] = (), banner: str = "",
                 collect: Callable[[Console], Collection] | None = None) -> None:
    """Collect (or import, with `collect`), evaluate, store and report one scan, then exit with the gate's code."""
    formats = parse_formats(output_format)
    rules = load_rules(rule_paths)
    console = Console()
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
    if banner:
        errors.print(banner)

    try:
        collection = collect(errors) if collect is not None else _collect_with_progress(options, errors)
    except ScanSetupError as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None

    store = None if no_store else Store(database or default_database_url())
    result = evaluate_collection(collection, rules, store=store, options={
        "regions": options.regions, "services": options.services, "role_arn": options.role_arn,
        "compliance": [framework.id for framework in frameworks],
    }, suppressions=suppressions)
    if store is not None:
        # Findings get their life (new, open, resolved, reopened); incomplete collection resolves nothing.
        update_lifecycle(store, result.scan, result.findings, result.collection.coverage, rules)
    first_seen = first_seen_times(store, result.scan.provider, result.scan.accounts) if store else {}
    for framework in frameworks:
        posture = compute_posture(framework, result.findings, rules, coverage=result.collection.coverage)
        add_failing_since(posture, result.findings, first_seen)
        result.postures.append(posture)
    print_summary(result, console, top=top)
    for posture in result.postures:
        console.print(f"[bold]{terminal_safe(posture.framework.name)} {terminal_safe(posture.framework.version)}"
                      f"[/bold]: {summary_line(posture)}")
    if result.suppression_report is not None:
        print_suppression_report(result.suppression_report, console)
    written = write_reports(result, formats, output_dir)
    for path in written:
        console.print(f"Report written: {terminal_safe(path)}")
    if store is not None:
        console.print(f"Scan saved as {result.scan.id} in {terminal_safe(store.url)}")
    if any(finding.status is Status.FAIL for finding in result.findings):
        print_next_steps(console, [str(path) for path in written])
    exit_for_gate(result, fail_on, errors)


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
              help="Comma-separated regions to scan [default: the regions the demo account uses].")
@click.option("--services", help="Comma-separated services to scan [default: all].")
@output_options
def demo(regions: str | None, services: str | None, **report_options: Any) -> None:
    """Scan a bundled, deliberately misconfigured AWS account emulated on this machine.

    Starts moto's server on a free loopback port inside this process, seeds the account, and scans it
    over HTTP exactly like a real account. Needs the `demo` extra: pip install 'ridgeline[demo]'.
    """
    from ridgeline.demo.run import NOT_EMULATED, DemoUnavailable, demo_environment

    try:
        select_collectors(split_list(services))
    except ScanSetupError as error:
        Console(stderr=True).print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None
    try:
        with demo_environment() as environment:
            chosen = split_list(services) or [collector.service for collector in select_collectors(None)
                                              if collector.service not in NOT_EMULATED]
            options = AwsScanOptions(regions=split_list(regions) or environment.regions, services=chosen)
            report_options["database"] = report_options["database"] or default_database_url(DEMO_DATABASE_FILE)
            run_aws_scan(options, banner=environment.banner, **report_options)
    except DemoUnavailable as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise SystemExit(EXIT_SETUP) from None


