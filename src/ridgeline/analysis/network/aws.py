"""Internet exposure of AWS security groups and network ACLs.

Rules call these pure functions on the ``configuration`` of an AWS Config configuration
item (camelCase keys, as Ridgeline's collectors produce) or on raw EC2 API output
(PascalCase keys, as boto3 returns it). Malformed input raises ValueError naming the
security group or network ACL, because guessing would hide or invent an exposure.

Protocol semantics follow the EC2 API reference for IpPermission and NetworkAclEntry:
protocol -1 means every protocol and every port. A protocol number other than TCP, UDP,
ICMP and ICMPv6 allows every port whatever range the rule gives. ICMP rules put the
ICMP type and code in the port fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from ridgeline.analysis.network.ports import (
    ADMIN_PORTS,
    ALL_PROTOCOLS,
    DATABASE_PORTS,
    ICMP_PROTOCOLS,
    IPNetwork,
    address_space,
    is_public_cidr,
    is_world_cidr,
    normalise_protocol,
    parse_cidr,
    port_in_range,
    rule_covers_port,
    subtract_network,
    validate_port_protocol,
    validate_ports,
)

__all__ = [
    "ADMIN_PORTS",
    "DATABASE_PORTS",
    "Exposure",
    "IngressRule",
    "NetworkAclEntry",
    "SecurityGroupRule",
    "is_public_cidr",
    "is_world_cidr",
    "nacl_entries",
    "nacl_world_allows",
    "normalise_protocol",
    "port_in_range",
    "sg_allows_all_traffic",
    "sg_egress_rules",
    "sg_ingress_rules",
    "sg_world_exposures",
]

INGRESS = "ingress"
EGRESS = "egress"

# Protocols whose security group rules and network ACL entries carry a real port range.
# AWS ignores the range of every other protocol except ICMP and ICMPv6.
_RANGED_PROTOCOLS = frozenset({"tcp", "udp"})


@dataclass(frozen=True, slots=True)
class Exposure:
    """One way in which a rule lets traffic through between the internet and a resource."""

    protocol: str
    """Normalised protocol: "tcp", "udp", "icmp", "icmpv6", "all" or a protocol number."""

    from_port: int | None
    """First port of the range, or the ICMP type for ICMP. None when the rule has no range."""

    to_port: int | None
    """Last port of the range, or the ICMP code for ICMP. None when the rule has no range."""

    source: str
    """CIDR the rule admits. For egress it is the destination."""

    rule_index: int
    """Index of the rule in ipPermissions or ipPermissionsEgress, or the network ACL rule number."""

    direction: str = INGRESS
    """Traffic direction, "ingress" or "egress"."""

    def describe(self) -> str:
        """Return a short text such as "tcp 0-65535 from ::/0"."""
        peer = "from" if self.direction == INGRESS else "to"
        return f"{self._describe_traffic()} {peer} {self.source}"

    def _describe_traffic(self) -> str:
        if self.protocol == ALL_PROTOCOLS:
            return "all traffic"

        if self.protocol in ICMP_PROTOCOLS:
            if self.from_port is None or self.from_port == -1:
                return f"{self.protocol} all types"
            if self.to_port is None or self.to_port == -1:
                return f"{self.protocol} type {self.from_port}"
            return f"{self.protocol} type {self.from_port} code {self.to_port}"

        if self.protocol in _RANGED_PROTOCOLS:
            if self.from_port is None and self.to_port is None:
                return f"{self.protocol} all ports"
            if self.from_port == self.to_port:
                return f"{self.protocol} {self.from_port}"
            return f"{self.protocol} {self.from_port}-{self.to_port}"

        return f"protocol {self.protocol}"


@dataclass(frozen=True, slots=True)
class SecurityGroupRule:
    """One entry of a security group's ipPermissions or ipPermissionsEgress, normalised."""

    rule_index: int
    """Position in ipPermissions or ipPermissionsEgress."""

    protocol: str
    """Normalised protocol, see normalise_protocol."""

    from_port: int | None
    """First TCP or UDP port, or the ICMP type. None for protocols whose range AWS ignores."""

    to_port: int | None
    """Last TCP or UDP port, or the ICMP code. None for protocols whose range AWS ignores."""

    cidrs: tuple[str, ...] = ()
    """IPv4 and IPv6 CIDRs of the peers, canonical and without duplicates."""

    prefix_list_ids: tuple[str, ...] = ()
    """Managed prefix lists of the peers."""

    group_ids: tuple[str, ...] = ()
    """Security groups of the peers (userIdGroupPairs)."""

    def covers_port(self, protocol: str, port: int) -> bool:
        """Return whether the rule applies to `port` of the normalised `protocol` (tcp, udp or 132)."""
        return rule_covers_port(self.protocol, self.from_port, self.to_port, protocol, port)

    def world_cidrs(self) -> tuple[str, ...]:
        """Return the rule's CIDRs that are the whole address space (0.0.0.0/0 or ::/0)."""
        return tuple(cidr for cidr in self.cidrs if is_world_cidr(cidr))


