"""compute_posture: each requirement's status from its rules' findings, section scores and the JSON form."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from ridgeline.compliance.loader import UnknownFrameworkError
from ridgeline.compliance.model import Framework, Requirement, RequirementResult, RequirementStatus
from ridgeline.compliance.posture import compute_posture, posture_for, posture_to_dict, requirement_rules
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.scan import Coverage
from ridgeline.rules.conditions import compile_condition
from ridgeline.rules.model import Remediation, Rule
from ridgeline.rules.yamlsource import load_yaml_text


def make_rule(rule_id: str, service: str, resource_type: str, compliance: dict[str, tuple[str, ...]] | None = None,
              ) -> Rule:
    return Rule(id=rule_id, title=rule_id, severity=Severity.HIGH, category="encryption", provider="aws",
                service=service, resource_types=(resource_type,), description="d", risk="r",
                remediation=Remediation(text="fix"),
                fail_if=compile_condition(load_yaml_text("{path: name, equals: x}")),
                compliance=compliance or {})


RULES = [
    make_rule("s3-encrypted", "s3", "AWS::S3::Bucket"),
    make_rule("rds-encrypted", "rds", "AWS::RDS::DBInstance"),
    make_rule("kms-rotation", "kms", "AWS::KMS::Key"),
]

FRAMEWORK = Framework(
    id="acme", name="ACME", version="1", provider="aws",
    sections={"1": "Data", "2": "Keys", "3": "People"},
    requirements=(
        Requirement(id="1.1", title="Stores are encrypted", section="1", automated=True,
                    rules=("s3-encrypted", "rds-encrypted")),
        Requirement(id="1.2", title="Buckets are encrypted", section="1", automated=True, rules=("s3-encrypted",)),
        Requirement(id="2.1", title="Keys rotate", section="2", automated=True, rules=("kms-rotation",)),
        Requirement(id="3.1", title="People are trained", section="3", automated=False),
    ),
)


def finding(rule_id: str, status: Status, resource: str, message: str = "") -> Finding:
    return Finding(rule_id=rule_id, status=status, severity=Severity.HIGH, category="encryption", provider="aws",
                   account="123456789012", region="us-east-1", resource_id=resource, resource_type="AWS::S3::Bucket",
                   resource_name=resource.rsplit(":", 1)[-1], message=message or f"{status} on {resource}")


def coverage(*services: str) -> list[Coverage]:
    return [Coverage(provider="aws", account="123456789012", region="global", service=service) for service in services]


def result_of(findings: list[Finding], requirement_id: str, scanned: list[Coverage] | None = None,
              rules: list[Rule] = RULES) -> RequirementResult:
    posture = compute_posture(FRAMEWORK, findings, rules, coverage=scanned)
    return next(result for result in posture.results if result.requirement.id == requirement_id)


S3 = "s3-encrypted"
RDS = "rds-encrypted"
KMS = "kms-rotation"

CASES = [
    pytest.param([(S3, Status.PASS, "b1")], "1.2", None, RequirementStatus.PASS, [], "", id="pass"),
    pytest.param([(S3, Status.PASS, "b1"), (S3, Status.MUTED, "b2")], "1.2", None, RequirementStatus.PASS, [], "",
                 id="pass-with-muted"),
    pytest.param([(S3, Status.PASS, "b1"), (S3, Status.FAIL, "b2"), (RDS, Status.FAIL, "db1"),
                  (S3, Status.FAIL, "b2")], "1.1", None, RequirementStatus.FAIL, ["b2", "db1"], "",
                 id="fail-lists-resources-once"),
    pytest.param([(S3, Status.FAIL, "b1"), (S3, Status.ERROR, "b2")], "1.2", None, RequirementStatus.FAIL, ["b1"],
                 "", id="fail-beats-error"),
    pytest.param([(S3, Status.ERROR, "b1", "access denied on s3:GetBucketEncryption")], "1.2", None,
                 RequirementStatus.NOT_ASSESSED, [], "1 finding(s) could not be assessed (ERROR)", id="error-only"),
    pytest.param([(S3, Status.PASS, "b1"), (S3, Status.ERROR, "b2", "throttled")], "1.2", None,
                 RequirementStatus.NOT_ASSESSED, [], "s3-encrypted on b2: throttled", id="pass-and-error"),
    pytest.param([(S3, Status.MUTED, "b1")], "1.2", None, RequirementStatus.NOT_ASSESSED, [],
                 "Every finding is muted", id="muted-only"),
    pytest.param([], "1.2", coverage("s3"), RequirementStatus.NOT_ASSESSED, [],
                 "no resource of the types these rules judge (AWS::S3::Bucket)", id="no-resources"),
    pytest.param([], "2.1", coverage("s3"), RequirementStatus.NOT_ASSESSED, [], "Not scanned: kms",
                 id="service-not-scanned"),
    pytest.param([(S3, Status.PASS, "b1")], "1.1", coverage("s3"), RequirementStatus.NOT_ASSESSED, [],
                 "Not scanned: rds", id="pass-but-other-rule-not-scanned"),
    pytest.param([(S3, Status.PASS, "b1")], "1.1", coverage("s3", "rds"), RequirementStatus.PASS, [], "",
                 id="pass-other-rule-found-no-resources"),
    pytest.param([(S3, Status.PASS, "b1")], "1.1", None, RequirementStatus.PASS, [], "",
                 id="pass-without-coverage"),
    pytest.param([(S3, Status.PASS, "b1")], "3.1", None, RequirementStatus.MANUAL, [], "a person must assess it",
                 id="manual"),
]


@pytest.mark.parametrize(("findings", "requirement_id", "scanned", "status", "failing", "reason"), CASES)
def test_requirement_status(findings: list[tuple[str, ...]], requirement_id: str, scanned: list[Coverage] | None,
                            status: RequirementStatus, failing: list[str], reason: str) -> None:
    built = [finding(rule_id, Status(item_status), resource, *rest)
             for rule_id, item_status, resource, *rest in findings]

    result = result_of(built, requirement_id, scanned)

    assert result.status is status
    assert result.failing_resources == failing
    assert reason in result.reason
    if status in (RequirementStatus.PASS, RequirementStatus.FAIL):
        assert result.reason == ""


def test_finding_counts() -> None:
    findings = [finding(S3, Status.PASS, "b1"), finding(S3, Status.FAIL, "b2"), finding(S3, Status.ERROR, "b3"),
                finding(S3, Status.MUTED, "b4"), finding(S3, Status.PASS, "b5")]

    result = result_of(findings, "1.2")

    counts = (result.passed_findings, result.failed_findings, result.error_findings, result.muted_findings)
    assert counts == (2, 1, 1, 1)
    assert result.rules == (S3,)
    assert result.first_failed_at is None


def test_findings_of_other_rules_are_ignored() -> None:
    findings = [finding(S3, Status.PASS, "b1"), finding("unrelated", Status.FAIL, "x")]

    assert result_of(findings, "1.2").status is RequirementStatus.PASS


def test_rule_claim_adds_to_requirement() -> None:
    claiming = make_rule("acme-bucket-tags", "s3", "AWS::S3::Bucket", {"acme": ("1.2",)})
    findings = [finding(S3, Status.PASS, "b1"), finding("acme-bucket-tags", Status.FAIL, "b9")]

    result = result_of(findings, "1.2", rules=[*RULES, claiming])

    assert result.status is RequirementStatus.FAIL
    assert result.failing_resources == ["b9"]
    assert result.rules == (S3, "acme-bucket-tags")


def test_claim_of_unknown_requirement_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    claiming = make_rule("acme-bucket-tags", "s3", "AWS::S3::Bucket", {"acme": ("9.9",), "other": ("1.2",)})

    with caplog.at_level(logging.WARNING):
        rule_ids = requirement_rules(FRAMEWORK, [*RULES, claiming])

    assert "rule acme-bucket-tags claims requirement 9.9, which framework acme does not have" in caplog.text
    assert rule_ids["1.2"] == (S3,)


def test_listed_rule_that_is_not_loaded() -> None:
    framework = replace(FRAMEWORK, requirements=(
        Requirement(id="1.1", title="t", section="1", automated=True, rules=("gone-rule",)),))

    [result] = compute_posture(framework, [], RULES).results

    assert result.status is RequirementStatus.NOT_ASSESSED
    assert result.reason == "No findings, and the rules gone-rule are not loaded."


def test_section_and_overall_scores() -> None:
    findings = [finding(S3, Status.PASS, "b1"), finding(RDS, Status.FAIL, "db1"), finding(KMS, Status.PASS, "k1")]

    posture = compute_posture(FRAMEWORK, findings, RULES)

    scores = {(s.section, s.title): (s.passed, s.failed, s.manual, s.not_assessed, s.score) for s in posture.sections}
    assert scores == {
        ("1", "Data"): (1, 1, 0, 0, 50.0),
        ("2", "Keys"): (1, 0, 0, 0, 100.0),
        ("3", "People"): (0, 0, 1, 0, None),
    }
    assert posture.score == pytest.approx(66.7)


def test_score_is_none_when_nothing_was_judged() -> None:
    posture = compute_posture(FRAMEWORK, [], RULES, coverage=[])

    assert posture.score is None
    assert {result.status for result in posture.results} == {RequirementStatus.NOT_ASSESSED, RequirementStatus.MANUAL}


def test_posture_to_dict() -> None:
    findings = [finding(S3, Status.FAIL, "arn:aws:s3:::b1"), finding(KMS, Status.ERROR, "k1", "denied")]

    data = posture_to_dict(compute_posture(FRAMEWORK, findings, RULES))

    assert data["framework"] == {"id": "acme", "name": "ACME", "version": "1", "provider": "aws"}
    assert data["score"] == 0.0
    assert data["counts"] == {"pass": 0, "fail": 2, "manual": 1, "not-assessed": 1}
    assert data["sections"][0] == {"id": "1", "title": "Data", "score": 0.0, "passed": 0, "failed": 2, "manual": 0,
                                   "not_assessed": 0}
    first = data["requirements"][0]
    assert first == {
        "id": "1.1", "title": "Stores are encrypted", "section": "1", "automated": True,
        "rules": ["s3-encrypted", "rds-encrypted"], "status": "fail", "failing_resources": ["arn:aws:s3:::b1"],
        "passed_findings": 0, "failed_findings": 1, "error_findings": 0, "muted_findings": 0,
        "first_failed_at": None, "reason": "",
    }
    assert data["requirements"][2]["status"] == "not-assessed"
    assert "k1: denied" in data["requirements"][2]["reason"]


def test_posture_for_loads_builtin_framework(builtin_rules: list[Rule]) -> None:
    findings = [finding("aws-s3-bucket-secure-transport", Status.FAIL, "arn:aws:s3:::b1")]

    posture = posture_for("cis-aws-7.0", findings, builtin_rules, coverage=coverage("s3"))

    assert posture.framework.id == "cis-aws-7.0"
    tls = next(result for result in posture.results if result.requirement.id == "3.1.1")
    assert tls.status is RequirementStatus.FAIL


def test_posture_for_unknown_framework(builtin_rules: list[Rule]) -> None:
    with pytest.raises(UnknownFrameworkError):
        posture_for("cis-aws-9.9", [], builtin_rules)
