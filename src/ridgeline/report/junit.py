"""JUnit XML output, for CI systems that show test reports: one test suite per rule, one test case per finding.

FAIL is a <failure>, ERROR (not assessed) an <error>, MUTED a <skipped>, PASS a plain test case.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

import orjson

from ridgeline.model.finding import Finding, Status
from ridgeline.pipeline import ScanResult
from ridgeline.report.asff import timestamp
from ridgeline.report.csv_report import compliance_text, finding_service
from ridgeline.report.text import render_remediation

# XML 1.0 cannot hold most C0 controls, lone surrogates or U+FFFE/U+FFFF, and a parser rejects the
# whole file if one appears. C1 controls and the Unicode bidirectional overrides are legal but can make
# a CI page show a name reordered or garbled, so they are shown escaped too.
_NOT_XML_SAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def xml_safe(value: object) -> str:
    """Return `value` as text that XML 1.0 can hold, with forbidden characters shown as \\xNN or \\uNNNN."""
    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _NOT_XML_SAFE.sub(escape, str(value))


def _details(finding: Finding, result: ScanResult) -> str:
    rule = result.rules.get(finding.rule_id)
    lines = [
        finding.message,
        "",
        f"Resource: {finding.resource_id} ({finding.resource_type})",
        f"Account: {finding.account}  Region: {finding.region}  Severity: {finding.severity.value}",
    ]
    if finding.evidence:
        lines += ["", "Evidence:", orjson.dumps(finding.evidence, option=orjson.OPT_INDENT_2, default=str).decode()]
    if rule is not None:
        remediation = render_remediation(rule.remediation, finding)
        lines += ["", f"Remediation: {remediation['text']}"]
        if remediation["cli"]:
            lines += ["", "AWS CLI:", remediation["cli"]]
        if rule.compliance:
            lines += ["", f"Compliance: {compliance_text(rule)}"]
    return "\n".join(lines)


def _testcase(suite: ET.Element, finding: Finding, result: ScanResult) -> None:
    name = finding.resource_name or finding.resource_id
    if finding.region and finding.region != "global":
        name = f"{name} ({finding.region})"
    case = ET.SubElement(suite, "testcase", {
        "classname": xml_safe(finding.rule_id),
        "name": xml_safe(name),
        "time": "0",
    })

    if finding.status is Status.FAIL:
        failure = ET.SubElement(case, "failure", {"message": xml_safe(finding.message),
                                                  "type": finding.severity.value})
        failure.text = xml_safe(_details(finding, result))
    elif finding.status is Status.ERROR:
        error = ET.SubElement(case, "error", {"message": xml_safe(finding.message), "type": "not-assessed"})
        error.text = xml_safe(_details(finding, result))
    elif finding.status is Status.MUTED:
        ET.SubElement(case, "skipped", {"message": xml_safe(f"muted: {finding.muted_reason}")})


def junit_tree(result: ScanResult) -> ET.Element:
    """Return the <testsuites> element of a scan."""
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_rule[finding.rule_id].append(finding)

    scan = result.scan
    stamp = timestamp(scan.finished_at).removesuffix("Z")
    root = ET.Element("testsuites", {"name": f"ridgeline {scan.provider} scan {xml_safe(scan.id)}"})
    totals: dict[str, int] = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rule_id in sorted(by_rule):
        findings = by_rule[rule_id]
        counts: dict[str, int] = {
            "tests": len(findings),
            "failures": sum(f.status is Status.FAIL for f in findings),
            "errors": sum(f.status is Status.ERROR for f in findings),
            "skipped": sum(f.status is Status.MUTED for f in findings),
        }
        attributes = {"name": xml_safe(rule_id), **{key: str(value) for key, value in counts.items()},
                      "time": "0", "timestamp": stamp}
        suite = ET.SubElement(root, "testsuite", attributes)
        rule = result.rules.get(rule_id)
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("title", rule.title if rule else rule_id),
            ("severity", findings[0].severity.value),
            ("category", findings[0].category),
            ("service", finding_service(findings[0], rule)),
        ):
            ET.SubElement(properties, "property", {"name": name, "value": xml_safe(value)})
        for finding in findings:
            _testcase(suite, finding, result)
        for key, count in counts.items():
            totals[key] += count

    for key, count in totals.items():
        root.set(key, str(count))
    root.set("time", f"{scan.duration_s:.3f}")
    return root


def render(result: ScanResult) -> bytes:
    """Return the JUnit XML report."""
    root = junit_tree(result)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
