"""Pieces every command shares: exit codes, report options, rule loading, the CI gate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, overload

import click
from rich.console import Console

from ridgeline.model.finding import Severity, Status
from ridgeline.pipeline import ScanResult
from ridgeline.report import renderers
from ridgeline.report.text import terminal_safe
from ridgeline.rules.loader import RuleFileErrors, expand_rule_paths, load_builtin_rules, load_rule_files
from ridgeline.rules.model import Rule
from ridgeline.store.database import DEMO_DATABASE_FILE, Store, default_database_url, demo_database_url

EXIT_GATE = 3
"""Exit code when FAIL findings at or above --fail-on exist (0 otherwise; 2 for usage or setup errors)."""

EXIT_SETUP = 2


def split_list(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_formats(value: str) -> list[str]:
    names = split_list(value) or []
    available = renderers()
    unknown = [name for name in names if name not in available]
    if unknown:
        raise click.BadParameter(f"unknown format(s) {', '.join(unknown)}; available: {', '.join(available)}")
    return names


def _database_help(database_file: str) -> str:
    if database_file == DEMO_DATABASE_FILE:
        # The demo never writes to RIDGELINE_DATABASE_URL (see `demo_database_url`).
        return f"SQLAlchemy URL of the store [default: ~/.local/share/ridgeline/{database_file}]."
    return f"SQLAlchemy URL of the store [default: RIDGELINE_DATABASE_URL or ~/.local/share/ridgeline/{database_file}]."


CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


@overload
def output_options(function: CommandFunction, *, database_file: str = ...) -> CommandFunction: ...


@overload
def output_options(function: None = None, *,
                   database_file: str = ...) -> Callable[[CommandFunction], CommandFunction]: ...


def output_options(function: Any = None, *, database_file: str = "ridgeline.db") -> Any:
    """Add the options shared by every command that produces a scan report.

    Use it bare (`@output_options`) or with the SQLite file name that --database defaults to
    (`@output_options(database_file=...)`), so the help shows the file the command writes.
    """
    if function is None:
        return lambda decorated: output_options(decorated, database_file=database_file)

    options = [
        click.option("--output-format", "-f", "output_format", default="json", show_default=True,
                     help="Comma-separated report formats to write: " + ", ".join(renderers()) + "."),
        click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path),
                     default=Path("ridgeline-output"), show_default=True, help="Folder for the report files."),
        click.option("--fail-on", type=click.Choice([s.value for s in Severity], case_sensitive=False),
                     help=f"Exit with code {EXIT_GATE} when a FAIL finding of this severity or higher exists."),
        click.option("--database", default=None, help=_database_help(database_file)),
        click.option("--no-store", is_flag=True, help="Do not save the scan in the database."),
        click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Extra rule file or folder, in the built-in rule format (repeatable)."),
        click.option("--compliance", "compliance_ids", multiple=True,
                     help="Show and report the posture for this framework id, e.g. cis-aws-7.0 (repeatable; "
                          "`ridgeline frameworks list` shows them)."),
        click.option("--frameworks", "framework_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Extra framework file or folder, in the built-in framework format (repeatable)."),
        click.option("--suppressions", "suppressions_path",
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="YAML file of suppressions: FAIL findings it matches become MUTED, with its reason."),
        click.option("--top", default=15, show_default=True, type=click.IntRange(min=0),
                     help="Number of failures listed in the summary."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def load_rules(rule_paths: Sequence[Path]) -> list[Rule]:
    rules = load_builtin_rules()
    if not rule_paths:
        return rules
    try:
        extra = load_rule_files(expand_rule_paths(rule_paths), known_ids=[rule.id for rule in rules])
    except RuleFileErrors as error:
        # Each error's text is escaped on its own (file names may be hostile), so the line breaks between
        # errors stay real line breaks.
        errors = Console(stderr=True)
        errors.print(f"[red]Invalid rules ({len(error.errors)} error(s)):[/red]")
        for problem in error.errors:
            errors.print(terminal_safe(problem.describe()), soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    except FileNotFoundError as error:
        Console(stderr=True).print(f"[red]Invalid rules:[/red] {terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    return rules + extra


def exit_for_gate(result: ScanResult, fail_on: str | None, console: Console) -> None:
    if fail_on is None:
        return
    threshold = Severity.parse(fail_on).rank
    gating = [f for f in result.findings if f.status is Status.FAIL and f.severity.rank >= threshold]
    if gating:
        console.print(f"[red]{len(gating)} FAIL finding(s) at or above {fail_on}: exit code {EXIT_GATE}[/red]")
        raise SystemExit(EXIT_GATE)




def open_existing_store(database: str | None, demo: bool, errors: Console) -> Store:
    """Open the store that read-only commands use; exit with a message when the SQLite file is missing.

    `demo` selects the database of `ridgeline demo` when no --database is given.
    """
    if database is None and demo:
        database = demo_database_url()
    url = database or default_database_url()
    # Opening an SQLite URL creates the file; a read-only command must not leave an empty database behind.
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).expanduser().is_file():
        errors.print(f"[red]error:[/red] no database at {terminal_safe(url)}; run `ridgeline scan aws` first, "
                     "pass --database, or add --demo for the scans of `ridgeline demo`.")
        raise SystemExit(EXIT_SETUP)
    return Store(url)


def resolve_scan_id(store: Store, scan_id: str, errors: Console) -> str:
    """Return the full id of `scan_id` (an id, a unique prefix or "latest"); exit with a message if none."""
    if scan_id == "latest":
        newest = store.list_scans(limit=1)
        if not newest:
            errors.print(f"[red]error:[/red] the database {terminal_safe(store.url)} holds no scan.")
            raise SystemExit(EXIT_SETUP)
        return newest[0].id

    if store.get_scan(scan_id) is not None:
        return scan_id
    matches = store.find_scan_ids(scan_id, limit=2)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        errors.print(f"[red]error:[/red] no scan {terminal_safe(scan_id)!r} in {terminal_safe(store.url)}; "
                     "`ridgeline report --list` lists the stored scans.")
    else:
        errors.print(f"[red]error:[/red] scan id prefix {terminal_safe(scan_id)!r} is ambiguous; "
                     "give more characters (`ridgeline report --list` lists the stored scans).")
    raise SystemExit(EXIT_SETUP)
