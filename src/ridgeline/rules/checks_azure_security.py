"""Azure analysis functions for Microsoft Defender for Cloud and access control (`check: azure.NAME`).

They adapt `ridgeline.analysis.azure_security` to the rule language. Malformed resources, and
settings the resource does not report, make the outcome unknown (ERROR), never a silent pass or fail.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis.azure_security import contact_notifies, defender_plan_enabled, role_grants_all_actions
from ridgeline.rules.functions import Outcome, check_function


@check_function("azure.defender_plan_enabled", path_args=("pricing",),
                literal_args=("subject", "plan", "extensions"), required=("pricing", "plan"))
def defender_plan_enabled_check(pricing: Any, subject: Any, plan: str,
                                extensions: list[str] | None = None) -> Outcome:
    """True when a `Microsoft.Security/pricings` resource turns the Defender plan `plan` on (Standard
    tier) for its whole subscription, with every extension of `extensions` enabled.
    """
    if not isinstance(pricing, dict):
        return Outcome(None, f"expected a pricing resource, found {type(pricing).__name__}")
    try:
        judgement = defender_plan_enabled(pricing, subject.id, plan, extensions or ())
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(judgement.holds, judgement.detail)


@check_function("azure.security_contact_notifies", path_args=("contact",), literal_args=("source",),
                required=("contact", "source"))
def security_contact_notifies(contact: Any, source: str) -> Outcome:
    """True when a Defender for Cloud security contact e-mails `source` notifications (Alert or
    AttackPath) at a set minimal severity or risk level. Unknown when its API version lacks the setting.
    """
    if not isinstance(contact, dict):
        return Outcome(None, f"expected a security contact resource, found {type(contact).__name__}")
    try:
        judgement = contact_notifies(contact, source)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(judgement.holds, judgement.detail)


@check_function("azure.role_grants_all_actions", path_args=("role",))
def role_grants_all_actions_check(role: Any) -> Outcome:
    """True when a role definition allows every action, role assignments included, and is assignable
    at the root scope, a management group or a subscription.
    """
    if not isinstance(role, dict):
        return Outcome(None, f"expected a role definition, found {type(role).__name__}")
    try:
        judgement = role_grants_all_actions(role)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(judgement.holds, judgement.detail)
