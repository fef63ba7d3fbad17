"""`ridgeline compliance FRAMEWORK` (the posture of a stored scan) and `ridgeline frameworks list`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from ridgeline.cli.common import EXIT_SETUP, load_rules, open_existing_store
from ridgeline.compliance.loader import (
    FrameworkFileErrors,
    UnknownFrameworkError,
    find_framework,
    load_frameworks,
)
from ridgeline.compliance.model import Framework, RequirementStatus
from ridgeline.compliance.posture import (
    add_failing_since,
    compute_posture,
    first_seen_times,
    posture_to_dict,
    requirement_rules,
)
from ridgeline.compliance.render import print_posture
from ridgeline.report.text import terminal_safe
from ridgeline.rules.model import Rule
from ridgeline.store.database import DEMO_DATABASE_FILE, Store, StoredScan

logger = logging.getLogger(__name__)

_FRAMEWORKS_OPTION = click.option(
    "--frameworks", "framework_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Extra framework file or folder, in the built-in framework format (repeatable).")
_RULES_OPTION = click.option(
    "--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="Extra rule file or folder that the scan used (repeatable).")


@click.command()
@click.argument("framework_id")
@click.option("--scan", "scan_id", default="latest", show_default=True,
              help="Id (or unique id prefix) of the stored scan to judge, or 'latest' for the newest scan of the "
                   "framework's provider.")
@click.option("--database", default=None,
              help="SQLAlchemy URL of the store [default: RIDGELINE_DATABASE_URL or "
                   "~/.local/share/ridgeline/ridgeline.db].")
@click.option("--demo", is_flag=True,
              help=f"Read the scans of `ridgeline demo`, which go to their own database ({DEMO_DATABASE_FILE}).")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="A table per section with the scores, or the whole posture as JSON.")
@click.option("--status", "statuses", multiple=True, type=click.Choice([s.value for s in RequirementStatus]),
              help="Show only requirements with this status in the table (repeatable); scores still count all.")
@_FRAMEWORKS_OPTION
@_RULES_OPTION
def compliance(framework_id: str, scan_id: str, database: str | None, demo: bool, output: str,
               statuses: tuple[str, ...], framework_paths: tuple[Path, ...], rule_paths: tuple[Path, ...]) -> None:
    """Show the posture of a stored scan against a framework.

    Each requirement is PASS, FAIL (with the failing resources), MANUAL (no rule judges it) or NOT
    ASSESSED (its rules gave no verdict, and why), with a score per section and overall: the share of
    judged requirements that pass. `ridgeline frameworks list` shows the framework ids.
    """
    errors = Console(stderr=True)
    rules = load_rules(rule_paths)
    framework = _load_framework(framework_id, framework_paths, rules, errors)
    store = open_existing_store(database, demo, errors)
    scan = _select_scan(store, scan_id, framework, errors)

    findings = store.load_findings(scan.id)
    coverage = store.load_coverage(scan.id)
    posture = compute_posture(framework, findings, rules, coverage=coverage)
    add_failing_since(posture, findings, first_seen_times(store, scan.provider, scan.accounts))
    logger.info("judged framework %s on scan %s: %d finding(s)", framework.id, scan.id, len(findings))

    if output == "json":
        data = {"scan": _scan_dict(scan), **posture_to_dict(posture)}
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    accounts = ", ".join(scan.accounts) or "no account"
    heading = (f"Scan {terminal_safe(scan.id)} of {terminal_safe(scan.provider)} {terminal_safe(accounts)}, "
               f"finished {terminal_safe(scan.finished_at)}"
               + ("" if scan.complete else " [yellow](collection incomplete: some checks are ERROR)[/yellow]"))
    selected = {RequirementStatus(value) for value in statuses} or None
    print_posture(posture, Console(), heading=heading, statuses=selected)


@click.group()
def frameworks() -> None:
    """List the compliance frameworks."""


@frameworks.command("list")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="A table, or one JSON object per framework.")
@_FRAMEWORKS_OPTION
@_RULES_OPTION
def frameworks_list(output: str, framework_paths: tuple[Path, ...], rule_paths: tuple[Path, ...]) -> None:
    """List every framework with its requirement count and the share Ridgeline automates.

    A requirement is automated by Ridgeline when at least one rule judges it; the others are manual.
    """
    errors = Console(stderr=True)
    rules = load_rules(rule_paths)
    loaded = _load_all(framework_paths, rules, errors)
    rows = [_framework_row(framework, rules) for framework in loaded]

    if output == "json":
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"{len(rows)} frameworks",
                  caption="Automated: requirements that at least one Ridgeline rule judges; the rest are manual.")
    table.add_column("Id", no_wrap=True)
    table.add_column("Framework", ratio=1)
    table.add_column("Provider", no_wrap=True)
    table.add_column("Requirements", justify="right", no_wrap=True)
    table.add_column("Automated", justify="right", no_wrap=True)
    for row in rows:
        table.add_row(terminal_safe(row["id"]), terminal_safe(f"{row['name']} {row['version']}"),
                      terminal_safe(row["provider"] or "any"), str(row["requirements"]),
                      f"{row['automated_by_ridgeline']} ({row['automated_share']:.0f}%)")
    Console().print(table)


def _framework_row(framework: Framework, rules: Sequence[Rule]) -> dict[str, object]:
    judged = sum(1 for rule_ids in requirement_rules(framework, rules).values() if rule_ids)
    total = len(framework.requirements)
    return {
        "id": framework.id,
        "name": framework.name,
        "version": framework.version,
        "provider": framework.provider,
        "requirements": total,
        "automated_by_ridgeline": judged,
        "automated_share": round(100.0 * judged / total, 1) if total else 0.0,
        "source": framework.source,
    }


def _load_all(framework_paths: Sequence[Path], rules: Sequence[Rule], errors: Console) -> list[Framework]:
    try:
        return load_frameworks(framework_paths, rule_ids={rule.id for rule in rules})
    except FrameworkFileErrors as error:
        errors.print(f"[red]Invalid frameworks:[/red]\n{terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None


def _load_framework(framework_id: str, framework_paths: Sequence[Path], rules: Sequence[Rule],
                    errors: Console) -> Framework:
    try:
        return find_framework(_load_all(framework_paths, rules, errors), framework_id)
    except UnknownFrameworkError as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None


def _select_scan(store: Store, scan_id: str, framework: Framework, errors: Console) -> StoredScan:
    """Return the requested scan, or the newest scan of the framework's provider for 'latest'."""
    if scan_id != "latest":
        scan = store.get_scan(scan_id)
        matches = [] if scan is not None else store.find_scan_ids(scan_id, limit=2)
        if scan is None and len(matches) == 1:
            scan = store.get_scan(matches[0])
        if scan is not None:
            return scan
        problem = f"no scan {terminal_safe(scan_id)!r}" if not matches else (
            f"scan id prefix {terminal_safe(scan_id)!r} is ambiguous")
        errors.print(f"[red]error:[/red] {problem} in {terminal_safe(store.url)}; omit --scan for the latest scan")
        raise SystemExit(EXIT_SETUP)

    # NOTE: only the 200 newest scans are searched for one of the framework's provider.
    for scan in store.list_scans(limit=200):
        if framework.provider is None or scan.provider == framework.provider:
            return scan
    provider = f"{framework.provider} " if framework.provider else ""
    errors.print(f"[red]error:[/red] no {provider}scan in {terminal_safe(store.url)}; run a scan first "
                 f"(`ridgeline scan aws` or `ridgeline demo`)")
    raise SystemExit(EXIT_SETUP)


def _scan_dict(scan: StoredScan) -> dict[str, object]:
    return {"id": scan.id, "provider": scan.provider, "started_at": scan.started_at,
            "finished_at": scan.finished_at, "accounts": scan.accounts, "regions": scan.regions,
            "complete": scan.complete}
