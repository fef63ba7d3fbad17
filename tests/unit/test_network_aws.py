"""Tests for the exposure analysis of AWS security groups and network ACLs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from ridgeline.analysis.network.aws import (
    ADMIN_PORTS,
    DATABASE_PORTS,
    Exposure,
    nacl_entries,
    nacl_world_allows,
    sg_allows_all_traffic,
    sg_egress_rules,
    sg_ingress_rules,
    sg_world_exposures,
)
from ridgeline.analysis.network.ports import (
    is_public_cidr,
    is_world_cidr,
    normalise_protocol,
    port_in_range,
    subtract_network,
)

# --- Builders for the AWS Config shape -------------------------------------------------


def permission(
    protocol: str, from_port: int | None = None, to_port: int | None = None, **peers: Any
) -> dict[str, Any]:
    """Build one ipPermissions entry in the AWS Config shape."""
    rule: dict[str, Any] = {"ipProtocol": protocol, **peers}
    if from_port is not None:
        rule["fromPort"] = from_port
    if to_port is not None:
        rule["toPort"] = to_port
    return rule


def group(*ingress: dict[str, Any], egress: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {
        "groupId": "sg-1",
        "groupName": "web",
        "vpcId": "vpc-1",
        "ipPermissions": list(ingress),
        "ipPermissionsEgress": list(egress),
    }


def v4(*cidrs: str) -> dict[str, Any]:
    """Peers in the newer Config form: ipv4Ranges objects."""
    return {"ipv4Ranges": [{"cidrIp": cidr, "description": "test"} for cidr in cidrs]}


def v4_strings(*cidrs: str) -> dict[str, Any]:
    """Peers in the older Config form: ipRanges strings."""
    return {"ipRanges": list(cidrs)}


def v6(*cidrs: str) -> dict[str, Any]:
    return {"ipv6Ranges": [{"cidrIpv6": cidr} for cidr in cidrs]}


def acl(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"networkAclId": "acl-1", "vpcId": "vpc-1", "isDefault": False, "entries": list(entries)}


def entry(
    rule_number: int,
    action: str,
    protocol: str = "6",
    ports: tuple[int, int] | None = None,
    cidr: str = "0.0.0.0/0",
    egress: bool = False,
) -> dict[str, Any]:
    """Build one network ACL entry in the AWS Config shape."""
    built: dict[str, Any] = {
        "ruleNumber": rule_number,
        "protocol": protocol,
        "ruleAction": action,
        "egress": egress,
    }
    if ":" in cidr:
        built["ipv6CidrBlock"] = cidr
    else:
        built["cidrBlock"] = cidr
    if ports is not None:
        built["portRange"] = {"from": ports[0], "to": ports[1]}
    return built


def implicit_deny(egress: bool = False) -> list[dict[str, Any]]:
    """Return the two "*" entries (rule 32767) that AWS adds to every network ACL."""
    return [
        entry(32767, "deny", "-1", cidr="0.0.0.0/0", egress=egress),
        entry(32767, "deny", "-1", cidr="::/0", egress=egress),
    ]


# --- Security groups: which ports a rule exposes ---------------------------------------

SG_PORT_CASES = [
    pytest.param(permission("tcp", 22, 22, **v4_strings("0.0.0.0/0")), "tcp", 22, True, id="tcp-22-world"),
    pytest.param(permission("tcp", 0, 65535, **v6("::/0")), "tcp", 22, True, id="tcp-all-ports-v6-22"),
    pytest.param(permission("tcp", 0, 65535, **v6("::/0")), "tcp", 3389, True, id="tcp-all-ports-v6-3389"),
    pytest.param(permission("-1", **v6("::/0")), "tcp", 22, True, id="all-protocols-v6"),
    pytest.param(permission("-1", -1, -1, **v4("0.0.0.0/0")), "udp", 53, True, id="all-protocols-udp"),
    pytest.param(permission("-1", -1, -1, **v4("10.0.0.0/8")), "tcp", 22, False, id="all-protocols-private"),
    pytest.param(permission("47", **v4("0.0.0.0/0")), "tcp", 22, False, id="gre-not-tcp"),
    pytest.param(permission("50", -1, -1, **v4("0.0.0.0/0")), "tcp", 22, False, id="esp-not-tcp"),
    pytest.param(permission("icmp", 22, -1, **v4("0.0.0.0/0")), "tcp", 22, False, id="icmp-type-22"),
    pytest.param(permission("icmpv6", **v6("::/0")), "tcp", 22, False, id="icmpv6-all-types"),
    pytest.param(permission("udp", 22, 22, **v4("0.0.0.0/0")), "tcp", 22, False, id="udp-not-tcp"),
    pytest.param(permission("udp", 22, 22, **v4("0.0.0.0/0")), "udp", 22, True, id="udp-query"),
    pytest.param(permission("tcp", 80, 443, **v4("0.0.0.0/0")), "tcp", 22, False, id="tcp-80-443"),
    pytest.param(permission("tcp", 80, 443, **v4("0.0.0.0/0")), "tcp", 443, True, id="tcp-range-end"),
    pytest.param(permission("tcp", 80, 443, **v4("0.0.0.0/0")), "tcp", 80, True, id="tcp-range-start"),
    pytest.param(permission("6", 22, 22, **v4("0.0.0.0/0")), "tcp", 22, True, id="protocol-number-6"),
    pytest.param(permission("TCP", 22, 22, **v4("0.0.0.0/0")), "6", 22, True, id="protocol-case"),
    pytest.param(permission("132", -1, -1, **v4("0.0.0.0/0")), "sctp", 22, True, id="sctp-ignores-range"),
    pytest.param(permission("tcp", 22, 22, **v4("203.0.113.0/24")), "tcp", 22, False, id="public-not-world"),
    pytest.param(permission("tcp", 22, 22, **v4("0.0.0.0/1")), "tcp", 22, False, id="half-internet"),
    pytest.param(
        permission("tcp", 22, 22, prefixListIds=[{"prefixListId": "pl-123"}]),
        "tcp",
        22,
        False,
        id="prefix-list",
    ),
    pytest.param(
        permission("tcp", 22, 22, userIdGroupPairs=[{"groupId": "sg-2", "userId": "123456789012"}]),
        "tcp",
        22,
        False,
        id="group-pair",
    ),
]


@pytest.mark.parametrize(("rule", "protocol", "port", "exposed"), SG_PORT_CASES)
def test_sg_world_exposure_by_port(rule: dict[str, Any], protocol: str, port: int, exposed: bool) -> None:
    exposures = sg_world_exposures(group(rule), ports=[port], protocol=protocol)

    assert bool(exposures) is exposed


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        pytest.param(permission("47", **v4("0.0.0.0/0")), ["protocol 47 from 0.0.0.0/0"], id="gre"),
        pytest.param(
            permission("icmp", 8, 0, **v4("0.0.0.0/0")), ["icmp type 8 code 0 from 0.0.0.0/0"], id="icmp"
        ),
        pytest.param(permission("-1", **v6("::/0")), ["all traffic from ::/0"], id="all"),
        pytest.param(permission("tcp", 22, 22, **v4("10.0.0.0/8")), [], id="private"),
        pytest.param(
            permission("tcp", 22, 22, **v4("0.0.0.0/0"), **v6("::/0")),
            ["tcp 22 from 0.0.0.0/0", "tcp 22 from ::/0"],
            id="both-families",
        ),
    ],
)
def test_sg_world_exposures_any_port(rule: dict[str, Any], expected: list[str]) -> None:
    exposures = sg_world_exposures(group(rule))

    assert [exposure.describe() for exposure in exposures] == expected


def test_sg_exposure_fields() -> None:
    rules = [permission("tcp", 80, 80, **v4("0.0.0.0/0")), permission("tcp", 0, 65535, **v6("::/0"))]

    exposures = sg_world_exposures(group(*rules), ports=ADMIN_PORTS)

    assert exposures == [
        Exposure(protocol="tcp", from_port=0, to_port=65535, source="::/0", rule_index=1),
    ]
    assert exposures[0].describe() == "tcp 0-65535 from ::/0"


@pytest.mark.parametrize(
    "configuration",
    [
        pytest.param(
            group(permission("tcp", 22, 22, **v4_strings("0.0.0.0/0"))), id="config-ipRanges-strings"
        ),
        pytest.param(group(permission("tcp", 22, 22, **v4("0.0.0.0/0"))), id="config-ipv4Ranges-objects"),
        pytest.param(
            group(permission("tcp", 22, 22, **v4_strings("0.0.0.0/0"), **v4("0.0.0.0/0"))),
            id="config-both-forms",
        ),
        pytest.param(
            {
                "GroupId": "sg-1",
                "IpPermissions": [
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ],
            },
            id="boto3",
        ),
    ],
)
def test_sg_input_shapes(configuration: dict[str, Any]) -> None:
    exposures = sg_world_exposures(configuration, ports=[22])

    assert exposures == [Exposure(protocol="tcp", from_port=22, to_port=22, source="0.0.0.0/0", rule_index=0)]


@pytest.mark.parametrize(
    "configuration",
    [
        pytest.param({"groupId": "sg-1"}, id="missing"),
        pytest.param({"groupId": "sg-1", "ipPermissions": None}, id="null"),
        pytest.param({"groupId": "sg-1", "ipPermissions": []}, id="empty"),
        pytest.param({}, id="empty-configuration"),
    ],
)
def test_sg_without_rules(configuration: dict[str, Any]) -> None:
    assert sg_ingress_rules(configuration) == []
    assert sg_world_exposures(configuration) == []
    assert sg_world_exposures(configuration, ports=ADMIN_PORTS) == []


def test_sg_ingress_rules_normalised() -> None:
    raw = permission(
        "-1",
        -1,
        -1,
        ipRanges=["10.0.0.1/8"],
        ipv6Ranges=[{"cidrIpv6": "2001:db8::/32"}],
        prefixListIds=[{"prefixListId": "pl-123"}],
        userIdGroupPairs=[{"groupId": "sg-2", "userId": "123456789012"}],
    )

    (rule,) = sg_ingress_rules(group(raw))

    assert rule.protocol == "all"
    assert rule.from_port is None
    assert rule.to_port is None
    assert rule.cidrs == ("10.0.0.0/8", "2001:db8::/32")
    assert rule.prefix_list_ids == ("pl-123",)
    assert rule.group_ids == ("sg-2",)
    assert rule.world_cidrs() == ()


def test_sg_ports_none_ignores_protocol() -> None:
    configuration = group(permission("udp", 53, 53, **v4("0.0.0.0/0")))

    assert len(sg_world_exposures(configuration, protocol="tcp")) == 1


def test_sg_empty_ports_match_nothing() -> None:
    configuration = group(permission("-1", **v4("0.0.0.0/0")))

    assert sg_world_exposures(configuration, ports=[]) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"ports": [22], "protocol": "icmp"}, "ports exist only for", id="icmp-query"),
        pytest.param({"ports": [22], "protocol": "all"}, "ports exist only for", id="all-query"),
        pytest.param({"ports": [70000]}, "invalid port 70000", id="port-too-large"),
        pytest.param({"ports": [-1]}, "invalid port -1", id="port-negative"),
        pytest.param({"ports": [True]}, "invalid port True", id="port-bool"),
    ],
)
def test_sg_invalid_query(kwargs: dict[str, Any], message: str) -> None:
    configuration = group(permission("tcp", 22, 22, **v4("0.0.0.0/0")))

    with pytest.raises(ValueError, match=message):
        sg_world_exposures(configuration, **kwargs)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param({"fromPort": 22}, "ipProtocol is missing", id="no-protocol"),
        pytest.param(permission("bogus"), "invalid protocol 'bogus'", id="unknown-protocol"),
        pytest.param(permission("256"), "invalid protocol number '256'", id="protocol-out-of-range"),
        pytest.param(
            permission("tcp", 22, 22, ipRanges=["not-a-cidr"]), "invalid CIDR 'not-a-cidr'", id="cidr"
        ),
        pytest.param({**permission("tcp", 22, 22), "fromPort": "x"}, "invalid fromPort 'x'", id="port-text"),
        pytest.param(
            permission("tcp", 22, 22, ipv4Ranges=[{}]), "expected an object with cidrIp", id="no-cidrIp"
        ),
        pytest.param(
            permission("tcp", 22, 22, ipRanges="0.0.0.0/0"), "expected a list", id="ranges-not-list"
        ),
        pytest.param("tcp", "expected an object, got str", id="rule-not-object"),
    ],
)
def test_sg_malformed_rule(rule: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        sg_ingress_rules(group(rule))

    assert "security group sg-1 ingress rule 0" in str(raised.value)


def test_sg_configuration_not_object() -> None:
    with pytest.raises(ValueError, match="expected an object, got list"):
        sg_ingress_rules([])  # type: ignore[arg-type]


# --- Security groups: rules on all protocols -------------------------------------------


def test_sg_allows_all_traffic_ingress() -> None:
    configuration = group(
        permission("tcp", 0, 65535, **v4("0.0.0.0/0")),
        permission("-1", **v4("10.0.0.0/8"), **v6("::/0")),
    )

    exposures = sg_allows_all_traffic(configuration)

    assert exposures == [Exposure(protocol="all", from_port=None, to_port=None, source="::/0", rule_index=1)]


def test_sg_allows_all_traffic_egress() -> None:
    configuration = group(egress=(permission("-1", **v4_strings("0.0.0.0/0")),))

    exposures = sg_allows_all_traffic(configuration, direction="egress")

    assert [exposure.describe() for exposure in exposures] == ["all traffic to 0.0.0.0/0"]
    assert sg_allows_all_traffic(configuration) == []
    assert len(sg_egress_rules(configuration)) == 1


def test_sg_allows_all_traffic_bad_direction() -> None:
    with pytest.raises(ValueError, match="invalid direction 'inbound'"):
        sg_allows_all_traffic(group(), direction="inbound")


# --- Exposure.describe -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("exposure", "text"),
    [
        (Exposure("tcp", 22, 22, "0.0.0.0/0", 0), "tcp 22 from 0.0.0.0/0"),
        (Exposure("tcp", 0, 65535, "::/0", 0), "tcp 0-65535 from ::/0"),
        (Exposure("udp", None, None, "::/0", 0), "udp all ports from ::/0"),
        (Exposure("all", None, None, "::/0", 0), "all traffic from ::/0"),
        (Exposure("icmp", -1, -1, "0.0.0.0/0", 0), "icmp all types from 0.0.0.0/0"),
        (Exposure("icmp", 8, -1, "0.0.0.0/0", 0), "icmp type 8 from 0.0.0.0/0"),
        (Exposure("icmpv6", None, None, "::/0", 0), "icmpv6 all types from ::/0"),
        (Exposure("47", None, None, "0.0.0.0/0", 0), "protocol 47 from 0.0.0.0/0"),
        (Exposure("tcp", 443, 443, "0.0.0.0/0", 0, direction="egress"), "tcp 443 to 0.0.0.0/0"),
    ],
)
def test_exposure_describe(exposure: Exposure, text: str) -> None:
    assert exposure.describe() == text


# --- Network ACLs ----------------------------------------------------------------------

NACL_CASES = [
    pytest.param([entry(100, "allow", ports=(22, 22))], 22, [(100, "0.0.0.0/0")], id="allow-22"),
    pytest.param(
        [entry(90, "deny", ports=(22, 22)), entry(100, "allow", "-1")],
        22,
        [],
        id="deny-shadows-allow",
    ),
    pytest.param(
        [entry(90, "deny", ports=(22, 22)), entry(100, "allow", "-1")],
        3389,
        [(100, "0.0.0.0/0")],
        id="deny-other-port",
    ),
    pytest.param(
        # Rule numbers decide the order, not the position in the list.
        [entry(100, "allow", "-1"), entry(90, "deny", ports=(22, 22))],
        22,
        [],
        id="unsorted-input",
    ),
    pytest.param(
        [entry(100, "allow", ports=(22, 22), egress=True)],
        22,
        [],
        id="egress-ignored-for-ingress",
    ),
    pytest.param([], 22, [], id="only-implicit-deny"),
    pytest.param([entry(100, "allow", "-1")], 22, [(100, "0.0.0.0/0")], id="all-protocols"),
    pytest.param([entry(100, "allow", "-1", cidr="::/0")], 22, [(100, "::/0")], id="ipv6-world"),
    pytest.param(
        [entry(100, "allow", "-1"), entry(101, "allow", "-1", cidr="::/0")],
        22,
        [(100, "0.0.0.0/0"), (101, "::/0")],
        id="both-families",
    ),
    pytest.param(
        [entry(90, "deny", "-1"), entry(100, "allow", "-1", cidr="::/0")],
        22,
        [(100, "::/0")],
        id="ipv4-deny-leaves-ipv6",
    ),
    pytest.param([entry(100, "allow", ports=(0, 65535))], 3389, [(100, "0.0.0.0/0")], id="full-range"),
    pytest.param([entry(100, "allow", ports=(80, 443))], 22, [], id="other-range"),
    pytest.param([entry(100, "allow", "17", ports=(22, 22))], 22, [], id="udp-not-tcp"),
    pytest.param([entry(100, "allow", "1")], 22, [], id="icmp-not-tcp"),
    pytest.param([entry(100, "allow", "47")], 22, [], id="gre-not-tcp"),
    pytest.param([entry(100, "allow", ports=(22, 22), cidr="203.0.113.0/24")], 22, [], id="public-not-world"),
    pytest.param(
        [entry(90, "deny", ports=(22, 22), cidr="198.51.100.7/32"), entry(100, "allow", ports=(22, 22))],
        22,
        [(100, "0.0.0.0/0")],
        id="narrow-deny-does-not-hide",
    ),
    pytest.param(
        [
            entry(80, "deny", "-1", cidr="0.0.0.0/1"),
            entry(90, "deny", ports=(0, 1023), cidr="128.0.0.0/1"),
            entry(100, "allow", ports=(22, 22)),
        ],
        22,
        [],
        id="split-deny-covers-all",
    ),
    pytest.param(
        [entry(90, "allow", "-1", cidr="10.0.0.0/8"), entry(100, "allow", ports=(22, 22))],
        22,
        [(100, "0.0.0.0/0")],
        id="private-allow-first",
    ),
    pytest.param(
        [entry(90, "deny", ports=(0, 1023)), entry(100, "allow", "-1")],
        1024,
        [(100, "0.0.0.0/0")],
        id="deny-range-end",
    ),
]


@pytest.mark.parametrize(("entries", "port", "expected"), NACL_CASES)
def test_nacl_world_allows(entries: list[dict[str, Any]], port: int, expected: list[tuple[int, str]]) -> None:
    configuration = acl(*entries, *implicit_deny(), *implicit_deny(egress=True))

    exposures = nacl_world_allows(configuration, ports=[port])

    assert [(exposure.rule_index, exposure.source) for exposure in exposures] == expected
    assert all(exposure.from_port == exposure.to_port == port for exposure in exposures)


def test_nacl_ports_reported_separately() -> None:
    configuration = acl(entry(90, "deny", ports=(22, 22)), entry(100, "allow", "-1"), *implicit_deny())

    exposures = nacl_world_allows(configuration, ports=ADMIN_PORTS)

    assert exposures == [
        Exposure(protocol="tcp", from_port=3389, to_port=3389, source="0.0.0.0/0", rule_index=100),
    ]
    assert exposures[0].describe() == "tcp 3389 from 0.0.0.0/0"


def test_nacl_egress() -> None:
    configuration = acl(
        entry(100, "deny", "-1"),
        entry(100, "allow", ports=(443, 443), egress=True),
        *implicit_deny(egress=True),
    )

    exposures = nacl_world_allows(configuration, ports=[443], egress=True)

    assert [exposure.describe() for exposure in exposures] == ["tcp 443 to 0.0.0.0/0"]
    assert nacl_world_allows(configuration, ports=[443]) == []


def test_nacl_udp_query() -> None:
    configuration = acl(entry(100, "allow", "17", ports=(53, 53)), *implicit_deny())

    assert len(nacl_world_allows(configuration, ports=[53], protocol="udp")) == 1
    assert nacl_world_allows(configuration, ports=[53], protocol="tcp") == []


def test_nacl_boto3_shape() -> None:
    configuration = {
        "NetworkAclId": "acl-1",
        "Entries": [
            {
                "RuleNumber": 100,
                "Protocol": "6",
                "RuleAction": "allow",
                "Egress": False,
                "CidrBlock": "0.0.0.0/0",
                "PortRange": {"From": 22, "To": 22},
            },
            {
                "RuleNumber": 32767,
                "Protocol": "-1",
                "RuleAction": "deny",
                "Egress": False,
                "CidrBlock": "0.0.0.0/0",
            },
        ],
    }

    exposures = nacl_world_allows(configuration, ports=[22, 80])

    assert exposures == [
        Exposure(protocol="tcp", from_port=22, to_port=22, source="0.0.0.0/0", rule_index=100)
    ]


def test_nacl_entries_sorted_and_normalised() -> None:
    configuration = acl(
        entry(32767, "DENY", "-1"), entry(100, "allow", "6", ports=(22, 22)), entry(200, "allow", "47")
    )

    entries = nacl_entries(configuration)

    assert [item.rule_number for item in entries] == [100, 200, 32767]
    assert [item.protocol for item in entries] == ["tcp", "47", "all"]
    assert entries[2].rule_action == "deny"
    assert (entries[0].from_port, entries[0].to_port) == (22, 22)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            {**entry(100, "allow"), "ruleNumber": None}, "entry 0: ruleNumber is missing", id="no-number"
        ),
        pytest.param(entry(100, "permit"), "rule 100: invalid ruleAction 'permit'", id="bad-action"),
        pytest.param(
            {**entry(100, "allow"), "egress": "no"}, "rule 100: invalid egress 'no'", id="bad-egress"
        ),
        pytest.param(
            {**entry(100, "allow"), "ipv6CidrBlock": "::/0"},
            "rule 100: expected exactly one of cidrBlock and ipv6CidrBlock",
            id="two-cidrs",
        ),
        pytest.param(
            {key: value for key, value in entry(100, "allow").items() if key != "cidrBlock"},
            "rule 100: expected exactly one of cidrBlock and ipv6CidrBlock",
            id="no-cidr",
        ),
        pytest.param(entry(100, "allow", cidr="300.0.0.0/8"), "rule 100: invalid CIDR", id="bad-cidr"),
        pytest.param(entry(100, "allow", "tcpip"), "rule 100: invalid protocol 'tcpip'", id="bad-protocol"),
    ],
)
def test_nacl_malformed_entry(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        nacl_entries(acl(raw))

    assert "network ACL acl-1" in str(raised.value)


def test_nacl_invalid_query_protocol() -> None:
    with pytest.raises(ValueError, match="ports exist only for"):
        nacl_world_allows(acl(), ports=[22], protocol="icmp")


# --- Shared port and CIDR helpers ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-1", "all"),
        (-1, "all"),
        ("all", "all"),
        ("*", "all"),
        ("tcp", "tcp"),
        ("TCP", "tcp"),
        ("6", "tcp"),
        (6, "tcp"),
        ("06", "tcp"),
        ("17", "udp"),
        ("udp", "udp"),
        ("1", "icmp"),
        ("icmp", "icmp"),
        ("58", "icmpv6"),
        ("icmpv6", "icmpv6"),
        ("47", "47"),
        ("gre", "47"),
        ("esp", "50"),
        ("sctp", "132"),
        ("0", "0"),
        ("255", "255"),
    ],
)
def test_normalise_protocol(value: str | int, expected: str) -> None:
    assert normalise_protocol(value) == expected


@pytest.mark.parametrize("value", ["", "tcp/ip", "-2", "256", True, None, 6.0])
def test_normalise_protocol_invalid(value: Any) -> None:
    with pytest.raises(ValueError, match="invalid protocol"):
        normalise_protocol(value)


@pytest.mark.parametrize(
    ("port", "from_port", "to_port", "expected"),
    [
        (22, 22, 22, True),
        (22, 0, 65535, True),
        (22, 23, 25, False),
        (22, 0, 21, False),
        (0, 0, 0, True),
        (65535, 0, 65535, True),
        (22, None, None, True),
        (22, -1, -1, True),
        (22, 80, None, False),
    ],
)
def test_port_in_range(port: int, from_port: int | None, to_port: int | None, expected: bool) -> None:
    assert port_in_range(port, from_port, to_port) is expected


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("0.0.0.0/0", True),
        ("::/0", True),
        ("0.0.0.0/1", False),
        ("10.0.0.0/8", False),
        ("2001:db8::/32", False),
    ],
)
def test_is_world_cidr(cidr: str, expected: bool) -> None:
    assert is_world_cidr(cidr) is expected


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.1.0.0/16", False),
        ("172.16.5.0/24", False),
        ("192.168.1.10/32", False),
        ("100.64.0.0/10", False),
        ("127.0.0.1", False),
        ("169.254.169.254/32", False),
        ("fd00::/8", False),
        ("fe80::/64", False),
        ("::1/128", False),
        ("203.0.113.0/24", True),
        ("198.51.100.7", True),
        ("8.8.8.8/32", True),
        ("8.0.0.0/5", True),
        ("2001:db8::/32", True),
        ("0.0.0.0/0", True),
        ("::/0", True),
    ],
)
def test_is_public_cidr(cidr: str, expected: bool) -> None:
    assert is_public_cidr(cidr) is expected


@pytest.mark.parametrize("cidr", ["", "10.0.0.0/33", "example.com", "10.0.0.0/8/8"])
def test_cidr_helpers_reject_invalid(cidr: str) -> None:
    with pytest.raises(ValueError, match="invalid CIDR"):
        is_public_cidr(cidr)
    with pytest.raises(ValueError, match="invalid CIDR"):
        is_world_cidr(cidr)


def test_subtract_network() -> None:
    everything = [ipaddress.ip_network("0.0.0.0/0")]

    remaining = subtract_network(everything, ipaddress.ip_network("0.0.0.0/1"))
    assert remaining == [ipaddress.ip_network("128.0.0.0/1")]

    remaining = subtract_network(remaining, ipaddress.ip_network("10.0.0.0/8"))
    assert remaining == [ipaddress.ip_network("128.0.0.0/1")]

    remaining = subtract_network(remaining, ipaddress.ip_network("::/0"))
    assert remaining == [ipaddress.ip_network("128.0.0.0/1")]

    remaining = subtract_network(remaining, ipaddress.ip_network("192.168.0.0/16"))
    assert sum(network.num_addresses for network in remaining) == 2**31 - 2**16
    assert all(not network.overlaps(ipaddress.ip_network("192.168.0.0/16")) for network in remaining)

    assert subtract_network(remaining, ipaddress.ip_network("0.0.0.0/0")) == []


def test_port_constants() -> None:
    assert ADMIN_PORTS == (22, 3389)
    assert DATABASE_PORTS["mysql"] == (3306,)
    assert DATABASE_PORTS["postgresql"] == (5432,)
    assert 27017 in DATABASE_PORTS["mongodb"]
    assert all(port_in_range(port, 0, 65535) for ports in DATABASE_PORTS.values() for port in ports)


# --- Real EC2 API output, from moto's server -------------------------------------------


@pytest.fixture(scope="module")
def ec2_client() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "ec2",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    yield client
    server.stop()


def test_boto3_security_group(ec2_client: Any) -> None:
    vpc_id = ec2_client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group_id = ec2_client.create_security_group(GroupName="web", Description="web", VpcId=vpc_id)["GroupId"]
    ec2_client.authorize_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            # NOTE: moto 5.2.5 fails with HTTP 500 when a protocol number comes without ports,
            # which AWS accepts, so this rule passes -1 for both.
            {"IpProtocol": "47", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ],
    )
    described = ec2_client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]

    exposures = sg_world_exposures(described, ports=ADMIN_PORTS)
    any_port = sg_world_exposures(described)

    assert [exposure.describe() for exposure in exposures] == ["tcp 0-65535 from ::/0"]
    assert sorted(exposure.describe() for exposure in any_port) == [
        "protocol 47 from 0.0.0.0/0",
        "tcp 0-65535 from ::/0",
        "tcp 443 from 0.0.0.0/0",
    ]
    assert sg_allows_all_traffic(described) == []
    assert [exposure.describe() for exposure in sg_allows_all_traffic(described, direction="egress")] == [
        "all traffic to 0.0.0.0/0"
    ]


def test_boto3_network_acl(ec2_client: Any) -> None:
    vpc_id = ec2_client.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    acl_id = ec2_client.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
    rules = [
        {"RuleNumber": 90, "Protocol": "6", "PortRange": {"From": 22, "To": 22}, "RuleAction": "deny"},
        {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow"},
    ]
    for rule in rules:
        ec2_client.create_network_acl_entry(NetworkAclId=acl_id, Egress=False, CidrBlock="0.0.0.0/0", **rule)
    ec2_client.create_network_acl_entry(
        NetworkAclId=acl_id,
        Egress=False,
        Ipv6CidrBlock="::/0",
        RuleNumber=110,
        Protocol="-1",
        RuleAction="allow",
    )
    described = ec2_client.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"][0]

    exposures = nacl_world_allows(described, ports=ADMIN_PORTS)

    assert [(exposure.from_port, exposure.rule_index, exposure.source) for exposure in exposures] == [
        (22, 110, "::/0"),
        (3389, 100, "0.0.0.0/0"),
        (3389, 110, "::/0"),
    ]
