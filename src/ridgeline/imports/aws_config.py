"""Import of AWS Config exports into the resource envelope, so the rules judge a file as they judge a scan.

Reads the configuration snapshot and history files that Config delivers to S3 (`configurationItems`,
gzipped or not). It also reads the API item shape of GetResourceConfigHistory and BatchGetResourceConfig,
where `configuration` is a JSON string, advanced query results (SelectResourceConfig `Results`), single
items, JSON arrays of items and JSON lines. Errors in files and items are collected in an `ImportReport`
instead of raised, so one bad item or file costs only itself. Only a missing source raises.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from ridgeline.imports.aws_config_shapes import apply_envelope_spelling
from ridgeline.imports.jsonstream import json_kind, json_problem
from ridgeline.imports.report import ImportIssue, ImportReport
from ridgeline.imports.salvage import salvage_items
from ridgeline.imports.sources import InputFile, TruncatedInput, iter_input_files
from ridgeline.model.redaction import redact
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.shape import iso_time

logger = logging.getLogger(__name__)

__all__ = ["Deletion", "ImportIssue", "ImportReport", "InvalidItem", "iter_aws_config_file", "iter_aws_config_items",
           "iter_located_items", "iter_located_records", "resource_from_item"]

# Items describing a resource that no longer exists or is no longer recorded carry no configuration to judge.
SKIPPED_STATUSES = frozenset({"ResourceDeleted", "ResourceNotRecorded", "ResourceDeletedNotRecorded"})

# The skipped statuses that record the deletion of the resource. A newer item of either kind removes the
# resource from an import, whereas ResourceNotRecorded means only that recording stopped.
DELETED_STATUSES = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})

# The fields an advanced query (SelectResourceConfig) must select for Ridgeline to judge its results.
SELECT_ADVICE = ("resourceType, resourceId, arn, accountId, awsRegion, configuration and supplementaryConfiguration "
                 "(or SELECT *)")

SUPPLEMENTARY_PATH = "supplementaryConfiguration"
SUPPLEMENTARY_NOT_SELECTED_REASON = "not in the export: the query did not select supplementaryConfiguration"
"""The reason given for every supplementary setting of an item without a `supplementaryConfiguration` field."""

# Supplementary values that the live collectors keep as JSON text, because the rule functions parse
# them: the S3 ACL and the resource policies of Lambda and KMS. Every other JSON string is decoded.
TEXT_SUPPLEMENTARY_KEYS = frozenset({"AccessControlList", "Policy"})


class InvalidItem(ValueError):
    """A configuration item that cannot become a resource. The message names the missing or invalid field."""


@dataclass(frozen=True, slots=True)
class Deletion:
    """A configuration item recording that a resource was deleted, with the fields that identify the resource.

    The field names are those of `Resource`, so a deletion and an earlier item of its resource compare by
    `collected_at` and share a key.
    """

    account: str
    region: str
    type: str
    id: str
    """The ARN, else the resource id, as `Resource.id` of the resource's other items."""
    collected_at: str
    """configurationItemCaptureTime as ISO 8601, or "" when the item has none."""
    source: str
    status: str
    """ResourceDeleted or ResourceDeletedNotRecorded."""


def iter_aws_config_items(source: str | Path, report: ImportReport | None = None) -> Iterator[Resource]:
    """Yield a redacted resource for every importable item under `source` (a file, a folder or "-").

    Errors go to `report` (pass one to read them). Raises FileNotFoundError when `source` does not exist.
    """
    report = report if report is not None else ImportReport()

    # NOTE: a history file contains several items per resource, and each one is yielded. Callers that want
    # the latest must keep it themselves, as `ridgeline.imports.collection.read_aws` does.
    for input_file in iter_input_files(source):
        yield from iter_aws_config_file(input_file, report)


def iter_aws_config_file(input_file: InputFile, report: ImportReport, *,
                         json_lines: bool | None = None) -> Iterator[Resource]:
    """Yield a redacted resource for every importable item of one file; errors go to `report`.

    `json_lines` says whether the file holds one item per line; None decides by the file name.
    """
    for _, resource in iter_located_items(input_file, report, json_lines=json_lines):
        yield resource


