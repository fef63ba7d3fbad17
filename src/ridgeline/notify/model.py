"""Notifications about finding changes, and the interface every notifier implements."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, cast

from ridgeline.model.finding import Finding, Severity, Status

Event = Literal["new", "reopened", "resolved"]
EVENTS: tuple[Event, ...] = ("new", "reopened", "resolved")


class DeliveryError(Exception):
    """Failure to deliver a batch, which the dispatcher retries."""


def notification_id(finding_id: str, event: str, origin: str) -> str:
    """Return the stable id of a notification: the same change of the same finding always gets the same id.

    `origin` names what made the change: the id of the stored scan (a full scan or an increment), so that
    a redelivery after a crash carries the id of the first attempt and a receiver can drop the copy.
    """
    digest = hashlib.sha256(f"{finding_id}\x00{event}\x00{origin}".encode()).hexdigest()
    return digest[:32]


@dataclass(frozen=True, slots=True)
class Notification:
    """One life-cycle change of one finding."""

    event: Event
    finding: Finding
    rule_title: str
    when: datetime
    """Time of the change, expected timezone-aware in UTC (not checked)."""
    scan_id: str = ""
    """The stored scan whose life-cycle change this is; empty when the notification was built without one."""

    @property
    def id(self) -> str:
        """Stable notification id, from the finding id, the event and the scan (or the time, without a scan)."""
        return notification_id(self.finding.id, self.event, self.scan_id or self.when.isoformat())

    def document(self) -> dict[str, Any]:
        """Return the JSON-ready form that the webhook and stdout notifiers send."""
        finding = self.finding
        return {
            "notification_id": self.id,
            "scan_id": self.scan_id,
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

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Notification:
        """Rebuild a notification from its `document()`, as the outbox stores it.

        Raise ValueError when a field is missing or invalid, or when the rebuilt notification would carry
        another id than the stored one.
        """
        try:
            event = document["event"]
            if event not in EVENTS:
                raise ValueError(f"invalid event {event!r}: expected one of {list(EVENTS)}")
            finding = Finding(rule_id=document["rule_id"], status=Status(document["status"]),
                              severity=Severity(document["severity"]), category=document["category"],
                              provider=document["provider"], account=document["account"], region=document["region"],
                              resource_id=document["resource_id"], resource_type=document["resource_type"],
                              resource_name=document["resource_name"], message=document["message"],
                              evidence=dict(document.get("evidence") or {}))
            rebuilt = cls(event=cast(Event, event), finding=finding, rule_title=document["rule_title"],
                          when=datetime.fromisoformat(document["when"]), scan_id=document.get("scan_id") or "")
        except KeyError as error:
            raise ValueError(f"invalid notification document: missing field {error}") from None
        except TypeError as error:
            raise ValueError(f"invalid notification document: a field has the wrong type ({error})") from None

        stored_id = document.get("notification_id")
        if stored_id is not None and stored_id != rebuilt.id:
            raise ValueError(f"invalid notification document: id {stored_id!r} does not match {rebuilt.id!r}, "
                             "the id of its fields")
        return rebuilt


class Notifier(Protocol):
    """A destination for notifications."""

    @property
    def name(self) -> str:
        """Name used in logs, so it must not contain a secret such as a webhook URL."""
        ...

    def send(self, batch: Sequence[Notification]) -> None:
        """Deliver a non-empty batch, or raise `DeliveryError` so that the dispatcher retries it."""
        ...
