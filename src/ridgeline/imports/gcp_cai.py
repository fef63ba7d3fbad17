"""Import of Cloud Asset Inventory exports into the resource envelope, so the rules judge a file as they judge a scan.

Reads the JSON lines of `gcloud asset export` (snake_case keys such as `asset_type`, `iam_policy`) and the
camelCase JSON of the client libraries and of `gcloud asset list --format=json` (a JSON array, or a
ListAssets response with `assets`). RESOURCE, IAM_POLICY, ORG_POLICY and ACCESS_POLICY content of the same
asset (same `name`) becomes one resource, even when the parts come from different files. Errors in files
and lines are collected in the `ImportReport` shared with the AWS Config import; only a missing source raises.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any

import orjson

from ridgeline.imports.aws_config import ImportReport
from ridgeline.imports.jsonstream import json_kind, json_problem
from ridgeline.imports.report import Positions
from ridgeline.imports.salvage import salvage_items
from ridgeline.imports.sources import InputFile, TruncatedInput, iter_input_files
from ridgeline.imports.streaming import NotStreamable, StreamTarget
from ridgeline.model.redaction import Redactor, normal_key
from ridgeline.model.resource import Resource

logger = logging.getLogger(__name__)

UNKNOWN_PROJECT = "unknown"

# Asset type names of the early Cloud Asset Inventory releases, mapped to the current names. A type missing
# here is kept as exported.
# NOTE: only the BillingAccount, Firewall and Instance entries were checked against real exports. The others
# follow the same naming pattern and are unverified.
LEGACY_ASSET_TYPES: dict[str, str] = {
    "google.cloud.billing.BillingAccount": "cloudbilling.googleapis.com/BillingAccount",
    "google.cloud.resourcemanager.Organization": "cloudresourcemanager.googleapis.com/Organization",
    "google.cloud.resourcemanager.Folder": "cloudresourcemanager.googleapis.com/Folder",
    "google.cloud.resourcemanager.Project": "cloudresourcemanager.googleapis.com/Project",
    "google.cloud.storage.Bucket": "storage.googleapis.com/Bucket",
    "google.cloud.bigquery.Dataset": "bigquery.googleapis.com/Dataset",
    "google.cloud.bigquery.Table": "bigquery.googleapis.com/Table",
    "google.cloud.kms.KeyRing": "cloudkms.googleapis.com/KeyRing",
    "google.cloud.kms.CryptoKey": "cloudkms.googleapis.com/CryptoKey",
    "google.cloud.sql.Instance": "sqladmin.googleapis.com/Instance",
    "google.cloud.dataproc.Cluster": "dataproc.googleapis.com/Cluster",
    "google.cloud.dns.ManagedZone": "dns.googleapis.com/ManagedZone",
    "google.cloud.dns.Policy": "dns.googleapis.com/Policy",
    "google.cloud.pubsub.Topic": "pubsub.googleapis.com/Topic",
    "google.cloud.pubsub.Subscription": "pubsub.googleapis.com/Subscription",
    "google.container.Cluster": "container.googleapis.com/Cluster",
    "google.iam.Role": "iam.googleapis.com/Role",
    "google.iam.ServiceAccount": "iam.googleapis.com/ServiceAccount",
    "google.iam.ServiceAccountKey": "iam.googleapis.com/ServiceAccountKey",
    "google.appengine.Application": "appengine.googleapis.com/Application",
    "google.appengine.Service": "appengine.googleapis.com/Service",
    "google.appengine.Version": "appengine.googleapis.com/Version",
    "google.compute.Address": "compute.googleapis.com/Address",
    "google.compute.BackendService": "compute.googleapis.com/BackendService",
    "google.compute.Disk": "compute.googleapis.com/Disk",
    "google.compute.Firewall": "compute.googleapis.com/Firewall",
    "google.compute.ForwardingRule": "compute.googleapis.com/ForwardingRule",
    "google.compute.GlobalAddress": "compute.googleapis.com/GlobalAddress",
    "google.compute.Image": "compute.googleapis.com/Image",
    "google.compute.Instance": "compute.googleapis.com/Instance",
    "google.compute.InstanceGroup": "compute.googleapis.com/InstanceGroup",
    "google.compute.InstanceGroupManager": "compute.googleapis.com/InstanceGroupManager",
    "google.compute.InstanceTemplate": "compute.googleapis.com/InstanceTemplate",
    "google.compute.Network": "compute.googleapis.com/Network",
    "google.compute.Project": "compute.googleapis.com/Project",
    "google.compute.Router": "compute.googleapis.com/Router",
    "google.compute.Snapshot": "compute.googleapis.com/Snapshot",
    "google.compute.Subnetwork": "compute.googleapis.com/Subnetwork",
}

# Asset parts other than the resource itself, by their camelCase key, mapped to the supplementary key.
# An access-policy export writes one line per access level or service perimeter, so those two become lists.
# Each of the other parts occurs once per asset.
SINGLE_PARTS = {"iamPolicy": "iamPolicy", "orgPolicy": "orgPolicy", "accessPolicy": "accessPolicy"}
LISTED_PARTS = {"accessLevel": "accessLevels", "servicePerimeter": "servicePerimeters"}

_PROJECT_IN_NAME = re.compile(r"^//[^/]+/projects/([^/]+)")
_CONTAINER_IN_NAME = re.compile(r"^//[^/]+/((?:organizations|folders)/[^/]+)")
_PROJECT_PARENT = re.compile(r"^//cloudresourcemanager\.googleapis\.com/projects/([^/]+)$")
_CONTAINER_ANCESTOR = re.compile(r"^(organizations|folders)/([^/]+)$")

ANCESTORS_KEY = "ancestors"
"""Supplementary key of the asset's `ancestors` as exported: ["projects/1", "folders/2", "organizations/3"],
nearest first, starting with the asset itself for projects, folders and organizations."""

FOLDER_TYPE = "cloudresourcemanager.googleapis.com/Folder"
ORGANIZATION_TYPE = "cloudresourcemanager.googleapis.com/Organization"
_CONTAINER_TYPES = {"folders": FOLDER_TYPE, "organizations": ORGANIZATION_TYPE}

# Projects and folders inherit the IAM policies (with their audit configs) of their folders and
# organization. Their envelopes name those ancestors in `relationships`, in the full asset name form of
# `Resource.id`, so that rules can look each one up with `related: {match: {id_from: resourceId}}`.
_INHERITING_TYPES = frozenset({"cloudresourcemanager.googleapis.com/Project", FOLDER_TYPE})
CONTAINED_IN = "Is contained in"

# Asset types whose name ends in a bare number, with the fields of `resource.data` that hold the name
# people gave them, in order of preference. Hierarchical firewall policies of organizations carry their
# name in shortName; displayName is the older field that folder-level policies may still use.
_HUMAN_NAME_FIELDS: dict[str, tuple[str, ...]] = {
    ORGANIZATION_TYPE: ("displayName",),
    FOLDER_TYPE: ("displayName",),
    "compute.googleapis.com/FirewallPolicy": ("shortName", "displayName"),
}


class InvalidAsset(ValueError):
    """An asset that cannot become a resource. The message names the missing or invalid field."""


@dataclass(slots=True)
class _PendingAsset:
    """The parts of one asset seen so far, merged across lines and files."""

    name: str
    asset_type: str
    label: str
    position: int
    """The position, in the import's `Positions`, of the line that names the resource's file (`label`)."""

    data: dict[str, Any] | None = None
    region: str = ""
    project: str = ""
    ancestors: list[str] = field(default_factory=list)
    parent: str = ""
    update_time: str = ""
    supplementary: dict[str, Any] = field(default_factory=dict)
    data_missing: bool = False
    """Whether the last `resource` given had no `data`: then nothing of the resource's settings is known."""
    origins: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Part ("resource", "iamPolicy", ...) -> (update time, position) of the line that gave it."""


def iter_gcp_cai_assets(sources: str | Path | Iterable[str | Path],
                        report: ImportReport | None = None) -> Iterator[Resource]:
    """Yield a redacted resource for every asset under `sources` (files, folders or "-").

    The resources come only after every source is read, because the parts of one asset may sit in
    different files. Errors go to `report`. Raises FileNotFoundError when a source does not exist.
    """
    source_list = [sources] if isinstance(sources, str | Path) else list(sources)
    files = (input_file for source in source_list for input_file in iter_input_files(source))
    yield from iter_gcp_cai_files(files, report)


def iter_gcp_cai_files(files: Iterable[InputFile], report: ImportReport | None = None) -> Iterator[Resource]:
    """Yield a redacted resource for every asset of `files`, merging the parts of each asset across files.

    The per-file form of `iter_gcp_cai_assets`, for callers that have already listed and opened the inputs.
    """
    report = report if report is not None else ImportReport()

    # NOTE: the merge keeps every asset in memory until the last source is read, so memory grows with
    # the export (roughly the size of the parsed JSON). Lines are still parsed one at a time.
    pending: dict[str, _PendingAsset] = {}
    positions = Positions()
    for input_file in files:
        for position, asset in _iter_file_assets(input_file, report, positions):
            _merge(pending, asset, position, input_file.label, positions, report)

    without_data: dict[str, int] = {}
    for part in pending.values():
        resource = _build(part, positions, report)
        _mark_no_data(resource, part, without_data)
        report.imported[resource.type] = report.imported.get(resource.type, 0) + 1
        yield redact_gcp(resource)
    _warn_no_data(without_data, report)


def resources_from_assets(assets: Iterable[Any], source: str, report: ImportReport | None = None) -> Iterator[Resource]:
    """Yield a redacted resource per asset name of `assets`, merging the parts as export lines are merged.

    `assets` are asset objects in either key spelling (the live scan passes ListAssets results in the
    camelCase JSON form). `source` becomes `Resource.source` and names the input in `report`'s errors.
    """
    report = report if report is not None else ImportReport()
    pending: dict[str, _PendingAsset] = {}
    positions = Positions()
    for index, asset in enumerate(assets):
        _merge(pending, asset, positions.add_numbered(source, "item", index), source, positions, report)

    for part in pending.values():
        resource = _build(part, positions, report)
        resource.source = source
        report.imported[resource.type] = report.imported.get(resource.type, 0) + 1
        yield redact_gcp(resource)


# Redaction ------------------------------------------------------------------------------------------

# Compute Engine metadata items whose value is a script that runs on the instance: such scripts often set
# passwords. `user-data` is already a secret key of the shared list.
_SCRIPT_ITEMS = ("startup-script", "shutdown-script")
_SCRIPT_ITEM_PREFIXES = ("windows-startup-script-", "windows-shutdown-script-", "sysprep-specialize-script-")
# Dataproc and GKE node configurations give metadata as a mapping ("startup-script": "..."), where the
# script's key ends with "script".
_REDACTOR = Redactor(secret_item_names=map(normal_key, _SCRIPT_ITEMS),
                     secret_item_prefixes=map(normal_key, _SCRIPT_ITEM_PREFIXES),
                     secret_suffixes=("script",))
"""The shared lists with the GCP words, for the import and the live scan (which builds resources here)."""


def redact_gcp(resource: Resource) -> Resource:
    """Redact `resource` in place, walking its values only when the quick test finds a secret; return it."""
    if _may_name_secret(resource):
        _REDACTOR.redact(resource)
    else:
        # Tags are small and always read.
        _REDACTOR.redact_tags(resource)
    return resource


def _may_name_secret(resource: Resource) -> bool:
    # Walking every resource's values took a large share of the import, and almost none contains a secret.
    return _REDACTOR.may_change(resource)


# Streaming ------------------------------------------------------------------------------------------

def stream_gcp_cai_files(files: Sequence[InputFile], report: ImportReport, target: StreamTarget) -> bool:
    """Pass every asset of `files` to `target` as soon as it is complete, as `iter_gcp_cai_files` yields it.

    Files whose first asset has no resource content (IAM_POLICY, ORG_POLICY or ACCESS_POLICY exports) are
    read first and their parts kept by asset name, so each resource is complete when its line is read.
    Assets with parts only are passed on at the end. The `order` given with each resource is its place
    in `iter_gcp_cai_files`. Returns whether any asset has an IAM policy. Raises NotStreamable when the
    files need a merge that this order cannot reproduce, such as content for an asset after its
    resource content.
    """
    state = _GcpStream(report, target)
    merge = state.merge
    for original, input_file in _parts_first(files):
        label = input_file.label
        for ordinal, (position, asset) in enumerate(_iter_file_assets(input_file, report, state.positions)):
            merge(asset, position, label, (original, ordinal))
    state.finish()
    return state.policy_seen


IAM_POLICY_PATH = "supplementaryConfiguration.iamPolicy"

_POLICY_UNSETTLED = (IAM_POLICY_PATH,)

_SNIFF_LIMIT = 1 << 20
"""Characters of a file's first line read to tell whether it contains an asset without resource content."""