def iter_located_items(input_file: InputFile, report: ImportReport, *,
                       json_lines: bool | None = None) -> Iterator[tuple[str, Resource]]:
    """Yield (location, resource) for every importable item of one file, as `iter_aws_config_file` does.

    The location is the one that the file's errors give: "item N", "line N" or "line N, item M".
    """
    for location, record in iter_located_records(input_file, report, json_lines=json_lines):
        if isinstance(record, Resource):
            yield location, record


def iter_located_records(input_file: InputFile, report: ImportReport, *,
                         json_lines: bool | None = None) -> Iterator[tuple[str, Resource | Deletion]]:
    """Yield (location, resource or deletion) for every importable item and every deletion item of one file.

    Deletion items are counted in `report.skipped` under their status, as `iter_located_items` counts them.
    """
    label = input_file.label
    if json_lines is None:
        json_lines = input_file.json_lines
    try:
        with input_file.open_text() as stream:
            if json_lines:
                for number, line in enumerate(stream, start=1):
                    yield from _iter_line(line, number, label, report)
                return
            text = stream.read()
    except TruncatedInput as cut:
        if json_lines:
            report.add_error(label, cut.location, str(cut))
            return
        # The document is incomplete, but the items before the cut are whole: read it again item by item.
        with input_file.open_text(cut_as_end=True) as stream:
            yield from _salvaged(stream, label, report, cut=cut)
        return
    except (OSError, EOFError, UnicodeDecodeError) as error:
        # OSError covers unreadable files and corrupt gzip data (gzip.BadGzipFile).
        report.add_error(label, "", f"could not read the file: {error}")
        return

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # Cut short or invalid in the middle: the items before the damage are whole.
        yield from _salvaged(io.StringIO(text), label, report, failure=error)
        return

    # A file holding one item names it "item 0", as a one-item array would.
    for location, item in _document_items(document, label, report, single="item 0"):
        record = _import_item(item, location, label, report)
        if record is not None:
            yield location, record


def _salvaged(stream: IO[str], label: str, report: ImportReport, *, cut: TruncatedInput | None = None,
              failure: json.JSONDecodeError | None = None) -> Iterator[tuple[str, Resource | Deletion]]:
    """Yield the resources of the whole items of a document that cannot be parsed whole (see `salvage_items`)."""
    items = salvage_items(stream, label, report, list_keys=_ITEM_LISTS, cut=cut, failure=failure)
    yield from _import_items(((f"item {index}", item) for index, item in items), label, report)


_ITEM_LISTS = ("configurationItems", "baseConfigurationItems", "Results")


def _import_items(items: Iterable[tuple[str, Any]], label: str,
                  report: ImportReport) -> Iterator[tuple[str, Resource | Deletion]]:
    for location, item in items:
        record = _import_item(item, location, label, report)
        if record is not None:
            yield location, record


def _iter_line(line: str, number: int, label: str, report: ImportReport) -> Iterator[tuple[str, Resource | Deletion]]:
    if not line.strip():
        return
    location = f"line {number}"
    try:
        document = json.loads(line)
    except json.JSONDecodeError as error:
        report.add_error(label, location, f"invalid JSON: {json_problem(error, line=False)}")
        return

    # A line is usually one item, but a line holding a whole snapshot or query result works too.
    for item_location, item in _document_items(document, label, report, single=""):
        where = f"{location}, {item_location}" if item_location else location
        record = _import_item(item, where, label, report)
        if record is not None:
            yield where, record


def _document_items(document: Any, label: str, report: ImportReport, *, single: str) -> Iterable[tuple[str, Any]]:
    """Return (location, item) pairs of a parsed document, recording an error when it has no items.

    The location is "item N" in a list of items, and `single` for a document that is one item.
    """
    # Recorded boto3 responses wrap the API output as {"status_code": ..., "data": {...}}.
    if isinstance(document, dict) and "status_code" in document and isinstance(document.get("data"), dict):
        document = document["data"]

    if isinstance(document, list):
        return _indexed(document)
    if not isinstance(document, dict):
        report.add_error(label, "", f"expected a JSON object or array, found {json_kind(document)}")
        return ()

    for key in ("configurationItems", "baseConfigurationItems"):
        if key in document:
            return _listed(document[key], key, label, report)
    if "Results" in document:
        return _listed(document["Results"], "Results", label, report)
    if "resourceType" in document or "configurationItemStatus" in document:
        return [(single, document)]
    if "resourceIdentifiers" in document:
        report.add_error(label, "", "contains resource identifiers (ListDiscoveredResources) without configurations, "
                         "so there is nothing to judge; export configuration items or run an advanced query")
        return ()
    report.add_error(label, "", "not an AWS Config export: expected configurationItems, Results, "
                     "a configuration item or a JSON array of items")
    return ()


