"""Notifications about new, reopened and resolved findings, and the notifiers that deliver them."""

from ridgeline.notify.dispatch import Dispatcher, DispatchStats, RetryPolicy
from ridgeline.notify.model import EVENTS, DeliveryError, Event, Notification, Notifier
from ridgeline.notify.smtp import EmailNotifier
from ridgeline.notify.stdout import StdoutNotifier
from ridgeline.notify.webhook import SlackNotifier, WebhookNotifier, slack_escape

__all__ = [
    "EVENTS",
    "DeliveryError",
    "DispatchStats",
    "Dispatcher",
    "EmailNotifier",
    "Event",
    "Notification",
    "Notifier",
    "RetryPolicy",
    "SlackNotifier",
    "StdoutNotifier",
    "WebhookNotifier",
    "slack_escape",
]
