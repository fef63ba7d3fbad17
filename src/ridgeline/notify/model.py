"""Notifications about finding changes, and the interface every notifier implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ridgeline.model.finding import Finding

Event = Literal["new", "reopened", "resolved"]
EVENTS: tuple[Event, ...] = ("new", "reopened", "resolved")


class DeliveryError(Exception):
    """Failure to deliver a batch, which the dispatcher retries."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One life-cycle change of one finding."""

    event: Event
    finding: Finding
    rule_title: str
    when: datetime
    """Time of the change, expected timezone-aware in UTC (not checked)."""

    def document(self) -> dict[str, Any]:
        """Return the JSON-ready form that the webhook and stdout notifiers send."""
        finding = self.finding
        return {
            "event": self.event,
            "when": self.when.isoformat(),
            "finding_id": finding.id,
            "rule_id": finding.rule_id,
            "rule_title": self.rule_title,
            "status": finding.status.value,
            "severity": finding.severity.value,
            "category": finding.category,
            "provider": finding.provider,
            "account": finding.account,
            "region": finding.region,
            "resource_id": finding.resource_id,
            "resource_type": finding.resource_type,
            "resource_name": finding.resource_name,
            "message": finding.message,
            "evidence": finding.evidence,
        }


class Notifier(Protocol):
    """A destination for notifications."""

    @property
    def name(self) -> str:
        """Name used in logs, so it must not contain a secret such as a webhook URL."""
        ...

    def send(self, batch: Sequence[Notification]) -> None:
        """Deliver a non-empty batch, or raise `DeliveryError` so that the dispatcher retries it."""
        ...
