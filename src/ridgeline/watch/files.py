"""`ridgeline watch file`: a folder of AWS Config exports as an event source.

Each poll compares the files' sizes and modification times with the last state that was applied; a
changed, new or deleted file becomes one message. A file's state counts as applied only when the
watcher deletes its message (after storing the increment), so a crash re-imports it on the next start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ridgeline.imports.collection import import_aws_config
from ridgeline.imports.sources import FOLDER_SUFFIXES
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.watch.events import ChangeEvent, MalformedEvent, ParseResult, ReceivedMessage, SourceUnavailable

logger = logging.getLogger(__name__)

Signature = tuple[int, int]
"""(size in bytes, modification time in nanoseconds)."""


def export_files(folder: Path) -> dict[str, Signature]:
    """Return the signature of every export file under `folder`, by path, as the importer walks it."""
    files: dict[str, Signature] = {}
    for child in sorted(folder.rglob("*")):
        if child.is_file() and child.name.lower().endswith(FOLDER_SUFFIXES):
            try:
                stat = child.stat()
            except FileNotFoundError:
                continue
            files[str(child)] = (stat.st_size, stat.st_mtime_ns)
    return files


def import_folder(folder: Path) -> Collection:
    """Import every export under `folder`; raise ScanSetupError when nothing could be imported."""
    collection, report = import_aws_config([str(folder)])
    for issue in report.errors[:20]:
        logger.warning("import: %s", issue.describe())
    if not collection.resources:
        raise ScanSetupError(f"no resource could be imported from {folder}")
    return collection


@dataclass(slots=True)
class _Change:
    path: str
    signature: Signature | None
    """None when the file was deleted."""


class FolderSource:
    """Reports changed export files under a folder, polling every `poll_interval` seconds."""

    def __init__(self, folder: Path, *, poll_interval: float = 5.0) -> None:
        self.folder = folder
        self.poll_interval = poll_interval
        # The baseline is taken now, before the watcher's first full import, so that a file changed
        # during that import is reported rather than missed.
        self._applied = export_files(folder)
        self._lock = threading.Lock()
        self._handed_out: set[str] = set()

    @property
    def name(self) -> str:
        """The watched folder."""
        return f"folder:{self.folder}"

    def receive(self, max_messages: int, wait_s: float) -> list[ReceivedMessage]:
        """Return a message per file that changed since its last applied state, polling until `wait_s` ends."""
        deadline = time.monotonic() + wait_s
        while True:
            changes = self._changes()[:max_messages]
            if changes or time.monotonic() >= deadline:
                break
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))
        messages = []
        for change in changes:
            with self._lock:
                self._handed_out.add(change.path)
            body = json.dumps({"path": change.path, "deleted": change.signature is None})
            messages.append(ReceivedMessage(message_id=f"{change.path}@{change.signature}", body=body,
                                            receipt=change, sent_at=time.time()))
        return messages

    def _changes(self) -> list[_Change]:
        if not self.folder.is_dir():
            raise SourceUnavailable(f"folder {self.folder} is missing or not a folder")
        current = export_files(self.folder)
        with self._lock:
            changed = [_Change(path, signature) for path, signature in current.items()
                       if self._applied.get(path) != signature and path not in self._handed_out]
            changed += [_Change(path, None) for path in self._applied
                        if path not in current and path not in self._handed_out]
        return changed

    def delete(self, message: ReceivedMessage) -> None:
        """Record the file's state as applied."""
        change: _Change = message.receipt
        with self._lock:
            self._handed_out.discard(change.path)
            if change.signature is None:
                self._applied.pop(change.path, None)
            else:
                self._applied[change.path] = change.signature

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        """Report the file again at a later poll."""
        change: _Change = message.receipt
        with self._lock:
            self._handed_out.discard(change.path)

    def close(self) -> None:
        """Nothing to close."""


def parse_file_message(message: ReceivedMessage) -> ParseResult:
    """Import the file a message names; its resources replace those imported from it before."""
    try:
        document = json.loads(message.body)
        path, deleted = str(document["path"]), bool(document["deleted"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise MalformedEvent(f"invalid folder message {message.body[:200]!r}: {error}") from None

    event = ChangeEvent(name="file deleted" if deleted else "file changed", event_id=message.message_id,
                        event_time=None, replaces_source=f"file:{path}")
    if not deleted:
        try:
            collection, report = import_aws_config([path])
        except FileNotFoundError:
            # Deleted between the poll and the import: the next poll reports the deletion.
            return ParseResult(skipped="file-vanished")
        for issue in report.errors[:20]:
            logger.warning("import: %s", issue.describe())
        event.resources = collection.resources
    return ParseResult(events=[event])
