"""The notification outbox of the watcher: stored with the life cycle, and delivered after a crash."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

import pytest
import sqlalchemy

from ridgeline.history.lifecycle import plan_lifecycle, save_lifecycle
from ridgeline.model.finding import Finding, Severity, Status, finding_id
from ridgeline.model.scan import Coverage
from ridgeline.notify import Dispatcher, Notification, RetryPolicy
from ridgeline.notify.model import notification_id
from ridgeline.rules.model import Rule
from ridgeline.store.database import OUTBOX_DELIVERED, OUTBOX_PENDING, OutboxRow, Store, StoredScan
from ridgeline.watch.backends import Backend
from ridgeline.watch.watcher import Watcher
from tests.conftest import AwsAccount
from tests.watch.conftest import (
    ACCOUNT,
    PUBLIC_POLICY_RULE,
    REGION,
    WebhookReceiver,
    bucket_event,
    public_policy,
    start_watcher,
    state_of,
    wait_until,
)

RIDGELINE = Path(sys.executable).parent / "ridgeline"
BUCKET = "arn:aws:s3:::data"


# The transaction, on SQLite and PostgreSQL






class Recorder:
    """A notifier that keeps what it is sent."""

    name = "recorder"

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, batch: Sequence[Notification]) -> None:
        self.sent.extend(batch)


class IdleBackend:
    """Just enough of a backend for calling the watcher's life-cycle step directly."""

    provider = "aws"
    accounts = [ACCOUNT]
    regions = ["us-east-1"]
    supports_refresh = True


@pytest.fixture
def rule(builtin_rules: list[Rule]) -> Rule:
    """The built-in public bucket policy rule, whose findings the tests below move through their life cycle."""
    return next(item for item in builtin_rules if item.id == PUBLIC_POLICY_RULE)


def make_watcher(store: Store, notifier: Recorder, rule: Rule) -> tuple[Watcher, Dispatcher]:
    dispatcher = Dispatcher([notifier], retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01), store=store)
    return Watcher(cast(Backend, IdleBackend()), store, [rule], dispatcher=dispatcher), dispatcher


def make_scan(number: int) -> StoredScan:
    return StoredScan(id=f"scan-{number}", provider="aws", started_at=f"2026-03-0{number}T10:00:00+00:00",
                      finished_at=f"2026-03-0{number}T10:05:00.000000+00:00", accounts=[ACCOUNT],
                      regions=["us-east-1"], complete=True, api_calls=1, duration_s=1.0, options={})


def bucket_finding(status: Status) -> Finding:
    return Finding(rule_id=PUBLIC_POLICY_RULE, status=status, severity=Severity.HIGH, category="storage-exposure",
                   provider="aws",
                   account=ACCOUNT, region="global", resource_id=BUCKET, resource_type="AWS::S3::Bucket",
                   resource_name="data", message="m")


COVERAGE = [Coverage(provider="aws", account=ACCOUNT, region="global", service="s3")]


