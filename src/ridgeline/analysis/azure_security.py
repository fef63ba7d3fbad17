"""Subscription security settings of Azure: Microsoft Defender for Cloud plans and security contacts,
and custom roles that grant every action.

The functions read resources in the shape Azure Resource Manager returns them:
- `Microsoft.Security/pricings`: one resource per Defender plan (`name` such as VirtualMachines),
  with `properties.pricingTier` Standard (on) or Free (off) and `properties.extensions`, whose
  `isEnabled` is the string "True" or "False". API version 2024-01-01 also returns plans set on a
  single resource, whose ids lie below that resource instead of the subscription.
- `Microsoft.Security/securityContacts`: API version 2020-01-01-preview reports alert e-mails in
  `properties.alertNotifications` (`state`, `minimalSeverity`); 2023-12-01-preview reports them in
  `properties.notificationsSources` (items with `sourceType` Alert and `minimalSeverity`, or AttackPath
  and `minimalRiskLevel`) and adds `properties.isEnabled`.
- `Microsoft.Authorization/roleDefinitions`: `properties.permissions[]` with `actions` and `notActions`
  patterns, and `properties.assignableScopes`.

Malformed input raises ValueError, and so does a question the resource cannot answer (attack path
notifications of a contact read with the older API version): callers report both as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ridgeline.analysis.azure_monitor import Judgement

__all__ = [
    "ALERT",
    "ATTACK_PATH",
    "ROLE_ASSIGNMENT_WRITE",
    "NotReported",
    "action_matches",
    "contact_notifies",
    "defender_plan_enabled",
    "role_grants_all_actions",
]

ALERT = "Alert"
ATTACK_PATH = "AttackPath"

# Notification thresholds per source type. Each level also sends everything above it.
_LEVELS = {ALERT.casefold(): ("minimalSeverity", ("High", "Medium", "Low")),
           ATTACK_PATH.casefold(): ("minimalRiskLevel", ("Critical", "High", "Medium", "Low"))}

ROLE_ASSIGNMENT_WRITE = "Microsoft.Authorization/roleAssignments/write"
"""The action that lets a principal grant any role, Owner included, to anyone."""

_SUBSCRIPTION_PRICING = re.compile(r"/subscriptions/[^/]+/providers/microsoft\.security/pricings/[^/]+",
                                   re.IGNORECASE)
# Scopes at which a role grants rights over one or more whole subscriptions.
_SUBSCRIPTION_OR_ABOVE = re.compile(
    r"/|/subscriptions/[^/]+/?|/providers/microsoft\.management/managementgroups/[^/]+/?", re.IGNORECASE)


class NotReported(ValueError):
    """The resource, in the API version it was read with, does not carry the setting asked about."""


def defender_plan_enabled(pricing: Mapping[str, Any], resource_id: str, plan: str,
                          extensions: Iterable[str] = ()) -> Judgement:
    """Judge whether a pricing resource turns the Defender plan `plan` on for its whole subscription.

    The plan is on with the Standard tier, whether set on the subscription or inherited from a
    management group. Each name of `extensions` (such as AgentlessVmScanning) must also be enabled.
    A plan set on a single resource does not count for the subscription.
    """
    name = pricing.get("name")
    if not isinstance(name, str) or name.casefold() != plan.casefold():
        return Judgement(False, f"{name!r} is not the {plan} plan")
    if not _SUBSCRIPTION_PRICING.fullmatch(resource_id):
        return Judgement(False, f"{resource_id} sets the {plan} plan for one resource, not the subscription")

    properties = _mapping(pricing.get("properties"), f"{plan} plan: properties")
    tier = properties.get("pricingTier")
    if not isinstance(tier, str):
        raise ValueError(f"{plan} plan: properties.pricingTier is {tier!r}, expected Standard or Free")
    if tier.casefold() == "free":
        return Judgement(False, f"the {plan} plan is off (Free tier)")
    if tier.casefold() != "standard":
        raise ValueError(f"{plan} plan: unknown pricing tier {tier!r}, expected Standard or Free")

    listed = properties.get("extensions") or []
    if not isinstance(listed, list):
        raise ValueError(f"{plan} plan: invalid properties.extensions {listed!r}, expected a list")
    by_name = {str(entry.get("name", "")).casefold(): entry for entry in listed if isinstance(entry, Mapping)}
    for extension in extensions:
        entry = by_name.get(extension.casefold())
        if entry is None or not _true(entry.get("isEnabled"), f"{plan} plan: extension {extension}"):
            return Judgement(False, f"the {plan} plan is on but its {extension} extension is off")

    sub_plan = properties.get("subPlan")
    suffix = f", sub-plan {sub_plan}" if sub_plan else ""
    return Judgement(True, f"the {plan} plan is on (Standard tier{suffix})")


def _true(value: Any, where: str) -> bool:
    # Extensions report isEnabled as the strings "True" and "False". JSON booleans are accepted as well.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    raise ValueError(f"{where}: isEnabled is {value!r}, expected True or False")


def contact_notifies(contact: Mapping[str, Any], source: str) -> Judgement:
    """Judge whether a security contact e-mails notifications of `source` (Alert or AttackPath).

    A notification counts when it is on with a minimal severity (alerts) or risk level (attack paths)
    set. A contact with `isEnabled` false sends nothing. Raises NotReported for attack paths on a
    contact read with API version 2020-01-01-preview, which has no such setting.
    """
    level_field, levels = _LEVELS.get(source.casefold(), ("", ()))
    if not levels:
        raise ValueError(f"unknown notification source {source!r}, expected {ALERT} or {ATTACK_PATH}")
    properties = _mapping(contact.get("properties"), "security contact: properties")
    name = str(contact.get("name") or "the security contact")

    if properties.get("isEnabled") is False:
        return Judgement(False, f"{name} is disabled")

    sources = properties.get("notificationsSources")
    if sources is not None:
        if not isinstance(sources, list):
            raise ValueError(f"{name}: invalid properties.notificationsSources {sources!r}, expected a list")
        for entry in sources:
            entry = _mapping(entry, f"{name}: notificationsSources item")
            if str(entry.get("sourceType", "")).casefold() == source.casefold():
                return _level_judgement(name, source, entry.get(level_field), levels)
        return Judgement(False, f"{name} sends no {source} notifications")

    if "alertNotifications" in properties:
        if source.casefold() != ALERT.casefold():
            raise NotReported(f"{name} was read with API version 2020-01-01-preview, which does not report "
                              f"{source} notifications; read it with 2023-12-01-preview or later")
        settings = _mapping(properties["alertNotifications"], f"{name}: properties.alertNotifications")
        state = settings.get("state")
        if not isinstance(state, str) or state.casefold() != "on":
            return Judgement(False, f"{name} has alert notifications {state or 'unset'}")
        return _level_judgement(name, source, settings.get("minimalSeverity"), levels)

    return Judgement(False, f"{name} has no notification settings")


def _level_judgement(name: str, source: str, level: Any, levels: tuple[str, ...]) -> Judgement:
    if level is None or level == "":
        return Judgement(False, f"{name} sends {source} notifications with no minimal level set")
    if not isinstance(level, str) or level.casefold() not in {known.casefold() for known in levels}:
        raise ValueError(f"{name}: unknown {source} notification level {level!r}, expected one of {levels}")
    return Judgement(True, f"{name} e-mails {source} notifications of level {level} and above")


def action_matches(pattern: str, action: str) -> bool:
    """Tell whether an Azure RBAC action pattern ("Microsoft.Authorization/*/write") matches an action.

    `*` stands for any run of characters, and Azure compares actions without regard to case.
    """
    expression = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(expression, action, re.IGNORECASE) is not None


def role_grants_all_actions(role_definition: Mapping[str, Any]) -> Judgement:
    """Judge whether a role definition grants every action, role assignment included, on whole subscriptions.

    True when a permission block allows `*` and its notActions leave the role assignment write in,
    and the role is assignable at the root scope, a management group or a subscription. A block whose
    notActions remove the role assignment write cannot hand out Owner, so it does not count.
    """
    properties = _mapping(role_definition.get("properties"), "role definition: properties")
    name = str(properties.get("roleName") or role_definition.get("name") or "the role")

    scopes = _strings(properties.get("assignableScopes"), f"{name}: properties.assignableScopes")
    broad = [scope for scope in scopes if _SUBSCRIPTION_OR_ABOVE.fullmatch(scope)]
    if not broad:
        return Judgement(False, f"{name} is assignable only below subscriptions")

    permissions = properties.get("permissions") or []
    if not isinstance(permissions, list):
        raise ValueError(f"{name}: invalid properties.permissions {permissions!r}, expected a list")
    for position, block in enumerate(permissions):
        block = _mapping(block, f"{name}: permissions[{position}]")
        actions = _strings(block.get("actions"), f"{name}: permissions[{position}].actions")
        not_actions = _strings(block.get("notActions"), f"{name}: permissions[{position}].notActions")
        if "*" not in actions:
            continue
        if any(action_matches(pattern, ROLE_ASSIGNMENT_WRITE) for pattern in not_actions):
            continue
        return Judgement(True, f"{name}: permissions[{position}] allows every action ('*') and is assignable "
                               f"at {broad[0]}")
    return Judgement(False, f"{name} does not allow every action")


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"invalid {where} {value!r}: expected a list of strings")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"invalid {where}: expected an object, found {type(value).__name__}")
    return value
