"""The AWS watcher end to end against moto's server: SQS events in, findings and notifications out."""

from __future__ import annotations

import socket
import urllib.request

from pytest import MonkeyPatch

from ridgeline.history.snapshot import increment_info, load_snapshot
from ridgeline.model.finding import finding_id
from ridgeline.store.database import Store
from tests.conftest import AwsAccount
from tests.watch.conftest import (
    ACCOUNT,
    PUBLIC_POLICY_RULE,
    REGION,
    WebhookReceiver,
    bucket_event,
    cloudtrail_event,
    private_policy,
    public_policy,
    start_watcher,
    state_of,
    wait_until,
)


def test_public_policy_opens_then_resolves(aws: AwsAccount, store: Store, queue_url: str,
                                           webhook: WebhookReceiver) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="data")
    running = start_watcher(aws, store, queue_url, webhook=webhook)
    finding = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::data", REGION)
    try:
        assert state_of(store, finding) is None

        s3.put_bucket_policy(Bucket="data", Policy=public_policy("data"))
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", "data"))
        opened = wait_until(lambda: state_of(store, finding), what="the public-policy finding to open")
        assert opened.state == "new"
        wait_until(lambda: webhook.events(finding) == ["new"], what="the webhook to get the new finding")

        s3.put_bucket_policy(Bucket="data", Policy=private_policy("data"))
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", "data"))
        wait_until(lambda: (state := state_of(store, finding)) is not None and state.state == "resolved",
                   what="the finding to resolve")
        wait_until(lambda: webhook.events(finding) == ["new", "resolved"], what="the resolved notification")
        # Notifications go out before the messages are deleted and counted.
        wait_until(lambda: running.metrics.value("ridgeline_watch_events_processed_total") == 2,
                   what="both messages processed")
    finally:
        running.stop()

    increments = [(info, scan) for scan in store.list_scans() if (info := increment_info(scan)) is not None]
    assert sorted(info.sequence for info, _ in increments) == [1, 2]
    info, newest = max(increments, key=lambda item: item[0].sequence)
    assert info.recollected == ("arn:aws:s3:::data",)
    snapshot = load_snapshot(store, newest.id)
    bucket = next(resource for resource in snapshot.resources if resource.id == "arn:aws:s3:::data")
    assert "OwnAccount" in bucket.supplementary["BucketPolicy"]["policyText"]
    remaining = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert remaining["ApproximateNumberOfMessages"] == "0"
    assert remaining["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_deleted_bucket_resolves_and_others_stay(aws: AwsAccount, store: Store, queue_url: str) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    for name in ("doomed", "kept"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_policy(Bucket=name, Policy=public_policy(name))
    running = start_watcher(aws, store, queue_url)
    doomed = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::doomed", REGION)
    kept = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::kept", REGION)
    try:
        assert state_of(store, doomed).state == "new"  # type: ignore[union-attr]
        s3.delete_bucket_policy(Bucket="doomed")
        s3.delete_bucket(Bucket="doomed")
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("DeleteBucket", "doomed"))
        wait_until(lambda: state_of(store, doomed).state == "resolved",  # type: ignore[union-attr]
                   what="the deleted bucket's finding to resolve")
        # The other bucket was not collected again, so its finding keeps its state.
        assert state_of(store, kept).state == "new"  # type: ignore[union-attr]
    finally:
        running.stop()

    newest = max((scan for scan in store.list_scans() if increment_info(scan)),
                 key=lambda scan: increment_info(scan).sequence)  # type: ignore[union-attr]
    assert increment_info(newest).removed == ("arn:aws:s3:::doomed",)  # type: ignore[union-attr]
    ids = {resource.id for resource in load_snapshot(store, newest.id).resources}
    assert "arn:aws:s3:::doomed" not in ids
    assert "arn:aws:s3:::kept" in ids


