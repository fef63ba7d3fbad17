"""`ridgeline report`: re-render a stored scan in any format, and list stored scans."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ridgeline.cli import EXIT_SETUP, main
from ridgeline.cli.report import load_scan_result
from ridgeline.model.finding import Status
from ridgeline.pipeline import ScanResult
from ridgeline.report import native, renderers
from ridgeline.store.database import Store
from tests.unit.test_report_formats import RULES, rule_data, sample_result

SECOND_SCAN = "scan-2-newer"


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, Path, ScanResult]:
    """A database with two scans, the sample one and a newer copy; the custom rule file the scans used."""
    url = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    store = Store(url)
    result = sample_result()
    store.save_scan(result.scan, result.collection.coverage, result.collection.resources, result.findings)
    newer = dataclasses.replace(result.scan, id=SECOND_SCAN, started_at="2025-04-01T10:00:00+00:00",
                                finished_at="2025-04-01T10:00:12+00:00", complete=True)
    store.save_scan(newer, [], [], result.findings[:2])
    store.engine.dispose()

    rules_file = tmp_path / "custom-rules.yaml"
    rules = [rule_data(rule_id, **fields) for rule_id, fields in RULES.items()]
    rules_file.write_text(yaml.safe_dump({"rules": rules}))
    return url, rules_file, result


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["report", *args])


def test_report_renders_every_format(stored: tuple[str, Path, ScanResult], tmp_path: Path) -> None:
    url, rules_file, _ = stored
    out = tmp_path / "out"

    outcome = invoke("scan-1", "--database", url, "--rules", str(rules_file), "--output-dir", str(out),
                     "--output-format", ",".join(renderers()))

    assert outcome.exit_code == 0, outcome.output
    suffixes = sorted(path.name.removeprefix("ridgeline-aws-2025-03-01T100000Z") for path in out.iterdir())
    assert suffixes == sorted(suffix for _, suffix in renderers().values())
    assert outcome.output.count("Report written:") == len(renderers())


def test_report_rebuilds_the_stored_scan(stored: tuple[str, Path, ScanResult], tmp_path: Path) -> None:
    url, rules_file, original = stored
    out = tmp_path / "out"

    outcome = invoke("scan-1", "--database", url, "--rules", str(rules_file), "-o", str(out), "-f", "json")

    assert outcome.exit_code == 0, outcome.output
    again = json.loads(next(out.glob("*.json")).read_text())
    expected = json.loads(native.render(original))
    for key in ("scan", "collection", "summary"):
        assert again[key] == expected[key], key
    assert {f["id"]: f for f in again["findings"]} == {f["id"]: f for f in expected["findings"]}


def test_report_orders_findings_like_a_scan(stored: tuple[str, Path, ScanResult]) -> None:
    url, rules_file, _ = stored
    store = Store(url)

    result = load_scan_result(store, "scan-1", [rules_file])
    store.engine.dispose()

    ranks = [(-f.severity.rank, f.status is not Status.FAIL) for f in result.findings]
    assert ranks == sorted(ranks)
    assert result.rules["acme-s3-public"].title == "Buckets are private"
    assert "aws-s3-bucket-policy-public" in result.rules


@pytest.mark.parametrize(("scan_argument", "expected_stem"), [
    ("latest", "ridgeline-aws-2025-04-01T100000Z"),
    ("scan-1", "ridgeline-aws-2025-03-01T100000Z"),
    ("scan-2", "ridgeline-aws-2025-04-01T100000Z"),
])
def test_report_scan_selection(stored: tuple[str, Path, ScanResult], tmp_path: Path, scan_argument: str,
                               expected_stem: str) -> None:
    url, _, _ = stored
    out = tmp_path / "out"

    outcome = invoke(scan_argument, "--database", url, "-o", str(out), "-f", "csv")

    assert outcome.exit_code == 0, outcome.output
    assert [path.name for path in out.iterdir()] == [f"{expected_stem}.csv"]


def test_report_without_rules_warns_and_still_renders(stored: tuple[str, Path, ScanResult], tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    url, _, _ = stored

    outcome = invoke("scan-1", "--database", url, "-o", str(tmp_path / "out"), "-f", "html")

    assert outcome.exit_code == 0, outcome.output
    assert "not loaded now" in caplog.text
    assert "acme-s3-public" in caplog.text


@pytest.mark.parametrize(("scan_argument", "message"), [
    ("nothing-like-this", "no scan 'nothing-like-this'"),
    ("scan-", "is ambiguous"),
    ("scan%", "no scan 'scan%'"),
])
def test_report_rejects_unknown_or_ambiguous_ids(stored: tuple[str, Path, ScanResult], scan_argument: str,
                                                 message: str) -> None:
    url, _, _ = stored

    outcome = invoke(scan_argument, "--database", url)

    assert outcome.exit_code == EXIT_SETUP
    assert message in outcome.output


def test_report_missing_database_is_not_created(tmp_path: Path) -> None:
    database = tmp_path / "absent.db"

    outcome = invoke("--database", f"sqlite:///{database}")

    assert outcome.exit_code == EXIT_SETUP
    assert "no database at" in outcome.output
    assert not database.exists()


def test_report_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(url).engine.dispose()

    outcome = invoke("--database", url)

    assert outcome.exit_code == EXIT_SETUP
    assert "holds no scan" in outcome.output


def test_report_rejects_unknown_format(stored: tuple[str, Path, ScanResult]) -> None:
    url, _, _ = stored

    outcome = invoke("--database", url, "--output-format", "pdf")

    assert outcome.exit_code == 2
    assert "unknown format(s) pdf" in outcome.output


def test_report_list(stored: tuple[str, Path, ScanResult]) -> None:
    url, _, _ = stored

    outcome = CliRunner().invoke(main, ["report", "--list", "--database", url], terminal_width=160)

    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    newer = next(index for index, line in enumerate(lines) if SECOND_SCAN in line)
    older = next(index for index, line in enumerate(lines) if "scan-1 " in line)
    assert newer < older
    assert "4 FAIL" in lines[older]
    assert "1 FAIL" in lines[newer]
    assert "incomplete" in outcome.output


def test_store_counts_findings(stored: tuple[str, Path, ScanResult]) -> None:
    url, _, _ = stored
    store = Store(url)

    counts = store.count_findings(["scan-1", SECOND_SCAN, "absent"])
    store.engine.dispose()

    assert counts == {"scan-1": {"FAIL": 4, "PASS": 1, "ERROR": 1, "MUTED": 1},
                      SECOND_SCAN: {"FAIL": 1, "PASS": 1}, "absent": {}}
