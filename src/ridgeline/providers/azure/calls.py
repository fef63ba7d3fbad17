"""Management API calls of an Azure scan: what each one reads, the RBAC action it needs, and how it fails.

Every request the scan sends goes through an `AzureCall`, declared here or in declarations.py, so the
custom role of `ridgeline permissions azure` lists exactly the actions the scan uses, and a recorder can
check that a scan made no other request.

This module imports the Azure SDK only inside `classify`, so the declarations and the custom role built
from them import without the azure extra.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ridgeline.model.scan import CallError

if TYPE_CHECKING:
    from azure.core.exceptions import AzureError


@dataclass(frozen=True, slots=True)
class AzureCall:
    """One kind of management API request and the RBAC action that authorises it."""

    name: str
    """Short label for logs and coverage errors, e.g. "sql.auditingSettings"."""

    action: str
    """RBAC action, e.g. "Microsoft.Sql/servers/auditingSettings/read"."""

    api_version: str
    """The `api-version` query parameter sent with the request."""

    method: str = "GET"

    @property
    def read_only(self) -> bool:
        """Tell whether the call only reads: a GET, or the Resource Graph query (a POST that reads)."""
        return self.method == "GET" or self.action == GRAPH_QUERY.action


GRAPH_QUERY = AzureCall("resourceGraph.resources", "Microsoft.ResourceGraph/resources/read", "2021-03-01", "POST")
"""The Resource Graph query (POST /providers/Microsoft.ResourceGraph/resources)."""

ACCESS_DENIED_CODES = frozenset({
    "AuthorizationFailed", "LinkedAuthorizationFailed", "Forbidden", "AuthenticationFailed",
    "InvalidAuthenticationToken", "InvalidAuthenticationTokenTenant", "ExpiredAuthenticationToken",
    "AuthorizationPermissionMismatch",
})
THROTTLING_CODES = frozenset({"TooManyRequests", "RateLimiting", "SubscriptionRequestsThrottled", "429"})


class AzureCallFailed(Exception):
    """A management API request that failed after the SDK's retries, with Azure's error code and message."""

    def __init__(self, call: AzureCall, code: str, message: str, *, status: int | None = None,
                 resource_id: str = "") -> None:
        self.call = call
        self.code = code
        self.message = message
        self.status = status
        self.resource_id = resource_id
        super().__init__(self.describe())

    @property
    def kind(self) -> str:
        """Return "access-denied", "throttled", "not-found" or "failed"."""
        if self.status in (401, 403) or self.code in ACCESS_DENIED_CODES:
            return "access-denied"
        if self.status == 429 or self.code in THROTTLING_CODES:
            return "throttled"
        if self.status == 404:
            return "not-found"
        return "failed"

    def describe(self) -> str:
        """Return e.g. "AuthorizationFailed on Microsoft.Sql/servers/auditingSettings/read (ID): ..."."""
        return self.to_error().describe()

    def to_error(self) -> CallError:
        """Return the CallError recorded in coverage."""
        return CallError(call=self.call.action, code=self.code, message=self.message, resource_id=self.resource_id)


def error_from_body(call: AzureCall, status: int, body: Any, resource_id: str = "") -> AzureCallFailed:
    """Build the failure of a response whose status is not 2xx from ARM's `{"error": {"code", "message"}}` body."""
    code = str(status)
    message = f"HTTP {status}"
    if isinstance(body, dict):
        # ARM wraps errors in "error"; a few older services put code and message at the top level.
        nested = body.get("error")
        details: dict[str, Any] = nested if isinstance(nested, dict) else body
        code = str(details.get("code") or code)
        message = str(details.get("message") or message)
    return AzureCallFailed(call, code, one_line(message), status=status, resource_id=resource_id)


def classify(call: AzureCall, error: AzureError, resource_id: str = "") -> AzureCallFailed:
    """Turn an azure-core exception (HTTP error, connection error, token error) into AzureCallFailed."""
    # Imported here, not at the top: only a scan classifies SDK errors, and a scan has the SDK installed.
    from azure.core.exceptions import HttpResponseError

    if isinstance(error, HttpResponseError):
        status = error.status_code
        details = error.error
        code = (details.code if details is not None and details.code else None) or str(status or type(error).__name__)
        message = details.message if details is not None and details.message else str(error.message or error)
        return AzureCallFailed(call, code, one_line(message), status=status, resource_id=resource_id)
    return AzureCallFailed(call, type(error).__name__, one_line(str(error.message or error)), resource_id=resource_id)


def one_line(text: str, limit: int = 500) -> str:
    """Return `text` on one line, cut to `limit` characters (Azure messages can span lines)."""
    return " ".join(text.split())[:limit]


class CallRecorder:
    """Counts the requests of a scan by call name; retries by the SDK's policy count once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.calls: dict[str, AzureCall] = {}

    def record(self, call: AzureCall) -> None:
        """Count one request of `call`."""
        with self._lock:
            self.counts[call.name] += 1
            self.calls[call.name] = call

    @property
    def total(self) -> int:
        """Return the number of requests made."""
        with self._lock:
            return sum(self.counts.values())
