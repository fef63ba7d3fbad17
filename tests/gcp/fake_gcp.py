"""A local HTTP server that responds like the Cloud Asset Inventory, Resource Manager and Essential Contacts REST APIs.

It serves only what a test puts in it, in the documented v1/v3 response shapes:
- GET /v1/{parent}/assets (ListAssets): `assets` with `name`, `assetType`, `ancestors`, `updateTime` and,
  by `contentType` (the client sends 1 for RESOURCE and 2 for IAM_POLICY), `resource` or `iamPolicy`;
  filtered by `assetTypes`, paged with `pageSize` and `nextPageToken`;
- GET /v3/projects/{id or number} (projects.get);
- GET /v1/{projects|organizations}/{id}/contacts (Essential Contacts list), paged the same way;
- scripted responses (a 403 SERVICE_DISABLED, a 429) served before the normal one.
An asset belongs to a parent when the parent is among its ancestors (projects by number), or when the
test put it under that parent explicitly. Every request is recorded.

Plain HTTP is enough: the REST transport of the client libraries takes the scheme from `api_endpoint`,
and the scan accepts http only for loopback addresses.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CONTENT_TYPES = {"1": "RESOURCE", "2": "IAM_POLICY", "RESOURCE": "RESOURCE", "IAM_POLICY": "IAM_POLICY"}


@dataclass(slots=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(slots=True)
class Scripted:
    """A response served instead of the normal one."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def google_error(status: int, code: str, message: str, *, reason: str = "", metadata: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> Scripted:
    """Return an error response in Google's JSON error shape, with an ErrorInfo detail when `reason` is given."""
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com", "metadata": metadata or {}}]
    return Scripted(status, {"error": error}, headers or {})


def service_disabled(api: str, consumer_number: str) -> Scripted:
    """Return the 403 Google sends when `api` is not enabled in the consumer project."""
    return google_error(403, "PERMISSION_DENIED",
                        f"{api} has not been used in project {consumer_number} before or it is disabled. Enable it "
                        "by visiting the API library and then retry.", reason="SERVICE_DISABLED",
                        metadata={"consumer": f"projects/{consumer_number}", "service": api})


