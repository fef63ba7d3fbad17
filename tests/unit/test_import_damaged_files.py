"""Damaged and odd input files: what is whole is imported, and the damage is reported where it is.

A download or copy that stops early leaves gzip data without its end marker. The import keeps what came
before the cut, as it does for a file with an invalid line, and reports the file and the line where the
data ends. The provider's coverage becomes partial, so the loss resolves no earlier finding. A JSON lines
file whose first line is bad loses that line only, and the `[]` of an empty listing is no error.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import import_files
from ridgeline.imports.evaluate import import_and_evaluate
from ridgeline.imports.sources import InputFile, TruncatedInput
from ridgeline.model.scan import Completeness
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000c7"


def gcp_line(index: int) -> dict[str, Any]:
    return {"name": f"//storage.googleapis.com/bucket-{index:04d}", "asset_type": "storage.googleapis.com/Bucket",
            "ancestors": ["projects/123456"],
            "resource": {"version": "v1", "location": "us",
                         "parent": "//cloudresourcemanager.googleapis.com/projects/123456",
                         "data": {"name": f"bucket-{index:04d}", "projectNumber": "123456",
                                  "iamConfiguration": {"publicAccessPrevention": "enforced"},
                                  "labels": {"pad": "x" * (index % 97)}}}}


def azure_item(index: int) -> dict[str, Any]:
    return {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/disks/disk-{index:04d}",
            "name": f"disk-{index:04d}", "type": "Microsoft.Compute/disks", "location": "westeurope",
            "subscriptionId": SUBSCRIPTION, "tags": {"pad": "y" * (index % 89)},
            "properties": {"encryption": {"type": "EncryptionAtRestWithPlatformKey"}, "diskState": "Attached"}}


def aws_item(index: int) -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-30T10:00:00.000Z",
            "configurationItemStatus": "OK", "resourceType": "AWS::EC2::Volume", "resourceId": f"vol-{index:04d}",
            "awsAccountId": "111122223333", "awsRegion": "eu-west-1",
            "ARN": f"arn:aws:ec2:eu-west-1:111122223333:volume/vol-{index:04d}", "tags": {"pad": "z" * (index % 83)},
            "relationships": [], "supplementaryConfiguration": {},
            "configuration": {"volumeId": f"vol-{index:04d}", "encrypted": index % 2 == 0, "size": 8}}


def cut(path: Path, text: bytes, fraction: float) -> int:
    """Write `text` gzipped and cut at `fraction` of its compressed size; return the whole lines kept."""
    compressed = gzip.compress(text, mtime=0)
    truncated = compressed[:int(len(compressed) * fraction)]
    path.write_bytes(truncated)
    decompressor = zlib.decompressobj(wbits=31)
    return decompressor.decompress(truncated).count(b"\n")


def import_cut(path: Path) -> tuple[int, list[str], list[Completeness]]:
    """Import `path`; return the number of resources, each error as printed, and the coverage statuses."""
    result = import_files([str(path)])
    resources = sum(len(collection.resources) for collection in result.collections)
    errors = [issue.describe() for issue in result.report.errors]
    statuses = [unit.status for collection in result.collections for unit in collection.coverage]
    return resources, errors, statuses


@pytest.mark.parametrize("fraction", [0.1, 0.37, 0.5, 0.83, 0.99])
@pytest.mark.parametrize("provider", ["gcp", "azure", "aws"])
def test_json_lines_keep_every_whole_line(tmp_path: Path, provider: str, fraction: float) -> None:
    make = {"gcp": gcp_line, "azure": azure_item, "aws": aws_item}[provider]
    text = "".join(json.dumps(make(index)) + "\n" for index in range(400)).encode()
    path = tmp_path / "export.jsonl.gz"
    whole_lines = cut(path, text, fraction)

    resources, errors, statuses = import_cut(path)

    assert resources == whole_lines
    assert errors == [f"{path}, line {whole_lines + 1}: the gzip data ends early, so the file was cut short "
                      "(an interrupted download or copy?); what came before the cut was read, and the rest of "
                      "the file is missing"]
    assert statuses and Completeness.COMPLETE not in statuses


@pytest.mark.parametrize("provider", ["azure", "aws"])
def test_documents_keep_items_before_the_cut(tmp_path: Path, provider: str) -> None:
    # An indented page or snapshot: the items whose text ends before the cut are whole and imported.
    if provider == "azure":
        document: Any = {"count": 300, "data": [azure_item(index) for index in range(300)]}
    else:
        document = {"fileVersion": "1.0", "configurationItems": [aws_item(index) for index in range(300)]}
    path = tmp_path / "page.json.gz"
    cut(path, json.dumps(document, indent=2).encode(), 0.5)

    resources, errors, statuses = import_cut(path)

    assert 50 < resources < 300
    assert len(errors) == 1
    assert "the gzip data ends early" in errors[0]
    assert Completeness.COMPLETE not in statuses


def test_reader_returns_every_byte_before_the_cut(tmp_path: Path) -> None:
    text = b"".join(b"%d %s\n" % (index, b"q" * (index % 300)) for index in range(3000))
    path = tmp_path / "cut.gz"
    whole_lines = cut(path, text, 0.6)

    lines = []
    with pytest.raises(TruncatedInput) as raised, InputFile(str(path)).open_text() as stream:
        for line in stream:
            lines.append(line)

    assert [line for line in lines if line.endswith("\n")] == text.decode().splitlines(keepends=True)[:whole_lines]
    assert raised.value.location == f"line {whole_lines + 1}"


def test_reader_joins_members_and_ignores_zero_padding(tmp_path: Path) -> None:
    path = tmp_path / "members.gz"
    path.write_bytes(gzip.compress(b"a\n") + gzip.compress(b"b\n") + b"\0" * 16)

    with InputFile(str(path)).open_text() as stream:
        assert stream.read() == "a\nb\n"


@pytest.mark.parametrize(("tail", "damage"), [(b"not gzip", False), (b"", True)])
def test_reader_rejects_invalid_gzip_data(tmp_path: Path, tail: bytes, damage: bool) -> None:
    data = bytearray(gzip.compress(b"x" * 5000 + b"\n"))
    if damage:
        # A byte of the checksum at the end, so only the check finds it.
        data[-6] ^= 0xFF
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(data) + tail)

    with pytest.raises(gzip.BadGzipFile), InputFile(str(path)).open_text() as stream:
        stream.read()


@pytest.mark.parametrize("first", ['{"name": "broken', '{"unrelated": 1}', "[1, 2"])
def test_bad_first_line_costs_only_itself(tmp_path: Path, first: str) -> None:
    path = tmp_path / "assets.jsonl"
    path.write_text(first + "\n" + "".join(json.dumps(gcp_line(index)) + "\n" for index in range(30)))

    resources, errors, _ = import_cut(path)

    assert resources == 30
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}, line 1: ")
    assert " at at " not in errors[0]


def test_empty_array_is_left_out_without_error(tmp_path: Path) -> None:
    # `az resource list` prints [] when nothing matches: no provider's coverage may become partial for it.
    empty = tmp_path / "nothing.json"
    empty.write_text("[]\n")
    assets = tmp_path / "assets.jsonl"
    assets.write_text("".join(json.dumps(gcp_line(index)) + "\n" for index in range(3)))

    result = import_files([str(empty), str(assets)])

    assert result.report.errors == []
    assert list(result.report.skipped.values()) == [1]
    assert all(unit.status is Completeness.COMPLETE for collection in result.collections
               for unit in collection.coverage)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    # PowerShell and some editors write UTF-16 without a mark; JSON's first character shows the byte order.
    path = tmp_path / "resources.json"
    path.write_bytes(json.dumps([azure_item(index) for index in range(3)]).encode(encoding))

    resources, errors, _ = import_cut(path)

    assert resources == 3
    assert errors == []


# Documents cut short or invalid, plain or gzipped ---------------------------------------------------------

def aws_api_item(index: int) -> dict[str, Any]:
    """An item as get-resource-config-history and batch-get-resource-config return it: configuration is JSON text."""
    item = aws_item(index)
    return {"version": "1.3", "accountId": item["awsAccountId"], "configurationItemCaptureTime": 1764496800.0,
            "configurationItemStatus": "OK", "resourceType": item["resourceType"], "resourceId": item["resourceId"],
            "arn": item["ARN"], "awsRegion": item["awsRegion"], "configuration": json.dumps(item["configuration"]),
            "supplementaryConfiguration": {}}


def camel_asset(index: int) -> dict[str, Any]:
    """An asset as `gcloud asset list --format=json` prints it."""
    line = gcp_line(index)
    return {"name": line["name"], "assetType": line["asset_type"], "ancestors": line["ancestors"],
            "resource": line["resource"], "updateTime": "2026-11-30T10:00:00Z"}


# Each shape: (the member that contains the items, or None for a top-level array; the document of N items).
DOCUMENTS: dict[str, tuple[str | None, Any]] = {
    "config snapshot": ("configurationItems", lambda count: {
        "fileVersion": "1.0", "configurationSnapshotId": "c0ffee00-1111-2222-3333-444455556666",
        "configurationItems": [aws_item(index) for index in range(count)]}),
    "config history API": ("configurationItems", lambda count: {
        "configurationItems": [aws_api_item(index) for index in range(count)], "nextToken": "page-2"}),
    "config batch API": ("baseConfigurationItems", lambda count: {
        "baseConfigurationItems": [aws_api_item(index) for index in range(count)], "unprocessedResourceKeys": []}),
    "advanced query": ("Results", lambda count: {
        "Results": [json.dumps(aws_item(index)) for index in range(count)],
        "QueryInfo": {"SelectFields": [{"Name": "*"}]}}),
    "config item array": (None, lambda count: [aws_item(index) for index in range(count)]),
    "asset array": (None, lambda count: [camel_asset(index) for index in range(count)]),
    "ListAssets response": ("assets", lambda count: {
        "readTime": "2026-11-30T10:00:00Z", "assets": [camel_asset(index) for index in range(count)]}),
}


def item_ends(text: str, member: str | None) -> list[int]:
    """Return the offset in `text` just after each item of the document's item list."""
    start = text.index("[", text.index(f'"{member}"') if member else 0) + 1
    decoder = json.JSONDecoder()
    ends = []
    position = start
    while True:
        position = len(text) - len(text[position:].lstrip(" \n,"))
        if text[position] == "]":
            return ends
        _, position = decoder.raw_decode(text, position)
        ends.append(position)


