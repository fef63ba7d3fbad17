"""A resource given more than once: the newest copy is judged, and different copies are reported.

Exports made at different times, or overlapping ones, hold the same resource twice. AWS Config items carry
their capture time and Cloud Asset Inventory lines their update time: the newer copy wins whatever the
order of the files. Resource Graph rows carry no time, so the later item wins. Copies with other content are
listed as `duplicates` in the import report, naming the file and position of both copies, the copy judged and
why; identical copies are not.
"""

from __future__ import annotations

import inspect
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.imports.collection import OLDER_VERSION_SKIPPED, import_files
from ridgeline.imports.report import Positions
from ridgeline.pipeline import evaluate_files
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule

BUCKET = "//storage.googleapis.com/shared-reports"


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return load_builtin_rules()


VOLUME_ARN = "arn:aws:ec2:eu-west-1:111122223333:volume/vol-0a1"


def volume(captured: str, encrypted: bool, volume_id: str = "vol-0a1") -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": captured,
            "configurationItemStatus": "OK", "resourceType": "AWS::EC2::Volume", "resourceId": volume_id,
            "awsAccountId": "111122223333", "awsRegion": "eu-west-1",
            "ARN": f"arn:aws:ec2:eu-west-1:111122223333:volume/{volume_id}", "tags": {}, "relationships": [],
            "supplementaryConfiguration": {}, "configuration": {"volumeId": volume_id, "encrypted": encrypted}}


def bucket_lines(updated: str, public: bool) -> list[dict[str, Any]]:
    members = ["allUsers"] if public else ["group:analysts@example.com"]
    resource = {"name": BUCKET, "asset_type": "storage.googleapis.com/Bucket", "update_time": updated,
                "ancestors": ["projects/314159"],
                "resource": {"version": "v1", "location": "EU",
                             "parent": "//cloudresourcemanager.googleapis.com/projects/314159",
                             "data": {"name": "shared-reports", "projectNumber": "314159",
                                      "iamConfiguration": {"publicAccessPrevention": "inherited"}}}}
    policy = {"name": BUCKET, "asset_type": "storage.googleapis.com/Bucket", "update_time": updated,
              "ancestors": ["projects/314159"],
              "iam_policy": {"bindings": [{"role": "roles/storage.objectViewer", "members": members}]}}
    return [resource, policy]


def write_lines(path: Path, lines: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def statuses(files: list[str], rules: list[Rule], rule_id: str) -> list[str]:
    scans = evaluate_files(files, rules)
    return [finding.status.value for result in scans.results for finding in result.findings
            if finding.rule_id == rule_id]


@pytest.mark.parametrize("newest_first", [True, False])
def test_aws_newest_capture_is_judged(tmp_path: Path, rules: list[Rule], newest_first: bool) -> None:
    # Two snapshots of different days, read in either order. December lists another volume first.
    newest = tmp_path / "december.json"
    newest.write_text(json.dumps({"configurationItems": [volume("2026-12-01T09:00:00.000Z", True, "vol-0b2"),
                                                         volume("2026-12-01T09:00:00.000Z", True)]}))
    oldest = tmp_path / "february.json"
    oldest.write_text(json.dumps({"configurationItems": [volume("2025-02-01T09:00:00.000Z", False)]}))
    files = [str(newest), str(oldest)] if newest_first else [str(oldest), str(newest)]

    assert statuses(files, rules, "aws-ec2-volume-encrypted") == ["PASS", "PASS"]
    [duplicate] = import_files(files).report.duplicates
    later, earlier = (f"{oldest}, item 0", f"{newest}, item 1") if newest_first else \
        (f"{newest}, item 1", f"{oldest}, item 0")
    assert duplicate.describe() == (
        f"{later}: {VOLUME_ARN} is also given at {earlier} with other content, and the copy at {newest}, item 1 is "
        "judged because its configurationItemCaptureTime is newer (2026-12-01T09:00:00.000Z, against "
        "2025-02-01T09:00:00.000Z)")


@pytest.mark.parametrize(("first_time", "second_time", "judged", "reason"), [
    ("2026-12-01T09:00:00.000Z", "2026-12-01T09:00:00.000Z", "second",
     "it is read later, and both copies have configurationItemCaptureTime 2026-12-01T09:00:00.000Z"),
    ("2026-12-01T09:00:00.000Z", None, "first",
     "only it has a configurationItemCaptureTime (2026-12-01T09:00:00.000Z)"),
    (None, "2026-12-01T09:00:00.000Z", "second",
     "only it has a configurationItemCaptureTime (2026-12-01T09:00:00.000Z)"),
    (None, None, "second", "it is read later, and neither copy has a configurationItemCaptureTime"),
])
def test_aws_reason_without_newer_capture(tmp_path: Path, first_time: str | None, second_time: str | None,
                                          judged: str, reason: str) -> None:
    paths = {}
    for name, captured, encrypted in (("first", first_time, False), ("second", second_time, True)):
        item = volume(captured or "", encrypted)
        if captured is None:
            del item["configurationItemCaptureTime"]
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps({"configurationItems": [item]}))

    result = import_files([str(paths["first"]), str(paths["second"])])

    [duplicate] = result.report.duplicates
    assert (duplicate.file, duplicate.location) == (str(paths["second"]), "item 0")
    assert duplicate.message == (f"{VOLUME_ARN} is also given at {paths['first']}, item 0 with other content, and the "
                                 f"copy at {paths[judged]}, item 0 is judged because {reason}")
    [resource] = result.collections[0].resources
    assert resource.configuration["encrypted"] is (judged == "second")


