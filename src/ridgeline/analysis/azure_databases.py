"""Settings of Azure databases that rules judge: server parameters and SQL auditing retention.

For the server parameters of Azure Database for PostgreSQL and MySQL flexible servers, a live
scan calls `GET {server id}/configurations` and stores the parameters by name. Each is a child
resource whose `properties.value` is a string ("on", "ON", "TLSv1.2,TLSv1.3", "3"). One
function judges the three kinds of constraint that rules place on those values. The value, or
each item of a comma-separated value, must be one of some allowed values. Or the items must
include some required ones. Or the value must be a number at least some minimum.

Values compare without regard to case and surrounding spaces, as both services accept
"ON" and "on". A parameter missing from the list, or a value of the wrong form, raises
ValueError: it is not known, which is different from being wrong. The same holds for an
auditing policy whose retention cannot be read from the policy itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["audit_retention_shortfall", "parameter_value", "parameter_violation"]


def parameter_value(configurations: Any, name: str) -> str:
    """Return the value of server parameter `name` as a string.

    `configurations` maps parameter names to child resources, as the catalogue stores them,
    or is a list of such resources. Raises ValueError when the parameter is missing or has no
    string or number value.
    """
    if isinstance(configurations, Mapping):
        parameter = configurations.get(name)
        if parameter is None:
            # Parameter names are lower case, but an export may have changed the case of the keys.
            parameter = next((item for key, item in configurations.items() if str(key).lower() == name.lower()),
                             None)
    elif isinstance(configurations, Sequence) and not isinstance(configurations, str):
        parameter = next((item for item in configurations
                          if isinstance(item, Mapping) and str(item.get("name", "")).lower() == name.lower()), None)
    else:
        raise ValueError(f"invalid server parameters: expected a mapping or list, got {type(configurations).__name__}")

    if parameter is None:
        raise ValueError(f"server parameter {name} is not in the collected parameters")
    if not isinstance(parameter, Mapping):
        raise ValueError(f"server parameter {name}: expected an object, got {type(parameter).__name__}")

    properties = parameter.get("properties")
    value = properties.get("value") if isinstance(properties, Mapping) else parameter.get("value")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"server parameter {name} has no value (found {value!r})")
    return str(value)


def parameter_violation(
    configurations: Any,
    name: str,
    *,
    allowed: Sequence[str] | None = None,
    required: Sequence[str] | None = None,
    minimum: float | None = None,
    separator: str | None = None,
) -> str | None:
    """Return why server parameter `name` breaks the given constraint, or None when it meets it.

    Exactly one constraint is given. With `allowed`, the value (each item, when `separator`
    splits it into a list) must be one of the allowed values. With `required`, the items must
    include every required one. With `minimum`, the value must be a number at least that
    large. Raises ValueError when the parameter cannot be read or the constraints are invalid.
    """
    constraints = [constraint for constraint in (allowed, required, minimum) if constraint is not None]
    if len(constraints) != 1:
        raise ValueError(f"invalid constraints for {name}: expected exactly one of allowed, required and minimum")

    value = parameter_value(configurations, name)

    if minimum is not None:
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"server parameter {name}: expected a number, found {value!r}") from None
        if number < minimum:
            return f"{name} is {value}, below {minimum:g}"
        return None

    items = _items(value, separator)
    if allowed is not None:
        allowed_folded = {item.strip().casefold() for item in allowed}
        outside = [item for item in items if item.casefold() not in allowed_folded]
        if outside or not items:
            return f"{name} is {value!r}; allowed: {', '.join(allowed)}"
        return None

    assert required is not None
    present = {item.casefold() for item in items}
    missing = [item for item in required if item.strip().casefold() not in present]
    if missing:
        return f"{name} is {value!r}, without {', '.join(missing)}"
    return None


def _items(value: str, separator: str | None) -> list[str]:
    if separator is None:
        return [value.strip()]
    return [item.strip() for item in value.split(separator) if item.strip()]


def audit_retention_shortfall(properties: Any, more_than_days: int) -> str | None:
    """Return why an Azure SQL auditing policy keeps audit records for `more_than_days` or fewer.

    `properties` is the `properties` object of `{server id}/auditingSettings/default`. Only a
    storage account destination has its retention in the policy: `retentionDays` 0 keeps the
    records forever, and any other value must exceed `more_than_days`. Log Analytics and Event
    Hubs destinations keep records as the workspace or the consumer decides, which the policy
    does not show, so they raise ValueError, as do a missing or invalid retentionDays and a
    policy with no destination. A policy whose state is not Enabled keeps nothing.
    """
    if not isinstance(properties, Mapping):
        raise ValueError(f"invalid auditing settings: expected an object, got {type(properties).__name__}")

    state = str(properties.get("state") or "").strip().lower()
    if state != "enabled":
        return f"auditing is {properties.get('state') or 'not configured'}, so no audit records are kept"

    if properties.get("storageEndpoint"):
        days = properties.get("retentionDays")
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"invalid auditing retentionDays {days!r}: expected a whole number of days")
        if days == 0 or days > more_than_days:
            return None
        return f"audit records in the storage account are deleted after {days} days"

    if properties.get("isAzureMonitorTargetEnabled"):
        raise ValueError("auditing writes to Log Analytics or Event Hubs only, whose retention the auditing "
                         "policy does not show")
    raise ValueError("auditing is enabled but names no storage account, Log Analytics or Event Hubs destination")
