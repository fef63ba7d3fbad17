"""Tests for activity log alert coverage and diagnostic setting exports of Azure Monitor."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.azure_monitor import activity_event, alert_covers, diagnostic_logs_exported
from ridgeline.model.resource import Resource
from ridgeline.rules.checks_azure_monitor import activity_log_alert_covers, diagnostic_logs_exported_check

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a1"
NSG_WRITE = "Microsoft.Network/networkSecurityGroups/write"
ACTION_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Insights/actionGroups/secops"


def leaf(field: str, equals: str) -> dict[str, Any]:
    return {"field": field, "equals": equals}


def alert(*conditions: dict[str, Any], enabled: bool | None = True, scopes: list[str] | None = None,
          action_groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build an activity log alert rule as Resource Manager returns it (API version 2020-10-01)."""
    properties: dict[str, Any] = {
        "scopes": [f"/subscriptions/{SUBSCRIPTION}"] if scopes is None else scopes,
        "condition": {"allOf": list(conditions)},
        "actions": {"actionGroups": [{"actionGroupId": ACTION_GROUP, "webhookProperties": {}}]
                    if action_groups is None else action_groups},
        "description": "",
    }
    if enabled is not None:
        properties["enabled"] = enabled
    return {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Insights/activityLogAlerts/a",
            "name": "a", "type": "Microsoft.Insights/ActivityLogAlerts", "location": "Global",
            "properties": properties}


ADMINISTRATIVE = leaf("category", "Administrative")
NSG_EVENT = activity_event(NSG_WRITE)
HEALTH_EVENT = activity_event(category="ServiceHealth")
HEALTH_FILTERS = ("properties.incidentType", "properties.impactedServices[*].ImpactedRegions[*].RegionName")

ALERT_CASES = [
    # (case id, alert rule, event, allowed filters, expected coverage)
    ("category and operation", alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE)), NSG_EVENT, (), True),
    ("conditions in either order", alert(leaf("operationName", NSG_WRITE), ADMINISTRATIVE), NSG_EVENT, (), True),
    ("operation only matches every category", alert(leaf("operationName", NSG_WRITE)), NSG_EVENT, (), True),
    ("field names and values in any case",
     alert(leaf("Category", "administrative"), leaf("OPERATIONNAME", NSG_WRITE.lower())), NSG_EVENT, (), True),
    ("enabled left out defaults to true",
     alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE), enabled=None), NSG_EVENT, (), True),
    ("disabled rule", alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE), enabled=False), NSG_EVENT, (), False),
    ("another operation",
     alert(ADMINISTRATIVE, leaf("operationName", "Microsoft.Network/networkSecurityGroups/delete")),
     NSG_EVENT, (), False),
    ("another category", alert(leaf("category", "Policy"), leaf("operationName", NSG_WRITE)), NSG_EVENT, (), False),
    ("category alone matches every administrative event", alert(ADMINISTRATIVE), NSG_EVENT, (), True),
    ("resource type implied by the operation",
     alert(ADMINISTRATIVE, leaf("resourceType", "microsoft.network/networksecuritygroups"),
           leaf("operationName", NSG_WRITE)), NSG_EVENT, (), True),
    ("resource provider implied by the operation",
     alert(ADMINISTRATIVE, leaf("resourceProvider", "Microsoft.Network"), leaf("operationName", NSG_WRITE)),
     NSG_EVENT, (), True),
    ("resource type of another operation",
     alert(ADMINISTRATIVE, leaf("resourceType", "Microsoft.Network/publicIPAddresses"),
           leaf("operationName", NSG_WRITE)), NSG_EVENT, (), False),
    ("narrowed to a level", alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE), leaf("level", "Critical")),
     NSG_EVENT, (), False),
    ("narrowed to a resource group",
     alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE), leaf("resourceGroup", "rg-prod")), NSG_EVENT, (), False),
    ("containsAny with the operation",
     alert(ADMINISTRATIVE, {"field": "operationName", "containsAny": ["x/y/delete", NSG_WRITE]}), NSG_EVENT, (), True),
    ("containsAny without the operation",
     alert(ADMINISTRATIVE, {"field": "operationName", "containsAny": ["x/y/delete"]}), NSG_EVENT, (), False),
    ("anyOf with the operation",
     alert(ADMINISTRATIVE, {"anyOf": [leaf("operationName", "x/y/delete"), leaf("operationName", NSG_WRITE)]}),
     NSG_EVENT, (), True),
    ("anyOf whose other leaf narrows",
     alert(ADMINISTRATIVE, {"anyOf": [leaf("operationName", NSG_WRITE), leaf("level", "Error")]}), NSG_EVENT, (), True),
    ("anyOf without the operation",
     alert(ADMINISTRATIVE, {"anyOf": [leaf("operationName", "x/y/delete"), leaf("level", "Error")]}),
     NSG_EVENT, (), False),
    ("scoped to a resource group",
     alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE),
           scopes=[f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg"]),
     NSG_EVENT, (), False),
    ("subscription among several scopes, upper case with a trailing slash",
     alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE),
           scopes=[f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg", f"/SUBSCRIPTIONS/{SUBSCRIPTION.upper()}/"]),
     NSG_EVENT, (), True),
    ("another subscription",
     alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE),
           scopes=["/subscriptions/00000000-0000-0000-0000-0000000000b2"]),
     NSG_EVENT, (), False),
    ("no action group",
     alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE), action_groups=[]), NSG_EVENT, (), False),
    ("service health", alert(leaf("category", "ServiceHealth")), HEALTH_EVENT, HEALTH_FILTERS, True),
    ("service health narrowed by allowed filters",
     alert(leaf("category", "ServiceHealth"),
           {"anyOf": [leaf("properties.incidentType", "Incident"), leaf("properties.incidentType", "Security")]},
           {"field": "properties.impactedServices[*].ImpactedRegions[*].RegionName", "containsAny": ["West Europe"]}),
     HEALTH_EVENT, HEALTH_FILTERS, True),
    ("service health narrowed by level",
     alert(leaf("category", "ServiceHealth"), leaf("level", "Error")), HEALTH_EVENT, HEALTH_FILTERS, False),
    ("administrative rule for service health", alert(ADMINISTRATIVE), HEALTH_EVENT, HEALTH_FILTERS, False),
]


