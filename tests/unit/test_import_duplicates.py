"""A resource given more than once: the newest copy is judged, and different copies are reported.

Exports made at different times, or overlapping ones, hold the same resource twice. AWS Config items carry
their capture time and Cloud Asset Inventory lines their update time: the newer copy wins whatever the
order of the files. Resource Graph rows carry no time, so the later item wins. Copies with other content are
listed as `duplicates` in the import report; identical copies are not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import import_files
from ridgeline.pipeline import evaluate_files
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule

BUCKET = "//storage.googleapis.com/shared-reports"


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return load_builtin_rules()


def volume(captured: str, encrypted: bool) -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": captured,
            "configurationItemStatus": "OK", "resourceType": "AWS::EC2::Volume", "resourceId": "vol-0a1",
            "awsAccountId": "111122223333", "awsRegion": "eu-west-1",
            "ARN": "arn:aws:ec2:eu-west-1:111122223333:volume/vol-0a1", "tags": {}, "relationships": [],
            "supplementaryConfiguration": {}, "configuration": {"volumeId": "vol-0a1", "encrypted": encrypted}}


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
    # Two snapshots of different days, read in either order.
    newest = tmp_path / "december.json"
    newest.write_text(json.dumps({"configurationItems": [volume("2026-12-01T09:00:00.000Z", True)]}))
    oldest = tmp_path / "february.json"
    oldest.write_text(json.dumps({"configurationItems": [volume("2025-02-01T09:00:00.000Z", False)]}))
    files = [str(newest), str(oldest)] if newest_first else [str(oldest), str(newest)]

    assert statuses(files, rules, "aws-ec2-volume-encrypted") == ["PASS"]
    report = import_files(files).report
    assert len(report.duplicates) == 1
    assert "captured 2026-12-01T09:00:00" in report.duplicates[0].message


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
    duplicates = import_files(files).report.duplicates
    assert [issue.message.split(": ", 1)[1].split(" is also")[0] for issue in duplicates] == ["iamPolicy"]


def test_gcp_equal_times_later_line(tmp_path: Path, rules: list[Rule]) -> None:
    private, public = bucket_lines("2026-12-01T08:00:00Z", public=False), bucket_lines("2026-12-01T08:00:00Z", True)
    path = write_lines(tmp_path / "export.jsonl", [*private, public[1]])

    assert statuses([path], rules, "gcp-storage-bucket-not-public") == ["FAIL"]
    [duplicate] = import_files([path]).report.duplicates
    assert duplicate.location == "line 3"
    assert "the one judged is from this line" in duplicate.message


def test_azure_later_item_is_judged_and_reported(tmp_path: Path) -> None:
    account = {"id": "/subscriptions/00000000-0000-0000-0000-0000000000e1/resourceGroups/rg/providers/"
                     "Microsoft.Storage/storageAccounts/streports",
               "name": "streports", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope",
               "properties": {"supportsHttpsTrafficOnly": False}}
    later = json.loads(json.dumps(account))
    later["properties"]["supportsHttpsTrafficOnly"] = True
    first = tmp_path / "first.json"
    first.write_text(json.dumps([account]))
    second = tmp_path / "second.json"
    second.write_text(json.dumps([later]))

    result = import_files([str(first), str(second)])

    [resource] = result.collections[0].resources
    assert resource.configuration["properties"]["supportsHttpsTrafficOnly"] is True
    [duplicate] = result.report.duplicates
    assert duplicate.file == str(second)
    assert f"also given in {first}" in duplicate.message


def test_aws_history_file_newest(tmp_path: Path, rules: list[Rule]) -> None:
    # A history file contains a resource's versions over time: the latest is its state now, so no conflict.
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"configurationItems": [volume("2025-02-01T09:00:00.000Z", False),
                                                       volume("2026-12-01T09:00:00.000Z", True)]}))

    assert statuses([str(path)], rules, "aws-ec2-volume-encrypted") == ["PASS"]
    report = import_files([str(path)]).report
    assert report.duplicates == []
    assert list(report.skipped.values()) == [1]
