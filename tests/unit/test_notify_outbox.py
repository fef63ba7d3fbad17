"""The durable dispatcher on SQLite and PostgreSQL: outbox rows delivered, failed, recovered and pruned."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.notify import DeliveryError, Dispatcher, Notification, RetryPolicy, StdoutNotifier, WebhookNotifier
from ridgeline.notify.model import notification_id
from ridgeline.notify.smtp import email_body
from ridgeline.store.database import OUTBOX_DELIVERED, OUTBOX_FAILED, OUTBOX_PENDING, OutboxRow, Store

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ACCOUNT = "123456789012"






def make_notification(bucket: str = "public-bucket", event: str = "new", severity: Severity = Severity.HIGH,
                      scan_id: str = "scan-1", account: str = ACCOUNT) -> Notification:
    finding = Finding(rule_id="aws-s3-public-read", status=Status.FAIL, severity=severity,
                      category="storage-exposure", provider="aws", account=account, region="us-east-1",
                      resource_id=f"arn:aws:s3:::{bucket}", resource_type="aws_s3_bucket", resource_name=bucket,
                      message="The bucket policy allows public read.", evidence={"Policy.Principal": "*"})
    return Notification(event=event, finding=finding, rule_title="S3 buckets block public read",  # type: ignore[arg-type]
                        when=WHEN, scan_id=scan_id)


class Recorder:
    """A notifier that records batches and fails the first `failures` sends."""

    def __init__(self, name: str = "recorder", failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.batches: list[list[Notification]] = []

    def send(self, batch: Sequence[Notification]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise DeliveryError(f"{self.name} is down")
        self.batches.append(list(batch))

    @property
    def ids(self) -> list[str]:
        return [item.id for batch in self.batches for item in batch]


def rows_by_id(store: Store) -> dict[tuple[str, str], OutboxRow]:
    return {(row.notification_id, row.notifier): row for row in store.load_notifications()}


def store_and_submit(dispatcher: Dispatcher, store: Store, notifications: list[Notification],
                     created_at: datetime | None = None) -> list[OutboxRow]:
    """Do what the watcher does: store the outbox rows (here without states), then submit."""
    rows = dispatcher.outbox_rows(notifications, created_at)
    store.save_finding_states([], outbox=rows)
    dispatcher.submit(notifications)
    return rows


# The notification id and document


def test_notification_id_stable() -> None:
    first = make_notification()
    again = make_notification()

    assert first.id == again.id == notification_id(first.finding.id, "new", "scan-1")
    assert len(first.id) == 32
    assert make_notification(event="resolved").id != first.id
    assert make_notification(scan_id="scan-2").id != first.id
    assert make_notification(bucket="other").id != first.id


def test_notification_id_without_scan() -> None:
    item = make_notification(scan_id="")

    assert item.id == notification_id(item.finding.id, "new", WHEN.isoformat())


def test_document_round_trip() -> None:
    item = make_notification()
    document = json.loads(json.dumps(item.document()))

    assert document["notification_id"] == item.id
    assert document["scan_id"] == "scan-1"
    rebuilt = Notification.from_document(document)
    assert rebuilt == item
    assert rebuilt.id == item.id


@pytest.mark.parametrize(("change", "message"), [
    ({"event": "changed"}, "invalid event"),
    ({"severity": "urgent"}, "urgent"),
    ({"notification_id": "0" * 32}, "does not match"),
    ({"rule_id": None, "when": 5}, "wrong type"),
])
def test_document_rejects_invalid(change: dict[str, Any], message: str) -> None:
    document = {**make_notification().document(), **change}

    with pytest.raises(ValueError, match=message):
        Notification.from_document(document)


def test_document_missing_field() -> None:
    document = make_notification().document()
    del document["rule_title"]

    with pytest.raises(ValueError, match="missing field 'rule_title'"):
        Notification.from_document(document)


def test_stdout_and_email_carry_the_id() -> None:
    item = make_notification()
    stream = io.StringIO()
    StdoutNotifier(stream).send([item])

    assert json.loads(stream.getvalue())["notification_id"] == item.id
    assert f"notification id: {item.id}" in email_body([item])


# Writing and delivering


def test_outbox_rows_per_notifier() -> None:
    dispatcher = Dispatcher([Recorder("a"), Recorder("b")], min_severity=Severity.HIGH, events=["new", "resolved"],
                            retry=FAST_RETRY)
    accepted = make_notification("one")
    low = make_notification("two", severity=Severity.LOW)
    reopened = make_notification("three", event="reopened")

    rows = dispatcher.outbox_rows([accepted, low, reopened], WHEN)
    dispatcher.close(timeout=10)

    assert [(row.notification_id, row.notifier) for row in rows] == [(accepted.id, "a"), (accepted.id, "b")]
    row = rows[0]
    assert (row.finding_id, row.event, row.provider, row.account, row.scan_id) == (
        accepted.finding.id, "new", "aws", ACCOUNT, "scan-1")
    assert row.document == accepted.document()
    assert row.created_at == "2026-01-02T03:04:05.000000+00:00"
    assert (row.state, row.attempts, row.last_error, row.delivered_at) == (OUTBOX_PENDING, 0, None, None)


def test_store_needs_distinct_notifier_names(store: Store) -> None:
    with pytest.raises(ValueError, match="each notifier needs its own name"):
        Dispatcher([Recorder("same"), Recorder("same")], store=store)


def test_delivered_rows_are_marked(store: Store) -> None:
    first, second = Recorder("first"), Recorder("second", failures=1)
    dispatcher = Dispatcher([first, second], retry=FAST_RETRY, store=store)
    batch = [make_notification("one"), make_notification("two")]

    store_and_submit(dispatcher, store, batch)
    assert dispatcher.close(timeout=10)

    rows = rows_by_id(store)
    assert len(rows) == 4
    assert {row.state for row in rows.values()} == {OUTBOX_DELIVERED}
    assert all(row.delivered_at for row in rows.values())
    assert {row.attempts for key, row in rows.items() if key[1] == "first"} == {1}
    # The second notifier failed once before it took the batch. Its attempts count records the retry, and
    # its error is cleared because the row needs no attention.
    assert {row.attempts for key, row in rows.items() if key[1] == "second"} == {2}
    assert {row.last_error for row in rows.values()} == {None}
    assert first.ids == second.ids == [item.id for item in batch]


def test_failed_rows_are_kept_and_logged(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Recorder("siem", failures=100)
    dispatcher = Dispatcher([notifier], retry=FAST_RETRY, store=store)
    item = make_notification()

    with caplog.at_level(logging.WARNING, logger="ridgeline.notify"):
        store_and_submit(dispatcher, store, [item])
        assert dispatcher.close(timeout=10)

    row = rows_by_id(store)[(item.id, "siem")]
    assert (row.state, row.attempts, row.last_error, row.delivered_at) == (OUTBOX_FAILED, 3, "siem is down", None)
    assert dispatcher.stats.failed == 1
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert item.finding.id in errors[0]
    assert "kept them in the outbox as failed" in errors[0]


def test_resent_failed_rows_lose_their_error(store: Store) -> None:
    writer = Dispatcher([Recorder("siem", failures=100)], retry=FAST_RETRY, store=store)
    item = make_notification()
    store_and_submit(writer, store, [item])
    assert writer.close(timeout=10)
    assert rows_by_id(store)[(item.id, "siem")].state == OUTBOX_FAILED

    # The reset from docs/monitoring.md, then a start whose notifier works again.
    with store.engine.begin() as connection:
        connection.execute(sqlalchemy.text("UPDATE notification_outbox SET state='pending', attempts=0, "
                                           "last_error=NULL WHERE state='failed'"))
    store.record_notification_failure("siem", [item.id], "siem is down", final=False)
    notifier = Recorder("siem")
    dispatcher = Dispatcher([notifier], retry=FAST_RETRY, store=store)
    assert dispatcher.recover("aws", [ACCOUNT]) == 1
    assert dispatcher.close(timeout=10)

    row = rows_by_id(store)[(item.id, "siem")]
    assert notifier.ids == [item.id]
    assert (row.state, row.attempts, row.last_error) == (OUTBOX_DELIVERED, 2, None)


def test_shutdown_timeout_leaves_rows_pending(store: Store) -> None:
    notifier = Recorder("slow", failures=100)
    dispatcher = Dispatcher([notifier], retry=RetryPolicy(attempts=5, base_delay=30, max_delay=30, jitter=0),
                            store=store)
    item = make_notification()

    store_and_submit(dispatcher, store, [item])
    assert not dispatcher.close(timeout=0.5)
    dispatcher._thread.join(10)

    row = rows_by_id(store)[(item.id, "slow")]
    assert (row.state, row.attempts, row.last_error) == (OUTBOX_PENDING, 1, "slow is down")


def test_unmarked_delivery_is_logged(store: Store, caplog: pytest.LogCaptureFixture,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> None:
        raise sqlalchemy.exc.OperationalError("UPDATE notification_outbox", {}, Exception("database is locked"))

    monkeypatch.setattr("ridgeline.notify.dispatch._STORE_TRIES", 1)
    monkeypatch.setattr(store, "mark_notifications_delivered", broken)
    notifier = Recorder("hook")
    dispatcher = Dispatcher([notifier], retry=FAST_RETRY, store=store)
    item = make_notification()

    with caplog.at_level(logging.WARNING, logger="ridgeline.notify"):
        store_and_submit(dispatcher, store, [item])
        assert dispatcher.close(timeout=10)

    assert notifier.ids == [item.id]
    assert rows_by_id(store)[(item.id, "hook")].state == OUTBOX_PENDING
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "were delivered but stay pending" in errors[0]
    assert item.finding.id in errors[0]


def test_dropped_batch_stays_pending(store: Store) -> None:
    dispatcher = Dispatcher([Recorder()], retry=FAST_RETRY, store=store)
    assert dispatcher.close(timeout=10)
    item = make_notification()

    store_and_submit(dispatcher, store, [item])

    assert dispatcher.stats.dropped == 1
    assert rows_by_id(store)[(item.id, "recorder")].state == OUTBOX_PENDING


# Recovery at start and pruning


def test_recover_queues_earlier_pending_rows(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    writer = Dispatcher([Recorder("hook"), Recorder("removed")], retry=FAST_RETRY, store=store)
    pending = make_notification("pending", scan_id="old")
    delivered = make_notification("delivered", scan_id="old")
    failed = make_notification("failed", scan_id="old")
    elsewhere = make_notification("elsewhere", scan_id="old", account="210987654321")
    rows = writer.outbox_rows([pending, delivered, failed, elsewhere], earlier)
    store.save_finding_states([], outbox=rows)
    writer.close(timeout=10)
    store.mark_notifications_delivered("hook", [delivered.id], earlier.isoformat())
    store.record_notification_failure("hook", [failed.id], "HTTP 500", final=True)
    # A row that a live dispatcher (another watcher) wrote and holds.
    live = Dispatcher([Recorder("hook")], retry=FAST_RETRY, store=store)
    current = make_notification("current", scan_id="new")
    store.save_finding_states([], outbox=live.outbox_rows([current]))

    hook = Recorder("hook")
    dispatcher = Dispatcher([hook], retry=FAST_RETRY, store=store)
    with caplog.at_level(logging.INFO, logger="ridgeline.notify"):
        assert dispatcher.recover("aws", [ACCOUNT]) == 1
    assert dispatcher.close(timeout=10)

    # Only the pending row of this account that no watcher has claimed, for a notifier this run has.
    assert [batch[0].document() for batch in hook.batches] == [pending.document()]
    assert dispatcher.stats.recovered == 1
    stored = rows_by_id(store)
    assert stored[(pending.id, "hook")].state == OUTBOX_DELIVERED
    assert stored[(pending.id, "removed")].state == OUTBOX_PENDING
    assert stored[(failed.id, "hook")].state == OUTBOX_FAILED
    assert stored[(current.id, "hook")].state == OUTBOX_PENDING
    assert stored[(current.id, "hook")].claimed_by == live.instance_id
    assert stored[(pending.id, "hook")].claimed_by == dispatcher.instance_id
    assert stored[(pending.id, "removed")].claimed_by is None
    assert live.close(timeout=10)
    assert stored[(elsewhere.id, "hook")].state == OUTBOX_PENDING
    assert any("notifier removed, which this run does not have" in record.getMessage()
               for record in caplog.records if record.levelno == logging.WARNING)


def test_recover_without_accounts(store: Store) -> None:
    items = [make_notification("one"), make_notification("two", account="210987654321")]
    writer = Dispatcher([Recorder("hook")], store=store)
    store.save_finding_states([], outbox=writer.outbox_rows(items, WHEN))
    writer.close(timeout=10)

    hook = Recorder("hook")
    dispatcher = Dispatcher([hook], retry=FAST_RETRY, store=store)
    assert dispatcher.recover("aws", []) == 2
    assert dispatcher.recover("azure", []) == 0
    assert dispatcher.close(timeout=10)

    assert sorted(hook.ids) == sorted(item.id for item in items)


def test_recover_in_batches(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ridgeline.notify.dispatch.RECOVERY_BATCH", 2)
    items = [make_notification(f"bucket-{index}") for index in range(5)]
    writer = Dispatcher([Recorder("hook")], store=store)
    store.save_finding_states([], outbox=writer.outbox_rows(items, WHEN))
    writer.close(timeout=10)

    hook = Recorder("hook")
    dispatcher = Dispatcher([hook], retry=FAST_RETRY, store=store)
    dispatcher.recover("aws", [ACCOUNT])
    assert dispatcher.close(timeout=10)

    assert [len(batch) for batch in hook.batches] == [2, 2, 1]


def test_unreadable_row_is_marked_failed(store: Store) -> None:
    item = make_notification()
    writer = Dispatcher([Recorder("hook")], store=store)
    row = writer.outbox_rows([item], WHEN)[0]
    row.document = {**row.document, "severity": "urgent"}
    store.save_finding_states([], outbox=[row])
    assert writer.close(timeout=10)

    hook = Recorder("hook")
    dispatcher = Dispatcher([hook], retry=FAST_RETRY, store=store)
    assert dispatcher.recover("aws", [ACCOUNT]) == 0
    assert dispatcher.close(timeout=10)

    stored = rows_by_id(store)[(item.id, "hook")]
    assert stored.state == OUTBOX_FAILED
    assert stored.last_error is not None and stored.last_error.startswith("unreadable row")
    assert hook.batches == []


def test_prune_old_delivered_only(store: Store) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    items = {name: make_notification(name) for name in ("old", "recent", "pending", "failed")}
    writer = Dispatcher([Recorder("hook")], store=store, retention=timedelta(days=30))
    store.save_finding_states([], outbox=writer.outbox_rows(items.values(), now - timedelta(days=60)))
    store.mark_notifications_delivered("hook", [items["old"].id], (now - timedelta(days=31)).isoformat())
    store.mark_notifications_delivered("hook", [items["recent"].id], (now - timedelta(days=29)).isoformat())
    store.record_notification_failure("hook", [items["failed"].id], "HTTP 500", final=True)

    assert writer.prune(now) == 1
    assert writer.close(timeout=10)

    left = {row.notification_id for row in store.load_notifications()}
    assert left == {items[name].id for name in ("recent", "pending", "failed")}


def test_dispatcher_without_store() -> None:
    dispatcher = Dispatcher([Recorder()], retry=FAST_RETRY)

    assert dispatcher.store is None
    assert dispatcher.recover("aws", [ACCOUNT]) == 0
    assert dispatcher.prune() == 0
    assert dispatcher.close(timeout=10)


def test_invalid_retention() -> None:
    with pytest.raises(ValueError, match="invalid outbox retention"):
        Dispatcher([], retention=timedelta(0))


class _Hook(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.documents.extend(json.loads(body)["notifications"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HookServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.documents: list[dict[str, Any]] = []


def test_webhook_receives_stored_id(store: Store) -> None:
    server = _HookServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        dispatcher = Dispatcher([WebhookNotifier(f"http://127.0.0.1:{server.server_address[1]}/hook")],
                                retry=FAST_RETRY, store=store)
        rows = store_and_submit(dispatcher, store, [make_notification()])
        assert dispatcher.close(timeout=10)
    finally:
        server.shutdown()
        server.server_close()

    assert [document["notification_id"] for document in server.documents] == [rows[0].notification_id]
    assert rows_by_id(store)[(rows[0].notification_id, "webhook")].state == OUTBOX_DELIVERED
