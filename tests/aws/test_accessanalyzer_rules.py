"""Access Analyzer collector and rule. moto has no Access Analyzer, so a local HTTP server started by
each test returns the documented ListAnalyzers REST response, and the real boto3 client reaches it through
AWS_ENDPOINT_URL_ACCESSANALYZER. moto still serves STS, which the scan calls for the account id."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from ridgeline.model.finding import Status
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.providers.aws.session import AwsSession
from tests.conftest import AwsAccount, findings_of

ACCOUNT = AwsAccount.account_id
RULE = "aws-accessanalyzer-enabled"
_REGION_IN_SIGNATURE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/access-analyzer/aws4_request")


@dataclass
class AccessAnalyzerStub:
    """ListAnalyzers responses per region: a list of pages of analyzers, or an error (status, code)."""

    pages: dict[str, list[list[dict[str, Any]]]] = field(default_factory=dict)
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)


def _handler(stub: AccessAnalyzerStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            match = _REGION_IN_SIGNATURE.search(self.headers.get("Authorization", ""))
            region = match.group(1) if match else "?"
            stub.requests.append((region, url.path, query))

            if url.path != "/analyzer":
                self._send(404, {"message": f"no route {url.path}"}, "ResourceNotFoundException")
            elif region in stub.errors:
                status, code = stub.errors[region]
                self._send(status, {"message": f"{code} from the stub"}, code)
            else:
                pages = stub.pages.get(region) or [[]]
                index = int(query.get("nextToken", ["0"])[0])
                body: dict[str, Any] = {"analyzers": pages[index]}
                if index + 1 < len(pages):
                    body["nextToken"] = str(index + 1)
                self._send(200, body)

        def _send(self, status: int, body: dict[str, Any], error_type: str = "") -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def analyzer_stub(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[AccessAnalyzerStub]:
    """A ListAnalyzers endpoint on 127.0.0.1 that boto3's accessanalyzer clients use for this test."""
    stub = AccessAnalyzerStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    thread = threading.Thread(target=server.serve_forever, name="access-analyzer-stub", daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_ACCESSANALYZER", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _analyzer(region: str, name: str, *, kind: str = "ACCOUNT", status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "arn": f"arn:aws:access-analyzer:{region}:{ACCOUNT}:analyzer/{name}",
        "name": name,
        "type": kind,
        "createdAt": "2026-01-05T10:00:00Z",
        "lastResourceAnalyzed": "arn:aws:s3:::reports",
        "lastResourceAnalyzedAt": "2026-01-06T08:30:00Z",
        "tags": {"Team": "security"},
        "status": status,
    }


def _findings_by_region(aws: AwsAccount, regions: list[str]) -> dict[str, Any]:
    result = aws.scan(["accessanalyzer"], regions=regions)
    return {finding.region: finding for finding in findings_of(result, RULE)}


def test_collector_reads_every_page_in_config_shape(aws: AwsAccount, analyzer_stub: AccessAnalyzerStub) -> None:
    analyzer_stub.pages["us-east-1"] = [[_analyzer("us-east-1", "first")],
                                        [_analyzer("us-east-1", "unused", kind="ACCOUNT_UNUSED_ACCESS")]]

    result = aws.scan(["accessanalyzer"])

    resources = {r.name: r for r in result.collection.resources}
    assert set(resources) == {"first", "unused"}
    first = resources["first"]
    assert first.type == "AWS::AccessAnalyzer::Analyzer"
    assert first.id == f"arn:aws:access-analyzer:us-east-1:{ACCOUNT}:analyzer/first"
    assert first.configuration["status"] == "ACTIVE"
    assert first.configuration["type"] == "ACCOUNT"
    assert first.configuration["createdAt"] == "2026-01-05T10:00:00.000Z"
    assert "tags" not in first.configuration
    assert first.tags == {"Team": "security"}
    assert [(region, path) for region, path, _ in analyzer_stub.requests] == [("us-east-1", "/analyzer")] * 2
    assert analyzer_stub.requests[1][2]["nextToken"] == ["1"]


def test_region_without_active_external_analyzer_fails(aws: AwsAccount, analyzer_stub: AccessAnalyzerStub) -> None:
    analyzer_stub.pages["us-east-1"] = [[_analyzer("us-east-1", "account-analyzer")]]
    analyzer_stub.pages["eu-west-1"] = [[_analyzer("eu-west-1", "unused", kind="ACCOUNT_UNUSED_ACCESS"),
                                         _analyzer("eu-west-1", "broken", status="FAILED")]]
    analyzer_stub.pages["eu-central-1"] = [[]]

    findings = _findings_by_region(aws, ["us-east-1", "eu-west-1", "eu-central-1"])

    passing = findings["us-east-1"]
    assert passing.status is Status.PASS
    analyzer_arn = f"arn:aws:access-analyzer:us-east-1:{ACCOUNT}:analyzer/account-analyzer"
    assert passing.evidence == {"satisfied_by": analyzer_arn}
    for region, examined in (("eu-west-1", 2), ("eu-central-1", 0)):
        failing = findings[region]
        assert failing.status is Status.FAIL, region
        assert failing.resource_type == "Ridgeline::Region"
        assert failing.message == f"No active external access analyzer in region {region} of account {ACCOUNT}."
        assert failing.evidence["examined_count"] == examined


def test_organization_analyzer_passes(aws: AwsAccount, analyzer_stub: AccessAnalyzerStub) -> None:
    analyzer_stub.pages["us-east-1"] = [[_analyzer("us-east-1", "org", kind="ORGANIZATION")]]

    findings = _findings_by_region(aws, ["us-east-1"])

    assert findings["us-east-1"].status is Status.PASS


def test_denied_listing_is_error(aws: AwsAccount, analyzer_stub: AccessAnalyzerStub) -> None:
    analyzer_stub.pages["us-east-1"] = [[_analyzer("us-east-1", "account-analyzer")]]
    analyzer_stub.errors["eu-west-1"] = (403, "AccessDeniedException")

    findings = _findings_by_region(aws, ["us-east-1", "eu-west-1"])

    assert findings["us-east-1"].status is Status.PASS
    denied = findings["eu-west-1"]
    assert denied.status is Status.ERROR
    assert "AccessDeniedException on access-analyzer:ListAnalyzers" in denied.message


def test_emulator_without_access_analyzer_is_error(aws: AwsAccount) -> None:
    # moto responds to Access Analyzer requests with HTTP 500 and an HTML page. One attempt is enough here.
    collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["accessanalyzer"]),
                             session=AwsSession(max_attempts=1))
    result = evaluate_collection(collection, aws.rules, store=None)

    [finding] = findings_of(result, RULE)
    assert finding.status is Status.ERROR
    assert "does not implement Access Analyzer" in finding.message
    assert "<html" not in finding.message.lower()
    assert collection.coverage[0].failed_types.keys() == {"AWS::AccessAnalyzer::Analyzer"}