def test_aws_query_results_positions(tmp_path: Path) -> None:
    # Advanced query results (SelectResourceConfig) are JSON strings, one per item of `Results`.
    def result(resource_id: str, encrypted: bool) -> str:
        item = volume("2026-12-01T09:00:00.000Z", encrypted, resource_id)
        return json.dumps({"resourceType": item["resourceType"], "resourceId": resource_id,
                           "accountId": item["awsAccountId"], "awsRegion": item["awsRegion"], "arn": item["ARN"],
                           "configurationItemCaptureTime": item["configurationItemCaptureTime"],
                           "configuration": item["configuration"], "supplementaryConfiguration": {}})

    monday = tmp_path / "monday-query.json"
    monday.write_text(json.dumps({"Results": [result("vol-0a1", False), result("vol-0b2", False)],
                                  "QueryInfo": {"SelectFields": []}}))
    tuesday = tmp_path / "tuesday-query.json"
    tuesday.write_text(json.dumps({"Results": [result("vol-0c3", True), result("vol-0d4", True),
                                               result("vol-0a1", True)], "QueryInfo": {"SelectFields": []}}))

    [duplicate] = import_files([str(monday), str(tuesday)]).report.duplicates

    assert duplicate.describe() == (
        f"{tuesday}, item 2: {VOLUME_ARN} is also given at {monday}, item 0 with other content, and the copy at "
        f"{tuesday}, item 2 is judged because it is read later, and both copies have configurationItemCaptureTime "
        "2026-12-01T09:00:00.000Z")


def test_aws_json_lines_positions(tmp_path: Path) -> None:
    # A line is one item, or a whole snapshot: its items are "line N, item M". One capture time, so the
    # file is not a history of the volume, and the second copy is reported.
    captured = "2026-12-01T09:00:00.000Z"
    snapshot = {"configurationItems": [volume(captured, True, "vol-0b2"), volume(captured, False)]}
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join([json.dumps(snapshot), "", json.dumps(volume(captured, True))]) + "\n")

    [duplicate] = import_files([str(path)]).report.duplicates

    assert duplicate.describe() == (
        f"{path}, line 3: {VOLUME_ARN} is also given at {path}, line 1, item 1 with other content, and the copy at "
        f"{path}, line 3 is judged because it is read later, and both copies have configurationItemCaptureTime "
        f"{captured}")


