"""`ridgeline scan gcp` and `ridgeline permissions gcp` end to end: reports, the CI gate, one-line setup errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.auth.compute_engine import _metadata

from ridgeline.cli import main
from ridgeline.cli.common import EXIT_GATE, EXIT_SETUP
from ridgeline.providers.gcp import credentials
from ridgeline.providers.gcp.clients import ENDPOINT_ENV
from ridgeline.providers.gcp.credentials import GcpCredentials
from ridgeline.store.database import Store
from tests.gcp.conftest import anonymous
from tests.gcp.fake_gcp import FakeGcp, service_disabled
from tests.gcp.organization import ALPHA, BETA, PUBLIC_BUCKET

TEST_RULES = Path(__file__).with_name("rules.yaml")


@pytest.fixture
def cli_env(fake_gcp: FakeGcp, monkeypatch: pytest.MonkeyPatch) -> FakeGcp:
    """Point the command at the test server and give it anonymous credentials."""
    monkeypatch.setenv(ENDPOINT_ENV, fake_gcp.base_url)
    monkeypatch.setattr(credentials, "build_credentials",
                        lambda impersonate: GcpCredentials(anonymous()))
    return fake_gcp


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep Rich from wrapping messages at 80 columns, so a one-line message stays one line."""
    monkeypatch.setenv("COLUMNS", "500")


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", "gcp", *arguments])
    return result.exit_code, result.stdout, result.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_scan_writes_findings_and_gates(cli_env: FakeGcp, tmp_path: Path) -> None:
    code, stdout, stderr = run("--project", f"{ALPHA},{BETA}", "--no-store", "--output-dir", str(tmp_path),
                               "--rules", str(TEST_RULES), "--fail-on", "high")

    assert code == EXIT_GATE, stdout + stderr
    assert "Traceback" not in stderr
    assert "from 2 project(s)" in stderr
    reports = list(tmp_path.glob("ridgeline-gcp-*.json"))
    assert len(reports) == 1
    findings = json.loads(reports[0].read_text())["findings"]
    public = [finding for finding in findings if finding["rule_id"] == "gcp-storage-bucket-not-public"
              and finding["resource"]["id"] == PUBLIC_BUCKET]
    assert [finding["status"] for finding in public] == ["FAIL"]
    contacts = {finding["resource"]["account"]: finding["status"] for finding in findings
                if finding["rule_id"] == "test-gcp-project-security-contact"}
    assert contacts == {ALPHA: "PASS", BETA: "FAIL"}


def test_stored_scan_records_its_scope(cli_env: FakeGcp, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'scans.db'}"
    code, stdout, stderr = run("--project", ALPHA, "--database", database, "--output-dir", str(tmp_path),
                               "--rules", str(TEST_RULES))

    assert code == 0, stdout + stderr
    [scan] = Store(database).list_scans()
    assert scan.provider == "gcp"
    assert scan.options == {"projects": [ALPHA], "organization": None, "folder": None,
                            "impersonate_service_account": None, "compliance": []}


def test_scan_without_gate_exits_zero(cli_env: FakeGcp, tmp_path: Path) -> None:
    code, stdout, stderr = run("--project", BETA, "--no-store", "--output-dir", str(tmp_path))

    assert code == 0, stdout + stderr


def test_disabled_api_reported_not_fatal(cli_env: FakeGcp, tmp_path: Path) -> None:
    cli_env.script(f"assets:projects/{BETA}:RESOURCE", service_disabled("cloudasset.googleapis.com", "700000000009"))
    code, stdout, stderr = run("--project", BETA, "--no-store", "--output-dir", str(tmp_path), "--fail-on", "high")

    assert code == 0, stdout + stderr
    assert "not collected:" in stderr
    assert "gcloud services enable cloudasset.googleapis.com --project=700000000009" in stderr
    findings = json.loads(next(tmp_path.glob("ridgeline-gcp-*.json")).read_text())["findings"]
    assert findings
    assert {finding["status"] for finding in findings} == {"ERROR"}


def test_unknown_project_is_one_line(cli_env: FakeGcp, tmp_path: Path) -> None:
    code, _stdout, stderr = run("--project", "rl-missing", "--no-store", "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1
    assert "project rl-missing not found or not readable" in lines[0]


@pytest.mark.parametrize(("arguments", "message"), [
    (("--project", "Not_A_Project"), "invalid project id(s) Not_A_Project"),
    (("--project", ALPHA, "--folder", "12"), "give only one of --project, --organization and --folder"),
    ((), "no scope given"),
])
def test_bad_options_are_one_line(cli_env: FakeGcp, tmp_path: Path, arguments: tuple[str, ...], message: str) -> None:
    code, _stdout, stderr = run(*arguments, "--no-store", "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1
    assert message in lines[0]


def test_missing_key_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    code, _stdout, stderr = run("--project", ALPHA, "--no-store", "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1
    assert "no Application Default Credentials found" in lines[0]
    assert "gcloud auth application-default login" in lines[0]


def test_no_credentials_anywhere_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With no key file and no gcloud login, google-auth probes for a metadata server. This stub returns False.
    probes: list[object] = []

    def not_on_gce(request: object = None) -> bool:
        probes.append(request)
        return False

    monkeypatch.setattr(_metadata, "is_on_gce", not_on_gce)
    code, _stdout, stderr = run("--project", ALPHA, "--no-store", "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert probes
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1
    assert "no Application Default Credentials found" in lines[0]


def test_permissions_gcp_prints_role() -> None:
    result = CliRunner().invoke(main, ["permissions", "gcp"])

    assert result.exit_code == 0, result.output
    role = json.loads(result.stdout)
    assert role["stage"] == "GA"
    assert "cloudasset.assets.listResource" in role["includedPermissions"]
    assert "cloudasset.assets.listIamPolicy" in role["includedPermissions"]
    assert "essentialcontacts.contacts.list" in role["includedPermissions"]
    assert "resourcemanager.projects.get" in role["includedPermissions"]
    assert "roles/cloudasset.viewer" in result.stderr
    assert "roles/iam.securityReviewer" in result.stderr
