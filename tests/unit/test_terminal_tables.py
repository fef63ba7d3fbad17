"""Terminal tables stay readable at 80 columns (no cell wrapped into many lines) and complete when wide."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from ridgeline.cli import main
from ridgeline.compliance.model import (
    Framework,
    Posture,
    Requirement,
    RequirementResult,
    RequirementStatus,
    SectionScore,
)
from ridgeline.compliance.render import print_posture
from ridgeline.store.database import Store, StoredScan

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
NSG_PREFIX = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/production-network-rg/providers/"
              "Microsoft.Network/networkSecurityGroups/")
NSG_NAMES = ["nsg-web-frontend", "nsg-api", "nsg-batch-workers", "nsg-jumpbox", "nsg-legacy"]
NSG_IDS = [NSG_PREFIX + name for name in NSG_NAMES]
HOSTILE_NAME = "nsg-\x1b[31m[bold]evil"
SCAN_IDS = ["6f1c2a9e-0b7d-4c1e-9a55-3d2f8e7b1c40", "b2e4d6f8-1a3c-4e5f-8a7b-9c0d1e2f3a4b"]


def posture() -> Posture:
    """A posture with a failing requirement on five long ARM ids, a hostile name and a long reason."""
    failing = Requirement(id="6.1", title="Network security groups deny inbound SSH from the internet",
                          section="6", automated=True, rules=("azure-nsg-ssh",))
    hostile = Requirement(id="6.2", title="Network security groups deny inbound RDP from the internet",
                          section="6", automated=True, rules=("azure-nsg-rdp",))
    unassessed = Requirement(id="6.3", title="Flow logs are kept for at least 90 days", section="6",
                             automated=True, rules=("azure-flow-logs",))
    framework = Framework(id="cis-azure-test", name="CIS Azure test", version="1.0", provider="azure",
                          requirements=(failing, hostile, unassessed), sections={"6": "Networking"})
    results = [
        RequirementResult(requirement=failing, status=RequirementStatus.FAIL, failing_resources=list(NSG_IDS),
                          failed_findings=5, first_failed_at="2026-11-02T08:15:00.123456+00:00"),
        RequirementResult(requirement=hostile, status=RequirementStatus.FAIL,
                          failing_resources=[NSG_PREFIX + HOSTILE_NAME], failed_findings=1),
        RequirementResult(requirement=unassessed, status=RequirementStatus.NOT_ASSESSED,
                          reason="Not scanned: network watcher flow logs were denied by the role assignment "
                                 "of the scanning identity in every subscription of the tenant"),
    ]
    section = SectionScore(section="6", title="Networking", passed=0, failed=2, manual=0, not_assessed=1)
    return Posture(framework=framework, results=results, sections=[section])


def table_lines(text: str) -> list[str]:
    """Return the lines of the tables (those drawn with box characters) in rendered text."""
    return [line for line in text.splitlines() if any(mark in line for mark in "│┃")]


def line_with(lines: list[str], *values: str) -> str:
    """Return the first line that contains every value; fail when none does."""
    matches = [line for line in lines if all(value in line for value in values)]
    assert matches, f"no line holds {values!r}:\n" + "\n".join(lines)
    return matches[0]


def render_posture(width: int) -> str:
    console = Console(width=width, record=True, color_system=None)
    print_posture(posture(), console)
    return console.export_text()


def test_compliance_table_at_80_columns() -> None:
    text = render_posture(80)

    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = table_lines(text)
    line_with(rows, "6.1", "FAIL", NSG_NAMES[0])
    for name in NSG_NAMES[1:3]:
        line_with(rows, name)
    line_with(rows, "and 2 more (5 in all)")
    # Beyond the first few, resources are only counted, and the ARM path is left to the JSON output.
    assert NSG_NAMES[3] not in text
    assert "resourceGroups" not in text


def test_compliance_table_is_complete_when_wide() -> None:
    text = render_posture(200)

    rows = table_lines(text)
    line_with(rows, "6.1", "FAIL", NSG_NAMES[0])
    line_with(rows, "since 2026-11-02 08:15")
    assert "…" not in text


def test_compliance_table_shows_full_ids_that_fit() -> None:
    arn = "arn:aws:s3:::audit-logs-bucket"
    wide, narrow = posture(), posture()
    wide.results[0].failing_resources = [arn]
    narrow.results[0].failing_resources = [arn]

    for width, shown, expected in ((200, wide, arn), (80, narrow, "audit-logs-bucket")):
        console = Console(width=width, record=True, color_system=None)
        print_posture(shown, console)

        line_with(table_lines(console.export_text()), "6.1", "FAIL", expected)


def test_compliance_table_escapes_resource_names() -> None:
    for width in (80, 250):
        text = render_posture(width)

        assert "\x1b" not in text
        # The name is shown as typed, markup included, and not interpreted.
        assert "\\x1b[31m[bold]" in text


def save_scan(store: Store, scan_id: str, started_at: str) -> None:
    scan = StoredScan(id=scan_id, provider="azure", started_at=started_at, finished_at=started_at,
                      accounts=[SUBSCRIPTION, SUBSCRIPTION.replace("0", "9")], regions=["westeurope", "northeurope"],
                      complete=False, api_calls=10, duration_s=1.0, options={})
    store.save_scan(scan, [], [], [])


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    store = Store(url)
    save_scan(store, SCAN_IDS[0], "2026-11-01T08:15:42.123456+00:00")
    save_scan(store, SCAN_IDS[1], "2026-11-02T09:30:07.654321+00:00")
    return url


def report_list(database: str, width: int) -> str:
    outcome = CliRunner().invoke(main, ["report", "--list", "--database", database], env={"COLUMNS": str(width)})
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def test_report_list_at_80_columns(database: str) -> None:
    output = report_list(database, 80)

    assert max(len(line) for line in output.splitlines()) <= 80
    lines = output.splitlines()
    line_with(lines, SCAN_IDS[1][:8], "2026-11-02 09:30", "0 FAIL")
    line_with(lines, SCAN_IDS[0][:8], "2026-11-01 08:15", "0 FAIL")
    # Microseconds and seconds are left out of the start time.
    assert "42.123456" not in output


def test_report_list_is_complete_when_wide(database: str) -> None:
    output = report_list(database, 200)

    line_with(output.splitlines(), SCAN_IDS[1], "2026-11-02 09:30", SUBSCRIPTION, "0 FAIL")