def test_aws_api_items_positions(tmp_path: Path) -> None:
    # BatchGetResourceConfig (`baseConfigurationItems`, recorded by boto3) and GetResourceConfigHistory items:
    # `configuration` is JSON text and the capture time is epoch seconds.
    def api_item(captured: float, encrypted: bool) -> dict[str, Any]:
        return {"version": "1.3", "accountId": "111122223333", "configurationItemStatus": "OK",
                "configurationItemCaptureTime": captured, "arn": VOLUME_ARN, "resourceType": "AWS::EC2::Volume",
                "resourceId": "vol-0a1", "awsRegion": "eu-west-1", "supplementaryConfiguration": {},
                "configuration": json.dumps({"volumeId": "vol-0a1", "encrypted": encrypted})}

    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps({"status_code": 200, "data": {"baseConfigurationItems": [
        api_item(1764579600.0, True)]}}))
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"configurationItems": [api_item(1738400400.0, False)]}))

    result = import_files([str(batch), str(history)])

    [duplicate] = result.report.duplicates
    assert duplicate.describe() == (
        f"{history}, item 0: {VOLUME_ARN} is also given at {batch}, item 0 with other content, and the copy at "
        f"{batch}, item 0 is judged because its configurationItemCaptureTime is newer (2025-12-01T09:00:00.000Z, "
        "against 2025-02-01T09:00:00.000Z)")
    assert result.collections[0].resources[0].configuration["encrypted"] is True


def test_aws_identical_copies_are_not_reported(tmp_path: Path) -> None:
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"configurationItems": [volume("2026-12-01T09:00:00.000Z", True)]}))
    second = tmp_path / "b.json"
    second.write_text(json.dumps({"configurationItems": [volume("2026-12-01T09:00:00.000Z", True)]}))

    result = import_files([str(first), str(second)])

    assert result.report.duplicates == []
    assert [resource.id for resource in result.collections[0].resources] == [
        "arn:aws:ec2:eu-west-1:111122223333:volume/vol-0a1"]


@pytest.mark.parametrize("current_first", [True, False])
def test_gcp_newest_update_time_is_judged(tmp_path: Path, rules: list[Rule], current_first: bool) -> None:
    # The bucket was made public on 2 December; an older export from January still shows it private.
    current = write_lines(tmp_path / "current.jsonl", bucket_lines("2026-12-02T08:00:00Z", public=True))
    old = write_lines(tmp_path / "january.jsonl", bucket_lines("2026-01-15T08:00:00Z", public=False))
    files = [current, old] if current_first else [old, current]

    assert statuses(files, rules, "gcp-storage-bucket-not-public") == ["FAIL"]
    # The resource content is the same in both exports: only the IAM policy differs.
    [duplicate] = import_files(files).report.duplicates
    later, earlier = (old, current) if current_first else (current, old)
    assert duplicate.describe() == (
        f"{later}, line 2: the iamPolicy of {BUCKET} is also given at {earlier}, line 2 with other content, and the "
        f"copy at {current}, line 2 is judged because its update_time is newer (2026-12-02T08:00:00Z, against "
        "2026-01-15T08:00:00Z)")


def test_gcp_equal_times_later_line(tmp_path: Path, rules: list[Rule]) -> None:
    private, public = bucket_lines("2026-12-01T08:00:00Z", public=False), bucket_lines("2026-12-01T08:00:00Z", True)
    path = write_lines(tmp_path / "export.jsonl", [*private, public[1]])

    assert statuses([path], rules, "gcp-storage-bucket-not-public") == ["FAIL"]
    [duplicate] = import_files([path]).report.duplicates
    assert duplicate.describe() == (
        f"{path}, line 3: the iamPolicy of {BUCKET} is also given at {path}, line 2 with other content, and the copy "
        f"at {path}, line 3 is judged because it is read later, and both copies have update_time "
        "2026-12-01T08:00:00Z")


