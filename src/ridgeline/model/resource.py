"""The resource envelope: one shape for every collected or imported cloud resource.

The body (`configuration`, `supplementary`) keeps the provider's own inventory shape: the AWS Config
configuration item, the Azure Resource Manager resource, the Cloud Asset Inventory asset. Rules are
written against those shapes, so the same rule judges a live scan and an exported file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Resource:
    """A cloud resource, or a provider-level fact that the inventories lack (password policy, ...)."""

    provider: str
    """Cloud provider: "aws", "azure" or "gcp"."""

    account: str
    """AWS account id, Azure subscription id or GCP project id."""

    region: str
    """Provider region; "global" for global services such as IAM."""

    type: str
    """Provider type name, e.g. "AWS::S3::Bucket"; facts of our own use "Ridgeline::<Service>::<Name>"."""

    id: str
    """Provider identifier: ARN, ARM id or Cloud Asset Inventory name."""

    name: str
    """Human-readable name (bucket name, role name, ...)."""

    configuration: dict[str, Any] = field(default_factory=dict)
    """The provider's configuration document (AWS Config `configuration`)."""

    supplementary: dict[str, Any] = field(default_factory=dict)
    """Settings read by further calls (AWS Config `supplementaryConfiguration`)."""

    tags: dict[str, str] = field(default_factory=dict)

    relationships: list[dict[str, Any]] = field(default_factory=list)

    errors: dict[str, str] = field(default_factory=dict)
    """Paths whose value could not be read, mapped to the reason (e.g. "AccessDenied on s3:GetBucketPolicy").

    A path here is unknown, never empty: rules that read it report ERROR instead of PASS or FAIL.
    """

    collected_at: str = ""
    """ISO 8601 time of collection."""

    source: str = "api"
    """How the resource was read: "api" for a live scan, "file:<path>" for an import."""

    def to_dict(self) -> dict[str, Any]:
        """Return the envelope as plain JSON-ready data."""
        return {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "type": self.type,
            "id": self.id,
            "name": self.name,
            "configuration": self.configuration,
            "supplementaryConfiguration": self.supplementary,
            "tags": self.tags,
            "relationships": self.relationships,
            "errors": self.errors,
            "collected_at": self.collected_at,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Resource:
        """Build an envelope from `to_dict` output."""
        return cls(
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            type=data["type"],
            id=data["id"],
            name=data.get("name", ""),
            configuration=data.get("configuration") or {},
            supplementary=data.get("supplementaryConfiguration") or {},
            tags=data.get("tags") or {},
            relationships=data.get("relationships") or [],
            errors=data.get("errors") or {},
            collected_at=data.get("collected_at", ""),
            source=data.get("source", "api"),
        )
