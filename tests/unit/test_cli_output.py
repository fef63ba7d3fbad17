"""Output a new user reads first: rule file errors, completeness, chart labels, copyable commands and help."""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from ridgeline.cli import main
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.pipeline import ScanResult
from ridgeline.providers.aws.scanner import Collection
from ridgeline.report import html, sarif
from ridgeline.report.terminal import print_summary
from ridgeline.rules.loader import build_rule, load_builtin_rules
from ridgeline.rules.model import Rule
from ridgeline.rules.yamlsource import load_yaml_text
from ridgeline.store.database import StoredScan

AWS_ACCOUNT = "111122223333"
SUBSCRIPTION_A = "00000000-0000-0000-0000-0000000000d1"
SUBSCRIPTION_B = "00000000-0000-0000-0000-0000000000d2"
NSG = "Microsoft.Network/networkSecurityGroups"

# The narrow width of a pipe or CI log, where Rich used to insert line breaks.
NARROW = {"COLUMNS": "80"}


def _snapshot(path: Path) -> Path:
    item = {"configurationItemVersion": "1.3", "awsAccountId": AWS_ACCOUNT, "configurationItemStatus": "OK",
            "resourceType": "AWS::EC2::Volume", "resourceId": "vol-1", "resourceName": "vol-1",
            "ARN": f"arn:aws:ec2:us-east-1:{AWS_ACCOUNT}:volume/vol-1", "awsRegion": "us-east-1", "tags": {},
            "relationships": [], "configuration": {"volumeId": "vol-1", "encrypted": False},
            "supplementaryConfiguration": {}}
    path.write_bytes(gzip.compress(json.dumps({"fileVersion": "1.0", "configurationItems": [item]}).encode()))
    return path


def _azure_rule(rule_id: str = "acme-nsg-open") -> Rule:
    data = {
        "id": rule_id, "title": "Security groups are closed", "severity": "high", "category": "network-exposure",
        "provider": "azure", "service": "network", "resource_types": [NSG], "description": "What is checked.",
        "risk": "What can go wrong.",
        "remediation": {"text": "Close ${name}.", "cli": "az network nsg rule delete --ids ${id}/securityRules/x"},
        "fail_if": {"path": "configuration.open", "equals": True},
    }
    return build_rule(load_yaml_text(yaml.safe_dump(data)), {}, "cli-output-test.yaml")


def _finding(status: Status, account: str, name: str) -> Finding:
    return Finding(rule_id="acme-nsg-open", status=status, severity=Severity.HIGH, category="network-exposure",
                   provider="azure", account=account, region="eastus",
                   resource_id=f"/subscriptions/{account}/resourceGroups/rg/providers/{NSG}/{name}",
                   resource_type=NSG, resource_name=name, message=f"{name}: {status.value}",
                   evidence={"not_assessed": ["configuration.open: not in the export"]}
                   if status is Status.ERROR else {})


def _azure_result(*statuses: Status, unit_status: Completeness = Completeness.COMPLETE) -> ScanResult:
    """Return an Azure scan of two subscriptions with one finding per status in `statuses`."""
    accounts = [SUBSCRIPTION_A, SUBSCRIPTION_B]
    findings = [_finding(status, accounts[index % 2], f"nsg-{index}") for index, status in enumerate(statuses)]
    coverage = [Coverage(provider="azure", account=account, region="global", service="network", status=unit_status)
                for account in accounts]
    collection = Collection(provider="azure", accounts=accounts, regions=["eastus"], resources=[],
                            coverage=coverage, api_calls=0, duration_s=0.1)
    scan = StoredScan(id="scan-azure", provider="azure", started_at="2026-01-01T10:00:00+00:00",
                      finished_at="2026-01-01T10:00:01+00:00", accounts=accounts, regions=["eastus"],
                      complete=unit_status is Completeness.COMPLETE, api_calls=0, duration_s=0.1, options={})
    return ScanResult(scan=scan, collection=collection, findings=findings, rules={"acme-nsg-open": _azure_rule()},
                      postures=[])


def _collection_fact(page: str) -> str:
    match = re.search(r"<dt>Collection</dt><dd>(.*?)</dd>", page)
    assert match is not None
    return match.group(1)


# --- invalid custom rules ---------------------------------------------------------------------


