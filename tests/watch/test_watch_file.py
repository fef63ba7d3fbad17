"""`ridgeline watch file`: a folder of AWS Config exports, imported again when a file changes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.cli.watch import parse_duration
from ridgeline.model.finding import finding_id
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.store.database import Store
from ridgeline.watch.backends import ImportBackend
from ridgeline.watch.files import FolderSource, import_folder, parse_file_message
from ridgeline.watch.watcher import Watcher, WatchSettings
from tests.watch.conftest import wait_until

ACCOUNT = "111122223333"
RULE = "aws-ec2-volume-encrypted"


def volume_item(volume: str, encrypted: bool) -> dict[str, object]:
    return {"configurationItemVersion": "1.3", "awsAccountId": ACCOUNT, "configurationItemStatus": "OK",
            "resourceType": "AWS::EC2::Volume", "resourceId": volume, "resourceName": volume,
            "ARN": f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{volume}", "awsRegion": "us-east-1", "tags": {},
            "relationships": [], "configuration": {"volumeId": volume, "encrypted": encrypted},
            "supplementaryConfiguration": {}}


def write_export(path: Path, *items: dict[str, object]) -> None:
    path.write_text(json.dumps({"fileVersion": "1.0", "configurationItems": list(items)}))


def volume_state(store: Store, volume: str) -> str | None:
    wanted = finding_id(RULE, f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{volume}", "us-east-1")
    states = [state.state for state in store.load_finding_states("aws", [ACCOUNT]) if state.finding_id == wanted]
    return states[0] if states else None


def test_changed_and_deleted_files_are_applied(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    write_export(folder / "a.json", volume_item("vol-a", encrypted=False))
    write_export(folder / "b.json", volume_item("vol-b", encrypted=False))
    store = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    backend = ImportBackend("aws", lambda: import_folder(folder))
    watcher = Watcher(backend, store, load_builtin_rules(), source=FolderSource(folder, poll_interval=0.1),
                      parser=parse_file_message,
                      settings=WatchSettings(coalesce_window=0.1, receive_wait=0.5, full_scan_interval=3600))
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: volume_state(store, "vol-a") == "new", what="the initial import")
        assert volume_state(store, "vol-b") == "new"

        write_export(folder / "a.json", volume_item("vol-a", encrypted=True))
        wait_until(lambda: volume_state(store, "vol-a") == "resolved", what="the fixed volume to resolve")
        assert volume_state(store, "vol-b") == "new"

        (folder / "b.json").unlink()
        wait_until(lambda: volume_state(store, "vol-b") == "resolved", what="the deleted file's volume to resolve")
    finally:
        watcher.stop()
        thread.join(30)
    assert watcher.metrics.value("ridgeline_watch_events_processed_total") == 2
    store.engine.dispose()


def test_durations() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("24h") == 86400
    assert parse_duration("1.5d") == 129600
    result = CliRunner().invoke(main, ["watch", "aws", "--full-scan-interval", "soon"])
    assert result.exit_code == 2
    assert "invalid duration 'soon'" in result.output