IngressRule: TypeAlias = SecurityGroupRule
"""Name that rules use for the entries that sg_ingress_rules returns."""


@dataclass(frozen=True, slots=True)
class NetworkAclEntry:
    """One entry of a network ACL, normalised."""

    rule_number: int
    """Position in the evaluation order, lowest first. 32767 is the implicit deny."""

    protocol: str
    """Normalised protocol, see normalise_protocol."""

    rule_action: str
    """Either "allow" or "deny"."""

    egress: bool
    """True for outbound entries and False for inbound ones."""

    cidr: str
    """IPv4 or IPv6 CIDR of the peers, canonical."""

    from_port: int | None = None
    """First TCP or UDP port. None for every other protocol, whose traffic the entry matches on all ports."""

    to_port: int | None = None
    """Last TCP or UDP port, None as for from_port."""

    def covers_port(self, protocol: str, port: int) -> bool:
        """Return whether the entry applies to `port` of the normalised `protocol` (tcp, udp or 132)."""
        return rule_covers_port(self.protocol, self.from_port, self.to_port, protocol, port)


def sg_ingress_rules(configuration: Mapping[str, Any]) -> list[SecurityGroupRule]:
    """Parse the ingress rules of a security group, from AWS Config or boto3 output.

    Raises ValueError naming the group and the rule when a rule is malformed.
    """
    return _parse_sg_rules(configuration, "ipPermissions", INGRESS)


def sg_egress_rules(configuration: Mapping[str, Any]) -> list[SecurityGroupRule]:
    """Parse the egress rules of a security group, from AWS Config or boto3 output.

    Raises ValueError naming the group and the rule when a rule is malformed.
    """
    return _parse_sg_rules(configuration, "ipPermissionsEgress", EGRESS)


def sg_world_exposures(
    configuration: Mapping[str, Any],
    *,
    ports: Iterable[int] | None = None,
    protocol: str = "tcp",
) -> list[Exposure]:
    """Find the ingress rules open to 0.0.0.0/0 or ::/0 that reach any of `ports`.

    `protocol` is "tcp", "udp" or "sctp", by name or number, and rules on all protocols
    match it too. With ports=None the result contains every world-open ingress rule of any
    protocol, including ICMP, and `protocol` is ignored. The result has one exposure per
    rule and world CIDR, in rule order, and each exposure carries the rule's whole range.
    """
    rules = sg_ingress_rules(configuration)

    if ports is not None:
        requested_protocol = validate_port_protocol(protocol)
        requested_ports = validate_ports(ports)
        rules = [
            rule
            for rule in rules
            if any(rule.covers_port(requested_protocol, port) for port in requested_ports)
        ]

    return [_exposure(rule, cidr, INGRESS) for rule in rules for cidr in rule.world_cidrs()]


def sg_allows_all_traffic(configuration: Mapping[str, Any], *, direction: str = INGRESS) -> list[Exposure]:
    """Find the rules that allow every protocol (-1) from or to 0.0.0.0/0 or ::/0.

    `direction` is "ingress" or "egress". Note that AWS gives every new VPC security group an
    egress rule of this kind, so egress results are common and often intended.
    """
    if direction == INGRESS:
        rules = sg_ingress_rules(configuration)
    elif direction == EGRESS:
        rules = sg_egress_rules(configuration)
    else:
        raise ValueError(f"invalid direction {direction!r}: expected 'ingress' or 'egress'")

    return [
        _exposure(rule, cidr, direction)
        for rule in rules
        if rule.protocol == ALL_PROTOCOLS
        for cidr in rule.world_cidrs()
    ]


def nacl_entries(configuration: Mapping[str, Any]) -> list[NetworkAclEntry]:
    """Parse the entries of a network ACL in evaluation order (ascending rule number).

    Both directions are returned, and each entry's `egress` distinguishes them. Raises
    ValueError naming the ACL and the rule number when an entry is malformed.
    """
    acl_id = _resource_id(configuration, "networkAclId", "network ACL")
    raw_entries = _get_list(configuration, "entries", f"network ACL {acl_id}")

    entries = [_parse_nacl_entry(raw, acl_id, position) for position, raw in enumerate(raw_entries)]
    entries.sort(key=lambda entry: entry.rule_number)
    return entries