@pytest.mark.parametrize("timed", ["earlier", "later", "neither"])
def test_gcp_missing_update_time_later_line(tmp_path: Path, timed: str) -> None:
    # Update times are compared only when both copies have one. Otherwise the later line wins, whichever has one.
    earlier, later = bucket_lines("2026-12-01T08:00:00Z", public=False)[1], bucket_lines("2026-12-02T08:00:00Z",
                                                                                          public=True)[1]
    for line, name in ((earlier, "earlier"), (later, "later")):
        if timed != name:
            del line["update_time"]
    first = write_lines(tmp_path / "first.jsonl", [bucket_lines("2026-12-01T08:00:00Z", public=False)[0], earlier])
    second = write_lines(tmp_path / "second.jsonl", [later])

    result = import_files([first, second])

    [duplicate] = result.report.duplicates
    assert duplicate.describe() == (
        f"{second}, line 1: the iamPolicy of {BUCKET} is also given at {first}, line 2 with other content, and the "
        f"copy at {second}, line 1 is judged because it is read later, and update_time is compared only when both "
        "copies have one")
    [bucket] = result.collections[0].resources
    assert bucket.supplementary["iamPolicy"]["bindings"][0]["members"] == ["allUsers"]


def test_gcp_streamed_policy_positions(tmp_path: Path, rules: list[Rule]) -> None:
    # An IAM_POLICY export is read before the resource content, and its parts wait: a policy given twice
    # there is reported while streaming, with the same positions as an import of the whole files.
    resource, private = bucket_lines("2026-12-01T08:00:00Z", public=False)
    public = bucket_lines("2026-12-02T08:00:00Z", public=True)[1]
    policies = write_lines(tmp_path / "policies.jsonl", [public, private])
    resources = write_lines(tmp_path / "resources.jsonl", [resource])

    scans = evaluate_files([resources, policies], rules)

    assert scans.streamed == {"gcp": True}
    expected = (f"{policies}, line 2: the iamPolicy of {BUCKET} is also given at {policies}, line 1 with other "
                f"content, and the copy at {policies}, line 1 is judged because its update_time is newer "
                "(2026-12-02T08:00:00Z, against 2026-12-01T08:00:00Z)")
    assert [issue.describe() for issue in scans.imported.report.duplicates] == [expected]
    assert [issue.describe() for issue in import_files([resources, policies]).report.duplicates] == [expected]


AZURE_ACCOUNT_ID = ("/subscriptions/00000000-0000-0000-0000-0000000000e1/resourceGroups/rg/providers/"
                    "Microsoft.Storage/storageAccounts/streports")
AZURE_LATER = "it is read later, and Azure items are not compared by time"


def storage_account(https_only: bool, name: str = "streports") -> dict[str, Any]:
    return {"id": AZURE_ACCOUNT_ID.replace("streports", name), "name": name,
            "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
            "properties": {"supportsHttpsTrafficOnly": https_only}}


def test_azure_later_item_is_judged_and_reported(tmp_path: Path) -> None:
    # Indented as `az` prints it. A one-line document is read as JSON lines, and its items are "line 1, item N".
    first = tmp_path / "first.json"
    first.write_text(json.dumps([storage_account(False, "stother"), storage_account(False)], indent=2))
    second = tmp_path / "second.json"
    second.write_text(json.dumps([storage_account(True)]))

    result = import_files([str(first), str(second)])

    [_, resource] = result.collections[0].resources
    assert resource.configuration["properties"]["supportsHttpsTrafficOnly"] is True
    [duplicate] = result.report.duplicates
    assert duplicate.describe() == (
        f"{second}, line 1, item 0: {AZURE_ACCOUNT_ID} is also given at {first}, item 1 with other content, and the "
        f"copy at {second}, line 1, item 0 is judged because {AZURE_LATER}")


def test_azure_table_row_and_line_positions(tmp_path: Path) -> None:
    # A Resource Graph table names its rows, and an `az resource show` line per resource names the line.
    columns = [{"name": name, "type": "string"} for name in ("id", "name", "type", "location", "properties")]
    rows = [[item["id"], item["name"], item["type"], item["location"], item["properties"]]
            for item in (storage_account(True, "stother"), storage_account(True))]
    table = tmp_path / "graph.json"
    table.write_text(json.dumps({"totalRecords": 2, "count": 2, "data": {"columns": columns, "rows": rows}}, indent=2))
    lines = write_lines(tmp_path / "show.jsonl", [storage_account(True, "stthird"), storage_account(False)])

    [duplicate] = import_files([str(table), lines]).report.duplicates

    assert duplicate.describe() == (
        f"{lines}, line 2: {AZURE_ACCOUNT_ID} is also given at {table}, row 1 with other content, and the copy at "
        f"{lines}, line 2 is judged because {AZURE_LATER}")


