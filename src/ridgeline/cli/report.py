"""`ridgeline report`: render any report format again from a stored scan, without scanning."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
from rich import box
from rich.console import Console
from rich.table import Table

from ridgeline.cli.common import EXIT_SETUP, load_rules, open_existing_store, parse_formats, resolve_scan_id
from ridgeline.compliance.loader import FrameworkFileErrors, UnknownFrameworkError, find_framework, load_frameworks
from ridgeline.compliance.posture import compute_posture
from ridgeline.model.finding import Status
from ridgeline.pipeline import ScanResult
from ridgeline.providers.aws.scanner import Collection
from ridgeline.report import renderers, write_reports
from ridgeline.report.terminal import SCAN_ID_PREFIX, print_summary
from ridgeline.report.text import terminal_safe
from ridgeline.store.database import DEMO_DATABASE_FILE, Store

logger = logging.getLogger(__name__)

_OTHER_COLUMNS_WIDTH = 35
"""Columns that `--list` needs besides the scan id and the scope: start time, counts and column gaps.

An estimate: 16 for the time, 10 for the counts and about 9 for the gaps."""


@click.command()
@click.argument("scan_id", default="latest", metavar="[SCAN_ID|latest]")
@click.option("--list", "list_scans", is_flag=True, help="List the stored scans (newest first) instead of rendering.")
@click.option("--limit", default=20, show_default=True, help="Number of scans --list shows.")
@click.option("--output-format", "-f", "output_format", default="html", show_default=True,
              help="Comma-separated report formats to write: " + ", ".join(renderers()) + ".")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("ridgeline-output"), show_default=True, help="Folder for the report files.")
@click.option("--database", default=None,
              help="SQLAlchemy URL of the store [default: RIDGELINE_DATABASE_URL or "
                   "~/.local/share/ridgeline/ridgeline.db].")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Custom rule file or folder the scan used, so that its findings get titles and remediation "
                   "(repeatable).")
@click.option("--summary", is_flag=True, help="Also print the terminal summary of the scan.")
@click.option("--compliance", "compliance_ids", multiple=True,
              help="Include the posture for this framework id (repeatable) [default: the frameworks the scan "
                   "was run with].")
@click.option("--frameworks", "framework_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Extra framework file or folder (repeatable).")
@click.option("--demo", is_flag=True,
              help=f"Read the scans of `ridgeline demo`, which go to their own database ({DEMO_DATABASE_FILE}).")
def report(scan_id: str, list_scans: bool, limit: int, output_format: str, output_dir: Path, database: str | None,
           rule_paths: Sequence[Path], summary: bool, compliance_ids: Sequence[str],
           framework_paths: Sequence[Path], demo: bool) -> None:
    """Write reports of a stored scan again, in any format, without scanning.

    SCAN_ID is a scan id or a unique prefix of one; `latest` (the default) takes the newest scan.
    Remediation, titles and references come from the rules installed now (plus --rules); findings,
    evidence and coverage are the stored ones.
    """
    errors = Console(stderr=True)
    store = open_existing_store(database, demo, errors)

    if list_scans:
        _print_scans(store, limit, Console())
        return

    formats = parse_formats(output_format)
    result = load_scan_result(store, resolve_scan_id(store, scan_id, errors), rule_paths)
    wanted = list(compliance_ids) or list(result.scan.options.get("compliance") or [])
    try:
        frameworks = load_frameworks(framework_paths, rule_ids=set(result.rules)) if wanted else []
        for framework_id in wanted:
            result.postures.append(compute_posture(find_framework(frameworks, framework_id), result.findings,
                                                   list(result.rules.values()),
                                                   coverage=result.collection.coverage))
    except (UnknownFrameworkError, FrameworkFileErrors) as error:
        errors.print(f"[red]Invalid --compliance or --frameworks:[/red]\n{terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    console = Console()
    if summary:
        print_summary(result, console)
    for path in write_reports(result, formats, output_dir):
        console.print(f"Report written: {terminal_safe(path)}")


def load_scan_result(store: Store, scan_id: str, rule_paths: Sequence[Path] = ()) -> ScanResult:
    """Rebuild the ScanResult of a stored scan, with the built-in rules and those under `rule_paths`."""
    scan = store.get_scan(scan_id)
    if scan is None:
        raise KeyError(scan_id)
    collection = Collection(
        provider=scan.provider,
        accounts=scan.accounts,
        regions=scan.regions,
        resources=store.load_resources(scan_id),
        coverage=store.load_coverage(scan_id),
        api_calls=scan.api_calls,
        duration_s=scan.duration_s,
    )
    findings = store.load_findings(scan_id)
    # The order a scan reports in: most severe first, FAIL before the other statuses.
    findings.sort(key=lambda f: (-f.severity.rank, f.status is not Status.FAIL, f.rule_id, f.resource_id))
    rules = {rule.id: rule for rule in load_rules(rule_paths)}
    unknown = sorted({f.rule_id for f in findings} - set(rules))
    if unknown:
        logger.warning("scan %s: %d rule(s) are not loaded now, so their findings have no title or remediation: "
                       "%s (pass the scan's custom rules with --rules)", scan_id, len(unknown), ", ".join(unknown))
    logger.info("scan %s loaded: %d resource(s), %d finding(s)", scan_id, len(collection.resources), len(findings))
    return ScanResult(scan=scan, collection=collection, findings=findings, rules=rules)


def _print_scans(store: Store, limit: int, console: Console) -> None:
    scans = store.list_scans(limit=limit)
    if not scans:
        console.print(f"No scan stored in {terminal_safe(store.url)}.")
        return
    counts = store.count_findings([scan.id for scan in scans])
    table = Table(title=f"Stored scans in {terminal_safe(store.url)}, newest first", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)

    # The id, start time and counts never wrap, and the scope wraps but stays as wide as its longest account.
    # Scan ids are cut to their first characters when they do not fit, because every command accepts a prefix.
    id_width = max(len(scan.id) for scan in scans)
    scope_width = max(len(account) for scan in scans for account in [scan.provider, "999 region(s)", *scan.accounts])
    full_ids = id_width + scope_width + _OTHER_COLUMNS_WIDTH <= console.width
    table.add_column("Scan id", no_wrap=True)
    table.add_column("Started (UTC)", no_wrap=True)
    table.add_column("Scope", min_width=scope_width)
    table.add_column("Findings", no_wrap=True)
    for scan in scans:
        # One account a line in a narrow terminal: an Azure subscription id alone takes 36 columns.
        accounts = (", " if full_ids else "\n").join(terminal_safe(account) for account in scan.accounts)
        scope = f"{terminal_safe(scan.provider)} {accounts}\n{len(scan.regions)} region(s)"
        found = counts[scan.id]
        findings = f"{found.get(Status.FAIL.value, 0)} FAIL\n{found.get(Status.ERROR.value, 0)} ERROR"
        if not scan.complete:
            findings += "\n[yellow]incomplete[/yellow]"
        shown_id = scan.id if full_ids else scan.id[:SCAN_ID_PREFIX]
        table.add_row(terminal_safe(shown_id), terminal_safe(_minutes(scan.started_at)), scope, findings)
    console.print(table)


def _minutes(timestamp: str) -> str:
    try:
        return datetime.fromisoformat(timestamp).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return timestamp
