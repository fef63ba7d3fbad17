"""Tests for Cloud SQL database flags with defaults and for authorized networks open to everyone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ridgeline.analysis.gcp_sql import database_flag, open_authorized_networks
from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.checks_gcp_sql import sql_authorized_networks_open, sql_flag_unsafe
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules


def settings(*flags: tuple[str, Any]) -> dict[str, Any]:
    return {"tier": "db-custom-1-3840", "databaseFlags": [{"name": name, "value": value} for name, value in flags]}


FLAG_CASES = [
    # (case id, settings, flag, default, safe values, expected (value, effective, safe))
    ("set to the safe value", settings(("log_connections", "on")), "log_connections", "off", ["on"],
     ("on", "on", True)),
    ("set to an unsafe value", settings(("log_connections", "off")), "log_connections", "off", ["on"],
     ("off", "off", False)),
    ("unset with an unsafe default", settings(), "log_connections", "off", ["on"], (None, "off", False)),
    ("unset with a safe default", settings(), "log_min_duration_statement", "-1", ["-1"], (None, "-1", True)),
    ("no databaseFlags key", {"tier": "db-f1-micro"}, "local_infile", "on", ["off"], (None, "on", False)),
    ("values ignore case", settings(("skip_show_database", "ON")), "skip_show_database", "off", ["on"],
     ("ON", "ON", True)),
    ("other flags do not count", settings(("log_disconnections", "on")), "log_connections", "off", ["on"],
     (None, "off", False)),
    ("flag names with spaces", settings(("remote access", "off")), "remote access", "on", ["off"],
     ("off", "off", True)),
    ("unset flag without default passes when empty is safe", settings(), "user options", None, ["", "0"],
     (None, None, True)),
    ("set flag without default", settings(("user options", "32")), "user options", None, ["", "0"],
     ("32", "32", False)),
    ("numbers from exports", settings(("user connections", 0)), "user connections", "0", ["0"],
     ("0", "0", True)),
]


@pytest.mark.parametrize(("raw", "flag", "default", "safe_values", "expected"),
                         [case[1:] for case in FLAG_CASES], ids=[case[0] for case in FLAG_CASES])
def test_database_flag(raw: dict[str, Any], flag: str, default: str | None, safe_values: list[str],
                       expected: tuple[str | None, str | None, bool]) -> None:
    setting = database_flag(raw, flag, default=default, safe_values=safe_values)

    assert (setting.value, setting.effective, setting.safe) == expected


INVALID_FLAG_CASES = [
    ("no settings", None, "the instance has no settings"),
    ("settings not an object", ["x"], "invalid settings"),
    ("flags not a list", {"databaseFlags": {"name": "a"}}, "invalid databaseFlags"),
    ("entry without name", {"databaseFlags": [{"value": "on"}]}, r"databaseFlags\[0\]"),
    ("flag set twice", settings(("log_connections", "on"), ("log_connections", "off")), "set twice"),
    ("flag without value", {"databaseFlags": [{"name": "log_connections"}]}, "no usable value"),
]


@pytest.mark.parametrize(("raw", "message"), [case[1:] for case in INVALID_FLAG_CASES],
                         ids=[case[0] for case in INVALID_FLAG_CASES])
def test_database_flag_rejects_malformed_settings(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        database_flag(raw, "log_connections", default="off", safe_values=["on"])


def test_flag_description_names_default() -> None:
    setting = database_flag(settings(), "log_connections", default="off", safe_values=["on"])

    assert setting.describe() == "log_connections is not set (default off)"


def network(value: str, name: str = "n") -> dict[str, str]:
    return {"kind": "sql#aclEntry", "name": name, "value": value}


NETWORK_CASES = [
    # (case id, ipConfiguration, expected labels)
    ("no ip configuration", None, []),
    ("no authorized networks", {"ipv4Enabled": True}, []),
    ("office range", {"authorizedNetworks": [network("203.0.113.0/24", "office")]}, []),
    ("whole ipv4 space", {"authorizedNetworks": [network("0.0.0.0/0", "any")]}, ["any (0.0.0.0/0)"]),
    ("two halves", {"authorizedNetworks": [network("0.0.0.0/1", "low"), network("128.0.0.0/1", "high")]},
     ["low (0.0.0.0/1)", "high (128.0.0.0/1)"]),
    ("one half only", {"authorizedNetworks": [network("0.0.0.0/1", "low")]}, []),
    ("ipv6 space", {"authorizedNetworks": [network("::/0", "v6")]}, ["v6 (::/0)"]),
]


@pytest.mark.parametrize(("ip_configuration", "expected"), [case[1:] for case in NETWORK_CASES],
                         ids=[case[0] for case in NETWORK_CASES])
def test_open_authorized_networks(ip_configuration: dict[str, Any] | None, expected: list[str]) -> None:
    assert open_authorized_networks(ip_configuration) == expected


def test_authorized_network_without_value_is_invalid() -> None:
    with pytest.raises(ValueError, match=r"authorizedNetworks\[0\]"):
        open_authorized_networks({"authorizedNetworks": [{"name": "broken"}]})


def instance(configuration: dict[str, Any]) -> Resource:
    return Resource(provider="gcp", account="p1", region="us-central1", type="sqladmin.googleapis.com/Instance",
                    id="//cloudsql.googleapis.com/projects/p1/instances/db1", name="db1",
                    configuration={"name": "db1", "databaseVersion": "POSTGRES_15", **configuration})


def test_flag_check_reports_unsafe_default() -> None:
    subject = instance({"settings": settings()})

    outcome = sql_flag_unsafe(None, flag="cloudsql.enable_pgaudit", default="off", safe_values=["on"],
                              subject=subject)

    assert outcome.matched is True
    assert "not set (default off)" in outcome.detail


def test_flag_check_reads_the_flags_given() -> None:
    subject = instance({"settings": settings(("log_connections", "off"))})

    outcome = sql_flag_unsafe([{"name": "log_connections", "value": "on"}], flag="log_connections", default="off",
                              safe_values=["on"], subject=subject)

    assert outcome.matched is False


@pytest.mark.parametrize("configuration", [{}, {"settings": None}, {"settings": ["x"]}],
                         ids=["no settings", "null settings", "settings not an object"])
def test_flag_check_is_unknown_without_settings(configuration: dict[str, Any]) -> None:
    outcome = sql_flag_unsafe(None, flag="log_connections", default="off", safe_values=["on"],
                              subject=instance(configuration))

    assert outcome.matched is None
    assert "settings" in outcome.detail


def test_flag_check_is_unknown_without_subject() -> None:
    outcome = sql_flag_unsafe([], flag="log_connections", default="off", safe_values=["on"])

    assert outcome.matched is None


def test_flag_check_rejects_non_string_safe_values() -> None:
    outcome = sql_flag_unsafe([], flag="user connections", default="0", safe_values=[0],
                              subject=instance({"settings": settings()}))

    assert outcome.matched is None


def test_flag_rule_evidence_without_labels() -> None:
    # The engine records each argument of a check as evidence, and labels beside the flags may be secret.
    rule = next(rule for rule in load_builtin_rules() if rule.id == "gcp-sql-postgres-log-connections")
    subject = instance({"settings": {"tier": "db-custom-1-3840", "userLabels": {"team": "LABEL-VALUE"},
                                     "databaseFlags": [{"name": "log_connections", "value": "off"}]}})
    coverage = [Coverage(provider="gcp", account="p1", region="global", service="sqladmin")]

    (finding,) = [finding for finding in Engine([rule]).evaluate([subject], coverage) if finding.rule_id == rule.id]

    assert finding.status is Status.FAIL
    assert finding.evidence["configuration.settings.databaseFlags"] == [{"name": "log_connections", "value": "off"}]
    assert "LABEL-VALUE" not in json.dumps(finding.evidence)
    assert "db-custom" not in json.dumps(finding.evidence)


def test_network_check_is_unknown_on_bad_cidr() -> None:
    outcome = sql_authorized_networks_open({"authorizedNetworks": [network("not-a-cidr")]})

    assert outcome.matched is None
