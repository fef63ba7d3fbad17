"""Every report stays valid and inert when cloud values carry markup, formulas or control characters.

Anyone allowed to create a resource chooses its name and tags, and error messages can echo them, so
each format is rendered from a scan whose names, tags, messages, evidence and errors hold hostile text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from rich.console import Console

from ridgeline.pipeline import ScanResult
from ridgeline.report import renderers
from ridgeline.report.terminal import print_summary
from tests.unit.test_report_formats import sample_result

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x","y")'
QUOTE = '"; DROP'
ESCAPE = "\x1b[31m"
BIDI = "\u202e"
HOSTILE = f"{SCRIPT}{QUOTE}{ESCAPE}{BIDI}"


def hostile_result() -> ScanResult:
    result = sample_result(HOSTILE)
    # A name that is a formula from its first character, as a spreadsheet would see it.
    result.findings[1].resource_name = FORMULA
    result.findings[1].message = FORMULA
    return result


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    result = hostile_result()
    return {name: render(result) for name, (render, _) in renderers().items()}


def test_every_format_is_covered(rendered: dict[str, bytes]) -> None:
    assert set(rendered) == {"json", "ocsf", "html", "csv", "asff", "sarif", "junit"}


def strings(value: object) -> Iterator[str]:
    """Yield every string in a parsed JSON document, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("name", ["json", "ocsf", "asff", "sarif"])
def test_json_formats_parse_and_keep_values(rendered: dict[str, bytes], name: str) -> None:
    document = json.loads(rendered[name])

    # JSON escapes what it must and keeps the value: consumers get the real name back.
    assert any(f"data{HOSTILE}" in text for text in strings(document))


def test_native_json_round_trips_names(rendered: dict[str, bytes]) -> None:
    findings = json.loads(rendered["json"])["findings"]

    assert findings[0]["resource"]["name"] == f"data{HOSTILE}"
    assert findings[1]["resource"]["name"] == FORMULA


def test_junit_is_valid_xml(rendered: dict[str, bytes]) -> None:
    root = ET.fromstring(rendered["junit"])
    names = [case.get("name") or "" for case in root.iter("testcase")]

    assert any(SCRIPT in name for name in names)
    assert all(ESCAPE not in name for name in names)
    assert all(BIDI not in name for name in names)
    assert any("\\x1b[31m" in name and "\\u202e" in name for name in names)
    assert b"\x1b" not in rendered["junit"]


def test_csv_cells_cannot_run_formulas(rendered: dict[str, bytes]) -> None:
    rows = list(csv.reader(io.StringIO(rendered["csv"].decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]

    assert "'" + FORMULA in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert f"data{SCRIPT}{QUOTE}\\x1b[31m\\u202e" in cells
    assert len({len(row) for row in rows}) == 1


# Bytes a terminal acts on when the file is printed with `cat`: C0 controls other than tab, line feed and
# the writer's own CRLF line ends, DEL and (in UTF-8) the C1 controls and the bidirectional overrides.
TERMINAL_ACTIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_csv_has_no_raw_controls(rendered: dict[str, bytes]) -> None:
    text = rendered["csv"].decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]

    assert TERMINAL_ACTIVE.search(text.replace("\r\n", "")) is None
    assert not [cell for cell in cells if TERMINAL_ACTIVE.search(cell)]
    assert b"\x1b" not in rendered["csv"]
    assert b"\x07" not in rendered["csv"]
    # Names, messages and the evidence column all show the escape sequence as visible text.
    assert f"Bucket data{SCRIPT}{QUOTE}\\x1b[31m\\u202e is public." in cells
    assert any(cell.startswith("{") and "\\u001b[31m\\u202e" in cell for cell in cells)


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x08", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u2066"])
def test_csv_escapes_each_control(control: str) -> None:
    result = sample_result(f"{control}]0;title\x07")
    result.findings[0].resource_name = control + "=cmd"

    text = renderers()["csv"][0](result).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]

    assert TERMINAL_ACTIVE.search(text.replace("\r\n", "")) is None
    code = ord(control)
    escaped = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    # Escaped first, the name no longer starts with a formula character, so it gets no apostrophe.
    assert escaped + "=cmd" in cells


class _TagCollector(HTMLParser):
    """Collects the start tags and attributes a browser's tokenizer would see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_html_has_no_injected_markup(rendered: dict[str, bytes]) -> None:
    page = rendered["html"].decode()
    parser = _TagCollector()
    parser.feed(page)

    assert "<script>alert" not in page
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [[("type", "application/json"), ("id", "report-data")], []]
    handlers = [name for _, attrs in parser.tags for name, _ in attrs if name.startswith("on")]
    assert handlers == []


def test_html_shows_control_characters_escaped(rendered: dict[str, bytes]) -> None:
    page = rendered["html"].decode()
    outside_data = re.sub(r'<script type="application/json".*?</script>', "", page, flags=re.S)

    assert ESCAPE not in outside_data
    assert BIDI not in outside_data
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;; DROP\\u001b[31m\\u202e" in outside_data


def test_html_embedded_data_keeps_values(rendered: dict[str, bytes]) -> None:
    page = rendered["html"].decode()
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match is not None

    assert "<" not in match.group(1)
    data = json.loads(match.group(1))
    assert data["findings"][0]["resource_name"] == f"data{HOSTILE}"
    assert data["findings"][1]["resource_name"] == FORMULA


def test_terminal_summary_neutralises_controls() -> None:
    output = io.StringIO()
    console = Console(file=output, force_terminal=False, color_system=None, width=200)

    print_summary(hostile_result(), console)

    text = output.getvalue()
    assert "\x1b" not in text
    assert BIDI not in text
    assert "\\x1b[31m" in text
    assert SCRIPT in text
