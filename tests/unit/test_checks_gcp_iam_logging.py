"""The GCP check functions for IAM, keys and logging: missing input is unknown, and arguments are checked.

The sink rule is also run through the engine here, for what its data-driven cases cannot show: sinks
that the rule skips, and a bucket type that could not be listed.
"""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.checks_common import known_value_in
from ridgeline.rules.checks_gcp_iam_logging import (
    dns_policy_lists_network,
    essential_contacts_missing,
    iam_public_grants,
    iam_service_account_admin_grants,
    logging_metric_covers,
    logging_sink_bucket_not_found,
    logging_sink_exports_to_bucket,
    monitoring_alert_enabled,
    monitoring_condition_watches_metric,
    timestamp_older_than_days,
)
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import known_services, load_builtin_rules

NETWORK_URL = "https://www.googleapis.com/compute/v1/projects/p1/global/networks/vpc-a"


def resource(type_name: str, name: str, configuration: dict[str, Any]) -> Resource:
    return Resource(provider="gcp", account="p1", region="global", type=type_name, id=f"//test/{name}", name=name,
                    configuration=configuration)


METRIC = resource("logging.googleapis.com/LogMetric", "owner-changes", {"name": "owner-changes"})
NETWORK = resource("compute.googleapis.com/Network", "vpc-a", {"name": "vpc-a", "selfLink": NETWORK_URL})


@pytest.mark.parametrize(("value", "matched"), [("USER_MANAGED", True), ("SYSTEM_MANAGED", False), (None, None)])
def test_known_value_in(value: Any, matched: bool | None) -> None:
    assert known_value_in(value, ["USER_MANAGED"]).matched is matched


@pytest.mark.parametrize(("time", "matched"), [
    ("2020-01-01T00:00:00Z", True),
    ("2099-01-01T00:00:00Z", False),
    (None, None),
    ("not a time", None),
])
def test_timestamp_older_than_days(time: Any, matched: bool | None) -> None:
    assert timestamp_older_than_days(time, 90).matched is matched


def test_missing_policy_is_unknown() -> None:
    outcome = iam_service_account_admin_grants(None)

    assert outcome.matched is None
    assert "IAM_POLICY" in outcome.detail


def test_public_grant_detail_names_member() -> None:
    outcome = iam_public_grants({"bindings": [{"role": "roles/cloudkms.cryptoKeyDecrypter", "members": ["allUsers"]}]})

    assert outcome.matched is True
    assert "roles/cloudkms.cryptoKeyDecrypter: allUsers" in outcome.detail


def test_missing_contacts_are_unknown() -> None:
    assert essential_contacts_missing(None, ["SECURITY"]).matched is None


def test_unknown_family_is_unknown() -> None:
    outcome = logging_metric_covers({"name": "m", "filter": "x"}, "everything")

    assert outcome.matched is None
    assert "unknown event family" in outcome.detail


@pytest.mark.parametrize(("enabled", "matched"), [(True, True), (False, False), (None, None)])
def test_monitoring_alert_enabled(enabled: Any, matched: bool | None) -> None:
    assert monitoring_alert_enabled(enabled).matched is matched


WATCHING = {"displayName": "owners", "conditionThreshold": {
    "filter": 'metric.type="logging.googleapis.com/user/owner-changes"'}}
OTHER = {"displayName": "cpu", "conditionThreshold": {"filter": 'metric.type="compute.googleapis.com/instance/x"'}}


@pytest.mark.parametrize(("condition", "matched"), [
    (WATCHING, True),
    (OTHER, False),
    ({"displayName": "prefix", "conditionThreshold": {"filter": 'metric.type=starts_with("logging.googleapis.com/")'}},
     None),
])
def test_condition_watches_metric(condition: dict[str, Any], matched: bool | None) -> None:
    assert monitoring_condition_watches_metric(condition, METRIC).matched is matched


def test_condition_check_needs_a_metric_subject() -> None:
    outcome = monitoring_condition_watches_metric(WATCHING, NETWORK)

    assert outcome.matched is None
    assert "judges a LogMetric" in outcome.detail


@pytest.mark.parametrize(("network_url", "matched"), [
    ("https://compute.googleapis.com/compute/beta/projects/p1/global/networks/vpc-a", True),
    ("https://www.googleapis.com/compute/v1/projects/p1/global/networks/vpc-b", False),
    ("https://www.googleapis.com/compute/v1/projects/p2/global/networks/vpc-a", False),
    ("not a network", None),
])
def test_dns_policy_lists_network(network_url: str, matched: bool | None) -> None:
    assert dns_policy_lists_network(network_url, NETWORK).matched is matched


def test_dns_check_needs_a_network_subject() -> None:
    assert dns_policy_lists_network(NETWORK_URL, METRIC).matched is None


SINK = resource("logging.googleapis.com/LogSink", "export-all", {"name": "export-all"})


@pytest.mark.parametrize(("destination", "matched"), [
    ("storage.googleapis.com/audit-logs", True),
    ("bigquery.googleapis.com/projects/p1/datasets/audit_logs", False),
    ("pubsub.googleapis.com/projects/p1/topics/logs", False),
    (None, None),
    ("storage.googleapis.com/", None),
])
def test_logging_sink_exports_to_bucket(destination: Any, matched: bool | None) -> None:
    assert logging_sink_exports_to_bucket(destination).matched is matched


def test_sink_bucket_not_found_names_bucket_and_project() -> None:
    outcome = logging_sink_bucket_not_found("storage.googleapis.com/central-logs", SINK)

    assert outcome.matched is None
    assert "central-logs" in outcome.detail
    assert "project p1" in outcome.detail
    assert "scan or export the project that owns it" in outcome.detail


def test_sink_bucket_not_found_ignores_other_destinations() -> None:
    assert logging_sink_bucket_not_found("pubsub.googleapis.com/projects/p1/topics/logs", SINK).matched is False


SINK_RULE = next(rule for rule in load_builtin_rules() if rule.id == "gcp-storage-log-export-retention-locked")


def _sink(name: str, destination: str) -> Resource:
    return Resource(provider="gcp", account="p1", region="global", type="logging.googleapis.com/LogSink",
                    id=f"//logging.googleapis.com/projects/p1/sinks/{name}", name=name,
                    configuration={"name": name, "destination": destination})


def _coverage(failed_types: dict[str, dict[str, str]] | None = None) -> list[Coverage]:
    failed_types = failed_types or {}
    return [Coverage(provider="gcp", account="p1", region="global", service=service,
                     failed_types=failed_types.get(service, {}))
            for service in known_services("gcp") or {}]


def test_sink_rule_skips_bigquery_and_pubsub_sinks() -> None:
    sinks = [_sink("to-bigquery", "bigquery.googleapis.com/projects/p1/datasets/audit_logs"),
             _sink("to-pubsub", "pubsub.googleapis.com/projects/p1/topics/logs"),
             _sink("to-log-bucket", "logging.googleapis.com/projects/p1/locations/global/buckets/_Default")]

    findings = Engine([SINK_RULE]).evaluate(sinks, _coverage())

    assert findings == []


def test_sink_rule_unlisted_buckets_error() -> None:
    sink = _sink("export-all", "storage.googleapis.com/audit-logs")
    coverage = _coverage({"storage": {"storage.googleapis.com/Bucket": "storage.buckets.list denied (403)"}})

    findings = Engine([SINK_RULE]).evaluate([sink], coverage)

    assert [finding.status for finding in findings] == [Status.ERROR]
    assert "storage.buckets.list denied" in findings[0].message
