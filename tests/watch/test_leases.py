"""The watcher lease on SQLite and PostgreSQL, and `ridgeline watch aws` processes that share one database."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.notify import Dispatcher, Notification, WebhookNotifier
from ridgeline.store.database import OUTBOX_DELIVERED, Store
from ridgeline.store.leases import LeaseRecord, insert_lease, read_lease, utc_text
from ridgeline.watch.lease import LeaseHeld, WatcherLease, lease_scope
from tests.conftest import AwsAccount
from tests.watch.conftest import ACCOUNT, REGION, WebhookReceiver, _WebhookHandler, wait_until

RIDGELINE = Path(sys.executable).parent / "ridgeline"
SCOPE = "account 123456789012; regions us-east-1; services s3"
DURATION = 2.0
"""Seconds of the leases in these tests: heartbeats every 0.5 s."""


def make_lease(store: Store, name: str, **options: bool) -> WatcherLease:
    return WatcherLease(store, "aws", SCOPE, instance_id=name, duration=DURATION, **options)


@pytest.fixture
def leases() -> Iterator[list[WatcherLease]]:
    """Leases a test took; released afterwards so that no heartbeat thread outlives the test."""
    taken: list[WatcherLease] = []
    yield taken
    for lease in taken:
        lease.release()


def holder(store: Store) -> str | None:
    record = read_lease(store, "aws", SCOPE)
    return record.instance_id if record is not None else None


# The lease on its own


def test_free_lease_taken_and_released(any_store: Store) -> None:
    lease = make_lease(any_store, "first")

    assert lease.acquire(threading.Event())
    record = read_lease(any_store, "aws", SCOPE)
    assert record is not None
    assert (record.instance_id, record.host, record.pid, record.started_at) == (
        "first", socket.gethostname(), os.getpid(), lease.started_at)
    assert record.expires_at > record.heartbeat_at
    assert lease.taken_over is None

    lease.release()
    assert read_lease(any_store, "aws", SCOPE) is None


def test_live_holder_refuses_second(any_store: Store, leases: list[WatcherLease],
                                    caplog: pytest.LogCaptureFixture) -> None:
    first = make_lease(any_store, "first")
    leases.append(first)
    assert first.acquire(threading.Event())
    first.start_heartbeat(lambda _holder: None)

    started = time.monotonic()
    with pytest.raises(LeaseHeld) as raised:
        make_lease(any_store, "second").acquire(threading.Event())

    # The second watcher saw a heartbeat (every 0.5 s) and did not wait for the end of the lease.
    assert time.monotonic() - started < DURATION
    message = str(raised.value)
    assert f"instance first (host {socket.gethostname()}, pid {os.getpid()}, started {first.started_at}" in message
    assert "--standby" in message
    assert "--take-over-lease" in message
    assert raised.value.holder.instance_id == "first"
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any(f"held by another watcher on this database: instance first (host {socket.gethostname()}, pid "
               f"{os.getpid()}" in warning for warning in warnings), warnings
    assert holder(any_store) == "first"


def test_expired_lease_taken_over(any_store: Store, leases: list[WatcherLease]) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    dead = LeaseRecord(provider="aws", scope=SCOPE, instance_id="dead", host="old-host", pid=4242,
                       started_at=utc_text(past), heartbeat_at=utc_text(past),
                       expires_at=utc_text(past + timedelta(seconds=DURATION)))
    assert insert_lease(any_store, dead)

    lease = make_lease(any_store, "second")
    leases.append(lease)
    assert lease.acquire(threading.Event())

    assert lease.taken_over == dead
    assert holder(any_store) == "second"


def test_silent_holder_waited_out(any_store: Store, leases: list[WatcherLease]) -> None:
    # A holder that took the lease and then died: no heartbeat renews it.
    assert make_lease(any_store, "killed").acquire(threading.Event())

    started = time.monotonic()
    lease = make_lease(any_store, "second")
    leases.append(lease)
    assert lease.acquire(threading.Event())

    assert 1.0 < time.monotonic() - started < DURATION + 1.5
    assert lease.taken_over is not None
    assert lease.taken_over.instance_id == "killed"


def test_forced_take_over_stops_holder(any_store: Store, leases: list[WatcherLease]) -> None:
    first = make_lease(any_store, "first")
    leases.append(first)
    assert first.acquire(threading.Event())
    lost = threading.Event()
    first.start_heartbeat(lambda _holder: lost.set())

    second = make_lease(any_store, "second", take_over=True)
    leases.append(second)
    assert second.acquire(threading.Event())

    assert second.taken_over is not None
    assert second.taken_over.instance_id == "first"
    assert lost.wait(DURATION), "the first holder did not notice the take-over"
    assert not first.held
    assert first.lost_to is not None
    assert first.lost_to.instance_id == "second"
    first.release()
    assert holder(any_store) == "second", "the old holder deleted the new holder's lease"


def test_standby_waits_for_release(any_store: Store, leases: list[WatcherLease]) -> None:
    first = make_lease(any_store, "first")
    leases.append(first)
    assert first.acquire(threading.Event())
    first.start_heartbeat(lambda _holder: None)
    standby = make_lease(any_store, "standby", standby=True)
    leases.append(standby)
    acquired = threading.Event()
    thread = threading.Thread(target=lambda: standby.acquire(threading.Event()) and acquired.set(), daemon=True)
    thread.start()

    assert not acquired.wait(DURATION * 1.5), "the standby took a lease that was renewed"
    assert holder(any_store) == "first"
    first.release()

    assert acquired.wait(DURATION), "the standby did not take the released lease"
    assert holder(any_store) == "standby"
    assert standby.taken_over is None


def test_stop_ends_the_wait(any_store: Store, leases: list[WatcherLease]) -> None:
    first = make_lease(any_store, "first")
    leases.append(first)
    assert first.acquire(threading.Event())
    first.start_heartbeat(lambda _holder: None)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()

    assert not make_lease(any_store, "standby", standby=True).acquire(stop)
    assert holder(any_store) == "first"


def test_racing_starts_one_wins(any_store: Store, leases: list[WatcherLease]) -> None:
    # Two watchers start at the same moment on a free lease, each with its own connection pool.
    stores = [any_store, Store(any_store.url)]
    contenders = [make_lease(opened, name) for opened, name in zip(stores, ("left", "right"), strict=True)]
    leases.extend(contenders)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(lease: WatcherLease) -> None:
        start.wait()
        try:
            lease.acquire(threading.Event())
        except LeaseHeld as error:
            outcomes[lease.instance_id] = f"refused: held by {error.holder.instance_id}"
            return
        lease.start_heartbeat(lambda _holder: None)
        outcomes[lease.instance_id] = "held"

    threads = [threading.Thread(target=run, args=(lease,)) for lease in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    stores[1].engine.dispose()

    winner = holder(any_store)
    loser = "right" if winner == "left" else "left"
    assert outcomes == {winner: "held", loser: f"refused: held by {winner}"}


def test_long_scope_fits_the_column() -> None:
    long = "subscriptions " + ",".join(f"{index:08d}-0000-0000-0000-000000000000" for index in range(20))

    scope = lease_scope(long)
    assert len(scope) == 255
    assert scope.startswith("subscriptions 00000000-")
    assert scope != lease_scope(long.replace("00000019", "00000020"))
    assert lease_scope(SCOPE) == SCOPE


# `ridgeline watch aws` processes on one database


def watch_process(database: str, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """Start `ridgeline watch aws` (full scans only) on the emulator with a short lease."""
    command = [str(RIDGELINE), "watch", "aws", "--regions", REGION, "--services", "s3", "--database", database,
               "--lease-duration", "4s", *extra]
    handle: IO[bytes] = log.open("ab")
    return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=dict(os.environ))


def lease_pid(store: Store, scope: str = SCOPE) -> int | None:
    record = read_lease(store, "aws", scope)
    return record.pid if record is not None else None


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(30)


def test_second_watcher_exits_with_code_4(aws: AwsAccount, tmp_path: Path,
                                          processes: list[subprocess.Popen[bytes]]) -> None:
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    first = watch_process(database, tmp_path / "first.log")
    processes.append(first)
    wait_until(lambda: lease_pid(store) == first.pid, timeout=60, what="the first watcher's lease")

    second_log = tmp_path / "second.log"
    second = watch_process(database, second_log)
    processes.append(second)
    assert second.wait(30) == 4
    output = second_log.read_text()
    assert (f"another watcher of aws scope '{SCOPE}' is running on the same database: instance "
            in " ".join(output.split()))
    assert re.search(rf"host {re.escape(socket.gethostname())}, pid {first.pid}, started \d{{4}}-", output)
    assert "full scan starting" not in output

    assert first.poll() is None, "the first watcher stopped"
    assert lease_pid(store) == first.pid
    assert stop(first) == 0
    assert read_lease(store, "aws", SCOPE) is None, "a clean stop left the lease behind"
    store.engine.dispose()


def test_standby_takes_over_after_stop(aws: AwsAccount, tmp_path: Path,
                                       processes: list[subprocess.Popen[bytes]]) -> None:
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    first = watch_process(database, tmp_path / "first.log")
    processes.append(first)
    wait_until(lambda: lease_pid(store) == first.pid, timeout=60, what="the first watcher's lease")
    standby_log = tmp_path / "standby.log"
    standby = watch_process(database, standby_log, "--standby")
    processes.append(standby)
    wait_until(lambda: "waits in standby" in standby_log.read_text(), timeout=30, what="the standby to wait")

    # It keeps waiting while the first watcher renews its lease (every second).
    time.sleep(3)
    assert standby.poll() is None
    assert "full scan starting" not in standby_log.read_text()
    assert stop(first) == 0

    wait_until(lambda: lease_pid(store) == standby.pid, timeout=30, what="the standby to take the lease")
    wait_until(lambda: "full scan starting" in standby_log.read_text(), timeout=30, what="the standby's scan")
    assert stop(standby) == 0
    store.engine.dispose()


def test_take_over_lease_stops_live_holder(aws: AwsAccount, tmp_path: Path,
                                           processes: list[subprocess.Popen[bytes]]) -> None:
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    first_log = tmp_path / "first.log"
    first = watch_process(database, first_log)
    processes.append(first)
    wait_until(lambda: lease_pid(store) == first.pid, timeout=60, what="the first watcher's lease")

    second = watch_process(database, tmp_path / "second.log", "--take-over-lease")
    processes.append(second)
    assert first.wait(60) == 4
    output = " ".join(first_log.read_text().split())
    assert re.search(rf"stopped because instance \S+ \(host \S+, pid {second.pid},", output), output
    assert lease_pid(store) == second.pid
    assert stop(second) == 0
    store.engine.dispose()


def leftover_notifications(count: int) -> list[Notification]:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return [Notification(event="new", rule_title="S3 buckets block public read", when=when, scan_id="old-scan",
                         finding=Finding(rule_id="aws-s3-bucket-policy-public", status=Status.FAIL,
                                         severity=Severity.HIGH, category="storage-exposure", provider="aws",
                                         account=ACCOUNT, region="global", resource_id=f"arn:aws:s3:::gone-{index}",
                                         resource_type="AWS::S3::Bucket", resource_name=f"gone-{index}",
                                         message="The bucket policy allows public access."))
            for index in range(count)]


class _SlowHandler(_WebhookHandler):
    def do_POST(self) -> None:
        # A slow receiver keeps the first delivery in flight while the other watcher starts, so that both
        # find the rows pending.
        time.sleep(SLOW_ANSWER)
        super().do_POST()


SLOW_ANSWER = 5.0
"""Seconds the slow webhook receiver waits before it responds."""


@pytest.fixture
def slow_webhook() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    server.RequestHandlerClass = _SlowHandler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_two_watchers_deliver_leftovers_once(aws: AwsAccount, tmp_path: Path, slow_webhook: WebhookReceiver,
                                             processes: list[subprocess.Popen[bytes]]) -> None:
    # Two watchers of the same account with other scopes (their services differ), so both run and both
    # start by taking the notifications that a stopped run left in the outbox.
    webhook = slow_webhook
    database = f"sqlite:///{tmp_path / 'watch.db'}"
    store = Store(database)
    writer = Dispatcher([WebhookNotifier(webhook.url, name="webhook-1")], store=store)
    rows = writer.outbox_rows(leftover_notifications(60))
    store.save_finding_states([], outbox=rows)
    assert writer.close(timeout=10)

    logs = [tmp_path / "s3.log", tmp_path / "s3-kms.log"]
    for log, services in zip(logs, ("s3", "s3,kms"), strict=True):
        process = watch_process(database, log, "--services", services, "--webhook", webhook.url)
        processes.append(process)
    wait_until(lambda: all(row.state == OUTBOX_DELIVERED for row in store.load_notifications()), timeout=90,
               what="every leftover notification delivered")
    for process in processes:
        assert stop(process) == 0

    for log in logs:
        assert "took the lease of aws scope 'account 123456789012; regions us-east-1; services" in log.read_text()
    received = Counter(item["notification_id"] for item in webhook.notifications)
    leftover_ids = {row.notification_id for row in rows}
    assert leftover_ids <= set(received)
    assert {item: count for item, count in received.items() if count > 1} == {}, "a notification was sent twice"
    store.engine.dispose()
