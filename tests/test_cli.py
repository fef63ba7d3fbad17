"""The `ridgeline` command end to end: the demo, exit codes, rules and permissions commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ridgeline.cli import EXIT_GATE, EXIT_SETUP, main
from ridgeline.demo.run import NOT_EMULATED
from ridgeline.providers.aws.collectors import all_collectors
from ridgeline.rules.loader import load_builtin_rules

DemoRun = tuple[int, str, dict[str, dict[str, object]], Path]

# Demo findings that cannot be judged from an export and report why: every other finding is PASS or FAIL.
DEMO_EXPECTED_ERRORS = {
    # Essential Contacts are not part of Cloud Asset Inventory exports; a live scan reads them.
    ("gcp", "gcp-resourcemanager-org-essential-contacts"),
}


# Rules that no export can make FAIL honestly, because their failing state is the absence of something
# exports leave out anyway (a SQL server's Entra admin is only returned on request). The demo shows them
# passing, and a live scan judges the failing case.
DEMO_CANNOT_FAIL = {("azure", "azure-sql-server-entra-admin")}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """Run `ridgeline demo` once for the module: exit code, output, native report per cloud, output folder."""
    out = tmp_path_factory.mktemp("demo")
    database = out / "ridgeline.db"
    result = CliRunner().invoke(main, ["demo", "--output-dir", str(out), "--output-format", "json,ocsf",
                                       "--fail-on", "critical", "--database", f"sqlite:///{database}"])
    reports = {provider: json.loads(next(out.glob(f"ridgeline-{provider}-*[0-9]Z.json")).read_text())
               for provider in ("aws", "azure", "gcp")}
    return result.exit_code, result.output, reports, out


def _findings(report: dict[str, object]) -> list[dict[str, object]]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return findings


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_demo_fails_and_passes_every_rule(demo_run: DemoRun, provider: str) -> None:
    _, _, reports, _ = demo_run
    findings = _findings(reports[provider])
    every_rule = {rule.id for rule in load_builtin_rules()
                  if rule.provider == provider and not (provider == "aws" and rule.service in NOT_EMULATED)}

    failing = {str(finding["rule_id"]) for finding in findings if finding["status"] == "FAIL"}
    passing = {str(finding["rule_id"]) for finding in findings if finding["status"] == "PASS"}
    expected_errors = {rule_id for cloud, rule_id in DEMO_EXPECTED_ERRORS if cloud == provider}
    cannot_fail = {rule_id for cloud, rule_id in DEMO_CANNOT_FAIL if cloud == provider}
    # The Azure and GCP parts hold one subscription and one project with settings: a rule judging the whole
    # subscription or project has one verdict there, which may be PASS. Resource rules must fail somewhere.
    whole_scope = {rule.id for rule in load_builtin_rules() if rule.provider != "aws" and rule.scope != "resource"}

    assert every_rule - failing - expected_errors - whole_scope - cannot_fail == set()
    assert every_rule - failing - passing - expected_errors == set()
    if provider == "aws":
        assert len(passing) >= 40
    else:
        assert len(passing) >= 0.8 * len(every_rule)


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_demo_assesses_everything(demo_run: DemoRun, provider: str) -> None:
    _, output, reports, _ = demo_run
    errors = {(provider, str(finding["rule_id"])) for finding in _findings(reports[provider])
              if finding["status"] == "ERROR"}
    assert errors <= DEMO_EXPECTED_ERRORS
    if provider == "aws":
        assert all(unit["status"] == "complete" for unit in reports["aws"]["collection"])  # type: ignore[attr-defined]
        assert "Collection complete" in output


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_demo_fail_findings_carry_evidence(demo_run: DemoRun, provider: str) -> None:
    # A FAIL with empty evidence makes people open the console to see why; every rule must show what it read.
    _, _, reports, _ = demo_run
    bare = sorted({str(finding["rule_id"]) for finding in _findings(reports[provider])
                   if finding["status"] == "FAIL" and not finding.get("evidence")})
    assert bare == []


def test_demo_gate_exit_code_and_outputs(demo_run: DemoRun) -> None:
    exit_code, output, _, out = demo_run
    assert exit_code == EXIT_GATE
    assert "FAIL finding(s) at or above critical" in output
    assert len(list(out.glob("*.ocsf.json"))) == 3
    assert (out / "ridgeline.db").exists()


def test_demo_report_documents_collection(demo_run: DemoRun) -> None:
    _, _, reports, _ = demo_run
    scan = reports["aws"]["scan"]
    assert isinstance(scan, dict)
    assert scan["accounts"] == ["123456789012"]
    assert scan["api_calls"] > 0
    services = {unit["service"] for unit in reports["aws"]["collection"]}  # type: ignore[attr-defined]
    assert services == {collector.service for collector in all_collectors()} - set(NOT_EMULATED)


def test_unknown_service_is_a_setup_error() -> None:
    result = CliRunner().invoke(main, ["demo", "--services", "s3,dynamo", "--no-store"])
    assert result.exit_code == EXIT_SETUP
    assert "unknown service(s) dynamo" in result.output



# Rich reads "[gcp]" as a markup tag and drops it unless the text is escaped. The hint would then read
# `pip install 'ridgeline'`, which installs nothing new.
@pytest.mark.parametrize(("args", "module", "hint"), [
    (["demo", "--clouds", "aws", "--no-store"], "moto.server", "pip install 'ridgeline[demo]' (or 'moto[server]')"),
    (["watch", "gcp"], "ridgeline.providers.gcp.scanner", "pip install 'ridgeline[gcp]'"),
    (["watch", "azure"], "ridgeline.providers.azure.scanner", "pip install 'ridgeline[azure]'"),
])
def test_missing_extra_hint_keeps_name(monkeypatch: pytest.MonkeyPatch, args: list[str], module: str,
                                       hint: str) -> None:
    # None in sys.modules makes the import raise ImportError, as when the extra is not installed.
    monkeypatch.setitem(sys.modules, module, None)
    # The emulator sets this variable before it imports moto; monkeypatch restores it afterwards.
    monkeypatch.setenv("MOTO_AMIS_PATH", "")

    result = CliRunner().invoke(main, args)

    assert result.exit_code == EXIT_SETUP
    assert hint in result.output

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
