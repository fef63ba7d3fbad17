"""Cloud SQL functions that rule conditions can call: database flags and authorized networks.

One function serves every database flag rule: the rule names the flag, the engine's default and the
safe values, so a flag that is not set is judged by its default. Malformed settings make the outcome
unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ridgeline.analysis import gcp_sql
from ridgeline.model.resource import Resource
from ridgeline.rules.functions import Outcome, check_function


@check_function("gcp.sql_flag_unsafe", path_args=("flags",),
                literal_args=("subject", "flag", "default", "safe_values"), required=("flags", "flag", "safe_values"))
def sql_flag_unsafe(flags: Any, flag: str, safe_values: list[str], default: str | None = None,
                    subject: Resource | None = None) -> Outcome:
    """True when database flag `flag` is in force with a value outside `safe_values`.

    `flags` is the instance's `settings.databaseFlags`, and `default` the engine's value when the flag is not
    set (omit it for a flag that has none). Values compare without regard to case. Rules pass the flags
    alone, because the engine records each argument as evidence, and the rest of `settings` contains labels
    that may be secret. `subject` is the instance: without `settings` its flags are unknown, not unset.
    """
    if not isinstance(flag, str) or not isinstance(safe_values, list) or not all(
            isinstance(value, str) for value in safe_values):
        return Outcome(None, "gcp.sql_flag_unsafe needs a flag name and a list of safe values as strings")
    if default is not None and not isinstance(default, str):
        return Outcome(None, f"gcp.sql_flag_unsafe: default of {flag} must be a string, got {default!r}")

    # database_flag reports a missing or malformed `settings`. When `settings` is there, it reads only the flags.
    settings = subject.configuration.get("settings") if subject is not None else None
    if isinstance(settings, Mapping):
        settings = {"databaseFlags": flags}
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
