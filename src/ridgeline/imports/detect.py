"""Recognition of an inventory file's format from its content, so `ridgeline scan file` takes mixed inputs.

The file name says little (a Cloud Asset Inventory export is JSON lines whatever it is called, and an
`az` output is whatever the user redirected it to), so the first document or array item decides. Only
the start of the file is read: the first line, or the first item of the first large array.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from ridgeline.imports.jsonstream import JsonReader, JsonStreamError, json_kind
from ridgeline.imports.sources import InputFile, TruncatedInput

LINE_SNIFF_LIMIT = 1 << 20
"""A first line longer than this is read as the start of a document, not as a JSON line."""

# A skeleton is the start of a document: the members of its top two levels, where the first large array
# ends the reading. Deeper values are decoded whole; they belong to one resource.
_SKELETON_DEPTH = 2


class Format(StrEnum):
    """An inventory format that Ridgeline imports."""

    AWS_CONFIG = "aws-config"
    GCP_CAI = "gcp-cai"
    AZURE = "azure"

    @property
    def provider(self) -> str:
        """Return the provider whose resources the format holds."""
        return {Format.AWS_CONFIG: "aws", Format.GCP_CAI: "gcp", Format.AZURE: "azure"}[self]

    @property
    def label(self) -> str:
        """Return the name users know the format by."""
        return {Format.AWS_CONFIG: "AWS Config", Format.GCP_CAI: "Cloud Asset Inventory",
                Format.AZURE: "Azure Resource Graph / ARM"}[self]


@dataclass(frozen=True, slots=True)
class Detection:
    """The format of one file, or why none was recognised."""

    format: Format | None
    json_lines: bool = False
    """True when the first line is a whole JSON document and more content follows."""

    reason: str = ""
    """Reason the format is unknown, for the error message (empty when `format` is set)."""

    location: str = ""
    """Position in the file that the reason applies to ("line 8"), when the reason does not name one."""

    empty: bool = False
    """True for an empty JSON array, which `az ... list` prints when nothing matches: no format, no error."""


AWS_LIST_KEYS = ("configurationItems", "baseConfigurationItems", "Results", "resourceIdentifiers")
AWS_ITEM_KEYS = ("resourceType", "configurationItemStatus", "configurationItemCaptureTime")
AZURE_QUERY_KEYS = ("count", "total_records", "totalRecords", "skip_token", "$skipToken", "resultTruncated",
                    "@odata.context")


def detect_format(input_file: InputFile) -> Detection:
    """Return the format of `input_file` from its first document or array item.

    A file named as JSON lines whose first line is invalid or of no known format is recognised by the
    first known line among the next few, so one bad line costs only itself: its importer reports it.
    Raises OSError, EOFError or UnicodeDecodeError when the file cannot be read as text.
    """
    detection = _detect_start(input_file)
    if detection.format is None and input_file.json_lines:
        later = _format_of_later_lines(input_file)
        if later is not None:
            return Detection(later, json_lines=True)
    return detection


_LATER_LINES = 20
"""Lines after a bad first line of a JSON lines file that may tell its format."""


def _format_of_later_lines(input_file: InputFile) -> Format | None:
    with input_file.open_text(cut_as_end=True) as stream:
        stream.readline(LINE_SNIFF_LIMIT)
        for _ in range(_LATER_LINES):
            line = stream.readline(LINE_SNIFF_LIMIT)
            if not line:
                return None
            document = _parse(line) if line.strip() else None
            found = classify(document) if document is not None else None
            if found is not None:
                return found
    return None


def _detect_start(input_file: InputFile) -> Detection:
    # Compressed data cut short just ends here: the start of the file is enough for its format, and the
    # importer reports the cut when it reads the file.
    with input_file.open_text(cut_as_end=True) as stream:
        head = stream.readline(LINE_SNIFF_LIMIT)
        while head and not head.strip():
            head = stream.readline(LINE_SNIFF_LIMIT)
        if not head:
            return Detection(None, reason="the file is empty")

        whole = len(head) < LINE_SNIFF_LIMIT or head.endswith("\n")
        first = _parse(head) if whole else None
        if first is not None:
            following = stream.readline(LINE_SNIFF_LIMIT)
            while following and not following.strip():
                following = stream.readline(LINE_SNIFF_LIMIT)
            return _detection(first, json_lines=bool(following))

        try:
            skeleton = _skeleton(JsonReader(stream, prefix=head), 0)
        except JsonStreamError as error:
            cut = _gzip_cut(input_file) if error.ends_early else None
            if cut is not None:
                return Detection(None, location=cut.location,
                                 reason="the gzip data ends early, so the file was cut short (an interrupted download "
                                        "or copy?) inside its first item; nothing of it was imported")
            return Detection(None, reason=f"invalid JSON: {error}{_json_hint(input_file.name)}")
        return _detection(skeleton, json_lines=False)


def _gzip_cut(input_file: InputFile) -> TruncatedInput | None:
    """Return the truncation of gzip data that ends before its end marker, or None for whole data.

    The format is detected with a cut read as the end of the data, so a document cut short inside its first
    items looks like invalid JSON. The cut is the better explanation, with the line where the data ends.
    """
    try:
        with input_file.open_text() as stream:
            while stream.read(_READ_SIZE):
                pass
    except TruncatedInput as cut:
        return cut
    return None


_READ_SIZE = 1 << 20


def _json_hint(name: str) -> str:
    # The exports Ridgeline reads are JSON; a YAML or CSV file is the usual mistake.
    if name.lower().endswith((".yaml", ".yml")):
        return " (a YAML file: Ridgeline reads the JSON that az, gcloud and AWS Config write; convert it first)"
    return ""


def classify(document: Any) -> Format | None:
    """Return the format that a parsed document (or the start of one, see `_skeleton`) belongs to."""
    if isinstance(document, list):
        first = next((item for item in document if item is not None), None)
        if isinstance(first, str):
            # SelectResourceConfig results are JSON text, one item each.
            try:
                first = json.loads(first)
            except json.JSONDecodeError:
                return None
        return _classify_item(first) if isinstance(first, dict) else None
    if not isinstance(document, dict):
        return None

    # Recorded boto3 responses wrap the API output as {"status_code": ..., "data": {...}}.
    if "status_code" in document and isinstance(document.get("data"), dict):
        return classify(document["data"])
    if any(key in document for key in AWS_LIST_KEYS):
        return Format.AWS_CONFIG
    if isinstance(document.get("assets"), list):
        return Format.GCP_CAI
    value = document.get("value")
    if isinstance(value, list):
        return classify(value) if value else Format.AZURE
    data = document.get("data")
    if isinstance(data, list) or (isinstance(data, dict) and ("columns" in data or "rows" in data)):
        return Format.AZURE
    if any(key in document for key in AZURE_QUERY_KEYS):
        return Format.AZURE
    return _classify_item(document)


def _classify_item(item: Mapping[str, Any]) -> Format | None:
    if any(key in item for key in AWS_ITEM_KEYS):
        return Format.AWS_CONFIG
    if "name" in item and ("asset_type" in item or "assetType" in item):
        return Format.GCP_CAI
    if "@odata.type" in item:
        return Format.AZURE
    identity = item.get("id")
    if isinstance(identity, str) and identity.lower().startswith(("/subscriptions/", "/providers/", "/tenants/")):
        return Format.AZURE
    type_name = item.get("type")
    if isinstance(identity, str) and isinstance(type_name, str) and type_name.lower().startswith("microsoft."):
        return Format.AZURE
    if isinstance(identity, str) and _is_key_vault_certificate(identity) and isinstance(item.get("attributes"), dict):
        # `az keyvault certificate list` and `show` print data-plane items: no type, an https id.
        return Format.AZURE
    return None


def _is_key_vault_certificate(identity: str) -> bool:
    lowered = identity.lower()
    return lowered.startswith("https://") and "/certificates/" in lowered


def _detection(document: Any, *, json_lines: bool) -> Detection:
    found = classify(document)
    if found is not None:
        return Detection(found, json_lines=json_lines)
    if document == [] and not json_lines:
        return Detection(None, reason="an empty JSON array", empty=True)
    return Detection(None, reason=_unknown_reason(document))


NOT_AN_EXPORT_ADVICE = ("If the file is not an inventory export, move it out of the scanned folder or name the "
                        "export files instead of the folder: until then the coverage of every provider is partial, "
                        "because the file may be an export that could not be read")
"""The advice for a file of unknown format, such as a package.json in a folder of exports."""


def _unknown_reason(document: Any) -> str:
    expected = ("expected an AWS Config export (configurationItems, Results or configuration items), a Cloud "
                "Asset Inventory export (assets with name and asset_type) or Azure Resource Graph / Resource "
                "Manager JSON (resources with id and type, in data or value)")
    if isinstance(document, dict):
        keys = ", ".join(sorted(str(key) for key in document)[:10]) or "none"
        found = f"top-level fields: {keys}"
    elif isinstance(document, list):
        found = f"found an array of {_item_kind(document)}"
    else:
        found = f"found {json_kind(document)}"
    return f"unknown format: {expected}; {found}. {NOT_AN_EXPORT_ADVICE}"


def _item_kind(items: list[Any]) -> str:
    if not items:
        return "nothing (empty)"
    first = items[0]
    if isinstance(first, dict):
        keys = ", ".join(sorted(str(key) for key in first)[:10]) or "no fields"
        return f"objects with fields {keys}"
    return type(first).__name__


def _parse(line: str) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _skeleton(reader: JsonReader, depth: int) -> Any:
    """Decode the start of the value at the cursor, where arrays of the top levels keep only their first item."""
    value, _ = _skeleton_part(reader, depth)
    return value


def _skeleton_part(reader: JsonReader, depth: int) -> tuple[Any, bool]:
    """Return the start of the value at the cursor, and whether reading stopped inside it.

    Reading stops after the first non-empty array of the top levels, since its first item (a resource,
    an asset, a configuration item) shows what the file contains.
    """
    kind = reader.peek()
    if depth >= _SKELETON_DEPTH or kind not in ("[", "{"):
        return reader.value(), False
    if kind == "[":
        for item in reader.iter_array():
            return [item], True
        return [], False

    members: dict[str, Any] = {}
    for key in reader.iter_members():
        members[key], stopped = _skeleton_part(reader, depth + 1)
        if stopped:
            return members, True
    return members, False
