"""Text that ends inside a JSON value: the error states that the file or line was probably cut short.

A file still being written, or copied with a limit, ends in the middle of a value. The json module then
reports a missing delimiter or an unterminated string at the end, which reads like a syntax error of the
exporter. The message adds that the text ends early, so the user looks for the copy, not the exporter.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

import pytest

from ridgeline.imports.collection import import_files
from ridgeline.imports.jsonstream import json_problem

CUT_SHORT = "the text ends before the JSON value does, so it was probably cut short"

BUCKET_LINE = json.dumps({
    "name": "//storage.googleapis.com/logs-bucket", "asset_type": "storage.googleapis.com/Bucket",
    "ancestors": ["projects/123456"],
    "resource": {"version": "v1", "location": "us", "parent": "//cloudresourcemanager.googleapis.com/projects/123456",
                 "data": {"name": "logs-bucket", "projectNumber": "123456",
                          "iamConfiguration": {"publicAccessPrevention": "enforced"}}}})


def problem_of(text: str) -> str:
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)
    return json_problem(caught.value, line=False)


@pytest.mark.parametrize("text", ['{"a": "unterminated', '{"a": 1', '{"a": 1,', '[1, 2', '{"a": {"b": [',
                                  '{"a": 1   \n'])
def test_text_ending_inside_value_is_cut_short(text: str) -> None:
    assert problem_of(text).endswith(CUT_SHORT)


@pytest.mark.parametrize("text", ['{"a" 1}', '{"a": tru}', '[1 2]', '{"a": 1}}'])
def test_syntax_error_before_end_is_not_cut_short(text: str) -> None:
    assert CUT_SHORT not in problem_of(text)


def test_cut_last_line_names_line_and_cut(tmp_path: Path) -> None:
    export = tmp_path / "resources.json"
    export.write_text(BUCKET_LINE + "\n" + BUCKET_LINE.replace("logs-bucket", "data-bucket")[:150])

    result = import_files([export])

    assert [resource.name for collection in result.collections for resource in collection.resources] == ["logs-bucket"]
    assert len(result.report.errors) == 1
    error = result.report.errors[0]
    assert error.location == "line 2"
    assert error.message.endswith(CUT_SHORT)


def test_bad_middle_line_is_not_called_cut(tmp_path: Path) -> None:
    export = tmp_path / "resources.json"
    broken = BUCKET_LINE.replace('"asset_type":', '"asset_type"', 1)
    export.write_text("\n".join([BUCKET_LINE, broken, BUCKET_LINE.replace("logs-bucket", "data-bucket")]) + "\n")

    result = import_files([export])

    assert len(result.report.errors) == 1
    assert result.report.errors[0].location == "line 2"
    assert CUT_SHORT not in result.report.errors[0].message


def azure_page(count: int) -> str:
    rows = [{"id": f"/subscriptions/00000000-0000-0000-0000-0000000000c7/resourceGroups/rg/providers/"
                   f"Microsoft.Compute/disks/disk-{index}", "name": f"disk-{index}", "type": "Microsoft.Compute/disks",
             "location": "westeurope", "subscriptionId": "00000000-0000-0000-0000-0000000000c7",
             "properties": {"encryption": {"type": "EncryptionAtRestWithPlatformKey"}}} for index in range(count)]
    return json.dumps({"count": count, "data": rows, "skip_token": None, "total_records": count}, indent=2)


def test_gzip_cut_in_first_item_names_cut(tmp_path: Path) -> None:
    compressed = gzip.compress(azure_page(3).encode())
    export = tmp_path / "page.json.gz"
    export.write_bytes(compressed[:len(compressed) // 2])

    result = import_files([export])

    assert result.collections == []
    assert len(result.report.errors) == 1
    error = result.report.errors[0]
    assert error.location.startswith("line ")
    assert error.message.startswith("the gzip data ends early")


def test_plain_page_cut_early(tmp_path: Path) -> None:
    text = azure_page(3)
    export = tmp_path / "page.json"
    export.write_text(text[:len(text.split('"name"')[0]) + 20])

    result = import_files([export])

    assert len(result.report.errors) == 1
    assert result.report.errors[0].message.startswith("invalid JSON")
    assert result.report.errors[0].message.endswith(CUT_SHORT)


# Text cut inside a character of several bytes ---------------------------------------------------------------

def tagged_items(count: int) -> bytes:
    """An AWS Config snapshot whose tags contain characters of two bytes in UTF-8, in a seeded random order."""
    letters = random.Random(7)
    items = [{"configurationItemCaptureTime": "2026-11-30T10:00:00.000Z", "configurationItemStatus": "OK",
              "resourceType": "AWS::EC2::Volume", "resourceId": f"vol-{index:04d}", "awsAccountId": "111122223333",
              "awsRegion": "eu-west-1", "ARN": f"arn:aws:ec2:eu-west-1:111122223333:volume/vol-{index:04d}",
              "tags": {"Name": "".join(letters.choices("abcdefgöüäß", k=600))}, "supplementaryConfiguration": {},
              "configuration": {"volumeId": f"vol-{index:04d}", "encrypted": True}} for index in range(count)]
    return json.dumps({"configurationItems": items}, indent=2, ensure_ascii=False).encode()


def ends_inside_character(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError as error:
        return error.reason == "unexpected end of data"
    return False


def inside_character(data: bytes, start: int) -> int:
    """Return the offset of the second byte of the first two-byte character at or after `start`."""
    return data.index("ö".encode(), start) + 1


def test_plain_cut_inside_character_keeps_items(tmp_path: Path) -> None:
    # `head -c` counts bytes, so it may stop between the two bytes of "ö".
    data = tagged_items(40)
    export = tmp_path / "snapshot.json"
    export.write_bytes(data[:inside_character(data, len(data) // 2)])

    result = import_files([export])

    assert 10 < sum(len(collection.resources) for collection in result.collections) < 40
    assert len(result.report.errors) == 1
    assert result.report.errors[0].message.startswith("invalid JSON: Unterminated string")
    assert result.report.errors[0].message.endswith("the rest of the file is not read")


def test_gzip_cut_inside_character_keeps_items(tmp_path: Path) -> None:
    data = tagged_items(40)
    compressed = gzip.compress(data, mtime=0)
    # The shortest cut past half of the compressed data whose decompressed text ends inside a character.
    size = next(size for size in range(len(compressed) // 2, len(compressed))
                if ends_inside_character(zlib.decompressobj(wbits=31).decompress(compressed[:size])))
    export = tmp_path / "snapshot.json.gz"
    export.write_bytes(compressed[:size])

    result = import_files([export])

    assert 10 < sum(len(collection.resources) for collection in result.collections) < 40
    assert len(result.report.errors) == 1
    assert result.report.errors[0].message.startswith("the gzip data ends early")


def test_invalid_byte_before_end_is_unreadable(tmp_path: Path) -> None:
    # Only a character cut by the end of the text is forgiven; other invalid UTF-8 is not guessed at.
    data = tagged_items(3)
    export = tmp_path / "snapshot.json"
    export.write_bytes(data.replace("ö".encode(), b"\xff", 1))

    result = import_files([export])

    assert result.collections == []
    assert len(result.report.errors) == 1
    assert "could not read the file" in result.report.errors[0].message
