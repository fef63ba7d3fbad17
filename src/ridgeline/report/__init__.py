"""Report renderers: each turns a ScanResult into one output format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

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
        path.write_bytes(render(result))
        written.append(path)
    return written
