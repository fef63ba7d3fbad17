"""`ridgeline diff`: what changed between two stored scans, in resources and in findings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from ridgeline.cli.common import EXIT_SETUP, load_rules, open_existing_store, resolve_scan_id
from ridgeline.history.diff import ScanDiff, diff_scans, diff_to_dict
from ridgeline.model.finding import Finding
from ridgeline.report.text import terminal_safe
from ridgeline.store.database import DEMO_DATABASE_FILE, Store

_VALUE_WIDTH = 80
"""Characters of an old or new value shown in the terminal; `--format json` has the whole value."""


@click.command()
@click.argument("old_id", required=False, metavar="[OLD]")
@click.argument("new_id", required=False, metavar="[NEW]")
@click.option("--baseline", default=None, metavar="SCAN_ID",
              help="Compare against this pinned scan; the one argument, if given, is the NEW scan.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text for the terminal, json for scripts.")
@click.option("--database", default=None,
              help="SQLAlchemy URL of the store [default: RIDGELINE_DATABASE_URL or "
                   "~/.local/share/ridgeline/ridgeline.db].")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Custom rule file or folder the scans used, so their findings map to a service (repeatable).")
@click.option("--demo", is_flag=True,
              help=f"Read the scans of `ridgeline demo`, which go to their own database ({DEMO_DATABASE_FILE}).")
def diff(old_id: str | None, new_id: str | None, baseline: str | None, output_format: str, database: str | None,
         rule_paths: Sequence[Path], demo: bool) -> None:
    """Show what changed between two stored scans: resources and findings.

    OLD and NEW are scan ids or unique prefixes. With no argument, the newest scan is compared with the
    scan before it of the same provider and accounts. With only OLD, NEW is the newest scan. A finding
    is listed as resolved only where the new scan collected its service completely.
    """
    errors = Console(stderr=True)
    store = open_existing_store(database, demo, errors)
    old, new = _choose_scans(store, old_id, new_id, baseline, errors)

    result = diff_scans(store, old, new, load_rules(rule_paths))
    if output_format == "json":
        click.echo(orjson.dumps(diff_to_dict(result), option=orjson.OPT_INDENT_2, default=str).decode())
        return
    print_diff(result, Console())


def _choose_scans(store: Store, old_id: str | None, new_id: str | None, baseline: str | None,
                  errors: Console) -> tuple[str, str]:
    if baseline is not None:
        if new_id is not None:
            errors.print("[red]error:[/red] with --baseline, give at most one scan (the NEW one).")
            raise SystemExit(EXIT_SETUP)
        return resolve_scan_id(store, baseline, errors), resolve_scan_id(store, old_id or "latest", errors)

    if old_id is not None:
        return resolve_scan_id(store, old_id, errors), resolve_scan_id(store, new_id or "latest", errors)

    newest = resolve_scan_id(store, "latest", errors)
    previous = _previous_scan(store, newest)
    if previous is None:
        errors.print(f"[red]error:[/red] scan {terminal_safe(newest)} has no earlier scan of the same provider and "
                     "accounts to compare with; pass OLD and NEW (`ridgeline report --list` lists the scans).")
        raise SystemExit(EXIT_SETUP)
    return previous, newest


def _previous_scan(store: Store, scan_id: str) -> str | None:
    # NOTE: only the 500 newest scans are searched for the predecessor.
    scans = store.list_scans(limit=500)
    current = next(scan for scan in scans if scan.id == scan_id)
    for scan in scans:
        if (scan.started_at < current.started_at and scan.provider == current.provider
                and sorted(scan.accounts) == sorted(current.accounts)):
            return scan.id
    return None


_ID_COLUMN_MIN_WIDTH = 160
"""Terminal width from which the added and removed resources show their full ids."""

_NO_WRAP_COLUMNS = frozenset({"", "Severity"})


def print_diff(result: ScanDiff, console: Console) -> None:
    """Print a diff for the terminal; every value that comes from the cloud goes through terminal_safe."""
    console.print(f"[bold]Scan {terminal_safe(result.old.id)}[/bold] ({terminal_safe(result.old.started_at)}) -> "
                  f"[bold]{terminal_safe(result.new.id)}[/bold] ({terminal_safe(result.new.started_at)})")
    console.print(f"Resources: {len(result.added)} added, {len(result.removed)} removed, "
                  f"{len(result.changed)} changed. Findings: {len(result.opened)} opened, "
                  f"{len(result.resolved)} resolved, {len(result.unknown)} unknown.")

    if result.added or result.removed:
        # Full ids (long ARM ids above all) fold every row in a narrow terminal; `--format json` has them.
        with_ids = console.width >= _ID_COLUMN_MIN_WIDTH
        table = _table("Resources added and removed",
                       ["", "Type", "Name", "Account / region", *(["Id"] if with_ids else [])])
        for sign, refs in (("[green]+[/green]", result.added), ("[red]-[/red]", result.removed)):
            for ref in refs:
                table.add_row(sign, terminal_safe(ref.type), terminal_safe(ref.name),
                              f"{terminal_safe(ref.account)} / {terminal_safe(ref.region)}",
                              *([terminal_safe(ref.id)] if with_ids else []))
        console.print(table)

    if result.changed:
        table = _table("Resources changed", ["Resource", "Path", "Old", "New"])
        for change in result.changed:
            label = f"{terminal_safe(change.resource.type)}\n{terminal_safe(change.resource.name)}"
            for value in change.changes:
                table.add_row(label, terminal_safe(value.path), _shown(value.old, value.kind == "added"),
                              _shown(value.new, value.kind == "removed"))
                label = ""
        console.print(table)

    for title, findings in (("Findings opened", result.opened), ("Findings resolved", result.resolved)):
        if findings:
            table = _table(title, ["Severity", "Rule", "Resource", "Account / region"])
            for finding in findings:
                table.add_row(*_finding_cells(finding))
            console.print(table)

    if result.unknown:
        table = _table("Unknown: not collected completely", ["Severity", "Rule", "Resource", "Account / region",
                                                             "Reason"])
        for item in result.unknown:
            table.add_row(*_finding_cells(item.finding), terminal_safe(item.reason))
        console.print(table)


def _table(title: str, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        # Short fixed values never wrap; the others fold rather than lose characters.
        table.add_column(column, overflow="fold", no_wrap=column in _NO_WRAP_COLUMNS)
    return table


def _finding_cells(finding: Finding) -> tuple[str, str, str, str]:
    return (finding.severity.value, terminal_safe(finding.rule_id), terminal_safe(finding.resource_name),
            f"{terminal_safe(finding.account)} / {terminal_safe(finding.region)}")


def _shown(value: Any, absent: bool) -> str:
    if absent:
        return "[dim](absent)[/dim]"
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > _VALUE_WIDTH:
        text = text[:_VALUE_WIDTH - 3] + "..."
    return terminal_safe(text)
