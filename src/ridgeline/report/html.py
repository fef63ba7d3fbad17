"""Self-contained HTML report for auditors: summary, charts, compliance posture and a findings table.

The file opens offline and makes no request: CSS and JavaScript are inline and allowed by hash in a
Content-Security-Policy, and charts are SVG drawn here. Every value from the scan or a rule is escaped:
with `html.escape` here, and with `textContent` in the script, which reads the findings from a JSON
block whose `<`, `>` and `&` are written as `\\u003c`, `\\u003e` and `\\u0026`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import orjson

from ridgeline import __version__
from ridgeline.compliance.model import Posture, RequirementResult, RequirementStatus
from ridgeline.model.finding import CATEGORIES, Finding, Severity, Status
from ridgeline.model.scan import Completeness
from ridgeline.pipeline import ScanResult
from ridgeline.report.csv_report import finding_service
from ridgeline.report.text import cli_name, render_remediation

# Shown escaped, as in the terminal: controls and bidirectional overrides could hide or reorder text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SEVERITIES = tuple(Severity)
_MAX_CHART_ROWS = 12
_MAX_LABEL_CHARS = 26
"""Characters of a bar label that fit the chart's 170-pixel label column."""
_MAX_FAILING_RESOURCES = 12


def visible(value: object) -> str:
    """Return `value` as text with control and bidirectional characters shown as \\uXXXX."""
    return _CONTROL.sub(lambda match: f"\\u{ord(match.group()):04x}", str(value))


def text(value: object) -> str:
    """Return `value` escaped for HTML text and attribute values."""
    return html.escape(visible(value), quote=True)


def script_json(value: Any) -> str:
    """Return `value` as JSON that cannot end a <script> block or open an HTML comment inside it."""
    encoded = orjson.dumps(value, default=str).decode()
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def csp_hash(source: str) -> str:
    """Return the CSP source expression ('sha256-...') that allows exactly this inline script or style."""
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@cache
def _asset(name: str) -> str:
    return resources.files("ridgeline.report").joinpath("assets", name).read_text(encoding="utf-8")


# --- data for the findings table ------------------------------------------------------------


def report_data(result: ScanResult) -> dict[str, Any]:
    """Return what the script needs: the rules that produced findings, and every finding."""
    rules: dict[str, Any] = {}
    findings: list[dict[str, Any]] = []
    for finding in result.findings:
        rule = result.rules.get(finding.rule_id)
        if rule is not None and rule.id not in rules:
            rules[rule.id] = {
                "title": rule.title,
                "description": rule.description,
                "risk": rule.risk,
                "cli_name": cli_name(rule.provider),
                "references": list(rule.references),
                "compliance": {framework: list(ids) for framework, ids in rule.compliance.items()},
            }
        findings.append({
            "id": finding.id,
            "rule_id": finding.rule_id,
            "status": finding.status.value,
            "severity": finding.severity.value,
            "category": finding.category,
            "service": finding_service(finding, rule),
            "account": finding.account,
            "region": finding.region,
            "resource_id": finding.resource_id,
            "resource_type": finding.resource_type,
            "resource_name": finding.resource_name,
            "message": finding.message,
            "evidence": finding.evidence,
            # A passing resource needs no fix; leaving it out keeps large reports smaller.
            "remediation": (render_remediation(rule.remediation, finding)
                            if rule is not None and finding.status is not Status.PASS else None),
            "muted_reason": finding.muted_reason,
        })
    return {"rules": rules, "findings": findings}


# --- charts -----------------------------------------------------------------------------------


