"""A temporary file of full resources, so a stored import does not hold every resource in memory.

A streamed import judges each resource as soon as it is read and keeps only what rules look up. A scan
that is stored must still save every resource whole. The spool writes each one as a JSON line to disk
while the import runs. It reads them back after the evaluation and applies the facts known only at the
end of the import: GCP accounts renamed from project numbers to ids, IAM policies marked unknown.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

from ridgeline.model.resource import Resource

logger = logging.getLogger(__name__)


class ResourceSpool:
    """Full resources written one per line to an anonymous temporary file, read back once or more."""

    def __init__(self, directory: str | Path | None = None) -> None:
        # An anonymous file disappears when closed or when the process ends, even after a crash.
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="ridgeline-spool-", dir=directory)
        self.count = 0
        self._accounts: Mapping[str, str] = {}
        self._settle: Callable[[Resource], None] | None = None

    def write(self, resource: Resource) -> None:
        """Append one resource."""
        self._file.write(_dumps(resource))
        self._file.write(b"\n")
        self.count += 1

    def settle(self, *, accounts: Mapping[str, str] | None = None,
               settle: Callable[[Resource], None] | None = None) -> None:
        """Record what to apply to each resource read back: account renames, then `settle`."""
        self._accounts = accounts or {}
        self._settle = settle

    def __iter__(self) -> Iterator[Resource]:
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            resource = Resource.from_dict(_loads(line))
            resource.account = self._accounts.get(resource.account, resource.account)
            if self._settle is not None:
                self._settle(resource)
            yield resource
        self._file.seek(0, 2)

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        """Delete the file."""
        self._file.close()


def _dumps(resource: Resource) -> bytes:
    document = resource.to_dict()
    try:
        return orjson.dumps(document, default=str)
    except orjson.JSONEncodeError:
        # orjson rejects integers beyond 64 bits, which imported JSON may contain.
        return json.dumps(document, default=str, ensure_ascii=False).encode()


def _loads(line: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        document = json.loads(line)
    if not isinstance(document, dict):
        raise ValueError(f"spool line is not a resource: {line[:80]!r}")
    return document