def test_scan_rule_errors_one_per_line(tmp_path: Path) -> None:
    rules = tmp_path / "bad-rules"
    rules.mkdir()
    (rules / "first.yaml").write_text("rules:\n  - id: first-rule\n")
    # Rule authors choose the file names, so an escape sequence in one must not reach the terminal.
    (rules / "second\x1b[31m.yaml").write_text("rules:\n  - id: second-rule\n")

    result = CliRunner().invoke(main, ["scan", "file", str(_snapshot(tmp_path / "snapshot.json.gz")),
                                       "--rules", str(rules), "--no-store", "-o", str(tmp_path / "out")],
                                env=NARROW)

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Invalid rules (")
    assert "\\x0a" not in result.stderr
    first_errors = [line for line in lines if "first.yaml:" in line]
    second_errors = [line for line in lines if "second\\x1b[31m.yaml:" in line]
    assert len(first_errors) > 1
    assert len(second_errors) == len(first_errors)
    assert all(line.startswith(str(rules)) for line in first_errors + second_errors)
    assert "\x1b" not in result.stderr
    assert any("missing required field 'title'" in line for line in first_errors)


# --- completeness -----------------------------------------------------------------------------


def test_html_complete_without_error_findings() -> None:
    page = html.render(_azure_result(Status.FAIL, Status.PASS)).decode()

    assert _collection_fact(page) == '<span class="badge complete">complete</span>'
    assert "Collection complete: every check was assessed." in page


def test_html_error_findings_make_scan_incomplete() -> None:
    page = html.render(_azure_result(Status.FAIL, Status.ERROR, Status.ERROR)).decode()

    fact = _collection_fact(page)
    assert "badge complete" not in fact
    assert "incomplete" in fact
    assert "2 check(s) not assessed" in fact
    assert "collection unit" not in fact
    assert "Collection complete" not in page
    assert "configuration.open: not in the export" in page


def test_html_partial_units_and_error_findings_counted() -> None:
    page = html.render(_azure_result(Status.ERROR, unit_status=Completeness.PARTIAL)).decode()

    fact = _collection_fact(page)
    assert "2 collection unit(s) partial or failed" in fact
    assert "1 check(s) not assessed" in fact


def test_terminal_error_findings_not_complete() -> None:
    output = io.StringIO()
    print_summary(_azure_result(Status.FAIL, Status.ERROR), Console(file=output, width=200))

    text = output.getvalue()
    assert "Collection complete" not in text
    assert "Not assessed: 1 check(s) could not be evaluated" in text
    assert "acme-nsg-open on nsg-1" in text


def test_terminal_complete_without_errors() -> None:
    output = io.StringIO()
    print_summary(_azure_result(Status.FAIL, Status.PASS), Console(file=output, width=200))

    assert "Collection complete: every check was assessed." in output.getvalue()


# --- HTML charts and coverage -----------------------------------------------------------------


def test_account_chart_keeps_id_end() -> None:
    page = html.render(_azure_result(Status.FAIL, Status.FAIL)).decode()

    labels = re.findall(r'<text class="bar-label"[^>]*>([^<]*)</text>', page)
    assert "…" + SUBSCRIPTION_A[-25:] in labels
    assert "…" + SUBSCRIPTION_B[-25:] in labels
    # The tooltip keeps the whole id.
    assert f"<title>{SUBSCRIPTION_A}: 1 FAIL</title>" in page


def test_coverage_wording_per_provider() -> None:
    page = html.render(_azure_result(Status.FAIL)).decode()

    assert "IAM, S3" not in page
    assert "One collection unit per subscription and service" in page


# --- SARIF ------------------------------------------------------------------------------------


def test_sarif_help_names_azure_cli() -> None:
    log = json.loads(sarif.render(_azure_result(Status.FAIL)))

    descriptor = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert "Azure CLI:" in descriptor["help"]["text"]
    assert "AWS CLI" not in descriptor["help"]["text"]
    assert "**Azure CLI**" in descriptor["help"]["markdown"]


def test_html_data_names_cli_tool() -> None:
    data = html.report_data(_azure_result(Status.FAIL))

    assert data["rules"]["acme-nsg-open"]["cli_name"] == "Azure CLI"


# --- rules commands ---------------------------------------------------------------------------


def test_rules_show_command_on_one_line() -> None:
    rule = next(rule for rule in load_builtin_rules() if rule.id == "azure-network-nsg-ssh-open")
    commands = [line for line in rule.remediation.cli.splitlines() if line.strip()]
    assert any(len(command) > 80 for command in commands), "the test needs a command wider than the console"

    result = CliRunner().invoke(main, ["rules", "show", "azure-network-nsg-ssh-open"], env=NARROW)

    assert result.exit_code == 0, result.output
    output_lines = result.output.splitlines()
    for command in commands:
        assert command.replace("$$", "$") in output_lines


def test_rules_show_terraform_lines_kept() -> None:
    rule = next(rule for rule in load_builtin_rules()
                if rule.remediation.terraform and max(map(len, rule.remediation.terraform.splitlines())) > 80)

    result = CliRunner().invoke(main, ["rules", "show", rule.id], env=NARROW)

    assert result.exit_code == 0, result.output
    output_lines = result.output.splitlines()
    for line in rule.remediation.terraform.splitlines():
        if line.strip():
            assert line in output_lines


def test_rules_list_piped_not_cut() -> None:
    result = CliRunner().invoke(main, ["rules", "list"], env=NARROW)

    assert result.exit_code == 0, result.output
    output_lines = [line.strip() for line in result.output.splitlines()]
    rules = load_builtin_rules()
    long_titles = [rule.title for rule in rules if len(rule.title) > 76]
    assert long_titles, "the test needs a title wider than the console"
    for rule in rules:
        assert any(line.startswith(f"{rule.id}  ") for line in output_lines), rule.id
        assert rule.title in output_lines, rule.id


def test_rules_functions_piped_not_cut() -> None:
    from ridgeline.rules.functions import all_check_functions

    result = CliRunner().invoke(main, ["rules", "functions"], env=NARROW)

    assert result.exit_code == 0, result.output
    output_lines = [line.strip() for line in result.output.splitlines()]
    for function in all_check_functions():
        assert function.name in output_lines
        assert function.description.strip() in output_lines


# --- help text --------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "database_file"), [(["demo"], "ridgeline-demo.db"),
                                                         (["scan", "file"], "ridgeline.db")])
