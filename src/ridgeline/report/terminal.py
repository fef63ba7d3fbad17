"""The terminal summary printed at the end of a scan, and the cell helpers that keep tables readable at 80 columns."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ridgeline.model.finding import CATEGORIES, Finding, Severity, Status
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.pipeline import ScanResult
from ridgeline.report.text import terminal_safe

SCAN_ID_PREFIX = 8
"""Characters of a scan id shown where the full id does not fit. Commands take any unique prefix, and they
report an error when a prefix matches two scans (for UUID4 ids that is very unlikely at 8 characters)."""


class Fitted:
    """A table cell that shows full values when its column has room for them, and short forms otherwise.

    Resource ids (long ARM ids above all) would make Rich wrap a cell into many short lines in an
    80-column terminal. This cell never wraps: it picks the full lines when the widest one
    fits, else the short lines, and cuts a short line that is still too long with an ellipsis. The JSON
    and HTML reports always carry the full values.
    """

    def __init__(self, full: Sequence[str], short: Sequence[str], *, style: str = "") -> None:
        """Take the lines as Rich markup, already passed through `terminal_safe`, one short form per full one."""
        self.full = _lines(full, style)
        self.short = _lines(short, style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        # The column may shrink to the short form and grow to the full one; below that the ellipsis cuts.
        return Measurement(_widest(self.short), max(_widest(self.full), _widest(self.short)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        chosen = self.full if _widest(self.full) <= options.max_width else self.short
        yield from chosen


def _lines(lines: Sequence[str], style: str) -> list[Text]:
    texts = []
    for line in lines:
        text = Text.from_markup(line, style=style, overflow="ellipsis")
        text.no_wrap = True
        texts.append(text)
    return texts


def _widest(lines: Sequence[Text]) -> int:
    return max((text.cell_len for text in lines), default=0)


_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFORMATIONAL: "dim",
}
_SEVERITY_WEIGHT = {Severity.CRITICAL: 40, Severity.HIGH: 10, Severity.MEDIUM: 3, Severity.LOW: 1,
                    Severity.INFORMATIONAL: 0}


def print_summary(result: ScanResult, console: Console, *, top: int = 15) -> None:
    """Print findings by severity and category, the worst resources, the top failures and coverage gaps."""
    findings = result.findings
    failed = [f for f in findings if f.status is Status.FAIL]
    scan = result.scan

    console.print()
    console.print(
        f"[bold]Scan {terminal_safe(scan.id)}[/bold]: {scan.provider} {_accounts_text(scan.accounts)}, "
        f"{len(scan.regions)} region(s), {len(result.collection.resources)} resources, {scan.api_calls} API calls, "
        f"{scan.duration_s:.1f}s"
    )

    console.print(_status_table(findings))
    if failed:
        console.print(_category_table(failed))
        console.print(_worst_resources(failed, top=10))
        console.print(_top_failures(failed, top=top))
    _print_gaps(result, console)


_ACCOUNTS_NAMED = 3
"""Accounts that the summary line names; an import of fifty projects would otherwise fill the screen."""


def _accounts_text(accounts: Sequence[str]) -> str:
    """Return "account(s) a, b" for a few accounts, "50 accounts (a, b, c and 47 more)" for many."""
    if len(accounts) <= _ACCOUNTS_NAMED + 1:
        return f"account(s) {terminal_safe(', '.join(accounts))}"
    named = terminal_safe(", ".join(accounts[:_ACCOUNTS_NAMED]))
    return f"{len(accounts)} accounts ({named} and {len(accounts) - _ACCOUNTS_NAMED} more)"


def _status_table(findings: list[Finding]) -> Table:
    table = Table(title="Findings by severity", title_justify="left")
    table.add_column("Severity")
    for status in Status:
        table.add_column(status.value, justify="right")
    counts = Counter((f.severity, f.status) for f in findings)
    for severity in Severity:
        style = _SEVERITY_STYLE[severity]
        table.add_row(f"[{style}]{severity.value}[/{style}]",
                      *(str(counts.get((severity, status), 0)) for status in Status))
    totals = Counter(f.status for f in findings)
    table.add_row("[bold]total[/bold]", *(f"[bold]{totals.get(status, 0)}[/bold]" for status in Status))
    return table


def _category_table(failed: list[Finding]) -> Table:
    table = Table(title="Failures by category", title_justify="left")
    table.add_column("Category")
    for severity in Severity:
        table.add_column(severity.value, justify="right")
    counts = Counter((f.category, f.severity) for f in failed)
    categories = [c for c in CATEGORIES if any(f.category == c for f in failed)]
    categories += sorted({f.category for f in failed} - set(CATEGORIES))
    for category in categories:
        table.add_row(category, *(str(counts.get((category, severity), 0)) for severity in Severity))
    return table


def _worst_resources(failed: list[Finding], *, top: int) -> Table:
    scores: dict[tuple[str, str], int] = defaultdict(int)
    rules: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in failed:
        key = (finding.resource_type, finding.resource_id)
        scores[key] += _SEVERITY_WEIGHT[finding.severity]
        rules[key].append(finding)
    table = Table(title="Worst resources", title_justify="left")
    table.add_column("Resource")
    table.add_column("Type")
    table.add_column("Failures", justify="right")
    table.add_column("Worst")
    # The most severe failure first, then the number of failures, so the columns read in order.
    def order(key: tuple[str, str]) -> tuple[int, int, tuple[str, str]]:
        worst_rank = max(finding.severity.rank for finding in rules[key])
        return (-worst_rank, -len(rules[key]), key)

    for key in sorted(scores, key=order)[:top]:
        items = rules[key]
        worst = max(items, key=lambda f: f.severity.rank).severity
        style = _SEVERITY_STYLE[worst]
        table.add_row(terminal_safe(items[0].resource_name), terminal_safe(key[0]), str(len(items)),
                      f"[{style}]{worst.value}[/{style}]")
    return table


def _top_failures(failed: list[Finding], *, top: int) -> Table:
    # A borderless grid: the message gets the width, which matters in 80-column terminals and CI logs.
    ordered = sorted(failed, key=lambda f: (-f.severity.rank, f.rule_id, f.resource_id))
    table = Table.grid(padding=(0, 2))
    table.title = f"Top failures ({min(top, len(ordered))} of {len(ordered)})"
    table.title_justify = "left"
    table.add_column("Severity", no_wrap=True)
    table.add_column("Finding")
    for finding in ordered[:top]:
        style = _SEVERITY_STYLE[finding.severity]
        table.add_row(f"[{style}]{finding.severity.value}[/{style}]",
                      f"[bold]{finding.rule_id}[/bold]\n{terminal_safe(finding.message)}")
    return table


_CAUSES_SHOWN = 5
_UNITS_NAMED = 4


def _print_gaps(result: ScanResult, console: Console) -> None:
    incomplete = [unit for unit in result.collection.coverage if unit.status is not Completeness.COMPLETE]
    errors = [f for f in result.findings if f.status is Status.ERROR]
    if not incomplete and not errors:
        console.print("[green]Collection complete: every check was assessed.[/green]")
        return

    console.print(f"[bold yellow]Not assessed: {len(errors)} check(s) could not be evaluated[/bold yellow] "
                  f"({len(incomplete)} collection unit(s) partial or failed).")

    # One cause often makes many units partial (an unreadable file of an import counts for all of them), so
    # each distinct first error is printed once, with the units it affects.
    by_cause: dict[str, list[Coverage]] = {}
    for unit in incomplete:
        by_cause.setdefault(unit.errors[0].describe() if unit.errors else "no detail", []).append(unit)
    for shown, (cause, units) in enumerate(by_cause.items()):
        if shown == _CAUSES_SHOWN:
            console.print(f"  ... and {len(by_cause) - shown} more cause(s) (see the JSON report's 'collection')")
            break
        named = ", ".join(f"{unit.account} {unit.service} {unit.region} ({unit.status.value})"
                          for unit in units[:_UNITS_NAMED])
        more = f" and {len(units) - _UNITS_NAMED} more" if len(units) > _UNITS_NAMED else ""
        console.print(f"  {terminal_safe(cause)}")
        console.print(f"    {len(units)} unit(s): {terminal_safe(named)}{more}")
    if not incomplete:
        # Everything was collected, so the reasons are in the findings (a related resource not scanned, ...).
        for finding in errors[:5]:
            console.print(f"  {finding.rule_id} on {terminal_safe(finding.resource_name)}: "
                          f"{terminal_safe(finding.message)}")
        if len(errors) > 5:
            console.print(f"  ... and {len(errors) - 5} more ERROR finding(s) in the report")


def print_next_steps(console: Console, report_paths: list[str]) -> None:
    """Tell the reader where the fixes are."""
    where = f" ({terminal_safe(', '.join(report_paths))})" if report_paths else ""
    console.print(f"Next: fix the critical and high findings first. The report{where} has each finding's evidence "
                  "and exact fix; `ridgeline rules show RULE_ID` explains a rule.")
