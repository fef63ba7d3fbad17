"""Opening of import inputs: one file, every file under a folder, gzip-compressed files and stdin."""

from __future__ import annotations

import gzip
import io
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

logger = logging.getLogger(__name__)

STDIN = "-"
"""The source name that reads standard input."""

GZIP_MAGIC = b"\x1f\x8b"

# File names a folder walk reads; anything else (READMEs, manifests) is logged and left alone.
FOLDER_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
JSON_LINES_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input to read: a file path, or standard input."""

    name: str
    """The path as given (or found under a folder), or "-" for standard input."""

    path: str = ""
    """The file to open when it differs from `name`: the copy of standard input that a caller saved
    so that it can be read twice (once to detect the format, once to import)."""

    @property
    def label(self) -> str:
        """Return the name used in errors and in `Resource.source` ("<stdin>" for standard input)."""
        return "<stdin>" if self.name == STDIN else self.name

    @property
    def json_lines(self) -> bool:
        """Tell whether the name marks a JSON lines file (one JSON document per line)."""
        # NOTE: only the suffix decides, so JSON lines piped to stdin are read as one JSON document and fail.
        return self.name.lower().endswith(JSON_LINES_SUFFIXES)

    def open_text(self) -> IO[str]:
        """Open the input as text, decompressing gzip data whatever the file name is.

        The text is UTF-8 unless a byte order mark marks it as UTF-16 (or as UTF-8 with a mark).
        """
        if self.path:
            raw: IO[bytes] = Path(self.path).open("rb")
        elif self.name == STDIN:
            raw = sys.stdin.buffer
        else:
            raw = Path(self.name).open("rb")
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(io.RawIOBase, raw))

        # Config delivers snapshots as .json.gz, but renamed or piped files keep the gzip header only.
        if buffered.peek(2)[:2] == GZIP_MAGIC:
            buffered = io.BufferedReader(cast(io.RawIOBase, gzip.GzipFile(fileobj=buffered)))
        return io.TextIOWrapper(buffered, encoding=_text_encoding(buffered.peek(3)[:3]))


def _text_encoding(head: bytes) -> str:
    """Return the codec for a file starting with `head`: Windows PowerShell 5 redirects `az` output as UTF-16."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    return "utf-8"


def iter_input_files(source: str | Path, skipped: list[str] | None = None) -> Iterator[InputFile]:
    """Yield the files named by `source`: the file itself, the JSON files under a folder (sorted), or stdin.

    Files under a folder whose names do not end in FOLDER_SUFFIXES are left out and added to `skipped`.
    Raises FileNotFoundError when `source` does not exist.
    """
    name = str(source)
    if name == STDIN:
        yield InputFile(STDIN)
        return

    path = Path(name)
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if not child.is_file():
                continue
            if child.name.lower().endswith(FOLDER_SUFFIXES):
                yield InputFile(str(child))
            else:
                logger.debug("import: skipping %s, whose name does not end in %s", child, ", ".join(FOLDER_SUFFIXES))
                if skipped is not None:
                    skipped.append(str(child))
        return

    if not path.exists():
        raise FileNotFoundError(f"import source not found: {name}")
    yield InputFile(name)
