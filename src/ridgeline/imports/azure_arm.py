"""Import of Azure inventories into the resource envelope, so the rules judge a file as they judge a scan.

Reads `az graph query` output (`count`, `data`, `skip_token`, `total_records`) and Resource Graph REST
responses (`data` as a list of objects, or the older table form with `columns` and `rows`). Reads plain
Resource Manager JSON too: one resource as `az resource show` prints it, a JSON array of resources, a
list response (`{"value": [...]}`, also from Microsoft Graph) and JSON lines. Large arrays are decoded
one item at a time.

Child and extension resources (a storage account's `blobServices/default`, a vault's diagnostic
settings) are folded into their parent's `supplementary` as the catalogue's `Child` entries define, and a
catalogued setting that the files lack is recorded in `Resource.errors`, so rules that read it report
ERROR. Errors in files and items go to the `ImportReport`; only a missing source raises.

Key Vault certificates come in two shapes: the ARM-like envelope document that a live scan stores (type
Microsoft.KeyVault/vaults/certificates, id under the vault's ARM id), and the items of `az keyvault
certificate list` or `show` (id `https://VAULT.vault.azure.net/certificates/NAME`, no type, no
subscription). The second kind is placed under the vault whose `properties.vaultUri` names the same host.
That vault must be in the same import, or else the item is an import error.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import orjson

from ridgeline.imports.jsonstream import JsonReader, JsonStreamError, json_kind, json_problem
from ridgeline.imports.report import ImportReport, Positions
from ridgeline.imports.sources import InputFile, TruncatedInput, iter_input_files
from ridgeline.imports.streaming import NotStreamable, StreamTarget
from ridgeline.model.resource import Resource
from ridgeline.providers.azure import envelope as arm_envelope
from ridgeline.providers.azure.catalog import (
    BY_NAME,
    LIST,
    SINGLE,
    TYPES,
    TYPES_BY_LOWER_NAME,
    AzureType,
    canonical_type,
    certificate_document,
    split_certificate_uri,
)

logger = logging.getLogger(__name__)

PROVIDER = "azure"
UNKNOWN_ACCOUNT = "unknown"
NOT_IMPORTED_REASON = "not in the imported files; a live scan reads it"
PROPERTIES_PATH = "configuration.properties"
NO_PROPERTIES_REASON = ("not in the export: the item has no properties (a Resource Graph query that projects "
                        "columns must keep properties; `az resource list` leaves them out)")
"""The reason given for the settings of a Resource Manager item without `properties`: unknown, not unset."""

LATER_REASON = "it is read later, and Azure items are not compared by time"
"""Why the later of two different copies of an Azure resource is judged: Resource Graph rows carry no time."""

GRAPH_TYPE_PREFIX = "microsoft.graph."
"""Lower-case prefix of the Entra ID object types read through Microsoft Graph; their account is the tenant."""

# A first line longer than this is not taken for a JSON line, so a large one-line document is streamed.
LINE_SNIFF_LIMIT = 1 << 20

WHOLE_DOCUMENT_LIMIT = 64 << 20
"""Characters of a JSON document (not JSON lines) that is parsed whole; a longer one is read item by item."""

_SUBSCRIPTION_IN_ID = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
# Scopes that hold resources without being resources: subscriptions, resource groups, management groups,
# the tenant. An extension resource (`.../providers/Microsoft.Insights/diagnosticSettings/x`) placed on one
# of them is an ordinary resource of the subscription, not a child to fold.
_SCOPE_ID = re.compile(
    r"^(/subscriptions/[^/]+(/resourcegroups/[^/]+)?|/providers/microsoft\.management/managementgroups/[^/]+)?/?$",
    re.IGNORECASE,
)
_PROVIDERS_SEGMENT = "/providers/"
_VAULT_TYPE = "Microsoft.KeyVault/vaults"


# The folding table ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Fold:
    """Place of a child resource type in its parent's `supplementary`."""

    key: str
    shape: str
    name: str
    """For SINGLE keys, the one child name stored there ("default", "web"); other names are not folded.
    Empty for LIST and BY_NAME keys, which take every child of the type."""


def _single_name(call: str) -> str:
    """Return the fixed child name at the end of a catalogue call ("GET {site id}/config/web" -> "web")."""
    last = call.rsplit("/", 1)[-1]
    return "" if "{" in last or " " in last else last


FOLDS: dict[tuple[str, str], Fold] = {
    (entry.name.lower(), child.type.lower()): Fold(key, child.shape,
                                                   _single_name(child.call) if child.shape == SINGLE else "")
    for entry in TYPES
    for key, child in entry.supplementary.items()
}
"""(parent type, child type), both lower case -> where the child goes."""

CHILD_TYPES = frozenset(child for _, child in FOLDS)
FOLD_PARENT_TYPES = frozenset(parent for parent, _ in FOLDS)
"""Lower-case types that child resources fold into; streaming keeps them until every file is read."""


# One resource ---------------------------------------------------------------------------------------

class InvalidResource(ValueError):
    """An item that cannot become a resource. The message names the missing or invalid field."""


def resource_from_arm(item: Mapping[str, Any], *, source: str, default_type: str = "") -> Resource:
    """Build the (unredacted) envelope of one ARM resource, Resource Graph row or Microsoft Graph object.

    `default_type` is the type of items that do not name theirs (Graph list responses name it once in
    `@odata.context`). The account is UNKNOWN_ACCOUNT when neither the id nor the item names a
    subscription or tenant. Raises InvalidResource when the type or the id is missing.
    """
    return _resource(item, _type_of(item) or default_type, source)[0]


