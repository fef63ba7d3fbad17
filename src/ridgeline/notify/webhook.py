"""Notifiers that POST JSON over HTTP: a generic webhook and a Slack incoming webhook."""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from ridgeline.notify.model import DeliveryError, Notification

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for the connection and for each read."""

SLACK_MAX_LINES = 50
"""Notifications listed in one Slack message; the rest are counted in a closing line."""


class _RejectRedirects(urllib.request.HTTPRedirectHandler):
    """Fail on redirects, because urllib would follow them with the secret header and without the body."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: http.client.HTTPMessage, newurl: str) -> NoReturn:
        raise urllib.error.HTTPError(req.full_url, code, f"redirect rejected: {msg}", headers, fp)


_OPENER = urllib.request.build_opener(_RejectRedirects())


def _check_url(url: str) -> str:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"invalid webhook URL scheme {scheme!r}: expected http or https")
    return url


def post_json(url: str, document: Any, *, timeout: float, headers: dict[str, str], label: str) -> None:
    """POST `document` as JSON and raise `DeliveryError` unless the server returns a 2xx status.

    `label` names the destination in error messages. The URL and the header values are left out of
    them because both can carry a secret, and Slack webhook URLs contain a token.
    """
    body = json.dumps(document, sort_keys=True, default=str).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as error:
        # HTTPError is also the response; close it so the connection is released.
        error.close()
        raise DeliveryError(f"POST to {label} failed: HTTP {error.code}") from None
    except urllib.error.URLError as error:
        raise DeliveryError(f"POST to {label} failed: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"POST to {label} failed: {type(error).__name__}: {error}") from None

    if not 200 <= status < 300:
        raise DeliveryError(f"POST to {label} failed: HTTP {status}")


class WebhookNotifier:
    """POST each batch as `{"notifications": [...]}` to a URL, with an optional shared-secret header."""

    def __init__(self, url: str, *, name: str = "webhook", secret_header: str | None = None,
                 secret: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        if (secret_header is None) != (secret is None):
            raise ValueError("secret_header and secret must be given together")
        self._url = _check_url(url)
        self._name = name
        self._headers = {secret_header: secret} if secret_header is not None and secret is not None else {}
        self._timeout = timeout

    @property
    def name(self) -> str:
        """Name used in logs."""
        return self._name

    def __repr__(self) -> str:
        # Keep the secret out of tracebacks and debug logs that print the object.
        return f"WebhookNotifier(name={self._name!r})"

    def send(self, batch: Sequence[Notification]) -> None:
        """POST the batch."""
        document = {"notifications": [item.document() for item in batch]}
        post_json(self._url, document, timeout=self._timeout, headers=self._headers, label=self._name)


def slack_escape(text: str) -> str:
    """Escape `&`, `<` and `>` so that Slack shows them as text instead of links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_line(item: Notification) -> str:
    """Format one notification as a Slack mrkdwn line, with every value from the finding escaped."""
    finding = item.finding
    resource = finding.resource_name or finding.resource_id
    return (f"*{item.event.upper()}* [{slack_escape(finding.severity.value)}] "
            f"{slack_escape(finding.rule_id)}: {slack_escape(item.rule_title)} | "
            f"{slack_escape(finding.resource_type)} {slack_escape(resource)} "
            f"({slack_escape(finding.provider)} {slack_escape(finding.account)} {slack_escape(finding.region)})")


def slack_message(batch: Sequence[Notification]) -> dict[str, str]:
    """Build the incoming-webhook payload for a batch: one line per notification, capped at SLACK_MAX_LINES."""
    lines = [slack_line(item) for item in batch[:SLACK_MAX_LINES]]
    if len(batch) > SLACK_MAX_LINES:
        lines.append(f"... and {len(batch) - SLACK_MAX_LINES} more finding changes")
    return {"text": "\n".join(lines)}


class SlackNotifier:
    """POST each batch as one message to a Slack incoming webhook."""

    def __init__(self, url: str, *, name: str = "slack", timeout: float = DEFAULT_TIMEOUT) -> None:
        self._url = _check_url(url)
        self._name = name
        self._timeout = timeout

    @property
    def name(self) -> str:
        """Name used in logs."""
        return self._name

    def __repr__(self) -> str:
        # The webhook URL is a credential.
        return f"SlackNotifier(name={self._name!r})"

    def send(self, batch: Sequence[Notification]) -> None:
        """POST the batch as one message."""
        post_json(self._url, slack_message(batch), timeout=self._timeout, headers={}, label=self._name)