def fail_inserts_into(store: Store, table: str) -> None:
    """Make every INSERT into `table` fail, as a full disk or a lost connection would."""

    def fail(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
            raise sqlalchemy.exc.OperationalError(statement, {}, Exception("simulated failure"))

    sqlalchemy.event.listen(store.engine, "before_cursor_execute", fail)


def test_outbox_stored_with_states(any_store: Store, rule: Rule) -> None:
    notifier = Recorder()
    watcher, dispatcher = make_watcher(any_store, notifier, rule)

    update = watcher._update_lifecycle(make_scan(1), [bucket_finding(Status.FAIL)], COVERAGE, None, {})
    assert dispatcher.close(timeout=10)

    finding = bucket_finding(Status.FAIL).id
    assert update.new == [finding]
    assert [state.state for state in any_store.load_finding_states("aws", [ACCOUNT])] == ["new"]
    rows = any_store.load_notifications()
    expected = notification_id(finding, "new", "scan-1")
    assert [(row.notification_id, row.notifier, row.scan_id, row.state) for row in rows] == [
        (expected, "recorder", "scan-1", OUTBOX_DELIVERED)]
    assert rows[0].document["when"] == "2026-03-01T10:05:00+00:00"
    assert [item.id for item in notifier.sent] == [expected]


def test_failed_transaction_stores_neither(any_store: Store, rule: Rule) -> None:
    notifier = Recorder()
    watcher, dispatcher = make_watcher(any_store, notifier, rule)
    watcher._update_lifecycle(make_scan(1), [bucket_finding(Status.FAIL)], COVERAGE, None, {})
    wait_until(lambda: notifier.sent, timeout=10, what="the first notification")
    before = any_store.load_notifications()

    # The states are written first; the outbox insert after them fails, within the same transaction.
    fail_inserts_into(any_store, "notification_outbox")
    with pytest.raises(sqlalchemy.exc.OperationalError, match="simulated failure"):
        watcher._update_lifecycle(make_scan(2), [bucket_finding(Status.PASS)], COVERAGE, None, {})
    assert dispatcher.close(timeout=10)

    states = any_store.load_finding_states("aws", [ACCOUNT])
    assert [(state.state, state.last_scan_id) for state in states] == [("new", "scan-1")], "the resolve was kept"
    assert any_store.load_notifications() == before
    assert [item.event for item in notifier.sent] == ["new"], "a notification went out for a change not stored"


def test_duplicate_outbox_row_stores_neither(any_store: Store, rule: Rule) -> None:
    # A real constraint violation: the outbox row is already stored.
    dispatcher = Dispatcher([Recorder()], store=any_store)
    notification = Notification(event="new", finding=bucket_finding(Status.FAIL), rule_title="t",
                                when=datetime.now(UTC), scan_id="scan-1")
    row = dispatcher.outbox_rows([notification])[0]
    assert dispatcher.close(timeout=10)
    any_store.save_finding_states([], outbox=[row])

    planned = plan_lifecycle(any_store, make_scan(1), [bucket_finding(Status.FAIL)], COVERAGE, [rule])
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        save_lifecycle(any_store, make_scan(1), planned, [row])

    assert any_store.load_finding_states("aws", [ACCOUNT]) == []
    assert [stored.notification_id for stored in any_store.load_notifications()] == [row.notification_id]


def test_watcher_rejects_foreign_store(tmp_path: Path) -> None:
    first, second = Store(f"sqlite:///{tmp_path / 'a.db'}"), Store(f"sqlite:///{tmp_path / 'b.db'}")
    dispatcher = Dispatcher([Recorder()], store=second)
    try:
        with pytest.raises(ValueError, match="the watcher's store"):
            Watcher(cast(Backend, IdleBackend()), first, [], dispatcher=dispatcher)
    finally:
        dispatcher.close(timeout=10)
        first.engine.dispose()
        second.engine.dispose()


# The watcher on a thread, against the emulator


def outbox_rows_of(store: Store, finding: str) -> list[OutboxRow]:
    return [row for row in store.load_notifications() if row.finding_id == finding]


def test_watcher_notification_carries_outbox_id(aws: AwsAccount, store: Store, queue_url: str,
                                                 webhook: WebhookReceiver) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="data")
    running = start_watcher(aws, store, queue_url, webhook=webhook, durable=True)
    finding = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::data", REGION)
    try:
        s3.put_bucket_policy(Bucket="data", Policy=public_policy("data"))
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", "data"))
        received = wait_until(lambda: webhook.received(finding), what="the new notification")
        wait_until(lambda: [row.state for row in outbox_rows_of(store, finding)] == [OUTBOX_DELIVERED],
                   what="the outbox row marked delivered")
    finally:
        running.stop()

    row = outbox_rows_of(store, finding)[0]
    assert received[0]["notification_id"] == row.notification_id == notification_id(finding, "new", row.scan_id)
    assert received[0]["scan_id"] == row.scan_id
    assert row.attempts == 1
    assert row.notifier == "webhook"


# The `ridgeline watch aws` process, killed before it could deliver