def _resource(item: Mapping[str, Any], type_name: str, source: str) -> tuple[Resource, _TypeFacts]:
    """Build the envelope as resource_from_arm does, for an item of `type_name`, and return its type's facts."""
    if not type_name:
        fields = ", ".join(sorted(str(key) for key in item)[:10]) or "none"
        raise InvalidResource(f"missing type (fields present: {fields}); Resource Graph queries must "
                              "project id and type")
    facts = _type_facts(type_name)
    identity = item.get("id")
    if not isinstance(identity, str) or not identity:
        raise InvalidResource(f"{facts.name} item has no id")

    resource = Resource(
        provider=PROVIDER,
        account=_account(item, identity, facts.graph),
        region=normalise_location(item.get("location")),
        type=facts.name,
        id=identity,
        name=_name(item, identity),
        configuration=item if isinstance(item, dict) else dict(item),
        tags=_tags(item.get("tags")),
        source=source,
    )
    return resource, facts


@dataclass(frozen=True, slots=True)
class _TypeFacts:
    """Facts that the import needs about one spelling of a type name, worked out once."""

    name: str
    """The type as canonical_type returns it."""

    lowered: str
    """`name` in lower case, as FOLDS, CHILD_TYPES and type_from_id spell types."""

    graph: bool
    """An Entra ID type read through Microsoft Graph, whose account is the tenant."""

    child: bool
    """A type that may fold into a parent (see fold_parent_id)."""

    fold_parent: bool
    """A type that children fold into."""

    entry: AzureType | None
    """The catalogue entry of the type, if any."""


# An import contains a few dozen types, each spelt one or two ways (Resource Graph writes lower case).
# Working out their facts for every item took a noticeable share of the import. The limit bounds the
# tables for a file that spells types in many ways, and names past it are worked out on every use.
_LOOKUP_LIMIT = 4096
_TYPE_FACTS: dict[str, _TypeFacts] = {}


def _type_facts(type_name: str) -> _TypeFacts:
    facts = _TYPE_FACTS.get(type_name)
    if facts is None:
        name = canonical_type(type_name)
        lowered = name.lower()
        facts = _TypeFacts(name=name, lowered=lowered, graph=lowered.startswith(GRAPH_TYPE_PREFIX),
                           child=lowered in CHILD_TYPES, fold_parent=lowered in FOLD_PARENT_TYPES,
                           entry=TYPES_BY_LOWER_NAME.get(lowered))
        if len(_TYPE_FACTS) < _LOOKUP_LIMIT:
            _TYPE_FACTS[type_name] = facts
    return facts


# Locations repeat as much as types do ("eastus", "West Europe").
_REGIONS: dict[str, str] = {}


def normalise_location(location: Any) -> str:
    """Return an ARM location as a region: "East US 2" and "eastus2" give "eastus2"; none gives "global"."""
    if not isinstance(location, str):
        return "global"
    region = _REGIONS.get(location)
    if region is None:
        region = location.replace(" ", "").lower() or "global"
        if len(_REGIONS) < _LOOKUP_LIMIT:
            _REGIONS[location] = region
    return region


def _type_of(item: Mapping[str, Any]) -> str:
    value = item.get("type")
    if isinstance(value, str) and value:
        return value
    odata = item.get("@odata.type")
    if isinstance(odata, str) and odata:
        return odata.lstrip("#")
    return ""


_SUBSCRIPTIONS_PREFIX = "/subscriptions/"


