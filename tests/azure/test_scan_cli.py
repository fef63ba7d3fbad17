"""`ridgeline scan azure` end to end against the local server: reports, the CI gate, and one-line setup errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.cli.common import EXIT_GATE, EXIT_SETUP
from ridgeline.providers.azure import credentials
from ridgeline.providers.azure.msgraph import GRAPH_ENDPOINT_ENV
from ridgeline.providers.azure.scanner import ENDPOINT_ENV
from ridgeline.store.database import Store
from tests.azure.conftest import FakeCredential
from tests.azure.fake_arm import FakeAzure
from tests.azure.tenant import STORAGE_A, SUB_A, SUB_B

TEST_RULES = Path(__file__).with_name("rules.yaml")


@pytest.fixture
def cli_env(fake_azure: FakeAzure, monkeypatch: pytest.MonkeyPatch) -> FakeAzure:
    """Point the command at the test server and give it the fixed-token credential."""
    monkeypatch.setenv(ENDPOINT_ENV, fake_azure.base_url)
    monkeypatch.setenv(GRAPH_ENDPOINT_ENV, fake_azure.base_url)
    monkeypatch.setattr(credentials, "build_credential", lambda tenant: FakeCredential())
    return fake_azure


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep Rich from wrapping messages at 80 columns, so a one-line message stays one line."""
    monkeypatch.setenv("COLUMNS", "500")


def run(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["scan", "azure", *arguments])
    return result.exit_code, result.stdout, result.stderr


def test_scan_writes_findings_and_gates(cli_env: FakeAzure, tmp_path: Path) -> None:
    code, stdout, stderr = run("--subscription", f"{SUB_A},{SUB_B}", "--no-store", "--output-dir", str(tmp_path),
                               "--rules", str(TEST_RULES), "--fail-on", "high")

    assert code == EXIT_GATE, stdout + stderr
    assert "Traceback" not in stderr
    assert "Collected" in stderr
    assert "from 2 subscription(s)" in stderr
    reports = list(tmp_path.glob("ridgeline-azure-*.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    text = json.dumps(report)
    assert STORAGE_A in text
    assert "test-azure-storage-no-public-blobs" in text
    assert "test-azure-sql-auditing-enabled" in text


def test_stored_scan_records_its_scope(cli_env: FakeAzure, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'scans.db'}"
    code, stdout, stderr = run("--subscription", SUB_B, "--database", database, "--output-dir", str(tmp_path),
                               "--rules", str(TEST_RULES))

    assert code == 0, stdout + stderr
    [scan] = Store(database).list_scans()
    assert scan.provider == "azure"
    assert scan.options == {"subscriptions": [SUB_B], "management_group": None, "tenant": None, "compliance": []}


def test_scan_without_gate_exits_zero(cli_env: FakeAzure, tmp_path: Path) -> None:
    code, stdout, stderr = run("--subscription", SUB_B, "--no-store", "--output-dir", str(tmp_path),
                               "--rules", str(TEST_RULES))

    assert code == 0, stdout + stderr


def test_unknown_subscription_is_one_line(cli_env: FakeAzure, tmp_path: Path) -> None:
    code, _stdout, stderr = run("--subscription", "00000000-0000-0000-0000-0000000000ff", "--no-store",
                                "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "00000000-0000-0000-0000-0000000000ff not found or not readable" in lines[0]


class NoCredential:
    def get_token(self, *scopes: str, **kwargs: object) -> None:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                        "credentials.\nAttempted credentials:\n\tEnvironmentCredential: missing")


def test_missing_credential_is_one_line(fake_azure: FakeAzure, monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, fake_azure.base_url)
    monkeypatch.setattr(credentials, "build_credential", lambda tenant: NoCredential())

    code, _stdout, stderr = run("--no-store", "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.strip()] == [
        line for line in stderr.splitlines() if line.startswith("error: no Azure credential is available")]
    assert fake_azure.requests == []


def test_both_scopes_rejected(cli_env: FakeAzure, tmp_path: Path) -> None:
    code, _stdout, stderr = run("--subscription", SUB_A, "--management-group", "mg-prod", "--no-store",
                                "--output-dir", str(tmp_path))

    assert code == EXIT_SETUP
    assert "not both" in stderr
