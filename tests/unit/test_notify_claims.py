"""Outbox claims on SQLite and PostgreSQL: dispatchers that share one outbox send each row once.

Each test runs real dispatchers (in threads, or one in a child process that is killed) against one
database and a webhook receiver on 127.0.0.1 that counts the deliveries it accepted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.notify import Dispatcher, Notification, RetryPolicy, WebhookNotifier
from ridgeline.store import schema
from ridgeline.store.database import OUTBOX_DELIVERED, OUTBOX_PENDING, OutboxRow, Store
from ridgeline.store.leases import utc_text

ACCOUNT = "123456789012"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LEASE = timedelta(seconds=2)
REPO = Path(__file__).resolve().parents[2]


class CountingReceiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1 that counts, per notification id, the deliveries it acknowledged with 200.

    Requests to /fail-first get HTTP 503 the first time. Requests to /hang get no answer until `release`
    is set, as from a receiver that stalls.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CountingHandler)
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.paths: dict[str, Counter[str]] = {}
        self.hanging = threading.Event()
        self.release = threading.Event()
        self.failed_first = False

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def accept(self, path: str, ids: list[str]) -> int:
        """Return the status of the response to a POST to `path`, counting the ids when it is 200."""
        if path == "/hang":
            self.hanging.set()
            self.release.wait(60)
            return 503
        with self.lock:
            if path == "/fail-first" and not self.failed_first:
                self.failed_first = True
                return 503
            self.accepted.update(ids)
            self.paths.setdefault(path, Counter()).update(ids)
        return 200


class _CountingHandler(BaseHTTPRequestHandler):
    server: CountingReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ids = [item["notification_id"] for item in json.loads(body)["notifications"]]
        status = self.server.accept(self.path, ids)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[CountingReceiver]:
    server = CountingReceiver()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def second_store(store: Store) -> Iterator[Store]:
    """Another connection pool on the same database, as a second watcher process would have."""
    opened = Store(store.url)
    yield opened
    opened.engine.dispose()


def make_notification(index: int) -> Notification:
    finding = Finding(rule_id="aws-s3-public-read", status=Status.FAIL, severity=Severity.HIGH,
                      category="storage-exposure", provider="aws", account=ACCOUNT, region="us-east-1",
                      resource_id=f"arn:aws:s3:::bucket-{index:04d}", resource_type="aws_s3_bucket",
                      resource_name=f"bucket-{index:04d}", message="The bucket policy allows public read.")
    return Notification(event="new", finding=finding, rule_title="S3 buckets block public read", when=WHEN,
                        scan_id="scan-1")


def write_unclaimed(store: Store, count: int) -> list[str]:
    """Store `count` pending rows for notifier webhook-1 that no watcher has claimed, as a stopped run leaves them."""
    writer = Dispatcher([WebhookNotifier("http://127.0.0.1:9/unused", name="webhook-1")], store=store)
    rows = writer.outbox_rows([make_notification(index) for index in range(count)], WHEN)
    store.save_finding_states([], outbox=rows)
    assert writer.close(timeout=10)
    assert {row.claimed_by for row in store.load_notifications()} == {None}
    return [row.notification_id for row in rows]


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not condition():
        if datetime.now(UTC) > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        threading.Event().wait(0.05)


def all_delivered(store: Store) -> bool:
    return all(row.state == OUTBOX_DELIVERED for row in store.load_notifications())


# The conditional UPDATE


def test_claim_conditions(store: Store) -> None:
    ids = write_unclaimed(store, 3)
    now = datetime.now(UTC)
    later = utc_text(now + timedelta(minutes=1))

    assert store.claim_notifications("webhook-1", ids[:2], "first", now=utc_text(now), expires_at=later) == set(ids[:2])
    # A live claim is not won by another instance, but renewed by its holder.
    assert store.claim_notifications("webhook-1", ids, "second", now=utc_text(now), expires_at=later) == {ids[2]}
    assert store.claim_notifications("webhook-1", ids[:1], "first", now=utc_text(now), expires_at=later) == {ids[0]}
    # After the lease, or when taking over from the holder, it is.
    after = utc_text(now + timedelta(minutes=2))
    assert store.claim_notifications("webhook-1", ids[:1], "second", now=after, expires_at=after) == {ids[0]}
    assert store.claim_notifications("webhook-1", ids[1:2], "third", now=utc_text(now), expires_at=later,
                                     taking_over_from="first") == {ids[1]}
    # Another notifier's rows, and rows that left pending, are never won.
    assert store.claim_notifications("webhook-2", ids, "second", now=after, expires_at=after) == set()
    store.mark_notifications_delivered("webhook-1", ids[2:], utc_text(now))
    assert store.claim_notifications("webhook-1", ids[2:], "third", now=after, expires_at=after) == set()

    holders = {row.notification_id: row.claimed_by for row in store.load_notifications()}
    assert holders == {ids[0]: "second", ids[1]: "third", ids[2]: "second"}


def test_claimable_rows(store: Store) -> None:
    ids = write_unclaimed(store, 3)
    now = datetime.now(UTC)
    live, gone = utc_text(now + timedelta(minutes=1)), utc_text(now - timedelta(seconds=1))
    store.claim_notifications("webhook-1", ids[:1], "live", now=utc_text(now), expires_at=live)
    store.claim_notifications("webhook-1", ids[1:2], "dead", now=utc_text(now), expires_at=gone)

    def claimable(instance: str, taking_over_from: str | None = None) -> list[str]:
        return [row.notification_id for row in store.load_notifications(
            states=[OUTBOX_PENDING], claimable_by=instance, now=utc_text(now), taking_over_from=taking_over_from)]

    assert claimable("other") == ids[1:]
    assert claimable("other", taking_over_from="live") == ids
    # An instance's own rows are queued there already, so it does not take them again.
    assert claimable("live") == ids[1:]
    assert store.release_notification_claims("live") == 1
    assert claimable("other") == ids


def test_failed_row_loses_its_claim(store: Store) -> None:
    ids = write_unclaimed(store, 2)
    now = datetime.now(UTC)
    store.claim_notifications("webhook-1", ids, "first", now=utc_text(now), expires_at=utc_text(now + LEASE))

    store.record_notification_failure("webhook-1", ids, "HTTP 500", final=True, claimant="second")
    store.record_notification_failure("webhook-1", ids[:1], "HTTP 500", final=True, claimant="first")

    rows = {row.notification_id: row for row in store.load_notifications()}
    assert (rows[ids[0]].state, rows[ids[0]].claimed_by, rows[ids[0]].attempts) == ("failed", None, 1)
    assert (rows[ids[1]].state, rows[ids[1]].claimed_by, rows[ids[1]].attempts) == (OUTBOX_PENDING, "first", 0)


# Two live dispatchers


def test_racing_recoveries_send_once(store: Store, second_store: Store, receiver: CountingReceiver,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Small batches make the two dispatchers claim the same rows at the same time, batch after batch.
    monkeypatch.setattr("ridgeline.notify.dispatch.RECOVERY_BATCH", 5)
    ids = write_unclaimed(store, 300)
    dispatchers = [Dispatcher([WebhookNotifier(receiver.url(f"/{name}"), name="webhook-1")], store=opened,
                              claim_lease=LEASE, instance_id=name)
                   for name, opened in (("first", store), ("second", second_store))]
    start = threading.Barrier(2)
    queued: dict[str, int] = {}

    def recover(dispatcher: Dispatcher) -> None:
        start.wait()
        queued[dispatcher.instance_id] = dispatcher.recover("aws", [ACCOUNT])

    threads = [threading.Thread(target=recover, args=(dispatcher,)) for dispatcher in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    wait_for(lambda: all_delivered(store), 60, "every row delivered")
    for dispatcher in dispatchers:
        assert dispatcher.close(timeout=10)

    assert sum(queued.values()) == len(ids), f"rows queued by both dispatchers: {queued}"
    assert sorted(receiver.accepted) == sorted(ids)
    assert set(receiver.accepted.values()) == {1}, "a notification was delivered twice"
    rows = store.load_notifications()
    assert {row.claimed_by for row in rows} <= {"first", "second"}
    for name in ("first", "second"):
        sent_here = set(receiver.paths.get(f"/{name}", Counter()))
        assert sent_here == {row.notification_id for row in rows if row.claimed_by == name}


def test_expired_claimer_sends_nothing_after_takeover(store: Store, second_store: Store,
                                                      receiver: CountingReceiver,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The first dispatcher cannot renew its claims (as if cut off from the database), and its first attempt
    # fails, so it waits before its retry while its claims expire.
    def cut_off(*_args: Any) -> int:
        raise sqlalchemy.exc.OperationalError("UPDATE notification_outbox", {}, Exception("connection lost"))

    monkeypatch.setattr(second_store, "renew_notification_claims", cut_off)
    first = Dispatcher([WebhookNotifier(receiver.url("/fail-first"), name="webhook-1")], store=second_store,
                       claim_lease=LEASE, instance_id="first",
                       retry=RetryPolicy(attempts=2, base_delay=LEASE.total_seconds() * 2, jitter=0))
    items = [make_notification(index) for index in range(20)]
    rows = first.outbox_rows(items)
    second_store.save_finding_states([], outbox=rows)
    first.submit(items)

    second = Dispatcher([WebhookNotifier(receiver.url("/second"), name="webhook-1")], store=store,
                        claim_lease=LEASE, instance_id="second")
    assert second.recover("aws", [ACCOUNT]) == 0, "a live claim was taken"
    wait_for(lambda: all_delivered(store), 30, "the rows taken over and delivered")
    assert first.close(timeout=30)
    assert second.close(timeout=10)

    ids = [row.notification_id for row in rows]
    assert sorted(receiver.accepted) == sorted(ids)
    assert set(receiver.accepted.values()) == {1}, "the first dispatcher sent rows another one had taken over"
    assert set(receiver.paths) == {"/second"}
    assert first.stats.taken_over == len(ids)
    assert first.stats.sent == 0
    assert {row.claimed_by for row in store.load_notifications()} == {"second"}


class GatedRecorder:
    """A notifier that records what it is sent, and blocks its first send until `gate` is set."""

    name = "webhook-1"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.sent: list[str] = []

    def send(self, batch: Sequence[Notification]) -> None:
        self.gate.wait(30)
        self.sent.extend(item.id for item in batch)


def test_dropped_batch_taken_by_sweep(store: Store) -> None:
    notifier = GatedRecorder()
    dispatcher = Dispatcher([notifier], store=store, queue_size=1, claim_lease=LEASE, instance_id="only")
    assert dispatcher.recover("aws", [ACCOUNT]) == 0
    batches = [[make_notification(index)] for index in range(3)]
    for batch in batches:
        store.save_finding_states([], outbox=dispatcher.outbox_rows(batch))

    # The first batch blocks the worker, the second fills the queue, and the third is dropped.
    assert dispatcher.submit(batches[0]) == 1
    wait_for(lambda: dispatcher._queue.empty(), 10, "the worker to take the first batch")
    assert dispatcher.submit(batches[1]) == 1
    assert dispatcher.submit(batches[2]) == 0
    dropped = batches[2][0].id
    wait_for(lambda: {row.notification_id: row.claimed_by for row in store.load_notifications()}[dropped] is None,
             10, "the dropped row's claim released")
    notifier.gate.set()
    wait_for(lambda: all_delivered(store), 10, "the dropped row taken by a sweep and delivered")
    assert dispatcher.close(timeout=10)

    assert sorted(notifier.sent) == sorted(batch[0].id for batch in batches)
    assert dispatcher.stats.dropped == 1
    assert dispatcher.stats.recovered == 1
    assert {row.claimed_by for row in store.load_notifications()} == {"only"}


# A claimer killed in the middle of a send

CHILD = """
import sys, time
from datetime import timedelta
from ridgeline.notify import Dispatcher, RetryPolicy, WebhookNotifier
from ridgeline.store.database import Store