def _account(item: Mapping[str, Any], identity: str, graph: bool) -> str:
    if graph:
        tenant = item.get("tenantId")
        return tenant.lower() if isinstance(tenant, str) and tenant else UNKNOWN_ACCOUNT
    if identity.startswith(_SUBSCRIPTIONS_PREFIX):
        # What _SUBSCRIPTION_IN_ID matches, without the regular expression, for ids as ARM spells them.
        end = identity.find("/", len(_SUBSCRIPTIONS_PREFIX))
        subscription = identity[len(_SUBSCRIPTIONS_PREFIX):end] if end >= 0 else identity[len(_SUBSCRIPTIONS_PREFIX):]
        if subscription:
            return subscription.lower()
    else:
        match = _SUBSCRIPTION_IN_ID.match(identity)
        if match:
            return match.group(1).lower()
    for key in ("subscriptionId", "tenantId"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value.lower()
    return UNKNOWN_ACCOUNT


def _name(item: Mapping[str, Any], identity: str) -> str:
    for key in ("name", "displayName", "userPrincipalName"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return identity.rstrip("/").rsplit("/", 1)[-1]


def _tags(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        return {}
    # Tags parsed from JSON are strings, so a plain copy equals what the conversion below returns.
    tags = dict(value)
    for key, item in tags.items():
        if type(key) is not str or type(item) is not str:
            return {str(key): "" if item is None else str(item) for key, item in value.items()}
    return tags


def fold_parent_id(resource: Resource) -> str | None:
    """Return the lower-case id of the parent that `resource` folds into, or None for a resource of its own.

    Nested children ("Microsoft.Sql/servers/auditingSettings") fold when the catalogue lists their type
    under the parent type. Extension resources ("Microsoft.Insights/diagnosticSettings") fold when
    their id places them on another resource; on a subscription or resource group they are resources.
    """
    lowered_type = resource.type.lower()
    if lowered_type not in CHILD_TYPES:
        return None
    lowered_id = resource.id.lower().rstrip("/")

    parent_type, _, _ = lowered_type.rpartition("/")
    if "/" in parent_type:
        if (parent_type, lowered_type) not in FOLDS:
            return None
        parent_id = lowered_id.rsplit("/", 2)[0]
        return parent_id if parent_id != lowered_id else None

    cut = lowered_id.rfind(_PROVIDERS_SEGMENT)
    if cut < 0:
        return None
    scope = lowered_id[:cut]
    return None if _SCOPE_ID.match(scope) else scope


def type_from_id(resource_id: str) -> str:
    """Return the lower-case resource type that an ARM id names (".../providers/Ns/a/x/b/y" -> "ns/a/b")."""
    return _type_from_lowered_id(resource_id.lower())


def _type_from_lowered_id(lowered: str) -> str:
    """Return type_from_id of an id that is already in lower case (lowering it again changes nothing)."""
    lowered = lowered.rstrip("/")
    cut = lowered.rfind(_PROVIDERS_SEGMENT)
    if cut < 0:
        return ""
    parts = lowered[cut + len(_PROVIDERS_SEGMENT):].split("/")
    if len(parts) == 3:
        # The usual case: namespace, type and name.
        return f"{parts[0]}/{parts[1]}"
    return "/".join([parts[0], *parts[1::2]])


# Redaction ------------------------------------------------------------------------------------------

# `arm_envelope.AZURE_REDACTOR` redacts imports as it redacts live scans. A resource is walked only when its
# quick test finds something that the walk may replace: walking every resource took most of the import time.
# Tags are small and always read.

def redact_azure(resource: Resource) -> Resource:
    """Replace the secret values of an Azure resource in place, as a live scan does, and return it."""
    if _may_hold_secrets(resource):
        redact_values(resource)
    else:
        arm_envelope.AZURE_REDACTOR.redact_tags(resource)
    return resource


def redact_values(resource: Resource) -> None:
    """Walk the configuration, supplementary values and tags of `resource` and redact their secrets."""
    arm_envelope.redact_azure(resource)


def _may_hold_secrets(resource: Resource) -> bool:
    return arm_envelope.AZURE_REDACTOR.may_change(resource)


# Reading files --------------------------------------------------------------------------------------

def iter_azure_resources(sources: str | Path | Iterable[str | Path],
                         report: ImportReport | None = None) -> Iterator[Resource]:
    """Yield a redacted resource for every Azure resource under `sources` (files, folders or "-").

    The resources come after every source is read, because a child may come before its parent or in
    another file. Errors go to `report`. Raises FileNotFoundError when a source does not exist.
    """
    source_list = [sources] if isinstance(sources, str | Path) else list(sources)
    files = [input_file for source in source_list for input_file in iter_input_files(source)]
    yield from iter_azure_files(files, report)


def iter_azure_files(files: Iterable[InputFile], report: ImportReport | None = None) -> Iterator[Resource]:
    """Yield a redacted resource for every Azure resource in `files`, with children folded into parents."""
    state = _AzureImport(report if report is not None else ImportReport())
    for input_file in files:
        state.read_file(input_file)
    yield from state.finish()


def stream_azure_files(files: Iterable[InputFile], report: ImportReport, target: StreamTarget) -> None:
    """Pass every Azure resource of `files` to `target` as soon as it is complete, as `iter_azure_files` yields it.

    A resource that a child may fold into waits, pruned, until every file is read; the others go at once.
    Raises NotStreamable when an id is given twice, because the later item must replace the earlier one.
    """
    state = _AzureImport(report, stream=target)
    for input_file in files:
        state.read_file(input_file)
    state.finish_stream()


@dataclass(slots=True)
class _PendingChild:
    resource: Resource
    parent_id: str
    position: int
    """The child's position in `_AzureImport.positions`."""


@dataclass(frozen=True, slots=True)
class _PendingCertificate:
    """An `az keyvault certificate` item waiting for the vault its URI names, which may come later."""

    item: dict[str, Any]
    vault_key: str
    label: str
    location: str


@dataclass(frozen=True, slots=True)
class _VaultPlace:
    """The ARM id and location that a certificate item takes from its vault."""

    id: str
    location: Any


def vault_key(uri: str) -> str:
    """Return the key that matches a vault URI to certificate URIs: host, port and path, in lower case.

    "https://KV-App.vault.azure.net/" and "https://kv-app.vault.azure.net:443" give the same key.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port or 443
    except ValueError:
        return ""
    return f"{(parts.hostname or '').lower()}:{port}{parts.path.rstrip('/').lower()}"


def is_certificate_item(item: Mapping[str, Any]) -> bool:
    """Tell whether an item is a certificate as `az keyvault certificate list` or `show` prints it.

    Such an item has no type and a data-plane id; ARM-shaped certificates have both a type and an ARM id.
    """
    identity = item.get("id")
    return not _type_of(item) and isinstance(identity, str) and split_certificate_uri(identity) is not None


@dataclass(slots=True)
class _ResultPage:
    """One Resource Graph result (a page of a query) that `_record_incomplete_results` checks at the end."""

    label: str
    rows: int
    """The rows (or items) that the result's `data` holds."""

    count: int | None
    """The result's `count`: the number of rows in this response as the service returned it."""

    total: int | None
    """The result's `total_records` (`totalRecords`): the records of the whole query, over every page."""

    last: bool
    """No `skip_token` (`$skipToken`) and no `resultTruncated` true: no page of the query follows this one."""

    accounts: set[str]


@dataclass(slots=True)
class _PageGroup:
    """The Resource Graph pages of one `total_records` value, taken as the pages of one query."""

    ids: set[int] = field(default_factory=set)
    """Hashes of the lower-case resource ids of the group's rows: each resource counts once."""

    rows_without_id: int = 0
    """Rows that have no id (a `summarize` query): each counts as a record of its own."""

    last: bool = False
    """Whether one of the pages is a last page (see `_ResultPage.last`)."""


class _AzureImport:
    """The resources read so far, by lower-case id, and the children waiting for their parents."""

    def __init__(self, report: ImportReport, stream: StreamTarget | None = None) -> None:
        self.report = report
        self.resources: dict[str, Resource] = {}
        self.children: list[_PendingChild] = []

        # Where the items were read, to name both copies of a resource given twice. When the files are read
        # whole, each resource keeps its position as one integer in `_kept_at`. Streamed, only children do.
        self.positions = Positions()
        self._kept_at: dict[str, int] = {}
        self._folded_at: dict[tuple[str, str], int] = {}
        """(parent key, supplementary key) -> the position of the child folded there, while children fold."""

        # Resource Graph pages, and their rows' ids by `total_records`, to tell at the end whether the
        # files contain every row. `_page_ids` collects the ids of the result being read, else it is None.
        self.result_pages: list[_ResultPage] = []
        self._page_groups: dict[int, _PageGroup] = {}
        self._page_ids: set[int] | None = None
        self._page_rows_without_id = 0
        self._file_accounts: set[str] = set()
        # Certificates of `az keyvault certificate` output, and the vaults they may belong to, by vault key.
        self.certificates: list[_PendingCertificate] = []
        self._vaults: dict[str, _VaultPlace] = {}

        # Streaming: resources that no child can fold into go to `stream` at once. Only their id hashes
        # stay, to notice an id given twice, and the types of those whose id names another type.
        self.stream = stream
        self._emitted: set[int] = set()
        self._other_types: dict[str, str] = {}
        self._arrival = 0
        self._order: dict[str, int] = {}

        # Resource types -> how many items had no `properties` (see _mark_no_properties).
        self._without_properties: dict[str, int] = {}

        # The `source` of the resources of the file being read, made once per file.
        self._label = ""
        self._source = ""

    # Files and documents --------------------------------------------------------------------------

    def read_file(self, input_file: InputFile) -> None:
        label = input_file.label
        self._file_accounts = set()
        self._page_ids = None
        try:
            with input_file.open_text() as stream:
                number, head = _first_content_line(stream)
                if not head:
                    self.report.add_error(label, "", "the file is empty")
                    return
                whole = len(head) < LINE_SNIFF_LIMIT or head.endswith("\n")
                if input_file.json_lines and not whole:
                    head += stream.readline()
                    whole = True

                # A first line that is a whole JSON document makes the file JSON lines, and a one-line
                # document reads the same way. Anything else is streamed as a document.
                first = _parse_line(head) if whole else _UNPARSED
                if input_file.json_lines or first is not _UNPARSED:
                    self._read_lines(stream, number, head, first, label)
                    return

                # A document of moderate size (a Resource Graph page) is parsed whole, which is several
                # times faster than item by item. Larger or invalid ones are streamed.
                fits = _rest_fits(stream, WHOLE_DOCUMENT_LIMIT)
                try:
                    rest = stream.read() if fits else stream.read(WHOLE_DOCUMENT_LIMIT)
                except TruncatedInput as error:
                    # The text read so far is lost with the exception, so the document is read again item by
                    # item up to the cut.
                    self.report.add_error(label, error.location, str(error))
                    with input_file.open_text(cut_as_end=True) as again:
                        self._read_document(JsonReader(again), label, cut=True)
                    return
                text = head + rest
                if len(text) > WHOLE_DOCUMENT_LIMIT or not self._read_whole_document(text, label):
                    self._read_document(JsonReader(stream, prefix=text), label)
        except TruncatedInput as error:
            self.report.add_error(label, error.location, str(error))
        except (OSError, EOFError, UnicodeDecodeError) as error:
            # OSError covers unreadable files and corrupt gzip data (gzip.BadGzipFile).
            self.report.add_error(label, "", f"could not read the file: {error}")

    def _read_lines(self, stream: IO[str], first_number: int, first_line: str, first: Any, label: str) -> None:
        """Read one JSON document per line; a bad line costs only itself."""
        self._add_line(first_number, first_line, first, label)
        for number, line in enumerate(stream, start=first_number + 1):
            if line.strip():
                self._add_line(number, line, _parse_line(line), label)

    def _add_line(self, number: int, line: str, document: Any, label: str) -> None:
        location = f"line {number}"
        if document is _UNPARSED:
            try:
                json.loads(line)
            except json.JSONDecodeError as error:
                self.report.add_error(label, location, f"invalid JSON: {json_problem(error, line=False)}")
            return
        self._add_parsed(document, location, label)

    def _add_parsed(self, document: Any, where: str, label: str) -> None:
        """Add the resources of one parsed document (a line, or a document small enough to parse whole)."""
        if isinstance(document, list):
            for index, item in enumerate(document):
                self.add_item(item, "", label, f"{where}, item {index}")
            return
        if not isinstance(document, dict):
            self.report.add_error(label, where, f"expected a JSON object or array, found {json_kind(document)}")
            return

        listed = False
        value = document.get("value")
        if isinstance(value, list) or "data" in document:
            self._start_page()
        if isinstance(value, list):
            listed = True
            default_type = _graph_type(document.get("@odata.context"))
            for index, item in enumerate(value):
                self.add_item(item, default_type, label, f"{where}, item {index}")
        data = document.get("data")
        rows: int | None = None
        if isinstance(data, list):
            listed = True
            rows = len(data)
            for index, item in enumerate(data):
                self.add_item(item, "", label, f"{where}, item {index}")
        elif isinstance(data, dict):
            listed = True
            rows = self._add_table(data.get("columns"), data.get("rows"), label, where)
        if listed:
            self._note_result_page(document, label, rows)
        else:
            self._page_ids = None
            self.add_item(document, "", label, where)

    def _read_document(self, reader: JsonReader, label: str, *, cut: bool = False) -> None:
        """Stream a JSON document (or several, one after another) whose arrays may be too large to parse whole.

        With `cut`, the text ends where compressed data was cut short, which the caller has reported: the
        invalid JSON met there is not reported again.
        """
        documents = 0
        try:
            while not reader.at_end():
                line = reader.line()
                prefix = f"line {line}, " if documents else ""
                documents += 1
                kind = reader.peek()
                if kind == "[":
                    for index, item in enumerate(reader.iter_array()):
                        self.add_item(item, "", label, f"{prefix}item {index}")
                elif kind == "{":
                    self._stream_object(reader, label, f"line {line}")
                else:
                    found = json_kind(reader.value())
                    self.report.add_error(label, f"line {line}", f"expected a JSON object or array, found {found}")
        except JsonStreamError as error:
            if cut:
                return
            # The rest of the file cannot be located reliably after invalid JSON; what came before is kept.
            self.report.add_error(label, f"line {error.line}", f"invalid JSON: {error}; the rest of the file "
                                  "is not read")

    def _read_whole_document(self, text: str, label: str) -> bool:
        """Add the resources of one whole JSON document, as `_read_document` would; False when it is not one."""
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            # Invalid JSON, several documents, or what only the json module accepts (NaN, huge integers):
            # the streaming reader handles each case and keeps what comes before an error.
            return False
        # NOTE: an object that repeats a member name keeps only the last one here, while the streaming
        # reader adds the items of every `value` or `data` member it meets.
        if isinstance(document, list):
            for index, item in enumerate(document):
                self.add_item(item, "", label, f"item {index}")
        elif isinstance(document, dict):
            self._add_object(document, label, f"line {1 + _leading_lines(text)}")
        else:
            self.report.add_error(label, f"line {1 + _leading_lines(text)}",
                                  f"expected a JSON object or array, found {json_kind(document)}")
        return True

    def _add_object(self, document: dict[str, Any], label: str, where: str) -> None:
        """Add a parsed object member by member, in the order of `_stream_object`."""
        members: dict[str, Any] = {}
        listed = False
        rows: int | None = None
        if isinstance(document.get("value"), list) or "data" in document:
            self._start_page()
        for key, value in document.items():
            if key == "value" and isinstance(value, list):
                listed = True
                default_type = _graph_type(members.get("@odata.context"))
                for index, item in enumerate(value):
                    self.add_item(item, default_type, label, f"item {index}")
            elif key == "data" and isinstance(value, list):
                listed = True
                rows = len(value)
                for index, item in enumerate(value):
                    self.add_item(item, "", label, f"item {index}")
            elif key == "data" and isinstance(value, dict):
                listed = True
                rows = self._add_table_members(value, label)
            else:
                members[key] = value
        if listed:
            self._note_result_page(members, label, rows)
        else:
            self._page_ids = None
            self.add_item(members, "", label, where)

    def _add_table_members(self, table: dict[str, Any], label: str) -> int:
        """Add a parsed Resource Graph table as `_stream_table` reads one; return the number of rows."""
        columns: Any = None
        rows: Any = None
        count = 0
        for key, value in table.items():
            if key == "columns":
                columns = value
            elif key == "rows" and columns is not None and isinstance(value, list):
                names = _column_names(columns, label, self.report)
                count = len(value)
                if names is not None:
                    self._add_rows(names, enumerate(value), label, "")
                rows = []
            elif key == "rows":
                rows = value
        if rows is None:
            self.report.add_error(label, "", "the Resource Graph table has no rows")
        elif rows:
            count = self._add_table(columns, rows, label, "")
        return count

    def _stream_object(self, reader: JsonReader, label: str, where: str) -> None:
        """Read an object: a list response or query result streams its items, anything else is one resource."""
        members: dict[str, Any] = {}
        listed = False
        rows: int | None = None
        for key in reader.iter_members():
            kind = reader.peek()
            if key in ("value", "data") and kind in ("[", "{") and self._page_ids is None:
                self._start_page()
            if key == "value" and kind == "[":
                listed = True
                default_type = _graph_type(members.get("@odata.context"))
                for index, item in enumerate(reader.iter_array()):
                    self.add_item(item, default_type, label, f"item {index}")
            elif key == "data" and kind == "[":
                listed = True
                rows = 0
                for index, item in enumerate(reader.iter_array()):
                    self.add_item(item, "", label, f"item {index}")
                    rows = index + 1
            elif key == "data" and kind == "{":
                listed = True
                rows = self._stream_table(reader, label)
            else:
                members[key] = reader.value()
        if listed:
            self._note_result_page(members, label, rows)
        else:
            self._page_ids = None
            self.add_item(members, "", label, where)

    def _stream_table(self, reader: JsonReader, label: str) -> int:
        """Read the table form of a Resource Graph result: `columns` [{name, type}] and `rows` of values.

        Returns the number of rows.
        """
        columns: Any = None
        rows: Any = None
        count = 0
        for key in reader.iter_members():
            if key == "columns":
                columns = reader.value()
            elif key == "rows" and columns is not None and reader.peek() == "[":
                names = _column_names(columns, label, self.report)
                if names is None:
                    count = len(reader.value())
                else:
                    count = self._add_rows(names, enumerate(reader.iter_array()), label, "")
                rows = []
            elif key == "rows":
                # The columns come later (or never), so the rows wait for them.
                rows = reader.value()
            else:
                reader.value()
        if rows is None:
            self.report.add_error(label, "", "the Resource Graph table has no rows")
        elif rows:
            count = self._add_table(columns, rows, label, "")
        return count

    def _add_table(self, columns: Any, rows: Any, label: str, where: str) -> int:
        """Add the rows of a Resource Graph table; return how many rows it has (0 when they are not a list)."""
        if not isinstance(rows, list):
            self.report.add_error(label, where, f"the Resource Graph table's rows must be a JSON array, found "
                                  f"{json_kind(rows)}")
            return 0
        names = _column_names(columns, label, self.report)
        if names is not None:
            self._add_rows(names, enumerate(rows), label, where)
        return len(rows)

    def _add_rows(self, names: list[str], rows: Iterable[tuple[int, Any]], label: str, where: str) -> int:
        """Add each row as a resource, or report why it is invalid; return the number of rows."""
        prefix = f"{where}, " if where else ""
        count = 0
        for index, row in rows:
            count = index + 1
            location = f"{prefix}row {index}"
            if not isinstance(row, list):
                self.report.add_error(label, location, f"expected a row (JSON array), found {json_kind(row)}")
            elif len(row) != len(names):
                self.report.add_error(label, location, f"the row has {len(row)} values for {len(names)} columns")
            else:
                self.add_item(dict(zip(names, row, strict=True)), "", label, location)
        return count

    def _start_page(self) -> None:
        """Start collecting the ids of the rows of a result (see `_note_result_page`)."""
        self._page_ids = set()
        self._page_rows_without_id = 0

    def _note_result_page(self, members: Mapping[str, Any], label: str, rows: int | None) -> None:
        """Note a Resource Graph result, to check at the end that the files contain all its query's rows.

        `rows` is the number of rows (or items) in the result's `data`, None without `data` (an ARM list).
        The ids of the result's rows, collected in `_page_ids`, go to the group of its `total_records`.
        """
        ids = self._page_ids or set()
        rows_without_id = self._page_rows_without_id
        self._page_ids = None
        count = self._record_count(members, ("count",), label)
        total = self._record_count(members, ("total_records", "totalRecords"), label)
        token = members.get("skip_token") or members.get("$skipToken")
        truncated = str(members.get("resultTruncated", "")).lower() == "true"
        last = not token and not truncated
        if rows is None and (total is not None or not last):
            # A list response (`value`) that names a total or a next page is checked as a Resource Graph page,
            # with its items as rows. Other list responses are Resource Manager pages, logged below.
            rows = len(ids) + rows_without_id
            count = None
        if rows is not None and (count is not None or total is not None or not last):
            if total is not None:
                group = self._page_groups.setdefault(total, _PageGroup())
                group.ids.update(ids)
                group.rows_without_id += rows_without_id
                group.last = group.last or last
            self.result_pages.append(_ResultPage(label, rows, count, total, last, set(self._file_accounts)))

        next_link = members.get("nextLink") or members.get("@odata.nextLink")
        if next_link:
            # NOTE: not a coverage gap by itself, because the later pages may be among the files.
            self.report.add_warning(label, "", "one page of a longer list (nextLink is set); resources on later "
                                    "pages are imported only if their files are given too")

    # Items ------------------------------------------------------------------------------------------

    def add_item(self, item: Any, default_type: str, label: str, location: str) -> None:
        """Add one item: a resource of its own, or a child waiting for its parent."""
        if not isinstance(item, dict):
            self.report.add_error(label, location, f"expected a resource object, found {json_kind(item)}")
            return
        if self._page_ids is not None:
            identity = item.get("id")
            if isinstance(identity, str):
                self._page_ids.add(hash(identity.lower()))
            else:
                self._page_rows_without_id += 1
        type_name = _type_of(item)
        if not default_type and not type_name:
            # The test of is_certificate_item, with the type read only once.
            identity = item.get("id")
            parts = split_certificate_uri(identity) if isinstance(identity, str) else None
            if parts is not None:
                # Its subscription and ARM id come from its vault, which may be in a later file.
                self.certificates.append(_PendingCertificate(item, vault_key(parts[0]), label, location))
                return
        if label != self._label:
            self._label = label
            self._source = f"file:{label}"
        try:
            resource, facts = _resource(item, type_name or default_type, self._source)
        except InvalidResource as error:
            self.report.add_error(label, location, str(error))
            return
        if not facts.graph and not isinstance(item.get("properties"), dict):
            self._mark_no_properties(resource)
        if resource.type == _VAULT_TYPE:
            self._note_vault(resource)
        if resource.account == UNKNOWN_ACCOUNT:
            self.report.add_error(label, location, f"{resource.id}: no subscription id in the id or the "
                                  f"subscriptionId field, and no tenantId; account set to {UNKNOWN_ACCOUNT!r}")
        self._file_accounts.add(resource.account)

        # fold_parent_id is None for every type that is not a child type.
        parent_id = fold_parent_id(resource) if facts.child else None
        if parent_id is not None:
            self.children.append(_PendingChild(resource, parent_id, self.positions.add(label, location)))
            return
        key = resource.id.lower()
        if self.stream is not None:
            self._stream_item(key, resource, facts)
            return
        position = self.positions.add(label, location)
        earlier = self.resources.get(key)
        if earlier is not None and earlier.configuration != resource.configuration:
            self.report.add_duplicate(label, location, resource.id, other=self.positions.describe(self._kept_at[key]),
                                      judged=self.positions.describe(position), reason=LATER_REASON)
        self.resources[key] = resource
        self._kept_at[key] = position

    def _mark_no_properties(self, resource: Resource) -> None:
        """Mark the settings of a resource whose item has no `properties` as unknown.

        Every Resource Manager resource keeps its settings there, so judged as absent they would pass or
        fail rules on values the export did not hold. Graph objects have no `properties` and are not marked.
        """
        resource.errors[PROPERTIES_PATH] = NO_PROPERTIES_REASON
        self.report.count(self._without_properties, resource.type)

    def _warn_no_properties(self) -> None:
        if self._without_properties:
            counts = ", ".join(f"{type_name} ({count})"
                               for type_name, count in sorted(self._without_properties.items()))
            self.report.add_warning("", "", f"resources without properties, whose rules report ERROR: {counts}; "
                                    "export whole resources (a Resource Graph query without `project`, or "
                                    "`az resource show`)")
            self._without_properties = {}

    def _stream_item(self, key: str, resource: Resource, facts: _TypeFacts) -> None:
        """Pass a resource on, or keep it (pruned) until the end when a child may still fold into it."""
        assert self.stream is not None
        fingerprint = hash(key)
        if fingerprint in self._emitted or key in self.resources:
            raise NotStreamable(f"{resource.id} is given more than once")
        self._arrival += 1
        if facts.fold_parent:
            self.resources[key] = self.stream.prune(resource)
            self._order[key] = self._arrival
            return

        self._emitted.add(fingerprint)
        if _type_from_lowered_id(key) != facts.lowered:
            # A child names its parent by id only; the parent's own type decides where it folds.
            self._other_types[key] = facts.lowered
        self.stream.add(self._finished(resource), order=self._arrival)

    def _note_vault(self, vault: Resource) -> None:
        """Remember where a vault's certificates go, before streaming may prune its vaultUri away."""
        properties = vault.configuration.get("properties")
        uri = properties.get("vaultUri") if isinstance(properties, dict) else None
        if isinstance(uri, str) and uri:
            self._vaults[vault_key(uri)] = _VaultPlace(vault.id, vault.configuration.get("location"))

    def _place_certificates(self) -> None:
        """Add each `az keyvault certificate` item as the ARM-like document of its vault's certificate."""
        for pending in self.certificates:
            vault = self._vaults.get(pending.vault_key)
            identity = pending.item.get("id")
            if vault is None:
                self.report.add_error(pending.label, pending.location, f"{identity}: no vault whose vaultUri is "
                                      "this certificate's vault is in the imported files, so the certificate is "
                                      "not judged; import the vault (Resource Graph or `az keyvault show` output) "
                                      "with it")
                continue
            policy = pending.item.get("policy")
            try:
                document = certificate_document(pending.item, vault.id, vault.location,
                                                policy=policy if isinstance(policy, dict) else None)
            except ValueError as error:
                self.report.add_error(pending.label, pending.location, str(error))
                continue
            self.add_item(document, "", pending.label, pending.location)
        self.certificates = []

    def finish(self) -> Iterator[Resource]:
        """Fold the children into their parents, mark what the files lack, and yield every resource redacted."""
        self._place_certificates()
        self._fold_children()
        self._record_incomplete_results()

        self._warn_no_properties()

        for resource in self.resources.values():
            yield self._finished(resource)
        self.resources = {}

    def finish_stream(self) -> None:
        """Fold the children into the kept parents and pass those on, as `finish` does for every resource."""
        assert self.stream is not None
        self._place_certificates()
        self._fold_children()
        self._record_incomplete_results()
        self._warn_no_properties()
        for key, resource in self.resources.items():
            self.stream.add(self._finished(resource), order=self._order[key])
        self.resources = {}

    def _finished(self, resource: Resource) -> Resource:
        self._mark_not_imported(resource)
        self.report.count(self.report.imported, resource.type)
        return redact_azure(resource)

    def _fold_children(self) -> None:
        for child in self.children:
            self._fold(child)
        self.children = []
        self._folded_at = {}

    def _fold(self, child: _PendingChild) -> None:
        resource = child.resource
        parent = self.resources.get(child.parent_id)
        if parent is not None:
            parent_type = parent.type.lower()
        else:
            parent_type = self._other_types.get(child.parent_id) or type_from_id(child.parent_id)
        fold = FOLDS.get((parent_type, resource.type.lower()))
        child_name = resource.name.rsplit("/", 1)[-1]

        # Such as diagnostic settings of a resource type whose rules read none, or a web app's
        # `config/appsettings` beside the `config/web` that rules read. Nothing of it is kept.
        if fold is None:
            self.report.count(self.report.skipped, f"{resource.type} of {parent_type} (no rule reads it)")
            return
        if fold.name and child_name.lower() != fold.name.lower():
            self.report.count(self.report.skipped, f"{resource.type} {child_name} (rules read {fold.name})")
            return
        if parent is None:
            self.report.add_error(self.positions.file(child.position), self.positions.location(child.position),
                                  f"{resource.id}: its parent {child.parent_id} is not in the imported files, so this "
                                  f"{resource.type} is not judged")
            return

        if PROPERTIES_PATH in resource.errors:
            # The parent's setting contains the child's properties, which the export lacks.
            parent.errors.setdefault(f"supplementaryConfiguration.{fold.key}", NO_PROPERTIES_REASON)
        if fold.shape == SINGLE:
            slot = (child.parent_id, fold.key)
            earlier = self._folded_at.get(slot)
            if earlier is not None and parent.supplementary.get(fold.key) != resource.configuration:
                self.report.add_duplicate(self.positions.file(child.position), self.positions.location(child.position),
                                          resource.id, other=self.positions.describe(earlier),
                                          judged=self.positions.describe(child.position), reason=LATER_REASON)
            parent.supplementary[fold.key] = resource.configuration
            self._folded_at[slot] = child.position
        elif fold.shape == LIST:
            parent.supplementary.setdefault(fold.key, []).append(resource.configuration)
        elif fold.shape == BY_NAME:
            parent.supplementary.setdefault(fold.key, {})[child_name] = resource.configuration
        self.report.count(self.report.folded, resource.type)

    def _mark_not_imported(self, resource: Resource) -> None:
        entry = _type_facts(resource.type).entry
        if entry is None:
            return
        for key in entry.supplementary:
            if key not in resource.supplementary:
                resource.errors[f"supplementaryConfiguration.{key}"] = NOT_IMPORTED_REASON
                self.report.count(self.report.not_imported, f"{resource.type} {key}")

    def _record_incomplete_results(self) -> None:
        """Report each Resource Graph result whose query the files do not contain whole, as an import error.

        A result is complete when its `count` equals its rows and, when it names a `total_records`, the
        group of pages with that total contains a last page and at least `total` distinct resource ids.
        A result of a longer query (a skip token, or `resultTruncated`) without a total is incomplete,
        because no set of files can be shown to contain every row of it.
        """
        for page in self.result_pages:
            message = self._incompleteness(page)
            if message is None:
                continue
            # An error, not a warning: the missing rows may belong to any subscription, so every unit is partial.
            self.report.add_error(page.label, "", message)
            for account in page.accounts:
                self.report.incomplete[(PROVIDER, account)] = f"{page.label}: {message}"
        self.result_pages = []
        self._page_groups = {}

    def _incompleteness(self, page: _ResultPage) -> str | None:
        """Return why the files lack rows of the query of `page`, or None when they contain them all."""
        of_total = f" and total_records {page.total}" if page.total is not None else ""
        if page.count is not None and page.rows < page.count:
            return (f"the Resource Graph result is incomplete: data contains {page.rows} row(s), fewer than its "
                    f"count {page.count}{of_total}, so rows were removed from the file; import the query's output "
                    "as az or the API wrote it")
        if page.count is not None and page.rows > page.count:
            return (f"the Resource Graph result is incomplete: data contains {page.rows} row(s), more than its "
                    f"count {page.count}{of_total}, so the file is not the response the service returned and rows "
                    "of the query may be missing; import the query's output as az or the API wrote it")
        if page.total is None:
            if page.last:
                return None
            return (f"the Resource Graph result is truncated: {page.rows} record(s) and a skip_token or "
                    "resultTruncated, but no total_records, so the files cannot be shown to contain every page; "
                    "export every page with az graph query (which writes total_records) and import them together")

        # NOTE: pages of two different queries with the same total fall into one group, so a complete query
        # can hide a missing page of the other one.
        group = self._page_groups[page.total]
        if not group.last:
            return (f"the Resource Graph result is truncated: {page.rows} of {page.total} records, and none of the "
                    f"pages with total_records {page.total} is the last one (each has a skip_token or "
                    "resultTruncated); export every page (az graph query --first 1000 with --skip-token) and "
                    "import them together")
        received = len(group.ids) + group.rows_without_id
        if received < page.total:
            return (f"the Resource Graph result is truncated: {page.rows} of {page.total} records, and the pages "
                    f"with total_records {page.total} contain {received} distinct record(s); export "
                    "every page (az graph query --first 1000 with --skip-token) and import them together")
        return None

    def _record_count(self, members: Mapping[str, Any], names: tuple[str, ...], label: str) -> int | None:
        """Return the first of the count members `names` that the result has, as an integer, or None.

        A string of digits ("10") is read as its number. Any other value is reported as an import error
        and read as None.
        """
        for name in names:
            if name not in members:
                continue
            value = members[name]
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
            if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
                return int(value)
            if value is not None:
                self.report.add_error(label, "", f"invalid {name} {json.dumps(value)[:40]} ({json_kind(value)}): "
                                      "expected a number of records; import the query's output as az or the API "
                                      "wrote it")
            return None
        return None


# Helpers --------------------------------------------------------------------------------------------

_UNPARSED = object()
"""Marks a line that is not a whole JSON document."""


def _first_content_line(stream: IO[str]) -> tuple[int, str]:
    """Return the first line that is not blank, read up to LINE_SNIFF_LIMIT characters, with its number."""
    number = 0
    while True:
        line = stream.readline(LINE_SNIFF_LIMIT)
        number += 1
        if not line or line.strip():
            return number, line


def _rest_fits(stream: IO[str], limit: int) -> bool:
    """Return whether `stream` reads a regular file of at most `limit` bytes.

    Then read() returns at most `limit` characters, as read(limit) would, and decodes the rest in one
    piece, which took about a third less time on 2 MB Resource Graph pages. Compressed files, pipes and
    standard input give False.
    """
    raw = getattr(getattr(stream, "buffer", None), "raw", None)
    if not isinstance(raw, io.FileIO):
        return False
    try:
        status = os.fstat(raw.fileno())
    except OSError:
        return False
    # Every character takes at least one byte in UTF-8 and two in UTF-16.
    return stat.S_ISREG(status.st_mode) and status.st_size <= limit


def _leading_lines(text: str) -> int:
    """Return the number of line breaks before the first character that is not whitespace."""
    stripped = text.lstrip()
    return text.count("\n", 0, len(text) - len(stripped))


def _is_whole_line(line: str) -> bool:
    """Tell whether `line` is a complete line (not cut by the limit) holding a whole JSON document."""
    if len(line) >= LINE_SNIFF_LIMIT and not line.endswith("\n"):
        return False
    return _parse_line(line) is not _UNPARSED


def _parse_line(line: str) -> Any:
    # orjson is several times faster than json on the million-line exports this reads.
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        # The standard library also accepts what orjson rejects, such as integers beyond 64 bits.
        return json.loads(line)
    except json.JSONDecodeError:
        return _UNPARSED


def _graph_type(context: Any) -> str:
    """Return the catalogued Graph type that an `@odata.context` URL names, or ""."""
    if not isinstance(context, str) or "#" not in context:
        return ""
    fragment = context.rsplit("#", 1)[-1]
    for segment in reversed([part for part in re.split(r"[/(]", fragment) if part and part != "$entity"]):
        candidate = f"{GRAPH_TYPE_PREFIX}{segment}".lower()
        if candidate in TYPES_BY_LOWER_NAME:
            return TYPES_BY_LOWER_NAME[candidate].name
    return ""


def _column_names(columns: Any, label: str, report: ImportReport) -> list[str] | None:
    if not isinstance(columns, list) or not all(isinstance(column, dict) and isinstance(column.get("name"), str)
                                                for column in columns):
        report.add_error(label, "", "the Resource Graph table needs `columns` as a list of {name, type}")
        return None
    return [column["name"] for column in columns]