class FakeGcp:
    """The state the server responds from; tests fill it and read `requests`."""

    def __init__(self) -> None:
        self.base_url = ""
        self.assets: list[dict[str, Any]] = []
        """Assets in the camelCase REST form, with both `resource` and `iamPolicy` where they have them."""

        self.assets_by_parent: dict[str, list[dict[str, Any]]] = {}
        """Parent -> assets served for it regardless of their ancestors (for exports without ancestors)."""

        self.projects: dict[str, dict[str, Any]] = {}
        """Project id -> the projects.get body; also found by the number in its `name`."""

        self.contacts: dict[str, list[dict[str, Any]]] = {}
        """"projects/ID" or "organizations/N" -> its Essential Contacts."""

        self.scripted: dict[str, list[Scripted]] = {}
        """Key -> responses served first, in order. Keys: "assets:PARENT:RESOURCE", "assets:PARENT:IAM_POLICY",
        "project:ID", "contacts:PARENT"; a key may end in "@TOKEN" to match only the page with that token."""

        self.max_page_size = 1000
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    def script(self, key: str, *responses: Scripted) -> None:
        """Serve `responses` first for `key`."""
        with self._lock:
            self.scripted.setdefault(key, []).extend(responses)

    def asset_requests(self, parent: str, content_type: str | None = None) -> list[Recorded]:
        """Return the recorded ListAssets requests of `parent`, of one content type when given."""
        return [request for request in self.requests if request.path == f"/v1/{parent}/assets"
                and (content_type is None or CONTENT_TYPES.get(request.query.get("contentType", [""])[0])
                     == content_type)]

    def requests_to(self, path: str) -> list[Recorded]:
        """Return the recorded requests of `path`."""
        return [request for request in self.requests if request.path == path]

    def _next_scripted(self, *keys: str) -> Scripted | None:
        with self._lock:
            for key in keys:
                queue = self.scripted.get(key)
                if queue:
                    return queue.pop(0)
        return None

    def respond(self, method: str, raw_path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Scripted:
        """Return the response to one request and record it."""
        path = unquote(raw_path)
        with self._lock:
            self.requests.append(Recorded(method, path, query, headers))
        if method != "GET":
            return google_error(405, "METHOD_NOT_ALLOWED", f"{method} is not served by the test server")

        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "v1" and parts[3] == "assets":
            return self._list_assets(f"{parts[1]}/{parts[2]}", query)
        if len(parts) == 3 and parts[:2] == ["v3", "projects"]:
            return self._get_project(parts[2])
        if len(parts) == 4 and parts[0] == "v1" and parts[1] in ("projects", "organizations") \
                and parts[3] == "contacts":
            return self._list_contacts(f"{parts[1]}/{parts[2]}", query)
        return google_error(404, "NOT_FOUND", f"the test server does not serve {path}")

    def _list_assets(self, parent: str, query: dict[str, list[str]]) -> Scripted:
        content_type = CONTENT_TYPES.get(query.get("contentType", [""])[0], "")
        token = query.get("pageToken", [""])[0]
        scripted = self._next_scripted(f"assets:{parent}:{content_type}@{token}", f"assets:{parent}:{content_type}")
        if scripted is not None:
            return scripted
        wanted = set(query.get("assetTypes", []))
        assets = [asset for asset in self._assets_of(parent) if not wanted or asset["assetType"] in wanted]
        shaped = [shape for asset in assets if (shape := _content(asset, content_type)) is not None]
        page, next_token = self._page(shaped, query)
        body: dict[str, Any] = {"readTime": "2026-03-01T12:00:00Z"}
        if page:
            body["assets"] = page
        if next_token:
            body["nextPageToken"] = next_token
        return Scripted(200, body)

    def _assets_of(self, parent: str) -> list[dict[str, Any]]:
        if parent in self.assets_by_parent:
            return self.assets_by_parent[parent]
        ancestor = parent
        if parent.startswith("projects/"):
            project = self.projects.get(parent.removeprefix("projects/"))
            if project is not None:
                ancestor = project["name"]
        return [asset for asset in self.assets if ancestor in asset.get("ancestors", [])]

    def _get_project(self, requested: str) -> Scripted:
        scripted = self._next_scripted(f"project:{requested}")
        if scripted is not None:
            return scripted
        for project_id, body in self.projects.items():
            if requested in (project_id, body["name"].removeprefix("projects/")):
                return Scripted(200, body)
        # Resource Manager returns 403 for a project that does not exist, so as not to reveal which ids exist.
        return google_error(403, "PERMISSION_DENIED", f"Permission denied on resource project {requested}.",
                            reason="IAM_PERMISSION_DENIED")

    def _list_contacts(self, parent: str, query: dict[str, list[str]]) -> Scripted:
        scripted = self._next_scripted(f"contacts:{parent}")
        if scripted is not None:
            return scripted
        page, next_token = self._page(self.contacts.get(parent, []), query)
        # Google leaves empty repeated fields out of the JSON.
        body: dict[str, Any] = {"contacts": page} if page else {}
        if next_token:
            body["nextPageToken"] = next_token
        return Scripted(200, body)

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], str]:
        start = int(query.get("pageToken", ["0"])[0] or 0)
        size = min(int(query.get("pageSize", ["100"])[0] or 100), self.max_page_size)
        end = start + size
        return items[start:end], str(end) if end < len(items) else ""


def _content(asset: dict[str, Any], content_type: str) -> dict[str, Any] | None:
    """Return the asset as ListAssets returns it for one content type; None when it has no such content."""
    shaped: dict[str, Any] = {key: asset[key] for key in ("name", "assetType", "ancestors", "updateTime")
                              if key in asset}
    if content_type == "RESOURCE":
        if "resource" not in asset:
            return None
        shaped["resource"] = asset["resource"]
    elif content_type == "IAM_POLICY":
        if "iamPolicy" not in asset:
            return None
        shaped["iamPolicy"] = asset["iamPolicy"]
    return shaped


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        response = self.server.fake.respond(method, parts.path, query, {key.lower(): value
                                                                        for key, value in self.headers.items()})
        data = json.dumps(response.body).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeGcp) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def running_fake_gcp() -> Iterator[FakeGcp]:
    """Start the server on a free loopback port; stop it on exit."""
    fake = FakeGcp()
    server = _Server(fake)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-gcp",
                              daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
