"""Tests for the internet exposure analysis of GCP VPC firewall rules."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.network.gcp import (
    Exposure,
    firewall_internet_exposures,
    parse_firewall_rule,
    rule_internet_exposures,
)

NETWORK = "https://www.googleapis.com/compute/v1/projects/demo/global/networks/default"
OTHER_NETWORK = "projects/demo/global/networks/other"


def rule(name: str, *, action: str = "allowed", priority: int = 1000, **fields: Any) -> dict[str, Any]:
    """Build a firewall rule in the Compute Engine API shape, allowing tcp 22 from the internet by default."""
    built: dict[str, Any] = {
        "name": name,
        "network": NETWORK,
        "direction": "INGRESS",
        "priority": priority,
        "sourceRanges": ["0.0.0.0/0"],
        action: [{"IPProtocol": "tcp", "ports": ["22"]}],
    }
    built.update(fields)
    return built


def exposed_rules(exposures: list[Exposure]) -> list[str]:
    return [exposure.rule_name for exposure in exposures]


# --- Single rules ------------------------------------------------------------------------

SINGLE_RULE_CASES = [
    # (case id, rule, ports, protocol, expected (rule, protocol, from, to, source) tuples)
    (
        "ports given",
        rule("ssh"),
        [22],
        "tcp",
        [("ssh", "tcp", 22, 22, "0.0.0.0/0")],
    ),
    (
        "other port not exposed",
        rule("ssh"),
        [3389],
        "tcp",
        [],
    ),
    (
        "no ports means all ports",
        rule("tcp-any", allowed=[{"IPProtocol": "tcp"}]),
        [22],
        "tcp",
        [("tcp-any", "tcp", None, None, "0.0.0.0/0")],
    ),
    (
        "all protocol",
        rule("everything", allowed=[{"IPProtocol": "all"}]),
        [5432],
        "udp",
        [("everything", "all", None, None, "0.0.0.0/0")],
    ),
    (
        "port range",
        rule("range", allowed=[{"IPProtocol": "tcp", "ports": ["80", "1000-2000"]}]),
        [1500],
        "tcp",
        [("range", "tcp", 1000, 2000, "0.0.0.0/0")],
    ),
    (
        "numeric protocol 6 is tcp",
        rule("numeric", allowed=[{"IPProtocol": "6", "ports": ["22"]}]),
        [22],
        "tcp",
        [("numeric", "tcp", 22, 22, "0.0.0.0/0")],
    ),
    (
        "udp rule not tcp",
        rule("dns", allowed=[{"IPProtocol": "udp", "ports": ["22"]}]),
        [22],
        "tcp",
        [],
    ),
    (
        "ipv6 world",
        rule("ssh-v6", sourceRanges=["::/0"]),
        [22],
        "tcp",
        [("ssh-v6", "tcp", 22, 22, "::/0")],
    ),
    (
        "disabled rule",
        rule("off", disabled=True),
        [22],
        "tcp",
        [],
    ),
    (
        "source tags only",
        rule("tagged", sourceRanges=None, sourceTags=["bastion"]),
        [22],
        "tcp",
        [],
    ),
    (
        "service accounts only",
        rule("by-sa", sourceRanges=None, sourceServiceAccounts=["app@demo.iam.gserviceaccount.com"]),
        [22],
        "tcp",
        [],
    ),
    (
        "no source means internet",
        rule("implied", sourceRanges=None),
        [22],
        "tcp",
        [("implied", "tcp", 22, 22, "0.0.0.0/0")],
    ),
    (
        "private range",
        rule("internal", sourceRanges=["10.0.0.0/8"]),
        [22],
        "tcp",
        [],
    ),
    (
        "egress rule",
        rule("out", direction="EGRESS", sourceRanges=None, destinationRanges=["0.0.0.0/0"]),
        [22],
        "tcp",
        [],
    ),
    (
        "deny rule",
        rule("block", action="denied"),
        [22],
        "tcp",
        [],
    ),
    (
        "snake case keys",
        {
            "name": "snake",
            "direction": "INGRESS",
            "source_ranges": ["0.0.0.0/0"],
            "allowed": [{"ip_protocol": "TCP", "ports": ["22"]}],
        },
        [22],
        "tcp",
        [("snake", "tcp", 22, 22, "0.0.0.0/0")],
    ),
    (
        "every entry without ports query",
        rule("web", allowed=[{"IPProtocol": "tcp", "ports": ["80", "443"]}, {"IPProtocol": "icmp"}]),
        None,
        "tcp",
        [
            ("web", "tcp", 80, 80, "0.0.0.0/0"),
            ("web", "tcp", 443, 443, "0.0.0.0/0"),
            ("web", "icmp", None, None, "0.0.0.0/0"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("raw", "ports", "protocol", "expected"),
    [case[1:] for case in SINGLE_RULE_CASES],
    ids=[case[0] for case in SINGLE_RULE_CASES],
)
def test_rule_internet_exposures(
    raw: dict[str, Any], ports: list[int] | None, protocol: str, expected: list[tuple[Any, ...]]
) -> None:
    exposures = rule_internet_exposures(raw, ports, protocol)

    found = [(e.rule_name, e.protocol, e.from_port, e.to_port, e.source) for e in exposures]
    assert found == expected


# --- Rule sets of one network ------------------------------------------------------------

DENY_SSH = {"IPProtocol": "tcp", "ports": ["22"]}

NETWORK_CASES = [
    # (case id, rules, ports, expected names of the exposing rules)
    ("allow alone", [rule("allow-ssh")], [22], ["allow-ssh"]),
    (
        "higher priority deny shadows",
        [rule("allow-ssh", priority=1000), rule("deny-ssh", action="denied", priority=100)],
        [22],
        [],
    ),
    (
        "equal priority deny wins",
        [rule("allow-ssh", priority=1000), rule("deny-ssh", action="denied", priority=1000)],
        [22],
        [],
    ),
    (
        "lower priority deny does not shadow",
        [rule("allow-ssh", priority=100), rule("deny-ssh", action="denied", priority=1000)],
        [22],
        ["allow-ssh"],
    ),
    (
        "disabled deny does not shadow",
        [rule("allow-ssh"), rule("deny-ssh", action="denied", priority=100, disabled=True)],
        [22],
        ["allow-ssh"],
    ),
    (
        "deny on other port does not shadow",
        [rule("allow-ssh"), rule("deny-rdp", action="denied", priority=100, denied=[
            {"IPProtocol": "tcp", "ports": ["3389"]}])],
        [22],
        ["allow-ssh"],
    ),
    (
        "partial source deny does not shadow",
        [rule("allow-ssh"), rule("deny-some", action="denied", priority=100, sourceRanges=["203.0.113.0/24"])],
        [22],
        ["allow-ssh"],
    ),
    (
        "two half denies shadow",
        [
            rule("allow-ssh"),
            rule("deny-low", action="denied", priority=100, sourceRanges=["0.0.0.0/1"]),
            rule("deny-high", action="denied", priority=200, sourceRanges=["128.0.0.0/1"]),
        ],
        [22],
        [],
    ),
    (
        "ipv4 deny leaves ipv6 open",
        [rule("allow-ssh", sourceRanges=["0.0.0.0/0", "::/0"]), rule("deny-v4", action="denied", priority=100)],
        [22],
        ["allow-ssh"],
    ),
    (
        "tag deny does not shadow untagged allow",
        [rule("allow-ssh"), rule("deny-web", action="denied", priority=100, targetTags=["web"])],
        [22],
        ["allow-ssh"],
    ),
    (
        "untargeted deny shadows tagged allow",
        [rule("allow-ssh", targetTags=["web"]), rule("deny-all", action="denied", priority=100)],
        [22],
        [],
    ),
    (
        "source tag deny does not shadow",
        [rule("allow-ssh"), rule("deny-tag", action="denied", priority=100, sourceRanges=None, sourceTags=["x"])],
        [22],
        ["allow-ssh"],
    ),
    (
        "deny in other network does not shadow",
        [rule("allow-ssh"), rule("deny-ssh", action="denied", priority=100, network=OTHER_NETWORK)],
        [22],
        ["allow-ssh"],
    ),
    (
        "deny all protocols shadows",
        [rule("allow-ssh"), rule("deny-all", action="denied", priority=100, denied=[{"IPProtocol": "all"}])],
        [22],
        [],
    ),
    (
        "narrow deny leaves all-ports entry",
        [rule("allow-tcp", allowed=[{"IPProtocol": "tcp"}]), rule("deny-ssh", action="denied", priority=100)],
        None,
        ["allow-tcp"],
    ),
    (
        "wide deny hides entry without ports query",
        [rule("allow-ssh"), rule("deny-tcp", action="denied", priority=100, denied=[{"IPProtocol": "tcp"}])],
        None,
        [],
    ),
]


@pytest.mark.parametrize(
    ("rules", "ports", "expected"),
    [case[1:] for case in NETWORK_CASES],
    ids=[case[0] for case in NETWORK_CASES],
)
def test_firewall_internet_exposures(
    rules: list[dict[str, Any]], ports: list[int] | None, expected: list[str]
) -> None:
    exposures = firewall_internet_exposures(rules, ports)

    assert sorted(set(exposed_rules(exposures))) == expected


def test_deny_hides_only_its_port() -> None:
    rules = [
        rule("allow-admin", allowed=[{"IPProtocol": "tcp", "ports": ["22", "3389"]}]),
        rule("deny-ssh", action="denied", priority=100),
    ]

    exposures = firewall_internet_exposures(rules, [22, 3389])

    assert [(e.from_port, e.to_port) for e in exposures] == [(3389, 3389)]


@pytest.mark.parametrize("network", ["default", "projects/demo/global/networks/default", NETWORK])
def test_network_filter_forms(network: str) -> None:
    rules = [rule("in-default"), rule("in-other", network=OTHER_NETWORK)]

    exposures = firewall_internet_exposures(rules, [22], network=network)

    assert exposed_rules(exposures) == ["in-default"]


def test_parse_defaults() -> None:
    parsed = parse_firewall_rule({"name": "bare", "allowed": [{"IPProtocol": "tcp"}]})

    assert parsed.priority == 1000
    assert parsed.direction == "ingress"
    assert parsed.disabled is False
    assert parsed.source_ranges == ("0.0.0.0/0",)


INVALID_CASES = [
    ("allowed and denied", {"name": "r", "allowed": [DENY_SSH], "denied": [DENY_SSH]}),
    ("neither list", {"name": "r"}),
    ("bad protocol", {"name": "r", "allowed": [{"IPProtocol": "bogus"}]}),
    ("bad port", {"name": "r", "allowed": [{"IPProtocol": "tcp", "ports": ["70000"]}]}),
    ("reversed range", {"name": "r", "allowed": [{"IPProtocol": "tcp", "ports": ["2000-1000"]}]}),
    ("bad cidr", {"name": "r", "sourceRanges": ["nope"], "allowed": [DENY_SSH]}),
    ("bad direction", {"name": "r", "direction": "SIDEWAYS", "allowed": [DENY_SSH]}),
    ("bad priority", {"name": "r", "priority": 70000, "allowed": [DENY_SSH]}),
]


@pytest.mark.parametrize("raw", [case[1] for case in INVALID_CASES], ids=[case[0] for case in INVALID_CASES])
def test_invalid_rule_names_rule(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="firewall rule r"):
        parse_firewall_rule(raw)


def test_port_query_rejects_icmp() -> None:
    with pytest.raises(ValueError, match="invalid protocol"):
        firewall_internet_exposures([rule("ssh")], [22], protocol="icmp")


def test_describe() -> None:
    exposures = rule_internet_exposures(rule("ssh"), [22])

    assert exposures[0].describe() == "tcp 22 from 0.0.0.0/0 (rule ssh)"


def test_ipv4_deny_reports_only_ipv6() -> None:
    rules = [rule("allow-ssh", sourceRanges=["0.0.0.0/0", "::/0"]), rule("deny-v4", action="denied", priority=100)]

    exposures = firewall_internet_exposures(rules, [22])

    assert [e.source for e in exposures] == ["::/0"]