class _GcpStream:
    """The parts of assets whose resource content has not come yet, and what the end of the import needs."""

    def __init__(self, report: ImportReport, target: StreamTarget) -> None:
        self.report = report
        self.target = target
        self.pending: dict[str, _PendingAsset] = {}
        self.ranks: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        """Asset name -> the first and the last position (file, asset) of its lines in the given file order."""
        self.emitted: set[int] = set()
        self.positions = Positions()
        self.policy_seen = False
        self.without_data: dict[str, int] = {}
        """Asset type -> how many assets had no resource data (see _mark_no_data)."""

    def merge(self, asset: Any, position: int, label: str, rank: tuple[int, int]) -> None:
        """Merge one asset line, read at `position` of file `label`, and pass the resource on once it is complete."""
        positions = self.positions
        if not isinstance(asset, dict):
            self.report.add_error(label, positions.location(position),
                                  f"expected an asset object, found {json_kind(asset)}")
            return
        try:
            name, asset_type = _identity(asset)
        except InvalidAsset as error:
            self.report.add_error(label, positions.location(position), str(error))
            return
        name_hash = hash(name)
        if name_hash in self.emitted:
            raise NotStreamable(f"{name} has content at {positions.describe(position)}, after its resource content")

        # Only a line with an IAM policy adds one to the parts, so after a merge the parts show whether this
        # line or an earlier line of the asset (which already set policy_seen) had one.
        part = self.pending.get(name)
        if part is None:
            part = _PendingAsset(name=name, asset_type=asset_type, label=label, position=position)
            _merge_into(part, asset, position, self.positions, self.report)
            self.policy_seen = self.policy_seen or "iamPolicy" in part.supplementary
            if part.data is None:
                self.pending[name] = part
                self.ranks[name] = (rank, rank)
                return

            # Most lines are the resource content of an asset that no earlier line named. Such an asset is
            # complete at once, so it skips the pending assets.
            self.emitted.add(name_hash)
            self._emit(part, rank)
            return

        self._merge_order(part, asset, asset_type, position, rank)
        _merge_into(part, asset, position, self.positions, self.report)
        self.policy_seen = self.policy_seen or "iamPolicy" in part.supplementary
        if asset.get("resource") is not None and part.data is not None:
            del self.pending[name]
            self.emitted.add(name_hash)
            self._emit(part, self.ranks.pop(name)[0])

    def _merge_order(self, part: _PendingAsset, asset: dict[str, Any], asset_type: str, position: int,
                     rank: tuple[int, int]) -> None:
        """Check that merging this line now gives what merging in the given file order gives."""
        positions = self.positions
        first, last = self.ranks[part.name]
        if rank > last:
            if part.asset_type != asset_type:
                self.report.add_error(positions.file(position), positions.location(position),
                                      f"{part.name}: asset type {asset_type} differs from {part.asset_type} given at "
                                      f"{positions.describe(part.position)}; keeping the first")
            self.ranks[part.name] = (first, rank)
            return

        # Policy files are read first, so this line precedes lines already merged. Merging is the same in
        # either order unless both set the same part, or disagree on the type or the ancestors.
        ancestors = asset.get("ancestors")
        overlapping = [key for snake, camel, key in (*_SINGLE_PART_FIELDS, *_LISTED_PART_FIELDS)
                       if key in part.supplementary and _field(asset, snake, camel) is not None]
        if part.asset_type != asset_type or overlapping or (
                isinstance(ancestors, list) and ancestors and part.ancestors
                and [str(item) for item in ancestors] != part.ancestors):
            raise NotStreamable(f"{part.name}: the lines at {positions.describe(position)} and "
                                f"{positions.describe(part.position)} give different content of one kind")
        if isinstance(ancestors, list) and ancestors:
            part.ancestors = [str(item) for item in ancestors]
        if rank < first:
            # The first line in the given order names the file of an asset without resource content.
            part.label, part.position = positions.file(position), position
            self.ranks[part.name] = (rank, last)

    def finish(self) -> None:
        """Pass on the assets that have parts but no resource content, in the order they first appeared."""
        for name in sorted(self.pending, key=lambda pending_name: self.ranks[pending_name][0]):
            self._emit(self.pending[name], self.ranks[name][0])
        self.pending = {}
        _warn_no_data(self.without_data, self.report)

    def _emit(self, part: _PendingAsset, rank: tuple[int, int]) -> None:
        resource = _build(part, self.positions, self.report)
        _mark_no_data(resource, part, self.without_data)
        imported = self.report.imported
        imported[resource.type] = imported.get(resource.type, 0) + 1
        redact_gcp(resource)

        # While no asset has shown an IAM policy, the policy may still turn out unknown for every asset.
        unsettled = () if self.policy_seen else _POLICY_UNSETTLED
        self.target.add(resource, order=rank, unsettled=unsettled)


