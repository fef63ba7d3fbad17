"""Differential tests: the integer-range CIDR helpers against a reference built on ipaddress.

The NSG and VPC firewall analyses track unmatched addresses as integer ranges instead of ipaddress
network lists, for speed. The reference below keeps the network-list reading that they replaced. The
tests compare the two on many seeded random inputs: IPv4 and IPv6, nested and overlapping blocks,
host bits, other spellings, edge blocks such as 0.0.0.0/0, /32 and /128, and invalid text.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Sequence
from typing import Any

import pytest

from ridgeline.analysis.network.azure import nsg_internet_exposures, nsg_rules
from ridgeline.analysis.network.gcp import firewall_internet_exposures, rule_exposures_after_denies
from ridgeline.analysis.network.ports import (
    IdentityMemo,
    cidr_block,
    is_public_cidr,
    is_world_cidr,
    parse_cidr,
    ranges_include_public,
    subtract_range,
    whole_range,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SEEDS = range(12)

# --- Reference on ipaddress -------------------------------------------------------------------------

# Written out again here rather than imported, so that a change to the module's list shows up.
REFERENCE_NON_PUBLIC = [
    ipaddress.ip_network(text)
    for text in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.168.0.0/16", "::/128", "::1/128", "fc00::/7", "fe80::/10",
    )
]

INTERNET_TAGS = {"*", "any", "internet"}


def reference_parse(text: str) -> Network | None:
    """Parse text as the analyses did before the range helpers, or return None when it is not a CIDR."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def reference_public(network: Network) -> bool:
    return not any(
        network.version == blocked.version and network.subnet_of(blocked)  # type: ignore[arg-type]
        for blocked in REFERENCE_NON_PUBLIC
    )


def reference_space(version: int) -> list[Network]:
    return [ipaddress.ip_network("0.0.0.0/0" if version == 4 else "::/0")]


def reference_subtract(networks: Sequence[Network], removed: Network) -> list[Network]:
    remaining: list[Network] = []
    for network in networks:
        if network.version != removed.version or not network.overlaps(removed):
            remaining.append(network)
        elif network.subnet_of(removed):  # type: ignore[arg-type]
            continue
        else:
            remaining.extend(network.address_exclude(removed))  # type: ignore[arg-type]
    return remaining


def as_ranges(networks: Sequence[Network]) -> list[tuple[int, int]]:
    """Return the addresses of `networks` as sorted ranges, adjacent ones joined."""
    joined: list[tuple[int, int]] = []
    for first, last in sorted((int(n.network_address), int(n.broadcast_address)) for n in networks):
        if joined and first <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return joined


# --- Random inputs ----------------------------------------------------------------------------------

EDGE_TEXTS = [
    "0.0.0.0/0", "::/0", "0.0.0.0/1", "128.0.0.0/1", "255.255.255.255/32", "0.0.0.0/32", "::/128", "::1/128",
    "::/127", "::2/127", "::/126", "::1", "::", "10.0.0.0/8", "10.0.0.0/7", "9.255.255.255/32", "11.0.0.0/32",
    "100.64.0.0/10", "100.0.0.0/8", "127.0.0.1", "169.254.169.254/32", "172.16.0.0/12", "172.16.0.0/11",
    "192.168.0.0/16", "192.168.0.0/15", "fc00::/7", "fc00::/6", "fe80::/10", "fe80::/9", "fec0::/10",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "8.0.0.0/5", "0.0.0.0/7",
]

# Spellings that ipaddress accepts besides a/n, and text it rejects (service tags, typos).
ODD_TEXTS = [
    " 10.0.0.1/8 ", "10.1.2.3/255.0.0.0", "10.1.2.3/0.0.0.255", "1.2.3.4/024", "fe80::1%eth0/64",
    "::ffff:10.0.0.1/128", "2001:db8::1/32",
]
INVALID_TEXTS = [
    "", " ", "*", "Any", "Internet", "VirtualNetwork", "AzureLoadBalancer", "Storage.WestEurope",
    "10.0.0.0/33", "::/129", "1.2.3", "10.0.0.256/8", "fe80::zz/64", "01.2.3.4/8", "10.0.0.0/-1",
    "10.0.0.0/8/8", "0.0.0.0/", "/0",
]


