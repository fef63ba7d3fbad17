"""Ridgeline's native JSON report (documented in docs/output-formats.md)."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

import orjson

from ridgeline import __version__
from ridgeline.compliance.posture import posture_to_dict
from ridgeline.model.finding import Finding, Status
from ridgeline.pipeline import ScanResult
from ridgeline.report.text import render_remediation

FORMAT_VERSION = "1"


def finding_document(finding: Finding, result: ScanResult) -> dict[str, Any]:
    """Return one finding in the native JSON shape."""
    rule = result.rules.get(finding.rule_id)
    document: dict[str, Any] = {
        "id": finding.id,
        "rule_id": finding.rule_id,
        "title": rule.title if rule else finding.rule_id,
        "status": finding.status.value,
        "severity": finding.severity.value,
        "category": finding.category,
        "message": finding.message,
        "resource": {
            "id": finding.resource_id,
            "type": finding.resource_type,
            "name": finding.resource_name,
            "provider": finding.provider,
            "account": finding.account,
            "region": finding.region,
        },
        "evidence": finding.evidence,
        "remediation": render_remediation(rule.remediation, finding) if rule else {},
        "compliance": {framework: list(ids) for framework, ids in rule.compliance.items()} if rule else {},
        "muted_reason": finding.muted_reason or None,
    }
    return document


def scan_document(result: ScanResult) -> dict[str, Any]:
    """Return the whole scan: metadata, what was collected where, a summary and the findings."""
    document = _scan_head(result)
    document["findings"] = [finding_document(finding, result) for finding in result.findings]
    return document


def _scan_head(result: ScanResult) -> dict[str, Any]:
    """Return the scan document without its findings (the key is there, with an empty list)."""
    scan = result.scan
    counts: dict[str, int] = {status.value: 0 for status in Status}
    for finding in result.findings:
        counts[finding.status.value] += 1
    return {
        "format_version": FORMAT_VERSION,
        "tool": {"name": "ridgeline", "version": __version__},
        "scan": {
            "id": scan.id,
            "provider": scan.provider,
            "started_at": scan.started_at,
            "finished_at": scan.finished_at,
            "duration_s": scan.duration_s,
            "accounts": scan.accounts,
            "regions": scan.regions,
            "complete": scan.complete,
            "api_calls": scan.api_calls,
        },
        "collection": [unit.to_dict() for unit in result.collection.coverage],
        "summary": {"resources": len(result.collection.resources), "findings": counts},
        "compliance": [posture_to_dict(posture) for posture in result.postures],
        "findings": [],
    }


def render(result: ScanResult) -> bytes:
    """Return the native JSON report."""
    output = io.BytesIO()
    write(result, output)
    return output.getvalue()


_NO_FINDINGS = b'\n  "findings": []\n}'


def write(result: ScanResult, output: BinaryIO) -> None:
    """Write the native JSON report to `output`, one finding at a time.

    The bytes are those of `orjson.dumps(scan_document(result), option=OPT_INDENT_2)`, but the findings are
    never all in memory as documents: a million findings took several GB that way.
    """
    head = orjson.dumps(_scan_head(result), option=orjson.OPT_INDENT_2, default=str)
    # "findings" is the last key, so the document ends with its empty list, which the findings replace.
    assert head.endswith(_NO_FINDINGS), "the findings must be the last key of the scan document"
    if not result.findings:
        output.write(head)
        return

    output.write(head[:-len(_NO_FINDINGS)])
    separator = b'\n  "findings": [\n    '
    for finding in result.findings:
        text = orjson.dumps(finding_document(finding, result), option=orjson.OPT_INDENT_2, default=str)
        # Each finding sits two levels deep in the whole document.
        output.write(separator + text.replace(b"\n", b"\n    "))
        separator = b",\n    "
    output.write(b"\n  ]\n}")