def _parts_first(files: Sequence[InputFile]) -> list[tuple[int, InputFile]]:
    """Return the files with their given position, those whose first asset has no resource content first."""
    parts: list[tuple[int, InputFile]] = []
    others: list[tuple[int, InputFile]] = []
    for position, input_file in enumerate(files):
        (parts if _first_asset_has_no_resource(input_file) else others).append((position, input_file))
    return parts + others


def _first_asset_has_no_resource(input_file: InputFile) -> bool:
    try:
        with input_file.open_text() as stream:
            line = stream.readline(_SNIFF_LIMIT)
            while line and not line.strip():
                line = stream.readline(_SNIFF_LIMIT)
    except (OSError, EOFError, UnicodeDecodeError):
        return False
    if len(line) >= _SNIFF_LIMIT:
        # Not one asset per line: a JSON document, which is read in the given order.
        return False
    document = _parse_line(line)
    return isinstance(document, dict) and _looks_like_asset(document) and document.get("resource") is None


def _iter_file_assets(input_file: InputFile, report: ImportReport, positions: Positions) -> Iterator[tuple[int, Any]]:
    """Yield (position, asset) pairs of one file, streaming JSON lines and loading other JSON whole.

    A document that cannot be parsed whole (cut short or invalid) gives its assets up to the damage.

    Each position is added to `positions`: "line N" in JSON lines, "item N" in an array.
    """
    label = input_file.label
    json_lines = False
    try:
        with input_file.open_text() as stream:
            first = _first_content_line(stream)
            if first is None:
                report.add_error(label, "", "the file is empty")
                return
            number, line = first

            # `gcloud asset export` writes JSON lines whatever the file is called, so a file whose first
            # line is a whole asset is read line by line. Anything else is one JSON document.
            first_document = _parse_line(line)
            json_lines = input_file.json_lines or (isinstance(first_document, dict)
                                                   and _looks_like_asset(first_document))
            if json_lines:
                yield from _iter_lines(stream, number, line, label, report, positions)
                return
            # The blank lines before the first keep the line numbers of errors right.
            text = "\n" * (number - 1) + line + stream.read()
    except TruncatedInput as cut:
        if json_lines:
            report.add_error(label, cut.location, str(cut))
            return
        # The document is incomplete, but the assets before the cut are whole: read it again item by item.
        with input_file.open_text(cut_as_end=True) as stream:
            yield from _salvaged(stream, label, report, positions, cut=cut)
        return
    except (OSError, EOFError, UnicodeDecodeError) as error:
        # OSError covers unreadable files and corrupt gzip data (gzip.BadGzipFile).
        report.add_error(label, "", f"could not read the file: {error}")
        return

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # Cut short or invalid in the middle: the assets before the damage are whole.
        yield from _salvaged(io.StringIO(text), label, report, positions, failure=error)
        return
    yield from _document_assets(document, label, report, positions)


