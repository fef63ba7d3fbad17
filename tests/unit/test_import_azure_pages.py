"""Completeness of Resource Graph pages: an import is complete only when its files contain every row of a query.

The files are written as `az graph query -o json` prints them (`count`, `data`, `skip_token`,
`total_records`, lower-case types) and read both whole (`import_files`) and while evaluated
(`import_and_evaluate`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.imports.collection import ImportResult, import_files
from ridgeline.imports.evaluate import import_and_evaluate
from ridgeline.model.scan import Completeness
from ridgeline.pipeline import evaluate_files
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules

FIRST = "00000000-0000-0000-0000-0000000000a1"
SECOND = "00000000-0000-0000-0000-0000000000a2"
TOKEN = "ew0KICAiJGlkIjogIjEiLA0KICAiTWF4Um93cyI6IDEwMDAsDQp9"


def graph_row(index: int, subscription: str = FIRST) -> dict[str, Any]:
    """Return one row of `az graph query` output: a managed disk, as Resource Graph spells it."""
    name = f"disk-{index:03d}"
    return {"id": f"/subscriptions/{subscription}/resourceGroups/rg-app/providers/Microsoft.Compute/disks/{name}",
            "name": name, "type": "microsoft.compute/disks", "tenantId": "00000000-0000-0000-0000-00000000aaaa",
            "kind": "", "location": "westeurope", "resourceGroup": "rg-app", "subscriptionId": subscription,
            "managedBy": "", "sku": {"name": "Premium_LRS", "tier": "Premium"}, "plan": None,
            "properties": {"encryption": {"type": "EncryptionAtRestWithPlatformKey"}, "diskState": "Attached",
                           "diskSizeGB": 128},
            "tags": {}, "identity": None, "zones": None, "extendedLocation": None}


def graph_page(indexes: range, *, total: Any, more: bool, subscription: str = FIRST,
               count: Any = None) -> dict[str, Any]:
    rows = [graph_row(index, subscription) for index in indexes]
    page: dict[str, Any] = {"count": len(rows) if count is None else count, "data": rows,
                            "skip_token": TOKEN if more else None}
    if total is not None:
        page["total_records"] = total
    return page


def write_pages(tmp_path: Path, pages: list[dict[str, Any]]) -> list[str]:
    paths = []
    for number, page in enumerate(pages):
        path = tmp_path / f"page{number}.json"
        path.write_text(json.dumps(page, indent=2))
        paths.append(str(path))
    return paths


def read(paths: list[str], reading: str) -> ImportResult:
    if reading == "whole":
        return import_files(paths)
    evaluated = import_and_evaluate(paths, Engine(load_builtin_rules()))
    try:
        return evaluated.result
    finally:
        evaluated.close()


def statuses(result: ImportResult) -> set[Completeness]:
    return {unit.status for collection in result.collections for unit in collection.coverage}


READS = ["whole", "evaluated"]


# Pages that miss rows --------------------------------------------------------------------------------

@pytest.mark.parametrize("reading", READS)
def test_same_page_twice_is_incomplete(tmp_path: Path, reading: str) -> None:
    page = graph_page(range(10), total=20, more=True)

    result = read(write_pages(tmp_path, [page, page]), reading)

    assert len(result.report.errors) == 2
    assert all("none of the pages with total_records 20 is the last one" in error.message
               for error in result.report.errors)
    assert ("azure", FIRST) in result.report.incomplete
    assert statuses(result) == {Completeness.PARTIAL}


@pytest.mark.parametrize("reading", READS)
def test_overlapping_pages_are_incomplete(tmp_path: Path, reading: str) -> None:
    pages = [graph_page(range(0, 10), total=20, more=True), graph_page(range(5, 15), total=20, more=False)]

    result = read(write_pages(tmp_path, pages), reading)

    messages = [error.message for error in result.report.errors]
    assert len(messages) == 2
    assert all("contain 15 distinct record(s)" in message for message in messages)
    assert ("azure", FIRST) in result.report.incomplete
    assert statuses(result) == {Completeness.PARTIAL}


@pytest.mark.parametrize("reading", READS)
def test_first_pages_of_two_queries_are_incomplete(tmp_path: Path, reading: str) -> None:
    # One query per subscription, each 20 records: together the first pages contain 20 distinct ids.
    pages = [graph_page(range(10), total=20, more=True, subscription=FIRST),
             graph_page(range(10), total=20, more=True, subscription=SECOND)]

    result = read(write_pages(tmp_path, pages), reading)

    assert len(result.report.errors) == 2
    assert ("azure", FIRST) in result.report.incomplete
    assert ("azure", SECOND) in result.report.incomplete
    assert statuses(result) == {Completeness.PARTIAL}


@pytest.mark.parametrize("reading", READS)
def test_skip_token_without_total_is_incomplete(tmp_path: Path, reading: str) -> None:
    pages = [graph_page(range(10), total=None, more=True)]

    result = read(write_pages(tmp_path, pages), reading)

    (error,) = result.report.errors
    assert "skip_token or resultTruncated, but no total_records" in error.message
    assert ("azure", FIRST) in result.report.incomplete
    assert statuses(result) == {Completeness.PARTIAL}


def test_skip_token_without_total_beside_last_page(tmp_path: Path) -> None:
    # A last page does not show which rows the other pages of a query without total had.
    pages = [graph_page(range(10), total=None, more=True), graph_page(range(10, 20), total=None, more=False)]

    result = import_files(write_pages(tmp_path, pages))

    assert [error.file for error in result.report.errors] == [str(tmp_path / "page0.json")]
    assert statuses(result) == {Completeness.PARTIAL}


def test_result_truncated_without_total(tmp_path: Path) -> None:
    page = {"count": 3, "resultTruncated": "true", "data": [graph_row(index) for index in range(3)]}

    result = import_files(write_pages(tmp_path, [page]))

    (error,) = result.report.errors
    assert "no total_records" in error.message
    assert statuses(result) == {Completeness.PARTIAL}


@pytest.mark.parametrize("reading", READS)
def test_count_smaller_than_rows_is_incomplete(tmp_path: Path, reading: str) -> None:
    pages = [graph_page(range(10), total=10, more=False, count=5)]

    result = read(write_pages(tmp_path, pages), reading)

    (error,) = result.report.errors
    assert "data contains 10 row(s), more than its count 5 and total_records 10" in error.message
    assert statuses(result) == {Completeness.PARTIAL}


def test_count_as_string_short_of_rows(tmp_path: Path) -> None:
    pages = [graph_page(range(10), total="20", more=False, count="20")]

    result = import_files(write_pages(tmp_path, pages))

    (error,) = result.report.errors
    assert "data contains 10 row(s), fewer than its count 20 and total_records 20" in error.message
    assert statuses(result) == {Completeness.PARTIAL}


def test_total_as_string_counts_pages(tmp_path: Path) -> None:
    pages = [graph_page(range(10), total="20", more=True, count="10")]

    result = import_files(write_pages(tmp_path, pages))

    (error,) = result.report.errors
    assert "10 of 20 records" in error.message
    assert ("azure", FIRST) in result.report.incomplete


@pytest.mark.parametrize("value", [10.5, True, "ten", "-3", [10], {"n": 10}])
def test_invalid_count_is_reported(tmp_path: Path, value: Any) -> None:
    pages = [graph_page(range(10), total=10, more=False, count=value)]

    result = import_files(write_pages(tmp_path, pages))

    (error,) = result.report.errors
    assert error.message.startswith("invalid count ")
    assert error.file == str(tmp_path / "page0.json")
    assert statuses(result) == {Completeness.PARTIAL}


def test_invalid_total_with_skip_token(tmp_path: Path) -> None:
    pages = [graph_page(range(10), total="twenty", more=True)]

    result = import_files(write_pages(tmp_path, pages))

    messages = [error.message for error in result.report.errors]
    assert len(messages) == 2
    assert messages[0].startswith("invalid total_records ")
    assert "no total_records" in messages[1]
    assert ("azure", FIRST) in result.report.incomplete


# Pages that contain every row ----------------------------------------------------------------------

@pytest.mark.parametrize("reading", READS)
def test_one_full_page_is_complete(tmp_path: Path, reading: str) -> None:
    pages = [graph_page(range(10), total=10, more=False)]

    result = read(write_pages(tmp_path, pages), reading)

    assert result.report.errors == []
    assert result.report.incomplete == {}
    assert statuses(result) == {Completeness.COMPLETE}


@pytest.mark.parametrize("reading", READS)
def test_full_page_set_is_complete(tmp_path: Path, reading: str) -> None:
    pages = [graph_page(range(0, 10), total=20, more=True), graph_page(range(10, 20), total=20, more=False)]

    result = read(write_pages(tmp_path, pages), reading)

    assert result.report.errors == []
    assert result.report.incomplete == {}
    assert statuses(result) == {Completeness.COMPLETE}


def test_numbers_as_strings_are_complete(tmp_path: Path) -> None:
    pages = [graph_page(range(0, 10), total="20", more=True, count="10"),
             graph_page(range(10, 20), total="20", more=False, count="10")]

    result = import_files(write_pages(tmp_path, pages))

    assert result.report.errors == []
    assert statuses(result) == {Completeness.COMPLETE}


def test_page_ids_differ_only_in_case(tmp_path: Path) -> None:
    # The importer keys Azure ids case-insensitively, so an upper-case copy is the same resource.
    first = graph_page(range(0, 10), total=20, more=True)
    second = graph_page(range(0, 10), total=20, more=False)
    for row in second["data"]:
        row["id"] = row["id"].upper()

    result = import_files(write_pages(tmp_path, [first, second]))

    assert result.report.errors
    assert all("contain 10 distinct record(s)" in error.message for error in result.report.errors)


@pytest.mark.parametrize("reading", READS)
def test_resource_manager_pages_are_complete(tmp_path: Path, reading: str) -> None:
    rows = [graph_row(index) | {"type": "Microsoft.Compute/disks"} for index in range(6)]
    pages = [{"value": rows[:3], "nextLink": "https://management.azure.com/subscriptions/x?$skiptoken=abc"},
             {"value": rows[3:]}]

    result = read(write_pages(tmp_path, pages), reading)

    assert result.report.errors == []
    assert result.report.incomplete == {}
    assert statuses(result) == {Completeness.COMPLETE}
    assert any("nextLink is set" in warning.message for warning in result.report.warnings)


# A scan without coverage units ---------------------------------------------------------------------

def uncatalogued_export(tmp_path: Path) -> Path:
    """Write an Azure export whose only resource type is outside the catalogue, and a file of unknown format."""
    folder = tmp_path / "export"
    folder.mkdir()
    row = graph_row(0) | {"type": "microsoft.example/widgets",
                          "id": f"/subscriptions/{FIRST}/resourceGroups/rg-app/providers/Microsoft.Example/widgets/w1"}
    (folder / "graph.json").write_text(json.dumps({"count": 1, "data": [row], "skip_token": None,
                                                   "total_records": 1}))
    (folder / "notes.json").write_text(json.dumps({"name": "not an export", "version": "1.0.0"}))
    return folder


def test_no_units_with_errors_is_incomplete(tmp_path: Path) -> None:
    scans = evaluate_files([uncatalogued_export(tmp_path)], load_builtin_rules())

    (result,) = scans.results
    assert scans.imported.report.errors
    assert not result.complete
    assert not result.scan.complete
    (unit,) = result.collection.coverage
    assert (unit.account, unit.service, unit.status) == (FIRST, "import", Completeness.PARTIAL)
    assert unit.errors[0].code == "UnreadableItems"


def test_no_units_with_errors_cli(tmp_path: Path) -> None:
    export = uncatalogued_export(tmp_path)

    output = CliRunner().invoke(main, ["scan", "file", str(export), "--no-store", "-o", str(tmp_path / "out")])

    assert "Collection complete" not in output.output
    assert "partial" in output.output


def test_no_units_without_errors_is_complete(tmp_path: Path) -> None:
    export = uncatalogued_export(tmp_path)
    (export / "notes.json").unlink()

    scans = evaluate_files([export], load_builtin_rules())

    (result,) = scans.results
    assert scans.imported.report.errors == []
    assert result.collection.coverage == []
    assert result.complete
