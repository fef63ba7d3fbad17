"""OCSF 1.3 Detection Finding (class 2004) output: one event per finding, as a JSON array."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ridgeline import __version__
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.pipeline import ScanResult
from ridgeline.report.text import render_remediation

OCSF_VERSION = "1.3.0"
_CLASS_UID = 2004  # Detection Finding
_CATEGORY_UID = 2  # Findings
_ACTIVITY_CREATE = 1

_SEVERITY_ID = {
    Severity.INFORMATIONAL: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}
# Compliance status ids as OCSF's compliance object numbers them: 1 Pass, 3 Fail, 0 Unknown (not assessed).
_COMPLIANCE_STATUS = {
    Status.PASS: (1, "Pass"),
    Status.FAIL: (3, "Fail"),
    Status.ERROR: (0, "Unknown"),
    Status.MUTED: (3, "Fail"),
}
_PROVIDER_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}


def finding_event(finding: Finding, result: ScanResult) -> dict[str, Any]:
    """Return one OCSF Detection Finding event."""
    rule = result.rules.get(finding.rule_id)
    finished = datetime.fromisoformat(result.scan.finished_at)
    time_ms = int(finished.timestamp() * 1000)
    compliance_id, compliance_name = _COMPLIANCE_STATUS[finding.status]
    severity_id = _SEVERITY_ID[finding.severity]
    remediation = render_remediation(rule.remediation, finding) if rule else {"text": ""}

    event: dict[str, Any] = {
        "activity_id": _ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": _CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": _CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": _CLASS_UID * 100 + _ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "time": time_ms,
        "severity_id": severity_id,
        "severity": finding.severity.value.capitalize(),
        "status_id": 3 if finding.status is Status.MUTED else 1,
        "status": "Suppressed" if finding.status is Status.MUTED else "New",
        "status_code": finding.status.value,
        "status_detail": finding.message,
        "message": finding.message,
        "finding_info": {
            "uid": finding.id,
            "title": rule.title if rule else finding.rule_id,
            "desc": rule.description if rule else "",
            "types": [finding.category],
            "created_time": time_ms,
            "product_uid": "ridgeline",
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Ridgeline", "vendor_name": "Ridgeline", "version": __version__},
            "event_code": finding.rule_id,
            "uid": f"{result.scan.id}/{finding.id}",
        },
        "cloud": {
            "provider": _PROVIDER_NAMES.get(finding.provider, finding.provider),
            "account": {"uid": finding.account},
            "region": finding.region,
        },
        "resources": [{
            "uid": finding.resource_id,
            "name": finding.resource_name,
            "type": finding.resource_type,
            "region": finding.region,
            "cloud_partition": finding.resource_id.split(":")[1] if finding.resource_id.startswith("arn:") else None,
            "data": {"evidence": finding.evidence},
        }],
        "remediation": {
            "desc": remediation["text"],
            "references": list(rule.references) if rule else [],
        },
        "risk_details": rule.risk if rule else "",
    }
    # Detection Finding has no place for a framework mapping or a command, so they travel in
    # `unmapped`, as OCSF intends for source data without a schema attribute.
    unmapped: dict[str, Any] = {
        "compliance_status": compliance_name,
        "compliance_status_id": compliance_id,
        "compliance": {framework: list(ids) for framework, ids in (rule.compliance if rule else {}).items()},
        "remediation_cli": remediation.get("cli", ""),
        "remediation_terraform": remediation.get("terraform", ""),
    }
    if finding.muted_reason:
        unmapped["muted_reason"] = finding.muted_reason
    event["unmapped"] = unmapped
    return event


def render(result: ScanResult) -> bytes:
    """Return every finding as an OCSF JSON array."""
    events = [finding_event(finding, result) for finding in result.findings]
    return orjson.dumps(events, option=orjson.OPT_INDENT_2, default=str)
