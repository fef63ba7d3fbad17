"""Tests for safe text: hostile resource names in the terminal and in remediation commands."""

from __future__ import annotations

import io
import json
import logging
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.pipeline import ScanResult
from ridgeline.providers.aws.scanner import Collection
from ridgeline.report.terminal import print_summary
from ridgeline.report.text import render_remediation, terminal_safe
from ridgeline.rules.model import Remediation
from ridgeline.store.database import StoredScan

ACCOUNT = "123456789012"

HOSTILE_NAMES = [
    pytest.param("\x1b[31mred\x1b[0m", id="ansi-colour"),
    pytest.param("\x1b[2J\x1b[Hcleared", id="ansi-clear-screen"),
    pytest.param("\x1b]0;new title\x07", id="osc-title-bel"),
    pytest.param("\x1b]8;;https://example.invalid\x1b\\link\x1b]8;;\x1b\\", id="osc-hyperlink"),
    pytest.param("\x9b31mc1-csi", id="c1-csi"),
    pytest.param("\x9d0;title\x9c", id="c1-osc"),
    pytest.param("abc\rok", id="carriage-return"),
    pytest.param("\x08\x08\x08backspaces", id="backspace"),
    pytest.param("\x7fdelete", id="delete"),
]

# Control characters a terminal acts on. Tab and line feed only move the cursor forward.
ACTIVE_CONTROLS = {chr(code) for code in [*range(0x00, 0x09), *range(0x0b, 0x20), *range(0x7f, 0xa0)]}
BIDI_CONTROLS = {chr(code) for code in [*range(0x202a, 0x202f), *range(0x2066, 0x206a)]}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_terminal_safe_removes_controls(name: str) -> None:
    safe = terminal_safe(name)

    assert not set(safe) & ACTIVE_CONTROLS
    assert "\\x" in safe


def test_terminal_safe_shows_escape_readably() -> None:
    assert terminal_safe("\x1b[31mred") == "\\x1b[31mred"


@pytest.mark.parametrize("character", sorted(BIDI_CONTROLS))
def test_terminal_safe_removes_bidi(character: str) -> None:
    safe = terminal_safe(f"invoice{character}fdp.exe")

    assert character not in safe
    assert safe == f"invoice\\x{ord(character):02x}fdp.exe"


def test_terminal_safe_keeps_plain_text() -> None:
    assert terminal_safe("bucket-é-名前 ok") == "bucket-é-名前 ok"
    assert terminal_safe(42) == "42"


def render(markup: str) -> str:
    """Print `markup` on a Rich console that emits no styles of its own and return the output."""
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, color_system=None, width=200, highlight=False)
    console.print(markup)
    return stream.getvalue()


@pytest.mark.parametrize("name", [
    "[bold red]alarm[/bold red]",
    "[link=https://example.invalid]click[/link]",
    "[/]",
    "trailing\\",
    "\\[escaped]",
])
def test_terminal_safe_prints_markup_literally(name: str) -> None:
    output = render(f"[bold]Bucket {terminal_safe(name)}[/bold] done")

    assert output == f"Bucket {name} done\n"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_rich_output_has_no_control(name: str) -> None:
    output = render(f"[bold]{terminal_safe(name)}[/bold]")

    assert not set(output) & ACTIVE_CONTROLS


def hostile_result(name: str) -> ScanResult:
    finding = Finding(rule_id="aws-s3-bucket-acl-public", status=Status.FAIL, severity=Severity.CRITICAL,
                      category="storage-exposure", provider="aws", account=ACCOUNT, region="us-east-1",
                      resource_id=f"arn:aws:s3:::{name}", resource_type="AWS::S3::Bucket", resource_name=name,
                      message=f"Bucket {name} is public")
    error = CallError(call="s3:GetBucketPolicy", code="AccessDenied", message=f"denied for {name}",
                      resource_id=name)
    unit = Coverage(provider="aws", account=ACCOUNT, region="global", service="s3", status=Completeness.PARTIAL,
                    errors=[error])
    scan = StoredScan(id="scan-1", provider="aws", started_at="2025-03-01T10:00:00+00:00",
                      finished_at="2025-03-01T10:01:00+00:00", accounts=[ACCOUNT], regions=["us-east-1"],
                      complete=False, api_calls=3, duration_s=60.0, options={})
    collection = Collection(provider="aws", accounts=[ACCOUNT], regions=["us-east-1"], coverage=[unit])
    return ScanResult(scan=scan, collection=collection, findings=[finding])


