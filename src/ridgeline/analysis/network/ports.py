"""Protocol, port and CIDR helpers shared by the firewall analyses of every provider.

The AWS security group and network ACL code uses them now, and the Azure NSG and GCP
firewall analyses are meant to reuse them, so nothing here depends on a provider's data shape.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from types import MappingProxyType

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALL_PROTOCOLS = "all"
"""Normalised protocol name of a rule that matches every protocol and every port."""

PORT_PROTOCOLS = frozenset({"tcp", "udp", "132"})
"""Normalised protocols whose traffic has ports, so a port query makes sense (132 is SCTP)."""

ICMP_PROTOCOLS = frozenset({"icmp", "icmpv6"})
"""Normalised protocols whose rules use the port fields for the ICMP type and code."""

MIN_PORT = 0
MAX_PORT = 65535

ADMIN_PORTS: tuple[int, ...] = (22, 3389)
"""Remote administration ports: SSH and RDP."""

DATABASE_PORTS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "mysql": (3306,),
        "postgresql": (5432,),
        "mssql": (1433,),
        # The classic listener port first, then the IANA ports for Oracle Net over TCP and TLS.
        "oracle": (1521, 2483, 2484),
        # mongod, then the default ports of a shard member and of a config server.
        "mongodb": (27017, 27018, 27019),
        "redis": (6379,),
        # The HTTP API, then the transport port that cluster nodes use between themselves.
        "elasticsearch": (9200, 9300),
        # CQL clients, then the Thrift clients of older releases.
        "cassandra": (9042, 9160),
        "memcached": (11211,),
        "couchdb": (5984,),
        # The HTTP browser and API, then the Bolt protocol.
        "neo4j": (7474, 7687),
        "influxdb": (8086,),
    }
)
"""Default TCP ports of well-known databases and caches, keyed by service name."""

# Named protocols map to their IANA protocol number or to the name AWS uses, so that
# "6", 6, "TCP" and "Tcp" compare equal. The names come from AWS, Azure and GCP rules.
_PROTOCOL_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "-1": ALL_PROTOCOLS,
        "all": ALL_PROTOCOLS,
        "any": ALL_PROTOCOLS,
        "*": ALL_PROTOCOLS,
        "1": "icmp",
        "icmp": "icmp",
        "6": "tcp",
        "tcp": "tcp",
        "17": "udp",
        "udp": "udp",
        "58": "icmpv6",
        "icmpv6": "icmpv6",
        "ipv6-icmp": "icmpv6",
        "ipip": "4",
        "gre": "47",
        "esp": "50",
        "ah": "51",
        "sctp": "132",
    }
)

_MAX_PROTOCOL_NUMBER = 255

# Address blocks that are not reachable from the internet: RFC 1918 private ranges,
# RFC 6598 shared address space (carrier-grade NAT), loopback, link-local, "this network",
# and for IPv6 unique local addresses (RFC 4193), loopback, link-local and the unspecified
# address. Documentation ranges such as 203.0.113.0/24 are left out on purpose, because
# examples and tests use them to stand for public addresses.
_NON_PUBLIC_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def normalise_protocol(value: str | int) -> str:
    """Return the normalised name of a rule's protocol.

    The result is "all", "tcp", "udp", "icmp" or "icmpv6", or else the IANA protocol number
    as a decimal string ("47" for GRE). Raises ValueError for a value that is neither a
    known name nor a protocol number from 0 to 255.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"invalid protocol {value!r}: expected a protocol name or number")

    text = str(value).strip().lower()
    alias = _PROTOCOL_ALIASES.get(text)
    if alias is not None:
        return alias

    try:
        number = int(text)
    except ValueError:
        raise ValueError(
            f"invalid protocol {value!r}: expected -1, all, tcp, udp, icmp, icmpv6 or a number from 0 to 255"
        ) from None
    if not 0 <= number <= _MAX_PROTOCOL_NUMBER:
        raise ValueError(f"invalid protocol number {value!r}: expected -1 or a number from 0 to 255")

    # A second lookup maps "06" and " 6 " to "tcp" like "6".
    return _PROTOCOL_ALIASES.get(str(number), str(number))


def protocol_covers(rule_protocol: str, protocol: str) -> bool:
    """Return whether a rule on `rule_protocol` applies to traffic of `protocol`.

    Both arguments must be normalised. A rule on "all" applies to every protocol.
    """
    return rule_protocol == ALL_PROTOCOLS or rule_protocol == protocol


