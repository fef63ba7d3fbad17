"""Notifier that sends one e-mail per batch over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from ridgeline.notify.model import DeliveryError, Notification

DEFAULT_TIMEOUT = 30.0
"""Seconds to wait for the SMTP connection and each reply."""


def email_body(batch: Sequence[Notification]) -> str:
    """Return the plain-text body: one block per notification."""
    blocks = []
    for item in batch:
        finding = item.finding
        blocks.append("\n".join([
            f"{item.event.upper()} [{finding.severity.value}] {finding.rule_id}: {item.rule_title}",
            f"  resource: {finding.resource_type} {finding.resource_name or finding.resource_id}",
            f"  resource id: {finding.resource_id}",
            f"  where: {finding.provider} account {finding.account} region {finding.region or '-'}",
            f"  finding id: {finding.id}",
            f"  notification id: {item.id}",
            f"  when: {item.when.isoformat()}",
            f"  {finding.message}",
        ]))
    return "\n\n".join(blocks) + "\n"


class EmailNotifier:
    """Send each batch as one plain-text e-mail, with optional STARTTLS and login."""

    def __init__(self, host: str, port: int, sender: str, recipients: Sequence[str], *, name: str = "email",
                 starttls: bool = False, username: str | None = None, password: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, subject_prefix: str = "[Ridgeline]") -> None:
        if not recipients:
            raise ValueError("missing e-mail recipients: give at least one address")
        if (username is None) != (password is None):
            raise ValueError("username and password must be given together")
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = list(recipients)
        self._name = name
        self._starttls = starttls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._subject_prefix = subject_prefix

    @property
    def name(self) -> str:
        """Name used in logs."""
        return self._name

    def __repr__(self) -> str:
        return f"EmailNotifier(name={self._name!r}, host={self._host!r}, port={self._port})"

    def message(self, batch: Sequence[Notification]) -> EmailMessage:
        """Build the e-mail for a batch."""
        counts = {event: sum(1 for item in batch if item.event == event) for event in ("new", "reopened", "resolved")}
        summary = ", ".join(f"{count} {event}" for event, count in counts.items() if count)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(self._recipients)
        # The subject carries only counts, so finding text (which may contain CR/LF) never reaches a header.
        message["Subject"] = f"{self._subject_prefix} {len(batch)} finding changes: {summary}"
        message.set_content(email_body(batch))
        return message

    def send(self, batch: Sequence[Notification]) -> None:
        """Send the batch as one e-mail."""
        message = self.message(batch)
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as client:
                if self._starttls:
                    client.starttls(context=ssl.create_default_context())
                if self._username is not None and self._password is not None:
                    client.login(self._username, self._password)
                client.send_message(message, from_addr=self._sender, to_addrs=self._recipients)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP delivery via {self._name} to {self._host}:{self._port} failed: "
                                f"{type(error).__name__}: {error}") from None
