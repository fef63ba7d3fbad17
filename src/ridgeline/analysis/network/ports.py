"""Protocol, port and CIDR helpers shared by the firewall analyses of every provider.

The AWS security group and network ACL code uses them now, and the Azure NSG and GCP
firewall analyses are meant to reuse them, so nothing here depends on a provider's data shape.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

AddressRange = tuple[int, int]
"""First and last address of a block of consecutive addresses of one IP version, as integers."""

_T = TypeVar("_T")

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

_LAST_ADDRESS = {4: (1 << 32) - 1, 6: (1 << 128) - 1}

# The same blocks as integer ranges by IP version, for the checks that run once per rule and port.
_NON_PUBLIC_RANGES: Mapping[int, tuple[AddressRange, ...]] = MappingProxyType(
    {
        version: tuple(
            (int(network.network_address), int(network.broadcast_address))
            for network in _NON_PUBLIC_NETWORKS
            if network.version == version
        )
        for version in (4, 6)
    }
)


def _merged(ranges: Iterable[AddressRange]) -> tuple[AddressRange, ...]:
    """Join overlapping and adjacent ranges, in address order."""
    joined: list[AddressRange] = []
    for first, last in sorted(ranges):
        if joined and first <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return tuple(joined)


# The union of the blocks above, where adjacent blocks (:: and ::1) form one range.
_NON_PUBLIC_UNION: Mapping[int, tuple[AddressRange, ...]] = MappingProxyType(
    {version: _merged(ranges) for version, ranges in _NON_PUBLIC_RANGES.items()}
)


def normalise_protocol(value: str | int) -> str:
    """Return the normalised name of a rule's protocol.

    The result is "all", "tcp", "udp", "icmp" or "icmpv6", or else the IANA protocol number
    as a decimal string ("47" for GRE). Raises ValueError for a value that is neither a
    known name nor a protocol number from 0 to 255.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"invalid protocol {value!r}: expected a protocol name or number")
    return _normalised_protocol(value)


# Rules spell their protocol in a handful of ways ("Tcp", "*", "6", -1), and every rule of every
# firewall and every port query is normalised. Only strings and integers pass the type test above.
# With `typed`, a str or int subclass is cached apart from the plain value.
@functools.lru_cache(maxsize=1024, typed=True)
def _normalised_protocol(value: str | int) -> str:
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


@dataclass(frozen=True, slots=True)
class AddressBlock:
    """A parsed CIDR: the network, its first and last address as integers, and how the analyses classify it."""

    network: IPNetwork
    """The network as parse_cidr returns it, host bits cleared."""

    version: int
    """IP version, 4 or 6."""

    first: int
    """First address of the network as an integer."""

    last: int
    """Last address of the network as an integer."""

    world: bool
    """True for the whole address space of its version (prefix length 0)."""

    public: bool
    """True when some address of the network is reachable from the internet (see is_public_cidr)."""


def parse_cidr(cidr: str) -> IPNetwork:
    """Parse an IPv4 or IPv6 CIDR, or a bare address as a single-host network.

    Host bits are cleared ("10.0.0.1/8" becomes 10.0.0.0/8), as AWS does when it stores a
    rule. Raises ValueError naming the value when it is not an address or network.
    """
    return cidr_block(cidr).network


def cidr_block(cidr: str) -> AddressBlock:
    """Read a CIDR as parse_cidr does and return it with its integer range, raising the same ValueError."""
    if not isinstance(cidr, str):
        raise ValueError(f"invalid CIDR {cidr!r}: expected a string such as 10.0.0.0/8")

    block = _cached_block(cidr)
    if block is None:
        raise ValueError(f"invalid CIDR {cidr!r}: expected an IPv4 or IPv6 network such as 10.0.0.0/8")
    return block


# The same few CIDRs (0.0.0.0/0, a company's ranges) recur in thousands of rules, and ipaddress takes
# microseconds to parse each. Text that is not a CIDR, such as an Azure service tag, is cached too (as
# None), because every NSG names some and a failed parse costs as much as a good one.
@functools.lru_cache(maxsize=16384)
def _cached_block(cidr: str) -> AddressBlock | None:
    try:
        # ipaddress stays the only parser, so every spelling it accepts (bare addresses, netmasks,
        # host bits, IPv6 scope ids) keeps its meaning.
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None

    first = int(network.network_address)
    last = int(network.broadcast_address)
    inside_private = any(
        low <= first and last <= high for low, high in _NON_PUBLIC_RANGES[network.version]
    )
    return AddressBlock(
        network=network,
        version=network.version,
        first=first,
        last=last,
        world=network.prefixlen == 0,
        public=not inside_private,
    )


def is_world_cidr(cidr: str) -> bool:
    """Return whether `cidr` is the whole IPv4 or IPv6 address space (0.0.0.0/0 or ::/0)."""
    return cidr_block(cidr).world


def is_public_cidr(cidr: str) -> bool:
    """Return whether `cidr` includes addresses that are reachable from the internet.

    The whole address space counts as public. A network counts as private only when it
    lies entirely inside a private, shared, loopback, link-local or unique local block, so
    a wide range such as 8.0.0.0/5 that contains 10.0.0.0/8 is still public.
    """
    return cidr_block(cidr).public


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


