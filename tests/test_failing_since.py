"""Compliance posture reports since when a requirement fails, from the finding history."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ridgeline.cli import main


def test_compliance_reports_failing_since(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    scanned = CliRunner().invoke(main, ["demo", "--services", "s3", "--database", database,
                                        "-o", str(tmp_path / "scan")])
    assert scanned.exit_code == 0, scanned.output

    result = CliRunner().invoke(main, ["compliance", "cis-aws-7.0", "--database", database, "--format", "json"])

    assert result.exit_code == 0, result.output
    posture = json.loads(result.output)
    failing = [item for item in posture["requirements"] if item["status"] == "fail"]
    assert failing, "the demo account fails some CIS S3 requirement"
    assert all(item["first_failed_at"] for item in failing)
    assert all(item["first_failed_at"] is None for item in posture["requirements"] if item["status"] != "fail")
