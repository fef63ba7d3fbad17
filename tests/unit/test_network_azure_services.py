"""Tests for the Azure network service settings: Application Gateway TLS, flow log retention, IP firewalls."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.network.azure_services import (
    TlsPolicyMinimum,
    flow_log_retention_shortfall,
    gateway_tls_minimums,
    internet_wide_firewall_rules,
    tls_version_rank,
)

# --- Application Gateway TLS policies ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ssl_policy", "minimum"),
    [
        pytest.param(None, "TLSv1_0", id="no-policy-assumes-old-default"),
        pytest.param({}, "TLSv1_0", id="empty-policy"),
        pytest.param({"policyType": "Predefined", "policyName": "AppGwSslPolicy20150501"}, "TLSv1_0", id="2015"),
        pytest.param({"policyType": "Predefined", "policyName": "AppGwSslPolicy20170401"}, "TLSv1_1", id="2017"),
        pytest.param({"policyType": "Predefined", "policyName": "AppGwSslPolicy20170401S"}, "TLSv1_2", id="2017S"),
        pytest.param({"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101"}, "TLSv1_2", id="2022"),
        pytest.param({"policyType": "predefined", "policyName": "appgwsslpolicy20220101s"}, "TLSv1_2",
                     id="2022S-lower-case"),
        pytest.param({"policyName": "AppGwSslPolicy20170401"}, "TLSv1_1", id="name-without-type"),
        pytest.param({"policyType": "Custom", "minProtocolVersion": "TLSv1_1"}, "TLSv1_1", id="custom"),
        pytest.param({"policyType": "CustomV2", "minProtocolVersion": "TLSv1_3"}, "TLSv1_3", id="custom-v2"),
        pytest.param({"minProtocolVersion": "tlsv1_2"}, "TLSv1_2", id="version-without-type"),
        pytest.param({"disabledSslProtocols": ["TLSv1_0"]}, "TLSv1_1", id="legacy-disable-1-0"),
        pytest.param({"disabledSslProtocols": ["TLSv1_0", "TLSv1_1"]}, "TLSv1_2", id="legacy-disable-both"),
        pytest.param({"disabledSslProtocols": []}, "TLSv1_0", id="legacy-empty-list"),
    ],
)
def test_gateway_policy_minimum(ssl_policy: Any, minimum: str) -> None:
    properties = {"sslPolicy": ssl_policy} if ssl_policy is not None else {}

    minimums = gateway_tls_minimums(properties)

    assert [policy.minimum for policy in minimums] == [minimum]
    assert minimums[0].scope == "gateway"


def test_ssl_profiles_judged_separately() -> None:
    properties = {
        "sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"},
        "sslProfiles": [
            {"name": "legacy", "properties": {"sslPolicy": {"policyType": "Custom", "minProtocolVersion": "TLSv1_0"}}},
            {"name": "inherits", "properties": {"clientAuthConfiguration": {}}},
            {"name": "empty-policy", "properties": {"sslPolicy": {}}},
        ],
    }

    minimums = gateway_tls_minimums(properties)

    assert minimums == [
        TlsPolicyMinimum("gateway", "TLSv1_2", "predefined policy AppGwSslPolicy20220101S"),
        TlsPolicyMinimum("SSL profile legacy", "TLSv1_0", "Custom policy"),
    ]
    assert minimums[1].describe() == "SSL profile legacy: TLSv1_0 (Custom policy)"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        pytest.param("gateway", "expected an object", id="not-object"),
        pytest.param({"sslPolicy": "strict"}, "invalid sslPolicy", id="policy-not-object"),
        pytest.param({"sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20990101"}},
                     "unknown predefined TLS policy", id="unknown-name"),
        pytest.param({"sslPolicy": {"policyType": "Predefined"}}, "unknown predefined TLS policy", id="no-name"),
        pytest.param({"sslPolicy": {"policyType": "Custom"}}, "without minProtocolVersion", id="custom-no-version"),
        pytest.param({"sslPolicy": {"policyType": "Custom", "minProtocolVersion": "SSLv3"}},
                     "invalid TLS protocol version", id="custom-bad-version"),
        pytest.param({"sslPolicy": {"policyType": "Strictest"}}, "unknown TLS policyType", id="unknown-type"),
        pytest.param({"sslPolicy": {"disabledSslProtocols": "TLSv1_0"}}, "invalid disabledSslProtocols",
                     id="disabled-not-list"),
        pytest.param({"sslPolicy": {"disabledSslProtocols": ["TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"]}},
                     "switches off every protocol", id="disabled-everything"),
        pytest.param({"sslProfiles": "none"}, "invalid sslProfiles", id="profiles-not-list"),
        pytest.param({"sslProfiles": ["p1"]}, r"invalid sslProfiles\[0\]", id="profile-not-object"),
        pytest.param({"sslProfiles": [{"name": "p1", "properties": {"sslPolicy": {"cipherSuites": []}}}]},
                     "SSL profile p1: sslPolicy names no policy", id="profile-policy-without-type"),
    ],
)
def test_gateway_policy_malformed(properties: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gateway_tls_minimums(properties)


@pytest.mark.parametrize(("version", "rank"), [("TLSv1_0", 0), ("tlsv1_1", 1), (" TLSv1_2 ", 2), ("TLSV1_3", 3)])
def test_tls_version_rank(version: str, rank: int) -> None:
    assert tls_version_rank(version) == rank


@pytest.mark.parametrize("version", ["TLSv1.2", "SSLv3", "", None, 2])
def test_tls_version_rank_rejects(version: Any) -> None:
    with pytest.raises(ValueError, match="invalid TLS protocol version"):
        tls_version_rank(version)


# --- Flow log retention --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "short"),
    [
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": 30}}, True, id="30-days"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": 89}}, True, id="89-days"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": 90}}, False, id="90-days"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": 365}}, False, id="365-days"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": 0}}, False, id="forever"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": False, "days": 7}}, False,
                     id="policy-disabled-deletes-nothing"),
        pytest.param({"enabled": True, "retentionPolicy": {"days": 7}}, False, id="policy-enabled-absent"),
        pytest.param({"enabled": True}, False, id="no-policy"),
        pytest.param({"enabled": False, "retentionPolicy": {"enabled": True, "days": 365}}, True, id="flow-log-off"),
    ],
)
def test_flow_log_retention(properties: dict[str, Any], short: bool) -> None:
    shortfall = flow_log_retention_shortfall(properties, 90)

    assert (shortfall is not None) is short


def test_flow_log_retention_reason() -> None:
    shortfall = flow_log_retention_shortfall({"enabled": True, "retentionPolicy": {"enabled": True, "days": 30}}, 90)

    assert shortfall == "the retention policy deletes records after 30 days, fewer than 90"


@pytest.mark.parametrize(
    ("properties", "minimum_days", "message"),
    [
        pytest.param("flow log", 90, "expected an object", id="not-object"),
        pytest.param({"retentionPolicy": {"enabled": True, "days": 30}}, 90, "enabled None", id="enabled-missing"),
        pytest.param({"enabled": "yes"}, 90, "enabled 'yes'", id="enabled-text"),
        pytest.param({"enabled": True, "retentionPolicy": 30}, 90, "invalid retentionPolicy", id="policy-number"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": "true", "days": 30}}, 90,
                     "retentionPolicy.enabled", id="policy-enabled-text"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True}}, 90, "retentionPolicy.days None",
                     id="days-missing"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": -1}}, 90, "days -1",
                     id="days-negative"),
        pytest.param({"enabled": True, "retentionPolicy": {"enabled": True, "days": "90"}}, 90, "days '90'",
                     id="days-text"),
        pytest.param({"enabled": True}, 0, "invalid minimum_days", id="minimum-zero"),
    ],
)
def test_flow_log_retention_malformed(properties: Any, minimum_days: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        flow_log_retention_shortfall(properties, minimum_days)


# --- IP firewall rules of database servers ------------------------------------------------------


def firewall_rule(name: str, start: str, end: str) -> dict[str, Any]:
    return {"name": name, "type": "Microsoft.Sql/servers/firewallRules",
            "properties": {"startIpAddress": start, "endIpAddress": end}}


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        pytest.param([("AllowAll", "0.0.0.0", "255.255.255.255")], ["AllowAll"], id="allow-all"),
        pytest.param([("Unicast", "1.0.0.0", "223.255.255.255")], ["Unicast"], id="unicast-space"),
        pytest.param([("Low", "0.0.0.0", "127.255.255.255"), ("High", "128.0.0.0", "255.255.255.255")],
                     ["Low", "High"], id="two-halves"),
        pytest.param([("Low", "0.0.0.0", "127.255.255.255"), ("Office", "203.0.113.0", "203.0.113.255"),
                      ("High", "128.0.0.0", "255.255.255.255")], ["Low", "Office", "High"],
                     id="covering-rules-named"),
        pytest.param([("Public", "1.0.0.0", "255.255.255.255"), ("Azure", "0.0.0.0", "0.0.0.0")], ["Public"],
                     id="azure-services-rule-not-named"),
        pytest.param([("Low", "0.0.0.0", "127.255.255.255")], [], id="half"),
        pytest.param([("AlmostAll", "0.0.0.0", "223.255.255.254")], [], id="one-address-left"),
        pytest.param([("Azure", "0.0.0.0", "0.0.0.0")], [], id="azure-services-only"),
        pytest.param([("Office", "203.0.113.0", "203.0.113.255")], [], id="office"),
        pytest.param([], [], id="no-rules"),
    ],
)
def test_internet_wide_firewall_rules(ranges: list[tuple[str, str, str]], expected: list[str]) -> None:
    rules = [firewall_rule(*item) for item in ranges]

    assert internet_wide_firewall_rules(rules) == expected


def test_firewall_rules_flattened_shape() -> None:
    rules = [{"name": "AllowAll", "startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}]

    assert internet_wide_firewall_rules(rules) == ["AllowAll"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        pytest.param("AllowAll", "expected a list", id="text"),
        pytest.param({"name": "AllowAll"}, "expected a list", id="mapping"),
        pytest.param([42], "expected an object", id="rule-number"),
        pytest.param([firewall_rule("Reversed", "10.0.0.9", "10.0.0.1")], "is after endIpAddress", id="reversed"),
        pytest.param([firewall_rule("Bad", "10.0.0", "10.0.0.1")], "Bad: invalid startIpAddress", id="short-ip"),
        pytest.param([firewall_rule("Six", "::", "::1")], "expected IPv4 addresses", id="ipv6"),
        pytest.param([{"name": "Empty", "properties": {}}], "invalid startIpAddress None", id="missing"),
    ],
)
def test_firewall_rules_malformed(rules: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        internet_wide_firewall_rules(rules)