# Integer ranges ----------------------------------------------------------------------------------------
#
# The functions below do what address_space, subtract_network and is_public_cidr do on network
# lists, on lists of integer ranges of one IP version instead. The NSG and VPC firewall analyses
# call them once per rule, port and IP version, where ipaddress objects cost most of a scan.


def whole_range(version: int) -> list[AddressRange]:
    """Return the whole IPv4 (version 4) or IPv6 (version 6) address space as a range list."""
    last = _LAST_ADDRESS.get(version) if isinstance(version, int) and not isinstance(version, bool) else None
    if last is None:
        raise ValueError(f"invalid IP version {version!r}: expected 4 or 6")
    return [(0, last)]


def subtract_range(ranges: Iterable[AddressRange], first: int, last: int) -> list[AddressRange]:
    """Return the addresses of `ranges` outside `first` to `last`, keeping the ranges in their order.

    All ranges must be of one IP version. Ranges that whole_range and this function return are
    sorted, disjoint and never adjacent, which ranges_include_public relies on.
    """
    remaining: list[AddressRange] = []
    for low, high in ranges:
        if high < first or last < low:
            remaining.append((low, high))
            continue
        if low < first:
            remaining.append((low, first - 1))
        if last < high:
            remaining.append((last + 1, high))
    return remaining


def ranges_include_public(version: int, ranges: Iterable[AddressRange]) -> bool:
    """Return whether the addresses of `ranges` include public ones, as is_public_cidr judges networks.

    The result equals any(is_public_cidr(...)) over the networks that subtract_network would leave
    of the same addresses, which are the fewest and largest CIDR blocks that cover them exactly. A
    block counts as private only inside a single non-public block. So the block ::/127, made of the
    unspecified address and loopback, is public although neither of its addresses is.
    """
    return any(_range_is_public(version, first, last) for first, last in _merged(ranges))


def _range_is_public(version: int, first: int, last: int) -> bool:
    blocks = _NON_PUBLIC_RANGES[version]
    if any(low <= first and last <= high for low, high in blocks):
        # Every CIDR block of the range lies inside that one private block.
        return False
    if not any(low <= first and last <= high for low, high in _NON_PUBLIC_UNION[version]):
        # Some address lies outside every private block, and so does the CIDR block that holds it.
        return True

    # The range spans adjacent private blocks: look at its CIDR blocks one by one.
    return any(
        not any(low <= start and end <= high for low, high in blocks)
        for start, end in _cidr_blocks(version, first, last)
    )


def is_public_block(version: int, first: int, last: int) -> bool:
    """Return whether the CIDR block from `first` to `last` is public, as is_public_cidr judges its CIDR.

    `first` to `last` must be one CIDR block of `version`, such as cidr_blocks yields.
    """
    return not any(low <= first and last <= high for low, high in _NON_PUBLIC_RANGES[version])


def cidr_blocks(version: int, first: int, last: int) -> Iterator[AddressRange]:
    """Yield the fewest CIDR blocks that cover `first` to `last` exactly, in address order.

    They are the networks that ipaddress.summarize_address_range returns for the same addresses.
    """
    yield from _cidr_blocks(version, first, last)


def _cidr_blocks(version: int, first: int, last: int) -> Iterator[AddressRange]:
    """Yield the fewest CIDR blocks that cover `first` to `last` exactly, in address order."""
    size_of_space = _LAST_ADDRESS[version] + 1
    while first <= last:
        # The largest block that starts at `first` is as large as its lowest set bit allows.
        size = first & -first if first else size_of_space
        while size > last - first + 1:
            size >>= 1
        yield first, first + size - 1
        first += size


# Memo by identity ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failure:
    """The message of the ValueError that a memoised function raised."""

    message: str


class IdentityMemo(Generic[_T]):
    """Remember what a pure function returned for the most recently used argument objects, by identity.

    The analyses read the same configuration mapping several times in one scan: once per rule that
    checks it, per protocol, and once more to explain a finding. A VPC firewall rule is also read
    once per rule of its network that it might shadow. Mappings are neither hashable nor cheap to
    compare, so the memo keys on id() and keeps a strong reference to the argument. That reference
    stops the id from being reused by another object while the entry lives. A ValueError is
    remembered too and raised again with the same message.

    The memo trusts that nobody changes a mapping in place once it has been judged. Ridgeline builds
    a new configuration object for every import and for every resource that `watch` refreshes; a
    caller that edits a mapping in place and judges it again must call clear() first.
    """

    def __init__(self, compute: Callable[[Any], _T], size: int) -> None:
        self._compute = compute
        self._size = size
        self._entries: OrderedDict[int, tuple[Any, _T | _Failure]] = OrderedDict()
        # Scans run in one thread, but a lock keeps a concurrent caller from corrupting the order.
        self._lock = threading.Lock()

    def __call__(self, argument: Any) -> _T:
        """Return compute(argument), reusing the result while `argument` stays in the memo."""
        key = id(argument)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is argument:
                self._entries.move_to_end(key)

        if entry is None or entry[0] is not argument:
            result: _T | _Failure
            try:
                result = self._compute(argument)
            except ValueError as error:
                result = _Failure(str(error))
            entry = (argument, result)
            with self._lock:
                self._entries[key] = entry
                if len(self._entries) > self._size:
                    self._entries.popitem(last=False)

        result = entry[1]
        if isinstance(result, _Failure):
            # A new exception each time, so that tracebacks do not pile up on a shared one.
            raise ValueError(result.message)
        return result

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
