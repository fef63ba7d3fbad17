"""Azure Event Grid and GCP asset feed messages, on the documented shapes, and their queue transports."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ridgeline.watch.azure import EventGridParser, StorageQueueSource, resource_target
from ridgeline.watch.events import MalformedEvent, ReceivedMessage, SourceUnavailable, Target
from ridgeline.watch.gcp import AssetFeedParser, PubSubSource

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
ACCOUNT_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.Storage/"
              "storageAccounts/stdata01")


def grid_event(event_type: str, subject: str, *, status: str = "Succeeded",
               cloud_events: bool = False) -> dict[str, Any]:
    data = {
        "authorization": {"scope": subject, "action": "Microsoft.Storage/storageAccounts/write", "evidence": {}},
        "claims": {}, "correlationId": "0d6c1d1a-5a8b-4d8b-9a55-2d6f8e8f1c11",
        "resourceProvider": "Microsoft.Storage", "resourceUri": subject,
        "operationName": "Microsoft.Storage/storageAccounts/write", "status": status,
        "subscriptionId": SUBSCRIPTION, "tenantId": "99999999-8888-7777-6666-555555555555",
    }
    if cloud_events:
        return {"specversion": "1.0", "type": event_type, "source": f"/subscriptions/{SUBSCRIPTION}",
                "subject": subject, "id": "e-1", "time": "2026-12-04T10:00:00.1234567Z", "data": data}
    return {"subject": subject, "eventType": event_type, "eventTime": "2026-12-04T10:00:00.1234567Z", "id": "e-1",
            "data": data, "dataVersion": "2", "metadataVersion": "1", "topic": f"/subscriptions/{SUBSCRIPTION}"}


def azure_targets(body: str, parser: EventGridParser | None = None) -> list[Target]:
    result = (parser or EventGridParser())(ReceivedMessage("m", body, None))
    return [target for event in result.events for target in event.targets]


def test_write_event_names_resource() -> None:
    targets = azure_targets(json.dumps(grid_event("Microsoft.Resources.ResourceWriteSuccess", ACCOUNT_ID)))
    assert targets == [Target("azure", SUBSCRIPTION, "", "Microsoft.Storage/storageAccounts", ACCOUNT_ID)]


def test_child_write_refreshes_parent() -> None:
    body = json.dumps(grid_event("Microsoft.Resources.ResourceDeleteSuccess",
                                 ACCOUNT_ID + "/blobServices/default"))
    assert azure_targets(body) == [Target("azure", SUBSCRIPTION, "", "Microsoft.Storage/storageAccounts",
                                          ACCOUNT_ID)]


def test_delete_event_and_schemas() -> None:
    event = grid_event("Microsoft.Resources.ResourceDeleteSuccess", ACCOUNT_ID, cloud_events=True)
    encoded = base64.b64encode(json.dumps(event).encode()).decode()
    [target] = azure_targets(encoded)
    assert target.delete is True
    [batch_target] = azure_targets(json.dumps([event]))
    assert batch_target == target


def test_failed_unknown_and_other_subscription() -> None:
    parser = EventGridParser([SUBSCRIPTION])
    failed = grid_event("Microsoft.Resources.ResourceWriteFailure", ACCOUNT_ID)
    assert parser(ReceivedMessage("m", json.dumps(failed), None)).skipped == "failed-call"
    action = grid_event("Microsoft.Resources.ResourceActionSuccess", ACCOUNT_ID)
    assert parser(ReceivedMessage("m", json.dumps(action), None)).unknown == "Microsoft.Resources.ResourceActionSuccess"
    other = grid_event("Microsoft.Resources.ResourceWriteSuccess", ACCOUNT_ID.replace(SUBSCRIPTION, "other"))
    assert parser(ReceivedMessage("m", json.dumps(other), None)).skipped == "other-account"


@pytest.mark.parametrize("body", ["", "%%%", "{", json.dumps({"subject": ACCOUNT_ID}),
                                  json.dumps(grid_event("Microsoft.Resources.ResourceWriteSuccess", "/not/an/id"))])
def test_malformed_azure_messages(body: str) -> None:
    with pytest.raises(MalformedEvent):
        EventGridParser()(ReceivedMessage("m", body, None))


def test_resource_ids() -> None:
    assert resource_target(f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg") == (
        SUBSCRIPTION, "Microsoft.Resources/resourceGroups", f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg", False)
    extension = ACCOUNT_ID + "/providers/Microsoft.Authorization/locks/no-delete"
    assert resource_target(extension)[1:] == ("Microsoft.Authorization/locks", extension, False)


BUCKET_ASSET = {
    "name": "//storage.googleapis.com/public-reports",
    "assetType": "storage.googleapis.com/Bucket",
    "resource": {
        "version": "v1",
        "discoveryDocumentUri": "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
        "discoveryName": "Bucket",
        "parent": "//cloudresourcemanager.googleapis.com/projects/123456789",
        "data": {"name": "public-reports", "projectNumber": "123456789", "location": "US",
                 "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}, "labels": {"team": "bi"}},
        "location": "us",
    },
    "iamPolicy": {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}], "etag": "BwX"},
    "ancestors": ["projects/123456789", "organizations/1"],
    "updateTime": "2026-12-04T10:00:00.123Z",
}


def feed_message(asset: dict[str, Any], *, deleted: bool = False, prior_state: str = "PRESENT") -> str:
    return json.dumps({"asset": asset, "priorAssetState": prior_state, "deleted": deleted,
                       "window": {"startTime": "2026-12-04T10:00:00.123Z"}})


def test_feed_asset_becomes_resource() -> None:
    result = AssetFeedParser()(ReceivedMessage("m", feed_message(BUCKET_ASSET, prior_state="DOES_NOT_EXIST"), None))
    [event] = result.events
    [resource] = event.resources
    assert event.name == "gcp storage.googleapis.com/Bucket created"
    assert (resource.provider, resource.type, resource.id) == ("gcp", "storage.googleapis.com/Bucket",
                                                               "//storage.googleapis.com/public-reports")
    assert resource.account == "123456789"
    assert resource.supplementary["iamPolicy"]["bindings"][0]["members"] == ["allUsers"]
    assert resource.tags == {"team": "bi"}
    assert resource.source == "gcp-feed"
    assert event.targets == []


def test_feed_deletion_and_projects() -> None:
    deleted = {"name": BUCKET_ASSET["name"], "assetType": BUCKET_ASSET["assetType"],
               "ancestors": ["projects/123456789"]}
    [event] = AssetFeedParser()(ReceivedMessage("m", feed_message(deleted, deleted=True), None)).events
    assert event.targets == [Target("gcp", "123456789", "", "storage.googleapis.com/Bucket",
                                    "//storage.googleapis.com/public-reports", delete=True)]
    other = AssetFeedParser(projects={"987"})(ReceivedMessage("m", feed_message(BUCKET_ASSET), None))
    assert other.skipped == "other-account"


@pytest.mark.parametrize("body", ["nope", "[]", json.dumps({"window": {}}), json.dumps({"asset": {"name": "x"}})])
def test_malformed_feed_messages(body: str) -> None:
    with pytest.raises(MalformedEvent):
        AssetFeedParser()(ReceivedMessage("m", body, None))


# Transports against small servers that speak the same REST calls.


class FakeStorageQueue(ThreadingHTTPServer):
    """Get Messages, Delete Message and Update Message of the Queue service, for one queue."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _QueueHandler)
        self.visible: list[dict[str, str]] = []
        self.hidden: dict[str, dict[str, str]] = {}
        self.requests: list[str] = []

    def put(self, message_id: str, text: str) -> None:
        self.visible.append({"id": message_id, "text": base64.b64encode(text.encode()).decode(), "count": "0"})