def test_bad_events_counted_not_fatal(aws: AwsAccount, store: Store, queue_url: str) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="data")
    running = start_watcher(aws, store, queue_url)
    finding = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::data", REGION)
    try:
        for body in ("not json at all", "[1, 2]", '{"detail-type": "AWS API Call via CloudTrail"}',
                     '{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "PutBucketPolicy"}}'):
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        sqs.send_message(QueueUrl=queue_url, MessageBody=cloudtrail_event("s3.amazonaws.com", "GetObject",
                                                                           {"bucketName": "data"}))
        sqs.send_message(QueueUrl=queue_url, MessageBody=cloudtrail_event("ec2.amazonaws.com", "DescribeInstances"))
        sqs.send_message(QueueUrl=queue_url, MessageBody='{"detail-type": "EC2 Instance State-change Notification"}')
        sqs.send_message(QueueUrl=queue_url, MessageBody=cloudtrail_event(
            "s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "data"}, error_code="AccessDenied"))
        sqs.send_message(QueueUrl=queue_url, MessageBody=cloudtrail_event(
            "s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "data"}, account="210987654321"))

        metrics = running.metrics
        expected = [("ridgeline_watch_events_failed_total", {"reason": "malformed"}, 4),
                    ("ridgeline_watch_events_unknown_total", {}, 3),
                    ("ridgeline_watch_events_skipped_total", {"reason": "failed-call"}, 1),
                    ("ridgeline_watch_events_skipped_total", {"reason": "other-account"}, 1)]
        # A message is counted as received before it is parsed, so the totals settle a little later.
        wait_until(lambda: all(metrics.value(name, labels) == count for name, labels, count in expected),
                   what="every bad message counted")
        assert metrics.value("ridgeline_watch_events_received_total") == 9
        for name, labels, count in expected:
            assert metrics.value(name, labels) == count, (name, labels)

        # The watcher still works.
        s3.put_bucket_policy(Bucket="data", Policy=public_policy("data"))
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketPolicy", "data"))
        wait_until(lambda: state_of(store, finding), what="the finding after the bad events")
        wait_until(lambda: sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
                   ["ApproximateNumberOfMessages"] == "0", what="every bad message to be deleted")
    finally:
        running.stop()


def test_burst_for_one_bucket_is_coalesced(aws: AwsAccount, store: Store, queue_url: str,
                                           webhook: WebhookReceiver) -> None:
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.create_bucket(Bucket="busy")
    running = start_watcher(aws, store, queue_url, webhook=webhook, coalesce_window=3.0)
    finding = finding_id(PUBLIC_POLICY_RULE, "arn:aws:s3:::busy", REGION)
    try:
        s3.put_bucket_policy(Bucket="busy", Policy=public_policy("busy"))
        for name in ("PutBucketPolicy", "PutBucketAcl", "PutBucketPolicy", "PutBucketTagging", "PutBucketPolicy"):
            sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event(name, "busy"))
        wait_until(lambda: running.metrics.value("ridgeline_watch_events_processed_total") == 5,
                   what="the five events to be processed")
        assert running.metrics.value("ridgeline_watch_events_coalesced_total") == 4
        assert running.metrics.value("ridgeline_watch_resources_recollected_total") == 1
        assert running.metrics.value("ridgeline_watch_increments_total") == 1
        wait_until(lambda: webhook.events(finding) == ["new"], what="one notification")
    finally:
        running.stop()
    assert webhook.events(finding) == ["new"]


def test_missing_queue_keeps_schedule(aws: AwsAccount, store: Store) -> None:
    sqs = aws.client("sqs")
    queue_url = f"{aws.endpoint}/{ACCOUNT}/ridgeline-not-yet"
    running = start_watcher(aws, store, queue_url, full_scan_interval=1.0, source_backoff_max=0.5)
    try:
        wait_until(lambda: running.metrics.value("ridgeline_watch_full_scans_total", {"outcome": "complete"}) >= 3,
                   what="three full scans while the queue is missing")
        assert running.metrics.value("ridgeline_watch_source_up") == 0
        assert running.metrics.value("ridgeline_watch_last_full_scan_timestamp_seconds") > 0

        # The queue appears: the watcher reports it up and takes its events.
        sqs.create_queue(QueueName="ridgeline-not-yet")
        aws.client("s3").create_bucket(Bucket="late")
        sqs.send_message(QueueUrl=queue_url, MessageBody=bucket_event("CreateBucket", "late"))
        wait_until(lambda: running.metrics.value("ridgeline_watch_events_processed_total") == 1,
                   what="the event once the queue exists")
        assert running.metrics.value("ridgeline_watch_source_up") == 1
    finally:
        running.stop()


def test_stopped_queue_server_keeps_schedule(aws: AwsAccount, store: Store, monkeypatch: MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    # Only SQS goes to the closed port; the scans still reach the emulator.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", f"http://127.0.0.1:{closed_port}")
    running = start_watcher(aws, store, f"http://127.0.0.1:{closed_port}/{ACCOUNT}/events",
                            full_scan_interval=1.0, source_backoff_max=0.5)
    try:
        wait_until(lambda: running.metrics.value("ridgeline_watch_full_scans_total", {"outcome": "complete"}) >= 2,
                   what="two full scans while the queue server is down")
        assert running.metrics.value("ridgeline_watch_source_up") == 0
        assert running.metrics.value("ridgeline_watch_events_received_total") == 0
    finally:
        running.stop()


def test_metrics_endpoint_counts(aws: AwsAccount, store: Store, queue_url: str) -> None:
    aws.client("s3").create_bucket(Bucket="data")
    running = start_watcher(aws, store, queue_url)
    try:
        port = running.metrics.serve(0)
        aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=bucket_event("PutBucketAcl", "data"))
        wait_until(lambda: running.metrics.value("ridgeline_watch_events_processed_total") == 1,
                   what="the event to be processed")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
    finally:
        running.metrics.close()
        running.stop()
    assert "ridgeline_watch_events_received_total 1.0" in text
    assert "ridgeline_watch_events_processed_total 1.0" in text
    assert "ridgeline_watch_event_latency_seconds_count 1.0" in text
    assert "ridgeline_watch_source_up 1.0" in text
    assert 'ridgeline_watch_full_scans_total{outcome="complete"} 1.0' in text
