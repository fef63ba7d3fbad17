"""Tests for the CSV, ASFF, SARIF, JUnit and HTML reports, built from a hand-made scan result."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from ridgeline.compliance.model import (
    Framework,
    Posture,
    Requirement,
    RequirementResult,
    RequirementStatus,
    SectionScore,
)
from ridgeline.demo.emulator import Emulator, emulator_client
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import ACCOUNT_SCOPE_TYPE, CallError, Completeness, Coverage
from ridgeline.pipeline import ScanResult
from ridgeline.providers.aws.scanner import Collection
from ridgeline.report import asff, csv_report, html, junit, renderers, sarif
from ridgeline.rules.loader import build_rule
from ridgeline.rules.model import Rule
from ridgeline.rules.yamlsource import load_yaml_text
from ridgeline.store.database import StoredScan

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
BUCKET = "AWS::S3::Bucket"
GROUP = "AWS::EC2::SecurityGroup"


def rule_data(rule_id: str, *, severity: str = "high", service: str = "s3", resource_type: str = BUCKET,
              category: str = "storage-exposure", title: str = "", compliance: dict[str, list[str]] | None = None,
              references: list[str] | None = None) -> dict[str, Any]:
    """Return a rule as it is written in a rule file."""
    return {
        "id": rule_id,
        "title": title or f"Title of {rule_id}",
        "severity": severity,
        "category": category,
        "provider": "aws",
        "service": service,
        "resource_types": [resource_type],
        "description": "Why it matters.\nSecond line of the description.",
        "risk": "What can go wrong.",
        "remediation": {"text": "Fix ${name} in ${region}.", "cli": "aws s3api put-x --bucket ${name}",
                        "terraform": "resource \"aws_s3_bucket\" \"x\" {}"},
        "references": ["https://docs.aws.amazon.com/AmazonS3/latest/userguide/"] if references is None else references,
        "compliance": {"cis-aws-7.0": ["2.1.4"], "aws-fsbp": ["S3.8"]} if compliance is None else compliance,
        "fail_if": {"path": "configuration.public", "equals": True},
    }


def make_rule(rule_id: str, **fields: Any) -> Rule:
    return build_rule(load_yaml_text(yaml.safe_dump(rule_data(rule_id, **fields))), {}, "report-test.yaml")


RULES: dict[str, dict[str, Any]] = {
    "acme-s3-public": {"severity": "critical", "title": "Buckets are private"},
    "acme-s3-tls": {"severity": "low", "compliance": {}, "references": []},
    "acme-ec2-open": {"severity": "high", "service": "ec2", "resource_type": GROUP, "category": "network-exposure",
                     "compliance": {"pci-dss-4.0": ["1.3.1"]}},
    "acme-iam-root-mfa": {"severity": "medium", "service": "iam", "resource_type": "AWS::IAM::RootUser",
                          "category": "iam"},
}
"""The rules of the sample scan, by id: keyword arguments of `rule_data`."""


def make_finding(rule_id: str, status: Status, severity: Severity, *, name: str = "data",
                 account: str = ACCOUNT, region: str = "us-east-1", resource_type: str = BUCKET,
                 resource_id: str | None = None, category: str = "storage-exposure", message: str = "",
                 evidence: dict[str, Any] | None = None, muted_reason: str = "") -> Finding:
    return Finding(rule_id=rule_id, status=status, severity=severity, category=category, provider="aws",
                   account=account, region=region, resource_id=resource_id or f"arn:aws:s3:::{name}",
                   resource_type=resource_type, resource_name=name, message=message or f"{name}: {status.value}",
                   evidence=evidence or {}, muted_reason=muted_reason)


def make_posture(failing_resource: str = "arn:aws:s3:::data") -> Posture:
    requirements = (
        Requirement(id="2.1.4", title="S3 buckets block public access", section="2", automated=True,
                    rules=("acme-s3-public",)),
        Requirement(id="2.1.1", title="S3 buckets deny plain HTTP", section="2", automated=True,
                    rules=("acme-s3-tls",)),
        Requirement(id="1.1", title="Keep contact details current", section="1", automated=False),
        Requirement(id="5.1", title="Network ACLs block admin ports", section="5", automated=True,
                    rules=("acme-ec2-nacl",)),
    )
    framework = Framework(id="cis-aws-7.0", name="CIS AWS Foundations Benchmark", version="7.0.0", provider="aws",
                          requirements=requirements, sections={"1": "Identity", "2": "Storage", "5": "Networking"})
    results = [
        RequirementResult(requirement=requirements[0], status=RequirementStatus.FAIL,
                          failing_resources=[failing_resource], passed_findings=1, failed_findings=1),
        RequirementResult(requirement=requirements[1], status=RequirementStatus.PASS, passed_findings=3),
        RequirementResult(requirement=requirements[2], status=RequirementStatus.MANUAL),
        RequirementResult(requirement=requirements[3], status=RequirementStatus.NOT_ASSESSED, error_findings=2),
    ]
    sections = [
        SectionScore(section="1", title="Identity", passed=0, failed=0, manual=1, not_assessed=0),
        SectionScore(section="2", title="Storage", passed=1, failed=1, manual=0, not_assessed=0),
        SectionScore(section="5", title="Networking", passed=0, failed=0, manual=0, not_assessed=1),
    ]
    return Posture(framework=framework, results=results, sections=sections)


def sample_result(text: str = "") -> ScanResult:
    """Return a scan with every status, two accounts, an account-scope finding, gaps and a posture.

    `text` is added to every value that comes from the cloud: names, messages, evidence, errors.
    """
    rules = {rule_id: make_rule(rule_id, **fields) for rule_id, fields in RULES.items()}
    # Custom rules are written by people too: a hostile title must not break a report either.
    rules["acme-s3-public"] = make_rule("acme-s3-public", **{**RULES["acme-s3-public"],
                                                           "title": f"Buckets are private{text}"})
    evidence = {"configuration.public": True, f"tags.Owner{text}": f"team{text}", "not_assessed": []}
    findings = [
        make_finding("acme-s3-public", Status.FAIL, Severity.CRITICAL, name=f"data{text}",
                     message=f"Bucket data{text} is public.", evidence={**evidence, "not_assessed": None}),
        make_finding("acme-s3-public", Status.PASS, Severity.CRITICAL, name="safe"),
        make_finding("acme-ec2-open", Status.FAIL, Severity.HIGH, name=f"sg-web{text}", resource_type=GROUP,
                     category="network-exposure", account=OTHER_ACCOUNT, region="eu-west-1",
                     resource_id=f"arn:aws:ec2:eu-west-1:{OTHER_ACCOUNT}:security-group/sg-1"),
        make_finding("acme-s3-tls", Status.ERROR, Severity.LOW, name=f"logs{text}",
                     message=f"Not assessed: AccessDenied on s3:GetBucketPolicy{text}",
                     evidence={"not_assessed": [f"AccessDenied on s3:GetBucketPolicy (logs{text})"]}),
        make_finding("acme-s3-tls", Status.MUTED, Severity.LOW, name="archive", muted_reason=f"accepted risk{text}"),
        make_finding("acme-iam-root-mfa", Status.FAIL, Severity.MEDIUM, name=ACCOUNT, region="global",
                     resource_type=ACCOUNT_SCOPE_TYPE, resource_id=f"aws:{ACCOUNT}", category="iam"),
        make_finding("acme-gone", Status.FAIL, Severity.INFORMATIONAL, name=f"orphan{text}"),
    ]
    coverage = [
        Coverage(provider="aws", account=ACCOUNT, region="global", service="s3", status=Completeness.PARTIAL,
                 resource_counts={BUCKET: 4},
                 errors=[CallError(call="s3:GetBucketPolicy", code="AccessDenied", message=f"denied{text}",
                                   resource_id=f"arn:aws:s3:::logs{text}")]),
        Coverage(provider="aws", account=OTHER_ACCOUNT, region="eu-west-1", service="ec2",
                 status=Completeness.FAILED, failed_types={"AWS::EC2::Volume": "AccessDenied on ec2:DescribeVolumes"}),
        Coverage(provider="aws", account=ACCOUNT, region="global", service="iam"),
    ]
    resources = [Resource(provider="aws", account=ACCOUNT, region="us-east-1", type=BUCKET,
                          id=f"arn:aws:s3:::data{text}", name=f"data{text}", tags={"Owner": f"team{text}"})]
    collection = Collection(provider="aws", accounts=[ACCOUNT, OTHER_ACCOUNT], regions=["us-east-1", "eu-west-1"],
                            resources=resources, coverage=coverage, api_calls=17, duration_s=12.5)
    scan = StoredScan(id="scan-1", provider="aws", started_at="2025-03-01T10:00:00+00:00",
                      finished_at="2025-03-01T10:00:12+00:00", accounts=[ACCOUNT, OTHER_ACCOUNT],
                      regions=["us-east-1", "eu-west-1"], complete=False, api_calls=17, duration_s=12.5, options={})
    return ScanResult(scan=scan, collection=collection, findings=findings, rules=rules,
                      postures=[make_posture(f"arn:aws:s3:::data{text}")])


def test_renderers_list_every_format() -> None:
    assert list(renderers()) == ["json", "ocsf", "html", "csv", "asff", "sarif", "junit"]
    suffixes = [suffix for _, suffix in renderers().values()]
    assert len(set(suffixes)) == len(suffixes)


# --- CSV -------------------------------------------------------------------------------------


@pytest.fixture
def csv_rows() -> list[dict[str, str]]:
    content = csv_report.render(sample_result()).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))


def test_csv_header_and_row_count(csv_rows: list[dict[str, str]]) -> None:
    content = csv_report.render(sample_result())

    assert content.startswith("\ufeff".encode())
    assert content.decode("utf-8-sig").splitlines()[0] == ",".join(csv_report.COLUMNS)
    assert len(csv_rows) == len(sample_result().findings)


def test_csv_finding_columns(csv_rows: list[dict[str, str]]) -> None:
    failed = csv_rows[0]

    assert failed["rule_id"] == "acme-s3-public"
    assert failed["title"] == "Buckets are private"
    assert failed["status"] == "FAIL"
    assert failed["severity"] == "critical"
    assert failed["service"] == "s3"
    assert failed["account"] == ACCOUNT
    assert failed["resource_id"] == "arn:aws:s3:::data"
    assert failed["remediation"] == "Fix data in us-east-1."
    assert failed["remediation_cli"] == "aws s3api put-x --bucket data"
    assert failed["compliance"] == "aws-fsbp: S3.8; cis-aws-7.0: 2.1.4"
    assert csv_rows[4]["muted_reason"] == "accepted risk"


def test_csv_evidence_is_compact_json(csv_rows: list[dict[str, str]]) -> None:
    # Sorted keys and no spaces, so that the same evidence gives the same cell in every scan.
    assert csv_rows[0]["evidence"] == '{"configuration.public":true,"not_assessed":null,"tags.Owner":"team"}'
    assert csv_rows[1]["evidence"] == ""


def test_csv_evidence_truncated_with_marker() -> None:
    result = sample_result()
    result.findings[0].evidence = {"policy": "x" * (2 * csv_report.EVIDENCE_LIMIT)}

    rows = list(csv.DictReader(io.StringIO(csv_report.render(result).decode("utf-8-sig"))))

    cell = rows[0]["evidence"]
    assert cell.endswith(csv_report.EVIDENCE_TRUNCATED)
    assert len(cell) == csv_report.EVIDENCE_LIMIT + len(csv_report.EVIDENCE_TRUNCATED)
    assert cell.startswith('{"policy":"xxx')


def test_csv_unknown_rule_falls_back(csv_rows: list[dict[str, str]]) -> None:
    orphan = csv_rows[-1]

    assert orphan["title"] == "acme-gone"
    assert orphan["service"] == "s3"
    assert orphan["remediation"] == ""


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("a=b", "a=b"),
    ("", ""),
    ("plain", "plain"),
])
def test_csv_spreadsheet_safe(value: str, expected: str) -> None:
    assert csv_report.spreadsheet_safe(value) == expected


# --- ASFF ------------------------------------------------------------------------------------


@pytest.fixture
def asff_findings() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads(asff.render(sample_result()))
    return documents


def test_asff_required_attributes(asff_findings: list[dict[str, Any]]) -> None:
    required = {"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt",
                "Title", "Description", "Resources", "Types", "Severity"}

    assert len(asff_findings) == len(sample_result().findings)
    for document in asff_findings:
        assert required <= set(document), document["Id"]
        assert document["SchemaVersion"] == "2018-10-08"
        assert re.fullmatch(r"\d{12}", document["AwsAccountId"])
        assert document["RecordState"] == "ACTIVE"
        assert document["CreatedAt"] == "2025-03-01T10:00:12.000Z"
        assert all(type_.startswith("Software and Configuration Checks/") for type_ in document["Types"])


def test_asff_product_arn_and_region(asff_findings: list[dict[str, Any]]) -> None:
    failed, _, other_account, _, _, account_scope, _ = asff_findings

    assert failed["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert other_account["ProductArn"] == (
        f"arn:aws:securityhub:eu-west-1:{OTHER_ACCOUNT}:product/{OTHER_ACCOUNT}/default")
    # A global finding goes to the scan's first region.
    assert account_scope["Resources"][0]["Region"] == "us-east-1"


def test_asff_statuses(asff_findings: list[dict[str, Any]]) -> None:
    statuses = [(d["Compliance"]["Status"], d["Workflow"]["Status"]) for d in asff_findings]

    assert statuses == [("FAILED", "NEW"), ("PASSED", "RESOLVED"), ("FAILED", "NEW"), ("NOT_AVAILABLE", "NEW"),
                        ("FAILED", "SUPPRESSED"), ("FAILED", "NEW"), ("FAILED", "NEW")]
    assert [d["Severity"]["Label"] for d in asff_findings] == [
        "CRITICAL", "CRITICAL", "HIGH", "LOW", "LOW", "MEDIUM", "INFORMATIONAL"]
    assert asff_findings[4]["ProductFields"]["ridgeline/MutedReason"] == "accepted risk"


def test_asff_resources(asff_findings: list[dict[str, Any]]) -> None:
    bucket = asff_findings[0]["Resources"][0]
    group = asff_findings[2]["Resources"][0]
    account = asff_findings[5]["Resources"][0]

    assert bucket == {"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::data", "Partition": "aws", "Region": "us-east-1"}
    assert group["Type"] == "AwsEc2SecurityGroup"
    assert account["Type"] == "AwsAccount"
    assert account["Id"] == f"AWS::::Account:{ACCOUNT}"


def test_asff_rule_details(asff_findings: list[dict[str, Any]]) -> None:
    failed, orphan = asff_findings[0], asff_findings[-1]

    assert failed["GeneratorId"] == "acme-s3-public"
    assert failed["Title"] == "Buckets are private"
    assert failed["Description"] == "Bucket data is public. Why it matters. Second line of the description."
    assert failed["Remediation"]["Recommendation"] == {
        "Text": "Fix data in us-east-1.", "Url": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"}
    assert failed["Compliance"]["RelatedRequirements"] == ["aws-fsbp S3.8", "cis-aws-7.0 2.1.4"]
    assert "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark" \
        in failed["Types"]
    assert orphan["Title"] == "acme-gone"
    assert "Remediation" not in orphan


def test_asff_ids_are_stable() -> None:
    first = json.loads(asff.render(sample_result()))
    second = json.loads(asff.render(sample_result()))

    assert [d["Id"] for d in first] == [d["Id"] for d in second]
    assert len({d["Id"] for d in first}) == len(first)


def test_asff_truncates_to_field_limits() -> None:
    result = sample_result()
    long_rule = make_rule("acme-s3-public", severity="critical", title="T" * 400)
    result.rules["acme-s3-public"] = long_rule
    result.findings[0].message = "word " * 400

    document = json.loads(asff.render(result))[0]

    assert len(document["Title"]) == asff.MAX_TITLE
    assert len(document["Description"]) == asff.MAX_DESCRIPTION
    assert document["Description"].endswith("…")


def test_asff_skips_other_providers() -> None:
    result = sample_result()
    result.findings[0].provider = "azure"

    documents = json.loads(asff.render(result))

    assert len(documents) == len(result.findings) - 1


def test_asff_imports_into_security_hub(emulator: Emulator) -> None:
    # boto3 validates every finding against the Security Hub service model before sending it, and the
    # emulator then stores it: a missing required field or a wrong type fails here.
    documents = json.loads(asff.render(sample_result()))
    client = emulator_client(emulator.endpoint, "securityhub", "us-east-1")

    response = client.batch_import_findings(Findings=documents)

    assert response["FailedFindings"] == []
    assert response["SuccessCount"] == len(documents)


# --- SARIF -----------------------------------------------------------------------------------


@pytest.fixture
def sarif_log() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(sarif.render(sample_result()))
    return document


def test_sarif_envelope(sarif_log: dict[str, Any]) -> None:
    assert sarif_log["version"] == "2.1.0"
    assert sarif_log["$schema"].endswith("sarif-2.1.0.json")
    assert len(sarif_log["runs"]) == 1
    run = sarif_log["runs"][0]
    assert run["tool"]["driver"]["name"] == "Ridgeline"
    assert run["automationDetails"]["id"] == "ridgeline/aws/scan-1"
    assert run["invocations"][0]["startTimeUtc"] == "2025-03-01T10:00:00.000Z"


def test_sarif_rules(sarif_log: dict[str, Any]) -> None:
    rules = sarif_log["runs"][0]["tool"]["driver"]["rules"]
    by_id = {rule["id"]: rule for rule in rules}

    assert set(by_id) == {"acme-s3-public", "acme-s3-tls", "acme-ec2-open", "acme-iam-root-mfa", "acme-gone"}
    public = by_id["acme-s3-public"]
    assert public["name"] == "AcmeS3Public"
    assert public["shortDescription"]["text"] == "Buckets are private"
    assert public["fullDescription"]["text"].startswith("Why it matters.")
    assert "aws s3api put-x --bucket ${name}" in public["help"]["text"]
    assert public["helpUri"] == "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
    assert public["properties"]["security-severity"] == "9.5"
    assert float(public["properties"]["security-severity"]) >= 9.0
    assert {"security", "storage-exposure", "s3", "cis-aws-7.0/2.1.4"} <= set(public["properties"]["tags"])
    assert by_id["acme-gone"]["shortDescription"]["text"] == "acme-gone"


def test_sarif_results(sarif_log: dict[str, Any]) -> None:
    run = sarif_log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]

    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("acme-s3-public", "error"), ("acme-ec2-open", "error"), ("acme-s3-tls", "note"),
        ("acme-iam-root-mfa", "warning"), ("acme-gone", "note")]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["kind"] == "fail"
        assert "physicalLocation" not in result["locations"][0]
    first = results[0]
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "arn:aws:s3:::data"
    assert first["partialFingerprints"]["ridgelineFindingId/v1"] == sample_result().findings[0].id
    assert first["properties"]["evidence"]["configuration.public"] is True


def test_sarif_suppressions_and_notifications(sarif_log: dict[str, Any]) -> None:
    run = sarif_log["runs"][0]
    muted = [r for r in run["results"] if "suppressions" in r]
    notifications = run["invocations"][0]["toolExecutionNotifications"]

    assert len(muted) == 1
    assert muted[0]["suppressions"] == [{"kind": "external", "status": "accepted", "justification": "accepted risk"}]
    texts = [n["message"]["text"] for n in notifications]
    assert any(text.startswith("Not assessed:") for text in texts)
    assert any("AccessDenied on s3:GetBucketPolicy" in text for text in texts)
    assert any("could not list AWS::EC2::Volume" in text for text in texts)


# --- JUnit -----------------------------------------------------------------------------------


@pytest.fixture
def junit_root() -> ET.Element:
    return ET.fromstring(junit.render(sample_result()))


def test_junit_totals(junit_root: ET.Element) -> None:
    assert junit_root.tag == "testsuites"
    assert (junit_root.get("tests"), junit_root.get("failures"), junit_root.get("errors"),
            junit_root.get("skipped")) == ("7", "4", "1", "1")


def test_junit_suites_per_rule(junit_root: ET.Element) -> None:
    suites = {suite.get("name", ""): suite for suite in junit_root.iter("testsuite")}

    assert sorted(suites) == ["acme-ec2-open", "acme-gone", "acme-iam-root-mfa", "acme-s3-public", "acme-s3-tls"]
    tls = suites["acme-s3-tls"]
    assert (tls.get("tests"), tls.get("errors"), tls.get("skipped")) == ("2", "1", "1")
    properties = {p.get("name"): p.get("value") for p in suites["acme-s3-public"].iter("property")}
    assert properties["title"] == "Buckets are private"
    assert properties["severity"] == "critical"


def test_junit_cases(junit_root: ET.Element) -> None:
    cases = {(case.get("classname"), case.get("name")): case for case in junit_root.iter("testcase")}

    failed = cases[("acme-s3-public", "data (us-east-1)")]
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message") == "Bucket data is public."
    assert failure.get("type") == "critical"
    assert "Remediation: Fix data in us-east-1." in (failure.text or "")
    assert cases[("acme-s3-public", "safe (us-east-1)")].find("*") is None
    error = cases[("acme-s3-tls", "logs (us-east-1)")].find("error")
    assert error is not None
    assert error.get("type") == "not-assessed"
    skipped = cases[("acme-s3-tls", "archive (us-east-1)")].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "muted: accepted risk"
    assert ("acme-iam-root-mfa", ACCOUNT) in cases


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "plain"),
    ("a\x1b[31mb", "a\\x1b[31mb"),
    ("\x00", "\\x00"),
    ("tab\tnew\nline", "tab\tnew\nline"),
    ("\u202egnp.exe", "\\u202egnp.exe"),
    ("<&>\"'", "<&>\"'"),
])
def test_junit_xml_safe(value: str, expected: str) -> None:
    assert junit.xml_safe(value) == expected


# --- HTML ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html_page() -> str:
    return html.render(sample_result()).decode()


def report_json(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match is not None
    document: dict[str, Any] = json.loads(match.group(1))
    return document


def inline_blocks(page: str, tag: str) -> Iterator[str]:
    yield from re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)


def test_html_csp_hashes_match_inline_code(html_page: str) -> None:
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html_page)
    assert policy is not None
    directives = dict(item.strip().split(" ", 1) for item in policy.group(1).split(";"))

    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in policy.group(1)
    scripts = list(inline_blocks(html_page, "script"))
    styles = list(inline_blocks(html_page, "style"))
    assert len(scripts) == 1
    assert len(styles) == 1
    assert directives["script-src"] == html.csp_hash(scripts[0])
    assert directives["style-src"] == html.csp_hash(styles[0])


def test_html_makes_no_external_reference(html_page: str) -> None:
    without_data = re.sub(r'<script type="application/json".*?</script>', "", html_page, flags=re.S)

    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", without_data)
    assert "@import" not in without_data
    assert "url(" not in without_data


def test_html_summary_and_gaps(html_page: str) -> None:
    assert "2 check(s)" not in html_page
    assert "1 check(s) could not be evaluated; 2 collection unit(s) are partial or failed" in html_page
    assert "AccessDenied on s3:GetBucketPolicy (arn:aws:s3:::logs): denied" in html_page
    assert "could not list AWS::EC2::Volume: AccessDenied on ec2:DescribeVolumes" in html_page
    assert f"{ACCOUNT}, {OTHER_ACCOUNT}" in html_page


def test_html_charts(html_page: str) -> None:
    charts = re.search(r'<section id="charts">(.*?)</section>', html_page, re.S)
    assert charts is not None

    assert charts.group(1).count("<svg") == 4
    assert 'data-filter="severity" data-value="critical"' in charts.group(1)
    assert 'data-filter="service" data-value="ec2"' in charts.group(1)
    assert f'data-filter="account" data-value="{OTHER_ACCOUNT}"' in charts.group(1)
    # MUTED, PASS and ERROR findings are not counted: 4 FAIL bars in the severity chart.
    assert re.findall(r"<title>(\w+): (\d+) FAIL</title>", charts.group(1))[:4] == [
        ("critical", "1"), ("high", "1"), ("medium", "1"), ("informational", "1")]


def test_html_compliance_posture(html_page: str) -> None:
    section = re.search(r'<section id="compliance">(.*?)</section>', html_page, re.S)
    assert section is not None
    body = section.group(1)

    assert "CIS AWS Foundations Benchmark" in body
    assert "50.0%" in body
    for status in ("fail", "pass", "manual", "not-assessed"):
        assert f'<span class="badge st-{status}">{status}</span>' in body
    assert "arn:aws:s3:::data" in body


def test_html_without_postures_has_no_compliance_section() -> None:
    result = sample_result()
    result.postures = []

    assert 'id="compliance"' not in html.render(result).decode()


def test_html_embedded_findings(html_page: str) -> None:
    data = report_json(html_page)

    assert len(data["findings"]) == 7
    first = data["findings"][0]
    assert first["service"] == "s3"
    assert first["remediation"]["cli"] == "aws s3api put-x --bucket data"
    assert data["findings"][1]["remediation"] is None
    assert data["rules"]["acme-s3-public"]["references"] == ["https://docs.aws.amazon.com/AmazonS3/latest/userguide/"]


@pytest.mark.parametrize(("value", "expected"), [
    ("</script><script>x()</script>", "\\u003c/script\\u003e\\u003cscript\\u003ex()\\u003c/script\\u003e"),
    ("a & b", "a \\u0026 b"),
    ("<!--", "\\u003c!--"),
])
def test_html_script_json_escapes(value: str, expected: str) -> None:
    encoded = html.script_json(value)

    assert encoded == f'"{expected}"'
    assert json.loads(encoded) == value
