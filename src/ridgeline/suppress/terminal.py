"""The few lines a scan prints about its suppressions: how many findings were muted, what expired, what is unused."""

from __future__ import annotations

from rich.console import Console

from ridgeline.report.text import terminal_safe
from ridgeline.suppress.model import SuppressionReport

_LISTED = 10
"""Entries listed per section; the rest are counted, so a long file cannot flood the terminal."""


def print_suppression_report(report: SuppressionReport, console: Console) -> None:
    """Print the muted count, then the expired and the unused suppressions (up to ten of each)."""
    active = len(report.matched)
    console.print(f"Suppressions: {report.muted} finding(s) muted by {active - len(report.unused)} of "
                  f"{active} active suppression(s)")

    if report.expired:
        console.print(f"[yellow]{len(report.expired)} suppression(s) expired and no longer apply:[/yellow]")
        for suppression in report.expired[:_LISTED]:
            console.print(f"  {terminal_safe(suppression.label)} (expired {suppression.expires}): "
                          f"{_one_line(suppression.reason)}")
        _print_rest(console, len(report.expired))

    if report.unused:
        console.print(f"[yellow]{len(report.unused)} suppression(s) matched no FAIL finding:[/yellow]")
        for suppression in report.unused[:_LISTED]:
            console.print(f"  {terminal_safe(suppression.label)}: {_one_line(suppression.reason)}")
        _print_rest(console, len(report.unused))


def _print_rest(console: Console, total: int) -> None:
    if total > _LISTED:
        console.print(f"  ... and {total - _LISTED} more")


def _one_line(text: str) -> str:
    # A reason written as a YAML block keeps its line breaks; one line per entry keeps the list readable.
    return terminal_safe(" ".join(text.split()))
