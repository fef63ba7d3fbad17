"""Tests for the internet exposure analysis of GCP VPC firewall rules."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.network.gcp import (
    Exposure,
    PeerRule,
    firewall_internet_exposures,
    parse_firewall_rule,
    rule_exposures_after_denies,
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


# --- One rule among the rules of its project ---------------------------------------------

BETA_URL = "https://www.googleapis.com/compute/beta/projects/demo/global/networks/default"


def deny(name: str, priority: int = 100, **fields: Any) -> dict[str, Any]:
    """Build a deny rule of tcp 22 from the internet, in the same network as rule() by default."""
    return rule(name, action="denied", priority=priority, **fields)


def without(raw: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key not in fields}


PEER_CASES = [
    # (case id, rule, peers, ports, expected exposed, expected (protocol, from, to, source) tuples,
    #  text expected in one of the unresolved messages)
    ("no peers", rule("ssh"), [], [22], True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("higher priority deny", rule("ssh"), [deny("block")], [22], False, [], ""),
    ("equal priority deny wins", rule("ssh"), [deny("block", priority=1000)], [22], False, [], ""),
    ("lower priority deny", rule("ssh"), [deny("block", priority=1001)], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("deny in other network", rule("ssh"), [deny("block", network=OTHER_NETWORK)], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("network url of other api version", rule("ssh"), [deny("block", network=BETA_URL)], [22], False, [], ""),
    ("network as bare name", rule("ssh"), [deny("block", network="default")], [22], False, [], ""),
    ("disabled deny", rule("ssh"), [deny("block", disabled=True)], [22], True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("egress deny", rule("ssh"), [deny("block", direction="EGRESS", sourceRanges=None,
                                       destinationRanges=["0.0.0.0/0"])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("allow peer", rule("ssh"), [rule("other", priority=10)], [22], True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("deny of some targets", rule("ssh", targetTags=["web", "db"]), [deny("block", targetTags=["web"])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("deny of tagged targets only", rule("ssh"), [deny("block", targetTags=["web"])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("deny of every target", rule("ssh", targetTags=["web"]), [deny("block")], [22], False, [], ""),
    ("deny of wider service accounts", rule("ssh", targetServiceAccounts=["a@demo.iam.gserviceaccount.com"]),
     [deny("block", targetServiceAccounts=["a@demo.iam.gserviceaccount.com", "b@demo.iam.gserviceaccount.com"])],
     [22], False, [], ""),
    ("ipv4 deny leaves ipv6", rule("ssh", sourceRanges=["0.0.0.0/0", "::/0"]), [deny("block")], [22], True,
     [("tcp", 22, 22, "::/0")], ""),
    ("two denies together", rule("ssh"), [deny("low", sourceRanges=["0.0.0.0/1"]),
                                          deny("high", sourceRanges=["128.0.0.0/1"])], [22], False, [], ""),
    ("deny of other port", rule("ssh"), [deny("block", denied=[{"IPProtocol": "tcp", "ports": ["80"]}])], [22],
     True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("all entries query", rule("web", allowed=[{"IPProtocol": "tcp", "ports": ["22"]}, {"IPProtocol": "udp"}]),
     [deny("block")], None, True, [("udp", None, None, "0.0.0.0/0")], ""),
    ("deny rule judged", deny("block"), [], [22], False, [], ""),
    # Peers that cannot be parsed or read in full.
    ("broken deny could hide", rule("ssh"), [deny("broken", denied=[{"ports": ["22"]}])], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "firewall rule broken deny entry 0: IPProtocol is missing"),
    ("broken deny evaluated later", rule("ssh"), [deny("broken", priority=2000, denied=[{"IPProtocol": "bogus"}])],
     [22], True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken deny in other network", rule("ssh"), [deny("broken", network=OTHER_NETWORK, sourceRanges=["bad"])],
     [22], True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken egress deny", rule("ssh"), [deny("broken", direction="EGRESS", sourceRanges=["bad"])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken disabled deny", rule("ssh"), [deny("broken", disabled=True, sourceRanges=["bad"])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken deny of other targets", rule("ssh"), [deny("broken", targetTags=["web"], sourceRanges=["bad"])], [22],
     True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken deny of other port", rule("ssh"),
     [deny("broken", sourceRanges=["bad"], denied=[{"IPProtocol": "tcp", "ports": ["80"]}])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken deny leaves a port", rule("admin", allowed=[{"IPProtocol": "tcp", "ports": ["22", "3389"]}]),
     [deny("broken", sourceRanges=["bad"])], [22, 3389], True, [("tcp", 3389, 3389, "0.0.0.0/0")], ""),
    ("broken deny with bad priority", rule("ssh", priority=0), [deny("broken", priority="soon")], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "invalid priority"),
    ("broken allow peer", rule("ssh"), [rule("broken", priority=10, allowed=[{"IPProtocol": "bogus"}])], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("broken peer, rule not exposed", rule("ssh", sourceRanges=["10.0.0.0/8"]), [None], [22], False, [], ""),
    ("missing peer data", rule("ssh"), [None], [22], None, [("tcp", 22, 22, "0.0.0.0/0")], "its data is missing"),
    ("peer not an object", rule("ssh"), [["deny"]], [22], None, [("tcp", 22, 22, "0.0.0.0/0")],
     "expected an object, got list"),
    ("whole peer unreadable", rule("ssh"), [PeerRule(data=deny("block", priority=5000), unreadable=frozenset("*"))],
     [22], None, [("tcp", 22, 22, "0.0.0.0/0")], "firewall rule block: its data could not be read"),
    ("unreadable priority", rule("ssh", priority=50),
     [PeerRule(data=without(deny("block"), "priority"), unreadable=frozenset({"priority"}))], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "firewall rule block: priority could not be read"),
    ("unreadable snake case sources", rule("ssh"),
     [PeerRule(data=without(deny("block"), "sourceRanges"), unreadable=frozenset({"source_ranges"}))], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "source_ranges could not be read"),
    ("unreadable targets of a deny", rule("ssh", targetTags=["web"]),
     [PeerRule(data=without(deny("block"), "targetTags"), unreadable=frozenset({"targetTags"}))], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "targetTags could not be read"),
    ("unreadable field that decides nothing", rule("ssh"),
     [PeerRule(data=deny("block"), unreadable=frozenset({"logConfig"}))], [22], False, [], ""),
    ("unreadable priority of an allow", rule("ssh"),
     [PeerRule(data=without(rule("other"), "priority"), unreadable=frozenset({"priority"}))], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("unreadable network of a later deny", rule("ssh", priority=10),
     [PeerRule(data=without(deny("block", priority=20), "network"), unreadable=frozenset({"network"}))], [22], True,
     [("tcp", 22, 22, "0.0.0.0/0")], ""),
    ("deny without network", rule("ssh"), [without(deny("block"), "network")], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "deny rule block names no network"),
    ("rule without network", without(rule("ssh"), "network"), [deny("block")], [22], None,
     [("tcp", 22, 22, "0.0.0.0/0")], "firewall rule ssh names no network"),
    ("rule without network, nothing denies", without(rule("ssh"), "network"), [deny("block", priority=2000)], [22],
     True, [("tcp", 22, 22, "0.0.0.0/0")], ""),
]


@pytest.mark.parametrize(
    ("raw", "peers", "ports", "exposed", "expected", "unresolved"),
    [case[1:] for case in PEER_CASES],
    ids=[case[0] for case in PEER_CASES],
)
def test_rule_exposures_after_denies(
    raw: dict[str, Any],
    peers: list[Any],
    ports: list[int] | None,
    exposed: bool | None,
    expected: list[tuple[Any, ...]],
    unresolved: str,
) -> None:
    verdict = rule_exposures_after_denies(raw, peers, ports)

    assert verdict.exposed is exposed
    assert [(e.protocol, e.from_port, e.to_port, e.source) for e in verdict.exposures] == expected
    if unresolved:
        assert any(unresolved in message for message in verdict.unresolved), verdict.unresolved
    else:
        assert verdict.unresolved == ()


def test_peer_view_matches_network_view() -> None:
    rules = [
        rule("allow-ssh"),
        rule("allow-web", targetTags=["web"], allowed=[{"IPProtocol": "tcp", "ports": ["22", "80"]}]),
        deny("deny-ssh-web", targetTags=["web"]),
        deny("deny-ssh-late", priority=5000),
    ]

    for raw in rules:
        peers = [other for other in rules if other is not raw]
        alone = rule_exposures_after_denies(raw, peers, [22, 80]).exposures
        in_network = [e for e in firewall_internet_exposures(rules, [22, 80]) if e.rule_name == raw["name"]]
        assert list(alone) == in_network, raw["name"]


def test_peer_view_names_malformed_rule() -> None:
    with pytest.raises(ValueError, match="firewall rule bad"):
        rule_exposures_after_denies(rule("bad", allowed=[{"ports": ["22"]}]), [], [22])
