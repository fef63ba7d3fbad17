"""Cloud SQL functions that rule conditions can call: database flags and authorized networks.

One function serves every database flag rule: the rule names the flag, the engine's default and the
safe values, so a flag that is not set is judged by its default. Malformed settings make the outcome
unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis import gcp_sql
from ridgeline.rules.functions import Outcome, check_function


@check_function("gcp.sql_flag_unsafe", path_args=("settings",), literal_args=("flag", "default", "safe_values"),
                required=("settings", "flag", "safe_values"))
def sql_flag_unsafe(settings: Any, flag: str, safe_values: list[str], default: str | None = None) -> Outcome:
    """True when database flag `flag` is in force with a value outside `safe_values`.

    `settings` is the instance's `settings`, and `default` the engine's value when the flag is not set
    (omit it for a flag that has none). Values compare without regard to case.
    """
    if not isinstance(flag, str) or not isinstance(safe_values, list) or not all(
            isinstance(value, str) for value in safe_values):
        return Outcome(None, "gcp.sql_flag_unsafe needs a flag name and a list of safe values as strings")
    if default is not None and not isinstance(default, str):
        return Outcome(None, f"gcp.sql_flag_unsafe: default of {flag} must be a string, got {default!r}")

    try:
        setting = gcp_sql.database_flag(settings, flag, default=default, safe_values=safe_values)
    except ValueError as error:
        return Outcome(None, str(error))
    allowed = ", ".join(repr(value) for value in safe_values)
    return Outcome(not setting.safe, f"{setting.describe()}; safe: {allowed}")


@check_function("gcp.sql_authorized_networks_open", path_args=("ip_configuration",))
def sql_authorized_networks_open(ip_configuration: Any) -> Outcome:
    """True when the authorized networks of an instance admit every IPv4 or every IPv6 address."""
    try:
        exposed = gcp_sql.open_authorized_networks(ip_configuration)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(exposed), "authorized networks cover the whole address space: " + ", ".join(exposed)
                   if exposed else "")
