"""Azure database analysis functions that rule conditions can call (`check: azure.NAME`).

The server parameter rules of PostgreSQL and MySQL flexible servers form one family, so they
share one function. A parameter that was not collected makes the outcome unknown (ERROR).
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis import azure_databases
from ridgeline.rules.functions import Outcome, check_function


@check_function("azure.server_parameter_violates", path_args=("configurations",),
                literal_args=("name", "allowed", "required", "minimum", "separator"),
                required=("configurations", "name"))
def server_parameter_violates(configurations: Any, name: str, allowed: list[str] | None = None,
                              required: list[str] | None = None, minimum: float | None = None,
                              separator: str | None = None) -> Outcome:
    """True when server parameter `name` is outside `allowed`, lacks a `required` item or is below `minimum`.

    Give one of the three. `separator` (such as ",") splits list values like tls_version, so
    each item is judged. Values compare without regard to case.
    """
    if configurations is None:
        return Outcome(None, "the server parameters were not collected")
    try:
        violation = azure_databases.parameter_violation(configurations, name, allowed=allowed, required=required,
                                                        minimum=minimum, separator=separator)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(violation is not None, violation or "")


@check_function("azure.sql_audit_retention_short", path_args=("auditing",), literal_args=("more_than_days",),
                required=("auditing", "more_than_days"))
def sql_audit_retention_short(auditing: Any, more_than_days: int) -> Outcome:
    """True when an Azure SQL auditing policy keeps records in its storage account for `more_than_days` or fewer.

    `auditing` is the auditing settings resource (or its `properties`). Destinations whose retention
    the policy does not show (Log Analytics, Event Hubs) make the outcome unknown.
    """
    if auditing is None:
        return Outcome(None, "the auditing settings were not collected")
    properties = auditing.get("properties", auditing) if isinstance(auditing, dict) else auditing
    try:
        shortfall = azure_databases.audit_retention_shortfall(properties, more_than_days)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(shortfall is not None, shortfall or "")
