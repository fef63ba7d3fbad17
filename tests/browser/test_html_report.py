"""The HTML report in a real browser: it renders, filters, makes no request and runs no injected script.

Uses the system Chromium through Playwright, offline: every request the page makes is intercepted,
and any that is not the report file itself fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.report import html
from ridgeline.rules.loader import load_builtin_rules
from tests.unit.test_report_escaping import SCRIPT, hostile_result
from tests.unit.test_report_formats import make_posture

playwright_api = pytest.importorskip("playwright.sync_api",
                                     reason="Playwright is not installed (pip install playwright)")

CHROMIUM = os.environ.get("RIDGELINE_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
# Flags for a sandbox-less container, and nothing that could reach the network on Chromium's own behalf.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
    pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set RIDGELINE_TEST_CHROMIUM)",
                allow_module_level=True)


@dataclass
class OpenedReport:
    """A report file open in a browser page, with what the page tried to do."""

    page: Any
    url: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def demo_result() -> ScanResult:
    """The demo account's scan, plus a compliance posture so that every section of the report shows."""
    from ridgeline.demo.run import demo_environment

    with demo_environment() as environment:
        collection = collect_aws(AwsScanOptions(regions=environment.regions))
    result = evaluate_collection(collection, load_builtin_rules(), store=None)
    failing = next(f.resource_id for f in result.findings if f.status.value == "FAIL")
    result.postures = [make_posture(failing)]
    return result


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_report(browser: Any, path: Path) -> Iterator[OpenedReport]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
    page = context.new_page()
    opened = OpenedReport(page=page, url=path.resolve().as_uri())

    def route(request_route: Any) -> None:
        if request_route.request.url == opened.url:
            request_route.continue_()
        else:
            opened.blocked.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda message: opened.console_errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: opened.console_errors.append(str(error)))
    def dismiss(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(opened.url)
    page.wait_for_selector("#findings-table tbody tr")
    yield opened
    context.close()


@pytest.fixture(scope="module")
def report(browser: Any, demo_result: ScanResult, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenedReport]:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_bytes(html.render(demo_result))
    yield from open_report(browser, path)


def visible_rows(opened: OpenedReport) -> int:
    return int(opened.page.locator("#findings-table tbody tr.finding").count())


def test_report_renders_every_section(report: OpenedReport, demo_result: ScanResult) -> None:
    page = report.page

    assert page.title().startswith("Ridgeline report: aws")
    for section in ("summary", "scan", "charts", "compliance", "findings"):
        assert page.locator(f"section#{section}").is_visible(), section
    assert page.locator("#charts svg").count() == 4
    assert visible_rows(report) == min(200, len(demo_result.findings))
    assert page.locator("#findings-count").inner_text().endswith(f"({len(demo_result.findings)} in total)")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html-report.png"), full_page=False)
    page.locator("section#charts").screenshot(path=str(ARTIFACTS / "html-report-charts.png"))
    page.locator("section#compliance details").first.evaluate("details => { details.open = true; }")
    page.locator("section#compliance").screenshot(path=str(ARTIFACTS / "html-report-compliance.png"))


def test_search_filters_rows(report: OpenedReport, demo_result: ScanResult) -> None:
    page = report.page
    term = "imdsv2"
    expected = [f for f in demo_result.findings
                if term in f"{f.rule_id} {f.resource_id} {f.resource_name} {f.message}".lower()]

    page.fill("#filter-search", term)
    # The search waits for typing to pause; expect() polls without evaluating strings, which the CSP forbids.
    playwright_api.expect(page.locator("#findings-count")).to_have_text(re.compile(rf"^{len(expected)} of "))

    assert 0 < visible_rows(report) == len(expected)
    rule_ids = page.locator("#findings-table tbody tr.finding td:nth-child(3) .id").all_inner_texts()
    assert set(rule_ids) == {f.rule_id for f in expected}
    page.click("#filter-reset")


def test_severity_filter(report: OpenedReport, demo_result: ScanResult) -> None:
    page = report.page
    critical = [f for f in demo_result.findings if f.severity.value == "critical"]

    page.select_option("#filter-severity", "critical")

    assert visible_rows(report) == len(critical)
    badges = page.locator("#findings-table tbody tr.finding td:nth-child(2) .badge").all_inner_texts()
    assert set(badges) == {"critical"}
    page.click("#filter-reset")
    assert visible_rows(report) == min(200, len(demo_result.findings))


def test_row_expands_to_evidence_and_remediation(report: OpenedReport, demo_result: ScanResult) -> None:
    page = report.page
    first = demo_result.findings[0]

    page.locator("#findings-table tbody tr.finding").first.click()

    detail = page.locator("#findings-table tbody tr.detail")
    assert detail.count() == 1
    evidence = detail.locator("pre").first.inner_text()
    assert json.loads(evidence) == json.loads(json.dumps(first.evidence, default=str))
    assert "Remediation" in detail.inner_text().title()
    page.locator("section#findings").evaluate("section => section.scrollIntoView()")
    page.screenshot(path=str(ARTIFACTS / "html-report-findings.png"))
    page.locator("#findings-table tbody tr.finding").first.click()
    assert page.locator("#findings-table tbody tr.detail").count() == 0


def test_chart_bar_filters_the_table(report: OpenedReport, demo_result: ScanResult) -> None:
    page = report.page
    failing_high = [f for f in demo_result.findings if f.status.value == "FAIL" and f.severity.value == "high"]

    page.locator('#charts g[data-filter="severity"][data-value="high"]').click()

    assert page.locator("#filter-status").input_value() == "FAIL"
    assert visible_rows(report) == len(failing_high)
    page.click("#filter-reset")


def test_no_request_leaves_the_page(report: OpenedReport) -> None:
    page = report.page

    # Every interaction, since a lazily loaded asset would show up only then.
    page.fill("#filter-search", "bucket")
    page.select_option("#filter-status", "FAIL")
    page.locator("#findings-table tbody tr.finding").first.click()
    page.locator('#charts g[data-filter="category"]').first.click()
    page.locator("#findings-table th.sortable").first.click()
    page.click("#filter-reset")
    if page.locator("#findings-more").is_visible():
        page.click("#findings-more")

    assert report.blocked == []
    assert report.console_errors == []


def test_injected_script_does_not_run(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "hostile.html"
    path.write_bytes(html.render(hostile_result()))

    for opened in open_report(browser, path):
        page = opened.page
        page.fill("#filter-search", "data<script>")
        page.locator("#findings-table tbody tr.finding").first.click()

        assert opened.dialogs == []
        assert opened.blocked == []
        assert opened.console_errors == []
        assert SCRIPT in page.locator("#findings-table tbody").inner_text()
        assert page.locator("#findings-table tbody script").count() == 0
