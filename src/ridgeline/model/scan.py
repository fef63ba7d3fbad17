"""Scan bookkeeping: what was collected from each (account, region, service) unit, and how completely."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Completeness(StrEnum):
    """Completeness of one collection unit."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    """Listing worked but some per-resource calls failed; affected resources carry `errors`."""
    FAILED = "failed"
    """Nothing could be listed; every rule of the service is ERROR for this unit."""


@dataclass(slots=True)
class CallError:
    """One failed API call, as reported to the user."""

    call: str
    """IAM action name of the call, e.g. "s3:GetBucketPolicy"."""

    code: str
    """Provider error code (AccessDenied, Throttling, ...) or the exception name."""

    message: str
    resource_id: str = ""

    def describe(self) -> str:
        """Return a one-line description such as "AccessDenied on s3:GetBucketPolicy (my-bucket): ..."."""
        target = f" ({self.resource_id})" if self.resource_id else ""
        return f"{self.code} on {self.call}{target}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        """Return JSON-ready data."""
        return {"call": self.call, "code": self.code, "message": self.message, "resource_id": self.resource_id}


@dataclass(slots=True)
class Coverage:
    """The outcome of one collection unit (provider, account, region, service)."""

    provider: str
    account: str
    region: str
    service: str
    status: Completeness = Completeness.COMPLETE
    resource_counts: dict[str, int] = field(default_factory=dict)
    failed_types: dict[str, str] = field(default_factory=dict)
    """Resource types that could not be listed in this unit, with the reason; their rules are ERROR."""

    errors: list[CallError] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def scope_id(self) -> str:
        """Return the pseudo-resource id of this unit's scope, used by findings about the scope itself."""
        return scope_resource_id(self.provider, self.account, self.region)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        return {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "service": self.service,
            "status": self.status.value,
            "resource_counts": dict(sorted(self.resource_counts.items())),
            "failed_types": dict(sorted(self.failed_types.items())),
            "errors": [error.to_dict() for error in self.errors],
            "duration_s": round(self.duration_s, 3),
        }


ACCOUNT_SCOPE_TYPE = "Ridgeline::Account"
REGION_SCOPE_TYPE = "Ridgeline::Region"


def scope_resource_id(provider: str, account: str, region: str = "") -> str:
    """Return the id findings use for an account ("aws:123456789012") or a region of it."""
    if not region or region == "global":
        return f"{provider}:{account}"
    return f"{provider}:{account}:{region}"
