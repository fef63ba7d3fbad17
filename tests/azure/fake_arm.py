"""A local HTTPS server that responds like Resource Manager, Resource Graph, Microsoft Graph and the Key Vault
data plane, for the real SDK.

It serves only what a test puts in it: Resource Graph rows per table (filtered by the request's
subscriptions or management groups and by the quoted type names of the query, paged with `$skipToken`),
ARM documents by path, and scripted responses (a 403, a 429 with Retry-After) served before the normal
one. Every request is recorded, so tests can check methods, paths, api-version and the bearer token.

Key Vault: each vault's data plane lives under `/keyvault/{vault name}/` of the same server. As Resource
Manager does, the server gives every vault row a `properties.vaultUri` (here pointing at that path) unless
the test set one, and an empty certificate list unless the test put one.

TLS: the bearer-token policy of azure-core refuses plain HTTP, so the server speaks HTTPS with a
self-signed certificate for 127.0.0.1 generated per test session. Tests trust it through
REQUESTS_CA_BUNDLE, which keeps certificate verification on in the code under test.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FAKE_TOKEN = "fake-token-for-tests"

GRAPH_PATH = "/providers/microsoft.resourcegraph/resources"

MS_GRAPH_PREFIXES = ("/v1.0/", "/beta/")
"""Path prefixes of Microsoft Graph requests. The same server responds to Graph and Resource Manager."""

KEYVAULT_PREFIX = "/keyvault/"
"""Path prefix of the Key Vault data plane of each vault: `/keyvault/{vault name}/certificates`."""

VAULT_TYPE = "microsoft.keyvault/vaults"


def write_self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a CA-flagged self-signed certificate for 127.0.0.1 and its key; return (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ridgeline-test-arm")])
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "arm-test.crt"
    key_path = folder / "arm-test.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass(slots=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str
    at: float


@dataclass(slots=True)
class Scripted:
    """A response served instead of the normal one."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(status: int, code: str, message: str) -> Scripted:
    """Return a Microsoft Graph error response (the same `error` object as ARM, with Graph's codes)."""
    return Scripted(status, {"error": {"code": code, "message": message, "innerError": {"request-id": "test"}}})


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Scripted:
    """Return an ARM error response."""
    return Scripted(status, {"error": {"code": code, "message": message}}, headers or {})