def _svg_bars(all_rows: Sequence[tuple[str, Counter[Severity]]], facet: str, *, label: str,
              keep_end: bool = False) -> str:
    """Return a horizontal bar chart of the first rows, stacked by severity; a click on a bar filters the table.

    A long name is cut to fit its label. With `keep_end` the label keeps the name's end, because ids such as
    Azure subscription ids differ only there. The bar's tooltip shows the whole name.
    """
    if not all_rows:
        return '<p class="empty">No failing findings.</p>'
    rows = all_rows[:_MAX_CHART_ROWS]
    width, label_width, value_width, row_height = 560, 170, 44, 28
    bar_width = width - label_width - value_width
    largest = max(sum(counts.values()) for _, counts in rows)
    height = row_height * len(rows) + 4
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{text(label)}">']
    for index, (name, counts) in enumerate(rows):
        y = index * row_height + 2
        total = sum(counts.values())
        short_name = _shorten_label(name, keep_end=keep_end)
        parts.append(f'<g class="clickable" tabindex="0" role="button" data-filter="{text(facet)}" '
                     f'data-value="{text(name)}"><title>{text(name)}: {total} FAIL</title>')
        parts.append(f'<text class="bar-label" x="0" y="{y + 17}">{text(short_name)}</text>')
        parts.append(f'<rect class="track" x="{label_width}" y="{y + 4}" width="{bar_width}" height="18" rx="3"/>')
        x = float(label_width)
        for severity in _SEVERITIES:
            count = counts.get(severity, 0)
            if not count:
                continue
            segment = bar_width * count / largest
            parts.append(f'<rect class="seg-{severity.value}" x="{x:.1f}" y="{y + 4}" width="{segment:.1f}" '
                         f'height="18"><title>{text(name)}: {count} {severity.value}</title></rect>')
            x += segment
        parts.append(f'<text class="bar-value" x="{width - value_width + 8}" y="{y + 17}">{total}</text></g>')
    parts.append("</svg>")
    if len(all_rows) > len(rows):
        parts.append(f'<p class="muted-text">… and {len(all_rows) - len(rows)} more; the {text(facet)} filter '
                     'of the findings table lists them all.</p>')
    return "".join(parts)


def _shorten_label(name: str, *, keep_end: bool) -> str:
    if len(name) <= _MAX_LABEL_CHARS:
        return name
    if keep_end:
        return "…" + name[-(_MAX_LABEL_CHARS - 1):]
    return name[:_MAX_LABEL_CHARS - 1] + "…"


def _legend() -> str:
    items = "".join(f'<span><span class="swatch sev-{s.value}"></span>{s.value}</span>' for s in _SEVERITIES)
    return f'<div class="legend">{items}</div>'


def _chart_rows(failed: Iterable[Finding], key: Callable[[Finding], str],
                order: Sequence[str] = ()) -> list[tuple[str, Counter[Severity]]]:
    """Return (name, FAIL count per severity) for each value of `key`: `order` first, then the largest."""
    grouped: dict[str, Counter[Severity]] = defaultdict(Counter)
    for finding in failed:
        grouped[key(finding)][finding.severity] += 1
    ordered = [name for name in order if name in grouped]
    ordered += sorted((name for name in grouped if name not in ordered),
                      key=lambda name: (-sum(grouped[name].values()), name))
    return [(name, grouped[name]) for name in ordered]


def _charts(result: ScanResult) -> str:
    failed = [f for f in result.findings if f.status is Status.FAIL]
    severity_rows = [(s.value, Counter({s: n})) for s in _SEVERITIES
                     if (n := sum(f.severity is s for f in failed))]
    charts = [
        ("By severity", _svg_bars(severity_rows, "severity", label="FAIL findings by severity")),
        ("By category", _svg_bars(_chart_rows(failed, lambda f: f.category, CATEGORIES), "category",
                                  label="FAIL findings by category")),
        ("By service", _svg_bars(_chart_rows(failed, lambda f: finding_service(f, result.rules.get(f.rule_id))),
                                 "service", label="FAIL findings by service")),
        ("By account", _svg_bars(_chart_rows(failed, lambda f: f.account), "account",
                                 label="FAIL findings by account", keep_end=True)),
    ]
    cards = "".join(f'<div class="card chart"><h3>{title}</h3>{svg}{_legend() if failed else ""}</div>'
                    for title, svg in charts)
    note = ('<p class="muted-text">Bars count FAIL findings, coloured by severity; '
            'click a bar to list its findings.</p>')
    return f'<section id="charts"><h2>Failing findings</h2>{note}<div class="charts">{cards}</div></section>'


