"""Report renderers: each turns a ScanResult into one output format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from ridgeline.pipeline import ScanResult

Renderer = Callable[[ScanResult], bytes]


def renderers() -> dict[str, tuple[Renderer, str]]:
    """Return the file formats: name -> (renderer, file suffix)."""
    from ridgeline.report import asff, csv_report, html, junit, native, ocsf, sarif

    return {
        "json": (native.render, ".json"),
        "ocsf": (ocsf.render, ".ocsf.json"),
        "html": (html.render, ".html"),
        "csv": (csv_report.render, ".csv"),
        "asff": (asff.render, ".asff.json"),
        "sarif": (sarif.render, ".sarif"),
        "junit": (junit.render, ".junit.xml"),
    }


def write_reports(result: ScanResult, formats: Sequence[str], output_dir: Path) -> list[Path]:
    """Write one file per format into `output_dir`; return their paths."""
    available = renderers()
    output_dir.mkdir(parents=True, exist_ok=True)
    # Scans are timed to the microsecond so that scans started in the same second still sort; file names
    # keep whole seconds.
    started = result.scan.started_at.split(".")[0].split("+")[0] + "+00:00"
    stem = f"ridgeline-{result.scan.provider}-{started.replace(':', '').replace('+0000', 'Z')}"
    written = []
    for name in formats:
        render, suffix = available[name]
        path = output_dir / f"{stem}{suffix}"
        write = _WRITERS.get(name)
        if write is None:
            path.write_bytes(render(result))
        else:
            with path.open("wb") as output:
                write(result, output)
        written.append(path)
    return written


def _write_native(result: ScanResult, output: BinaryIO) -> None:
    from ridgeline.report import native

    native.write(result, output)


# Formats written as they are rendered, so a report of millions of findings is not held in memory whole.
_WRITERS: dict[str, Callable[[ScanResult, BinaryIO], None]] = {"json": _write_native}