def nacl_world_allows(
    configuration: Mapping[str, Any],
    *,
    ports: Iterable[int],
    protocol: str = "tcp",
    egress: bool = False,
) -> list[Exposure]:
    """Find the ports among `ports` that the network ACL allows from 0.0.0.0/0 or ::/0.

    Entries of one direction are evaluated in ascending rule number and the first match
    wins, as AWS does. A port counts as exposed when an allow entry for the whole address
    space is reached by part of that space, so a deny for a few addresses does not hide
    it but a deny for all of them does. Each exposure names one port, the allowing rule
    number and its CIDR. IPv4 and IPv6 are evaluated separately.
    """
    requested_protocol = validate_port_protocol(protocol)
    requested_ports = validate_ports(ports)
    direction = EGRESS if egress else INGRESS
    entries = [entry for entry in nacl_entries(configuration) if entry.egress == egress]

    exposures: list[Exposure] = []
    for port in requested_ports:
        for version in (4, 6):
            allowing = _first_world_allow(entries, requested_protocol, port, version)
            if allowing is None:
                continue
            exposures.append(
                Exposure(
                    protocol=requested_protocol,
                    from_port=port,
                    to_port=port,
                    source=allowing.cidr,
                    rule_index=allowing.rule_number,
                    direction=direction,
                )
            )
    return exposures


def _first_world_allow(
    entries: Sequence[NetworkAclEntry], protocol: str, port: int, version: int
) -> NetworkAclEntry | None:
    """Return the world-wide allow entry that part of the address space reaches first, if any."""
    # `unmatched` contains the addresses that no earlier entry for this port has matched.
    # Once it is empty, later entries can no longer decide anything.
    unmatched: list[IPNetwork] = address_space(version)

    for entry in entries:
        network = parse_cidr(entry.cidr)
        if network.version != version or not entry.covers_port(protocol, port):
            continue

        if entry.rule_action == "allow" and network.prefixlen == 0:
            return entry

        unmatched = subtract_network(unmatched, network)
        if not unmatched:
            return None

    # Addresses that match no entry meet the implicit deny, even if the input leaves it out.
    # NOTE: allow entries on narrower CIDRs that together span the internet (0.0.0.0/1 and
    # 128.0.0.0/1) are not reported, because no single entry is open to the world.
    return None


def _parse_sg_rules(configuration: Mapping[str, Any], key: str, direction: str) -> list[SecurityGroupRule]:
    group_id = _resource_id(configuration, "groupId", "security group")
    raw_rules = _get_list(configuration, key, f"security group {group_id}")

    return [
        _parse_sg_rule(raw, f"security group {group_id} {direction} rule {index}", index)
        for index, raw in enumerate(raw_rules)
    ]


def _parse_sg_rule(raw: Any, context: str, index: int) -> SecurityGroupRule:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{context}: expected an object, got {type(raw).__name__}")

    protocol = _protocol(raw, "ipProtocol", context)
    from_port = _optional_int(_get(raw, "fromPort"), "fromPort", context)
    to_port = _optional_int(_get(raw, "toPort"), "toPort", context)
    if protocol not in _RANGED_PROTOCOLS and protocol not in ICMP_PROTOCOLS:
        # AWS stores -1 or nothing here and applies the rule to every port anyway.
        from_port = to_port = None

    # The AWS Config shape lists IPv4 CIDRs twice, as plain strings in ipRanges and as
    # objects in ipv4Ranges, while boto3 puts objects in IpRanges. Both forms are read and
    # duplicates dropped.
    cidrs: list[str] = []
    cidrs += _cidrs(_get_list(raw, "ipRanges", context), "cidrIp", context)
    cidrs += _cidrs(_get_list(raw, "ipv4Ranges", context), "cidrIp", context)
    cidrs += _cidrs(_get_list(raw, "ipv6Ranges", context), "cidrIpv6", context)

    prefix_list_ids = [
        _required_str(item, "prefixListId", context) for item in _get_list(raw, "prefixListIds", context)
    ]
    group_ids = [_peer_group_id(item, context) for item in _get_list(raw, "userIdGroupPairs", context)]

    return SecurityGroupRule(
        rule_index=index,
        protocol=protocol,
        from_port=from_port,
        to_port=to_port,
        cidrs=tuple(dict.fromkeys(cidrs)),
        prefix_list_ids=tuple(prefix_list_ids),
        group_ids=tuple(group_ids),
    )


