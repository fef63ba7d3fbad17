"""Azure Monitor facts: which activity log events an activity log alert rule covers, and which log
categories a diagnostic setting exports.

Both read resources in the shape Azure Resource Manager returns them. An activity log alert rule
(`Microsoft.Insights/activityLogAlerts`, API versions 2020-10-01 and 2023-01-01-preview) has
`properties.enabled`, `properties.scopes` and `properties.condition.allOf`, a list whose items are
leaf conditions (`field` with `equals` or `containsAny`) or, in the newer version, `anyOf` lists of
leaf conditions. Azure compares field names and values without regard to case. A diagnostic setting
(`Microsoft.Insights/diagnosticSettings`) has `properties.logs`, each entry naming a `category` or a
`categoryGroup` with `enabled`, and one or more destinations.

Malformed input raises ValueError: guessing would hide a missing alert or invent one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DESTINATION_FIELDS",
    "Judgement",
    "activity_event",
    "alert_covers",
    "diagnostic_logs_exported",
]

DESTINATION_FIELDS = ("storageAccountId", "workspaceId", "eventHubAuthorizationRuleId", "serviceBusRuleId",
                      "marketplacePartnerId")
"""Settings fields that name where a diagnostic setting sends its data. One is enough.
`serviceBusRuleId` is the older name of the event hub destination, kept by the API for compatibility."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """A true or false verdict with the reason a reader needs to act on it."""

    holds: bool
    """True when the property judged is present (the alert covers, the setting exports)."""

    detail: str


def activity_event(operation: str | None = None, category: str = "Administrative") -> dict[str, str]:
    """Return the activity log fields that every event of an operation shares, keyed in lower case.

    An Administrative event of `Microsoft.Network/networkSecurityGroups/write` also has the resource
    provider `Microsoft.Network` and the resource type `Microsoft.Network/networkSecurityGroups`, so a
    condition on those fields does not narrow an alert on that operation.
    """
    event = {"category": category}
    if operation:
        parts = operation.split("/")
        if len(parts) < 3 or not all(parts):
            raise ValueError(f"invalid operation name {operation!r}: expected PROVIDER/RESOURCE-TYPE/.../ACTION")
        event["operationname"] = operation
        event["resourceprovider"] = parts[0]
        event["resourcetype"] = "/".join(parts[:-1])
    return event


def alert_covers(alert: Mapping[str, Any], subscription_id: str, event: Mapping[str, str],
                 allowed_filters: Iterable[str] = ()) -> Judgement:
    """Judge whether an activity log alert rule fires, and notifies someone, on every event described by `event`.

    `event` contains the fields that all the events share (from `activity_event`). The rule must be enabled,
    have the whole subscription among its scopes, name at least one action group, and every item of its
    condition must hold for every such event. A condition on a field the events do not fix (level,
    status, caller, a resource group) narrows the rule to some events only, so it does not cover them,
    unless the field is one of `allowed_filters` (compared without regard to case).
    """
    properties = _mapping(alert.get("properties"), "properties")
    name = str(alert.get("name") or alert.get("id") or "the alert rule")

    # `enabled` defaults to true in the API when it is left out.
    enabled = properties.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError(f"invalid properties.enabled {enabled!r}: expected true or false")
    if not enabled:
        return Judgement(False, f"{name} is disabled")

    scopes = properties.get("scopes") or []
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ValueError(f"invalid properties.scopes {scopes!r}: expected a list of resource ids")
    subscription_scope = f"/subscriptions/{subscription_id}".casefold()
    if not any(scope.rstrip("/").casefold() == subscription_scope for scope in scopes):
        listed_scopes = ", ".join(scopes) or "none"
        return Judgement(False, f"{name} does not apply to the whole subscription (scopes: {listed_scopes})")

    actions = properties.get("actions") or {}
    groups = _mapping(actions, "properties.actions").get("actionGroups") or []
    if not isinstance(groups, list):
        raise ValueError(f"invalid properties.actions.actionGroups {groups!r}: expected a list")
    if not any(isinstance(group, Mapping) and group.get("actionGroupId") for group in groups):
        return Judgement(False, f"{name} notifies no action group")

    condition = _mapping(properties.get("condition"), "properties.condition")
    items = condition.get("allOf")
    if not isinstance(items, list):
        raise ValueError(f"invalid properties.condition.allOf {items!r}: expected a list of conditions")
    allowed = {field.casefold() for field in allowed_filters}
    for position, item in enumerate(items):
        reason = _item_narrows(_mapping(item, f"properties.condition.allOf[{position}]"), event, allowed)
        if reason is not None:
            return Judgement(False, f"{name}: condition allOf[{position}] {reason}")
    return Judgement(True, f"{name} covers {_describe(event)}")


def _item_narrows(item: Mapping[str, Any], event: Mapping[str, str], allowed: set[str]) -> str | None:
    """Return why an allOf item can be false for some of the events, or None when it is true for all of them."""
    if "anyOf" in item:
        leaves = item["anyOf"]
        if not isinstance(leaves, list) or not leaves:
            raise ValueError(f"invalid anyOf {leaves!r}: expected a non-empty list of leaf conditions")
        # One leaf that is true for every event makes the whole anyOf true for every event.
        reasons = [_leaf_narrows(_mapping(leaf, "anyOf item"), event, allowed) for leaf in leaves]
        if any(reason is None for reason in reasons):
            return None
        return "(anyOf) " + "; ".join(str(reason) for reason in reasons)
    return _leaf_narrows(item, event, allowed)


def _leaf_narrows(leaf: Mapping[str, Any], event: Mapping[str, str], allowed: set[str]) -> str | None:
    field = leaf.get("field")
    if not isinstance(field, str) or not field:
        raise ValueError(f"invalid condition {dict(leaf)!r}: a leaf condition needs a field name")
    if "equals" in leaf:
        values = [leaf["equals"]]
    elif "containsAny" in leaf:
        values = leaf["containsAny"]
        if not isinstance(values, list):
            raise ValueError(f"invalid containsAny {values!r} on {field}: expected a list")
    else:
        raise ValueError(f"invalid condition on {field}: expected equals or containsAny")
    if not all(isinstance(value, str) for value in values):
        raise ValueError(f"invalid condition values {values!r} on {field}: expected strings")

    key = field.casefold()
    if key in event:
        if any(value.casefold() == event[key].casefold() for value in values):
            return None
        return f"requires {field} in {values}, not {event[key]!r}"
    if key in allowed:
        return None
    return f"narrows the alert to {field} in {values}"


def _describe(event: Mapping[str, str]) -> str:
    if "operationname" in event:
        return f"{event['category']} events of {event['operationname']}"
    return f"{event['category']} events"


def diagnostic_logs_exported(settings: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                             categories: Iterable[str] = (), category_groups: Iterable[str] = ()) -> Judgement:
    """Judge whether some diagnostic setting sends the named log categories to a destination.

    `settings` is one diagnostic setting resource or a list of them. A setting counts when it has a
    destination and every category of `categories` is enabled in it, by name or through one of
    `category_groups` (groups known to contain all those categories, such as `allLogs`). With no
    categories, any enabled log entry counts. Names compare without regard to case.
    """
    listed = [settings] if isinstance(settings, Mapping) else list(settings)
    required = list(categories)
    groups = {group.casefold() for group in category_groups}
    if not listed:
        return Judgement(False, "there is no diagnostic setting")

    reasons = []
    for position, setting in enumerate(listed):
        setting = _mapping(setting, f"diagnostic setting [{position}]")
        name = str(setting.get("name") or f"diagnostic setting [{position}]")
        properties = _mapping(setting.get("properties"), f"{name}: properties")
        if not any(properties.get(field) for field in DESTINATION_FIELDS):
            reasons.append(f"{name} has no destination")
            continue

        enabled_categories, enabled_groups = _enabled_logs(properties.get("logs"), name)
        if not required:
            if enabled_categories or enabled_groups:
                return Judgement(True, f"{name} exports logs")
            reasons.append(f"{name} enables no log category")
            continue
        if enabled_groups & groups:
            group = sorted(enabled_groups & groups)[0]
            return Judgement(True, f"{name} exports the {group} category group")
        missing = [category for category in required if category.casefold() not in enabled_categories]
        if not missing:
            return Judgement(True, f"{name} exports {', '.join(required)}")
        reasons.append(f"{name} does not export {', '.join(missing)}")
    return Judgement(False, "; ".join(reasons))


def _enabled_logs(logs: Any, name: str) -> tuple[set[str], set[str]]:
    """Return the enabled categories and category groups of a setting, in lower case."""
    if logs is None:
        return set(), set()
    if not isinstance(logs, list):
        raise ValueError(f"{name}: invalid properties.logs {logs!r}: expected a list")
    categories: set[str] = set()
    groups: set[str] = set()
    for position, entry in enumerate(logs):
        entry = _mapping(entry, f"{name}: properties.logs[{position}]")
        enabled = entry.get("enabled")
        if not isinstance(enabled, bool):
            raise ValueError(f"{name}: invalid properties.logs[{position}].enabled {enabled!r}: expected true or false")
        if not enabled:
            continue
        if isinstance(entry.get("category"), str):
            categories.add(entry["category"].casefold())
        if isinstance(entry.get("categoryGroup"), str):
            groups.add(entry["categoryGroup"].casefold())
    return categories, groups


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"invalid {where}: expected an object, found {type(value).__name__}")
    return value