@pytest.mark.parametrize(("rule", "event", "allowed", "expected"), [case[1:] for case in ALERT_CASES],
                         ids=[case[0] for case in ALERT_CASES])
def test_alert_covers(rule: dict[str, Any], event: dict[str, str], allowed: tuple[str, ...], expected: bool) -> None:
    judgement = alert_covers(rule, SUBSCRIPTION, event, allowed)

    assert judgement.holds is expected, judgement.detail
    assert judgement.detail


def test_alert_detail_names_narrowing_field() -> None:
    judgement = alert_covers(alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE), leaf("status", "Succeeded")),
                             SUBSCRIPTION, NSG_EVENT)

    assert "allOf[2]" in judgement.detail
    assert "status" in judgement.detail


MALFORMED_ALERTS = [
    ("no properties", {"name": "a"}),
    ("enabled as a string", alert(ADMINISTRATIVE, enabled="true")),  # type: ignore[arg-type]
    ("allOf missing", {"properties": {**alert()["properties"], "condition": {}}}),
    ("leaf without field", alert({"equals": "Administrative"})),
    ("leaf without operator", alert({"field": "category"})),
    ("containsAny not a list", alert({"field": "operationName", "containsAny": NSG_WRITE})),
    ("empty anyOf", alert({"anyOf": []})),
    ("scopes not a list", alert(ADMINISTRATIVE, scopes="/subscriptions/x")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("rule", [case[1] for case in MALFORMED_ALERTS], ids=[case[0] for case in MALFORMED_ALERTS])
def test_alert_covers_rejects_malformed_rule(rule: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        alert_covers(rule, SUBSCRIPTION, NSG_EVENT)


def test_activity_event_derives_provider_and_type() -> None:
    event = activity_event("Microsoft.Sql/servers/firewallRules/delete")

    assert event == {"category": "Administrative", "operationname": "Microsoft.Sql/servers/firewallRules/delete",
                     "resourceprovider": "Microsoft.Sql", "resourcetype": "Microsoft.Sql/servers/firewallRules"}


@pytest.mark.parametrize("operation", ["write", "Microsoft.Network/write", "Microsoft.Network//write"])
def test_activity_event_rejects_invalid_operation(operation: str) -> None:
    with pytest.raises(ValueError):
        activity_event(operation)


def subject(account: str = SUBSCRIPTION) -> Resource:
    return Resource(provider="azure", account=account, region="global", type="Microsoft.Insights/activityLogAlerts",
                    id="alert-id", name="a")


def test_alert_check_uses_resource_subscription() -> None:
    rule = alert(ADMINISTRATIVE, leaf("operationName", NSG_WRITE))

    assert activity_log_alert_covers(rule, subject(), operation=NSG_WRITE).matched is True
    assert activity_log_alert_covers(rule, subject("00000000-0000-0000-0000-0000000000b2"),
                                     operation=NSG_WRITE).matched is False


def test_alert_check_unknown_on_malformed_rule() -> None:
    outcome = activity_log_alert_covers(alert({"field": "category"}), subject(), operation=NSG_WRITE)

    assert outcome.matched is None
    assert "equals or containsAny" in outcome.detail


def test_alert_check_unknown_without_configuration() -> None:
    assert activity_log_alert_covers(None, subject(), operation=NSG_WRITE).matched is None


def setting(*logs: dict[str, Any], destination: str | None = "workspaceId", name: str = "export") -> dict[str, Any]:
    """Build a diagnostic setting resource as Resource Manager returns it."""
    properties: dict[str, Any] = {"logs": list(logs), "metrics": []}
    if destination is not None:
        properties[destination] = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Insights/x"
    return {"id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Insights/diagnosticSettings/{name}",
            "name": name, "type": "Microsoft.Insights/diagnosticSettings", "properties": properties}


def log(category: str, enabled: bool = True) -> dict[str, Any]:
    return {"category": category, "enabled": enabled}


def group(name: str, enabled: bool = True) -> dict[str, Any]:
    return {"categoryGroup": name, "enabled": enabled}


ACTIVITY_CATEGORIES = ("Administrative", "Alert", "Policy", "Security")

EXPORT_CASES = [
    # (case id, settings, categories, category groups, expected)
    ("any category", setting(log("Administrative")), (), (), True),
    ("every category disabled", setting(log("Administrative", False)), (), (), False),
    ("no logs", setting(), (), (), False),
    ("no destination", setting(log("Administrative"), destination=None), (), (), False),
    ("storage account destination", setting(log("Administrative"), destination="storageAccountId"), (), (), True),
    ("event hub destination", setting(log("Administrative"), destination="eventHubAuthorizationRuleId"), (), (), True),
    ("partner destination", setting(log("Administrative"), destination="marketplacePartnerId"), (), (), True),
    ("all four categories", setting(*(log(name) for name in ACTIVITY_CATEGORIES), log("Autoscale", False)),
     ACTIVITY_CATEGORIES, ("allLogs",), True),
    ("categories in another case", setting(*(log(name.upper()) for name in ACTIVITY_CATEGORIES)),
     ACTIVITY_CATEGORIES, (), True),
    ("one category disabled", setting(*(log(name) for name in ACTIVITY_CATEGORIES[:3]), log("Security", False)),
     ACTIVITY_CATEGORIES, ("allLogs",), False),
    ("allLogs group", setting(group("allLogs")), ACTIVITY_CATEGORIES, ("allLogs",), True),
    ("audit category", setting(log("AuditEvent")), ("AuditEvent",), ("audit", "allLogs"), True),
    ("audit group", setting(group("audit")), ("AuditEvent",), ("audit", "allLogs"), True),
    ("audit group disabled", setting(group("audit", False)), ("AuditEvent",), ("audit", "allLogs"), False),
    ("other category only", setting(log("AzurePolicyEvaluationDetails")), ("AuditEvent",), ("audit", "allLogs"), False),
    ("group not known to contain the category", setting(group("audit")), ("AuditEvent",), (), False),
    ("second setting exports", [setting(log("AuditEvent"), destination=None, name="a"),
                                setting(log("AuditEvent"), name="b")], ("AuditEvent",), (), True),
    ("categories spread over settings", [setting(log("Administrative"), log("Alert"), name="a"),
                                         setting(log("Policy"), log("Security"), name="b")],
     ACTIVITY_CATEGORIES, (), False),
    ("empty list", [], ("AuditEvent",), (), False),
]


@pytest.mark.parametrize(("settings", "categories", "groups", "expected"), [case[1:] for case in EXPORT_CASES],
                         ids=[case[0] for case in EXPORT_CASES])
def test_diagnostic_logs_exported(settings: Any, categories: tuple[str, ...], groups: tuple[str, ...],
                                  expected: bool) -> None:
    judgement = diagnostic_logs_exported(settings, categories, groups)

    assert judgement.holds is expected, judgement.detail
    assert judgement.detail


def test_diagnostic_detail_names_missing_categories() -> None:
    judgement = diagnostic_logs_exported(setting(log("Administrative")), ACTIVITY_CATEGORIES)

    assert "Alert, Policy, Security" in judgement.detail


@pytest.mark.parametrize("settings", [
    setting({"category": "AuditEvent", "enabled": "yes"}),
    {"name": "x", "properties": {"workspaceId": "w", "logs": {"category": "AuditEvent"}}},
    {"name": "x"},
    ["not a setting"],
], ids=["enabled not a boolean", "logs not a list", "no properties", "list item not an object"])
def test_diagnostic_logs_exported_rejects_malformed(settings: Any) -> None:
    with pytest.raises(ValueError):
        diagnostic_logs_exported(settings, ("AuditEvent",))


def test_diagnostic_check_unknown_when_not_collected() -> None:
    outcome = diagnostic_logs_exported_check(None, categories=["AuditEvent"])

    assert outcome.matched is None
    assert "not collected" in outcome.detail


def test_diagnostic_check_unknown_on_unexpected_type() -> None:
    assert diagnostic_logs_exported_check("export", categories=["AuditEvent"]).matched is None


def test_diagnostic_check_judges_list() -> None:
    assert diagnostic_logs_exported_check([setting(group("allLogs"))], categories=["AuditEvent"],
                                          category_groups=["allLogs"]).matched is True
    assert diagnostic_logs_exported_check([], categories=["AuditEvent"]).matched is False