def _parse_nacl_entry(raw: Any, acl_id: str, position: int) -> NetworkAclEntry:
    context = f"network ACL {acl_id} entry {position}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{context}: expected an object, got {type(raw).__name__}")

    rule_number = _optional_int(_get(raw, "ruleNumber"), "ruleNumber", context)
    if rule_number is None:
        raise ValueError(f"{context}: ruleNumber is missing")
    context = f"network ACL {acl_id} rule {rule_number}"

    protocol = _protocol(raw, "protocol", context)

    rule_action = _get(raw, "ruleAction")
    if not isinstance(rule_action, str) or rule_action.lower() not in ("allow", "deny"):
        raise ValueError(f"{context}: invalid ruleAction {rule_action!r}, expected 'allow' or 'deny'")

    egress = _get(raw, "egress")
    if not isinstance(egress, bool):
        raise ValueError(f"{context}: invalid egress {egress!r}, expected true or false")

    ipv4_block = _get(raw, "cidrBlock")
    ipv6_block = _get(raw, "ipv6CidrBlock")
    if (ipv4_block is None) == (ipv6_block is None):
        raise ValueError(f"{context}: expected exactly one of cidrBlock and ipv6CidrBlock")
    cidr = _canonical_cidr(ipv4_block if ipv4_block is not None else ipv6_block, context)

    from_port: int | None = None
    to_port: int | None = None
    port_range = _get(raw, "portRange")
    if protocol in _RANGED_PROTOCOLS and port_range is not None:
        if not isinstance(port_range, Mapping):
            raise ValueError(f"{context}: invalid portRange {port_range!r}, expected an object")
        from_port = _optional_int(_get(port_range, "from"), "portRange.from", context)
        to_port = _optional_int(_get(port_range, "to"), "portRange.to", context)

    return NetworkAclEntry(
        rule_number=rule_number,
        protocol=protocol,
        rule_action=rule_action.lower(),
        egress=egress,
        cidr=cidr,
        from_port=from_port,
        to_port=to_port,
    )


def _exposure(rule: SecurityGroupRule, cidr: str, direction: str) -> Exposure:
    return Exposure(
        protocol=rule.protocol,
        from_port=rule.from_port,
        to_port=rule.to_port,
        source=cidr,
        rule_index=rule.rule_index,
        direction=direction,
    )


def _get(item: Mapping[str, Any], key: str) -> Any:
    """Return the value under the camelCase `key` or its PascalCase form, or None."""
    value = item.get(key)
    if value is None:
        value = item.get(key[0].upper() + key[1:])
    return value


def _get_list(item: Mapping[str, Any], key: str, context: str) -> list[Any]:
    value = _get(item, key)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError(f"{context}: invalid {key} {value!r}, expected a list")
    return list(value)


def _resource_id(configuration: Mapping[str, Any], key: str, kind: str) -> str:
    if not isinstance(configuration, Mapping):
        raise ValueError(
            f"invalid {kind} configuration: expected an object, got {type(configuration).__name__}"
        )

    # The id only labels error messages, so a missing one is not an error by itself.
    resource_id = _get(configuration, key)
    return str(resource_id) if resource_id is not None else "<no id>"


def _protocol(raw: Mapping[str, Any], key: str, context: str) -> str:
    value = _get(raw, key)
    if value is None:
        raise ValueError(f"{context}: {key} is missing")
    try:
        return normalise_protocol(value)
    except ValueError as error:
        raise ValueError(f"{context}: {error}") from None


def _optional_int(value: Any, key: str, context: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    message = f"{context}: invalid {key} {value!r}, expected an integer"
    if not isinstance(value, str):
        raise ValueError(message)
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(message) from None


def _required_str(item: Any, key: str, context: str) -> str:
    value = _get(item, key) if isinstance(item, Mapping) else None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{context}: invalid entry {item!r}, expected an object with {key}")
    return value


def _peer_group_id(item: Any, context: str) -> str:
    # Pairs from VPC groups always carry groupId, so the name is only a fallback for other input.
    if isinstance(item, Mapping) and _get(item, "groupId") is None and _get(item, "groupName") is not None:
        return _required_str(item, "groupName", context)
    return _required_str(item, "groupId", context)


def _cidrs(items: Iterable[Any], key: str, context: str) -> list[str]:
    """Read CIDRs given as plain strings or as objects with `key` (cidrIp or cidrIpv6)."""
    cidrs: list[str] = []
    for item in items:
        value = item if isinstance(item, str) else _required_str(item, key, context)
        cidrs.append(_canonical_cidr(value, context))
    return cidrs


def _canonical_cidr(value: Any, context: str) -> str:
    try:
        return str(parse_cidr(value))
    except ValueError as error:
        raise ValueError(f"{context}: {error}") from None
