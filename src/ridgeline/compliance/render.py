"""Terminal rendering of a framework posture: one table per section, then the section scores."""

from __future__ import annotations

from collections.abc import Collection

from rich.console import Console, Group, RenderableType
from rich.table import Table

from ridgeline.compliance.model import Posture, RequirementResult, RequirementStatus, SectionScore
from ridgeline.compliance.posture import status_counts
from ridgeline.report.terminal import Fitted
from ridgeline.report.text import short_id, terminal_safe

MAX_RESOURCES = 3
"""Failing resources listed per requirement; the rest are counted."""

MAX_REASON = 240
"""Characters of a not-assessed reason shown in the table; the JSON output has all of it."""

_STATUS_STYLE = {
    RequirementStatus.PASS: "[green]PASS[/green]",
    RequirementStatus.FAIL: "[bold red]FAIL[/bold red]",
    RequirementStatus.MANUAL: "[dim]MANUAL[/dim]",
    RequirementStatus.NOT_ASSESSED: "[yellow]NOT ASSESSED[/yellow]",
}


def score_text(score: float | None) -> str:
    """Return a score as "87.5%", or "n/a" when nothing was assessed."""
    return "n/a" if score is None else f"{score:.1f}%"


def print_posture(posture: Posture, console: Console, *, heading: str = "",
                  statuses: Collection[RequirementStatus] | None = None) -> None:
    """Print every requirement by section (only `statuses` when given), then the scores."""
    framework = posture.framework
    console.print(f"[bold]{terminal_safe(framework.name)} {terminal_safe(framework.version)}[/bold] "
                  f"({terminal_safe(framework.id)})")
    if heading:
        console.print(heading)

    sections = {section.section: section for section in posture.sections}
    for section_id, results in _by_section(posture).items():
        selected = [result for result in results if statuses is None or result.status in statuses]
        if selected:
            console.print()
            console.print(_section_table(sections[section_id], selected))

    console.print()
    console.print(_score_table(posture))
    console.print(summary_line(posture))


def summary_line(posture: Posture) -> str:
    """Return one sentence with the overall score and the count of each status."""
    counts = status_counts(posture)
    passed, failed = counts[RequirementStatus.PASS.value], counts[RequirementStatus.FAIL.value]
    if posture.score is None:
        verdict = "Score n/a: no requirement could be judged from this scan"
    else:
        verdict = f"Score {score_text(posture.score)}: {passed} of {passed + failed} judged requirements pass"
    return (f"{verdict}; {counts[RequirementStatus.MANUAL.value]} manual, "
            f"{counts[RequirementStatus.NOT_ASSESSED.value]} not assessed.")


def _by_section(posture: Posture) -> dict[str, list[RequirementResult]]:
    grouped: dict[str, list[RequirementResult]] = {section.section: [] for section in posture.sections}
    for result in posture.results:
        grouped[result.requirement.section].append(result)
    return grouped


def _section_table(section: SectionScore, results: list[RequirementResult]) -> Table:
    title = (f"{terminal_safe(section.section)} {terminal_safe(section.title)}: {score_text(section.score)} "
             f"({section.passed} pass, {section.failed} fail, {section.manual} manual, "
             f"{section.not_assessed} not assessed)")
    table = Table(title=title, title_justify="left", title_style="bold", expand=True)

    # Readers scan the id and status columns, so they never wrap. The requirement title wraps, and the
    # failing resources are one short name per line (see `_detail`).
    table.add_column("Id", no_wrap=True, overflow="ellipsis", max_width=14)
    table.add_column("Status", no_wrap=True)
    table.add_column("Requirement", ratio=1)
    table.add_column("Failing resources, or why not assessed", ratio=1)
    for result in results:
        table.add_row(terminal_safe(result.requirement.id), _STATUS_STYLE[result.status],
                      terminal_safe(result.requirement.title), _detail(result))
    return table


def _detail(result: RequirementResult) -> RenderableType:
    """Return the failing resources (the first few and the count), or the reason for no verdict.

    A failing resource is shown by its full id when the column has room, else by its name (the last
    segment of the id). `--format json` and the HTML report list every full id.
    """
    if result.status is RequirementStatus.FAIL:
        resources = result.failing_resources
        shown = resources[:MAX_RESOURCES]
        lines: list[RenderableType] = [Fitted([terminal_safe(resource) for resource in shown],
                                              [terminal_safe(short_id(resource)) for resource in shown])]
        if len(resources) > MAX_RESOURCES:
            lines.append(f"[dim]and {len(resources) - MAX_RESOURCES} more ({len(resources)} in all)[/dim]")
        if result.first_failed_at:
            since = terminal_safe(result.first_failed_at[:16].replace("T", " "))
            # Short enough to stay on one line in the column of an 80-column terminal.
            lines.append(f"[dim]since {since}[/dim]")
        return Group(*lines)
    if result.status is RequirementStatus.NOT_ASSESSED:
        reason = result.reason if len(result.reason) <= MAX_REASON else result.reason[:MAX_REASON - 1] + "…"
        return f"[yellow]{terminal_safe(reason)}[/yellow]"
    if result.status is RequirementStatus.PASS:
        return f"[dim]{result.passed_findings} passing finding(s)[/dim]"
    return ""


def _score_table(posture: Posture) -> Table:
    table = Table(title="Scores by section (pass / (pass + fail))", title_justify="left", title_style="bold")

    # The counts and the score never wrap; the section title takes the width that is left.
    table.add_column("Section", no_wrap=True, overflow="ellipsis", max_width=14)
    table.add_column("Title", ratio=1)
    for column in ("Pass", "Fail", "Manual", "Not assessed", "Score"):
        table.add_column(column, justify="right", no_wrap=True)
    for section in posture.sections:
        table.add_row(terminal_safe(section.section), terminal_safe(section.title), str(section.passed),
                      str(section.failed), str(section.manual), str(section.not_assessed), score_text(section.score))
    counts = status_counts(posture)
    table.add_section()
    table.add_row("[bold]All[/bold]", "", *(str(counts[status.value]) for status in RequirementStatus),
                  f"[bold]{score_text(posture.score)}[/bold]")
    return table
