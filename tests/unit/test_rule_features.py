"""Rule features: applies_if, per-type remediation commands, known services and types, short ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.report.text import render_remediation, short_id
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import RuleErrors, RuleFileErrors, build_rule, load_rule_files
from ridgeline.rules.model import Rule
from ridgeline.rules.yamlsource import load_yaml_text


def _rule(**overrides: Any) -> Rule:
    data: dict[str, Any] = {
        "id": "acme-db-encrypted", "title": "Databases are encrypted", "severity": "high",
        "category": "encryption", "provider": "aws", "service": "rds",
        "resource_types": ["AWS::RDS::DBInstance"], "description": "d", "risk": "r",
        "remediation": {"text": "Encrypt ${name}.", "cli": "aws rds describe-db-instances"},
        "fail_if": {"path": "configuration.storageEncrypted", "not_equals": True},
    }
    data.update(overrides)
    return build_rule(load_yaml_text(yaml.safe_dump(data)), {}, "features.yaml")


def _instance(name: str, **configuration: Any) -> Resource:
    return Resource(provider="aws", account="111122223333", region="us-east-1", type="AWS::RDS::DBInstance",
                    id=f"arn:aws:rds:us-east-1:111122223333:db:{name}", name=name, configuration=configuration)


def _evaluate(rule: Rule, resources: list[Resource]) -> list[Finding]:
    coverage = [Coverage(provider="aws", account="111122223333", region="us-east-1", service="rds")]
    return Engine([rule]).evaluate(resources, coverage)


def test_applies_if_false_gives_no_finding() -> None:
    rule = _rule(applies_if={"path": "configuration.dBClusterIdentifier", "exists": False})
    member = _instance("member", dBClusterIdentifier="cluster-1", storageEncrypted=False)
    standalone = _instance("standalone", storageEncrypted=False)

    findings = _evaluate(rule, [member, standalone])

    assert [(f.resource_name, f.status) for f in findings] == [("standalone", Status.FAIL)]


def test_applies_if_unknown_is_error() -> None:
    rule = _rule(applies_if={"path": "configuration.dBClusterIdentifier", "exists": False})
    unknown = _instance("unknown", storageEncrypted=False)
    unknown.errors["configuration.dBClusterIdentifier"] = "AccessDenied on rds:DescribeDBInstances: no"

    findings = _evaluate(rule, [unknown])

    assert [f.status for f in findings] == [Status.ERROR]
    assert "AccessDenied" in findings[0].message


def test_applies_if_rejected_on_scope_rules() -> None:
    with pytest.raises(RuleErrors) as raised:
        _rule(scope="account", fail_if=None, require_one={"path": "configuration.x", "equals": 1},
              applies_if={"path": "configuration.y", "equals": 1})
    assert any(error.field == "applies_if" for error in raised.value.errors)


def test_cli_by_type_picks_the_resource_type() -> None:
    rule = _rule(resource_types=["AWS::IAM::User", "AWS::IAM::Group"], service="iam",
                 remediation={"text": "Detach it.", "cli": {
                     "AWS::IAM::User": "aws iam detach-user-policy --user-name ${name} --policy-arn ARN",
                     "AWS::IAM::Group": "aws iam detach-group-policy --group-name ${name} --policy-arn ARN"}})
    group = Finding(rule_id=rule.id, status=Status.FAIL, severity=Severity.HIGH, category="iam", provider="aws",
                    account="1", region="global", resource_id="arn:aws:iam::1:group/admins",
                    resource_type="AWS::IAM::Group", resource_name="admins", message="m")

    rendered = render_remediation(rule.remediation, group)

    assert rendered["cli"] == "aws iam detach-group-policy --group-name admins --policy-arn ARN"


def test_unknown_placeholder_in_typed_cli_is_reported() -> None:
    with pytest.raises(RuleErrors) as raised:
        _rule(remediation={"text": "t", "cli": {"AWS::RDS::DBInstance": "aws rds x --id ${nme}"}})
    assert "unknown placeholder ${nme}" in str(raised.value)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("service", "lamda", "unknown service 'lamda'"),
    ("resource_types", ["AWS::RDS::DBInstanse"], "collects no resource type 'AWS::RDS::DBInstanse'"),
])
def test_typos_in_service_and_type_are_errors(tmp_path: Path, field: str, value: Any, message: str) -> None:
    rule = {"id": "acme-x", "title": "T", "severity": "low", "category": "iam", "provider": "aws",
            "service": "rds", "resource_types": ["AWS::RDS::DBInstance"], "description": "d", "risk": "r",
            "remediation": "fix", "fail_if": {"path": "configuration.a", "equals": 1}, field: value}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({"rules": [rule]}))

    with pytest.raises(RuleFileErrors) as raised:
        load_rule_files([path])

    assert message in str(raised.value)


def test_short_id_takes_last_segment() -> None:
    assert short_id("arn:aws:ec2:us-east-1:1:security-group/sg-0123") == "sg-0123"
    assert short_id("arn:aws:kms:us-east-1:1:key/abcd") == "abcd"
    assert short_id("arn:aws:s3:::bucket") == "bucket"
    assert short_id("123456789012") == "123456789012"
