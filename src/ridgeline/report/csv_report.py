"""CSV report: one row per finding, for spreadsheets and ticketing imports.

Cells are protected against spreadsheet formula injection: a resource name such as
`=HYPERLINK("http://x","y")` would otherwise run as a formula when an auditor opens the file.
"""

from __future__ import annotations

import csv
import io

from ridgeline.model.finding import Finding
from ridgeline.pipeline import ScanResult
from ridgeline.report.text import render_remediation
from ridgeline.rules.model import Rule

COLUMNS = (
    "finding_id", "rule_id", "title", "status", "severity", "category", "service", "provider", "account",
    "region", "resource_id", "resource_type", "resource_name", "message", "remediation", "remediation_cli",
    "compliance", "muted_reason",
)
"""The header row, in order; docs/output-formats.md describes each column."""

# Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection guidance).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Return `value` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def finding_service(finding: Finding, rule: Rule | None) -> str:
    """Return the rule's service, or the service part of the resource type when the rule is unknown."""
    if rule is not None:
        return rule.service
    parts = finding.resource_type.split("::")
    return parts[1].lower() if len(parts) == 3 else ""


def compliance_text(rule: Rule | None) -> str:
    """Return a rule's framework mapping as one line: "cis-aws-7.0: 2.1.4; aws-fsbp: S3.8"."""
    if rule is None:
        return ""
    return "; ".join(f"{framework}: {', '.join(ids)}" for framework, ids in rule.compliance.items())


def finding_row(finding: Finding, result: ScanResult) -> list[str]:
    """Return one finding as CSV cells, in `COLUMNS` order, before formula protection."""
    rule = result.rules.get(finding.rule_id)
    remediation = render_remediation(rule.remediation, finding) if rule else {"text": "", "cli": ""}
    return [
        finding.id,
        finding.rule_id,
        rule.title if rule else finding.rule_id,
        finding.status.value,
        finding.severity.value,
        finding.category,
        finding_service(finding, rule),
        finding.provider,
        finding.account,
        finding.region,
        finding.resource_id,
        finding.resource_type,
        finding.resource_name,
        finding.message,
        remediation["text"],
        remediation["cli"],
        compliance_text(rule),
        finding.muted_reason,
    ]


def render(result: ScanResult) -> bytes:
    """Return the CSV report, UTF-8 with a byte order mark so that Excel detects the encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in result.findings:
        writer.writerow([spreadsheet_safe(cell) for cell in finding_row(finding, result)])
    return buffer.getvalue().encode("utf-8-sig")
