"""Tests for the internet exposure analysis of Azure network security groups."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.network.azure import (
    Exposure,
    is_internet_source,
    nsg_internet_exposures,
    nsg_rules,
    parse_port_ranges,
)

# --- Builders for the Azure Resource Manager shape --------------------------------------


def rule(
    name: str,
    priority: int,
    access: str = "Allow",
    source: str | list[str] = "*",
    ports: str | list[str] = "22",
    protocol: str = "Tcp",
    direction: str = "Inbound",
    wrapped: bool = True,
) -> dict[str, Any]:
    """Build one security rule, with the "properties" wrapper unless `wrapped` is False."""
    fields: dict[str, Any] = {
        "priority": priority,
        "direction": direction,
        "access": access,
        "protocol": protocol,
        "sourcePortRange": "*",
        "destinationAddressPrefix": "*",
    }
    if isinstance(source, list):
        fields["sourceAddressPrefix"] = ""
        fields["sourceAddressPrefixes"] = source
    else:
        fields["sourceAddressPrefix"] = source
        fields["sourceAddressPrefixes"] = []
    if isinstance(ports, list):
        fields["destinationPortRanges"] = ports
    else:
        fields["destinationPortRange"] = ports
        fields["destinationPortRanges"] = []

    if not wrapped:
        return {"name": name, **fields}
    return {"name": name, "properties": fields}


def default_rules() -> list[dict[str, Any]]:
    """Return the six default rules that Azure adds to every NSG."""
    return [
        rule("AllowVnetInBound", 65000, source="VirtualNetwork", ports="*", protocol="*"),
        rule("AllowAzureLoadBalancerInBound", 65001, source="AzureLoadBalancer", ports="*", protocol="*"),
        rule("DenyAllInBound", 65500, "Deny", source="*", ports="*", protocol="*"),
        rule("AllowVnetOutBound", 65000, source="VirtualNetwork", ports="*", protocol="*", direction="Outbound"),
        rule("AllowInternetOutBound", 65001, source="*", ports="*", protocol="*", direction="Outbound"),
        rule("DenyAllOutBound", 65500, "Deny", source="*", ports="*", protocol="*", direction="Outbound"),
    ]


def nsg(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "nsg-web",
        "type": "Microsoft.Network/networkSecurityGroups",
        "properties": {"securityRules": list(rules), "defaultSecurityRules": default_rules()},
    }


def exposed_ports(group: dict[str, Any], ports: list[int], protocol: str = "tcp") -> list[int]:
    return [exposure.from_port for exposure in nsg_internet_exposures(group, ports=ports, protocol=protocol)]


# --- Sources ---------------------------------------------------------------------------

SOURCE_CASES = [
    pytest.param("*", True, id="asterisk"),
    pytest.param("Internet", True, id="internet-tag"),
    pytest.param("internet", True, id="internet-tag-lower-case"),
    pytest.param("INTERNET", True, id="internet-tag-upper-case"),
    pytest.param("Any", True, id="any"),
    pytest.param("0.0.0.0/0", True, id="ipv4-world"),
    pytest.param("::/0", True, id="ipv6-world"),
    pytest.param("VirtualNetwork", False, id="virtual-network-tag"),
    pytest.param("AzureLoadBalancer", False, id="load-balancer-tag"),
    pytest.param("10.0.0.0/8", False, id="private-cidr"),
    pytest.param("203.0.113.0/24", False, id="public-not-world"),
    pytest.param("0.0.0.0", False, id="single-address"),
]


@pytest.mark.parametrize(("source", "internet"), SOURCE_CASES)
def test_is_internet_source(source: str, internet: bool) -> None:
    assert is_internet_source(source) is internet


@pytest.mark.parametrize(("source", "internet"), SOURCE_CASES)
def test_nsg_exposure_by_source(source: str, internet: bool) -> None:
    group = nsg(rule("AllowSSH", 300, source=source))

    exposures = nsg_internet_exposures(group, ports=[22])

    expected = [Exposure("tcp", 22, 22, source, "AllowSSH", 300)] if internet else []
    assert exposures == expected


def test_is_internet_source_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="expected a string"):
        is_internet_source(None)  # type: ignore[arg-type]


# --- Ports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("22", [(22, 22)], id="single"),
        pytest.param(" 22 ", [(22, 22)], id="whitespace"),
        pytest.param("20-23", [(20, 23)], id="range"),
        pytest.param("*", [(0, 65535)], id="asterisk"),
        pytest.param("0-65535", [(0, 65535)], id="full-range"),
        pytest.param(443, [(443, 443)], id="integer"),
        pytest.param(["80", "20-23"], [(80, 80), (20, 23)], id="list"),
    ],
)
def test_parse_port_ranges(value: Any, expected: list[tuple[int, int]]) -> None:
    assert parse_port_ranges(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("ssh", id="name"),
        pytest.param("22-", id="open-end"),
        pytest.param("-22", id="open-start"),
        pytest.param("23-20", id="reversed"),
        pytest.param("65536", id="too-high"),
        pytest.param("1-2-3", id="two-dashes"),
        pytest.param("22,80", id="comma-list"),
        pytest.param(-1, id="negative-integer"),
        pytest.param(True, id="boolean"),
        pytest.param([], id="empty-list"),
        pytest.param(["22", None], id="none-in-list"),
        pytest.param(None, id="none"),
    ],
)
def test_parse_port_ranges_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match="invalid port range"):
        parse_port_ranges(value)


@pytest.mark.parametrize(
    ("ports", "port", "exposed"),
    [
        pytest.param(["80", "20-23"], 22, True, id="plural-range-inside"),
        pytest.param(["80", "20-23"], 20, True, id="plural-range-start"),
        pytest.param(["80", "20-23"], 23, True, id="plural-range-end"),
        pytest.param(["80", "20-23"], 80, True, id="plural-single"),
        pytest.param(["80", "20-23"], 24, False, id="plural-after-range"),
        pytest.param("*", 3389, True, id="asterisk"),
        pytest.param("3389", 22, False, id="other-port"),
    ],
)
def test_nsg_exposure_by_port(ports: str | list[str], port: int, exposed: bool) -> None:
    group = nsg(rule("AllowWeb", 300, source="Internet", ports=ports))

    assert bool(exposed_ports(group, [port])) is exposed


# --- Protocols -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "query", "exposed"),
    [
        pytest.param("Tcp", "tcp", True, id="tcp"),
        pytest.param("TCP", "tcp", True, id="tcp-upper-case"),
        pytest.param("Udp", "tcp", False, id="udp-rule-tcp-query"),
        pytest.param("Udp", "udp", True, id="udp-rule-udp-query"),
        pytest.param("*", "tcp", True, id="any-protocol-tcp"),
        pytest.param("*", "udp", True, id="any-protocol-udp"),
        pytest.param("Icmp", "tcp", False, id="icmp"),
        pytest.param("Esp", "tcp", False, id="esp"),
        pytest.param("Ah", "tcp", False, id="ah"),
    ],
)
def test_nsg_exposure_by_protocol(protocol: str, query: str, exposed: bool) -> None:
    group = nsg(rule("AllowAll", 300, protocol=protocol, ports="*"))

    assert bool(exposed_ports(group, [22], protocol=query)) is exposed


def test_query_protocol_without_ports_rejected() -> None:
    with pytest.raises(ValueError, match="ports exist only"):
        nsg_internet_exposures(nsg(), ports=[22], protocol="icmp")


# --- Priority evaluation ---------------------------------------------------------------


def test_deny_shadows_later_allow() -> None:
    group = nsg(
        rule("AllowAdmin", 200, source="Internet", ports=["22", "3389"]),
        rule("DenySSH", 100, "Deny", source="Internet", ports="22"),
    )

    exposures = nsg_internet_exposures(group, ports=[22, 3389])

    assert exposures == [Exposure("tcp", 3389, 3389, "Internet", "AllowAdmin", 200)]


def test_allow_before_deny_exposes() -> None:
    group = nsg(
        rule("AllowSSH", 100, source="Internet"),
        rule("DenySSH", 200, "Deny", source="*"),
    )

    assert exposed_ports(group, [22]) == [22]


@pytest.mark.parametrize(
    ("deny_sources", "exposed"),
    [
        pytest.param("10.0.0.0/8", True, id="private-cidr"),
        pytest.param("VirtualNetwork", True, id="virtual-network-tag"),
        pytest.param("203.0.113.0/24", True, id="part-of-internet"),
        pytest.param("*", False, id="asterisk"),
        pytest.param("internet", False, id="internet-tag"),
        pytest.param("Any", False, id="any"),
        pytest.param(["0.0.0.0/0", "::/0"], False, id="both-world-cidrs"),
        pytest.param(["0.0.0.0/1", "128.0.0.0/1", "::/0"], False, id="halves-cover-internet"),
        pytest.param(["0.0.0.0/0"], True, id="ipv6-still-open"),
    ],
)
def test_deny_shadows_allow_by_source(deny_sources: str | list[str], exposed: bool) -> None:
    group = nsg(
        rule("DenySome", 100, "Deny", source=deny_sources),
        rule("AllowSSH", 200, source="*"),
    )

    assert bool(exposed_ports(group, [22])) is exposed


def test_deny_of_public_cidrs_leaving_private_space() -> None:
    # Together these blocks contain every IPv4 address outside 10.0.0.0/8.
    not_ten = ["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2"]
    group = nsg(
        rule("DenyPublic", 100, "Deny", source=[*not_ten, "128.0.0.0/1"]),
        rule("AllowSSH", 200, source="0.0.0.0/0"),
    )

    assert exposed_ports(group, [22]) == []


def test_deny_for_other_port_does_not_shadow() -> None:
    group = nsg(
        rule("DenyRDP", 100, "Deny", source="*", ports="3389"),
        rule("AllowSSH", 200, source="*", ports="22"),
    )

    assert exposed_ports(group, [22]) == [22]


def test_udp_deny_does_not_shadow_tcp_allow() -> None:
    group = nsg(
        rule("DenyUdp", 100, "Deny", source="*", ports="*", protocol="Udp"),
        rule("AllowSSH", 200, source="*"),
    )

    assert exposed_ports(group, [22]) == [22]


def test_first_internet_allow_named() -> None:
    group = nsg(
        rule("AllowOffice", 100, source="203.0.113.0/24"),
        rule("AllowInternet", 200, source="Internet"),
        rule("AllowAny", 300, source="*"),
    )

    exposures = nsg_internet_exposures(group, ports=[22])

    assert [(exposure.rule_name, exposure.priority) for exposure in exposures] == [("AllowInternet", 200)]


def test_ipv4_and_ipv6_reported_separately() -> None:
    group = nsg(rule("AllowSSH", 100, source=["0.0.0.0/0", "::/0"]))

    exposures = nsg_internet_exposures(group, ports=[22])

    assert [exposure.source for exposure in exposures] == ["0.0.0.0/0", "::/0"]


def test_defaults_alone_expose_nothing() -> None:
    group = nsg()

    assert nsg_internet_exposures(group, ports=[22, 3389, 443]) == []
    assert nsg_internet_exposures(group) == []
    assert nsg_internet_exposures(group, protocol="udp") == []


def test_missing_defaults_still_deny() -> None:
    group = {"name": "nsg-bare", "properties": {"securityRules": [rule("AllowVnet", 100, source="VirtualNetwork")]}}

    assert nsg_internet_exposures(group) == []


def test_outbound_rules_ignored() -> None:
    group = nsg(rule("AllowOut", 100, source="*", ports="*", direction="Outbound"))

    assert nsg_internet_exposures(group) == []


def test_default_rules_evaluated_last() -> None:
    # A default rule listed first in the input must still come after every custom rule.
    group = {
        "name": "nsg-order",
        "properties": {
            "defaultSecurityRules": default_rules(),
            "securityRules": [rule("AllowSSH", 4096, source="Internet")],
        },
    }

    assert exposed_ports(group, [22]) == [22]


# --- Whole port space (ports=None) ------------------------------------------------------


def test_any_port_ranges_after_deny() -> None:
    group = nsg(
        rule("DenySSH", 100, "Deny", source="Internet", ports="22"),
        rule("AllowRange", 200, source="*", ports="20-30"),
        rule("AllowWeb", 300, source="Internet", ports=["80", "443", "8080-8089"]),
        rule("AllowPrivate", 400, source="10.0.0.0/8", ports="*"),
    )

    exposures = nsg_internet_exposures(group)

    assert [exposure.describe() for exposure in exposures] == [
        "tcp 20-21 from * (rule AllowRange, priority 200)",
        "tcp 23-30 from * (rule AllowRange, priority 200)",
        "tcp 80 from Internet (rule AllowWeb, priority 300)",
        "tcp 443 from Internet (rule AllowWeb, priority 300)",
        "tcp 8080-8089 from Internet (rule AllowWeb, priority 300)",
    ]


def test_any_port_all_open() -> None:
    group = nsg(rule("AllowAll", 100, source="*", ports="*", protocol="*"))

    exposures = nsg_internet_exposures(group, protocol="udp")

    assert exposures == [Exposure("udp", 0, 65535, "*", "AllowAll", 100)]


def test_any_port_edges() -> None:
    group = nsg(
        rule("AllowLow", 100, source="*", ports="0"),
        rule("AllowHigh", 200, source="*", ports="65535"),
    )

    exposures = nsg_internet_exposures(group)

    assert [(exposure.from_port, exposure.to_port) for exposure in exposures] == [(0, 0), (65535, 65535)]


# --- Input shapes ----------------------------------------------------------------------


def test_rules_without_properties_wrapper() -> None:
    flattened = {
        "name": "nsg-flat",
        "securityRules": [
            rule("DenySSH", 100, "deny", source="internet", ports="22", protocol="tcp", wrapped=False),
            rule("AllowAdmin", 200, "allow", source="*", ports=["22", "3389"], direction="inbound", wrapped=False),
        ],
    }

    exposures = nsg_internet_exposures(flattened, ports=[22, 3389])

    assert exposures == [Exposure("tcp", 3389, 3389, "*", "AllowAdmin", 200)]


def test_wrapped_nsg_with_flattened_rules() -> None:
    group = nsg(rule("AllowSSH", 100, source="Internet", wrapped=False))

    assert exposed_ports(group, [22]) == [22]


def test_application_security_group_source_not_internet() -> None:
    allow = rule("AllowAsg", 100, source="")
    allow["properties"]["sourceApplicationSecurityGroups"] = [
        {"id": "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/web"}
    ]

    rules = nsg_rules(nsg(allow))

    assert rules[0].source_application_security_groups == (
        "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Network/applicationSecurityGroups/web",
    )
    assert nsg_internet_exposures(nsg(allow), ports=[22]) == []


def test_nsg_rules_order_and_fields() -> None:
    rules = nsg_rules(nsg(rule("B", 300), rule("A", 100, "Deny", source="Internet", ports="20-23")))

    inbound = [(parsed.name, parsed.priority) for parsed in rules if parsed.direction == "inbound"]
    assert inbound == [
        ("A", 100),
        ("B", 300),
        ("AllowVnetInBound", 65000),
        ("AllowAzureLoadBalancerInBound", 65001),
        ("DenyAllInBound", 65500),
    ]
    assert rules[0].access == "deny"
    assert rules[0].port_ranges == ((20, 23),)
    assert rules[0].sources == ("Internet",)
    assert rules[0].is_default is False
    assert rules[-1].is_default is True


# --- Malformed input -------------------------------------------------------------------


def _with(field: str, value: Any) -> dict[str, Any]:
    broken = rule("BrokenRule", 100)
    broken["properties"][field] = value
    return broken


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        pytest.param(rule("BrokenRule", 100, ports="22-"), "invalid port range '22-'", id="open-range"),
        pytest.param(rule("BrokenRule", 100, ports="ssh"), "invalid port range 'ssh'", id="port-name"),
        pytest.param(rule("BrokenRule", 100, ports="70000"), "invalid port range '70000'", id="port-too-high"),
        pytest.param(rule("BrokenRule", 100, ports=["80", "30-20"]), "invalid port range '30-20'", id="reversed"),
        pytest.param(_with("destinationPortRange", None), "destinationPortRange", id="ports-missing"),
        pytest.param(_with("destinationPortRanges", "22"), "destinationPortRanges", id="plural-not-list"),
        pytest.param(_with("priority", "high"), "invalid priority", id="priority"),
        pytest.param(_with("access", "Permit"), "invalid access 'Permit'", id="access"),
        pytest.param(_with("direction", "Sideways"), "invalid direction", id="direction"),
        pytest.param(_with("protocol", "Quic"), "invalid protocol", id="protocol"),
        pytest.param(_with("protocol", None), "protocol is missing", id="protocol-missing"),
        pytest.param(_with("sourceAddressPrefix", ""), "no source", id="source-missing"),
        pytest.param(_with("sourceAddressPrefixes", ["  "]), "invalid source prefix", id="source-blank"),
    ],
)
def test_malformed_rule_names_rule(broken: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="NSG nsg-web rule BrokenRule") as raised:
        nsg_internet_exposures(nsg(broken), ports=[22])

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("group", "message"),
    [
        pytest.param("not an NSG", "expected an object", id="not-object"),
        pytest.param({"name": "nsg-x", "properties": {"securityRules": "none"}}, "invalid securityRules", id="list"),
        pytest.param({"name": "nsg-x", "properties": {"securityRules": [42]}}, "expected an object", id="rule-type"),
        pytest.param(
            {"name": "nsg-x", "properties": {"securityRules": [{"properties": {}}]}}, "name is missing", id="no-name"
        ),
    ],
)
def test_malformed_nsg(group: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nsg_rules(group)


def test_duplicate_priority_rejected() -> None:
    group = nsg(rule("First", 100), rule("Second", 100, "Deny"))

    with pytest.raises(ValueError, match="rules First and Second share inbound priority 100"):
        nsg_rules(group)


def test_same_priority_other_direction_allowed() -> None:
    group = nsg(rule("In", 100), rule("Out", 100, direction="Outbound"))

    assert exposed_ports(group, [22]) == [22]


def test_invalid_query_port() -> None:
    with pytest.raises(ValueError, match="invalid port"):
        nsg_internet_exposures(nsg(), ports=[70000])