def test_azure_child_given_twice_positions(tmp_path: Path) -> None:
    # A storage account has one blob service: the later of two different copies is folded into it.
    def blob_service(days: int) -> dict[str, Any]:
        return {"id": f"{AZURE_ACCOUNT_ID}/blobServices/default", "name": "default",
                "type": "Microsoft.Storage/storageAccounts/blobServices",
                "properties": {"deleteRetentionPolicy": {"enabled": True, "days": days}}}

    path = write_lines(tmp_path / "children.jsonl", [blob_service(7), storage_account(True), blob_service(30)])

    result = import_files([path])

    [account] = result.collections[0].resources
    assert account.supplementary["blobServices"]["properties"]["deleteRetentionPolicy"]["days"] == 30
    [duplicate] = result.report.duplicates
    assert duplicate.describe() == (
        f"{path}, line 3: {AZURE_ACCOUNT_ID}/blobServices/default is also given at {path}, line 1 with other "
        f"content, and the copy at {path}, line 3 is judged because {AZURE_LATER}")


def test_aws_history_file_newest(tmp_path: Path, rules: list[Rule]) -> None:
    # A history file contains a resource's versions over time: the latest is its state now, so no conflict.
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"configurationItems": [volume("2025-02-01T09:00:00.000Z", False),
                                                       volume("2026-12-01T09:00:00.000Z", True)]}))

    assert statuses([str(path)], rules, "aws-ec2-volume-encrypted") == ["PASS"]
    report = import_files([str(path)]).report
    assert report.duplicates == []
    assert list(report.skipped.values()) == [1]


def test_aws_history_identical_versions_left_out(tmp_path: Path) -> None:
    # Versions that differ only in their capture time are older versions all the same: counted, not reported.
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"configurationItems": [volume("2025-02-01T09:00:00.000Z", True),
                                                       volume("2026-12-01T09:00:00.000Z", True),
                                                       volume("2025-06-01T09:00:00.000Z", True)]}))

    result = import_files([str(path)])

    assert result.report.duplicates == []
    assert result.report.skipped == {OLDER_VERSION_SKIPPED: 2}
    [resource] = result.collections[0].resources
    assert resource.collected_at == "2026-12-01T09:00:00.000Z"


def test_aws_identical_copies_of_files_not_counted(tmp_path: Path) -> None:
    # The same item in two files (overlapping exports) is no older version.
    for name in ("first.json", "second.json"):
        (tmp_path / name).write_text(json.dumps({"configurationItems": [volume("2026-12-01T09:00:00.000Z", True)]}))

    result = import_files([str(tmp_path)])

    assert result.report.duplicates == []
    assert result.report.skipped == {}


def _aws_files(folder: Path) -> list[str]:
    december = {"configurationItems": [volume("2026-12-01T09:00:00.000Z", True)]}
    (folder / "december.json").write_text(json.dumps(december))
    (folder / "february.json").write_text(json.dumps({"configurationItems": [
        volume("2025-02-01T09:00:00.000Z", False, "vol-0b2"), volume("2025-02-01T09:00:00.000Z", False)]}))
    return ["december.json", "february.json"]


def _azure_files(folder: Path) -> list[str]:
    (folder / "monday.json").write_text(json.dumps([storage_account(False)], indent=2))
    (folder / "tuesday.json").write_text(json.dumps([storage_account(True, "stother"), storage_account(True)],
                                                    indent=2))
    return ["monday.json", "tuesday.json"]


