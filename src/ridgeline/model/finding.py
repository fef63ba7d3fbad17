"""Findings: the verdict of one rule on one resource (or on one account or region scope)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Outcome of a rule on a resource."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    """Not assessed: the data the rule needs could not be read (denied, throttled, failed call)."""
    MUTED = "MUTED"
    """A FAIL that a suppression with a reason covers."""


class Severity(StrEnum):
    """Finding severity, ordered from most to least urgent by `rank`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        """Return 4 for critical down to 0 for informational."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse a severity name case-insensitively; "info" is accepted for informational."""
        text = value.strip().lower()
        if text == "info":
            text = "informational"
        try:
            return cls(text)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"invalid severity {value!r}: expected one of {names}") from None


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFORMATIONAL: 0,
}

CATEGORIES = (
    "storage-exposure",
    "iam",
    "network-exposure",
    "encryption",
    "logging-monitoring",
    "data-protection",
)
"""Misconfiguration classes; every rule belongs to exactly one. The first five are the exposure classes;
"data-protection" contains recoverability settings (versioning, backups, deletion protection)."""


def finding_id(rule_id: str, resource_id: str, region: str = "") -> str:
    """Return the stable id of a finding: the same rule on the same resource always gets the same id."""
    digest = hashlib.sha256(f"{rule_id}\x00{resource_id}\x00{region}".encode()).hexdigest()
    return digest[:32]


@dataclass(slots=True)
class Finding:
    """The result of one rule on one resource."""

    rule_id: str
    status: Status
    severity: Severity
    category: str
    provider: str
    account: str
    region: str
    resource_id: str
    resource_type: str
    resource_name: str
    message: str
    """One sentence: what is wrong (FAIL), right (PASS) or why it was not assessed (ERROR)."""

    evidence: dict[str, Any] = field(default_factory=dict)
    """The configuration paths and values the rule looked at, and analysis details."""

    muted_reason: str = ""

    @property
    def id(self) -> str:
        """Stable finding id (rule and resource)."""
        return finding_id(self.rule_id, self.resource_id, self.region)