def _listed(value: Any, key: str, label: str, report: ImportReport) -> Iterable[tuple[str, Any]]:
    if not isinstance(value, list):
        report.add_error(label, "", f"{key} must be a JSON array, found {json_kind(value)}")
        return ()
    return _indexed(value)


def _indexed(items: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    for index, item in enumerate(items):
        yield f"item {index}", item


def _import_item(item: Any, location: str, label: str, report: ImportReport) -> Resource | Deletion | None:
    # Advanced query results are JSON strings, one per item.
    if isinstance(item, str):
        try:
            item = json.loads(item)
        except json.JSONDecodeError as error:
            report.add_error(label, location, f"query result is not valid JSON: {json_problem(error, line=False)}")
            return None
    if not isinstance(item, dict):
        report.add_error(label, location, f"expected a configuration item object, found {json_kind(item)}")
        return None

    status = item.get("configurationItemStatus")
    if status in SKIPPED_STATUSES:
        report.skipped[status] = report.skipped.get(status, 0) + 1
        return _deletion(item, status, label) if status in DELETED_STATUSES else None

    try:
        resource = resource_from_item(item, source=_file_source(label))
    except InvalidItem as error:
        report.add_error(label, location, str(error))
        return None
    for path, reason in resource.errors.items():
        report.add_error(label, location, f"{resource.id}: {path} {reason}")

    # An advanced query that did not select the field gives items without it. That is a gap of the export,
    # not an error of the item: every supplementary setting (bucket policy, ACL, key policy) is unknown
    # rather than absent, so the rules reading one report ERROR instead of PASS. The collection counts it.
    if item.get(SUPPLEMENTARY_PATH) is None:
        resource.errors[SUPPLEMENTARY_PATH] = SUPPLEMENTARY_NOT_SELECTED_REASON
    apply_envelope_spelling(resource)

    report.imported[resource.type] = report.imported.get(resource.type, 0) + 1
    return redact(resource)


def _deletion(item: dict[str, Any], status: str, label: str) -> Deletion | None:
    """Return the deletion that `item` records, or None when the item does not identify its resource."""
    # A deletion item has no configuration to check, so one lacking an identity field is left out without
    # an error. It is still counted under its status.
    # NOTE: a deletion item without the ARN does not remove an earlier item of its resource that has one.
    resource_type = _text(item, "resourceType")
    identity = _text(item, "arn") or _text(item, "ARN") or _text(item, "resourceId")
    account = _text(item, "accountId") or _text(item, "awsAccountId")
    region = _text(item, "awsRegion")
    if not (resource_type and identity and account and region):
        return None
    return Deletion(account=account, region=region, type=resource_type, id=identity,
                    collected_at=_capture_time(item.get("configurationItemCaptureTime")),
                    source=_file_source(label), status=status)


@lru_cache(maxsize=64)
def _file_source(label: str) -> str:
    """Return the `Resource.source` of a file's resources, one string shared by all of them."""
    # A whole import keeps every resource, and a copy of the text per resource would take 54 bytes plus the
    # file name's length each (CPython 3.11).
    return f"file:{label}"


def resource_from_item(item: dict[str, Any], *, source: str) -> Resource:
    """Build the envelope of one configuration item in the delivered (CI) or the API shape.

    A `configuration` that is missing, null or not valid JSON keeps the item, with an entry in `errors` so
    rules reading it report ERROR. Raises InvalidItem when the type, identity, account or region is missing.
    """
    resource_type = _text(item, "resourceType")
    if not resource_type:
        fields = ", ".join(sorted(item)) or "none"
        raise InvalidItem(f"missing resourceType (fields present: {fields}); advanced queries must select "
                          f"{SELECT_ADVICE}")
    resource_id = _text(item, "resourceId")
    arn = _text(item, "arn") or _text(item, "ARN")
    if not (arn or resource_id):
        raise InvalidItem(f"{resource_type} item has neither arn nor resourceId")
    identity = arn or resource_id
    account = _text(item, "accountId") or _text(item, "awsAccountId")
    if not account:
        raise InvalidItem(f"{identity}: missing accountId (or awsAccountId)")
    region = _text(item, "awsRegion")
    if not region:
        raise InvalidItem(f"{identity}: missing awsRegion")

    errors: dict[str, str] = {}
    configuration = _configuration(item.get("configuration"), errors, resource_type)
    supplementary = _supplementary(item.get("supplementaryConfiguration"), errors)

    return Resource(
        provider="aws",
        account=account,
        region=region,
        type=resource_type,
        id=identity,
        name=_text(item, "resourceName") or resource_id or identity,
        configuration=configuration,
        supplementary=supplementary,
        tags=_tags(item.get("tags")) or _tags(supplementary.get("Tags")),
        relationships=_relationships(item.get("relationships")),
        errors=errors,
        collected_at=_capture_time(item.get("configurationItemCaptureTime")),
        source=source,
    )


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    return "" if value is None else str(value)


def _json_object(value: Any, path: str, errors: dict[str, str]) -> dict[str, Any] | None:
    """Return `value` (a mapping, or JSON text of one) as a dict; record why under `path` and return None if not."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            errors[path] = f"is not valid JSON: {json_problem(error, line=False)}"
            return None
    if not isinstance(value, dict):
        errors[path] = f"must be a JSON object, found {json_kind(value)}"
        return None
    return value


def _configuration(value: Any, errors: dict[str, str], resource_type: str) -> dict[str, Any]:
    # Every recorded item has a configuration, so a missing or null one is unusable, as invalid JSON is:
    # judged as empty, a key without its settings would pass every rule.
    if value is None:
        errors["configuration"] = (f"is missing or null, so nothing of this {resource_type} can be judged; "
                                   f"advanced queries must select {SELECT_ADVICE}")
        return {}
    return _json_object(value, "configuration", errors) or {}


def _supplementary(value: Any, errors: dict[str, str]) -> dict[str, Any]:
    parsed = _json_object(value, "supplementaryConfiguration", errors)
    if not parsed:
        return {}

    # The API shape stores every value as a JSON string ("true", "{\"policyText\": ...}"); decode them to
    # the delivered shape that live scans produce. A string that is not JSON is plain text and stays.
    decoded: dict[str, Any] = {}
    for key, item in parsed.items():
        if isinstance(item, str) and key not in TEXT_SUPPLEMENTARY_KEYS:
            try:
                item = json.loads(item)
            except json.JSONDecodeError:
                pass
        decoded[key] = item
    return decoded


def _tags(value: Any) -> dict[str, str]:
    """Return tags from a mapping or from a list of {key, value} pairs in any of Config's spellings."""
    if isinstance(value, dict):
        return {str(key): "" if item is None else str(item) for key, item in value.items()}
    tags: dict[str, str] = {}
    if isinstance(value, list):
        for pair in value:
            if not isinstance(pair, dict):
                continue
            key = next((pair[name] for name in ("key", "Key", "tagKey", "TagKey") if name in pair), None)
            if key is None:
                continue
            item = next((pair[name] for name in ("value", "Value", "tagValue", "TagValue") if name in pair), None)
            tags[str(key)] = "" if item is None else str(item)
    return tags


def _relationships(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    relationships = []
    for relationship in value:
        if not isinstance(relationship, dict):
            continue
        # Delivered files spell the relationship "name", the API "relationshipName"; keep the API's.
        entry = dict(relationship)
        if "relationshipName" not in entry and "name" in entry:
            entry["relationshipName"] = entry.pop("name")
        relationships.append(entry)
    return relationships


def _capture_time(value: Any) -> str:
    """Return configurationItemCaptureTime as ISO 8601 from a string, epoch seconds or a recorded datetime."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return iso_time(datetime.fromtimestamp(value, tz=UTC))
    # Recorded boto3 responses (placebo) spell datetimes as {"__class__": "datetime", "year": ..., ...}.
    if isinstance(value, dict) and value.get("__class__") == "datetime":
        try:
            moment = datetime(value["year"], value["month"], value["day"], value.get("hour", 0),
                              value.get("minute", 0), value.get("second", 0), value.get("microsecond", 0), tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            return ""
        return iso_time(moment)
    return ""
