"""SARIF 2.1.0 output: one run, the rules as reporting descriptors, FAIL and MUTED findings as results.

A cloud resource has no file and line, so results carry logical locations only (the resource ARN),
which SARIF allows. Findings that could not be assessed (ERROR) are tool execution notifications,
not results, because they describe a gap in the scan and not a problem of the resource.
"""

from __future__ import annotations

from typing import Any

import orjson

from ridgeline import __version__
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.pipeline import ScanResult
from ridgeline.report.asff import timestamp
from ridgeline.report.csv_report import finding_service
from ridgeline.report.text import cli_name, render_remediation
from ridgeline.rules.model import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
}
# GitHub code scanning reads `security-severity` (a number from 0.0 to 10.0, written as a string) to
# rank security alerts: 9.0 and above is critical, 7.0 high, 4.0 medium, 0.1 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFORMATIONAL: "0.0",
}


def pascal_case(rule_id: str) -> str:
    """Return a rule id as the identifier-like name SARIF viewers show: aws-s3-x -> AwsS3X."""
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-") if part)


def rule_descriptor(rule_id: str, rule: Rule | None, severity: Severity) -> dict[str, Any]:
    """Return the reportingDescriptor of one rule (or a bare one for a rule no longer loaded)."""
    if rule is None:
        return {
            "id": rule_id,
            "name": pascal_case(rule_id),
            "shortDescription": {"text": rule_id},
            "defaultConfiguration": {"level": _LEVEL[severity]},
            "properties": {"security-severity": SECURITY_SEVERITY[severity], "tags": ["security"]},
        }

    cli_heading = cli_name(rule.provider)
    help_text = "\n\n".join(part for part in (
        rule.risk,
        f"Remediation: {rule.remediation.text}",
        f"{cli_heading}:\n{rule.remediation.cli}" if rule.remediation.cli else "",
        f"Terraform:\n{rule.remediation.terraform}" if rule.remediation.terraform else "",
    ) if part)
    help_markdown = "\n\n".join(part for part in (
        rule.risk,
        f"**Remediation**: {rule.remediation.text}",
        f"**{cli_heading}**\n\n```sh\n{rule.remediation.cli}\n```" if rule.remediation.cli else "",
        f"**Terraform**\n\n```hcl\n{rule.remediation.terraform}\n```" if rule.remediation.terraform else "",
    ) if part)
    tags = ["security", rule.category, rule.service, rule.provider]
    tags += [f"{framework}/{requirement}" for framework, ids in rule.compliance.items() for requirement in ids]

    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description or rule.title},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "severity": rule.severity.value,
            # Configuration checks read the actual setting, so a FAIL is not a guess.
            "precision": "very-high",
            "tags": tags,
        },
    }
    if rule.references:
        descriptor["helpUri"] = rule.references[0]
    return descriptor


def sarif_result(finding: Finding, result: ScanResult, rule_index: int) -> dict[str, Any]:
    """Return the SARIF result of a FAIL or MUTED finding."""
    rule = result.rules.get(finding.rule_id)
    properties: dict[str, Any] = {
        "severity": finding.severity.value,
        "category": finding.category,
        "service": finding_service(finding, rule),
        "provider": finding.provider,
        "account": finding.account,
        "region": finding.region,
        "resourceType": finding.resource_type,
        "resourceName": finding.resource_name,
        "evidence": finding.evidence,
    }
    if rule is not None:
        properties["remediation"] = render_remediation(rule.remediation, finding)

    document: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message or finding.rule_id},
        "locations": [{"logicalLocations": [{
            "name": finding.resource_name or finding.resource_id,
            "fullyQualifiedName": finding.resource_id,
            "kind": "resource",
        }]}],
        # The finding id hashes rule, resource and region: the same problem keeps the same fingerprint.
        "partialFingerprints": {"ridgelineFindingId/v1": finding.id},
        "properties": properties,
    }
    if finding.status is Status.MUTED:
        document["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": finding.muted_reason or "muted by a Ridgeline suppression",
        }]
    return document


def _notifications(result: ScanResult, rule_indexes: dict[str, int]) -> list[dict[str, Any]]:
    """Return what could not be assessed: ERROR findings and failed collection calls."""
    notifications: list[dict[str, Any]] = []
    for finding in result.findings:
        if finding.status is not Status.ERROR:
            continue
        notification: dict[str, Any] = {
            "level": "warning",
            "message": {"text": f"Not assessed: {finding.message}"},
            "locations": [{"logicalLocations": [{"fullyQualifiedName": finding.resource_id, "kind": "resource"}]}],
            "properties": {"account": finding.account, "region": finding.region},
        }
        if finding.rule_id in rule_indexes:
            notification["associatedRule"] = {"id": finding.rule_id, "index": rule_indexes[finding.rule_id]}
        notifications.append(notification)
    for unit in result.collection.coverage:
        for error in unit.errors:
            notifications.append({
                "level": "warning",
                "message": {"text": f"{unit.service} {unit.account} {unit.region}: {error.describe()}"},
                "properties": {"call": error.call, "code": error.code, "resource": error.resource_id},
            })
        for resource_type, reason in unit.failed_types.items():
            notifications.append({
                "level": "error",
                "message": {"text": f"{unit.service} {unit.account} {unit.region}: could not list "
                                    f"{resource_type}: {reason}"},
            })
    return notifications


def sarif_document(result: ScanResult) -> dict[str, Any]:
    """Return the SARIF log of a scan."""
    # Every rule that produced a finding is described, so that ERROR-only rules can be referenced too.
    severities: dict[str, Severity] = {}
    for finding in result.findings:
        severities.setdefault(finding.rule_id, finding.severity)
    rule_ids = sorted(set(result.rules) | set(severities))
    rule_indexes = {rule_id: index for index, rule_id in enumerate(rule_ids)}
    descriptors = [rule_descriptor(rule_id, result.rules.get(rule_id), severities.get(rule_id, Severity.MEDIUM))
                   for rule_id in rule_ids]

    reported = [f for f in result.findings if f.status in (Status.FAIL, Status.MUTED)]
    scan = result.scan
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "Ridgeline",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": descriptors,
        }},
        "automationDetails": {"id": f"ridgeline/{scan.provider}/{scan.id}"},
        "invocations": [{
            # The scan ran to the end; what it could not assess is in the notifications.
            "executionSuccessful": True,
            "startTimeUtc": timestamp(scan.started_at),
            "endTimeUtc": timestamp(scan.finished_at),
            "toolExecutionNotifications": _notifications(result, rule_indexes),
            "properties": {"complete": scan.complete, "apiCalls": scan.api_calls},
        }],
        "results": [sarif_result(finding, result, rule_indexes[finding.rule_id]) for finding in reported],
        "properties": {
            "scanId": scan.id,
            "provider": scan.provider,
            "accounts": scan.accounts,
            "regions": scan.regions,
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render(result: ScanResult) -> bytes:
    """Return the SARIF report."""
    return orjson.dumps(sarif_document(result), option=orjson.OPT_INDENT_2, default=str)