def ids_of(paths: list[Path]) -> list[str]:
    result = import_files([str(path) for path in paths])
    return [resource.id for collection in result.collections for resource in collection.resources]


@pytest.mark.parametrize("fraction", [0.3, 0.77])
@pytest.mark.parametrize("shape", list(DOCUMENTS))
def test_plain_document_keeps_items_before_cut(tmp_path: Path, shape: str, fraction: float) -> None:
    member, make = DOCUMENTS[shape]
    text = json.dumps(make(60), indent=2)
    end = int(len(text) * fraction)
    path = tmp_path / "export.json"
    path.write_text(text[:end])
    whole_items = sum(item_end <= end for item_end in item_ends(text, member))

    resources, errors, statuses = import_cut(path)

    assert resources == whole_items
    assert len(errors) == 1
    last_line = text[:end].count("\n") + 1
    assert errors[0].startswith(f"{path}, line {last_line}, item {whole_items}: invalid JSON: ")
    assert errors[0].endswith("it was probably cut short; the rest of the file is not read")
    assert statuses and Completeness.COMPLETE not in statuses


@pytest.mark.parametrize("shape", list(DOCUMENTS))
def test_gzip_and_plain_cut_keep_same_items(tmp_path: Path, shape: str) -> None:
    member, make = DOCUMENTS[shape]
    whole = json.dumps(make(300), indent=2)
    compressed = tmp_path / "export.json.gz"
    cut(compressed, whole.encode(), 0.5)
    text = zlib.decompressobj(wbits=31).decompress(compressed.read_bytes())
    plain = tmp_path / "export.json"
    plain.write_bytes(text)
    whole_items = sum(item_end <= len(text) for item_end in item_ends(whole, member))

    _, gzip_errors, gzip_statuses = import_cut(compressed)
    _, plain_errors, _ = import_cut(plain)

    assert 0 < whole_items < 300
    assert len(ids_of([compressed])) == whole_items
    assert ids_of([compressed]) == ids_of([plain])
    last_line = text.count(b"\n") + 1
    assert gzip_errors == [f"{compressed}, line {last_line}, item {whole_items}: the gzip data ends early, "
                           "so the file was cut short (an interrupted download or copy?); what came before the cut "
                           "was read, and the rest of the file is missing"]
    assert f", item {whole_items}: invalid JSON: " in plain_errors[0]
    assert gzip_statuses and Completeness.COMPLETE not in gzip_statuses


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_invalid_item_stops_document_there(tmp_path: Path, provider: str) -> None:
    # A syntax error in the middle, not at the end: the items before it are kept, and it is not called a cut.
    document = DOCUMENTS["config snapshot" if provider == "aws" else "asset array"][1](40)
    lines = json.dumps(document, indent=2).splitlines()
    broken = next(number for number, line in enumerate(lines) if "-0020" in line)
    lines[broken] = lines[broken].replace('": "', '" "', 1)
    path = tmp_path / "export.json"
    path.write_text("\n".join(lines))

    resources, errors, statuses = import_cut(path)

    assert resources == 20
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}, line {broken + 1}, item 20: invalid JSON: Expecting ':' delimiter")
    assert "cut short" not in errors[0]
    assert Completeness.COMPLETE not in statuses


