"""Bundled inventory exports that `ridgeline demo` judges for Azure and GCP.

`azure/*.json` are arrays of Resource Manager resources as `az resource show` prints them (child resources
as items of their own), and `gcp/*.jsonl` are Cloud Asset Inventory export lines. Each file pairs
deliberately misconfigured resources with well-configured twins.
"""

from __future__ import annotations

from pathlib import Path

EXPORT_SUFFIXES = (".json", ".jsonl")

EXPORTS_FOLDER = Path(__file__).resolve().parent


def export_files(provider: str) -> list[Path]:
    """Return the bundled export files of `provider` ("azure" or "gcp"), sorted; empty when there are none."""
    folder = EXPORTS_FOLDER / provider
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file() and path.name.endswith(EXPORT_SUFFIXES))
