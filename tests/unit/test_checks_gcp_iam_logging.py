"""The GCP check functions for IAM, keys and logging: missing input is unknown, and arguments are checked."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.model.resource import Resource
from ridgeline.rules.checks_gcp_iam_logging import (
    dns_policy_lists_network,
    essential_contacts_missing,
    iam_public_grants,
    iam_service_account_admin_grants,
    known_value_in,
    logging_metric_covers,
    monitoring_alert_enabled,
    monitoring_condition_watches_metric,
    timestamp_older_than_days,
)

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


@pytest.mark.parametrize(("condition", "no_match", "matched"), [
    (WATCHING, "false", True),
    (OTHER, "false", False),
    (OTHER, "unknown", None),
    (WATCHING, "maybe", None),
])
def test_condition_watches_metric(condition: dict[str, Any], no_match: str, matched: bool | None) -> None:
    assert monitoring_condition_watches_metric(condition, METRIC, no_match).matched is matched


def test_condition_check_needs_a_metric_subject() -> None:
    outcome = monitoring_condition_watches_metric(WATCHING, NETWORK)

    assert outcome.matched is None
    assert "judges a LogMetric" in outcome.detail


@pytest.mark.parametrize(("network_url", "no_match", "matched"), [
    ("https://compute.googleapis.com/compute/beta/projects/p1/global/networks/vpc-a", "false", True),
    ("https://www.googleapis.com/compute/v1/projects/p1/global/networks/vpc-b", "false", False),
    ("https://www.googleapis.com/compute/v1/projects/p1/global/networks/vpc-b", "unknown", None),
    ("not a network", "false", None),
])
def test_dns_policy_lists_network(network_url: str, no_match: str, matched: bool | None) -> None:
    assert dns_policy_lists_network(network_url, NETWORK, no_match).matched is matched


def test_dns_check_needs_a_network_subject() -> None:
    assert dns_policy_lists_network(NETWORK_URL, METRIC).matched is None
