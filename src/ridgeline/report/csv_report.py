"""CSV report: one row per finding, for spreadsheets and ticketing imports.

Cells are protected against spreadsheet formula injection: a resource name such as
`=HYPERLINK("http://x","y")` would otherwise run as a formula when an auditor opens the file. They are
also protected against terminal control sequences, because a CSV is often read with `cat` or `less -R`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import orjson

from ridgeline.model.finding import Finding
from ridgeline.pipeline import ScanResult
from ridgeline.report.text import render_remediation
from ridgeline.rules.model import Rule

COLUMNS = (
    "finding_id", "rule_id", "title", "status", "severity", "category", "service", "provider", "account",
    "region", "resource_id", "resource_type", "resource_name", "message", "remediation", "remediation_cli",
    "compliance", "muted_reason", "evidence",
)
"""The header row, in order; docs/output-formats.md describes each column."""

# Characters that make a spreadsheet read a cell as a formula (OWASP's CSV injection guidance).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# C0 controls, DEL, C1 controls and bidirectional overrides. Tab and line feed are kept, because a terminal
# only moves forward on them, the writer quotes a cell with a line feed, and remediation commands need them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

EVIDENCE_LIMIT = 2000
"""Maximum length of an `evidence` cell, in characters, before the truncation marker is appended."""

EVIDENCE_TRUNCATED = " ... [truncated; the JSON report has the full evidence]"


def control_safe(value: str, *, json_escapes: bool = False) -> str:
    """Return `value` with each control or bidirectional character written as the text `\\xNN` or `\\uNNNN`.

    With `json_escapes`, every one is written as `\\uNNNN`, which keeps a JSON document valid and decodes
    to the original character.
    """
    def shown(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 and not json_escapes else f"\\u{code:04x}"

    return _CONTROL.sub(shown, value)


def spreadsheet_safe(value: str) -> str:
    """Return `value` with a leading apostrophe when a spreadsheet would read it as a formula."""
    if value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_safe(value: str) -> str:
    """Return `value` as a cell that neither a terminal nor a spreadsheet acts on."""
    # Escaping first means a leading carriage return becomes `\x0d`, which no spreadsheet reads as a formula.
    return spreadsheet_safe(control_safe(value))


def evidence_text(evidence: dict[str, Any]) -> str:
    """Return a finding's evidence as compact JSON with sorted keys, cut at `EVIDENCE_LIMIT` characters."""
    if not evidence:
        return ""
    text = orjson.dumps(evidence, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str).decode()

    # orjson escapes C0 controls but not DEL, C1 or bidirectional characters. Escaping before the cut makes
    # the limit apply to the displayed text, and the JSON form keeps an uncut cell valid JSON.
    text = control_safe(text, json_escapes=True)
    if len(text) > EVIDENCE_LIMIT:
        text = text[:EVIDENCE_LIMIT] + EVIDENCE_TRUNCATED
    return text


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
    """Return one finding as CSV cells, in `COLUMNS` order, before control and formula protection."""
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
        evidence_text(finding.evidence),
    ]


def render(result: ScanResult) -> bytes:
    """Return the CSV report, UTF-8 with a byte order mark so that Excel detects the encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for finding in result.findings:
        writer.writerow([csv_safe(cell) for cell in finding_row(finding, result)])
    return buffer.getvalue().encode("utf-8-sig")