# --- summary and coverage ---------------------------------------------------------------------

# The collection units of each provider, as its collector and importer create them.
_COVERAGE_UNITS = {
    "aws": "One collection unit per account, region and service; global services (IAM, S3) have one per account.",
    "azure": "One collection unit per subscription and service; resources of every location share that unit.",
    "gcp": "One collection unit per project and service; resources of every location share that unit.",
}
_COVERAGE_UNITS_DEFAULT = "One collection unit per account and service, or per account, region and service."


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    except ValueError:
        return value


def _summary(result: ScanResult) -> str:
    counts = Counter(f.status for f in result.findings)
    urgent = sum(f.status is Status.FAIL and f.severity.rank >= Severity.HIGH.rank for f in result.findings)
    assessed = counts[Status.PASS] + counts[Status.FAIL]
    rate = f"{100 * counts[Status.PASS] / assessed:.0f}%" if assessed else "n/a"
    stats = [
        ("", "Resources", len(result.collection.resources), "collected"),
        ("fail", "Failing", counts[Status.FAIL], f"{urgent} critical or high"),
        ("pass", "Passing", counts[Status.PASS], f"pass rate {rate}"),
        ("error", "Not assessed", counts[Status.ERROR], "checks that could not run"),
        ("muted", "Muted", counts[Status.MUTED], "suppressed with a reason"),
    ]
    cards = "".join(f'<div class="stat {kind}"><div class="label">{label}</div><div class="value">{value}</div>'
                    f'<div class="note">{note}</div></div>' for kind, label, value, note in stats)
    return f'<section id="summary"><div class="cards">{cards}</div></section>'


def _scan_facts(result: ScanResult) -> str:
    scan = result.scan
    services = sorted({unit.service for unit in result.collection.coverage})
    complete = _collection_badge(result)
    facts = [
        ("Scan id", f'<span class="mono">{text(scan.id)}</span>'),
        ("Provider", text(scan.provider)),
        ("Accounts", text(", ".join(scan.accounts)) or "none"),
        ("Regions", text(", ".join(scan.regions)) or "none"),
        ("Services", text(", ".join(services)) or "none"),
        ("Started", text(_when(scan.started_at))),
        ("Finished", text(_when(scan.finished_at))),
        ("Duration", f"{scan.duration_s:.1f} s, {scan.api_calls} API calls"),
        ("Collection", complete),
    ]
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return f'<div class="card"><h3>Scan</h3><dl class="facts">{rows}</dl></div>'


def _collection_badge(result: ScanResult) -> str:
    """Return the scan's completeness: "complete" only when every unit was collected and no check is ERROR."""
    incomplete = sum(unit.status is not Completeness.COMPLETE for unit in result.collection.coverage)
    not_assessed = sum(f.status is Status.ERROR for f in result.findings)
    if not incomplete and not not_assessed:
        return '<span class="badge complete">complete</span>'

    # An export can be complete per unit yet lack settings some rules read, which makes those checks ERROR.
    details = []
    if incomplete:
        details.append(f"{incomplete} collection unit(s) partial or failed")
    if not_assessed:
        details.append(f"{not_assessed} check(s) not assessed")
    return (f'<span class="badge partial">incomplete</span> {", ".join(details)}; '
            '"What could not be assessed" below gives the reasons.')


def _coverage(result: ScanResult) -> str:
    """Return what was collected per service: units by completeness and resources found."""
    units: dict[str, Counter[Completeness]] = defaultdict(Counter)
    resources: Counter[str] = Counter()
    for unit in result.collection.coverage:
        units[unit.service][unit.status] += 1
        resources[unit.service] += sum(unit.resource_counts.values())
    if not units:
        return '<div class="card"><h3>Coverage</h3><p class="muted-text">No collection unit recorded.</p></div>'
    rows = []
    for service in sorted(units):
        statuses = " ".join(f'<span class="badge {status.value}">{count} {status.value}</span>'
                            for status in Completeness if (count := units[service][status]))
        rows.append(f"<tr><td>{text(service)}</td><td class=\"num\">{sum(units[service].values())}</td>"
                    f'<td class="num">{resources[service]}</td><td>{statuses}</td></tr>')
    return ('<div class="card"><h3>Coverage</h3><p class="muted-text">'
            f'{text(_COVERAGE_UNITS.get(result.scan.provider, _COVERAGE_UNITS_DEFAULT))}</p>'
            '<div class="table-scroll"><table>'
            '<thead><tr><th>Service</th><th class="num">Units</th><th class="num">Resources</th><th>Collection</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div></div>')


