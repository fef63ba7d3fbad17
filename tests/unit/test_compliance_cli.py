"""`ridgeline compliance` and `ridgeline frameworks list` against a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ridgeline.cli import EXIT_SETUP, main
from ridgeline.compliance.loader import find_framework, load_frameworks
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.scan import Coverage
from ridgeline.store.database import DEMO_DATABASE_FILE, Store, StoredScan

ACCOUNT = "123456789012"
BUCKETS = [f"arn:aws:s3:::bucket-{n}" for n in range(5)]


def finding(rule_id: str, status: Status, resource_id: str, message: str = "") -> Finding:
    return Finding(rule_id=rule_id, status=status, severity=Severity.HIGH, category="encryption", provider="aws",
                   account=ACCOUNT, region="us-east-1", resource_id=resource_id, resource_type="AWS::S3::Bucket",
                   resource_name=resource_id.rsplit(":", 1)[-1], message=message or f"{rule_id} {status}")


def save_scan(store: Store, scan_id: str, started_at: str, findings: list[Finding], services: list[str],
              provider: str = "aws") -> None:
    scan = StoredScan(id=scan_id, provider=provider, started_at=started_at, finished_at=started_at,
                      accounts=[ACCOUNT], regions=["us-east-1"], complete=True, api_calls=10, duration_s=1.0,
                      options={})
    coverage = [Coverage(provider=provider, account=ACCOUNT, region="global", service=service) for service in services]
    store.save_scan(scan, coverage, [], findings)


@pytest.fixture
def database(tmp_path: Path) -> str:
    """A store with an older and a newer AWS scan; the newer one has failures, passes and an ERROR."""
    url = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    store = Store(url)
    save_scan(store, "old-scan", "2026-01-01T00:00:00+00:00",
              [finding("aws-s3-bucket-secure-transport", Status.PASS, BUCKETS[0])], ["s3"])
    newer = [finding("aws-s3-bucket-secure-transport", Status.FAIL, bucket) for bucket in BUCKETS]
    newer += [
        finding("aws-s3-bucket-secure-transport", Status.FAIL, "arn:aws:s3:::evil\x1b[31mred"),
        finding("aws-iam-root-access-keys", Status.PASS, f"arn:aws:iam::{ACCOUNT}:root"),
        finding("aws-kms-key-rotation", Status.ERROR, "key-1", "Not assessed: kms:GetKeyRotationStatus was denied"),
    ]
    save_scan(store, "new-scan", "2026-02-01T00:00:00+00:00", newer, ["s3", "iam", "kms"])
    return url


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    # A wide terminal keeps table rows on one line each, so the tests can look for whole sentences.
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "250", **(env or {})})
    return result.exit_code, result.output


def statuses(output: str) -> dict[str, str]:
    data = json.loads(output)
    return {requirement["id"]: requirement["status"] for requirement in data["requirements"]}


def test_json_posture_of_latest_scan(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database, "--format", "json")

    assert code == 0, output
    data = json.loads(output)
    assert data["scan"]["id"] == "new-scan"
    by_id = {requirement["id"]: requirement for requirement in data["requirements"]}
    assert by_id["3.1.1"]["status"] == "fail"
    assert by_id["3.1.1"]["failing_resources"] == [*BUCKETS, "arn:aws:s3:::evil\x1b[31mred"]
    assert by_id["2.4"]["status"] == "pass"
    assert by_id["4.6"]["status"] == "not-assessed"
    assert "kms:GetKeyRotationStatus was denied" in by_id["4.6"]["reason"]
    assert by_id["3.2.1"]["status"] == "not-assessed"
    assert by_id["3.2.1"]["reason"].startswith("Not scanned: rds")
    assert by_id["2.1.1"]["status"] == "manual"
    assert data["score"] == 50.0
    assert data["counts"]["pass"] == 1
    assert data["counts"]["fail"] == 1


def test_older_scan_by_id(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database, "--scan", "old-scan", "--format", "json")

    assert code == 0, output
    assert statuses(output)["3.1.1"] == "pass"
    assert json.loads(output)["scan"]["id"] == "old-scan"


def test_table_output(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database)

    assert code == 0, output
    assert "CIS Amazon Web Services Foundations Benchmark 7.0.0 (cis-aws-7.0)" in output
    assert "Scan new-scan of aws 123456789012" in output
    assert "3 Storage: 0.0% (0 pass, 1 fail, 1 manual, 7 not assessed)" in output
    assert "arn:aws:s3:::bucket-0" in output
    assert "and 3 more (6 in all)" in output
    assert "NOT ASSESSED" in output
    assert "MANUAL" in output
    assert "Score 50.0%: 1 of 2 judged requirements pass" in output
    # A resource id cannot write escape sequences to the terminal.
    assert "\x1b" not in output


def test_table_status_filter(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database, "--status", "fail")

    assert code == 0, output
    assert "Bucket policies deny plain-HTTP requests" in output
    assert "No access key exists for the root user" not in output
    assert "MANUAL" not in output
    # The scores still count every requirement.
    assert "Score 50.0%" in output


def test_provider_neutral_framework(database: str) -> None:
    code, output = run("compliance", "pci-dss-4.0", "--database", database, "--format", "json")

    assert code == 0, output
    assert statuses(output)["4.2.1"] == "fail"
    assert statuses(output)["1.1.1"] == "manual"


def test_latest_scan_of_framework_provider(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    store = Store(url)
    save_scan(store, "aws-scan", "2026-01-01T00:00:00+00:00", [], ["s3"])
    save_scan(store, "azure-scan", "2026-03-01T00:00:00+00:00", [], ["storage"], provider="azure")

    code, output = run("compliance", "cis-aws-7.0", "--database", url, "--format", "json")
    assert code == 0, output
    assert json.loads(output)["scan"]["id"] == "aws-scan"

    code, output = run("compliance", "cis-gcp-5.0", "--database", url)
    assert code == EXIT_SETUP
    assert "no gcp scan in" in output


def test_scan_id_prefix(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database, "--scan", "old-", "--format", "json")

    assert code == 0, output
    assert json.loads(output)["scan"]["id"] == "old-scan"


def test_ambiguous_scan_id_prefix(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database, "--scan", "")

    assert code == EXIT_SETUP
    assert "scan id prefix '' is ambiguous" in output


def test_demo_database(tmp_path: Path) -> None:
    # `ridgeline demo` stores its scans in their own file under the data folder.
    environment = {"XDG_DATA_HOME": str(tmp_path), "RIDGELINE_DATABASE_URL": ""}
    store = Store(f"sqlite:///{tmp_path / 'ridgeline' / DEMO_DATABASE_FILE}")
    save_scan(store, "demo-scan", "2026-01-01T00:00:00+00:00", [], ["s3"])

    code, output = run("compliance", "cis-aws-7.0", "--demo", "--format", "json", env=environment)
    assert code == 0, output
    assert json.loads(output)["scan"]["id"] == "demo-scan"

    code, output = run("compliance", "cis-aws-7.0", env=environment)
    assert code == EXIT_SETUP
    assert "add --demo for the scans of `ridgeline demo`" in output


def test_unknown_scan(database: str) -> None:
    code, output = run("compliance", "cis-aws-7.0", "--database", database, "--scan", "nope")

    assert code == EXIT_SETUP
    assert "no scan 'nope'" in output


def test_missing_database_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"

    code, output = run("compliance", "cis-aws-7.0", "--database", f"sqlite:///{path}")

    assert code == EXIT_SETUP
    assert "no database at" in output
    assert not path.exists()


def test_unknown_framework(database: str) -> None:
    code, output = run("compliance", "cis-aws-7", "--database", database)

    assert code == EXIT_SETUP
    assert "no framework 'cis-aws-7'; did you mean cis-aws-7.0" in output


ACME = """\
id: acme-baseline
name: ACME baseline
version: "1"
provider: aws
sections:
  - {id: "1", title: Data}
