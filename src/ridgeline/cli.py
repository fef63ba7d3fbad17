"""The `ridgeline` command line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ridgeline import __version__
from ridgeline.model.finding import Severity, Status
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.scanner import (
    AwsScanOptions,
    Collection,
    ScanSetupError,
    collect_aws,
    select_collectors,
)
from ridgeline.report import renderers, write_reports
from ridgeline.report.terminal import print_summary
from ridgeline.report.text import terminal_safe
from ridgeline.rules.loader import RuleFileErrors, expand_rule_paths, load_builtin_rules, load_rule_files
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store, default_database_url

logger = logging.getLogger("ridgeline")

EXIT_GATE = 3
"""Exit code when FAIL findings at or above --fail-on exist (0 otherwise; 2 for usage or setup errors)."""

EXIT_SETUP = 2


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _formats(value: str) -> list[str]:
    names = _split(value) or []
    available = renderers()
    unknown = [name for name in names if name not in available]
    if unknown:
        raise click.BadParameter(f"unknown format(s) {', '.join(unknown)}; available: {', '.join(available)}")
    return names


def output_options(function: Any) -> Any:
    """Options shared by every command that produces a scan report."""
    options = [
        click.option("--output-format", "-f", "output_format", default="json", show_default=True,
                     help="Comma-separated report formats to write: " + ", ".join(renderers()) + "."),
        click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path),
                     default=Path("ridgeline-output"), show_default=True, help="Folder for the report files."),
        click.option("--fail-on", type=click.Choice([s.value for s in Severity], case_sensitive=False),
                     help=f"Exit with code {EXIT_GATE} when a FAIL finding of this severity or higher exists."),
        click.option("--database", default=None,
                     help="SQLAlchemy URL of the store [default: RIDGELINE_DATABASE_URL or "
                          "~/.local/share/ridgeline/ridgeline.db]."),
        click.option("--no-store", is_flag=True, help="Do not save the scan in the database."),
        click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Extra rule file or folder, in the built-in rule format (repeatable)."),
        click.option("--top", default=15, show_default=True, help="Number of failures listed in the summary."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ridgeline")
@click.option("-v", "--verbose", count=True, help="Log more: -v for progress details, -vv for debugging.")
def main(verbose: int) -> None:
    """Ridgeline: find the misconfigurations that expose your cloud.

    Scans cloud accounts through the providers' read-only APIs, evaluates posture rules (CIS
    Foundations and more) and reports findings with evidence and the exact remediation.

    \b
    Start with:  ridgeline demo          (an emulated, deliberately misconfigured AWS account)
    Then:        ridgeline scan aws      (your account, with the standard AWS credential chain)
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # botocore logs every retry at INFO and whole API responses at DEBUG, and responses can hold secrets
    # (Lambda environment variables, for one): never let it go below INFO, and keep it at WARNING unless
    # debugging.
    logging.getLogger("botocore").setLevel(logging.WARNING if verbose < 2 else logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


@main.group()
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
                             regions=_split(regions), services=_split(services))
    run_aws_scan(options, **report_options)


def run_aws_scan(options: AwsScanOptions, *, output_format: str, output_dir: Path, fail_on: str | None,
                 database: str | None, no_store: bool, rule_paths: Sequence[Path], top: int,
                 banner: str = "") -> None:
    """Collect, evaluate, store and report one AWS scan, then exit with the gate's code."""
    formats = _formats(output_format)
    rules = _load_rules(rule_paths)
    console = Console()
    errors = Console(stderr=True)
    if banner:
        errors.print(banner)

    try:
        collection = _collect_with_progress(options, errors)
    except ScanSetupError as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None

    store = None if no_store else Store(database or default_database_url())
    result = evaluate_collection(collection, rules, store=store, options={
        "regions": options.regions, "services": options.services, "role_arn": options.role_arn,
    })
    print_summary(result, console, top=top)
    for path in write_reports(result, formats, output_dir):
        console.print(f"Report written: {terminal_safe(path)}")
    if store is not None:
        console.print(f"Scan saved as {result.scan.id} in {terminal_safe(store.url)}")
    _exit_for_gate(result, fail_on, errors)


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