def _gaps(result: ScanResult) -> str:
    """Return what could not be assessed: incomplete collection units and ERROR findings, with reasons."""
    incomplete = [unit for unit in result.collection.coverage if unit.status is not Completeness.COMPLETE]
    errors = [f for f in result.findings if f.status is Status.ERROR]
    if not incomplete and not errors:
        body = '<div class="banner ok">Collection complete: every check was assessed.</div>'
        return f'<div class="card"><h3>What could not be assessed</h3>{body}</div>'

    parts = [f'<div class="banner warn">{len(errors)} check(s) could not be evaluated; '
             f'{len(incomplete)} collection unit(s) are partial or failed. A check that could not look is '
             f'reported as not assessed, never as passing.</div>']
    if incomplete:
        rows = []
        for unit in incomplete:
            reasons = [f"could not list {resource_type}: {reason}"
                       for resource_type, reason in sorted(unit.failed_types.items())]
            reasons += [error.describe() for error in unit.errors]
            listed = "".join(f"<li>{text(reason)}</li>" for reason in reasons[:8])
            if len(reasons) > 8:
                listed += f"<li>… and {len(reasons) - 8} more (see the JSON report's collection)</li>"
            rows.append(f'<tr><td>{text(unit.service)}</td><td class="mono nowrap">{text(unit.account)}</td>'
                        f'<td class="nowrap">{text(unit.region)}</td><td><span class="badge {unit.status.value}">'
                        f'{unit.status.value}</span></td><td><ul class="reasons">{listed}</ul></td></tr>')
        parts.append('<div class="table-scroll"><table><thead><tr><th>Service</th><th>Account</th><th>Region</th>'
                     f'<th>Status</th><th>Reason</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
    if errors:
        by_rule: dict[str, list[Finding]] = defaultdict(list)
        for finding in errors:
            by_rule[finding.rule_id].append(finding)
        rows = []
        for rule_id, items in sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0])):
            reasons = sorted({reason for f in items for reason in _not_assessed_reasons(f)})
            listed = "".join(f"<li>{text(reason)}</li>" for reason in reasons[:4])
            if len(reasons) > 4:
                listed += f"<li>… and {len(reasons) - 4} more</li>"
            rows.append(f'<tr><td><span class="mono">{text(rule_id)}</span></td><td class="num">{len(items)}</td>'
                        f'<td><ul class="reasons">{listed}</ul></td></tr>')
        parts.append('<h3 class="subhead">Checks not assessed</h3><div class="table-scroll"><table><thead><tr>'
                     '<th>Rule</th><th class="num">Resources</th><th>Why</th></tr></thead>'
                     f'<tbody>{"".join(rows)}</tbody></table></div>')
    return f'<div class="card"><h3>What could not be assessed</h3>{"".join(parts)}</div>'


def _not_assessed_reasons(finding: Finding) -> list[str]:
    reasons = finding.evidence.get("not_assessed") if isinstance(finding.evidence, dict) else None
    if isinstance(reasons, list) and reasons:
        return [str(reason) for reason in reasons]
    return [finding.message]


# --- compliance posture -----------------------------------------------------------------------


def _score_class(score: float | None) -> str:
    if score is None:
        return ""
    if score >= 80:
        return "good"
    if score >= 50:
        return "fair"
    return "poor"


def _meter(passed: int, failed: int, *, width: int = 120, height: int = 10) -> str:
    total = passed + failed
    opening = f'<svg class="meter" viewBox="0 0 {width} {height}" aria-hidden="true">'
    if not total:
        return f'{opening}<rect class="meter-track" width="{width}" height="{height}" rx="3"/></svg>'
    pass_width = width * passed / total
    return (f'{opening}<rect class="meter-fail" width="{width}" height="{height}" rx="3"/>'
            f'<rect class="meter-pass" width="{pass_width:.1f}" height="{height}" rx="3"/></svg>')