def test_streamed_scan_keeps_assets_before_cut(tmp_path: Path) -> None:
    # `scan file` reads Cloud Asset Inventory files while it judges them: the cut is handled there too.
    text = json.dumps([camel_asset(index) for index in range(30)], indent=2)
    end = len(text) // 2
    path = tmp_path / "assets.json"
    path.write_text(text[:end])
    whole_items = sum(item_end <= end for item_end in item_ends(text, None))
    last_line = text[:end].count("\n") + 1

    evaluated = import_and_evaluate([path], Engine(load_builtin_rules()))

    assert evaluated.streamed["gcp"]
    (collection,) = evaluated.result.collections
    assert len(collection.resources) == whole_items
    assert [issue.location for issue in evaluated.result.report.errors] == [
        f"line {last_line}, item {whole_items}"]
    assert Completeness.COMPLETE not in [unit.status for unit in collection.coverage]


# Resource Graph results with fewer rows than they count ----------------------------------------------------

def graph_result(rows: int, **members: Any) -> dict[str, Any]:
    return {**members, "data": [azure_item(index) for index in range(rows)]}


@pytest.mark.parametrize("layout", ["indented", "one line", "streamed"])
@pytest.mark.parametrize(("members", "numbers"), [
    ({"count": 3, "total_records": 3, "skip_token": None}, "data contains 1 row(s), fewer than its count 3 and "
                                                           "total_records 3"),
    ({"count": 3}, "data contains 1 row(s), fewer than its count 3,"),
    ({"totalRecords": 3, "resultTruncated": "false"}, "truncated: 1 of 3 records"),
])
def test_graph_result_short_of_count(tmp_path: Path, layout: str, members: dict[str, Any], numbers: str) -> None:
    path = tmp_path / "graph.json"
    document = graph_result(1, **members)
    if layout == "indented":
        path.write_text(json.dumps(document, indent=2))
    elif layout == "one line":
        path.write_text(json.dumps(document) + "\n")
    else:
        # Two documents one after the other are read item by item.
        path.write_text(json.dumps(document, indent=2) + "\n" + json.dumps(azure_item(7), indent=2))

    result = import_files([str(path)])

    assert len(result.report.errors) == 1
    error = result.report.errors[0]
    assert error.file == str(path)
    assert numbers in error.message
    assert ("azure", SUBSCRIPTION) in result.report.incomplete
    assert {unit.status for unit in result.collections[0].coverage} == {Completeness.PARTIAL}


