"""Opening of import inputs: one file, every file under a folder, gzip-compressed files and stdin."""

from __future__ import annotations

import codecs
import gzip
import io
import logging
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

logger = logging.getLogger(__name__)

STDIN = "-"
"""The source name that reads standard input."""

GZIP_MAGIC = b"\x1f\x8b"

_COMPRESSED_CHUNK = 1 << 16


class TruncatedInput(EOFError):
    """Gzip data that ends before its end marker: a download or copy cut short.

    Everything before the cut has been read by then. `location` names the line in which the data ends.
    """

    def __init__(self, complete_lines: int) -> None:
        self.location = f"line {complete_lines + 1}"
        super().__init__("the gzip data ends early, so the file was cut short (an interrupted download or copy?); "
                         "what came before the cut was read, and the rest of the file is missing")

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

    def open_text(self, *, cut_as_end: bool = False) -> IO[str]:
        """Open the input as text, decompressing gzip data whatever the file name is.

        The text is UTF-8 unless a byte order mark marks it as UTF-16 (or as UTF-8 with a mark). Gzip data
        cut short raises `TruncatedInput` where it ends, unless `cut_as_end`: the text then just ends there,
        for a caller that has already reported the cut and reads again what came before it.
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
            buffered = io.BufferedReader(_GzipReader(buffered, cut_as_end=cut_as_end))
        return io.TextIOWrapper(buffered, encoding=_text_encoding(buffered.peek(3)[:3]), errors=CUT_CHARACTER_ERRORS)


class _GzipReader(io.RawIOBase):
    """The decompressed bytes of gzip data, up to the last byte that arrived, then `TruncatedInput`.

    `gzip.GzipFile` raises at a truncation before it returns the data decompressed from the last chunk, so
    the items of that chunk were lost although they were complete. Here every decompressed byte is returned
    first. Members written one after the other (as `cat a.gz b.gz` does) read as one stream, and zero bytes
    after the last member are ignored, as gzip does.
    """

    def __init__(self, compressed: IO[bytes], *, cut_as_end: bool = False) -> None:
        super().__init__()
        self._compressed = compressed
        self._cut_as_end = cut_as_end
        self._decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self._pending = b""
        self._finished = False
        self._error: OSError | None = None
        """Invalid data found after the data in `_pending`, raised once that has been read."""
        self._lines = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._finished:
            if self._error is not None:
                raise self._error
            self._pending = self._decompress_more()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._lines += self._pending.count(b"\n", 0, size)
        self._pending = self._pending[size:]
        return size

    def _decompress_more(self) -> bytes:
        chunk = self._compressed.read(_COMPRESSED_CHUNK)
        if not chunk:
            if not self._decompressor.eof and not self._cut_as_end:
                raise TruncatedInput(self._lines)
            self._finished = True
            return b""
        try:
            data = self._decompressor.decompress(chunk)
            while self._decompressor.eof and self._decompressor.unused_data:
                # The end of one member: what follows is another member, or padding.
                rest = self._decompressor.unused_data
                if not rest.startswith(GZIP_MAGIC):
                    if rest.strip(b"\0") or self._compressed.read().strip(b"\0"):
                        self._error = gzip.BadGzipFile("invalid data after the end of the gzip data")
                    else:
                        self._finished = True
                    break
                self._decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                data += self._decompressor.decompress(rest)
        except zlib.error as error:
            # A corrupt member or a checksum that does not match: OSError, as gzip.GzipFile raises.
            raise gzip.BadGzipFile(f"invalid gzip data: {error}") from None
        return data


CUT_CHARACTER_ERRORS = "ridgeline-cut-character"
"""The decoding error handler of import files: a character cut by the end of the text becomes U+FFFD.

A file cut short (`head -c`, an interrupted copy) may end inside a character of several bytes. Its decoder
then fails at the end, and the file would be unreadable as a whole. The replacement keeps the text before
it, which the JSON parsers then find incomplete, so the cut is reported where it is and never imported.
Any other invalid byte still raises UnicodeDecodeError.
"""

# The reasons that the UTF-8 and UTF-16 decoders give for bytes that end before their character does.
_CUT_CHARACTER_REASONS = frozenset({"unexpected end of data", "truncated data"})


def _replace_cut_character(error: UnicodeError) -> tuple[str, int]:
    if (isinstance(error, UnicodeDecodeError) and error.reason in _CUT_CHARACTER_REASONS
            and error.end == len(error.object)):
        return "\ufffd", error.end
    raise error


codecs.register_error(CUT_CHARACTER_ERRORS, _replace_cut_character)


def _text_encoding(head: bytes) -> str:
    """Return the codec for a file starting with `head`: Windows PowerShell 5 redirects `az` output as UTF-16."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    # JSON starts with an ASCII character, so UTF-16 without a byte order mark shows a zero byte beside it.
    if len(head) >= 2 and head[0] != 0 and head[1] == 0:
        return "utf-16-le"
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return "utf-16-be"
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