def _score_text(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.1f}%"


def _requirement_row(item: RequirementResult) -> str:
    requirement = item.requirement
    status = item.status.value
    counts = (f"{item.passed_findings} pass, {item.failed_findings} fail"
              + (f", {item.error_findings} not assessed" if item.error_findings else "")
              + (f", {item.muted_findings} muted" if item.muted_findings else ""))
    if item.status is RequirementStatus.MANUAL:
        counts = "assessed by a person"
    elif item.status is RequirementStatus.NOT_ASSESSED and not (item.passed_findings or item.failed_findings):
        counts = f"{item.error_findings} not assessed" if item.error_findings else "no finding"
    reason = f'<div class="muted-text">{text(item.reason)}</div>' if item.reason else ""
    resources = item.failing_resources
    listed = "".join(f"<li>{text(resource)}</li>" for resource in resources[:_MAX_FAILING_RESOURCES])
    if len(resources) > _MAX_FAILING_RESOURCES:
        listed += f"<li>… and {len(resources) - _MAX_FAILING_RESOURCES} more</li>"
    since = f'<div class="id">failing since {text(_when(item.first_failed_at))}</div>' if item.first_failed_at else ""
    return (f'<tr><td class="mono">{text(requirement.id)}</td><td>{text(requirement.title)}'
            f'<div class="id">{text(", ".join(item.rules or requirement.rules))}</div></td>'
            f'<td><span class="badge st-{status}">{status}</span></td><td>{counts}{reason}{since}</td>'
            f'<td><ul class="resources">{listed}</ul></td></tr>')


def _posture(posture: Posture) -> str:
    framework = posture.framework
    score = posture.score
    totals = Counter(item.status for item in posture.results)
    counts = "".join(f'<span class="badge st-{status.value}">{totals.get(status, 0)} {status.value}</span>'
                     for status in RequirementStatus)
    passed = sum(section.passed for section in posture.sections)
    failed = sum(section.failed for section in posture.sections)

    section_rows = "".join(
        f'<tr><td class="mono">{text(section.section)}</td><td>{text(section.title)}</td>'
        f'<td class="num">{section.passed}</td><td class="num">{section.failed}</td>'
        f'<td class="num">{section.manual}</td><td class="num">{section.not_assessed}</td>'
        f'<td>{_meter(section.passed, section.failed)}<span class="{_score_class(section.score)}">'
        f'{_score_text(section.score)}</span></td></tr>'
        for section in posture.sections)
    order = {RequirementStatus.FAIL: 0, RequirementStatus.NOT_ASSESSED: 1, RequirementStatus.MANUAL: 2,
             RequirementStatus.PASS: 3}
    requirement_rows = "".join(_requirement_row(item) for item in
                               sorted(posture.results, key=lambda item: order[item.status]))
    return (
        f'<div class="card framework"><div class="framework-head"><div><h3>{text(framework.name)} '
        f'<span class="muted-text">{text(framework.version)}</span></h3><div class="id">{text(framework.id)}</div>'
        f'</div><div class="score-box">{_meter(passed, failed, width=180, height=12)}'
        f'<span class="score {_score_class(score)}">{_score_text(score)}</span></div></div>'
        f'<div class="counts">{counts}</div>'
        '<p class="muted-text">The score is the share of assessed requirements that pass; manual and '
        'not-assessed requirements are left out of it.</p>'
        '<div class="table-scroll"><table><thead><tr><th>Section</th><th>Title</th><th class="num">Pass</th>'
        '<th class="num">Fail</th><th class="num">Manual</th><th class="num">Not assessed</th><th>Score</th>'
        f'</tr></thead><tbody>{section_rows}</tbody></table></div>'
        f'<details class="requirements"><summary>Requirements ({len(posture.results)})</summary>'
        '<div class="table-scroll"><table><thead><tr><th>Id</th><th>Requirement</th><th>Status</th>'
        f'<th>Findings</th><th>Failing resources</th></tr></thead><tbody>{requirement_rows}</tbody></table></div>'
        '</details></div>'
    )


