"""Notifiers and the dispatcher, against HTTP and SMTP servers that the tests run on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.notify import (
    DeliveryError,
    Dispatcher,
    EmailNotifier,
    Notification,
    RetryPolicy,
    SlackNotifier,
    StdoutNotifier,
    WebhookNotifier,
    slack_escape,
)

FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SECRET = "s3cr3t-token-value"


def make_notification(event: str = "new", severity: Severity = Severity.HIGH, name: str = "public-bucket",
                      resource_id: str = "arn:aws:s3:::public-bucket") -> Notification:
    finding = Finding(rule_id="aws-s3-public-read", status=Status.FAIL, severity=severity,
                      category="storage-exposure", provider="aws", account="123456789012", region="us-east-1",
                      resource_id=resource_id, resource_type="aws_s3_bucket", resource_name=name,
                      message="The bucket policy allows public read.", evidence={"Policy.Principal": "*"})
    return Notification(event=event, finding=finding, rule_title="S3 buckets block public read",  # type: ignore[arg-type]
                        when=WHEN)


class RecordingHandler(BaseHTTPRequestHandler):
    """Record every POST, and fail the first `server.failures` of them with HTTP 500."""

    server: RecordingServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append((dict(self.headers), body))
            failing = len(self.server.requests) <= self.server.failures
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class RecordingServer(ThreadingHTTPServer):
    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        self.failures = failures
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


def serve_http(failures: int) -> Iterator[RecordingServer]:
    server = RecordingServer(failures)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def flaky_server() -> Iterator[RecordingServer]:
    yield from serve_http(failures=2)


@pytest.fixture
def http_server() -> Iterator[RecordingServer]:
    yield from serve_http(failures=0)


def test_webhook_retries_then_delivers(flaky_server: RecordingServer, caplog: pytest.LogCaptureFixture) -> None:
    notification = make_notification()
    notifier = WebhookNotifier(flaky_server.url, secret_header="X-Ridgeline-Secret", secret=SECRET)
    dispatcher = Dispatcher([notifier], retry=FAST_RETRY)

    with caplog.at_level(logging.DEBUG, logger="ridgeline.notify"):
        assert dispatcher.submit([notification]) == 1
        assert dispatcher.close(timeout=10)

    assert len(flaky_server.requests) == 3
    headers, body = flaky_server.requests[-1]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Ridgeline-Secret"] == SECRET
    document = json.loads(body)
    assert len(document["notifications"]) == 1
    sent = document["notifications"][0]
    assert sent["event"] == "new"
    assert sent["finding_id"] == notification.finding.id
    assert sent["rule_title"] == "S3 buckets block public read"
    assert sent["severity"] == "high"
    assert sent["resource_name"] == "public-bucket"
    assert sent["when"] == "2026-01-02T03:04:05+00:00"
    assert sent["evidence"] == {"Policy.Principal": "*"}

    stats = dispatcher.stats
    assert stats.sent == 1
    assert stats.retried == 2
    assert stats.failed == 0

    failures = [record for record in caplog.records if "attempt" in record.getMessage()]
    assert len(failures) == 2
    assert all("webhook" in record.getMessage() for record in failures)
    assert all(notification.finding.id in record.getMessage() for record in failures)
    assert SECRET not in caplog.text


def test_webhook_drops_after_last_attempt(caplog: pytest.LogCaptureFixture) -> None:
    server = RecordingServer(failures=100)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        notification = make_notification()
        retry = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
        dispatcher = Dispatcher([WebhookNotifier(server.url, name="siem")], retry=retry)
        with caplog.at_level(logging.WARNING, logger="ridgeline.notify"):
            dispatcher.submit([notification])
            assert dispatcher.close(timeout=10)
    finally:
        server.shutdown()
        server.server_close()

    assert len(server.requests) == 3
    stats = dispatcher.stats
    assert stats.sent == 0
    assert stats.retried == 2
    assert stats.failed == 1
    dropped = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(dropped) == 1
    assert "siem" in dropped[0].getMessage()
    assert notification.finding.id in dropped[0].getMessage()


def test_webhook_unreachable_raises() -> None:
    # Bind and close a socket to get a local port that nothing listens on.
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        port = probe.server_address[1]
    notifier = WebhookNotifier(f"http://127.0.0.1:{port}/", timeout=2)

    with pytest.raises(DeliveryError, match="POST to webhook failed"):
        notifier.send([make_notification()])


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1:8080"])
def test_webhook_rejects_non_http_url(url: str) -> None:
    with pytest.raises(ValueError, match="invalid webhook URL scheme"):
        WebhookNotifier(url)


def test_webhook_repr_hides_secret() -> None:
    notifier = WebhookNotifier("http://127.0.0.1:1/?token=abc", secret_header="X-Secret", secret=SECRET)

    assert SECRET not in repr(notifier)
    assert "token=abc" not in repr(notifier)


@pytest.mark.parametrize(("raw", "escaped"), [
    ("plain", "plain"),
    ("<!channel>", "&lt;!channel&gt;"),
    ("<https://evil.example|click>", "&lt;https://evil.example|click&gt;"),
    ("a & b", "a &amp; b"),
    ("&lt;", "&amp;lt;"),
])
def test_slack_escape(raw: str, escaped: str) -> None:
    assert slack_escape(raw) == escaped


def test_slack_message_escapes_resource(http_server: RecordingServer) -> None:
    hostile = "<!channel> <https://evil.example|login> & more"
    notification = make_notification(name=hostile, resource_id="arn:aws:s3:::<b>")
    SlackNotifier(http_server.url).send([notification])

    assert len(http_server.requests) == 1
    headers, body = http_server.requests[0]
    assert headers["Content-Type"] == "application/json"
    text = json.loads(body)["text"]
    assert "<" not in text
    assert ">" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|login&gt; &amp; more" in text
    assert "[high]" in text
    assert "aws-s3-public-read" in text
    assert "S3 buckets block public read" in text
    assert "*NEW*" in text


def test_slack_message_caps_lines(http_server: RecordingServer) -> None:
    batch = [make_notification(resource_id=f"arn:aws:s3:::bucket-{index}") for index in range(60)]
    SlackNotifier(http_server.url).send(batch)

    text = json.loads(http_server.requests[0][1])["text"]
    lines = text.split("\n")
    assert len(lines) == 51
    assert lines[-1] == "... and 10 more finding changes"


@pytest.mark.parametrize(("min_severity", "events", "expected"), [
    (Severity.INFORMATIONAL, ("new", "reopened", "resolved"), 5),
    (Severity.HIGH, ("new", "reopened", "resolved"), 2),
    (Severity.CRITICAL, ("new", "reopened", "resolved"), 1),
    (Severity.LOW, ("resolved",), 1),
    (Severity.INFORMATIONAL, ("new", "reopened"), 4),
])
def test_dispatcher_filters(min_severity: Severity, events: tuple[Any, ...], expected: int) -> None:
    batch = [
        make_notification("new", Severity.CRITICAL),
        make_notification("reopened", Severity.HIGH),
        make_notification("new", Severity.MEDIUM),
        make_notification("resolved", Severity.LOW),
        make_notification("new", Severity.INFORMATIONAL),
    ]
    stream = io.StringIO()
    dispatcher = Dispatcher([StdoutNotifier(stream)], min_severity=min_severity, events=events, retry=FAST_RETRY)

    assert dispatcher.submit(batch) == expected
    assert dispatcher.close(timeout=10)
    assert len(stream.getvalue().splitlines()) == expected
    assert dispatcher.stats.sent == expected


def test_dispatcher_rejects_unknown_event() -> None:
    with pytest.raises(ValueError, match="invalid events"):
        Dispatcher([], events=["changed"])  # type: ignore[list-item]


def test_dispatcher_full_queue_drops_without_blocking() -> None:
    release = threading.Event()

    class BlockingNotifier:
        name = "blocking"

        def send(self, batch: Any) -> None:
            release.wait(10)

    dispatcher = Dispatcher([BlockingNotifier()], queue_size=1, retry=FAST_RETRY)
    accepted = [dispatcher.submit([make_notification()]) for _ in range(5)]
    release.set()

    assert dispatcher.close(timeout=10)
    # The worker takes one batch off the queue, one waits in it, and the rest are dropped.
    assert sum(accepted) in (1, 2)
    assert dispatcher.stats.dropped == 5 - sum(accepted)
    assert dispatcher.stats.sent == sum(accepted)


def test_dispatcher_after_close_drops() -> None:
    dispatcher = Dispatcher([StdoutNotifier(io.StringIO())])
    assert dispatcher.close(timeout=10)

    assert dispatcher.submit([make_notification()]) == 0
    assert dispatcher.stats.dropped == 1


def test_stdout_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    batch = [make_notification("new"), make_notification("resolved", Severity.LOW, resource_id="arn:aws:s3:::b2")]
    StdoutNotifier().send(batch)

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "new"
    assert first["finding_id"] == batch[0].finding.id
    assert second["event"] == "resolved"
    assert second["severity"] == "low"
    assert second["resource_id"] == "arn:aws:s3:::b2"


class SmtpHandler(socketserver.StreamRequestHandler):
    """The SMTP subset that smtplib uses for EHLO, AUTH PLAIN, MAIL, RCPT, DATA and QUIT."""

    server: SmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 127.0.0.1 test SMTP ready")
        sender, recipients = "", []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-127.0.0.1")
                self.reply("250 AUTH PLAIN")
            elif verb == "AUTH":
                _, _, credentials = base64.b64decode(command.split()[2]).decode().split("\x00")
                self.server.logins.append(command.split()[2])
                self.reply("235 accepted" if credentials == "right" else "535 rejected")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip()
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append((sender, list(recipients), data))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[str] = []


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_email_one_message_per_batch(smtp_server: SmtpServer) -> None:
    port = smtp_server.server_address[1]
    notifier = EmailNotifier("127.0.0.1", port, "ridgeline@example.com", ["sec@example.com", "ops@example.com"],
                             username="ridgeline", password="right", timeout=5)
    batch = [make_notification("new"), make_notification("resolved", resource_id="arn:aws:s3:::other")]
    dispatcher = Dispatcher([notifier], retry=FAST_RETRY)

    dispatcher.submit(batch)
    assert dispatcher.close(timeout=10)

    assert dispatcher.stats.sent == 2
    assert len(smtp_server.messages) == 1
    sender, recipients, data = smtp_server.messages[0]
    assert sender == "<ridgeline@example.com>"
    assert recipients == ["<sec@example.com>", "<ops@example.com>"]
    assert len(smtp_server.logins) == 1
    message: Message = message_from_bytes(data)
    assert message["Subject"] == "[Ridgeline] 2 finding changes: 1 new, 1 resolved"
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode()
    assert batch[0].finding.id in text
    assert batch[1].finding.id in text
    assert "arn:aws:s3:::other" in text


def test_email_login_rejected_raises(smtp_server: SmtpServer) -> None:
    port = smtp_server.server_address[1]
    notifier = EmailNotifier("127.0.0.1", port, "ridgeline@example.com", ["sec@example.com"],
                             username="ridgeline", password="wrong-password", timeout=5)

    with pytest.raises(DeliveryError, match="SMTPAuthenticationError") as caught:
        notifier.send([make_notification()])
    assert "wrong-password" not in str(caught.value)
    assert smtp_server.messages == []
