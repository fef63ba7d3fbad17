"""Tests for Defender for Cloud plans and security contacts, and for custom roles that grant every action."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.azure_security import (
    NotReported,
    action_matches,
    contact_notifies,
    defender_plan_enabled,
    role_grants_all_actions,
)
from ridgeline.model.resource import Resource
from ridgeline.rules.checks_azure_security import (
    defender_plan_enabled_check,
    role_grants_all_actions_check,
    security_contact_notifies,
)

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a1"
PRICINGS = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Security/pricings"


def pricing(name: str, tier: str | None = "Standard", **properties: Any) -> dict[str, Any]:
    """Build a pricing resource in the shape of API version 2024-01-01."""
    body: dict[str, Any] = {"freeTrialRemainingTime": "PT0S", "enforce": "False", **properties}
    if tier is not None:
        body["pricingTier"] = tier
    return {"id": f"{PRICINGS}/{name}", "name": name, "type": "Microsoft.Security/pricings", "properties": body}


SCANNING_ON = [{"name": "AgentlessVmScanning", "isEnabled": "True"}, {"name": "MdeDesignatedSubscription",
                                                                      "isEnabled": "False"}]
RESOURCE_LEVEL_ID = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/DEMO/providers/Microsoft.Compute/virtualMachines/"
                     "VM-1/providers/Microsoft.Security/pricings/VirtualMachines")

PLAN_CASES = [
    # (case id, pricing, resource id, plan, extensions, expected)
    ("standard tier", pricing("VirtualMachines", subPlan="P2"), f"{PRICINGS}/VirtualMachines", "VirtualMachines",
     (), True),
    ("free tier", pricing("VirtualMachines", "Free"), f"{PRICINGS}/VirtualMachines", "VirtualMachines", (), False),
    ("tier and name in another case", pricing("virtualmachines", "standard"), f"{PRICINGS}/virtualmachines",
     "VirtualMachines", (), True),
    ("another plan", pricing("KeyVaults"), f"{PRICINGS}/KeyVaults", "VirtualMachines", (), False),
    ("inherited from a management group",
     pricing("Arm", inherited="True", inheritedFrom="/providers/Microsoft.Management/managementGroups/root"),
     f"{PRICINGS}/Arm", "Arm", (), True),
    ("set on one resource", pricing("VirtualMachines"), RESOURCE_LEVEL_ID, "VirtualMachines", (), False),
    ("extension enabled", pricing("VirtualMachines", extensions=SCANNING_ON), f"{PRICINGS}/VirtualMachines",
     "VirtualMachines", ("AgentlessVmScanning",), True),
    ("extension as a boolean", pricing("VirtualMachines", extensions=[{"name": "AgentlessVmScanning",
                                                                        "isEnabled": True}]),
     f"{PRICINGS}/VirtualMachines", "VirtualMachines", ("AgentlessVmScanning",), True),
    ("extension disabled",
     pricing("VirtualMachines", extensions=[{"name": "AgentlessVmScanning", "isEnabled": "False"}]),
     f"{PRICINGS}/VirtualMachines", "VirtualMachines", ("AgentlessVmScanning",), False),
    ("extension missing", pricing("VirtualMachines"), f"{PRICINGS}/VirtualMachines", "VirtualMachines",
     ("AgentlessVmScanning",), False),
    ("extension of a free plan", pricing("VirtualMachines", "Free", extensions=SCANNING_ON),
     f"{PRICINGS}/VirtualMachines", "VirtualMachines", ("AgentlessVmScanning",), False),
]


@pytest.mark.parametrize(("resource", "resource_id", "plan", "extensions", "expected"),
                         [case[1:] for case in PLAN_CASES], ids=[case[0] for case in PLAN_CASES])
def test_defender_plan_enabled(resource: dict[str, Any], resource_id: str, plan: str, extensions: tuple[str, ...],
                               expected: bool) -> None:
    judgement = defender_plan_enabled(resource, resource_id, plan, extensions)

    assert judgement.holds is expected, judgement.detail
    assert judgement.detail


@pytest.mark.parametrize("resource", [
    pricing("VirtualMachines", None),
    pricing("VirtualMachines", "Premium"),
    pricing("VirtualMachines", extensions=[{"name": "AgentlessVmScanning", "isEnabled": "maybe"}]),
    {"name": "VirtualMachines"},
], ids=["tier missing", "unknown tier", "extension flag unreadable", "no properties"])
def test_defender_plan_rejects_malformed(resource: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        defender_plan_enabled(resource, f"{PRICINGS}/VirtualMachines", "VirtualMachines", ("AgentlessVmScanning",))


def resource(type_name: str, resource_id: str) -> Resource:
    return Resource(provider="azure", account=SUBSCRIPTION, region="global", type=type_name, id=resource_id, name="x")


def test_defender_check_reads_envelope_id() -> None:
    on = pricing("VirtualMachines")

    assert defender_plan_enabled_check(on, resource("Microsoft.Security/pricings", f"{PRICINGS}/VirtualMachines"),
                                       plan="VirtualMachines").matched is True
    assert defender_plan_enabled_check(on, resource("Microsoft.Security/pricings", RESOURCE_LEVEL_ID),
                                       plan="VirtualMachines").matched is False


def test_defender_check_unknown_without_tier() -> None:
    outcome = defender_plan_enabled_check(pricing("Arm", None), resource("Microsoft.Security/pricings",
                                                                         f"{PRICINGS}/Arm"), plan="Arm")

    assert outcome.matched is None
    assert "pricingTier" in outcome.detail


def contact_2020(**properties: Any) -> dict[str, Any]:
    """Build a security contact in the shape of API version 2020-01-01-preview."""
    body = {"emails": "secops@example.com", "phone": "",
            "alertNotifications": {"state": "On", "minimalSeverity": "Medium"},
            "notificationsByRole": {"state": "On", "roles": ["Owner"]}, **properties}
    return {"id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Security/securityContacts/default",
            "name": "default", "type": "Microsoft.Security/securityContacts", "properties": body}


def contact_2023(*sources: dict[str, Any], **properties: Any) -> dict[str, Any]:
    """Build a security contact in the shape of API version 2023-12-01-preview."""
    body = {"emails": "secops@example.com", "phone": "", "isEnabled": True,
            "notificationsByRole": {"state": "On", "roles": ["Owner"]}, "notificationsSources": list(sources),
            **properties}
    return {"id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Security/securityContacts/default",
            "name": "default", "type": "Microsoft.Security/securityContacts", "properties": body}


ALERT_SOURCE = {"sourceType": "Alert", "minimalSeverity": "Medium"}
ATTACK_PATH_SOURCE = {"sourceType": "AttackPath", "minimalRiskLevel": "Critical"}

CONTACT_CASES = [
    # (case id, contact, source, expected)
    ("2020 alerts on", contact_2020(), "Alert", True),
    ("2020 alerts off", contact_2020(alertNotifications={"state": "Off", "minimalSeverity": "High"}), "Alert", False),
    ("2020 alerts without severity", contact_2020(alertNotifications={"state": "On"}), "Alert", False),
    ("2020 state in another case", contact_2020(alertNotifications={"state": "on", "minimalSeverity": "low"}),
     "Alert", True),
    ("2023 alert source", contact_2023(ALERT_SOURCE), "Alert", True),
    ("2023 attack path source", contact_2023(ALERT_SOURCE, ATTACK_PATH_SOURCE), "AttackPath", True),
    ("2023 no attack path source", contact_2023(ALERT_SOURCE), "AttackPath", False),
    ("2023 no alert source", contact_2023(ATTACK_PATH_SOURCE), "Alert", False),
    ("2023 no sources", contact_2023(), "Alert", False),
    ("2023 source type in another case", contact_2023({"sourceType": "attackpath", "minimalRiskLevel": "high"}),
     "AttackPath", True),
    ("2023 source without level", contact_2023({"sourceType": "Alert"}), "Alert", False),
    ("2023 disabled contact", contact_2023(ALERT_SOURCE, ATTACK_PATH_SOURCE, isEnabled=False), "Alert", False),
    ("no notification settings", {"name": "default", "properties": {"emails": "a@example.com"}}, "Alert", False),
]


@pytest.mark.parametrize(("contact", "source", "expected"), [case[1:] for case in CONTACT_CASES],
                         ids=[case[0] for case in CONTACT_CASES])
def test_contact_notifies(contact: dict[str, Any], source: str, expected: bool) -> None:
    judgement = contact_notifies(contact, source)

    assert judgement.holds is expected, judgement.detail
    assert judgement.detail


def test_contact_2020_does_not_report_attack_paths() -> None:
    with pytest.raises(NotReported, match="2023-12-01-preview"):
        contact_notifies(contact_2020(), "AttackPath")


@pytest.mark.parametrize(("contact", "source"), [
    (contact_2023(ALERT_SOURCE), "Recommendation"),
    (contact_2023({"sourceType": "Alert", "minimalSeverity": "Critical"}), "Alert"),
    (contact_2023(ALERT_SOURCE, notificationsSources={"sourceType": "Alert"}), "Alert"),
    ({"name": "default"}, "Alert"),
], ids=["unknown source", "severity not in the enum", "sources not a list", "no properties"])
def test_contact_notifies_rejects_malformed(contact: dict[str, Any], source: str) -> None:
    with pytest.raises(ValueError):
        contact_notifies(contact, source)


def test_contact_check_unknown_for_old_shape() -> None:
    outcome = security_contact_notifies(contact_2020(), source="AttackPath")

    assert outcome.matched is None
    assert "2020-01-01-preview" in outcome.detail


def test_contact_check_matches_new_shape() -> None:
    assert security_contact_notifies(contact_2023(ATTACK_PATH_SOURCE), source="AttackPath").matched is True


@pytest.mark.parametrize(("pattern", "action", "expected"), [
    ("*", "Microsoft.Authorization/roleAssignments/write", True),
    ("Microsoft.Authorization/*", "Microsoft.Authorization/roleAssignments/write", True),
    ("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", True),
    ("microsoft.authorization/roleassignments/WRITE", "Microsoft.Authorization/roleAssignments/write", True),
    ("Microsoft.Authorization/*/read", "Microsoft.Authorization/roleAssignments/write", False),
    ("Microsoft.Authorization/roleAssignments/write.extra", "Microsoft.Authorization/roleAssignments/write", False),
    ("Microsoft.Compute/*", "Microsoft.Authorization/roleAssignments/write", False),
])
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def role(*permissions: dict[str, Any], scopes: list[str] | None = None) -> dict[str, Any]:
    """Build a custom role definition as Resource Manager returns it."""
    return {"id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/r1", "name": "r1",
            "type": "Microsoft.Authorization/roleDefinitions",
            "properties": {"roleName": "Custom admin", "type": "CustomRole", "description": "",
                           "assignableScopes": [f"/subscriptions/{SUBSCRIPTION}"] if scopes is None else scopes,
                           "permissions": list(permissions)}}


def block(actions: list[str], not_actions: list[str] | None = None) -> dict[str, Any]:
    return {"actions": actions, "notActions": not_actions or [], "dataActions": [], "notDataActions": []}


ROLE_CASES = [
    # (case id, role definition, expected)
    ("every action on a subscription", role(block(["*"])), True),
    ("every action at the root scope", role(block(["*"]), scopes=["/"]), True),
    ("every action on a management group",
     role(block(["*"]), scopes=["/providers/Microsoft.Management/managementGroups/corp"]), True),
    ("every action on a resource group",
     role(block(["*"]), scopes=[f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg"]), False),
    ("narrow actions", role(block(["Microsoft.Compute/virtualMachines/start/action"])), False),
    ("provider wildcard only", role(block(["Microsoft.Compute/*"])), False),
    ("contributor-like exclusions", role(block(["*"], ["Microsoft.Authorization/*/Delete",
                                                       "Microsoft.Authorization/*/Write"])), False),
    ("exclusions that keep role assignments", role(block(["*"], ["Microsoft.Compute/*/delete"])), True),
    ("second block grants everything", role(block(["Microsoft.Storage/*/read"]), block(["*"])), True),
    ("no permissions", role(), False),
]


@pytest.mark.parametrize(("definition", "expected"), [case[1:] for case in ROLE_CASES],
                         ids=[case[0] for case in ROLE_CASES])
def test_role_grants_all_actions(definition: dict[str, Any], expected: bool) -> None:
    judgement = role_grants_all_actions(definition)

    assert judgement.holds is expected, judgement.detail
    assert judgement.detail


@pytest.mark.parametrize("definition", [
    {"name": "r1"},
    role(block(["*"]), scopes="/"),  # type: ignore[arg-type]
    role({"actions": "*"}),
    role("not a block"),  # type: ignore[arg-type]
], ids=["no properties", "scopes not a list", "actions not a list", "block not an object"])
def test_role_grants_all_actions_rejects_malformed(definition: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        role_grants_all_actions(definition)


def test_role_check_outcomes() -> None:
    assert role_grants_all_actions_check(role(block(["*"]))).matched is True
    assert role_grants_all_actions_check(role(block(["*"]), scopes="/")).matched is None  # type: ignore[arg-type]
    assert role_grants_all_actions_check(None).matched is None