def free_port() -> int:
    """Return a loopback port that nothing listens on (bound and released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def watch_process(database: str, queue_url: str, webhook_url: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `ridgeline watch aws` on the emulator with a webhook notifier."""
    command = [str(RIDGELINE), "watch", "aws", "--queue-url", queue_url, "--regions", REGION, "--services", "s3",
               "--database", database, "--wait-time", "1", "--visibility-timeout", "3", "--coalesce-window", "0.2s",
               "--webhook", webhook_url,
               # A short lease, so that a run after a SIGKILL takes the dead run's lease over within seconds.
               "--lease-duration", "3s", *extra]
    handle: IO[bytes] = log.open("ab")
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=dict(os.environ))


@pytest.fixture
def late_webhook() -> Iterator[list[WebhookReceiver]]:
    """Holds the webhook receiver a test starts late, and stops it afterwards."""
    started: list[WebhookReceiver] = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def serve_webhook(port: int, started: list[WebhookReceiver]) -> WebhookReceiver:
    server = WebhookReceiver(port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    started.append(server)
    return server


def test_notification_survives_kill(aws: AwsAccount, queue_url: str, tmp_path: Path,
                                    processes: list[subprocess.Popen[bytes]],
                                    late_webhook: list[WebhookReceiver]) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="data")
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    port = free_port()
    webhook_url = f"http://127.0.0.1:{port}/hook"
    finding = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::data", REGION)

    # First run: the webhook is down (connection refused), so the notification cannot go out.
    first = watch_process(database, queue_url, webhook_url, tmp_path / "first.log")
    processes.append(first)
    wait_until(lambda: store.list_scans(), timeout=120, what="the initial full scan")
    s3.put_bucket_policy(Bucket="data", Policy=public_policy("data"))
    sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", "data"))
    wait_until(lambda: state_of(store, finding), what="the finding's life cycle stored")
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    # The row was stored with the state. It is still pending, because the five attempts take at least 7.5 s
    # (delays of 1, 2, 4 and 8 s, shortened by at most half by the jitter).
    rows = outbox_rows_of(store, finding)
    assert [(row.event, row.notifier, row.state, row.delivered_at) for row in rows] == [
        ("new", "webhook-1", OUTBOX_PENDING, None)]
    stored_id = rows[0].notification_id
    assert stored_id == notification_id(finding, "new", rows[0].scan_id)
    # The kill may come before the first failed attempt is recorded.
    assert rows[0].last_error is None or "refused" in rows[0].last_error

    # Second run: the webhook is up, and the start delivers what the first run left.
    webhook = serve_webhook(port, late_webhook)
    second = watch_process(database, queue_url, webhook_url, tmp_path / "second.log", "--no-initial-scan")
    processes.append(second)
    received = wait_until(lambda: webhook.received(finding), timeout=60, what="the recovered notification")
    assert [(item["event"], item["notification_id"]) for item in received] == [("new", stored_id)]
    wait_until(lambda: [row.state for row in outbox_rows_of(store, finding)] == [OUTBOX_DELIVERED],
               what="the row marked delivered")
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0
    second_log = (tmp_path / "second.log").read_text()
    assert re.search(r"queued [1-9]\d* notification\(s\) left undelivered", second_log)
    assert "took over the lease of aws scope 'account 123456789012; regions us-east-1; services s3'" in second_log

    # Third run: nothing is pending, so nothing is sent again.
    third_log = tmp_path / "third.log"
    third = watch_process(database, queue_url, webhook_url, third_log, "--no-initial-scan")
    processes.append(third)
    wait_until(lambda: "starting from stored snapshot" in third_log.read_text(), timeout=60,
               what="the third run to start")
    third.send_signal(signal.SIGTERM)
    assert third.wait(30) == 0
    assert "nothing left undelivered by an earlier run" in third_log.read_text()

    assert [item["notification_id"] for item in webhook.received(finding)] == [stored_id]
    every_id = [item["notification_id"] for item in webhook.notifications]
    assert len(every_id) == len(set(every_id)), "a notification was delivered twice"
    row = outbox_rows_of(store, finding)[0]
    assert row.state == OUTBOX_DELIVERED
    assert row.attempts >= 1
    store.engine.dispose()
