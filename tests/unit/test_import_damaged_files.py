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
from ridgeline.imports.sources import InputFile, TruncatedInput
from ridgeline.model.scan import Completeness

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