def validate_port_protocol(protocol: str | int) -> str:
    """Normalise the protocol of a port query, raising ValueError unless its traffic has ports."""
    normalised = normalise_protocol(protocol)
    if normalised not in PORT_PROTOCOLS:
        raise ValueError(
            f"invalid protocol {protocol!r} for a port query: ports exist only for tcp, udp and sctp (132)"
        )
    return normalised


def rule_covers_port(
    rule_protocol: str, from_port: int | None, to_port: int | None, protocol: str, port: int
) -> bool:
    """Return whether a rule on `rule_protocol` and the given port range applies to `protocol` `port`.

    Protocols must be normalised. A rule whose range is None at both ends covers every port,
    which is how parsers should store rules on "all" and on protocols whose range the
    provider ignores.
    """
    return protocol_covers(rule_protocol, protocol) and port_in_range(port, from_port, to_port)


def validate_port(port: int) -> int:
    """Return `port` unchanged, or raise ValueError if it is not an integer from 0 to 65535."""
    if isinstance(port, bool) or not isinstance(port, int) or not MIN_PORT <= port <= MAX_PORT:
        raise ValueError(f"invalid port {port!r}: expected an integer from {MIN_PORT} to {MAX_PORT}")
    return port


def validate_ports(ports: Iterable[int]) -> tuple[int, ...]:
    """Return the distinct ports in input order, raising ValueError on any invalid one."""
    return tuple(dict.fromkeys(validate_port(port) for port in ports))


def port_in_range(port: int, from_port: int | None, to_port: int | None) -> bool:
    """Return whether `port` lies in the inclusive range from `from_port` to `to_port`.

    A bound that is None or -1 is open, so a range open at both ends contains every port,
    as AWS reports for rules on all protocols. A single open bound only appears in
    malformed rules, and treating it as open errs toward reporting an exposure.
    """
    validate_port(port)

    lower = MIN_PORT if from_port is None or from_port == -1 else from_port
    upper = MAX_PORT if to_port is None or to_port == -1 else to_port
    return lower <= port <= upper


def parse_cidr(cidr: str) -> IPNetwork:
    """Parse an IPv4 or IPv6 CIDR, or a bare address as a single-host network.

    Host bits are cleared ("10.0.0.1/8" becomes 10.0.0.0/8), as AWS does when it stores a
    rule. Raises ValueError naming the value when it is not an address or network.
    """
    if not isinstance(cidr, str):
        raise ValueError(f"invalid CIDR {cidr!r}: expected a string such as 10.0.0.0/8")
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"invalid CIDR {cidr!r}: expected an IPv4 or IPv6 network such as 10.0.0.0/8"
        ) from None


def is_world_cidr(cidr: str) -> bool:
    """Return whether `cidr` is the whole IPv4 or IPv6 address space (0.0.0.0/0 or ::/0)."""
    return parse_cidr(cidr).prefixlen == 0


def is_public_cidr(cidr: str) -> bool:
    """Return whether `cidr` includes addresses that are reachable from the internet.

    The whole address space counts as public. A network counts as private only when it
    lies entirely inside a private, shared, loopback, link-local or unique local block, so
    a wide range such as 8.0.0.0/5 that contains 10.0.0.0/8 is still public.
    """
    network = parse_cidr(cidr)
    for blocked in _NON_PUBLIC_NETWORKS:
        if network.version == blocked.version and network.subnet_of(blocked):  # type: ignore[arg-type]
            return False
    return True


def address_space(version: int) -> list[IPNetwork]:
    """Return the whole IPv4 (version 4) or IPv6 (version 6) address space as a network list."""
    if version == 4:
        return [ipaddress.IPv4Network("0.0.0.0/0")]
    if version == 6:
        return [ipaddress.IPv6Network("::/0")]
    raise ValueError(f"invalid IP version {version!r}: expected 4 or 6")


def subtract_network(networks: Iterable[IPNetwork], removed: IPNetwork) -> list[IPNetwork]:
    """Return the addresses of `networks` that are not in `removed`, as a list of networks.

    First-match rule lists (network ACLs, NSG priorities) use this to track the addresses
    that no earlier rule has matched yet. Networks of the other IP version pass through.
    """
    remaining: list[IPNetwork] = []
    for network in networks:
        if network.version != removed.version:
            remaining.append(network)
        elif network.subnet_of(removed):  # type: ignore[arg-type]
            continue
        elif removed.subnet_of(network):  # type: ignore[arg-type]
            remaining.extend(network.address_exclude(removed))  # type: ignore[arg-type]
        else:
            # Two CIDR blocks either nest or do not overlap at all, so this one is untouched.
            remaining.append(network)
    return remaining
