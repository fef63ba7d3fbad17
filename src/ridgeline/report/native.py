"""Ridgeline's native JSON report (documented in docs/output-formats.md)."""

from __future__ import annotations

from typing import Any

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
        "findings": [finding_document(finding, result) for finding in result.findings],
    }


def render(result: ScanResult) -> bytes:
    """Return the native JSON report."""
    return orjson.dumps(scan_document(result), option=orjson.OPT_INDENT_2, default=str)