def random_cidr(rng: random.Random, version: int | None = None) -> str:
    """Return CIDR text, often with host bits set, near the private blocks or nested in another block."""
    version = version or rng.choice((4, 6))
    bits = 32 if version == 4 else 128
    roll = rng.random()
    if roll < 0.15:
        candidates = [text for text in EDGE_TEXTS if reference_parse(text).version == version]  # type: ignore[union-attr]
        return rng.choice(candidates)

    if roll < 0.55:
        # Around a private block: inside it, just outside it, or a block that contains it.
        block = rng.choice([network for network in REFERENCE_NON_PUBLIC if network.version == version])
        base = int(block.network_address) + rng.choice((0, 1, -1, rng.randrange(block.num_addresses)))
        base = base % (1 << bits)
        prefix = max(0, min(bits, block.prefixlen + rng.randint(-3, 6)))
    else:
        base = rng.getrandbits(bits)
        prefix = rng.choice((0, 1, 2, 7, 8, 16, 24, bits - 1, bits, rng.randint(0, bits)))

    address = ipaddress.ip_address(base) if version == 4 else ipaddress.IPv6Address(base)
    if rng.random() < 0.1 and prefix == bits:
        return str(address)
    return f"{address}/{prefix}"


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(INVALID_TEXTS)
    if roll < 0.15:
        return rng.choice(ODD_TEXTS)
    return random_cidr(rng)


# --- Parsing, world and public ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_cidr_block_matches_ipaddress(seed: int) -> None:
    rng = random.Random(seed)
    texts = [random_text(rng) for _ in range(400)] + EDGE_TEXTS + ODD_TEXTS + INVALID_TEXTS

    for text in texts:
        expected = reference_parse(text)
        if expected is None:
            message = f"invalid CIDR {text!r}: expected an IPv4 or IPv6 network such as 10.0.0.0/8"
            for function in (cidr_block, parse_cidr, is_world_cidr, is_public_cidr):
                with pytest.raises(ValueError) as raised:
                    function(text)
                assert str(raised.value) == message
            continue

        block = cidr_block(text)
        assert block.network == expected
        assert str(parse_cidr(text)) == str(expected)
        assert (block.version, block.first, block.last) == (
            expected.version, int(expected.network_address), int(expected.broadcast_address)
        )
        assert block.world == is_world_cidr(text) == (expected.prefixlen == 0)
        assert block.public == is_public_cidr(text) == reference_public(expected), text


@pytest.mark.parametrize("value", [None, 10, ["10.0.0.0/8"], b"10.0.0.0/8"])
def test_cidr_block_non_text(value: Any) -> None:
    for function in (cidr_block, parse_cidr, is_world_cidr, is_public_cidr):
        with pytest.raises(ValueError, match=re.escape("expected a string such as 10.0.0.0/8")):
            function(value)


def test_whole_range_versions() -> None:
    assert whole_range(4) == [(0, 2**32 - 1)]
    assert whole_range(6) == [(0, 2**128 - 1)]
    for version in (5, 0, True, "4"):
        with pytest.raises(ValueError, match="invalid IP version"):
            whole_range(version)  # type: ignore[arg-type]


# --- Subtraction and the public check ---------------------------------------------------------------


LEFT_BLOCKS = {
    4: ["10.0.0.0/8", "10.0.0.0/7", "0.0.0.0/7", "127.0.0.0/8", "126.0.0.0/7", "172.16.0.0/11", "192.168.0.0/15",
        "100.64.0.0/9", "169.254.0.0/15"],
    6: ["::/127", "::/126", "::/128", "::1/128", "::2/127", "fc00::/7", "fc00::/6", "fe80::/10", "fe00::/7"],
}