def _load_rules(rule_paths: Sequence[Path]) -> list[Rule]:
    rules = load_builtin_rules()
    if not rule_paths:
        return rules
    try:
        extra = load_rule_files(expand_rule_paths(rule_paths), known_ids=[rule.id for rule in rules])
    except (RuleFileErrors, FileNotFoundError) as error:
        Console(stderr=True).print(f"[red]Invalid rules:[/red]\n{terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None
    return rules + extra


def _exit_for_gate(result: ScanResult, fail_on: str | None, console: Console) -> None:
    if fail_on is None:
        return
    threshold = Severity.parse(fail_on).rank
    gating = [f for f in result.findings if f.status is Status.FAIL and f.severity.rank >= threshold]
    if gating:
        console.print(f"[red]{len(gating)} FAIL finding(s) at or above {fail_on}: exit code {EXIT_GATE}[/red]")
        raise SystemExit(EXIT_GATE)


@main.command()
@click.option("--regions", default=None,
              help="Comma-separated regions to scan [default: the regions the demo account uses].")
@click.option("--services", help="Comma-separated services to scan [default: all].")
@output_options
def demo(regions: str | None, services: str | None, **report_options: Any) -> None:
    """Scan a bundled, deliberately misconfigured AWS account emulated on this machine.

    Starts moto's server on a free loopback port inside this process, seeds the account, and scans it
    over HTTP exactly like a real account. Needs the `demo` extra: pip install 'ridgeline[demo]'.
    """
    from ridgeline.demo.run import DemoUnavailable, demo_environment

    try:
        select_collectors(_split(services))
    except ScanSetupError as error:
        Console(stderr=True).print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None
    try:
        with demo_environment() as environment:
            options = AwsScanOptions(regions=_split(regions) or environment.regions, services=_split(services))
            run_aws_scan(options, banner=environment.banner, **report_options)
    except DemoUnavailable as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise SystemExit(EXIT_SETUP) from None


@main.group()
def rules() -> None:
    """List, show and validate rules."""


@rules.command("list")
@click.option("--provider", help="Only rules of this provider (aws, azure, gcp).")
@click.option("--service", help="Only rules of this service (s3, iam, ec2, ...).")
@click.option("--category", help="Only rules of this category.")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_list(provider: str | None, service: str | None, category: str | None, output: str) -> None:
    """List the built-in rules."""
    selected = [rule for rule in load_builtin_rules()
                if (provider is None or rule.provider == provider)
                and (service is None or rule.service == service)
                and (category is None or rule.category == category)]
    if output == "json":
        click.echo(orjson.dumps([rule.to_dict() for rule in selected], option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"{len(selected)} rules")
    table.add_column("Id", no_wrap=True)
    for column in ("Severity", "Category", "Service", "Title"):
        table.add_column(column)
    for rule in sorted(selected, key=lambda r: (r.provider, r.service, r.id)):
        table.add_row(rule.id, rule.severity.value, rule.category, rule.service, rule.title)
    Console().print(table)


@rules.command("show")
@click.argument("rule_id")
def rules_show(rule_id: str) -> None:
    """Show everything about one rule."""
    by_id = {rule.id: rule for rule in load_builtin_rules()}
    rule = by_id.get(rule_id)
    if rule is None:
        close = [known for known in by_id if rule_id in known][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else " `ridgeline rules list` shows every rule."
        Console(stderr=True).print(f"[red]error:[/red] no rule {terminal_safe(rule_id)!r}.{hint}")
        raise SystemExit(EXIT_SETUP)
    console = Console()
    console.print(f"[bold]{rule.id}[/bold]: {rule.title}")
    console.print(f"severity {rule.severity.value}, category {rule.category}, {rule.provider} {rule.service}, "
                  f"resources {', '.join(rule.resource_types)}, scope {rule.scope}")
    console.print(f"\n[bold]Description[/bold]\n{rule.description}\n\n[bold]Risk[/bold]\n{rule.risk}")
    console.print(f"\n[bold]Remediation[/bold]\n{rule.remediation.text}")
    if rule.remediation.cli:
        console.print(f"\n[bold]AWS CLI[/bold]\n{terminal_safe(rule.remediation.cli)}")
    if rule.remediation.terraform:
        console.print(f"\n[bold]Terraform[/bold]\n{terminal_safe(rule.remediation.terraform)}")
    if rule.compliance:
        mapped = "; ".join(f"{framework}: {', '.join(ids)}" for framework, ids in rule.compliance.items())
        console.print(f"\n[bold]Compliance[/bold]\n{mapped}")
    if rule.references:
        console.print("\n[bold]References[/bold]\n" + "\n".join(rule.references))
    console.print(f"\n[dim]Defined in {terminal_safe(rule.source)}[/dim]")


@rules.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def rules_validate(paths: tuple[Path, ...]) -> None:
    """Check rule files for errors (reported with file, line and field)."""
    builtin = load_builtin_rules()
    try:
        loaded = load_rule_files(expand_rule_paths(paths), known_ids=[rule.id for rule in builtin])
    except RuleFileErrors as error:
        for problem in error.errors:
            click.echo(problem.describe(), err=True)
        click.echo(f"{len(error.errors)} error(s)", err=True)
        raise SystemExit(1) from None
    click.echo(f"{len(loaded)} rule(s) valid")


@rules.command("functions")
def rules_functions() -> None:
    """List the analysis functions rule conditions can call with `check:`."""
    from ridgeline.rules.functions import all_check_functions

    table = Table(title="Check functions")
    table.add_column("Name")
    table.add_column("Path arguments")
    table.add_column("Other arguments")
    table.add_column("Description")
    for function in all_check_functions():
        table.add_row(function.name, ", ".join(function.path_args),
                      ", ".join(a for a in function.literal_args if a != "subject"), function.description)
    Console().print(table)


@main.group()
def permissions() -> None:
    """Print the least-privilege policy a scan needs."""


@permissions.command("aws")
def permissions_aws() -> None:
    """Print the IAM policy (JSON) that grants exactly the read-only calls an AWS scan makes."""
    from ridgeline.providers.aws.permissions import scan_policy

    click.echo(orjson.dumps(scan_policy(), option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
