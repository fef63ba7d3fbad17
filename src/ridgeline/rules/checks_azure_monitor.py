"""Azure Monitor analysis functions that rule conditions can call (`check: azure.NAME`).

They adapt `ridgeline.analysis.azure_monitor` to the rule language. Malformed resources make the
outcome unknown (ERROR), never a silent pass or fail.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis.azure_monitor import activity_event, alert_covers, diagnostic_logs_exported
from ridgeline.rules.functions import Outcome, check_function


@check_function("azure.activity_log_alert_covers", path_args=("alert",),
                literal_args=("subject", "operation", "category", "allowed_filters"), required=("alert",))
def activity_log_alert_covers(alert: Any, subject: Any, operation: str | None = None,
                              category: str = "Administrative", allowed_filters: list[str] | None = None) -> Outcome:
    """True when an activity log alert rule is enabled, applies to its whole subscription, notifies an
    action group and fires on every event of `operation` in `category` (every event of the category
    when no operation is given). `allowed_filters` names fields on which the rule may narrow its events.
    """
    if alert is None:
        return Outcome(None, "the alert rule has no configuration")
    try:
        judgement = alert_covers(alert, subject.account, activity_event(operation, category), allowed_filters or ())
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(judgement.holds, judgement.detail)


@check_function("azure.diagnostic_logs_exported", path_args=("settings",),
                literal_args=("categories", "category_groups"), required=("settings",))
def diagnostic_logs_exported_check(settings: Any, categories: list[str] | None = None,
                                   category_groups: list[str] | None = None) -> Outcome:
    """True when a diagnostic setting (one, or any of a list) sends the named log categories to a
    destination, by name or through one of `category_groups`. With no categories, any enabled log counts.
    """
    # An absent value means the settings were not read, which differs from an empty list, so it is unknown.
    if settings is None:
        return Outcome(None, "the diagnostic settings were not collected")
    if not isinstance(settings, dict | list):
        return Outcome(None, f"expected a diagnostic setting or a list of them, found {type(settings).__name__}")
    try:
        judgement = diagnostic_logs_exported(settings, categories or (), category_groups or ())
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(judgement.holds, judgement.detail)