requirements:
  - id: "1.1"
    title: Data in transit is encrypted
    section: "1"
    rules: [aws-s3-bucket-secure-transport]
  - id: "1.2"
    title: Staff know the data policy
    section: "1"
    rules: []
"""


def test_user_framework(database: str, tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(ACME)

    code, output = run("compliance", "acme-baseline", "--frameworks", str(path), "--database", database,
                       "--format", "json")

    assert code == 0, output
    assert statuses(output) == {"1.1": "fail", "1.2": "manual"}


def test_invalid_user_framework(database: str, tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(ACME.replace("[aws-s3-bucket-secure-transport]", "[aws-s3-no-such-rule]"))

    code, output = run("compliance", "acme-baseline", "--frameworks", str(path), "--database", database)

    assert code == EXIT_SETUP
    assert "Invalid frameworks" in output
    assert f"{path}:11: field 'requirements[0].rules': requirement 1.1: unknown rule 'aws-s3-no-such-rule'" in (
        output.replace("\n", ""))


def test_frameworks_list_json(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(ACME)

    code, output = run("frameworks", "list", "--format", "json", "--frameworks", str(path))

    assert code == 0, output
    rows = {row["id"]: row for row in json.loads(output)}
    cis = find_framework(load_frameworks(), "cis-aws-7.0")
    assert rows["cis-aws-7.0"]["requirements"] == len(cis.requirements)
    assert rows["cis-aws-7.0"]["automated_by_ridgeline"] == sum(1 for r in cis.requirements if r.rules)
    azure = find_framework(load_frameworks(), "cis-azure-6.0")
    assert rows["cis-azure-6.0"]["automated_by_ridgeline"] == sum(1 for r in azure.requirements if r.rules) > 80
    assert rows["pci-dss-4.0"]["provider"] is None
    assert (rows["acme-baseline"]["requirements"], rows["acme-baseline"]["automated_by_ridgeline"],
            rows["acme-baseline"]["automated_share"]) == (2, 1, 50.0)


def test_frameworks_list_table() -> None:
    code, output = run("frameworks", "list")

    assert code == 0, output
    assert "12 frameworks" in output
    assert "cis-aws-7.0" in output
    assert "iso-27001-2022" in output
