"""An AWS Config item recording a deletion takes part in choosing a resource's newest item.

When the newest item of a resource is ResourceDeleted or ResourceDeletedNotRecorded, the resource is left
out of the scan, so no older item of it is judged. A deletion older than an OK item (the resource was
created again) leaves the OK item to be judged. Times compare as for two OK items: a deletion with a capture
time wins over an item without one, and of equal times the item read later wins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.imports.collection import OLDER_VERSION_SKIPPED, import_files
from ridgeline.pipeline import evaluate_files
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store

ACCOUNT = "111122223333"
DELETED_ARN = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/vol-h8"
KEPT_ARN = f"arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/vol-k9"
ENCRYPTION_RULE = "aws-ec2-volume-encrypted"


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return load_builtin_rules()


def volume(captured: str, encrypted: bool, volume_id: str = "vol-h8") -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": captured,
            "configurationItemStatus": "OK", "resourceType": "AWS::EC2::Volume", "resourceId": volume_id,
            "awsAccountId": ACCOUNT, "awsRegion": "eu-west-1",
            "ARN": f"arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/{volume_id}", "tags": {}, "relationships": [],
            "supplementaryConfiguration": {}, "configuration": {"volumeId": volume_id, "encrypted": encrypted}}


def deleted(captured: str, status: str = "ResourceDeleted", volume_id: str = "vol-h8") -> dict[str, Any]:
    # A deletion item: the resource's identity and status, with a null configuration.
    return {"configurationItemVersion": "1.3", "configurationItemCaptureTime": captured,
            "configurationItemStatus": status, "resourceType": "AWS::EC2::Volume", "resourceId": volume_id,
            "awsAccountId": ACCOUNT, "awsRegion": "eu-west-1",
            "ARN": f"arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/{volume_id}", "tags": {}, "relationships": [],
            "supplementaryConfiguration": {}, "configuration": None}


def write_items(path: Path, items: list[dict[str, Any]]) -> str:
    path.write_text(json.dumps({"configurationItems": items}))
    return str(path)


def findings(files: list[str], rules: list[Rule]) -> dict[str, str]:
    scans = evaluate_files(files, rules)
    return {finding.resource_id: finding.status.value for result in scans.results for finding in result.findings
            if finding.rule_id == ENCRYPTION_RULE}


def resource_ids(files: list[str]) -> list[str]:
    return sorted(resource.id for collection in import_files(files).collections for resource in collection.resources)


@pytest.mark.parametrize("status", ["ResourceDeleted", "ResourceDeletedNotRecorded"])
@pytest.mark.parametrize("deletion_last", [True, False])
def test_history_newest_deleted_left_out(tmp_path: Path, rules: list[Rule], status: str,
                                         deletion_last: bool) -> None:
    # Another volume keeps the collection from being empty.
    items = [volume("2026-11-01T09:00:00.000Z", False), volume("2026-11-02T09:00:00.000Z", False),
             volume("2026-11-01T09:00:00.000Z", True, "vol-k9")]
    deletion = deleted("2026-12-01T09:00:00.000Z", status)
    files = [write_items(tmp_path / "history.json", [*items, deletion] if deletion_last else [deletion, *items])]

    result = import_files(files)

    assert resource_ids(files) == [KEPT_ARN]
    assert findings(files, rules) == {KEPT_ARN: "PASS"}
    assert result.report.skipped == {status: 1, OLDER_VERSION_SKIPPED: 2}
    assert result.report.duplicates == []


def test_history_only_deleted_resource(tmp_path: Path, rules: list[Rule]) -> None:
    files = [write_items(tmp_path / "history.json", [volume("2026-11-01T09:00:00.000Z", False),
                                                     deleted("2026-12-01T09:00:00.000Z")])]

    result = import_files(files)

    assert result.collections == []
    assert findings(files, rules) == {}
    assert result.report.skipped == {"ResourceDeleted": 1, OLDER_VERSION_SKIPPED: 1}


@pytest.mark.parametrize("snapshot_first", [True, False])
def test_newer_file_deletion_left_out(tmp_path: Path, rules: list[Rule], snapshot_first: bool) -> None:
    snapshot = write_items(tmp_path / "snapshot.json", [volume("2026-11-01T09:00:00.000Z", False),
                                                        volume("2026-11-01T09:00:00.000Z", True, "vol-k9")])
    history = write_items(tmp_path / "history.json", [deleted("2026-12-01T09:00:00.000Z")])
    files = [snapshot, history] if snapshot_first else [history, snapshot]

    result = import_files(files)

    assert resource_ids(files) == [KEPT_ARN]
    assert findings(files, rules) == {KEPT_ARN: "PASS"}
    # The snapshot's item is no older version of a history file, and a deletion is no copy with other content.
    assert result.report.skipped == {"ResourceDeleted": 1}
    assert result.report.duplicates == []


@pytest.mark.parametrize("one_file", [True, False])
@pytest.mark.parametrize("deletion_first", [True, False])
def test_recreated_after_deletion_judged(tmp_path: Path, rules: list[Rule], one_file: bool,
                                         deletion_first: bool) -> None:
    deletion = deleted("2026-11-01T09:00:00.000Z")
    recreated = volume("2026-12-01T09:00:00.000Z", False)
    order = [deletion, recreated] if deletion_first else [recreated, deletion]
    if one_file:
        files = [write_items(tmp_path / "history.json", order)]
    else:
        files = [write_items(tmp_path / f"file-{index}.json", [item]) for index, item in enumerate(order)]

    result = import_files(files)

    [resource] = result.collections[0].resources
    assert resource.id == DELETED_ARN
    assert resource.collected_at == "2026-12-01T09:00:00.000Z"
    assert findings(files, rules) == {DELETED_ARN: "FAIL"}
    # The deletion item is counted under its status only, never also as an older version.
    assert result.report.skipped == {"ResourceDeleted": 1}


@pytest.mark.parametrize("one_file", [True, False])
@pytest.mark.parametrize(("deletion_last", "judged"), [(True, False), (False, True)])
def test_equal_capture_times_later_read_wins(tmp_path: Path, rules: list[Rule], one_file: bool,
                                             deletion_last: bool, judged: bool) -> None:
    # The rule of two OK items with equal times: the item read later decides.
    items = [volume("2026-12-01T09:00:00.000Z", False), deleted("2026-12-01T09:00:00.000Z")]
    order = items if deletion_last else items[::-1]
    if one_file:
        files = [write_items(tmp_path / "history.json", order)]
    else:
        files = [write_items(tmp_path / f"file-{index}.json", [item]) for index, item in enumerate(order)]

    result = import_files(files)

    assert resource_ids(files) == ([DELETED_ARN] if judged else [])
    assert findings(files, rules) == ({DELETED_ARN: "FAIL"} if judged else {})
    assert result.report.skipped == {"ResourceDeleted": 1}
    assert result.report.duplicates == []


@pytest.mark.parametrize("deletion_timed", [True, False])
def test_capture_time_beats_none(tmp_path: Path, deletion_timed: bool) -> None:
    # An item with a capture time wins over one without, although it is read first, as for two OK items.
    deletion = deleted("2026-12-01T09:00:00.000Z")
    item = volume("2026-11-01T09:00:00.000Z", False)
    del (item if deletion_timed else deletion)["configurationItemCaptureTime"]
    files = [write_items(tmp_path / "first.json", [deletion]), write_items(tmp_path / "second.json", [item])]

    assert resource_ids(files) == ([] if deletion_timed else [DELETED_ARN])


def test_resource_not_recorded_keeps_older_item(tmp_path: Path) -> None:
    # ResourceNotRecorded means that recording stopped, not that the resource is gone, so only that item is left out.
    not_recorded = {**deleted("2026-12-01T09:00:00.000Z"), "configurationItemStatus": "ResourceNotRecorded"}
    files = [write_items(tmp_path / "history.json", [volume("2026-11-01T09:00:00.000Z", False), not_recorded])]

    result = import_files(files)

    assert resource_ids(files) == [DELETED_ARN]
    assert result.report.skipped == {"ResourceNotRecorded": 1}


def test_scan_file_resolves_deleted_finding(tmp_path: Path) -> None:
    # A stored FAIL of the volume resolves once a later import records the volume's deletion.
    database = f"sqlite:///{tmp_path / 'scans.db'}"
    snapshot = write_items(tmp_path / "snapshot.json", [volume("2026-11-01T09:00:00.000Z", False),
                                                        volume("2026-11-01T09:00:00.000Z", True, "vol-k9")])
    history = write_items(tmp_path / "history.json", [volume("2026-11-01T09:00:00.000Z", False),
                                                      deleted("2026-12-01T09:00:00.000Z"),
                                                      volume("2026-12-01T09:00:00.000Z", True, "vol-k9")])
    outputs = []
    for path in (snapshot, history):
        result = CliRunner().invoke(main, ["scan", "file", path, "--database", database,
                                           "--output-dir", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)

    assert "vol-h8 is not encrypted" in outputs[0]
    assert "vol-h8" not in outputs[1]
    assert "ResourceDeleted (1)" in outputs[1]
    store = Store(database)
    latest = store.list_scans()[0]
    states = {state.resource_id: state.state for state in store.load_finding_states("aws", latest.accounts)
              if state.rule_id == ENCRYPTION_RULE}
    assert states[DELETED_ARN] == "resolved"
