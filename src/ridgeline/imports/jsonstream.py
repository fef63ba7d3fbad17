"""Incremental reading of large JSON documents, one array item at a time.

An inventory export can hold a million resources in one JSON array, or in one array member of an
object (`{"value": [...]}`, `{"data": [...]}`). `JsonReader` decodes such a document item by item,
so memory contains the decoded items the caller keeps and a window of text about the size of one
item, never the whole text and its decoded form at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

CHUNK_SIZE = 1 << 20
"""Characters read from the stream at a time, unless one value needs more."""

FIRST_CHUNK_SIZE = 1 << 16
"""Characters of the first read. Each later read doubles the size, up to CHUNK_SIZE, because format
detection reads only the start of a file and decoding a whole chunk of every file cost it the most."""

# json.JSONDecodeError positions within this distance of the end of the text read so far may come from
# a value cut by the end of the window rather than from invalid JSON; the reader reads on and retries.
_INCOMPLETE_MARGIN = 64

_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
_DECODER = json.JSONDecoder()


CUT_SHORT = "the text ends before the JSON value does, so it was probably cut short"
"""The explanation added to a JSON error at the end of the text (a file still being written, or copied in part)."""


class JsonStreamError(ValueError):
    """Invalid JSON, with the 1-based line and column of the problem."""

    def __init__(self, message: str, line: int, column: int, *, ends_early: bool = False) -> None:
        # Some messages of the json module end with "at" ("Unterminated string starting at").
        text = f"{message.removesuffix(' at')} at line {line} column {column}"
        super().__init__(f"{text}; {CUT_SHORT}" if ends_early else text)
        self.message = message
        self.line = line
        self.column = column
        self.ends_early = ends_early
        """The text ended before the value was complete: the file was probably cut short."""


class JsonReader:
    """A cursor over the JSON text of a stream, which decodes one value at a time.

    `iter_array` and `iter_members` walk the structure of a large document; `value` decodes a whole
    value. A byte order mark at the start is skipped.
    """

    def __init__(self, stream: IO[str], *, prefix: str = "", chunk_size: int = CHUNK_SIZE) -> None:
        self._stream = stream
        self._buffer = prefix
        self._pos = 0
        self._eof = False
        self._chunk_size = chunk_size
        self._read_size = min(chunk_size, FIRST_CHUNK_SIZE)
        self._lines_before = 0
        """Line breaks in the text already dropped from the buffer."""
        self._columns_before = 0
        """Characters after the last dropped line break, for the column of errors on that line."""

        if self._next_char() == "\ufeff":
            self._pos += 1

    # Public interface --------------------------------------------------------------------------------

    def peek(self) -> str:
        """Return the next character that is not whitespace without consuming it, or "" at the end."""
        return self._next_char()

    def at_end(self) -> bool:
        """Tell whether only whitespace is left."""
        return self._next_char() == ""

    def line(self) -> int:
        """Return the 1-based line of the next character that is not whitespace."""
        self._next_char()
        return self._location(self._pos)[0]

    def expect_end(self) -> None:
        """Raise JsonStreamError unless only whitespace is left, as json.loads rejects text after a document."""
        if self._next_char():
            raise self._error("Extra data", self._pos)

    def value(self) -> Any:
        """Decode the whole value that starts at the cursor and move past it.

        Raises JsonStreamError when the text is not valid JSON or ends inside the value.
        """
        if self._next_char() == "":
            raise self._error("expected a value, found the end of the file", self._pos)
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                if self._may_be_incomplete(error) and self._fill():
                    continue
                raise self._error(error.msg, error.pos) from None

            # A number that ends where the text read so far ends may continue in the next chunk.
            if end == len(self._buffer) and _is_number(value) and self._fill():
                continue
            start, self._pos = self._pos, end
            return _shared_keys(value, self._buffer, start, end)

    def iter_array(self) -> Iterator[Any]:
        """Yield the items of the array that starts at the cursor, decoding each only when asked for."""
        self._expect("[")
        if self._next_char() == "]":
            self._pos += 1
            return
        while True:
            yield self.value()
            following = self._next_char()
            self._pos += 1
            if following == ",":
                continue
            if following == "]":
                return
            raise self._error("expected ',' or ']' after an array item", self._pos - 1)

    def iter_members(self) -> Iterator[str]:
        """Yield the keys of the object that starts at the cursor.

        After each key the cursor is at its value, which the caller must consume (with `value`,
        `iter_array` or `iter_members`) before asking for the next key.
        """
        self._expect("{")
        if self._next_char() == "}":
            self._pos += 1
            return
        while True:
            if self._next_char() != '"':
                raise self._error("expected a property name in double quotes", self._pos)
            key = self.value()
            self._expect(":")
            yield str(key)
            following = self._next_char()
            self._pos += 1
            if following == ",":
                continue
            if following == "}":
                return
            raise self._error("expected ',' or '}' after an object member", self._pos - 1)

    # Buffer handling ---------------------------------------------------------------------------------

    def _next_char(self) -> str:
        while True:
            match = _NOT_WHITESPACE.search(self._buffer, self._pos)
            if match is not None:
                self._pos = match.start()
                return self._buffer[self._pos]
            self._pos = len(self._buffer)
            if not self._fill():
                return ""

    def _expect(self, char: str) -> None:
        found = self._next_char()
        if found != char:
            raise self._error(f"expected {char!r}, found {found!r}" if found else
                              f"expected {char!r}, found the end of the file", self._pos)
        self._pos += 1

    def _fill(self) -> bool:
        """Drop the text before the cursor and read more; return False at the end of the stream."""
        if self._eof:
            return False
        self._drop_consumed()

        # Read at least as much as the buffer holds, so that a value larger than a chunk is parsed a
        # logarithmic number of times, not once per chunk.
        data = self._stream.read(max(self._read_size, len(self._buffer)))
        self._read_size = min(self._read_size * 2, self._chunk_size)
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def _drop_consumed(self) -> None:
        if not self._pos:
            return
        dropped = self._buffer[:self._pos]
        last_break = dropped.rfind("\n")
        self._lines_before += dropped.count("\n")
        self._columns_before = len(dropped) - last_break - 1 if last_break >= 0 else self._columns_before + len(dropped)
        self._buffer = self._buffer[self._pos:]
        self._pos = 0

    def _may_be_incomplete(self, error: json.JSONDecodeError) -> bool:
        if self._eof:
            return False
        return error.pos >= len(self._buffer) - _INCOMPLETE_MARGIN or error.msg.startswith("Unterminated string")

    # Errors ------------------------------------------------------------------------------------------

    def _location(self, pos: int) -> tuple[int, int]:
        line = self._lines_before + self._buffer.count("\n", 0, pos) + 1
        last_break = self._buffer.rfind("\n", 0, pos)
        column = pos - last_break if last_break >= 0 else self._columns_before + pos + 1
        return line, column

    def _error(self, message: str, pos: int) -> JsonStreamError:
        line, column = self._location(pos)
        # At the end of the stream, an error with nothing but white space after it, or a string that never
        # closes, means that the text stopped inside a value.
        ends_early = self._eof and (message.startswith("Unterminated string") or not self._buffer[pos:].strip())
        return JsonStreamError(message, line, column, ends_early=ends_early)


def _shared_keys(value: Any, text: str, start: int, end: int) -> Any:
    """Return `value` decoded again by orjson, whose objects share their key strings, when it is a container.

    The json module gives every decoded object its own key strings. With many resources of the same keys,
    sharing them saved a quarter of the memory (measured on a 200,000-resource Resource Graph export).
    """
    if not isinstance(value, dict | list):
        return value
    try:
        return orjson.loads(text[start:end])
    except orjson.JSONDecodeError:
        # orjson rejects what json accepts beyond the standard, such as NaN and integers beyond 64 bits.
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_problem(error: json.JSONDecodeError, *, line: bool = True) -> str:
    """Return the problem and position of a json module error: "Expecting value at line 3 column 5".

    Some messages of the json module end with "at" ("Invalid control character at"), which is dropped so
    the position does not read "at at".
    """
    message = error.msg.removesuffix(" at")
    position = f"line {error.lineno} column {error.colno}" if line else f"column {error.colno}"
    if _ends_early(error):
        return f"{message} at {position}; {CUT_SHORT}"
    return f"{message} at {position}"


def _ends_early(error: json.JSONDecodeError) -> bool:
    """Tell whether the json module reached the end of the text before the value was complete."""
    # The json module reports a string without its closing quote only when the text ends inside it. Other
    # errors at the end of the text ("Expecting value", "Expecting ',' delimiter") mean the same.
    return error.msg.startswith("Unterminated string") or error.pos >= len(error.doc.rstrip())


def json_kind(value: Any) -> str:
    """Return how JSON names the kind of a decoded value, for messages: "an object", "a string", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