class _QueueHandler(BaseHTTPRequestHandler):
    server: FakeStorageQueue

    def _reply(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append(f"GET {self.path}")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if query.get("sig") != ["test"]:
            self._reply(403)
            return
        taken, self.server.visible = self.server.visible[:32], self.server.visible[32:]
        items = []
        for message in taken:
            message["count"] = str(int(message["count"]) + 1)
            receipt = f"pop-{message['id']}-{message['count']}"
            self.server.hidden[receipt] = message
            items.append(f"<QueueMessage><MessageId>{message['id']}</MessageId>"
                         "<InsertionTime>Fri, 04 Dec 2026 10:00:00 GMT</InsertionTime>"
                         f"<PopReceipt>{receipt}</PopReceipt><DequeueCount>{message['count']}</DequeueCount>"
                         f"<MessageText>{message['text']}</MessageText></QueueMessage>")
        self._reply(200, f"<?xml version=\"1.0\"?><QueueMessagesList>{''.join(items)}</QueueMessagesList>".encode())

    def do_DELETE(self) -> None:
        self.server.requests.append(f"DELETE {self.path}")
        receipt = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["popreceipt"][0]
        self._reply(204 if self.server.hidden.pop(receipt, None) else 404)

    def do_PUT(self) -> None:
        self.server.requests.append(f"PUT {self.path}")
        receipt = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)["popreceipt"][0]
        message = self.server.hidden.pop(receipt, None)
        if message is None:
            self._reply(404)
            return
        self.server.visible.append(message)
        self._reply(204)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def storage_queue() -> Iterator[FakeStorageQueue]:
    server = FakeStorageQueue()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_storage_queue_transport(storage_queue: FakeStorageQueue) -> None:
    storage_queue.put("m-1", json.dumps(grid_event("Microsoft.Resources.ResourceWriteSuccess", ACCOUNT_ID)))
    storage_queue.put("m-2", "not an event")
    port = storage_queue.server_address[1]
    source = StorageQueueSource(f"http://127.0.0.1:{port}/events?sv=2022-11-02&sig=test", visibility_timeout=60)
    assert source.name == "azure-queue:127/events"

    first, second = source.receive(10, 0)
    assert first.message_id == "m-1"
    assert first.receive_count == 1
    assert first.sent_at is not None
    assert azure_targets(first.body)[0].key == ACCOUNT_ID
    source.delete(first)
    source.release(second, 0)
    [again] = source.receive(10, 0)
    assert again.message_id == "m-2"
    assert again.receive_count == 2
    assert source.receive(10, 0) == []
    assert any(request.startswith("DELETE /events/messages/m-1?popreceipt=pop-m-1-1") for request in
               storage_queue.requests)

    denied = StorageQueueSource(f"http://127.0.0.1:{port}/events?sig=wrong")
    with pytest.raises(SourceUnavailable, match="HTTP 403"):
        denied.receive(1, 0)