def _compliance(result: ScanResult) -> str:
    if not result.postures:
        return ""
    frameworks = "".join(_posture(posture) for posture in result.postures)
    return f'<section id="compliance"><h2>Compliance posture</h2>{frameworks}</section>'


# --- findings table and page ------------------------------------------------------------------


_FINDINGS_SECTION = """<section id="findings"><h2>Findings</h2><div class="card">
<div class="toolbar">
<label>Search<input type="search" id="filter-search" placeholder="Rule, resource, message, account…"
 autocomplete="off"></label>
<label>Status<select id="filter-status"><option value="">All</option></select></label>
<label>Severity<select id="filter-severity"><option value="">All</option></select></label>
<label>Category<select id="filter-category"><option value="">All</option></select></label>
<label>Service<select id="filter-service"><option value="">All</option></select></label>
<label>Account<select id="filter-account"><option value="">All</option></select></label>
<button type="button" id="filter-reset">Reset</button>
<span class="count" id="findings-count" aria-live="polite"></span>
</div>
<div class="table-scroll"><table class="findings" id="findings-table"><thead><tr>
<th class="sortable" data-sort="status" tabindex="0">Status</th>
<th class="sortable" data-sort="severity" tabindex="0">Severity</th>
<th class="sortable" data-sort="rule" tabindex="0">Rule</th>
<th class="sortable" data-sort="resource" tabindex="0">Resource</th>
<th class="sortable" data-sort="account" tabindex="0">Account</th>
<th class="sortable" data-sort="region" tabindex="0">Region</th>
<th>Message</th>
</tr></thead><tbody></tbody></table></div>
<noscript><p>The findings table needs JavaScript; the JSON, CSV and SARIF reports hold the same findings.</p></noscript>
<div class="more"><button type="button" id="findings-more" hidden>Show more</button></div>
</div></section>"""


def render(result: ScanResult) -> bytes:
    """Return the HTML report."""
    scan = result.scan
    style = _asset("report.css")
    script = _asset("report.js")
    # Only fixed words and base64 digests: safe inside the double-quoted attribute as it is.
    policy = (f"default-src 'none'; script-src {csp_hash(script)}; style-src {csp_hash(style)}; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    accounts = ", ".join(scan.accounts) or "no account"
    title = f"Ridgeline report: {scan.provider} {accounts}"
    nav = "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label in (
        ("summary", "Summary"), ("scan", "Scan and coverage"), ("charts", "Charts"),
        *((("compliance", "Compliance"),) if result.postures else ()), ("findings", "Findings")))

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Ridgeline {text(__version__)}">
<title>{text(title)}</title>
<style>{style}</style>
</head>
<body>
<header class="masthead"><div class="wrap">
<div><p class="brand">Ridgeline posture report</p><h1>{text(scan.provider.upper())} {text(accounts)}</h1>
<p class="subtitle">{len(scan.regions)} region(s), {len(result.collection.resources)} resources,
{len(result.findings)} findings</p></div>
<div class="meta">Scan <code>{text(scan.id)}</code><br>finished {text(_when(scan.finished_at))}<br>
Ridgeline {text(__version__)}</div>
</div></header>
<nav class="sections" aria-label="Sections"><div class="wrap">{nav}</div></nav>
<main class="wrap">
{_summary(result)}
<section id="scan"><h2>Scan and coverage</h2><div class="two-col">{_scan_facts(result)}{_coverage(result)}</div>
{_gaps(result)}</section>
{_charts(result)}
{_compliance(result)}
{_FINDINGS_SECTION}
</main>
<footer class="wrap">Generated by Ridgeline {text(__version__)} from scan {text(scan.id)}.
This file is self-contained and makes no network request.</footer>
<script type="application/json" id="report-data">{script_json(report_data(result))}</script>
<script>{script}</script>
</body>
</html>
"""
    return page.encode("utf-8")
