"""HTTP side of a GCP scan: the API endpoints, the retry policy, and plain REST reads through AuthorizedSession.

Cloud Asset Inventory is read with its client library (inventory.py). The few APIs the catalogue needs
besides it (Resource Manager, Essential Contacts) have no client in the `gcp` extra, so they are read
with google-auth's AuthorizedSession, which adds the bearer token and refreshes it on a 401.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession

from ridgeline.providers.gcp.calls import CallRecorder, GcpCall
from ridgeline.providers.gcp.errors import classify

logger = logging.getLogger(__name__)

T = TypeVar("T")

ENDPOINT_ENV = "RIDGELINE_GCP_ENDPOINT"
"""Environment variable naming one base URL for every API of the scan (a proxy or a test server)."""

API_ENDPOINT_ENVS = {
    "cloudasset": "RIDGELINE_GCP_CLOUDASSET_ENDPOINT",
    "essentialcontacts": "RIDGELINE_GCP_ESSENTIALCONTACTS_ENDPOINT",
    "resourcemanager": "RIDGELINE_GCP_RESOURCEMANAGER_ENDPOINT",
}
"""Environment variables naming the endpoint of one API; each takes precedence over ENDPOINT_ENV."""

MAX_PAGES = 10_000
"""Pages followed for one listing before giving up: a guard against a nextPageToken that never ends."""

_LOOPBACK_NAMES = frozenset({"localhost"})

# Errors that a later attempt may not repeat: throttling, server-side failures and lost connections.
# Google documents truncated exponential back-off for 429 and 5xx responses.
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    api_exceptions.TooManyRequests,
    api_exceptions.InternalServerError,
    api_exceptions.BadGateway,
    api_exceptions.ServiceUnavailable,
    api_exceptions.GatewayTimeout,
    requests.ConnectionError,
    requests.Timeout,
)


@dataclass(frozen=True, slots=True)
class GcpEndpoints:
    """Base URLs of the APIs the scan reads (scheme and host, no path)."""

    cloudasset: str = "https://cloudasset.googleapis.com"
    essentialcontacts: str = "https://essentialcontacts.googleapis.com"
    resourcemanager: str = "https://cloudresourcemanager.googleapis.com"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> GcpEndpoints:
        """Return the public endpoints, overridden by RIDGELINE_GCP_ENDPOINT and the per-API variables."""
        environ = os.environ if environ is None else environ
        endpoints = cls()
        common = environ.get(ENDPOINT_ENV, "").strip()
        if common:
            endpoints = cls(cloudasset=common, essentialcontacts=common, resourcemanager=common)
        overrides = {api: environ[name].strip() for api, name in API_ENDPOINT_ENVS.items()
                     if environ.get(name, "").strip()}
        return replace(endpoints, **overrides)

    def validated(self) -> GcpEndpoints:
        """Return the endpoints without trailing slashes; raise ValueError when one is unsafe or malformed."""
        return GcpEndpoints(cloudasset=check_endpoint(self.cloudasset),
                            essentialcontacts=check_endpoint(self.essentialcontacts),
                            resourcemanager=check_endpoint(self.resourcemanager))


def check_endpoint(url: str) -> str:
    """Return `url` without a trailing slash; raise ValueError unless it is HTTPS, or plain HTTP on a loopback address.

    The bearer token goes with every request, so plain HTTP is accepted only where it never leaves the host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(f"invalid endpoint {url!r}: expected a base URL such as https://cloudasset.googleapis.com")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"invalid endpoint {url!r}: plain http is accepted only for a loopback address "
                         "(127.0.0.1, ::1, localhost), because the access token travels with every request")
    return f"{parts.scheme}://{parts.netloc}"


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Truncated exponential back-off for throttled (429) and failed (5xx, connection) requests."""

    initial_s: float = 1.0
    maximum_s: float = 32.0
    multiplier: float = 2.0
    deadline_s: float = 300.0
    """Time after which one request stops being retried and counts as failed."""

    def policy(self, call: GcpCall, target: str) -> Retry:
        """Return the google-api-core Retry of one request, logging each retry with the call and the target."""
        def log_retry(error: Exception) -> None:
            logger.info("%s on %s failed (%s); retrying with back-off", call.name, target,
                        type(error).__name__ + (f" {error.code}" if isinstance(error, api_exceptions.GoogleAPICallError)
                                                else ""))

        return Retry(predicate=if_exception_type(*RETRYABLE_ERRORS), initial=self.initial_s, maximum=self.maximum_s,
                     multiplier=self.multiplier, timeout=self.deadline_s, on_error=log_retry)


class RestReader:
    """GET requests to Google REST APIs through one AuthorizedSession, with retries and Google's error details."""

    def __init__(self, credentials: Credentials, *, recorder: CallRecorder, retry: RetrySettings, timeout_s: float,
                 pool_size: int = 10) -> None:
        self._session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        # urllib3 retries stay off because the Retry policy retries. The pool is sized for the worker threads.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 10), max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._recorder = recorder
        self._retry = retry
        self._timeout_s = timeout_s

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()  # type: ignore[no-untyped-call]

    def get(self, call: GcpCall, url: str, *, params: Mapping[str, str] | None = None,
            resource_id: str = "") -> dict[str, Any]:
        """Return the JSON object of GET `url`; raise GcpCallFailed on any failure after the retries."""
        def attempt() -> dict[str, Any]:
            response = self._session.get(url, params=dict(params or {}), timeout=self._timeout_s,
                                         headers={"Accept": "application/json"})
            if not 200 <= response.status_code < 300:
                raise api_exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError(f"expected a JSON object, found {type(body).__name__}")
            return body

        self._recorder.record(call)
        return self._retried(call, attempt, resource_id or url)

    def list(self, call: GcpCall, url: str, *, field: str, page_size: int, resource_id: str = "") -> list[Any]:
        """Return every item of a paged Google list response (`field`, followed through `nextPageToken`).

        Google omits empty repeated fields from JSON, so a page without `field` contains no items.
        """
        items: list[Any] = []
        token = ""
        for _page in range(MAX_PAGES):
            params = {"pageSize": str(page_size)}
            if token:
                params["pageToken"] = token
            body = self.get(call, url, params=params, resource_id=resource_id)
            page_items = body.get(field, [])
            if not isinstance(page_items, list):
                raise classify(call, ValueError(f"`{field}` is not a list"), resource_id)
            items.extend(page_items)
            token = str(body.get("nextPageToken") or "")
            if not token:
                return items
        raise classify(call, ValueError(f"more than {MAX_PAGES} pages"), resource_id)

    def _retried(self, call: GcpCall, attempt: Callable[[], T], target: str) -> T:
        try:
            return self._retry.policy(call, target)(attempt)()
        except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError, auth_exceptions.GoogleAuthError,
                requests.RequestException, ValueError) as error:
            raise classify(call, error, target) from error
