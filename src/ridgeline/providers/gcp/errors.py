"""Failures of GCP API calls: one exception type with Google's status, reason and the next step.

Google APIs return errors as `{"error": {"code", "message", "status", "details": [ErrorInfo...]}}`.
google-api-core turns that into a GoogleAPICallError whose `reason` is ErrorInfo's reason (such as
SERVICE_DISABLED) and whose `metadata` names the API and the consumer project. Every failure the scan
records goes through `classify`, so the codes and hints are the same for the asset listing and for
the direct REST reads.
"""

from __future__ import annotations

from typing import Any

import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.protobuf.json_format import ParseError  # type: ignore[import-untyped]

from ridgeline.model.scan import CallError
from ridgeline.providers.gcp.calls import GcpCall

SERVICE_DISABLED = "SERVICE_DISABLED"
"""ErrorInfo reason of a request to an API that is not enabled in the consumer project."""

ACCESS_DENIED_STATUSES = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED", "FORBIDDEN"})


class GcpCallFailed(Exception):
    """A GCP API request that failed after the retries, with Google's status and the reason details."""

    def __init__(self, call: GcpCall, code: str, message: str, *, status: int | None = None, reason: str = "",
                 consumer: str = "", resource_id: str = "") -> None:
        self.call = call
        self.code = code
        """Google's status ("PERMISSION_DENIED", "RESOURCE_EXHAUSTED"), SERVICE_DISABLED, or the exception name."""

        self.message = message
        self.status = status
        """HTTP status of the response; None when no response came."""

        self.reason = reason
        """ErrorInfo reason, such as SERVICE_DISABLED or IAM_PERMISSION_DENIED; "" when absent."""

        self.consumer = consumer
        """Consumer project from ErrorInfo's metadata ("projects/123"), set for SERVICE_DISABLED."""

        self.resource_id = resource_id
        super().__init__(self.describe())

    @property
    def kind(self) -> str:
        """Return "service-disabled", "access-denied", "throttled", "not-found" or "failed"."""
        if self.reason == SERVICE_DISABLED:
            return "service-disabled"
        if self.status in (401, 403) or self.code in ACCESS_DENIED_STATUSES:
            return "access-denied"
        if self.status == 429 or self.code == "RESOURCE_EXHAUSTED":
            return "throttled"
        if self.status == 404 or self.code == "NOT_FOUND":
            return "not-found"
        return "failed"

    def describe(self) -> str:
        """Return e.g. "PERMISSION_DENIED on essentialcontacts.contacts.list (projects/p): ..."."""
        return self.to_error().describe()

    def to_error(self) -> CallError:
        """Return the CallError recorded in coverage."""
        return CallError(call=self.call.permission, code=self.code, message=self.message,
                         resource_id=self.resource_id)


def enable_command(api: str, consumer: str) -> str:
    """Return the gcloud command that enables `api` in the consumer project ("projects/123" or "")."""
    project = consumer.removeprefix("projects/")
    return f"gcloud services enable {api}" + (f" --project={project}" if project else "")


def service_disabled_message(failure: GcpCallFailed) -> str:
    """Return the reason and the fix for a SERVICE_DISABLED failure."""
    where = f" in project {failure.consumer.removeprefix('projects/')}" if failure.consumer else ""
    return (f"the API {failure.call.api} is disabled{where} (SERVICE_DISABLED); enable it with "
            f"`{enable_command(failure.call.api, failure.consumer)}` and scan again")


def classify(call: GcpCall, error: Exception, resource_id: str = "") -> GcpCallFailed:
    """Turn an exception of google-api-core, google-auth, requests or protobuf into GcpCallFailed."""
    if isinstance(error, api_exceptions.RetryError) and isinstance(error.cause, Exception):
        failure = classify(call, error.cause, resource_id)
        failure.message = f"still failing after retries ({one_line(error.message)}): {failure.message}"
        return failure
    if isinstance(error, api_exceptions.GoogleAPICallError):
        return _from_api_error(call, error, resource_id)
    if isinstance(error, auth_exceptions.RefreshError):
        return GcpCallFailed(call, "RefreshError", f"the access token could not be refreshed: {one_line(str(error))}",
                             resource_id=resource_id)
    if isinstance(error, auth_exceptions.TransportError | requests.RequestException):
        return GcpCallFailed(call, type(error).__name__, one_line(str(error)), resource_id=resource_id)
    if isinstance(error, ParseError | ValueError):
        return GcpCallFailed(call, "UnexpectedResponse", f"the response could not be read: {one_line(str(error))}",
                             resource_id=resource_id)
    return GcpCallFailed(call, type(error).__name__, one_line(str(error)), resource_id=resource_id)


def _from_api_error(call: GcpCall, error: api_exceptions.GoogleAPICallError, resource_id: str) -> GcpCallFailed:
    reason = str(error.reason or "")
    metadata: Any = error.metadata or {}
    consumer = str(metadata.get("consumer") or "") if isinstance(metadata, dict) else ""
    body = _error_body(error)
    code = SERVICE_DISABLED if reason == SERVICE_DISABLED else _status_text(error, body)
    # google-api-core prefixes the message with the method and the whole URL; Google's own message is enough.
    message = body.get("message") if isinstance(body.get("message"), str) and body.get("message") else error.message
    status = error.code if isinstance(error.code, int) else None
    return GcpCallFailed(call, code, one_line(str(message or error)), status=status, reason=reason,
                         consumer=consumer, resource_id=resource_id)


def _error_body(error: api_exceptions.GoogleAPICallError) -> dict[str, Any]:
    """Return the `error` object of Google's JSON error response, or {} when the response has none."""
    response = error.response
    if not isinstance(response, requests.Response):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    details = body.get("error") if isinstance(body, dict) else None
    return details if isinstance(details, dict) else {}


def _status_text(error: api_exceptions.GoogleAPICallError, body: dict[str, Any]) -> str:
    """Return the `status` of Google's error body ("PERMISSION_DENIED"), or the best substitute."""
    if isinstance(body.get("status"), str) and body["status"]:
        return str(body["status"])
    if error.grpc_status_code is not None:
        return str(error.grpc_status_code.name)
    return str(error.code or type(error).__name__)


def one_line(text: str, limit: int = 500) -> str:
    """Return `text` on one line, cut to `limit` characters."""
    return " ".join(text.split())[:limit]