def test_graph_table_short_of_count(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    columns = [{"name": "id", "type": "string"}, {"name": "type", "type": "string"}]
    row = [azure_item(0)["id"], "microsoft.compute/disks"]
    path.write_text(json.dumps({"totalRecords": 2, "count": 2, "data": {"columns": columns, "rows": [row]}}))

    result = import_files([str(path)])

    assert [error.message.split(";")[0] for error in result.report.errors] == [
        "the Resource Graph result is incomplete: data contains 1 row(s), fewer than its count 2 and total_records 2, "
        "so rows were removed from the file"]
    assert ("azure", SUBSCRIPTION) in result.report.incomplete


def test_graph_pages_that_add_up_are_complete(tmp_path: Path) -> None:
    # Each page counts its own rows, and the pages among the files make up the total.
    first = tmp_path / "page-1.json"
    first.write_text(json.dumps({**graph_result(2), "count": 2, "total_records": 3, "skip_token": "next"}))
    second = tmp_path / "page-2.json"
    second.write_text(json.dumps({"count": 1, "total_records": 3, "data": [azure_item(5)]}))

    result = import_files([str(first), str(second)])

    assert result.report.errors == []
    assert result.report.incomplete == {}


def test_arm_list_without_counts_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "disks.json"
    path.write_text(json.dumps({"value": [azure_item(index) for index in range(3)]}))

    result = import_files([str(path)])

    assert result.report.errors == []
    assert result.report.incomplete == {}


# A file that is not an export -----------------------------------------------------------------------------

def test_stray_file_in_folder_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "tools", "version": "1.0.0", "dependencies": {}}))
    (tmp_path / "assets.jsonl").write_text("".join(json.dumps(gcp_line(index)) + "\n" for index in range(3)))

    resources, errors, statuses = import_cut(tmp_path)

    assert resources == 3
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'package.json'}: unknown format: ")
    assert errors[0].endswith("move it out of the scanned folder or name the export files instead of the folder: "
                              "until then the coverage of every provider is partial, because the file may be an "
                              "export that could not be read")
    # Cautious still: the file may be a damaged export, so nothing may resolve while it is there.
    assert statuses and Completeness.COMPLETE not in statuses
