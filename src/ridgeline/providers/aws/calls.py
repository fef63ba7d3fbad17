"""API calls: what collectors declare, how failures are classified, and the recorder that checks them.

Every call a collector makes is declared up front as an `ApiCall`. The declarations give the
least-privilege IAM policy (`ridgeline permissions aws`), and the recorder lets tests prove that a scan
made no undeclared and no mutating call.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ridgeline.model.scan import CallError

# Operations that are not Describe/Get/List but are still read-only. GenerateCredentialReport only makes
# IAM build the credential report that GetCredentialReport then reads, and it changes no configuration.
READ_ONLY_EXCEPTIONS = frozenset({("iam", "GenerateCredentialReport")})
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Lookup")


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One API operation a collector makes, and the IAM action that authorises it."""

    client: str
    """boto3 client name, e.g. "s3control"."""

    operation: str
    """Operation name as in the API reference, e.g. "GetPublicAccessBlock"."""

    action: str
    """IAM action, e.g. "s3:GetAccountPublicAccessBlock"."""

    @property
    def read_only(self) -> bool:
        """Tell whether the operation only reads."""
        return self.operation.startswith(READ_ONLY_PREFIXES) or (self.client, self.operation) in READ_ONLY_EXCEPTIONS


def api_calls(client: str, *specs: str) -> tuple[ApiCall, ...]:
    """Declare calls of one client: "Operation" or "Operation=service:Action" when the action differs."""
    declared = []
    for spec in specs:
        operation, _, action = spec.partition("=")
        declared.append(ApiCall(client, operation, action or f"{client}:{operation}"))
    return tuple(declared)


ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "UnauthorizedAccess", "Forbidden", "AuthorizationErrorException", "403",
})
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "SlowDown", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "LimitExceededException",
})
REGION_DISABLED_CODES = frozenset({
    "OptInRequired", "UnrecognizedClientException", "InvalidClientTokenId", "AuthFailure",
    "UnsupportedOperation", "InvalidAction",
})


class CallFailed(Exception):
    """An API call that failed for a reason other than "the thing does not exist"."""

    def __init__(self, call: ApiCall, code: str, message: str, resource_id: str = "") -> None:
        self.call = call
        self.code = code
        self.message = message
        self.resource_id = resource_id
        super().__init__(self.describe())

    @property
    def kind(self) -> str:
        """Return "access-denied", "throttled", "region-disabled" or "failed"."""
        if self.code in ACCESS_DENIED_CODES:
            return "access-denied"
        if self.code in THROTTLING_CODES:
            return "throttled"
        if self.code in REGION_DISABLED_CODES:
            return "region-disabled"
        return "failed"

    def describe(self) -> str:
        """Return e.g. "AccessDenied on s3:GetBucketPolicy (my-bucket): ..."."""
        return self.to_error().describe()

    def to_error(self) -> CallError:
        """Return the CallError recorded in coverage."""
        return CallError(call=self.call.action, code=self.code, message=self.message, resource_id=self.resource_id)


def classify(call: ApiCall, error: ClientError | BotoCoreError | ResponseParserError,
             resource_id: str = "") -> CallFailed:
    """Turn a botocore exception into CallFailed with the provider's code and message."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?"))
        message = str(details.get("Message") or error)
    else:
        code = type(error).__name__
        message = " ".join(str(error).split())[:500]
    return CallFailed(call, code, message, resource_id)


def error_code(error: ClientError) -> str:
    """Return the error code of a ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One API call with its parameters, kept when a recorder is asked to (for benchmarks)."""

    client: str
    region: str
    operation: str
    parameters: dict[str, Any]


class CallRecorder:
    """Counts every API call made through Ridgeline's clients, by (client, operation).

    With `keep_calls`, it also keeps each call's parameters so a benchmark can replay exactly the
    calls a scan made, without the scanner around them.
    """

    def __init__(self, *, keep_calls: bool = False) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.keep_calls = keep_calls
        self.calls: list[RecordedCall] = []

    def attach(self, client: Any, client_name: str) -> None:
        """Hook the recorder into a boto3 client; retries of one call count once."""
        region = client.meta.region_name

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            with self._lock:
                self.counts[(client_name, model.name)] += 1
                if self.keep_calls:
                    self.calls.append(RecordedCall(client_name, region, model.name, dict(params)))

        # provide-client-params fires once per API call, before validation, with the caller's parameters.
        client.meta.events.register("provide-client-params", record)

    @property
    def total(self) -> int:
        """Return the number of API calls made (retries excluded)."""
        with self._lock:
            return sum(self.counts.values())