def keyvault_error(status: int, code: str, message: str, inner: str | None = None) -> Scripted:
    """Return a Key Vault error response (KeyVaultError: `error` with an optional `innererror`)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = {"code": inner}
    return Scripted(status, {"error": error})


class FakeAzure:
    """The state the server responds from; tests fill it and read `requests`."""

    def __init__(self) -> None:
        self.base_url = ""
        self.subscriptions: list[dict[str, Any]] = []
        """resourcecontainers rows of type microsoft.resources/subscriptions."""

        self.management_groups: dict[str, list[str]] = {}
        self.tables: dict[str, list[dict[str, Any]]] = {"resources": [], "securityresources": [],
                                                        "authorizationresources": []}
        self.arm: dict[str, Any] = {}
        """Lower-case path (plus "?$skiptoken=N" for later pages) -> JSON body of a GET."""

        self.scripted: dict[str, list[Scripted]] = {}
        """Lower-case path, or "graph:<table>", -> responses served first, in order."""

        self.graph_page_size = 1000
        self.graph_body_override: dict[str, Any] = {}
        """Table -> a response body served verbatim (a documented example), instead of the rows."""

        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    def put(self, path: str, body: Any) -> None:
        """Serve `body` for GET `path`."""
        self.arm[path.lower()] = body

    def script(self, key: str, *responses: Scripted) -> None:
        """Serve `responses` first for the path (or "graph:<table>")."""
        self.scripted.setdefault(key.lower(), []).extend(responses)

    def vault_uri(self, vault: str) -> str:
        """Return the `vaultUri` of a vault on this server (with the final slash, as ARM writes it)."""
        return f"{self.base_url}{KEYVAULT_PREFIX}{vault}/"

    def vault_path(self, vault: str, suffix: str = "") -> str:
        """Return the server path of a vault's data-plane request, e.g. `/keyvault/kv-app/certificates`."""
        return f"{KEYVAULT_PREFIX}{vault}{suffix}"

    def put_certificates(self, vault: str, items: list[dict[str, Any]],
                         policies: dict[str, dict[str, Any]] | None = None) -> None:
        """Serve `items` as the vault's certificate list (one page) and each policy by certificate name."""
        self.put(self.vault_path(vault, "/certificates"), {"value": items, "nextLink": None})
        for name, policy in (policies or {}).items():
            self.put(self.vault_path(vault, f"/certificates/{name}/policy"), policy)

    def requests_to(self, path: str) -> list[Recorded]:
        """Return the recorded requests whose path is `path` (without regard to case)."""
        return [request for request in self.requests if request.path.lower() == path.lower()]

    def graph_requests(self, table: str) -> list[Recorded]:
        """Return the recorded Resource Graph requests of one table."""
        return [request for request in self.requests if request.path.lower() == GRAPH_PATH
                and isinstance(request.body, dict) and _table_of(str(request.body.get("query", ""))) == table]

    def _next_scripted(self, key: str) -> Scripted | None:
        with self._lock:
            queue = self.scripted.get(key.lower())
            return queue.pop(0) if queue else None

    def respond(self, method: str, path: str, query: dict[str, list[str]], body: Any,
                authorization: str) -> Scripted:
        """Return the response to one request and record it."""
        with self._lock:
            self.requests.append(Recorded(method, path, query, body, authorization, time.monotonic()))
        if authorization != f"Bearer {FAKE_TOKEN}":
            return arm_error(401, "InvalidAuthenticationToken", "missing or wrong bearer token")
        if path.startswith(MS_GRAPH_PREFIXES):
            return self._ms_graph(method, path, query)
        if path.startswith(KEYVAULT_PREFIX):
            return self._keyvault(method, path, query)
        if not query.get("api-version"):
            return arm_error(400, "MissingApiVersionParameter", "the api-version query parameter is required")
        if method == "POST" and path.lower() == GRAPH_PATH:
            return self._graph(body)
        if method != "GET":
            return arm_error(405, "MethodNotAllowed", f"{method} is not served by the test server")

        scripted = self._next_scripted(path)
        if scripted is not None:
            return scripted
        key = path.lower()
        if query.get("$skiptoken"):
            key += f"?$skiptoken={query['$skiptoken'][0]}"
        if key in self.arm:
            return Scripted(200, self.arm[key])
        return arm_error(404, "ResourceNotFound", f"the resource {path} was not found")

    def _ms_graph(self, method: str, path: str, query: dict[str, list[str]]) -> Scripted:
        # Microsoft Graph takes no api-version because the version is the path prefix. Collections page
        # with an absolute @odata.nextLink, and page N is served from "<path>?$skiptoken=N".
        if method != "GET":
            return graph_error(405, "Request_BadRequest", f"{method} is not served by the test server")
        scripted = self._next_scripted(path)
        if scripted is not None:
            return scripted
        key = path.lower()
        if query.get("$skiptoken"):
            key += f"?$skiptoken={query['$skiptoken'][0]}"
        if key in self.arm:
            return Scripted(200, self.arm[key])
        return graph_error(404, "Request_ResourceNotFound", f"the resource {path} was not found")

    def _keyvault(self, method: str, path: str, query: dict[str, list[str]]) -> Scripted:
        # The data plane returns KeyVaultError bodies. A vault that the test did not fill has no certificates.
        if method != "GET":
            return keyvault_error(405, "BadParameter", f"{method} is not served by the test server")
        if not query.get("api-version"):
            return keyvault_error(400, "BadParameter", "the api-version query parameter is required")
        scripted = self._next_scripted(path)
        if scripted is not None:
            return scripted
        key = path.lower()
        if query.get("$skiptoken"):
            key += f"?$skiptoken={query['$skiptoken'][0]}"
        if key in self.arm:
            return Scripted(200, self.arm[key])
        if key.endswith("/certificates"):
            return Scripted(200, {"value": [], "nextLink": None})
        return keyvault_error(404, "CertificateNotFound", f"{path} was not found in this vault")

    def _graph(self, body: Any) -> Scripted:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return arm_error(400, "BadRequest", "the request body has no query")
        options = body.get("options") or {}
        if options.get("resultFormat") != "objectArray":
            return arm_error(400, "BadRequest", "this server answers resultFormat objectArray only")
        text = body["query"]
        table = _table_of(text)
        scripted = self._next_scripted(f"graph:{table}")
        if scripted is not None:
            return scripted
        if table in self.graph_body_override:
            return Scripted(200, self.graph_body_override[table])

        rows = self._rows(table, body)
        if rows is None:
            return arm_error(403, "AuthorizationFailed", "no access to the management group")
        if "type in~" in text or "type =~" in text:
            wanted = {literal.lower() for literal in re.findall(r"'([^']*)'", text)}
            rows = [row for row in rows if str(row.get("type", "")).lower() in wanted]
            if "id in~" in text:
                # The quoted literals hold the types and the ids; no type is also an id.
                rows = [row for row in rows if str(row.get("id", "")).lower() in wanted]
        start = int(options.get("$skipToken") or 0)
        size = min(int(options.get("$top") or 1000), self.graph_page_size)
        page = rows[start:start + size]
        response: dict[str, Any] = {"totalRecords": len(rows), "count": len(page), "resultTruncated": "false",
                                    "facets": [], "data": page}
        if start + size < len(rows):
            response["$skipToken"] = str(start + size)
        return Scripted(200, response)

    def _rows(self, table: str, body: dict[str, Any]) -> list[dict[str, Any]] | None:
        if table == "resourcecontainers":
            rows = list(self.subscriptions)
            groups = body.get("managementGroups")
            if groups:
                if any(group not in self.management_groups for group in groups):
                    return None
                allowed = {subscription.lower() for group in groups for subscription in self.management_groups[group]}
                rows = [row for row in rows if str(row.get("subscriptionId", "")).lower() in allowed]
            return rows
        rows = [self._with_vault_uri(row) for row in self.tables.get(table, [])]
        scope = body.get("subscriptions")
        if scope:
            allowed = {subscription.lower() for subscription in scope}
            rows = [row for row in rows if str(row.get("subscriptionId", "")).lower() in allowed]
        return rows


    def _with_vault_uri(self, row: dict[str, Any]) -> dict[str, Any]:
        """Return a vault row with `properties.vaultUri` on this server when the test gave it none."""
        properties = row.get("properties")
        if str(row.get("type", "")).lower() != VAULT_TYPE or not isinstance(properties, dict) \
                or "vaultUri" in properties:
            return row
        return {**row, "properties": {**properties, "vaultUri": self.vault_uri(str(row.get("name", "")))}}


def _table_of(query: str) -> str:
    return query.strip().split(None, 1)[0].lower() if query.strip() else ""


def _handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            response = fake.respond(method, parts.path, parse_qs(parts.query), body,
                                    self.headers.get("Authorization", ""))
            payload = json.dumps(response.body).encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


@contextmanager
def running_fake_azure(cert: Path, key: str | Path) -> Iterator[FakeAzure]:
    """Serve a FakeAzure over HTTPS on a free port of 127.0.0.1 until the block ends."""
    fake = FakeAzure()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    fake.base_url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-arm", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