@pytest.mark.parametrize("seed", SEEDS)
def test_subtract_range_matches_address_exclude(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(80):
        version = rng.choice((4, 6))
        removals: list[Network] = []
        if rng.random() < 0.4:
            # First remove everything but one block near the private ones, so that what remains sits on
            # their edges, as after a rule on every address except a few.
            left_block = reference_parse(rng.choice(LEFT_BLOCKS[version]) if rng.random() < 0.6
                                   else random_cidr(rng, version))
            removals = reference_subtract(reference_space(version), left_block)  # type: ignore[arg-type]
            rng.shuffle(removals)

        for _ in range(rng.randint(1, 8)):
            if removals and rng.random() < 0.4:
                # Nested in, or wrapped around, a block removed before.
                earlier = rng.choice(removals)
                prefix = max(0, min(earlier.max_prefixlen, earlier.prefixlen + rng.randint(-2, 4)))
                removals.append(ipaddress.ip_network(f"{earlier.network_address}/{prefix}", strict=False))
            else:
                removals.append(reference_parse(random_cidr(rng)))  # type: ignore[arg-type]

        expected = reference_space(version)
        actual = whole_range(version)
        for step, removed in enumerate(removals, start=1):
            # The reference passes other versions through, and the range functions only see one version.
            expected = reference_subtract(expected, removed)
            if removed.version == version:
                actual = subtract_range(actual, int(removed.network_address), int(removed.broadcast_address))

            assert actual == as_ranges(expected)
            assert bool(actual) == bool(expected)
            assert ranges_include_public(version, actual) == any(reference_public(n) for n in expected), (
                version, [str(n) for n in removals[:step]],
            )


def test_public_check_adjacent_private_blocks() -> None:
    # :: and ::1 are both private, but the block ::/127 that holds both lies in neither, and the
    # network-list reading has always called it public.
    assert is_public_cidr("::/127")
    assert ranges_include_public(6, [(0, 1)])
    assert not ranges_include_public(6, [(0, 0)])
    assert not ranges_include_public(6, [(1, 1)])
    assert not ranges_include_public(6, [(0, 0), (0xFC00 << 112, (0xFE00 << 112) - 1)])

    # Only the unspecified address and loopback remain after removing everything else from ::/0.
    remaining = whole_range(6)
    for removed in reference_subtract(reference_space(6), ipaddress.ip_network("::/127")):
        remaining = subtract_range(remaining, int(removed.network_address), int(removed.broadcast_address))
    assert remaining == [(0, 1)]
    assert ranges_include_public(6, remaining)


def test_public_check_split_ranges() -> None:
    # The same addresses split differently must give the same result.
    assert ranges_include_public(6, [(1, 1), (0, 0)]) == ranges_include_public(6, [(0, 1)])
    ten = (10 << 24, (11 << 24) - 1)
    assert not ranges_include_public(4, [(ten[0], ten[0] + 99), (ten[0] + 100, ten[1])])
    assert ranges_include_public(4, [ten, (11 << 24, 11 << 24)])
    assert not ranges_include_public(4, [])


# --- The NSG analysis against a reference of its address logic ----------------------------------------


def reference_first_allow(nsg: dict[str, Any], protocol: str, port: int, version: int) -> tuple[str, str] | None:
    """First-match evaluation of one port and IP version on ipaddress network lists."""
    unmatched = reference_space(version)
    rules = [rule for rule in nsg_rules(nsg)
             if rule.direction == "inbound" and rule.protocol in ("all", protocol)]
    for rule in rules:
        if not rule.covers_port(protocol, port):
            continue
        if rule.access == "allow":
            for source in rule.sources:
                network = reference_parse(source)
                if source.lower() in INTERNET_TAGS or (
                    network is not None and network.prefixlen == 0 and network.version == version
                ):
                    return rule.name, source
        for source in rule.sources:
            if source.lower() in INTERNET_TAGS:
                return None
            network = reference_parse(source)
            if network is not None and network.version == version:
                unmatched = reference_subtract(unmatched, network)
        if not any(reference_public(network) for network in unmatched):
            return None
    return None


SOURCE_TAGS = ["*", "Internet", "Any", "VirtualNetwork", "AzureLoadBalancer", "AzureCloud"]
PORT_VALUES = ["22", "80", "*", "20-30", "3389", "0-65535", "1024-65535"]


def random_nsg(rng: random.Random) -> dict[str, Any]:
    rules = []
    for index, priority in enumerate(rng.sample(range(100, 4097), rng.randint(1, 8))):
        sources = [rng.choice(SOURCE_TAGS) if rng.random() < 0.25 else random_cidr(rng)
                   for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.15:
            # Every address of a version but one block near the private ones, in the fewest prefixes.
            version = rng.choice((4, 6))
            left_block = reference_parse(rng.choice(LEFT_BLOCKS[version]))
            sources = [str(network) for network in reference_subtract(reference_space(version), left_block)]  # type: ignore[arg-type]
        rules.append({"name": f"r{index}", "properties": {
            "priority": priority,
            "direction": "Inbound" if rng.random() < 0.9 else "Outbound",
            "access": rng.choice(("Allow", "Deny", "Deny")),
            "protocol": rng.choice(("Tcp", "Udp", "*")),
            "sourceAddressPrefixes": sources,
            "destinationPortRanges": rng.sample(PORT_VALUES, rng.randint(0, 2)),
            "destinationPortRange": rng.choice(["22", "*", "3389"]),
        }})
    defaults = [
        {"name": "AllowVnetInBound", "properties": {"priority": 65000, "direction": "Inbound", "access": "Allow",
                                                    "protocol": "*", "sourceAddressPrefix": "VirtualNetwork",
                                                    "destinationPortRange": "*"}},
        {"name": "DenyAllInBound", "properties": {"priority": 65500, "direction": "Inbound", "access": "Deny",
                                                  "protocol": "*", "sourceAddressPrefix": "*",
                                                  "destinationPortRange": "*"}},
    ]
    return {"name": "nsg", "properties": {"securityRules": rules, "defaultSecurityRules": defaults}}


def random_ports(rng: random.Random) -> list[int]:
    return rng.sample([0, 21, 22, 23, 25, 30, 80, 1023, 1024, 3389, 65535], rng.randint(1, 4))


@pytest.mark.parametrize("seed", SEEDS)
def test_nsg_exposures_match_reference(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        nsg = random_nsg(rng)
        ports = random_ports(rng)
        for protocol in ("tcp", "udp"):
            expected: list[tuple[str, str]] = []
            for port in ports:
                found: list[tuple[str, str]] = []
                for version in (4, 6):
                    allowing = reference_first_allow(nsg, protocol, port, version)
                    if allowing is not None and allowing not in found:
                        found.append(allowing)
                expected += found

            exposures = nsg_internet_exposures(nsg, ports=ports, protocol=protocol)
            assert [(exposure.rule_name, exposure.source) for exposure in exposures] == expected


# --- The VPC firewall analysis against a reference of its deny check --------------------------------------


def firewall_rule(name: str, action: str, priority: int, ranges: list[str]) -> dict[str, Any]:
    entries = [{"IPProtocol": "tcp", "ports": ["22"]}]
    return {"name": name, "network": "global/networks/default", "priority": priority,
            "direction": "INGRESS", action: entries, "sourceRanges": ranges}


@pytest.mark.parametrize("seed", SEEDS)
def test_firewall_denies_match_reference(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        world = rng.choice((["0.0.0.0/0"], ["::/0"], ["0.0.0.0/0", "::/0"]))
        allow = firewall_rule("allow-ssh", "allowed", 1000, world)
        denies = [firewall_rule(f"deny-{index}", "denied", rng.randint(0, 1000),
                                [random_cidr(rng) for _ in range(rng.randint(1, 4))])
                  for index in range(rng.randint(0, 6))]

        # The allow rule stays open to an IP version unless the deny rules' ranges cover its whole space.
        expected = []
        for cidr in world:
            version = 4 if cidr == "0.0.0.0/0" else 6
            unmatched = reference_space(version)
            for deny in denies:
                for text in deny["sourceRanges"]:
                    unmatched = reference_subtract(unmatched, reference_parse(text))  # type: ignore[arg-type]
            if unmatched:
                expected.append(cidr)

        verdict = rule_exposures_after_denies(allow, denies, ports=[22])
        assert [exposure.source for exposure in verdict.exposures] == expected
        assert verdict.exposed is bool(expected)
        together = firewall_internet_exposures([allow, *denies], ports=[22])
        assert [exposure.source for exposure in together] == expected


# --- The parse memo ---------------------------------------------------------------------------------


def test_identity_memo_reuse_and_eviction() -> None:
    calls: list[int] = []

    def compute(value: dict[str, int]) -> int:
        calls.append(value["n"])
        if value["n"] < 0:
            raise ValueError(f"negative {value['n']}")
        return value["n"] * 2

    memo: IdentityMemo[int] = IdentityMemo(compute, size=2)
    first, second, third = {"n": 1}, {"n": 2}, {"n": 3}
    assert memo(first) == 2
    assert memo(first) == 2
    assert calls == [1]

    # An equal but distinct object is computed on its own: the memo never compares contents.
    assert memo({"n": 1}) == 2
    assert calls == [1, 1]

    memo(second)
    memo(third)
    memo(first)
    assert calls == [1, 1, 2, 3, 1]

    broken = {"n": -1}
    for _ in range(2):
        with pytest.raises(ValueError, match=r"^negative -1$"):
            memo(broken)
    assert calls == [1, 1, 2, 3, 1, -1]

    memo.clear()
    memo(first)
    assert calls == [1, 1, 2, 3, 1, -1, 1]


def single_rule_nsg(access: str) -> dict[str, Any]:
    rule = {"priority": 100, "direction": "Inbound", "access": access, "protocol": "Tcp",
            "sourceAddressPrefix": "Internet", "destinationPortRange": "22"}
    return {"name": "nsg", "properties": {"securityRules": [{"name": "ssh", "properties": rule}]}}


def test_nsg_memo_new_configuration() -> None:
    # `watch` builds a new configuration for every refreshed resource, so the old verdict must not stick.
    open_nsg = single_rule_nsg("Allow")
    assert [exposure.rule_name for exposure in nsg_internet_exposures(open_nsg, ports=[22])] == ["ssh"]

    refreshed = single_rule_nsg("Deny")
    assert nsg_internet_exposures(refreshed, ports=[22]) == []
    assert [exposure.rule_name for exposure in nsg_internet_exposures(open_nsg, ports=[22])] == ["ssh"]


def test_nsg_rules_fresh_list() -> None:
    nsg = random_nsg(random.Random(99))
    rules = nsg_rules(nsg)
    rules.clear()
    assert nsg_rules(nsg)
