"""Benchmark `ridgeline watch aws`: event-to-finding latency, and an increment's cost against a full scan.

For each size N, on a fresh emulator (moto's server in this process, like the watcher):
1. seed us-east-1 with the t0 base plus N buckets and N security groups (benchmarks/seed.py);
2. start a watcher of s3 and ec2 on an SQS queue, with a webhook notifier on 127.0.0.1; its initial
   full scan is timed;
3. make --events private buckets public, with one CloudTrail PutBucketPolicy event each, sent at --rate
   events a second. For every event, measure the time from SendMessage to the increment being stored
   (the watcher's own clock, just before the message is deleted) and to the webhook receiving the "new"
   notification;
4. report p50/p95 of both, and the mean duration and API calls of an increment against the full scan.

    python benchmarks/watch_latency.py --sizes 500,1000 --events 50 --results /tmp/watch.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator import Emulator
from seed import GENERATED_BUCKET_PREFIX, seed

from ridgeline.demo.emulator import emulator_client, emulator_environment, reset_emulator
from ridgeline.history.snapshot import increment_info
from ridgeline.model.finding import Severity
from ridgeline.notify import Dispatcher, RetryPolicy, WebhookNotifier
from ridgeline.providers.aws.scanner import AwsScanOptions
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.store.database import Store
from ridgeline.watch.aws import CloudTrailParser, SqsSource
from ridgeline.watch.backends import AwsBackend
from ridgeline.watch.coalesce import Batch
from ridgeline.watch.watcher import Watcher, WatchSettings

ACCOUNT = "123456789012"
REGION = "us-east-1"
RULE = "aws-s3-bucket-policy-public"

logger = logging.getLogger("watch_latency")


class Receiver(ThreadingHTTPServer):
    """Webhook endpoint that records when each finding's notification arrived."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        now = time.time()
        with self.server.lock:
            for item in body["notifications"]:
                if item["rule_id"] == RULE and item["event"] == "new":
                    self.server.arrivals.setdefault(item["resource_name"], now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def event_body(bucket: str) -> str:
    """Return the EventBridge event of a PutBucketPolicy call on `bucket`."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": ACCOUNT, "time": now, "region": REGION, "resources": [],
        "detail": {"eventVersion": "1.09", "eventTime": now, "eventSource": "s3.amazonaws.com",
                   "eventName": "PutBucketPolicy", "awsRegion": REGION, "eventID": str(uuid.uuid4()),
                   "requestParameters": {"bucketName": bucket}, "responseElements": None,
                   "recipientAccountId": ACCOUNT, "eventType": "AwsApiCall", "managementEvent": True},
    })


def public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def run_size(size: int, events: int, rate: float, work: Path) -> dict[str, Any]:
    """Measure one account size on a fresh emulator."""
    with Emulator() as emulator, emulator_environment(emulator.endpoint):
        # moto keeps its state per process, so an earlier size's resources must go first.
        reset_emulator(emulator.endpoint)
        counts = seed(emulator.endpoint, size, size)
        sqs = emulator_client(emulator.endpoint, "sqs")
        s3 = emulator_client(emulator.endpoint, "s3")
        queue_url = sqs.create_queue(QueueName="ridgeline-bench")["QueueUrl"]

        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        store = Store(f"sqlite:///{work / f'watch-{size}.db'}")
        backend = AwsBackend(AwsScanOptions(regions=[REGION], services=["s3", "ec2"]))
        dispatcher = Dispatcher([WebhookNotifier(f"http://127.0.0.1:{receiver.server_address[1]}/hook")],
                                min_severity=Severity.CRITICAL, retry=RetryPolicy(attempts=3, base_delay=0.1))
        watcher = Watcher(backend, store, load_builtin_rules(), source=SqsSource(queue_url, wait_time=1),
                          parser=CloudTrailParser(ACCOUNT, [REGION]), dispatcher=dispatcher,
                          settings=WatchSettings(receive_wait=1.0))

        stored_at: dict[str, float] = {}
        original = watcher._finish_messages

        def record(batch: Batch, failed_units: set[tuple[str, str]]) -> None:
            # The increment is stored when this runs, and the messages are about to be deleted.
            now = time.time()
            for item in batch.messages:
                for event in item.events:
                    for target in event.targets:
                        stored_at.setdefault(target.key, now)
            original(batch, failed_units)

        watcher._finish_messages = record  # type: ignore[method-assign]
        thread = threading.Thread(target=watcher.run, daemon=True)
        started = time.monotonic()
        thread.start()
        watcher.ready.wait(1800)
        full_scan_s = time.monotonic() - started
        full = store.list_scans(limit=1)[0]

        # Odd-numbered generated buckets are private in the seed.
        buckets = [f"{GENERATED_BUCKET_PREFIX}-{index:05d}" for index in range(1, 2 * events, 2)]
        sent: dict[str, float] = {}
        for bucket in buckets:
            s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
            sent[bucket] = time.time()
            sqs.send_message(QueueUrl=queue_url, MessageBody=event_body(bucket))
            time.sleep(1 / rate)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with receiver.lock:
                if len(receiver.arrivals) >= len(buckets):
                    break
            time.sleep(0.1)

        watcher.stop()
        thread.join(60)
        receiver.shutdown()
        receiver.server_close()

        to_stored = [stored_at[bucket] - sent[bucket] for bucket in buckets if bucket in stored_at]
        to_notified = [receiver.arrivals[bucket] - sent[bucket] for bucket in buckets if bucket in receiver.arrivals]
        increments = [scan for scan in store.list_scans(limit=10_000) if increment_info(scan) is not None]
        store.engine.dispose()
        return {
            "size": size,
            "resources": len(watcher.state) if watcher.state is not None else 0,
            "seeded": counts,
            "full_scan_s": round(full_scan_s, 2),
            "full_scan_api_calls": full.api_calls,
            "events": len(buckets),
            "stored": len(to_stored),
            "notified": len(to_notified),
            "stored_p50_s": round(percentile(to_stored, 0.5), 3) if to_stored else None,
            "stored_p95_s": round(percentile(to_stored, 0.95), 3) if to_stored else None,
            "notified_p50_s": round(percentile(to_notified, 0.5), 3) if to_notified else None,
            "notified_p95_s": round(percentile(to_notified, 0.95), 3) if to_notified else None,
            "increments": len(increments),
            "increment_mean_s": round(statistics.mean(scan.duration_s for scan in increments), 3)
            if increments else None,
            "increment_mean_api_calls": round(statistics.mean(scan.api_calls for scan in increments), 1)
            if increments else None,
            "resources_per_increment": round(statistics.mean(
                len(increment_info(scan).recollected) for scan in increments), 2)  # type: ignore[union-attr]
            if increments else None,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="500,1000", help="comma-separated N: generated buckets and groups each")
    parser.add_argument("--events", type=int, default=50, help="change events per size")
    parser.add_argument("--rate", type=float, default=2.0, help="events sent per second")
    parser.add_argument("--results", type=Path, help="file to append one JSON line per size to")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    sizes = [int(item) for item in args.sizes.split(",") if item.strip()]
    if any(size < args.events for size in sizes):
        parser.error("every size must be at least --events, so that each event changes a bucket of its own")
    with tempfile.TemporaryDirectory(prefix="ridgeline-watch-bench-") as folder:
        for size in sizes:
            result = run_size(size, args.events, args.rate, Path(folder))
            line = json.dumps(result, sort_keys=True)
            print(line, flush=True)
            if args.results is not None:
                with args.results.open("a", encoding="utf-8") as stream:
                    stream.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