def _azure_child_files(folder: Path) -> list[str]:
    service = {"id": f"{AZURE_ACCOUNT_ID}/blobServices/default", "name": "default",
               "type": "Microsoft.Storage/storageAccounts/blobServices", "properties": {}}
    write_lines(folder / "children.jsonl", [storage_account(True), {**service, "properties": {"days": 7}},
                                            {**service, "properties": {"days": 30}}])
    return ["children.jsonl"]


def _gcp_files(folder: Path) -> list[str]:
    write_lines(folder / "current.jsonl", bucket_lines("2026-12-02T08:00:00Z", public=True))
    write_lines(folder / "january.jsonl", bucket_lines("2026-01-15T08:00:00Z", public=False))
    return ["january.jsonl", "current.jsonl"]


@pytest.mark.parametrize(("write", "expected"), [
    (_aws_files, f"february.json, item 1: {VOLUME_ARN} is also given at december.json, item 0 with other content, and "
                 "the copy at december.json, item 0 is judged because its configurationItemCaptureTime is newer "
                 "(2026-12-01T09:00:00.000Z, against 2025-02-01T09:00:00.000Z)"),
    (_azure_files, f"tuesday.json, item 1: {AZURE_ACCOUNT_ID} is also given at monday.json, item 0 with other "
                   f"content, and the copy at tuesday.json, item 1 is judged because {AZURE_LATER}"),
    (_azure_child_files, f"children.jsonl, line 3: {AZURE_ACCOUNT_ID}/blobServices/default is also given at "
                         "children.jsonl, line 2 with other content, and the copy at children.jsonl, line 3 is "
                         f"judged because {AZURE_LATER}"),
    (_gcp_files, f"current.jsonl, line 2: the iamPolicy of {BUCKET} is also given at january.jsonl, line 2 with "
                 "other content, and the copy at current.jsonl, line 2 is judged because its update_time is newer "
                 "(2026-12-02T08:00:00Z, against 2026-01-15T08:00:00Z)"),
], ids=["aws", "azure", "azure-child", "gcp"])
def test_scan_file_prints_both_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      write: Callable[[Path], list[str]], expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    files = write(tmp_path)

    result = CliRunner().invoke(main, ["scan", "file", *files, "--no-store", "-o", "out"])

    assert result.exit_code == 0, result.output
    printed = [line for line in result.output.splitlines() if line.startswith("given twice:")]
    assert printed == [f"given twice: {expected}"]


@pytest.mark.parametrize("location", [
    "item 0", "item 12", "line 40", "line 3, item 7", "row 5", "line 2, row 9", "", "line 01", "item x",
    "line 3,  7", " 5", "line 4294967296, item 3", "line 3, item 99999999999999999999", "line 3, item 2, row 4",
    "line \u0663",
])
def test_positions_give_back_locations(location: str) -> None:
    positions = Positions()
    # Other files and patterns before and after, so that each position must find its own.
    positions.add("first.json", "item 4")
    position = positions.add("second.jsonl", location)
    positions.add("second.jsonl", "item 5")

    assert positions.file(position) == "second.jsonl"
    assert positions.location(position) == location
    expected = f"second.jsonl, {location}" if location else "second.jsonl"
    assert positions.describe(position) == expected


def test_positions_store_nothing_per_item() -> None:
    # Positions of the usual forms keep only their patterns: 40,000 items of four files add no memory
    # beyond that, while their location strings would take over two megabytes.
    positions = Positions()
    positions.add("export-0.jsonl", "line 1")
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for number in range(2, 20_002):
            positions.add(f"export-{number % 3}.jsonl", f"line {number}")
            positions.add("graph.json", f"line 1, item {number}")
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()

    # Only what the code of Positions allocated counts: other threads of the test run may allocate too.
    in_positions = [tracemalloc.Filter(True, inspect.getfile(Positions))]
    grown = sum(stat.size_diff for stat in after.filter_traces(in_positions).compare_to(
        before.filter_traces(in_positions), "filename"))
    assert grown < 4096
    assert positions.describe(positions.add("export-2.jsonl", "line 20001")) == "export-2.jsonl, line 20001"
