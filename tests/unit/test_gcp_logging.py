"""Logging query language coverage, alert policy conditions, audit configuration, sink destinations and
Essential Contacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.analysis.gcp_logging import (
    EVENT_FAMILIES,
    FilterError,
    Literal,
    alert_enabled,
    audit_logging_gaps,
    condition_watches_metric,
    essential_contact_gaps,
    filter_covers,
    metric_covers_family,
    metric_type,
    network_key,
    normal_form,
    sink_bucket,
)

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "cspm-samples" / "gcp"

OWNERSHIP = EVENT_FAMILIES["project-ownership"].reference_filter
AUDIT = EVENT_FAMILIES["audit-configuration"].reference_filter
ROLES = EVENT_FAMILIES["custom-roles"].reference_filter
FIREWALL = EVENT_FAMILIES["firewall-rules"].reference_filter
ROUTES = EVENT_FAMILIES["routes"].reference_filter
BUCKET_IAM = EVENT_FAMILIES["bucket-iam"].reference_filter
SQL = EVENT_FAMILIES["sql-instance-configuration"].reference_filter


@pytest.mark.parametrize("family", sorted(EVENT_FAMILIES))
def test_reference_filter_covers_itself(family: str) -> None:
    reference = EVENT_FAMILIES[family].reference_filter
    assert filter_covers(reference, reference)


COVER_CASES = [
    # (case id, metric filter, reference filter, covers)
    # The same filter, written differently.
    ("whitespace and line breaks", 'protoPayload.methodName = "SetIamPolicy"\n  AND\n'
     "  protoPayload.serviceData.policyDelta.auditConfigDeltas : *", AUDIT, True),
    ("AND terms reordered", 'protoPayload.serviceData.policyDelta.auditConfigDeltas:* AND '
     'protoPayload.methodName="SetIamPolicy"', AUDIT, True),
    ("implicit AND", 'protoPayload.methodName="SetIamPolicy" protoPayload.serviceData.policyDelta.auditConfigDeltas:*',
     AUDIT, True),
    ("unquoted values", "resource.type=gcs_bucket AND protoPayload.methodName=storage.setIamPermissions",
     BUCKET_IAM, True),
    ("OR terms reordered", 'resource.type="iam_role" AND (protoPayload.methodName="google.iam.admin.v1.UpdateRole" OR '
     'protoPayload.methodName="google.iam.admin.v1.CreateRole" OR '
     'protoPayload.methodName="google.iam.admin.v1.DeleteRole")', ROLES, True),
    ("value list", 'resource.type="iam_role" AND protoPayload.methodName=("google.iam.admin.v1.CreateRole" OR '
     '"google.iam.admin.v1.DeleteRole" OR "google.iam.admin.v1.UpdateRole")', ROLES, True),
    ("extra parentheses", '((protoPayload.methodName="cloudsql.instances.update"))', SQL, True),
    ("has operator ignores case", 'resource.type="gce_route" AND (protoPayload.methodName:"COMPUTE.ROUTES.DELETE" OR '
     'protoPayload.methodName:"Compute.Routes.Insert")', ROUTES, True),
    # Ownership alternatives joined the other way: OR binds tighter than AND in the Logging query language,
    # so this spelling matches more entries than the reference, and still covers it.
    ("ownership with AND-first parentheses",
     '((protoPayload.serviceName="cloudresourcemanager.googleapis.com") AND (ProjectOwnership OR '
     'projectOwnerInvitee)) OR (protoPayload.serviceData.policyDelta.bindingDeltas.action="REMOVE" AND '
     'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner") OR '
     '(protoPayload.serviceData.policyDelta.bindingDeltas.action="ADD" AND '
     'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner")', OWNERSHIP, True),
    ("global restriction ignores case", OWNERSHIP.replace("ProjectOwnership", "projectownership"), OWNERSHIP, True),
    # A filter that matches more entries still covers.
    ("shorter has value", 'resource.type="gce_firewall_rule" AND protoPayload.methodName:"firewalls."', FIREWALL, True),
    ("extra method", 'resource.type="gce_route" AND (protoPayload.methodName:"compute.routes.delete" OR '
     'protoPayload.methodName:"compute.routes.insert" OR protoPayload.methodName:"compute.routes.patch")',
     ROUTES, True),
    ("fewer restrictions", 'protoPayload.methodName="cloudsql.instances.update" OR '
     'protoPayload.methodName="cloudsql.instances.delete"', SQL, True),
    ("presence test", "protoPayload.methodName:*", SQL, True),
    ("empty filter", "", SQL, True),
    # A filter that misses some of the entries does not.
    ("missing method", 'resource.type="gce_firewall_rule" AND (protoPayload.methodName:"compute.firewalls.patch" OR '
     'protoPayload.methodName:"compute.firewalls.insert")', FIREWALL, False),
    ("one API version only", 'resource.type="gce_route" AND (protoPayload.methodName="v1.compute.routes.delete" OR '
     'protoPayload.methodName="v1.compute.routes.insert")', ROUTES, False),
    ("extra restriction", SQL + ' AND severity="ERROR"', SQL, False),
    ("negated term", AUDIT + ' AND NOT protoPayload.authenticationInfo.principalEmail="admin@example.com"',
     AUDIT, False),
    ("minus negation",
     'protoPayload.methodName="SetIamPolicy" -protoPayload.serviceData.policyDelta.auditConfigDeltas:*', AUDIT, False),
    ("lower-case and is a search term",
     'resource.type="gcs_bucket" and protoPayload.methodName="storage.setIamPermissions"', BUCKET_IAM, False),
    ("equality is case-sensitive", 'protoPayload.methodName="CLOUDSQL.INSTANCES.UPDATE"', SQL, False),
    ("has does not imply equality", 'protoPayload.methodName="compute.routes.insert"',
     'protoPayload.methodName:"compute.routes.insert"', False),
    ("equality implies has", 'protoPayload.methodName:"compute.routes.insert"',
     'protoPayload.methodName="compute.routes.insert"', True),
    ("other field", 'protoPayload.methodName="SetIamPolicy" AND protoPayload.serviceData.policyDelta.bindingDeltas:*',
     AUDIT, False),
    ("precedence puts OR first", 'protoPayload.methodName="cloudsql.instances.update" AND resource.type="a" OR '
     'resource.type="b"', SQL, False),
    ("ownership terms only", "ProjectOwnership OR projectOwnerInvitee", OWNERSHIP, False),
    ("ownership invitations only", '(protoPayload.serviceName="cloudresourcemanager.googleapis.com") AND '
     "(ProjectOwnership OR projectOwnerInvitee)", OWNERSHIP, False),
]


@pytest.mark.parametrize(("metric_filter", "reference", "covers"), [case[1:] for case in COVER_CASES],
                         ids=[case[0] for case in COVER_CASES])
def test_filter_covers(metric_filter: str, reference: str, covers: bool) -> None:
    assert filter_covers(metric_filter, reference) is covers


def test_or_binds_tighter_than_and() -> None:
    # The example of the Logging query language reference: a OR NOT b AND NOT c OR d.
    expected = normal_form('("a" OR NOT "b") AND (NOT "c" OR "d")')

    assert normal_form('"a" OR NOT "b" AND NOT "c" OR "d"') == expected


def test_not_is_pushed_to_literals() -> None:
    form = normal_form('NOT (resource.type="a" OR resource.type="b")')

    assert form == frozenset({frozenset({Literal("compare", "resource.type", "=", "a", negated=True),
                                         Literal("compare", "resource.type", "=", "b", negated=True)})})


def test_quoted_field_segment() -> None:
    form = normal_form('labels."compute.googleapis.com/resource_name"="vm-1"')

    assert form == frozenset({frozenset({Literal("compare", 'labels."compute.googleapis.com/resource_name"', "=",
                                                 "vm-1")})})


def test_function_call_is_one_literal() -> None:
    form = normal_form('LOG_ID("cloudaudit.googleapis.com/activity") AND severity>=ERROR')

    assert Literal("call", "LOG_ID", value='"cloudaudit.googleapis.com/activity"') in next(iter(form))


def test_escaped_quote_in_value() -> None:
    form = normal_form(r'jsonPayload.message="say \"hi\""')

    assert next(iter(next(iter(form)))).value == 'say "hi"'


@pytest.mark.parametrize("text", [
    'protoPayload.methodName="SetIamPolicy',
    '(resource.type="gce_route"',
    'resource.type="gce_route")',
    "resource.type=",
    'LOG_ID("x"',
    "AND",
    'resource.type="a" OR',
])
def test_unreadable_filter_raises(text: str) -> None:
    with pytest.raises(FilterError):
        normal_form(text)


def test_filter_must_be_text() -> None:
    with pytest.raises(FilterError, match="must be a string"):
        normal_form(42)  # type: ignore[arg-type]


def test_normal_form_size_is_bounded() -> None:
    # Eleven AND-ed pairs expand to 2**11 alternatives, beyond the bound.
    text = " AND ".join(f'(a{i}="x" OR b{i}="y")' for i in range(11))

    with pytest.raises(FilterError, match="more than"):
        normal_form(text)


METRIC_CASES = [
    # (case id, metric, family, covers)
    ("matching filter", {"name": "audit", "filter": AUDIT}, "audit-configuration", True),
    ("other family", {"name": "audit", "filter": AUDIT}, "custom-roles", False),
    ("disabled metric", {"name": "audit", "filter": AUDIT, "disabled": True}, "audit-configuration", False),
    ("enabled flag", {"name": "audit", "filter": AUDIT, "disabled": False}, "audit-configuration", True),
]


@pytest.mark.parametrize(("metric", "family", "covers"), [case[1:] for case in METRIC_CASES],
                         ids=[case[0] for case in METRIC_CASES])
def test_metric_covers_family(metric: dict[str, Any], family: str, covers: bool) -> None:
    result, detail = metric_covers_family(metric, family)

    assert result is covers
    assert metric["name"] in detail


def test_metric_without_filter_raises() -> None:
    with pytest.raises(ValueError, match="no filter"):
        metric_covers_family({"name": "m"}, "routes")


def test_unknown_family_raises() -> None:
    with pytest.raises(ValueError, match="unknown event family"):
        metric_covers_family({"name": "m", "filter": SQL}, "sql")


def test_unreadable_metric_filter_raises() -> None:
    with pytest.raises(FilterError):
        metric_covers_family({"name": "m", "filter": "(("}, "routes")


@pytest.mark.parametrize(("metric", "expected"), [
    ({"name": "owner-changes"}, "logging.googleapis.com/user/owner-changes"),
    ({"name": "projects/p/metrics/owner-changes"}, "logging.googleapis.com/user/owner-changes"),
    ({"name": "x", "metricDescriptor": {"type": "logging.googleapis.com/user/y"}}, "logging.googleapis.com/user/y"),
])
def test_metric_type(metric: dict[str, Any], expected: str) -> None:
    assert metric_type(metric) == expected


WATCHED = "logging.googleapis.com/user/owner-changes"

CONDITION_CASES = [
    # (case id, condition, watches)
    ("threshold filter", {"conditionThreshold": {"filter": f'metric.type="{WATCHED}" AND resource.type="global"'}},
     True),
    ("spaced filter", {"conditionThreshold": {"filter": f'resource.type = "global" AND metric.type = "{WATCHED}"'}},
     True),
    ("absence condition", {"conditionAbsent": {"filter": f'metric.type="{WATCHED}"'}}, True),
    ("one_of list", {"conditionThreshold": {"filter": f'metric.type=one_of("logging.googleapis.com/user/a", '
                                                      f'"{WATCHED}")'}}, True),
    ("other metric", {"conditionThreshold": {"filter": 'metric.type="logging.googleapis.com/user/owner"'}}, False),
    ("prefix match", {"conditionThreshold": {"filter": 'metric.type=starts_with("logging.googleapis.com/user/")'}},
     None),
    ("prefix and other metric", {"conditionThreshold": {
        "filter": 'metric.type="a" OR metric.type=starts_with("logging.googleapis.com/user/")'}}, None),
    ("MQL metric operation", {"conditionMonitoringQueryLanguage": {
        "query": f"fetch global | metric '{WATCHED}' | align rate(1m) | every 1m | condition val() > 0"}}, True),
    ("MQL fetch", {"conditionMonitoringQueryLanguage": {"query": f"fetch global::{WATCHED} | every 1m"}}, True),
    ("MQL longer name", {"conditionMonitoringQueryLanguage": {"query": f"fetch global::{WATCHED}-2 | every 1m"}},
     False),
    ("PromQL", {"conditionPrometheusQueryLanguage": {
        "query": "sum(rate(logging_googleapis_com:user_owner_changes[5m])) > 0"}}, True),
    ("PromQL other", {"conditionPrometheusQueryLanguage": {
        "query": "sum(rate(logging_googleapis_com:user_owner_changes_2[5m])) > 0"}}, False),
    ("log match", {"conditionMatchedLog": {"filter": 'protoPayload.methodName="SetIamPolicy"'}}, False),
]


@pytest.mark.parametrize(("condition", "watches"), [case[1:] for case in CONDITION_CASES],
                         ids=[case[0] for case in CONDITION_CASES])
def test_condition_watches_metric(condition: dict[str, Any], watches: bool | None) -> None:
    assert condition_watches_metric(condition, WATCHED) is watches


def test_condition_must_be_object() -> None:
    with pytest.raises(ValueError, match="must be an object"):
        condition_watches_metric("metric.type", WATCHED)  # type: ignore[arg-type]


@pytest.mark.parametrize(("enabled", "expected"), [(True, True), (False, False), (None, None), ("true", None)])
def test_alert_enabled(enabled: Any, expected: bool | None) -> None:
    assert alert_enabled(enabled) is expected


def _audit(*configs: dict[str, Any]) -> dict[str, Any]:
    return {"bindings": [], "auditConfigs": list(configs)}


def _all_services(*log_types: str, exempted: dict[str, list[str]] | None = None) -> dict[str, Any]:
    configs = []
    for log_type in log_types:
        config: dict[str, Any] = {"logType": log_type}
        if exempted and log_type in exempted:
            config["exemptedMembers"] = exempted[log_type]
        configs.append(config)
    return {"service": "allServices", "auditLogConfigs": configs}


AUDIT_CASES = [
    # (case id, policy, gaps that must be reported; empty means complete)
    ("complete", _audit(_all_services("ADMIN_READ", "DATA_READ", "DATA_WRITE")), []),
    ("no audit configs", {"bindings": []}, ["allServices does not record ADMIN_READ, DATA_READ, DATA_WRITE"]),
    ("missing data read", _audit(_all_services("ADMIN_READ", "DATA_WRITE")), ["allServices does not record DATA_READ"]),
    ("only one service", _audit({"service": "storage.googleapis.com", "auditLogConfigs": [
        {"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}]}),
     ["allServices does not record ADMIN_READ, DATA_READ, DATA_WRITE"]),
    ("exempted member", _audit(_all_services("ADMIN_READ", "DATA_READ", "DATA_WRITE",
                                             exempted={"DATA_READ": ["user:a@example.com"]})),
     ["allServices exempts user:a@example.com from DATA_READ"]),
    ("exemption under another service", _audit(
        _all_services("ADMIN_READ", "DATA_READ", "DATA_WRITE"),
        {"service": "cloudsql.googleapis.com", "auditLogConfigs": [
            {"logType": "ADMIN_READ", "exemptedMembers": ["serviceAccount:r@p.iam.gserviceaccount.com"]}]}),
     ["cloudsql.googleapis.com exempts serviceAccount:r@p.iam.gserviceaccount.com from ADMIN_READ"]),
    ("empty exemption list", _audit(_all_services("ADMIN_READ", "DATA_READ", "DATA_WRITE",
                                                  exempted={"DATA_READ": []})), []),
]


@pytest.mark.parametrize(("policy", "gaps"), [case[1:] for case in AUDIT_CASES], ids=[case[0] for case in AUDIT_CASES])
def test_audit_logging_gaps(policy: dict[str, Any], gaps: list[str]) -> None:
    assert audit_logging_gaps(policy) == gaps


@pytest.mark.parametrize("policy", [
    [],
    {"auditConfigs": {"service": "allServices"}},
    {"auditConfigs": ["allServices"]},
    {"auditConfigs": [{"service": "allServices", "auditLogConfigs": "DATA_READ"}]},
    {"auditConfigs": [{"service": "allServices", "auditLogConfigs": ["DATA_READ"]}]},
])
def test_malformed_audit_configuration_raises(policy: Any) -> None:
    with pytest.raises(ValueError):
        audit_logging_gaps(policy)


def test_audit_gaps_of_recorded_project_policies() -> None:
    path = SAMPLES / "forseti" / "mock_cai_iam_policies.jsonl"
    if not path.exists():
        pytest.skip(f"the shared GCP samples are not present at {path}")
    policies = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        asset = json.loads(line)
        if asset["asset_type"] == "cloudresourcemanager.googleapis.com/Project":
            policies[asset["name"].rsplit("/", 1)[-1]] = asset["iam_policy"]

    # Project 1041 records everything for allServices but exempts a reader from Cloud SQL admin reads.
    assert audit_logging_gaps(policies["1041"]) == [
        "cloudsql.googleapis.com exempts user:gcp-reader-12345@p1234.iam.gserviceaccount.com from ADMIN_READ"]
    # Project 1043 has no audit configuration.
    assert audit_logging_gaps(policies["1043"]) == ["allServices does not record ADMIN_READ, DATA_READ, DATA_WRITE"]


@pytest.mark.parametrize(("url", "key"), [
    ("https://www.googleapis.com/compute/v1/projects/p1/global/networks/default",
     "projects/p1/global/networks/default"),
    ("https://compute.googleapis.com/compute/beta/projects/p1/global/networks/vpc-a",
     "projects/p1/global/networks/vpc-a"),
    ("projects/p1/global/networks/vpc-a", "projects/p1/global/networks/vpc-a"),
    ("//compute.googleapis.com/projects/p1/global/networks/vpc-a", "projects/p1/global/networks/vpc-a"),
])
def test_network_key(url: str, key: str) -> None:
    assert network_key(url) == key


@pytest.mark.parametrize("url", ["https://www.googleapis.com/compute/v1/projects/p1/regions/r/subnetworks/s", "", 7])
def test_network_key_rejects_other_urls(url: Any) -> None:
    with pytest.raises(ValueError):
        network_key(url)


@pytest.mark.parametrize(("destination", "bucket"), [
    ("storage.googleapis.com/ridgeline-audit-logs", "ridgeline-audit-logs"),
    ("storage.googleapis.com/logs.example.com", "logs.example.com"),
    ("storage.googleapis.com/trailing-slash/", "trailing-slash"),
    ("bigquery.googleapis.com/projects/p1/datasets/audit_logs", None),
    ("pubsub.googleapis.com/projects/p1/topics/logs", None),
    ("logging.googleapis.com/projects/p1/locations/global/buckets/storage.googleapis.com", None),
    ("logging.googleapis.com/projects/p2", None),
])
def test_sink_bucket(destination: str, bucket: str | None) -> None:
    assert sink_bucket(destination) == bucket


@pytest.mark.parametrize("destination", ["storage.googleapis.com/", "storage.googleapis.com/b/objects", None, 7])
def test_sink_bucket_rejects_invalid_destinations(destination: Any) -> None:
    with pytest.raises(ValueError):
        sink_bucket(destination)


REQUIRED = ["LEGAL", "SECURITY", "SUSPENSION", "TECHNICAL"]


def _contact(*categories: str, state: str = "VALID") -> dict[str, Any]:
    return {"name": "organizations/1/contacts/1", "email": "sec@example.com",
            "notificationCategorySubscriptions": list(categories), "languageTag": "en", "validationState": state}


CONTACT_CASES = [
    # (case id, contacts, missing categories)
    ("no contacts", [], REQUIRED),
    ("all categories", [_contact("ALL")], []),
    ("split across contacts", [_contact("LEGAL", "SECURITY"), _contact("SUSPENSION", "TECHNICAL")], []),
    ("one missing", [_contact("LEGAL", "SECURITY", "TECHNICAL", "BILLING")], ["SUSPENSION"]),
    ("invalid contact ignored", [_contact("ALL", state="INVALID"), _contact("LEGAL")],
     ["SECURITY", "SUSPENSION", "TECHNICAL"]),
    ("list response object", {"contacts": [_contact("ALL")]}, []),
    ("empty response object", {}, REQUIRED),
]


@pytest.mark.parametrize(("contacts", "missing"), [case[1:] for case in CONTACT_CASES],
                         ids=[case[0] for case in CONTACT_CASES])
def test_essential_contact_gaps(contacts: Any, missing: list[str]) -> None:
    assert essential_contact_gaps(contacts, REQUIRED) == missing


@pytest.mark.parametrize("contacts", ["sec@example.com", ["sec@example.com"],
                                      [{"notificationCategorySubscriptions": "ALL"}]])
def test_malformed_contacts_raise(contacts: Any) -> None:
    with pytest.raises(ValueError):
        essential_contact_gaps(contacts, REQUIRED)
