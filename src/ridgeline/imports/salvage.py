"""Recovery of the whole items of a JSON document that cannot be parsed whole, because it is cut short or invalid.

The AWS Config and Cloud Asset Inventory importers parse a document at once, which is the fastest way. When
that fails, the items before the damage are still whole. `salvage_items` reads the document again one item
at a time, yields the items of its lists up to the damage, and reports where the reading stopped: the line,
and the item being read there. Any such report makes the provider's coverage partial.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from typing import IO, Any

from ridgeline.imports.jsonstream import JsonReader, JsonStreamError, json_problem
from ridgeline.imports.report import ImportReport
from ridgeline.imports.sources import TruncatedInput

REST_NOT_READ = "the rest of the file is not read"


class _ItemWalk:
    """A walk over the item lists of one JSON document, which tracks the index of the item being read."""

    def __init__(self, reader: JsonReader, list_keys: Collection[str]) -> None:
        self.reader = reader
        self.list_keys = list_keys
        self.index: int | None = None
        """The index of the item being read in its list, or None outside a list."""

    def items(self) -> Iterator[tuple[int, Any]]:
        """Yield (index, item) of a top-level array, or of the array members named in `list_keys`."""
        kind = self.reader.peek()
        if kind == "[":
            yield from self._list()
        elif kind == "{":
            yield from self._object()
        else:
            self.reader.value()
        self.reader.expect_end()

    def _object(self) -> Iterator[tuple[int, Any]]:
        reader = self.reader
        for key in reader.iter_members():
            kind = reader.peek()
            if key in self.list_keys and kind == "[":
                yield from self._list()
            else:
                reader.value()

    def _list(self) -> Iterator[tuple[int, Any]]:
        self.index = 0
        for item in self.reader.iter_array():
            yield self.index, item
            self.index += 1
        self.index = None


def salvage_items(stream: IO[str], label: str, report: ImportReport, *, list_keys: Collection[str],
                  cut: TruncatedInput | None = None,
                  failure: json.JSONDecodeError | None = None) -> Iterator[tuple[int, Any]]:
    """Yield (index, item) for each whole item of the document in `stream`, then report where reading stopped.

    The items are those of a top-level array, or of the array members of the top-level object named in
    `list_keys`. The index counts from 0 in each list. Invalid JSON is reported at "line N, item M" (the
    item being read), or at "line N" outside a list.

    With `cut`, the gzip data of the file ends early and `stream` ends where it does. The cut is reported
    in place of the JSON error that the end of the text gives. `failure` is the error of the whole parse,
    reported if the walk finds none, so a file that was rejected once is never taken as whole.
    """
    walk = _ItemWalk(JsonReader(stream), list_keys)
    cut_item: int | None = None
    try:
        yield from walk.items()
    except JsonStreamError as error:
        if cut is not None and error.ends_early:
            # The text ends at the cut, which is reported below with the item it falls in.
            cut_item = walk.index
        else:
            # Invalid JSON, or text cut short: what follows the error cannot be located reliably.
            report.add_error(label, _location(f"line {error.line}", walk.index), f"invalid JSON: {error}; "
                             f"{REST_NOT_READ}")
    else:
        if cut is None and failure is not None:
            report.add_error(label, "", f"invalid JSON: {json_problem(failure)}")
    if cut is not None:
        report.add_error(label, _location(cut.location, cut_item), str(cut))


def _location(line: str, index: int | None) -> str:
    return line if index is None else f"{line}, item {index}"