def _salvaged(stream: IO[str], label: str, report: ImportReport, positions: Positions, *,
              cut: TruncatedInput | None = None,
              failure: json.JSONDecodeError | None = None) -> Iterator[tuple[int, Any]]:
    """Yield (position, asset) for the whole assets of a document that cannot be parsed whole (see `salvage_items`)."""
    add_numbered = positions.add_numbered
    for index, asset in salvage_items(stream, label, report, list_keys=("assets",), cut=cut, failure=failure):
        yield add_numbered(label, "item", index), asset


def _first_content_line(stream: Iterable[str]) -> tuple[int, str] | None:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            return number, line
    return None


def _parse_line(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _iter_lines(stream: Iterable[str], first_number: int, first_line: str, label: str, report: ImportReport,
                positions: Positions) -> Iterator[tuple[int, Any]]:
    # The usual line, one asset object, is handled here without a further call. orjson rejects blank
    # lines, so only the lines that it rejects are checked for being blank.
    add_numbered = positions.add_numbered
    for number, line in enumerate(chain((first_line,), stream), start=first_number):
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError:
            if not line.strip():
                continue
            document = _json_module_line(number, line, label, report)
        if (isinstance(document, dict) and "assets" not in document and "name" in document
                and ("asset_type" in document or "assetType" in document)):
            yield add_numbered(label, "line", number), document
        elif document is not _INVALID_LINE:
            yield from _line_assets(number, document, label, report, positions)


_INVALID_LINE = object()
"""Marker that `_json_module_line` returns for a line that is not JSON, after it records the error."""


def _json_module_line(number: int, line: str, label: str, report: ImportReport) -> Any:
    """Parse a line that orjson rejects with the json module, or record the error and return _INVALID_LINE."""
    # The json module also accepts what orjson rejects (NaN, integers beyond 64 bits), and its error
    # gives the column.
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        report.add_error(label, f"line {number}", f"invalid JSON: {json_problem(error, line=False)}")
        return _INVALID_LINE


def _line_assets(number: int, document: Any, label: str, report: ImportReport,
                 positions: Positions) -> Iterator[tuple[int, Any]]:
    """Yield the (position, asset) pairs of a line that is not one plain asset object, or record why it has none."""
    location = f"line {number}"
    if not isinstance(document, dict):
        report.add_error(label, location, f"expected an asset object, found {json_kind(document)}")
        return

    # A line may also hold a whole ListAssets response page.
    if isinstance(document.get("assets"), list):
        for index, asset in enumerate(document["assets"]):
            yield positions.add(label, f"{location}, item {index}"), asset
        return
    if not _looks_like_asset(document):
        report.add_error(label, location, _not_an_asset_message(document))
        return
    yield positions.add_numbered(label, "line", number), document


def _document_assets(document: Any, label: str, report: ImportReport,
                     positions: Positions) -> Iterable[tuple[int, Any]]:
    """Return (position, asset) pairs of a whole JSON document, recording a file error when it has no assets."""
    if isinstance(document, dict) and isinstance(document.get("assets"), list):
        document = document["assets"]
    if isinstance(document, list):
        if document and not any(isinstance(item, dict) and _looks_like_asset(item) for item in document):
            report.add_error(label, "", "not a Cloud Asset Inventory export: no item has a name and an asset type")
            return ()
        return [(positions.add_numbered(label, "item", index), item) for index, item in enumerate(document)]
    if isinstance(document, dict):
        report.add_error(label, "", _not_an_asset_message(document))
        return ()
    report.add_error(label, "", f"expected a JSON object or array, found {json_kind(document)}")
    return ()


def _looks_like_asset(document: dict[str, Any]) -> bool:
    return "name" in document and ("asset_type" in document or "assetType" in document)


def _not_an_asset_message(document: dict[str, Any]) -> str:
    fields = ", ".join(sorted(str(key) for key in document)[:8]) or "none"
    return ("not a Cloud Asset Inventory asset: expected name and asset_type (or assetType) "
            f"(fields present: {fields}); export with `gcloud asset export` or `gcloud asset list --format=json`")


def _merge(pending: dict[str, _PendingAsset], asset: Any, position: int, label: str, positions: Positions,
           report: ImportReport) -> None:
    """Add the parts of one asset, read at `position` of file `label`, to `pending`, or record why it is invalid."""
    if not isinstance(asset, dict):
        report.add_error(label, positions.location(position), f"expected an asset object, found {json_kind(asset)}")
        return
    try:
        name, asset_type = _identity(asset)
    except InvalidAsset as error:
        report.add_error(label, positions.location(position), str(error))
        return

    part = pending.get(name)
    if part is None:
        part = pending[name] = _PendingAsset(name=name, asset_type=asset_type, label=label, position=position)
    elif part.asset_type != asset_type:
        report.add_error(label, positions.location(position), f"{name}: asset type {asset_type} differs from "
                         f"{part.asset_type} given at {positions.describe(part.position)}; keeping the first")
    _merge_into(part, asset, position, positions, report)


def _merge_into(part: _PendingAsset, asset: dict[str, Any], position: int, positions: Positions,
                report: ImportReport) -> None:
    """Add the content of one asset line, read at `position`, to the parts of its asset seen so far."""
    ancestors = asset.get("ancestors")
    if isinstance(ancestors, list) and not part.ancestors:
        part.ancestors = list(map(str, ancestors))
    update_time = asset["update_time"] if "update_time" in asset else asset.get("updateTime")
    if isinstance(update_time, str) and update_time > part.update_time:
        part.update_time = update_time
    line_time = update_time if isinstance(update_time, str) else ""

    resource = asset.get("resource")
    if resource is not None and _newest(part, "resource", resource, part.data, line_time, position, positions, report):
        _merge_resource(part, resource, position, positions, report)

    # Most lines hold resource content only, so one set operation spares them the look-ups of each part.
    if _PART_SPELLINGS.isdisjoint(asset):
        return
    for snake, camel, key in _SINGLE_PART_FIELDS:
        value = asset[snake] if snake in asset else asset.get(camel)
        if value is not None:
            value = _camel_keys(value)
            if _newest(part, key, value, part.supplementary.get(key), line_time, position, positions, report):
                part.supplementary[key] = value
    for snake, camel, key in _LISTED_PART_FIELDS:
        value = asset[snake] if snake in asset else asset.get(camel)
        if value is not None:
            part.supplementary.setdefault(key, []).append(_camel_keys(value))


def _newest(part: _PendingAsset, key: str, value: Any, current: Any, line_time: str, position: int,
            positions: Positions, report: ImportReport) -> bool:
    """Tell whether a line's part of an asset replaces the one given before: yes unless that one is newer.

    Exports made at different times, or overlapping ones, give an asset twice. The newer update time wins,
    and the later line when the times are equal or missing. Different content is reported either way.
    """
    earlier = part.origins.get(key)
    if earlier is None:
        part.origins[key] = (line_time, position)
        return True

    earlier_time, earlier_position = earlier
    replaces = not (line_time and earlier_time and line_time < earlier_time)
    if replaces:
        part.origins[key] = (line_time, position)
    # The resource part is compared by its data, which is what `part` keeps of it.
    if key == "resource" and isinstance(value, dict):
        same = value.get("data") == current
    else:
        same = value == current
    if not same:
        judged_time, other_time = (line_time, earlier_time) if replaces else (earlier_time, line_time)
        report.add_duplicate(positions.file(position), positions.location(position), f"the {key} of {part.name}",
                             other=positions.describe(earlier_position),
                             judged=positions.describe(position if replaces else earlier_position),
                             reason=_update_reason(judged_time, other_time))
    return replaces


UPDATE_TIME = "update_time"


def _update_reason(judged_time: str, other_time: str) -> str:
    """Return why the copy updated at `judged_time` is judged rather than the one updated at `other_time`."""
    if judged_time and other_time and judged_time != other_time:
        return f"its {UPDATE_TIME} is newer ({judged_time}, against {other_time})"
    if judged_time and judged_time == other_time:
        return f"it is read later, and both copies have {UPDATE_TIME} {judged_time}"
    return f"it is read later, and {UPDATE_TIME} is compared only when both copies have one"


def _merge_resource(part: _PendingAsset, resource: Any, position: int, positions: Positions,
                    report: ImportReport) -> None:
    if not isinstance(resource, dict):
        found = json_kind(resource)
        report.add_error(positions.file(position), positions.location(position),
                         f"{part.name}: resource must be a JSON object, found {found}")
        return
    data = resource.get("data")
    if data is not None and not isinstance(data, dict):
        found = json_kind(data)
        report.add_error(positions.file(position), positions.location(position),
                         f"{part.name}: resource.data must be a JSON object, found {found}")
        return
    if part.data is not None:
        logger.debug("import: %s has resource content again at %s, which replaces the earlier content",
                     part.name, positions.describe(position))

    # The resource content decides the file named in `Resource.source`, since rules mostly read it.
    part.data_missing = data is None
    data = part.data = data or {}
    if position != part.position:
        # A line of an asset seen before: most resource content comes in the line that named the asset.
        part.label = positions.file(position)
        part.position = position
    part.region = str(resource.get("location") or "")
    part.parent = str(resource.get("parent") or "")
    project = data["projectId"] if "projectId" in data else data.get("project_id")
    if isinstance(project, (str, int)) and not isinstance(project, bool) and str(project):
        part.project = str(project)


def _identity(asset: dict[str, Any]) -> tuple[str, str]:
    name = asset.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidAsset(f"missing name (fields present: {', '.join(sorted(asset)) or 'none'})")
    asset_type = asset["asset_type"] if "asset_type" in asset else asset.get("assetType")
    if not isinstance(asset_type, str) or not asset_type:
        raise InvalidAsset(f"{name}: missing asset_type (or assetType)")
    return name, LEGACY_ASSET_TYPES.get(asset_type, asset_type)


def _build(part: _PendingAsset, positions: Positions, report: ImportReport) -> Resource:
    data = part.data if part.data is not None else {}
    project = (part.project or _project_from_ancestry(part.ancestors, part.parent) or _project_from_name(part.name)
               or _container_of(part.ancestors, part.name))
    if not project:
        project = UNKNOWN_PROJECT
        report.add_warning(part.label, positions.location(part.position), f"{part.name}: no project found in "
                           "resource.data.projectId, ancestors, resource.parent or the name; account set to "
                           f"{UNKNOWN_PROJECT!r}")

    if part.ancestors:
        part.supplementary[ANCESTORS_KEY] = part.ancestors
    return Resource(
        provider="gcp",
        account=project,
        region=part.region or "global",
        type=part.asset_type,
        id=part.name,
        name=resource_name(part.asset_type, part.name, data),
        configuration=data,
        supplementary=part.supplementary,
        tags=_labels(data.get("labels")),
        relationships=ancestor_relationships(part.name, part.ancestors) if part.asset_type in _INHERITING_TYPES
        else [],
        collected_at=part.update_time,
        source=f"file:{part.label}",
    )


NO_DATA_REASON = "the export has no resource data for this asset"
NO_RESOURCE_REASON = ("the files hold only this asset's policy, no resource content; export with "
                      "--content-type=resource too and import both")


def _mark_no_data(resource: Resource, part: _PendingAsset, without_data: dict[str, int]) -> None:
    """Mark the configuration of an asset whose `resource` has no `data` as unknown; count it by type.

    Judged as empty, its settings would pass or fail rules on nothing.
    """
    # An asset with policy content only (an IAM_POLICY export without its RESOURCE export) is as unknown.
    if part.data is None:
        resource.errors["configuration"] = NO_RESOURCE_REASON
    elif part.data_missing:
        resource.errors["configuration"] = NO_DATA_REASON
    else:
        return
    without_data[resource.type] = without_data.get(resource.type, 0) + 1


def _warn_no_data(without_data: dict[str, int], report: ImportReport) -> None:
    if without_data:
        counts = ", ".join(f"{type_name} ({count})" for type_name, count in sorted(without_data.items()))
        report.add_warning("", "", f"assets without resource data, whose rules reading their settings report "
                           f"ERROR: {counts}; export the resource content whole, with its data (gcloud asset "
                           "export --content-type=resource)")


def resource_name(asset_type: str, asset_name: str, data: Mapping[str, Any]) -> str:
    """Return the `Resource.name` of an asset: the last segment of its asset name, or the name people know it by.

    The asset names of organizations, folders and hierarchical firewall policies end in a bare number.
    Their name is therefore the displayName or shortName of their data, and the number only when the data
    has neither. Imports and the live scan both build envelopes through this function, so findings name
    a resource the same way in both.
    """
    for key in _HUMAN_NAME_FIELDS.get(asset_type, ()):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return asset_name.rstrip("/").rsplit("/", 1)[-1]


def ancestor_relationships(name: str, ancestors: Sequence[str]) -> list[dict[str, str]]:
    """Return one "Is contained in" relationship per folder and organization among `ancestors`, nearest first.

    The asset itself (the first ancestor of a folder) and project ancestors are left out. `resourceId` is
    the ancestor's full asset name, the `Resource.id` of its own envelope.
    """
    relationships: list[dict[str, str]] = []
    for ancestor in ancestors:
        match = _CONTAINER_ANCESTOR.match(ancestor)
        if match is None:
            continue
        asset_name = f"//cloudresourcemanager.googleapis.com/{ancestor}"
        if asset_name == name:
            continue
        relationships.append({"relationshipName": CONTAINED_IN, "resourceType": _CONTAINER_TYPES[match.group(1)],
                              "resourceId": asset_name, "resourceName": ancestor})
    return relationships


def _project_from_ancestry(ancestors: list[str], parent: str) -> str:
    """Return the project of the ancestors or the parent, which name it by number ("projects/123" gives "123")."""
    # NOTE: ancestors and parent carry the project number, not the project id, so resources without
    # `projectId` in their data get the number as `account` and do not group with those that have the id.
    # String tests rather than a regular expression, because this runs once per resource: "projects/" and
    # then a segment without "/", which is the project number.
    for ancestor in ancestors:
        if ancestor.startswith("projects/"):
            number = ancestor.removeprefix("projects/")
            if number and "/" not in number:
                return number
    match = _PROJECT_PARENT.match(parent)
    return match.group(1) if match else ""


def _container_of(ancestors: list[str], name: str) -> str:
    """Return the folder or organisation that contains an asset above any project ("organizations/123").

    Organisations, folders and their firewall policies belong to no project. Their account is the
    closest container, as in a live scan, so rules on them group by it.
    """
    if ancestors and ancestors[0].startswith(("organizations/", "folders/")):
        return ancestors[0]
    match = _CONTAINER_IN_NAME.match(name)
    return match.group(1) if match else ""


def _project_from_name(name: str) -> str:
    """Return the project segment of names such as //cloudsql.googleapis.com/projects/my-project/instances/db."""
    # Checked after the ancestry to keep its precedence, although most services name the project by id here.
    match = _PROJECT_IN_NAME.search(name)
    return match.group(1) if match else ""


def _labels(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(key): "" if item is None else str(item) for key, item in value.items()}


def _field(asset: dict[str, Any], snake: str, camel: str) -> Any:
    return asset[snake] if snake in asset else asset.get(camel)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", lambda match: "_" + match.group(1).lower(), name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _camel_keys(value: Any) -> Any:
    """Return `value` with every key in camelCase, the spelling of the client libraries.

    Only policy parts pass here: their keys are protobuf field names, never user data such as labels.
    """
    # NOTE: timestamps stay as exported, so `update_time` as {"seconds": ...} and the client libraries'
    # RFC 3339 string give different values under the same key.
    # Scalars are returned as they are without a call, and the few distinct keys are converted once.
    if isinstance(value, dict):
        return {_camel_key(key): _camel_keys(item) if isinstance(item, (dict, list)) else item
                for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) if isinstance(item, (dict, list)) else item for item in value]
    return value


_CAMEL_KEYS: dict[str, str] = {}
"""Policy key containing "_" -> its camelCase spelling. Keys without "_" stay as they are, so they are not stored."""

_CAMEL_KEYS_LIMIT = 4096


def _camel_key(key: Any) -> str:
    text = str(key)
    if "_" not in text:
        return text
    camel = _CAMEL_KEYS.get(text)
    if camel is None:
        camel = _camel(text)
        # Policy keys are protobuf field names, so the cache stays small. The bound is for unexpected input.
        if len(_CAMEL_KEYS) < _CAMEL_KEYS_LIMIT:
            _CAMEL_KEYS[text] = camel
    return camel


# Each part's field in both spellings, computed once: (snake_case, camelCase, supplementary key).
_SINGLE_PART_FIELDS = tuple((_snake(camel), camel, key) for camel, key in SINGLE_PARTS.items())
_LISTED_PART_FIELDS = tuple((_snake(camel), camel, key) for camel, key in LISTED_PARTS.items())
_PART_SPELLINGS = frozenset(spelling for snake, camel, _ in (*_SINGLE_PART_FIELDS, *_LISTED_PART_FIELDS)
                            for spelling in (snake, camel))