def test_database_help_names_file(command: list[str], database_file: str) -> None:
    result = CliRunner().invoke(main, [*command, "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert f"~/.local/share/ridgeline/{database_file}]" in result.output


def test_main_help_demo_covers_three_clouds() -> None:
    result = CliRunner().invoke(main, ["--help"])

    assert "AWS, Azure and GCP" in result.output
    assert "misconfigured AWS account)" not in result.output


def test_summary_counts_many_accounts() -> None:
    many = _azure_result(Status.FAIL)
    many.scan.accounts = [f"acme-prod-{index:03d}" for index in range(50)]
    few = _azure_result(Status.FAIL)
    outputs = []
    for result in (many, few):
        output = io.StringIO()
        print_summary(result, Console(file=output, width=80))
        outputs.append(output.getvalue())

    assert "50 accounts (acme-prod-000, acme-prod-001, acme-prod-002 and 47 more)" in " ".join(outputs[0].split())
    assert "acme-prod-003" not in outputs[0]
    assert f"account(s) {SUBSCRIPTION_A}, {SUBSCRIPTION_B}" in " ".join(outputs[1].split())


def test_terminal_gap_cause_printed_once() -> None:
    result = _azure_result(Status.ERROR, unit_status=Completeness.PARTIAL)
    unreadable = CallError(call="import", code="UnreadableItems", message="3 file(s) could not be read")
    for service in ("network", "storage", "keyvault"):
        result.collection.coverage.append(Coverage(provider="azure", account=SUBSCRIPTION_A, region="global",
                                                   service=service, status=Completeness.PARTIAL,
                                                   errors=[unreadable]))
    output = io.StringIO()

    print_summary(result, Console(file=output, width=400))

    lines = output.getvalue().splitlines()
    causes = [line for line in lines if "3 file(s) could not be read" in line]
    assert len(causes) == 1
    following = lines[lines.index(causes[0]) + 1]
    assert following.strip().startswith("3 unit(s):")
    assert f"{SUBSCRIPTION_A} storage global (partial)" in following
    assert any(line.strip().startswith("2 unit(s):") for line in lines), "the units without an error"
