"""Paths into a resource envelope, such as `supplementaryConfiguration.BucketPolicy.policyText`.

A path is dotted keys; a key holding dots is quoted (`tags."app.tier"`) and a list element is `[N]`.
Absolute paths start at an envelope field; paths inside `where` of an item quantifier are relative to
the item, and `@` is the item itself.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final

from ridgeline.model.resource import Resource
from ridgeline.rules.errors import RuleError


class _Missing:
    """The value of a path that leads nowhere (distinct from an explicit null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

# Envelope roots a rule may read, mapped to the Resource attribute that contains them.
ROOTS: Final[dict[str, str]] = {
    "configuration": "configuration",
    "supplementaryConfiguration": "supplementary",
    "tags": "tags",
    "relationships": "relationships",
    "name": "name",
    "id": "id",
    "type": "type",
    "account": "account",
    "region": "region",
    "provider": "provider",
}

_ERROR_VERDICTS = 1024
"""Error paths whose overlap one `Path` remembers; resources rarely have more than a few distinct ones."""

_TOKEN = re.compile(r'"([^"]*)"|([^.\[\]"]+)|\[(\d+)\]')


def split_path(text: str) -> tuple[str | int, ...]:
    """Split a path into keys (str) and list indexes (int); raise RuleError when it is malformed."""
    keys: list[str | int] = []
    position = 0
    while position < len(text):
        dotted = bool(keys) and text[position] == "."
        if dotted:
            position += 1
        match = _TOKEN.match(text, position)
        # After the first key, a key needs a dot before it (`a.b`), but an index does not (`a[0]`).
        if match is None or (keys and match.group(3) is None and not dotted):
            raise RuleError(f"invalid path {text!r} at character {position + 1}")
        quoted, plain, index = match.groups()
        if index is not None:
            keys.append(int(index))
        else:
            keys.append(quoted if quoted is not None else plain)
        position = match.end()
    if not keys:
        raise RuleError("empty path")
    return tuple(keys)


class Path:
    """A compiled path: reads a value from a Resource (absolute) or from an item (relative)."""

    __slots__ = ("_error_verdicts", "_own_keys", "attribute", "keys", "read", "relative", "text")

    def __init__(self, text: str, *, relative: bool = False) -> None:
        self.text = text
        self.relative = relative
        self._own_keys: tuple[str | int, ...] | None = None
        self._error_verdicts: dict[str, bool] = {}
        self.keys: tuple[str | int, ...]
        if relative:
            self.attribute = ""
            if text == "@":
                self.keys = ()
            elif text.startswith("@["):
                self.keys = split_path(text[1:])
            else:
                self.keys = split_path(text.removeprefix("@."))
        else:
            keys = split_path(text)
            root = keys[0]
            if root not in ROOTS:
                roots = ", ".join(ROOTS)
                raise RuleError(f"path {text!r} must start with one of: {roots}")
            self.attribute = ROOTS[str(root)]
            self.keys = keys[1:]
        self.read: Callable[[Any], Any] = _reader(self.attribute, self.keys)
        """The same as `get`, one call shorter: conditions read paths millions of times in a large import."""

    def get(self, subject: Any) -> Any:
        """Return the value at this path, or MISSING."""
        return self.read(subject)

    def error_for(self, resource: Resource) -> str | None:
        """Return why this path is unknown on `resource` (an entry of `resource.errors`), else None."""
        for error_path, reason in resource.errors.items():
            if self._overlaps(error_path):
                return reason
        return None

    def _overlaps(self, error_path: str) -> bool:
        # A large import repeats a few error paths (a setting that no export contains) on every resource of
        # a type, so each path caches its verdict per error path instead of splitting both again.
        verdict = self._error_verdicts.get(error_path)
        if verdict is None:
            if self._own_keys is None:
                self._own_keys = split_path(self.text)
            verdict = (error_path == "*" or _keys_overlap(error_path, self._own_keys)
                       or paths_overlap(error_path, self.text))
            if len(self._error_verdicts) < _ERROR_VERDICTS:
                self._error_verdicts[error_path] = verdict
        return verdict

    def __repr__(self) -> str:
        return f"Path({self.text!r})"


def _reader(attribute: str, keys: tuple[str | int, ...]) -> Callable[[Any], Any]:
    """Return a function that reads `keys` below the `attribute` of a subject (the subject itself when "")."""
    fetch = operator.attrgetter(attribute) if attribute else None

    # Most paths are one or two keys below an envelope field: those get a function without a loop.
    if len(keys) == 1 and isinstance(keys[0], str) and fetch is not None:
        key = keys[0]

        def read_one(subject: Any) -> Any:
            value = fetch(subject)
            return value.get(key, MISSING) if isinstance(value, dict) else MISSING

        return read_one

    if len(keys) == 2 and isinstance(keys[0], str) and isinstance(keys[1], str) and fetch is not None:
        first, second = keys

        def read_two(subject: Any) -> Any:
            value = fetch(subject)
            if not isinstance(value, dict):
                return MISSING
            value = value.get(first, MISSING)
            return value.get(second, MISSING) if isinstance(value, dict) else MISSING

        return read_two

    def read(subject: Any) -> Any:
        value = fetch(subject) if fetch is not None else subject
        for key in keys:
            if isinstance(key, int):
                if not isinstance(value, list) or key >= len(value):
                    return MISSING
                value = value[key]
            else:
                if not isinstance(value, dict):
                    return MISSING
                value = value.get(key, MISSING)
                if value is MISSING:
                    return MISSING
        return value

    return read


def paths_overlap(first: str, second: str) -> bool:
    """Tell whether one path is the other or lies inside it (whole segments only)."""
    if first == second:
        return True
    shorter, longer = (first, second) if len(first) < len(second) else (second, first)
    return longer.startswith(shorter) and longer[len(shorter)] in ".["


def _keys_overlap(error_path: str, keys: tuple[str | int, ...]) -> bool:
    # Compare split keys, so that `configuration."x"` and `configuration.x` name the same value.
    error_keys = _split_error_path(error_path)
    if error_keys is None:
        return False
    shared = min(len(error_keys), len(keys))
    return error_keys[:shared] == keys[:shared]


@lru_cache(maxsize=4096)
def _split_error_path(error_path: str) -> tuple[str | int, ...] | None:
    """Return the keys of an error path, or None when it is not a valid path (it then overlaps nothing)."""
    try:
        return split_path(error_path)
    except RuleError:
        return None
