"""The `ridgeline watch aws` process: killed mid-batch and restarted, and stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from ridgeline.history.snapshot import increment_info
from ridgeline.model.finding import finding_id
from ridgeline.store.database import Store
from tests.conftest import AwsAccount
from tests.watch.conftest import (
    PUBLIC_POLICY_RULE,
    REGION,
    bucket_event,
    public_policy,
    state_of,
    wait_until,
)

RIDGELINE = Path(sys.executable).parent / "ridgeline"
BUCKETS = [f"kill-{index:02d}" for index in range(12)]


def watch_process(database: str, queue_url: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `ridgeline watch aws` on the emulator (the environment of the `aws` fixture)."""
    command = [str(RIDGELINE), "watch", "aws", "--queue-url", queue_url, "--regions", REGION, "--services", "s3",
               "--database", database, "--wait-time", "1", "--visibility-timeout", "3",
               # A short lease, so that a run after a SIGKILL takes the dead run's lease over within seconds.
               "--lease-duration", "3s", *extra]
    handle: IO[bytes] = log.open("ab")
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=dict(os.environ))


def queue_counts(aws: AwsAccount, queue_url: str) -> tuple[int, int]:
    """Return the (visible, in flight) message counts of the queue."""
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_killed_mid_batch_loses_nothing(aws: AwsAccount, queue_url: str, tmp_path: Path,
                                        processes: list[subprocess.Popen[bytes]]) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    for name in BUCKETS:
        s3.create_bucket(Bucket=name)
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    log = tmp_path / "watch.log"

    # A long coalescing window keeps the taken messages in flight, not stored, when the kill comes.
    first = watch_process(database, queue_url, log, "--coalesce-window", "4s")
    processes.append(first)
    wait_until(lambda: store.list_scans(), timeout=120, what="the initial full scan")
    for name in BUCKETS:
        s3.put_bucket_policy(Bucket=name, Policy=public_policy(name))
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", name))
    wait_until(lambda: queue_counts(aws, queue_url) == (0, len(BUCKETS)), what="every message taken")
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    findings = [finding_id(PUBLIC_POLICY_RULE, f"arn:aws:s3:::{name}", REGION) for name in BUCKETS]
    assert all(state_of(store, finding) is None for finding in findings), "the kill came after the store"
    assert not [scan for scan in store.list_scans() if increment_info(scan)]

    # The restarted watcher starts from the stored scan; SQS hands the messages out again.
    second = watch_process(database, queue_url, log, "--no-initial-scan", "--coalesce-window", "0.2s")
    processes.append(second)
    wait_until(lambda: all(state_of(store, finding) is not None for finding in findings), timeout=60,
               what="every finding after the restart")
    wait_until(lambda: queue_counts(aws, queue_url) == (0, 0), what="every message deleted")
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0

    assert len(store.list_scans()) >= 2
    assert len([scan for scan in store.list_scans() if not increment_info(scan)]) == 1, "no second full scan"
    rows = [state for state in store.load_finding_states("aws", [aws.account_id]) if state.rule_id ==
            PUBLIC_POLICY_RULE]
    assert sorted(state.finding_id for state in rows) == sorted(findings)
    assert {state.state for state in rows} == {"new"}
    for scan in store.list_scans():
        ids = [finding.id for finding in store.load_findings(scan.id)]
        assert len(ids) == len(set(ids)), f"scan {scan.id} stores a finding twice"
    store.engine.dispose()


def test_sigterm_releases_messages_in_flight(aws: AwsAccount, queue_url: str, tmp_path: Path,
                                             processes: list[subprocess.Popen[bytes]]) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="data")
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    log = tmp_path / "watch.log"
    process = watch_process(database, queue_url, log, "--coalesce-window", "30s")
    processes.append(process)
    wait_until(lambda: store.list_scans(), timeout=120, what="the initial full scan")

    sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", "data"))
    wait_until(lambda: queue_counts(aws, queue_url) == (0, 1), what="the message taken")
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0

    # Released at once rather than after the 3 s visibility timeout, and not applied.
    assert queue_counts(aws, queue_url) == (1, 0)
    assert not [scan for scan in store.list_scans() if increment_info(scan)]
    output = log.read_text()
    assert "received SIGTERM" in output
    assert "released 1 message(s)" in output
    assert "watcher stopped" in output
    store.engine.dispose()
