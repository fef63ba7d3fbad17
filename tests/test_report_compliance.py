"""`ridgeline report` recomputes the compliance posture of a stored scan."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ridgeline.cli import main


def test_report_keeps_the_scan_frameworks(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    scanned = CliRunner().invoke(main, ["demo", "--services", "s3", "--database", database,
                                        "--compliance", "cis-aws-7.0", "-o", str(tmp_path / "scan")])
    assert scanned.exit_code == 0, scanned.output

    default = CliRunner().invoke(main, ["report", "latest", "--database", database, "-f", "json",
                                        "-o", str(tmp_path / "default")])
    chosen = CliRunner().invoke(main, ["report", "latest", "--database", database, "-f", "json",
                                       "--compliance", "pci-dss-4.0", "-o", str(tmp_path / "chosen")])

    assert default.exit_code == 0, default.output
    assert chosen.exit_code == 0, chosen.output
    default_report = json.loads(next((tmp_path / "default").glob("*.json")).read_text())
    chosen_report = json.loads(next((tmp_path / "chosen").glob("*.json")).read_text())
    assert [posture["framework"]["id"] for posture in default_report["compliance"]] == ["cis-aws-7.0"]
    assert [posture["framework"]["id"] for posture in chosen_report["compliance"]] == ["pci-dss-4.0"]


def test_report_rejects_unknown_framework(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'ridgeline.db'}"
    CliRunner().invoke(main, ["demo", "--services", "s3", "--database", database, "-o", str(tmp_path / "scan")])

    result = CliRunner().invoke(main, ["report", "latest", "--database", database, "--compliance", "cis-aws-9.9",
                                       "-o", str(tmp_path / "out")])

    assert result.exit_code == 2
    assert "no framework 'cis-aws-9.9'" in result.output
