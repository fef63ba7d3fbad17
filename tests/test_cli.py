"""The `ridgeline` command end to end: the demo, exit codes, rules and permissions commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ridgeline.cli import EXIT_GATE, EXIT_SETUP, main
from ridgeline.demo.run import NOT_EMULATED
from ridgeline.providers.aws.collectors import all_collectors
from ridgeline.rules.loader import load_builtin_rules


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict[str, object], Path]:
    """Run `ridgeline demo` once for the module: exit code, output, native report, output folder."""
    out = tmp_path_factory.mktemp("demo")
    database = out / "ridgeline.db"
    result = CliRunner().invoke(main, ["demo", "--output-dir", str(out), "--output-format", "json,ocsf",
                                       "--fail-on", "critical", "--database", f"sqlite:///{database}"])
    report = json.loads(next(out.glob("*[0-9]Z.json")).read_text())
    return result.exit_code, result.output, report, out


def test_demo_fails_every_rule_at_least_once(demo_run: tuple[int, str, dict[str, object], Path]) -> None:
    _, _, report, _ = demo_run
    findings = report["findings"]
    assert isinstance(findings, list)
    failing = {finding["rule_id"] for finding in findings if finding["status"] == "FAIL"}
    every_rule = {rule.id for rule in load_builtin_rules()
                  if rule.provider == "aws" and rule.service not in NOT_EMULATED}
    assert every_rule - failing == set()


def test_demo_assesses_everything(demo_run: tuple[int, str, dict[str, object], Path]) -> None:
    _, output, report, _ = demo_run
    errors = [finding for finding in report["findings"] if finding["status"] == "ERROR"]  # type: ignore[union-attr]
    assert errors == []
    assert all(unit["status"] == "complete" for unit in report["collection"])  # type: ignore[union-attr]
    assert "Collection complete" in output


def test_demo_has_secured_twins(demo_run: tuple[int, str, dict[str, object], Path]) -> None:
    _, _, report, _ = demo_run
    passing = {f["rule_id"] for f in report["findings"] if f["status"] == "PASS"}  # type: ignore[union-attr]
    assert len(passing) >= 40


def test_demo_gate_exit_code_and_outputs(demo_run: tuple[int, str, dict[str, object], Path]) -> None:
    exit_code, output, _, out = demo_run
    assert exit_code == EXIT_GATE
    assert "FAIL finding(s) at or above critical" in output
    assert len(list(out.glob("*.ocsf.json"))) == 1
    assert (out / "ridgeline.db").exists()


def test_demo_report_documents_collection(demo_run: tuple[int, str, dict[str, object], Path]) -> None:
    _, _, report, _ = demo_run
    scan = report["scan"]
    assert isinstance(scan, dict)
    assert scan["accounts"] == ["123456789012"]
    assert scan["api_calls"] > 0
    services = {unit["service"] for unit in report["collection"]}  # type: ignore[union-attr]
    assert services == {collector.service for collector in all_collectors()} - set(NOT_EMULATED)


def test_unknown_service_is_a_setup_error() -> None:
    result = CliRunner().invoke(main, ["demo", "--services", "s3,dynamo", "--no-store"])
    assert result.exit_code == EXIT_SETUP
    assert "unknown service(s) dynamo" in result.output


def test_unknown_output_format_is_rejected() -> None:
    result = CliRunner().invoke(main, ["scan", "aws", "--output-format", "pdf"])
    assert result.exit_code == 2
    assert "unknown format(s) pdf" in result.output


def test_rules_list_and_show() -> None:
    listed = CliRunner().invoke(main, ["rules", "list", "--format", "json"])
    rules = json.loads(listed.output)
    assert len(rules) >= 45
    assert {rule["category"] for rule in rules} >= {"storage-exposure", "iam", "network-exposure", "encryption",
                                                   "logging-monitoring"}
    shown = CliRunner().invoke(main, ["rules", "show", "aws-s3-bucket-policy-public"])
    assert shown.exit_code == 0
    assert "Terraform" in shown.output
    missing = CliRunner().invoke(main, ["rules", "show", "aws-s3-bucket"])
    assert missing.exit_code == EXIT_SETUP
    assert "Did you mean" in missing.output


def test_every_rule_has_complete_metadata() -> None:
    for rule in load_builtin_rules():
        assert rule.remediation.text, rule.id
        assert rule.remediation.cli or rule.remediation.cli_by_type, rule.id
        for type_name in rule.remediation.cli_by_type:
            assert type_name in rule.resource_types, rule.id
        if rule.remediation.cli_by_type and not rule.remediation.cli:
            assert set(rule.remediation.cli_by_type) == set(rule.resource_types), rule.id
        assert rule.remediation.terraform, rule.id
        assert rule.description and rule.risk, rule.id


def test_permissions_policy_is_valid_json() -> None:
    result = CliRunner().invoke(main, ["permissions", "aws"])
    policy = json.loads(result.output)
    statement = policy["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert all(action.split(":")[1].startswith(("Describe", "Get", "List", "GenerateCredentialReport"))
               for action in statement["Action"])


def test_rules_validate_reports_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: acme-x\n    title: T\n    severity: severe\n")
    result = CliRunner().invoke(main, ["rules", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: field 'severity'" in result.output
