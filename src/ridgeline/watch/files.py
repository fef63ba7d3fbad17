"""`ridgeline watch file`: a folder of inventory exports as an event source, with one watcher per provider.

The folder contains what `ridgeline scan file FOLDER` reads: AWS Config files, Cloud Asset Inventory exports
and Azure Resource Graph or Resource Manager JSON. Each provider found in the folder at start gets its own
watcher, whose state is what `scan file` imports for that provider, so each stores one scan per provider.

`FolderSource` polls the sizes and modification times of the files and reports the new, changed and
deleted files of its provider once the folder has seen no change for the quiet period. `FolderBackend`
then imports every file of the provider again and hands the watcher the difference with the previous
import: the resources whose content changed, and the resources that are gone.

- A resource is gone only when a unit (account and service) of the new import was read completely and
  still contains resources of the resource's type in that account. An export filtered to some types covers
  only those types, and a page set covers only the subscriptions in it.
- Nothing resolves from an incomplete read. An import with unreadable files or items, an incomplete
  Resource Graph result, a file changed while it was read or a file modified within the quiet period
  marks every unit of the provider partial. Its changed resources are applied (new failures are
  reported), but no finding resolves and nothing is gone.
- GCP IAM_POLICY and RESOURCE files are paired through the folder. Each import reads all of the
  provider's files, so a new RESOURCE file is judged with the policies of the IAM_POLICY file already
  in the folder (the previous export's) until the new one arrives. No policy becomes unknown on the
  way. Files that arrive within the quiet period of each other are read in one import.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ridgeline.imports.collection import PROVIDER_ORDER, import_aws_config, import_files
from ridgeline.imports.detect import detect_format
from ridgeline.imports.report import ImportIssue
from ridgeline.imports.sources import FOLDER_SUFFIXES, InputFile
from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.providers.aws.collectors import all_collectors
from ridgeline.providers.aws.scanner import Collection, RefreshOutcome, RefreshRequest, ScanSetupError
from ridgeline.providers.azure import catalog as azure_catalog
from ridgeline.providers.gcp import catalog as gcp_catalog
from ridgeline.watch.backends import ImportOutcome
from ridgeline.watch.events import ChangeEvent, MalformedEvent, ParseResult, ReceivedMessage, SourceUnavailable, Target
from ridgeline.watch.state import ResourceKey, resource_key

logger = logging.getLogger(__name__)

Signature = tuple[int, int]
"""(size in bytes, modification time in nanoseconds)."""

FOLDER_FILE_TYPE = "Ridgeline::ExportFile"
"""The type of the change targets that name a file of the folder (the target's key is the path)."""

FOLDER_SERVICE = "folder"
"""The refresh unit of those targets: every change re-imports the provider's files of the folder."""

QUIET_WAIT_LIMIT = 10
"""A folder that never stays quiet has its settled files reported after this many quiet periods."""

_ISSUES_LOGGED = 20
"""Import errors logged per import; the others are counted."""


# Files of the folder ----------------------------------------------------------------------------------

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


UNKNOWN_FORMAT = "?"
"""The provider of a file whose format is not recognised (being written, damaged, not an export)."""

NO_PROVIDER = ""
"""The provider of a file that contains no inventory (an empty JSON array)."""


def file_provider(path: str) -> str:
    """Return the provider whose export `path` contains, or UNKNOWN_FORMAT or NO_PROVIDER."""
    try:
        detection = detect_format(InputFile(path))
    except (OSError, EOFError, UnicodeDecodeError):
        # The import reports the file as unreadable; until then it may belong to any provider.
        return UNKNOWN_FORMAT
    if detection.empty:
        return NO_PROVIDER
    return detection.format.provider if detection.format is not None else UNKNOWN_FORMAT


def folder_providers(folder: Path) -> list[str]:
    """Return the providers with at least one export file under `folder`, in the order of `scan file`."""
    found = {file_provider(path) for path in export_files(folder)}
    return [provider for provider in PROVIDER_ORDER if provider in found]


def provider_files(folder: Path, provider: str) -> list[str]:
    """Return the files under `folder` that an import of `provider` reads: its exports and the unrecognised files.

    A file of unknown format is read by every provider's import, which reports it and marks the coverage
    partial, because it may be an export of any provider still being written.
    """
    return [path for path in export_files(folder) if file_provider(path) in (provider, UNKNOWN_FORMAT)]


@dataclass(slots=True)
class FolderImport:
    """One provider's import of the folder: the collection (None without any resource) and the import errors."""

    collection: Collection | None
    errors: list[ImportIssue]
    partial_reason: str = ""
    """The reason every unit of the collection was made partial, or "" when the importer left the units as they were."""


def import_provider(folder: Path, provider: str, *, quiet_period: float = 0.0) -> FolderImport:
    """Import the files of `provider` under `folder` as `scan file` does; raise OSError when the folder is unreadable.

    Every unit is partial when a file changed while it was read, or was modified less than `quiet_period`
    seconds before the import. Such a file may still be being written, and a JSON lines file cut at the
    end of a line looks complete.
    """
    before = {path: signature for path, signature in export_files(folder).items()
              if file_provider(path) in (provider, UNKNOWN_FORMAT)}
    if not before:
        return FolderImport(None, [])
    result = import_files(sorted(before))
    after = export_files(folder)

    collection = next((item for item in result.collections if item.provider == provider), None)
    imported = FolderImport(collection, list(result.report.errors))
    if collection is None:
        return imported

    changed = sorted(path for path, signature in before.items() if after.get(path) != signature)
    if changed:
        imported.partial_reason = (f"{changed[0]} changed while it was read ({len(changed)} file(s) in all); it is "
                                   "read again when it has settled")
        _make_partial(collection.coverage, "FileChangedDuringRead", imported.partial_reason)
        return imported
    young = _modified_since(before, time.time() - quiet_period) if quiet_period > 0 else []
    if young:
        imported.partial_reason = (f"{young[0]} was modified less than {quiet_period:g} s ago ({len(young)} file(s) "
                                   "in all), so it may still be being written")
        _make_partial(collection.coverage, "FileBeingWritten", imported.partial_reason)
    return imported


def _modified_since(files: dict[str, Signature], moment: float) -> list[str]:
    return sorted(path for path, (_size, modified_ns) in files.items() if modified_ns / 1e9 > moment)


def _make_partial(coverage: Iterable[Coverage], code: str, reason: str) -> None:
    for unit in coverage:
        if unit.status is Completeness.COMPLETE:
            unit.status = Completeness.PARTIAL
        unit.errors.append(CallError(call="import", code=code, message=reason))


def import_folder(folder: Path, provider: str = "aws") -> Collection:
    """Import the exports of `provider` under `folder`; raise ScanSetupError when nothing could be imported."""
    imported = import_provider(folder, provider)
    for issue in imported.errors[:_ISSUES_LOGGED]:
        logger.warning("import: %s", issue.describe())
    if imported.collection is None or not imported.collection.resources:
        raise ScanSetupError(f"no {provider} resource could be imported from {folder}")
    return imported.collection


# The event source -------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Change:
    path: str
    signature: Signature | None
    """None when the file was deleted."""


_FULL_IMPORT = _Change("", None)
"""The receipt of the message that `FolderSource.request_full_import` requests."""


class FolderSource:
    """Reports changed export files under a folder, polling every `poll_interval` seconds.

    Changed files are reported once no file of the folder has changed for `quiet_period` seconds (one
    poll interval by default), so the files of one export are reported together and a file is not read
    while it is written. With `provider`, only the files of that provider and those of unknown format
    (which every import reads) are reported. `watched` lists the providers that have a watcher, so that
    a file of any other provider is logged.
    """

    def __init__(self, folder: Path, *, provider: str | None = None, poll_interval: float = 5.0,
                 quiet_period: float | None = None, watched: Sequence[str] = ()) -> None:
        self.folder = folder
        self.provider = provider
        self.poll_interval = poll_interval
        self.quiet_period = poll_interval if quiet_period is None else quiet_period
        # Of the sources of one folder, the first watched provider's logs the files no watcher reads.
        self._logs_unwatched = provider is not None and bool(watched) and watched[0] == provider
        self._watched = set(watched)
        # The baseline is taken now, before the watcher's first full import, so that a file changed
        # during that import is reported rather than missed.
        self._applied = export_files(folder)
        self._providers = {path: file_provider(path) for path in self._applied} if provider is not None else {}
        self._observed = dict(self._applied)
        self._last_change = float("-inf")
        self._waiting_since: float | None = None
        self._retry_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._handed_out: set[str] = set()
        self._full_import_at: float | None = None
        """Monotonic time from which the message that `request_full_import` requests is handed out."""

    @property
    def name(self) -> str:
        """The watched folder, and the provider whose files are reported."""
        return f"folder:{self.folder}" + (f" ({self.provider})" if self.provider else "")

    def request_full_import(self) -> None:
        """Hand out a message that names the whole folder at the next receive."""
        with self._lock:
            self._full_import_at = time.monotonic()

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
            if change is _FULL_IMPORT:
                body = json.dumps({"path": str(self.folder), "deleted": False, "provider": self.provider,
                                   "full_import": True})
                messages.append(ReceivedMessage(message_id=f"{self.folder}@full-import", body=body,
                                                receipt=change, sent_at=time.time()))
                continue
            with self._lock:
                self._handed_out.add(change.path)
            body = json.dumps({"path": change.path, "deleted": change.signature is None, "provider": self.provider})
            messages.append(ReceivedMessage(message_id=f"{change.path}@{change.signature}", body=body,
                                            receipt=change, sent_at=time.time()))
        return messages

    def _changes(self) -> list[_Change]:
        if not self.folder.is_dir():
            raise SourceUnavailable(f"folder {self.folder} is missing or not a folder")
        current = export_files(self.folder)
        now = time.monotonic()
        with self._lock:
            stable = {path for path, signature in current.items() if self._observed.get(path) == signature}
            if current != self._observed:
                self._last_change = now
            self._observed = current

            pending = [path for path, signature in current.items() if self._applied.get(path) != signature]
            pending += [path for path in self._applied if path not in current]
            pending = [path for path in pending
                       if path not in self._handed_out and self._retry_at.get(path, 0.0) <= now]
            full_import: list[_Change] = []
            if self._full_import_at is not None and self._full_import_at <= now:
                full_import = [_FULL_IMPORT]
                self._full_import_at = None
            if not pending:
                self._waiting_since = None
                return full_import

            if self._waiting_since is None:
                self._waiting_since = now
            if now - self._last_change < self.quiet_period:
                if now - self._waiting_since < QUIET_WAIT_LIMIT * max(self.quiet_period, self.poll_interval):
                    return full_import
                # The folder keeps changing: the files that stayed the same since the last poll go now.
                pending = [path for path in pending if path in stable or path not in current]
            changes = [_Change(path, current.get(path)) for path in pending]
        return full_import + self._for_provider(changes)

    def _for_provider(self, changes: list[_Change]) -> list[_Change]:
        """Return the changes that the provider's import reads; mark the others applied at once."""
        if self.provider is None:
            return changes
        reported = []
        for change in changes:
            earlier = self._providers.get(change.path, UNKNOWN_FORMAT)
            later = file_provider(change.path) if change.signature is not None else NO_PROVIDER
            if change.signature is not None:
                self._providers[change.path] = later
            else:
                self._providers.pop(change.path, None)
            if self.provider in (earlier, later) or UNKNOWN_FORMAT in (earlier, later):
                reported.append(change)
                continue
            if self._logs_unwatched and later not in self._watched and later != NO_PROVIDER:
                logger.warning("folder %s: %s contains %s exports, which no watcher of this process reads (none "
                               "was in the folder at start); restart `ridgeline watch file` to watch them",
                               self.folder, change.path, later)
            with self._lock:
                if change.signature is None:
                    self._applied.pop(change.path, None)
                else:
                    self._applied[change.path] = change.signature
        return reported

    def delete(self, message: ReceivedMessage) -> None:
        """Record the file's state as applied."""
        change: _Change = message.receipt
        if change is _FULL_IMPORT:
            return
        with self._lock:
            self._handed_out.discard(change.path)
            self._retry_at.pop(change.path, None)
            if change.signature is None:
                self._applied.pop(change.path, None)
            else:
                self._applied[change.path] = change.signature

    def release(self, message: ReceivedMessage, delay_s: float) -> None:
        """Report the file again at the first poll after `delay_s` seconds."""
        change: _Change = message.receipt
        with self._lock:
            if change is _FULL_IMPORT:
                self._full_import_at = time.monotonic() + delay_s
                return
            self._handed_out.discard(change.path)
            if delay_s > 0:
                self._retry_at[change.path] = time.monotonic() + delay_s

    def close(self) -> None:
        """Nothing to close."""


def _read_message(message: ReceivedMessage) -> tuple[str, bool, dict[str, Any]]:
    try:
        document = json.loads(message.body)
        return str(document["path"]), bool(document["deleted"]), dict(document)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise MalformedEvent(f"invalid folder message {message.body[:200]!r}: {error}") from None


def _file_target(provider: str, path: str) -> Target:
    return Target(provider=provider, account="", region="global", type=FOLDER_FILE_TYPE, key=path)


def parse_folder_message(message: ReceivedMessage) -> ParseResult:
    """Turn a folder message into a change that names its file, for a `FolderBackend` to import the folder again."""
    path, deleted, document = _read_message(message)
    if document.get("full_import"):
        name = "full import requested"
    else:
        name = "file deleted" if deleted else "file changed"
    target = _file_target(str(document.get("provider") or ""), path)
    return ParseResult(events=[ChangeEvent(name=name, event_id=message.message_id, event_time=None,
                                           targets=[target])])


def parse_file_message(message: ReceivedMessage) -> ParseResult:
    """Import the AWS Config file a message names, for an `ImportBackend`: its resources replace those it held.

    A read with errors carries nothing and names the file instead, which makes the `ImportBackend` run a
    full import, whose partial coverage resolves nothing. `ridgeline watch file` uses `parse_folder_message`
    with a `FolderBackend` instead.
    """
    path, deleted, _document = _read_message(message)
    event = ChangeEvent(name="file deleted" if deleted else "file changed", event_id=message.message_id,
                        event_time=None, replaces_source=f"file:{path}")
    if not deleted:
        try:
            collection, report = import_aws_config([path])
        except FileNotFoundError:
            # Deleted between the poll and the import: the next poll reports the deletion.
            return ParseResult(skipped="file-vanished")
        if report.errors or report.incomplete:
            for issue in report.errors[:_ISSUES_LOGGED]:
                logger.warning("import: %s", issue.describe())
            logger.warning("%s was read in part; a full import runs instead, which resolves nothing it lacks", path)
            return ParseResult(events=[ChangeEvent(name="file read in part", event_id=message.message_id,
                                                   event_time=None, targets=[_file_target("aws", path)])])
        event.resources = collection.resources
    return ParseResult(events=[event])


# The backend ------------------------------------------------------------------------------------------

def fingerprint(resource: Resource) -> bytes:
    """Return a digest of what the rules read of a resource: everything but the file and time it was read from."""
    document = resource.to_dict()
    document.pop("source", None)
    document.pop("collected_at", None)
    encoded = orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(encoded, digest_size=16).digest()


def _service_types(provider: str) -> dict[str, tuple[str, ...]]:
    if provider == "aws":
        return {collector.service: collector.resource_types for collector in all_collectors()}
    if provider == "azure":
        return azure_catalog.services()
    return gcp_catalog.services()


class _UnitIndex:
    """The units of an import, by account, region and the resource types they contain."""

    def __init__(self, units: Iterable[Coverage]) -> None:
        self.units: dict[tuple[str, str, str], Coverage] = {}
        """(account, region, type) -> the unit containing resources of the type. The region is "global" for
        the units of a whole account (Azure, GCP, AWS global services)."""

        for unit in units:
            for type_name in unit.resource_counts:
                self.units[(unit.account, unit.region, type_name)] = unit

    def unit_of(self, account: str, region: str, type_name: str) -> Coverage | None:
        """Return the unit containing resources of `type_name` in `account` (and `region`), or None."""
        return self.units.get((account, region, type_name)) or self.units.get((account, "global", type_name))


class FolderBackend:
    """One provider's exports in a folder: a full scan imports them, and a change imports them again.

    The backend keeps a digest of each resource the watcher holds, so an import hands the watcher only
    the resources whose content changed, and the ids of the resources that are gone.
    """

    def __init__(self, folder: Path, provider: str, *, quiet_period: float = 0.0,
                 request_full_import: Callable[[], None] | None = None) -> None:
        self.folder = folder
        self.provider = provider
        self.quiet_period = quiet_period
        self.accounts: list[str] = []
        self.regions: list[str] = []
        self.supports_refresh = True
        """False after an import found an account that the last full scan lacked: the next change runs a full scan."""

        self._request_full_import = request_full_import
        self._service_types = _service_types(provider)
        self._known: dict[ResourceKey, bytes | None] | None = None
        """Digest of each resource the watcher holds, or None for one read while its unit was partial (so the
        next complete import evaluates it again). None before the first full scan (a start from the store)."""

        self._logged: set[str] = set()

    def full_scan(self) -> Collection:
        """Import every file of the provider; raise ScanSetupError when none contains a resource."""
        started = time.monotonic()
        imported = self._import()
        collection = imported.collection
        if collection is None or not collection.resources:
            raise ScanSetupError(f"no {self.provider} resource could be imported from {self.folder}")

        complete = {(unit.account, unit.region, unit.service) for unit in collection.coverage
                    if unit.status is Completeness.COMPLETE}
        where = _UnitIndex(collection.coverage)
        self._known = {}
        for resource in collection.resources:
            unit = where.unit_of(resource.account, resource.region, resource.type)
            judged = unit is None or (unit.account, unit.region, unit.service) in complete
            self._known[resource_key(resource)] = fingerprint(resource) if judged else None
        self.accounts = sorted(collection.accounts)
        self.regions = sorted(collection.regions)
        self.supports_refresh = True
        logger.info("%s: imported %d resource(s) of %d account(s) from %s in %.1f s", self.provider,
                    len(collection.resources), len(collection.accounts), self.folder, time.monotonic() - started)
        return collection

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Import the provider's files again; return per unit the changed resources and those gone."""
        try:
            imported = self._import()
        except OSError as error:
            logger.warning("%s: importing %s failed: %s; the change is tried again", self.provider, self.folder, error)
            return [_failed(self.provider, request, f"importing {self.folder} failed: {error}") for request in requests]

        collection = imported.collection
        if collection is None:
            logger.warning("%s: no export of %s is left in %s, so nothing is known of its resources; their findings "
                           "keep their state until its exports are back", self.provider, self.provider, self.folder)
            return []

        new_accounts = sorted(set(collection.accounts) - set(self.accounts))
        if new_accounts or self._known is None:
            # The watcher's state and life cycle cover the accounts of the last full scan only, and without
            # a full scan of this backend (a start from the store) there is nothing to compare with.
            logger.info("%s: the files contain account(s) %s, which the last full scan did not: a full scan runs next",
                        self.provider, ", ".join(new_accounts[:10]) or "(no full scan yet)")
            self.supports_refresh = False
            if self._request_full_import is not None:
                self._request_full_import()
        if self._known is None:
            return []
        return self._outcomes(collection, set(new_accounts))

    def _outcomes(self, collection: Collection, skipped_accounts: set[str]) -> list[RefreshOutcome]:
        """Return an outcome per unit of the import, with its changed resources and those gone."""
        assert self._known is not None
        known = self._known
        where = _UnitIndex(collection.coverage)
        outcomes: dict[tuple[str, str, str], RefreshOutcome] = {}
        for read in collection.coverage:
            if read.account not in skipped_accounts:
                request = RefreshRequest(service=read.service, region=read.region, targets={})
                outcomes[(read.account, read.region, read.service)] = ImportOutcome(request=request, coverage=read)

        # Resources of types outside the catalogue are in no unit; no rule judges them, but the state keeps them.
        loose: list[Resource] = []
        fresh: set[ResourceKey] = set()
        for resource in collection.resources:
            if resource.account in skipped_accounts:
                continue
            key = resource_key(resource)
            fresh.add(key)
            digest = fingerprint(resource)
            unit = where.unit_of(resource.account, resource.region, resource.type)
            outcome = outcomes.get((unit.account, unit.region, unit.service)) if unit is not None else None
            complete = unit is None or unit.status is Completeness.COMPLETE
            if known.get(key) == digest:
                continue
            (outcome.resources if outcome is not None else loose).append(resource)
            # A resource read while its unit was partial is evaluated again by the next complete import.
            known[key] = digest if complete else None

        gone: set[str] = set()
        for key in [key for key in known if key not in fresh]:
            account, region, type_name, resource_id = key
            unit = where.unit_of(account, region, type_name)
            if unit is None or unit.status is not Completeness.COMPLETE or account in skipped_accounts:
                # Not covered by a complete unit: the resource may exist still, so it stays.
                continue
            outcomes[(unit.account, unit.region, unit.service)].gone.append((type_name, resource_id))
            del known[key]
            gone.add(resource_id.casefold().rstrip("/"))
        if gone:
            _forget_descendants(known, gone)
        result = sorted(outcomes.values(), key=lambda item: (item.coverage.account, item.coverage.service,
                                                              item.coverage.region))
        if loose and result:
            result[0].resources.extend(loose)
        return result

    def _import(self) -> FolderImport:
        imported = import_provider(self.folder, self.provider, quiet_period=self.quiet_period)
        self._log_issues(imported)
        return imported

    def _log_issues(self, imported: FolderImport) -> None:
        """Log the import's errors, each once while it lasts, and why the import resolves nothing."""
        described = [issue.describe() for issue in imported.errors]
        new = [text for text in described if text not in self._logged]
        for text in new[:_ISSUES_LOGGED]:
            logger.warning("%s import: %s", self.provider, text)
        if len(new) > _ISSUES_LOGGED:
            logger.warning("%s import: ... and %d more error(s)", self.provider, len(new) - _ISSUES_LOGGED)
        self._logged = set(described)

        reason = imported.partial_reason or (described[0] if described else "")
        if imported.collection is not None and reason:
            logger.warning("%s: the files of %s were read in part (%s); this import resolves no finding",
                           self.provider, self.folder, reason)

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        """Return the refresh unit of the folder's file targets; nothing else is collected by unit."""
        return (FOLDER_SERVICE, "global") if type_name == FOLDER_FILE_TYPE else None

    def service_types(self, service: str) -> tuple[str, ...]:
        """Return the resource types of a service: its collector's (AWS) or the catalogue's (Azure, GCP)."""
        return self._service_types.get(service, ())

    def carried(self, resource: Resource, previous: Resource | None) -> Resource:
        """Folder messages carry no resources; imported resources are taken as they are."""
        return resource

    @property
    def api_calls(self) -> int:
        """Imports make no API call."""
        return 0

    def close(self) -> None:
        """Nothing to release."""


def _forget_descendants(known: dict[ResourceKey, bytes | None], gone: set[str]) -> None:
    """Forget the resources whose id lies under a gone id (a storage account's containers), as the watcher does."""
    for key in list(known):
        folded = key[3].casefold()
        if any(folded[:position] in gone for position, character in enumerate(folded) if character == "/"):
            del known[key]


def _failed(provider: str, request: RefreshRequest, reason: str) -> RefreshOutcome:
    coverage = Coverage(provider=provider, account="", region=request.region, service=request.service,
                        status=Completeness.FAILED)
    return RefreshOutcome(request=request, coverage=coverage, failure=reason)


# Running the watchers of a folder ---------------------------------------------------------------------

def run_watchers(watchers: Sequence[Any]) -> None:
    """Run watchers side by side until they stop; the end of one (a stop, a setup error) stops the others.

    The first runs on the calling thread, so signal handlers keep working. Raises the first ScanSetupError.
    """
    setup_errors: list[ScanSetupError] = []

    def stop_all() -> None:
        for watcher in watchers:
            watcher.stop()

    def run_one(watcher: Any) -> None:
        try:
            watcher.run()
        except ScanSetupError as error:
            setup_errors.append(error)
        finally:
            # A watcher that ended by itself (a setup error, a crash) takes the others with it, so the
            # process never goes on watching only some of the providers.
            stop_all()

    threads = [threading.Thread(target=run_one, args=(watcher,), name=f"ridgeline-watch-{position}", daemon=True)
               for position, watcher in enumerate(watchers[1:], start=1)]
    for thread in threads:
        thread.start()
    try:
        if watchers:
            run_one(watchers[0])
    finally:
        for thread in threads:
            thread.join()
    if setup_errors:
        raise setup_errors[0]


def build_folder_watch(folder: Path, *, poll_interval: float,
                       quiet_period: float) -> list[tuple[FolderBackend, FolderSource, Any]]:
    """Return (backend, source, parser) for each provider with exports in `folder`, in the order of `scan file`."""
    chosen = folder_providers(folder)
    parts: list[tuple[FolderBackend, FolderSource, Any]] = []
    for provider in chosen:
        source = FolderSource(folder, provider=provider, poll_interval=poll_interval, quiet_period=quiet_period,
                              watched=chosen)
        backend = FolderBackend(folder, provider, quiet_period=quiet_period,
                                request_full_import=source.request_full_import)
        parts.append((backend, source, parse_folder_message))
    return parts