@pytest.mark.parametrize("name", [
    "\x1b[31mred\x1b[0m",
    "\x1b]0;owned\x07",
    "[bold red]fake[/bold red]",
    "evil\u202etxt.exe",
])
def test_summary_neutralises_names(name: str) -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, color_system=None, width=300, highlight=False)

    print_summary(hostile_result(name), console)

    output = stream.getvalue()
    assert not set(output) & (ACTIVE_CONTROLS | BIDI_CONTROLS)
    if name.startswith("["):
        assert name in output


# --- Remediation commands --------------------------------------------------------------

def finding_for(name: str) -> Finding:
    return Finding(rule_id="aws-s3-bucket-acl-public", status=Status.FAIL, severity=Severity.HIGH,
                   category="storage-exposure", provider="aws", account=ACCOUNT, region="us-east-1",
                   resource_id=f"arn:aws:s3:::{name}", resource_type="AWS::S3::Bucket", resource_name=name,
                   message="m")


REMEDIATION = Remediation(
    text="Block public access on ${name} in ${account}.",
    cli="aws s3api put-public-access-block --bucket ${name} --region ${region}",
    terraform='bucket = "${name}"',
)


@pytest.mark.parametrize("name", [
    "x; rm -rf ~",
    "$(curl example.invalid)",
    "`id`",
    "it's",
    "a b\nc",
    "",
    "${id}",
])
def test_remediation_cli_quotes_name(name: str) -> None:
    rendered = render_remediation(REMEDIATION, finding_for(name))

    arguments = shlex.split(rendered["cli"])
    assert arguments == ["aws", "s3api", "put-public-access-block", "--bucket", name, "--region", "us-east-1"]


def test_remediation_cli_exact_text() -> None:
    rendered = render_remediation(REMEDIATION, finding_for("x; rm -rf ~"))

    assert rendered["cli"] == "aws s3api put-public-access-block --bucket 'x; rm -rf ~' --region us-east-1"


def test_remediation_text_and_terraform() -> None:
    rendered = render_remediation(REMEDIATION, finding_for("data"))

    assert rendered["text"] == f"Block public access on data in {ACCOUNT}."
    assert rendered["terraform"] == 'bucket = "${name}"'


# Log lines ----------------------------------------------------------------------------------------------

def _formatted_log_line(message: str, *arguments: object) -> str:
    from ridgeline.cli import _TerminalSafeFormatter

    record = logging.LogRecord("ridgeline.imports.report", logging.INFO, __file__, 1, message, arguments, None)
    return _TerminalSafeFormatter("%(levelname)s %(name)s: %(message)s").format(record)


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_log_line_escapes_hostile_name(name: str) -> None:
    line = _formatted_log_line("import: %s: no project found", f"//storage.googleapis.com/{name}")

    assert not any(character in line for character in "\x1b\x07\x08\r\x9b\x9c\x9d")
    assert line.startswith("INFO ridgeline.imports.report: import: //storage.googleapis.com/")


def test_log_line_newline_cannot_forge_line() -> None:
    line = _formatted_log_line("import: %s", "bucket\n2026-12-05 00:00:00,000 ERROR ridgeline: forged")

    assert "\n" not in line
    assert "\\x0a2026-12-05" in line


def test_log_traceback_keeps_its_lines() -> None:
    from ridgeline.cli import _TerminalSafeFormatter

    try:
        raise ValueError("bad \x1b[2J value")
    except ValueError:
        record = logging.LogRecord("ridgeline", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = _TerminalSafeFormatter("%(message)s").format(record)

    assert text.startswith("failed\nTraceback")
    assert "\x1b" not in text
    assert "bad \\x1b[2J value" in text


def test_cli_log_output_escaped(tmp_path: Path) -> None:
    export = tmp_path / "assets.jsonl"
    export.write_text(json.dumps({"name": "//storage.googleapis.com/b\x1b]0;PWNED\x07", "asset_type":
                                  "storage.googleapis.com/Bucket", "resource": {"data": {"name": "b"}}}) + "\n")

    command = str(Path(sys.executable).with_name("ridgeline"))
    completed = subprocess.run([command, "-v", "scan", "file", str(export), "--no-store", "--output-dir",
                                str(tmp_path / "out")], capture_output=True, check=False)

    assert b"PWNED" in completed.stderr
    assert b"\x1b" not in completed.stderr
    assert b"\x1b" not in completed.stdout