class FakePubSub(ThreadingHTTPServer):
    """pull, acknowledge and modifyAckDeadline of the Pub/Sub REST API, for one subscription."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PubSubHandler)
        self.pending: list[dict[str, Any]] = []
        self.acked: list[str] = []
        self.deadlines: list[tuple[list[str], int]] = []


class _PubSubHandler(BaseHTTPRequestHandler):
    server: FakePubSub

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        path, _, verb = self.path.partition(":")
        answer: dict[str, Any] = {}
        if path != "/v1/projects/p/subscriptions/assets":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if verb == "pull":
            taken, self.server.pending = self.server.pending[:body["maxMessages"]], self.server.pending[
                body["maxMessages"]:]
            answer = {"receivedMessages": taken}
        elif verb == "acknowledge":
            self.server.acked.extend(body["ackIds"])
        elif verb == "modifyAckDeadline":
            self.server.deadlines.append((body["ackIds"], body["ackDeadlineSeconds"]))
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_pubsub_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakePubSub()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{server.server_address[1]}")
        server.pending.append({"ackId": "ack-1", "deliveryAttempt": 2, "message": {
            "data": base64.b64encode(feed_message(BUCKET_ASSET).encode()).decode(), "messageId": "42",
            "publishTime": "2026-12-04T10:00:01.5Z"}})
        source = PubSubSource("projects/p/subscriptions/assets", ack_deadline=120)
        [message] = source.receive(10, 0)
        assert (message.message_id, message.receipt, message.receive_count) == ("42", "ack-1", 2)
        assert server.deadlines == [(["ack-1"], 120)]
        [event] = AssetFeedParser()(message).events
        assert event.resources[0].id == BUCKET_ASSET["name"]
        source.release(message, 5)
        source.delete(message)
        assert server.acked == ["ack-1"]
        assert server.deadlines[-1] == (["ack-1"], 5)

        missing = PubSubSource("projects/p/subscriptions/other")
        with pytest.raises(SourceUnavailable, match="HTTP 404"):
            missing.receive(1, 0)
    finally:
        server.shutdown()
        server.server_close()