url, hook = sys.argv[1:3]
dispatcher = Dispatcher([WebhookNotifier(hook, name="webhook-1", timeout=120)], store=Store(url),
                        claim_lease=timedelta(seconds=2), instance_id="killed", retry=RetryPolicy(attempts=1))
print(dispatcher.recover("aws", ["123456789012"]), flush=True)
time.sleep(120)
"""


def test_killed_claimer_rows_taken_over(store: Store, receiver: CountingReceiver, tmp_path: Path) -> None:
    ids = write_unclaimed(store, 40)
    script = tmp_path / "claimer.py"
    script.write_text(CHILD)
    child = subprocess.Popen([sys.executable, str(script), store.url, receiver.url("/hang")], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    try:
        assert receiver.hanging.wait(60), "the child never started to send"
        assert {row.claimed_by for row in store.load_notifications()} == {"killed"}
    finally:
        child.send_signal(signal.SIGKILL)
        output = child.communicate(timeout=10)[0].decode()
    killed_at = utc_text()
    last_expiry = max(row.claim_expires_at or "" for row in store.load_notifications())
    assert output.splitlines()[0] == str(len(ids)), output

    taker = Dispatcher([WebhookNotifier(receiver.url("/taker"), name="webhook-1")], store=store,
                       claim_lease=LEASE, instance_id="taker")
    assert taker.recover("aws", [ACCOUNT]) == 0, "the claims were taken before their lease ended"
    wait_for(lambda: all_delivered(store), 30, "the killed claimer's rows taken over")
    assert taker.close(timeout=10)

    assert last_expiry > killed_at
    rows = store.load_notifications()
    assert {row.claimed_by for row in rows} == {"taker"}
    assert min(row.delivered_at or "" for row in rows) > last_expiry, "a row was taken before its claim expired"
    assert sorted(receiver.accepted) == sorted(ids)
    assert set(receiver.accepted.values()) == {1}
    assert taker.stats.recovered == len(ids)


# A database from before the claims


def test_old_outbox_gains_claim_columns(store: Store) -> None:
    old = sqlalchemy.MetaData()
    columns = [sqlalchemy.Column(column.name, column.type, primary_key=column.primary_key, nullable=column.nullable)
               for column in schema.notification_outbox.columns
               if column.name not in schema.ADDED_COLUMNS["notification_outbox"]]
    old_outbox = sqlalchemy.Table("notification_outbox", old, *columns)
    with store.engine.begin() as connection:
        connection.execute(sqlalchemy.text("DROP TABLE notification_outbox"))
        connection.execute(sqlalchemy.text("DROP TABLE watcher_leases"))
    old.create_all(store.engine)
    item = make_notification(1)
    with store.engine.begin() as connection:
        connection.execute(sqlalchemy.insert(old_outbox).values(
            notification_id=item.id, notifier="webhook-1", finding_id=item.finding.id, event="new", provider="aws",
            account=ACCOUNT, scan_id="scan-1", document=json.dumps(item.document()), state=OUTBOX_PENDING,
            created_at=utc_text(WHEN), attempts=0))

    upgraded = Store(store.url)
    try:
        names = {column["name"] for column in sqlalchemy.inspect(upgraded.engine).get_columns("notification_outbox")}
        assert {"claimed_by", "claim_expires_at"} <= names
        assert sqlalchemy.inspect(upgraded.engine).has_table("watcher_leases")
        [row] = upgraded.load_notifications()
        assert isinstance(row, OutboxRow)
        assert (row.notification_id, row.claimed_by, row.claim_expires_at) == (item.id, None, None)
        # Opening it again finds the columns and adds nothing.
        Store(store.url).engine.dispose()
    finally:
        upgraded.engine.dispose()
