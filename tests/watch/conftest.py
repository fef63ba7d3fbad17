"""Fixtures of the watcher tests: an SQS queue in the emulator, a webhook receiver, CloudTrail event bodies."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ridgeline.store.database import FindingState, Store
from tests.conftest import AwsAccount

ACCOUNT = "123456789012"
REGION = "us-east-1"
PUBLIC_POLICY_RULE = "aws-s3-bucket-policy-public"


class WebhookReceiver(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that records the notifications POSTed to it."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _WebhookHandler)
        self.notifications: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def events(self, finding_id: str) -> list[str]:
        """Return the events ("new", "resolved", ...) notified for one finding, in order."""
        with self.lock:
            return [item["event"] for item in self.notifications if item["finding_id"] == finding_id]

    def received(self, finding_id: str) -> list[dict[str, Any]]:
        """Return the notification documents received for one finding, in order."""
        with self.lock:
            return [item for item in self.notifications if item["finding_id"] == finding_id]


class _WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.notifications.extend(json.loads(body)["notifications"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Collect the watcher processes a test starts, and kill those still running when it ends."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def queue_url(aws: AwsAccount) -> str:
    """A fresh SQS queue in the emulator."""
    sqs = aws.client("sqs")
    return str(sqs.create_queue(QueueName=f"ridgeline-events-{uuid.uuid4().hex[:8]}")["QueueUrl"])


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path / 'watch.db'}")
    yield opened
    opened.engine.dispose()


def cloudtrail_event(event_source: str, event_name: str, request: dict[str, Any] | None = None,
                     response: dict[str, Any] | None = None, *, account: str = ACCOUNT, region: str = REGION,
                     error_code: str | None = None) -> str:
    """Return an EventBridge event body for a CloudTrail management event, as EventBridge puts it on SQS."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": "deployer",
                         "arn": f"arn:aws:iam::{account}:user/deployer"},
        "eventTime": now,
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": response,
        "requestID": uuid.uuid4().hex,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code is not None:
        detail["errorCode"] = error_code
        detail["errorMessage"] = "Access Denied"
    envelope = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + event_source.split(".", 1)[0],
        "account": account,
        "time": now,
        "region": region,
        "resources": [],
        "detail": detail,
    }
    return json.dumps(envelope)


def bucket_event(event_name: str, bucket: str, **extra: Any) -> str:
    """Return the EventBridge body of an S3 bucket call on `bucket`."""
    return cloudtrail_event("s3.amazonaws.com", event_name, {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com",
                                                            **extra})


def public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def private_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "OwnAccount", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1, what: str = "") -> Any:
    """Return the first truthy value of `condition` within `timeout` seconds; fail the test otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


def state_of(store: Store, finding_id: str) -> FindingState | None:
    """Return the life-cycle row of a finding, or None."""
    states = [state for state in store.load_finding_states("aws", [ACCOUNT]) if state.finding_id == finding_id]
    assert len(states) <= 1, f"finding {finding_id} has {len(states)} life-cycle rows"
    return states[0] if states else None


class RunningWatcher:
    """A watcher running on a thread of the test process."""

    def __init__(self, watcher: Any, thread: threading.Thread) -> None:
        self.watcher = watcher
        self.thread = thread

    @property
    def metrics(self) -> Any:
        return self.watcher.metrics

    def stop(self) -> None:
        self.watcher.stop()
        self.thread.join(60)
        assert not self.thread.is_alive(), "the watcher did not stop within 60 s"


def start_watcher(aws: AwsAccount, store: Store, queue_url: str | None, *, webhook: WebhookReceiver | None = None,
                  services: tuple[str, ...] = ("s3",), durable: bool = False, **settings: Any) -> RunningWatcher:
    """Start a watcher of the emulated account on a thread; return once it takes events.

    `durable` gives the dispatcher the store, so notifications go through its outbox.
    """
    from ridgeline.model.finding import Severity
    from ridgeline.notify import Dispatcher, RetryPolicy, WebhookNotifier
    from ridgeline.providers.aws.scanner import AwsScanOptions
    from ridgeline.watch.aws import CloudTrailParser, SqsSource
    from ridgeline.watch.backends import AwsBackend
    from ridgeline.watch.watcher import Watcher, WatchSettings

    backend = AwsBackend(AwsScanOptions(regions=[REGION], services=list(services)))
    source = parser = None
    if queue_url is not None:
        source = SqsSource(queue_url, visibility_timeout=settings.pop("visibility_timeout", 30), wait_time=1)
        parser = CloudTrailParser(backend.accounts[0], backend.regions)
    dispatcher = None
    if webhook is not None:
        dispatcher = Dispatcher([WebhookNotifier(webhook.url)], min_severity=Severity.HIGH,
                                retry=RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2),
                                store=store if durable else None)
    options = {"coalesce_window": 0.2, "receive_wait": 1.0, "retry_delay": 1.0, "shutdown_timeout": 10.0, **settings}
    watcher = Watcher(backend, store, aws.rules, source=source, parser=parser, dispatcher=dispatcher,
                      settings=WatchSettings(**options))
    thread = threading.Thread(target=watcher.run, name="watcher-under-test", daemon=True)
    thread.start()
    wait_until(lambda: watcher.ready.is_set() or not thread.is_alive(), timeout=120, what="the watcher to start")
    assert thread.is_alive(), "the watcher thread ended during start-up"
    return RunningWatcher(watcher, thread)
