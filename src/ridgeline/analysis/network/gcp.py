"""Internet exposure of GCP VPC firewall rules.

Rules call these pure functions on firewall rules in the Compute Engine API shape, which is
also the ``resource.data`` of a Cloud Asset Inventory export (camelCase keys). The snake_case
keys that some exports use (``source_ranges``, ``ip_protocol``) are read too. Malformed input
raises ValueError naming the rule, because guessing would hide or invent an exposure.

Semantics follow the Compute Engine reference for Firewall and the VPC firewall rules overview.
An ``allowed`` entry without ``ports`` covers every port of its protocol, and protocol "all"
covers every protocol. A disabled rule matches nothing. Lower priority numbers are evaluated
first, and a deny rule wins over an allow rule of the same priority. Only tcp, udp and sctp
entries carry ports. Hierarchical and network firewall policies are not part of this analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ridgeline.analysis.network.ports import (
    ALL_PROTOCOLS,
    MAX_PORT,
    MIN_PORT,
    PORT_PROTOCOLS,
    IPNetwork,
    address_space,
    normalise_protocol,
    parse_cidr,
    port_in_range,
    protocol_covers,
    subtract_network,
    validate_port_protocol,
    validate_ports,
)

__all__ = [
    "Exposure",
    "FirewallEntry",
    "FirewallRule",
    "PeerRule",
    "RuleVerdict",
    "firewall_internet_exposures",
    "parse_firewall_rule",
    "rule_exposures_after_denies",
    "rule_internet_exposures",
]

INGRESS = "ingress"
EGRESS = "egress"
ALLOW = "allow"
DENY = "deny"

DEFAULT_PRIORITY = 1000
"""Priority that the Compute Engine API gives a rule created without one."""

# Compute Engine gives an ingress rule created without any source the range 0.0.0.0/0, so an
# export that omits every source field is read the same way rather than as "no source".
_IMPLIED_SOURCE_RANGES = ("0.0.0.0/0",)

# Fields that parse_firewall_rule reads to decide what a rule matches, with their snake_case spelling.
_MATCH_FIELDS = {
    "network": "network",
    "direction": "direction",
    "priority": "priority",
    "disabled": "disabled",
    "allowed": "allowed",
    "denied": "denied",
    "sourceRanges": "source_ranges",
    "sourceTags": "source_tags",
    "sourceServiceAccounts": "source_service_accounts",
    "targetTags": "target_tags",
    "targetServiceAccounts": "target_service_accounts",
}

WHOLE_RECORD = "*"
"""Item of PeerRule.unreadable that marks every field of the record as unreadable."""


@dataclass(frozen=True, slots=True)
class FirewallEntry:
    """One item of a rule's ``allowed`` or ``denied`` list, normalised."""

    protocol: str
    """Normalised protocol, see normalise_protocol."""

    port_ranges: tuple[tuple[int, int], ...] | None
    """Inclusive (first, last) port ranges, or None when the entry covers every port."""

    def covers_port(self, protocol: str, port: int) -> bool:
        """Return whether the entry applies to `port` of the normalised `protocol`."""
        if not protocol_covers(self.protocol, protocol):
            return False
        if self.port_ranges is None:
            return True
        return any(port_in_range(port, first, last) for first, last in self.port_ranges)

    def covers_entry(self, other: FirewallEntry) -> bool:
        """Return whether every port and protocol that `other` matches is matched by this entry too."""
        if not protocol_covers(self.protocol, other.protocol):
            return False
        if self.port_ranges is None:
            return True
        if other.port_ranges is None:
            # `other` matches every port, which a list of ranges covers only when it spans 0-65535.
            return _ranges_cover(self.port_ranges, [(MIN_PORT, MAX_PORT)])
        return _ranges_cover(self.port_ranges, other.port_ranges)


# The widest reading of a deny rule that cannot be parsed: every protocol and port from every address.
_ANY_TRAFFIC = FirewallEntry(protocol=ALL_PROTOCOLS, port_ranges=None)
_WORLD_RANGES = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True, slots=True)
class FirewallRule:
    """One VPC firewall rule, normalised."""

    name: str
    """Rule name, or "<no name>" when the input has none."""

    network: str | None
    """Network path as given (a URL or projects/.../networks/NAME), or None."""

    direction: str
    """Either "ingress" or "egress"."""

    action: str
    """Either "allow" (an ``allowed`` list) or "deny" (a ``denied`` list)."""

    priority: int
    """Evaluation order, lowest first, from 0 to 65535."""

    disabled: bool
    """True when the rule is disabled and so matches no traffic."""

    entries: tuple[FirewallEntry, ...]
    """Protocol and port entries of the ``allowed`` or ``denied`` list."""

    source_ranges: tuple[str, ...] = ()
    """Canonical source CIDRs of an ingress rule."""

    source_tags: tuple[str, ...] = ()
    """Network tags of the instances whose traffic an ingress rule matches."""

    source_service_accounts: tuple[str, ...] = ()
    """Service accounts of the instances whose traffic an ingress rule matches."""

    target_tags: tuple[str, ...] = ()
    """Network tags of the instances that the rule applies to. Empty with no target service accounts means all."""

    target_service_accounts: tuple[str, ...] = ()
    """Service accounts of the instances that the rule applies to."""

    def world_cidrs(self) -> tuple[str, ...]:
        """Return the source ranges that are the whole IPv4 or IPv6 address space."""
        return tuple(cidr for cidr in self.source_ranges if parse_cidr(cidr).prefixlen == 0)

    def applies_to_all_targets_of(self, other: FirewallRule) -> bool:
        """Return whether this rule applies to every instance that `other` applies to.

        A rule without targets applies to every instance of the network. A tag or service
        account list covers another list of the same kind when it contains all of its items,
        because an instance matches a list when it has any one of them.
        """
        if not self.target_tags and not self.target_service_accounts:
            return True
        if other.target_tags:
            return set(other.target_tags) <= set(self.target_tags)
        if other.target_service_accounts:
            return set(other.target_service_accounts) <= set(self.target_service_accounts)
        return False


@dataclass(frozen=True, slots=True)
class Exposure:
    """One port range of an allowed entry that a firewall rule opens to the internet."""

    rule_name: str
    """Name of the allowing rule."""

    network: str | None
    """Network of the allowing rule as given, or None."""

    priority: int
    """Priority of the allowing rule."""

    protocol: str
    """Normalised protocol of the allowed entry: "tcp", "udp", "all", a protocol number, and so on."""

    from_port: int | None
    """First port of the allowed range, or None when the entry covers every port."""

    to_port: int | None
    """Last port of the allowed range, or None as for from_port."""

    source: str
    """Internet CIDR that the rule admits: 0.0.0.0/0 or ::/0."""

    target_tags: tuple[str, ...] = ()
    """Target tags of the allowing rule. Empty with no target service accounts means every instance."""

    target_service_accounts: tuple[str, ...] = ()
    """Target service accounts of the allowing rule."""

    def describe(self) -> str:
        """Return a short text such as "tcp 22 from 0.0.0.0/0 (rule allow-ssh)"."""
        if self.protocol == ALL_PROTOCOLS:
            traffic = "all traffic"
        elif self.from_port is None or self.to_port is None:
            traffic = f"{self.protocol} all ports"
        elif self.from_port == self.to_port:
            traffic = f"{self.protocol} {self.from_port}"
        else:
            traffic = f"{self.protocol} {self.from_port}-{self.to_port}"
        return f"{traffic} from {self.source} (rule {self.rule_name})"


@dataclass(frozen=True, slots=True)
class PeerRule:
    """Another firewall rule of the project as collected, with the fields that could not be read."""

    data: Mapping[str, Any] | None
    """The rule in the Compute Engine API shape, or None when its data is missing."""

    unreadable: frozenset[str] = frozenset()
    """Top-level fields of `data` that could not be collected, so their absence is not the API default.
    WHOLE_RECORD marks them all."""

    label: str = ""
    """Name that messages use when `data` gives none, such as the asset name."""


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    """Result of rule_exposures_after_denies: what one rule opens once the deny rules of its network apply."""

    exposed: bool | None
    """True when the rule opens something, False when it opens nothing, and None when peer rules that
    could not be read might deny everything it opens."""

    exposures: tuple[Exposure, ...] = ()
    """Exposures left open. With exposed True they stay open whatever the unreadable peers contain, and
    with exposed None only if those peers deny none of them."""

    unresolved: tuple[str, ...] = ()
    """With exposed None, one message per unreadable peer that could deny the exposures."""


def parse_firewall_rule(raw: Mapping[str, Any]) -> FirewallRule:
    """Parse one firewall rule in the Compute Engine API or Cloud Asset Inventory shape.

    Missing optional fields take the API defaults: direction INGRESS, priority 1000, enabled.
    Raises ValueError naming the rule when a field is malformed.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"invalid firewall rule: expected an object, got {type(raw).__name__}")

    name = _get(raw, "name", "name")
    context = f"firewall rule {name if isinstance(name, str) and name else '<no name>'}"

    direction = _direction(raw, context)
    priority = _priority(raw, context)
    disabled = _get(raw, "disabled", "disabled")
    if disabled is None:
        disabled = False
    if not isinstance(disabled, bool):
        raise ValueError(f"{context}: invalid disabled {disabled!r}, expected true or false")

    allowed = _get_list(raw, "allowed", "allowed", context)
    denied = _get_list(raw, "denied", "denied", context)
    if bool(allowed) == bool(denied):
        raise ValueError(f"{context}: expected exactly one non-empty list of allowed and denied")
    action = ALLOW if allowed else DENY
    entries = tuple(
        _parse_entry(item, f"{context} {action} entry {index}") for index, item in enumerate(allowed or denied)
    )

    source_ranges, source_tags, source_service_accounts = _sources(raw, direction, context)

    network = _get(raw, "network", "network")
    return FirewallRule(
        name=context.removeprefix("firewall rule "),
        network=network if isinstance(network, str) and network else None,
        direction=direction,
        action=action,
        priority=priority,
        disabled=disabled,
        entries=entries,
        source_ranges=source_ranges,
        source_tags=source_tags,
        source_service_accounts=source_service_accounts,
        target_tags=_get_strings(raw, "targetTags", "target_tags", context),
        target_service_accounts=_get_strings(raw, "targetServiceAccounts", "target_service_accounts", context),
    )


def rule_internet_exposures(
    rule: Mapping[str, Any], ports: Iterable[int] | None = None, protocol: str = "tcp"
) -> list[Exposure]:
    """Find what one rule, on its own, opens to 0.0.0.0/0 or ::/0.

    Disabled, egress and deny rules open nothing, and neither do rules whose only sources are
    source tags or service accounts, since those match traffic from instances of the network.
    With ports=None every allowed entry counts and `protocol` is ignored. Otherwise an entry
    counts when it covers one of `ports` of `protocol` ("tcp", "udp" or "sctp"). Higher-priority
    deny rules are not considered, so use firewall_internet_exposures for a network's rules.
    """
    parsed = parse_firewall_rule(rule)
    requested = _requested(ports, protocol)
    return [
        exposure
        for entry in _matching_entries(parsed, requested)
        for cidr in parsed.world_cidrs()
        for exposure in _exposures(parsed, entry, cidr, requested)
    ]


def firewall_internet_exposures(
    rules: Sequence[Mapping[str, Any]],
    ports: Iterable[int] | None = None,
    protocol: str = "tcp",
    network: str | None = None,
) -> list[Exposure]:
    """Find what the ingress rules open to 0.0.0.0/0 or ::/0, with deny rules taken into account.

    Rules are grouped by network, and a deny rule affects only allow rules of its own network.
    `network` keeps only one network, given as a name ("default"), a projects/... path or a URL.
    An allowed entry is not reported when deny rules of the same or a lower priority number,
    which apply to all of its target instances, deny its traffic from the whole address space
    of that IP version. With ports given, this is decided for each port. With ports=None a deny
    rule hides an entry only when one of its entries covers all of the allowed entry's ports.
    The result is sorted by network, priority and rule name.
    """
    requested = _requested(ports, protocol)
    parsed = [parse_firewall_rule(rule) for rule in rules]
    if network is not None:
        parsed = [rule for rule in parsed if rule.network is not None and _same_network(rule.network, network)]

    enabled_ingress = [rule for rule in parsed if not rule.disabled and rule.direction == INGRESS]
    enabled_ingress.sort(key=lambda rule: (rule.network or "", rule.priority, rule.name))

    exposures: list[Exposure] = []
    for rule in enabled_ingress:
        if rule.action != ALLOW:
            continue
        denies = [other for other in enabled_ingress if _can_shadow(other, rule)]
        exposures.extend(_exposures_left_by(rule, denies, requested))
    return exposures


def rule_exposures_after_denies(
    rule: Mapping[str, Any],
    peers: Iterable[Mapping[str, Any] | PeerRule | None],
    ports: Iterable[int] | None = None,
    protocol: str = "tcp",
) -> RuleVerdict:
    """Decide what one firewall rule opens to 0.0.0.0/0 or ::/0 once the deny rules among `peers` apply.

    `peers` are the other firewall rules of the rule's project. As in firewall_internet_exposures, a
    deny rule hides traffic only when it is in the same network, has the same or a lower priority
    number, and applies to all of the rule's targets. Network references match whatever their form
    (URL of any API version, projects/... path). `ports` and `protocol` work as in
    rule_internet_exposures. A peer that cannot be parsed, that has no data or unreadable fields, or
    whose network is unknown, is read as the widest deny rule that its readable fields allow. The
    verdict is None only when that reading would hide everything that the other peers leave open.
    Raises ValueError naming the rule when `rule` itself is malformed.
    """
    requested = _requested(ports, protocol)
    parsed = parse_firewall_rule(rule)
    if not _exposures_left_by(parsed, [], requested):
        return RuleVerdict(exposed=False)

    known: list[FirewallRule] = []
    doubtful: list[tuple[FirewallRule, str]] = []
    for peer in peers:
        reading = _read_peer(peer, parsed)
        if reading is None or not _may_shadow(reading[0], parsed):
            continue
        deny, doubt = reading
        if doubt is None:
            known.append(deny)
        else:
            doubtful.append((deny, doubt))

    exposures = _exposures_left_by(parsed, known, requested)
    if not exposures or not doubtful:
        return RuleVerdict(exposed=bool(exposures), exposures=tuple(exposures))

    # Deny rules only ever remove traffic, so what the widest readings leave open is open for certain.
    certain = _exposures_left_by(parsed, known + [deny for deny, _ in doubtful], requested)
    if certain:
        return RuleVerdict(exposed=True, exposures=tuple(certain))
    return RuleVerdict(exposed=None, exposures=tuple(exposures), unresolved=tuple(doubt for _, doubt in doubtful))


def _exposures_left_by(
    rule: FirewallRule, denies: Sequence[FirewallRule], requested: tuple[str, tuple[int, ...]] | None
) -> list[Exposure]:
    """Build the exposures of allow `rule` that the deny rules, all evaluated before it, leave open."""
    exposures: list[Exposure] = []
    for entry in _matching_entries(rule, requested):
        for cidr in rule.world_cidrs():
            remaining = _unshadowed(entry, requested, parse_cidr(cidr).version, denies)
            if remaining is True:
                exposures.extend(_exposures(rule, entry, cidr, None))
            elif remaining:
                exposures.extend(_exposures(rule, entry, cidr, remaining))
    return exposures


def _requested(ports: Iterable[int] | None, protocol: str) -> tuple[str, tuple[int, ...]] | None:
    if ports is None:
        return None
    return validate_port_protocol(protocol), validate_ports(ports)


def _matching_entries(
    rule: FirewallRule, requested: tuple[str, tuple[int, ...]] | None
) -> list[FirewallEntry]:
    if rule.disabled or rule.direction != INGRESS or rule.action != ALLOW:
        return []
    if requested is None:
        return list(rule.entries)
    protocol, ports = requested
    return [entry for entry in rule.entries if any(entry.covers_port(protocol, port) for port in ports)]


def _can_shadow(deny: FirewallRule, allow: FirewallRule) -> bool:
    """Return whether `deny` is evaluated no later than `allow` on all of its instances."""
    return (
        deny.action == DENY
        and deny.network == allow.network
        # At equal priority the deny rule wins, so it is evaluated first.
        and deny.priority <= allow.priority
        and deny.applies_to_all_targets_of(allow)
    )


def _may_shadow(deny: FirewallRule, allow: FirewallRule) -> bool:
    """Return whether `deny` is an enabled ingress deny rule evaluated no later than `allow` on all of its
    instances. The caller has already placed both rules in the same network."""
    # NOTE: deny rules that each apply to part of the targets (tag a and tag b of an allow rule on
    # [a, b]) are not combined, so such an allow rule is still reported.
    return (
        deny.action == DENY
        and not deny.disabled
        and deny.direction == INGRESS
        and deny.priority <= allow.priority
        and deny.applies_to_all_targets_of(allow)
    )


def _read_peer(peer: Mapping[str, Any] | PeerRule | None, rule: FirewallRule) -> tuple[FirewallRule, str | None] | None:
    """Read a peer of `rule` as a firewall rule, with a reason when the reading is only its widest case.

    Return None when the peer's readable fields show that it cannot deny any traffic of `rule`.
    """
    record = peer if isinstance(peer, PeerRule) else PeerRule(data=peer)
    data = record.data if isinstance(record.data, Mapping) else None
    unreadable = record.unreadable if data is not None else frozenset({WHOLE_RECORD})

    def readable(*fields: str) -> bool:
        return not unreadable or (
            WHOLE_RECORD not in unreadable
            and not any(field in unreadable or _MATCH_FIELDS[field] in unreadable for field in fields)
        )

    raw_name = _get(data, "name", "name") if data is not None else None
    name = raw_name if isinstance(raw_name, str) and raw_name else record.label or "<no name>"
    if data is not None and readable("allowed", "denied") and _is_allow(data):
        # Allow rules never hide traffic, whatever else is wrong with them.
        return None

    raw_network = _get(data, "network", "network") if data is not None and readable("network") else None
    network = raw_network if isinstance(raw_network, str) and raw_network else None
    same_network = _same_network_as(network, rule.network)
    if same_network is False:
        return None

    if data is not None and readable(*_MATCH_FIELDS):
        try:
            parsed = parse_firewall_rule(data)
        except ValueError as error:
            problem = str(error)
        else:
            if same_network:
                return parsed, None
            if rule.network is None:
                return parsed, f"firewall rule {rule.name} names no network, so deny rule {name} may apply to it"
            return parsed, f"deny rule {name} names no network, so it may apply to firewall rule {rule.name}"
    elif record.data is not None and data is None:
        problem = f"firewall rule {name}: invalid data, expected an object, got {type(record.data).__name__}"
    elif data is None:
        problem = f"firewall rule {name}: its data is missing"
    elif WHOLE_RECORD in unreadable:
        problem = f"firewall rule {name}: its data could not be read"
    else:
        fields = sorted(field for field in unreadable if field in _MATCH_FIELDS or field in _MATCH_FIELDS.values())
        problem = f"firewall rule {name}: {', '.join(fields)} could not be read"

    widest = _widest_deny(data, readable, name)
    return None if widest is None else (widest, problem)


def _is_allow(raw: Mapping[str, Any]) -> bool:
    allowed = _get(raw, "allowed", "allowed")
    denied = _get(raw, "denied", "denied")
    return isinstance(allowed, list | tuple) and bool(allowed) and not denied


def _same_network_as(network: str | None, rule_network: str | None) -> bool | None:
    """Compare two network references, or return None when either is unknown."""
    if network is None or rule_network is None:
        return None
    if network == rule_network:
        return True
    return _same_network(network, rule_network) or _same_network(rule_network, network)


def _widest_deny(
    raw: Mapping[str, Any] | None, readable: Callable[..., bool], name: str
) -> FirewallRule | None:
    """Read a peer that cannot be parsed as the widest ingress deny rule that its readable fields allow.

    A field that is unreadable or invalid takes the value under which the rule hides the most traffic:
    priority 0, every protocol, every internet address, every target. Return None when a readable
    field shows that the rule hides nothing (egress or disabled).
    """
    context = f"firewall rule {name}"
    values: Mapping[str, Any] = raw if raw is not None else {}

    if readable("direction"):
        try:
            if _direction(values, context) == EGRESS:
                return None
        except ValueError:
            pass
    if readable("disabled") and _get(values, "disabled", "disabled") is True:
        return None

    priority = 0
    if readable("priority"):
        try:
            priority = _priority(values, context)
        except ValueError:
            pass

    entries: tuple[FirewallEntry, ...] = (_ANY_TRAFFIC,)
    denied = _get(values, "denied", "denied") if readable("denied") else None
    if isinstance(denied, list | tuple) and denied:
        entries = tuple(_widest_entry(item, context) for item in denied)

    sources: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] = (_WORLD_RANGES, (), ())
    if readable("sourceRanges", "sourceTags", "sourceServiceAccounts"):
        try:
            sources = _sources(values, INGRESS, context)
        except ValueError:
            pass

    targets: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    if readable("targetTags", "targetServiceAccounts"):
        try:
            targets = (
                _get_strings(values, "targetTags", "target_tags", context),
                _get_strings(values, "targetServiceAccounts", "target_service_accounts", context),
            )
        except ValueError:
            pass

    return FirewallRule(
        name=name,
        network=None,
        direction=INGRESS,
        action=DENY,
        priority=priority,
        disabled=False,
        entries=entries,
        source_ranges=sources[0],
        source_tags=sources[1],
        source_service_accounts=sources[2],
        target_tags=targets[0],
        target_service_accounts=targets[1],
    )


def _widest_entry(raw: Any, context: str) -> FirewallEntry:
    try:
        return _parse_entry(raw, context)
    except ValueError:
        return _ANY_TRAFFIC


def _unshadowed(
    entry: FirewallEntry,
    requested: tuple[str, tuple[int, ...]] | None,
    version: int,
    denies: Sequence[FirewallRule],
) -> tuple[str, tuple[int, ...]] | bool:
    """Return what deny rules leave open of the allowed entry to internet addresses of `version`.

    With requested=None the result is True or False for the whole entry. Otherwise it is the
    request narrowed to the ports that are still reachable, or False when none is.
    """
    if requested is None:
        covering = [deny for deny in denies if any(item.covers_entry(entry) for item in deny.entries)]
        return not _ranges_span_address_space(covering, version)

    protocol, ports = requested
    open_ports: list[int] = []
    for port in ports:
        if not entry.covers_port(protocol, port):
            continue
        covering = [deny for deny in denies if any(item.covers_port(protocol, port) for item in deny.entries)]
        if not _ranges_span_address_space(covering, version):
            open_ports.append(port)
    return (protocol, tuple(open_ports)) if open_ports else False


def _ranges_span_address_space(rules: Sequence[FirewallRule], version: int) -> bool:
    # Sources given as tags or service accounts match only instance traffic, never the internet.
    unmatched: list[IPNetwork] = address_space(version)
    for rule in rules:
        for cidr in rule.source_ranges:
            unmatched = subtract_network(unmatched, parse_cidr(cidr))
            if not unmatched:
                return True
    return False


def _ranges_cover(ranges: Sequence[tuple[int, int]], required: Sequence[tuple[int, int]]) -> bool:
    """Return whether the union of `ranges` contains every port of `required`."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return all(any(lo <= first and last <= hi for lo, hi in merged) for first, last in required)


def _exposures(
    rule: FirewallRule, entry: FirewallEntry, cidr: str, requested: tuple[str, tuple[int, ...]] | None
) -> list[Exposure]:
    """Build one exposure per port range of the entry, or per range that contains a requested port."""
    if entry.port_ranges is None:
        ranges: list[tuple[int | None, int | None]] = [(None, None)]
    elif requested is None:
        ranges = list(entry.port_ranges)
    else:
        ports = requested[1]
        ranges = [(first, last) for first, last in entry.port_ranges if any(first <= port <= last for port in ports)]

    return [
        Exposure(
            rule_name=rule.name,
            network=rule.network,
            priority=rule.priority,
            protocol=entry.protocol,
            from_port=from_port,
            to_port=to_port,
            source=cidr,
            target_tags=rule.target_tags,
            target_service_accounts=rule.target_service_accounts,
        )
        for from_port, to_port in ranges
    ]


def _same_network(rule_network: str, requested: str) -> bool:
    """Compare network references given as a URL, a projects/... path or a bare name."""
    if "/" not in requested.strip("/"):
        return rule_network.rstrip("/").rsplit("/", 1)[-1] == requested.strip("/")
    return _network_path(rule_network) == _network_path(requested)


def _network_path(reference: str) -> str:
    index = reference.find("projects/")
    return (reference[index:] if index >= 0 else reference).rstrip("/")


def _parse_entry(raw: Any, context: str) -> FirewallEntry:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{context}: expected an object, got {type(raw).__name__}")

    value = _get(raw, "IPProtocol", "ip_protocol")
    if value is None:
        raise ValueError(f"{context}: IPProtocol is missing")
    try:
        protocol = normalise_protocol(value)
    except ValueError as error:
        raise ValueError(f"{context}: {error}") from None

    raw_ports = _get_list(raw, "ports", "ports", context)
    if not raw_ports or protocol not in PORT_PROTOCOLS:
        # The API applies ports only to tcp, udp and sctp, and no ports means every port.
        return FirewallEntry(protocol=protocol, port_ranges=None)
    return FirewallEntry(protocol=protocol, port_ranges=tuple(_port_range(item, context) for item in raw_ports))


def _port_range(value: Any, context: str) -> tuple[int, int]:
    message = f"{context}: invalid port {value!r}, expected a port such as \"22\" or a range such as \"1000-2000\""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError(message)

    first_text, separator, last_text = text.partition("-")
    try:
        first = int(first_text)
        last = int(last_text) if separator else first
    except ValueError:
        raise ValueError(message) from None
    if not MIN_PORT <= first <= last <= MAX_PORT:
        raise ValueError(message)
    return first, last


def _direction(raw: Mapping[str, Any], context: str) -> str:
    value = _get(raw, "direction", "direction")
    if value is None:
        return INGRESS
    if not isinstance(value, str) or value.lower() not in (INGRESS, EGRESS):
        raise ValueError(f"{context}: invalid direction {value!r}, expected INGRESS or EGRESS")
    return value.lower()


def _priority(raw: Mapping[str, Any], context: str) -> int:
    value = _get(raw, "priority", "priority")
    if value is None:
        return DEFAULT_PRIORITY
    message = f"{context}: invalid priority {value!r}, expected an integer from 0 to 65535"
    if isinstance(value, bool):
        raise ValueError(message)
    # Cloud Asset Inventory exports may carry numbers as strings.
    try:
        priority = int(value)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not 0 <= priority <= 65535:
        raise ValueError(message)
    return priority


def _sources(
    raw: Mapping[str, Any], direction: str, context: str
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Return the canonical source ranges, source tags and source service accounts of a rule."""
    raw_ranges = _get_list(raw, "sourceRanges", "source_ranges", context)
    source_ranges = tuple(dict.fromkeys(_canonical_cidr(cidr, context) for cidr in raw_ranges))
    source_tags = _get_strings(raw, "sourceTags", "source_tags", context)
    source_service_accounts = _get_strings(raw, "sourceServiceAccounts", "source_service_accounts", context)
    if direction == INGRESS and not (source_ranges or source_tags or source_service_accounts):
        source_ranges = _IMPLIED_SOURCE_RANGES
    return source_ranges, source_tags, source_service_accounts


def _get(raw: Mapping[str, Any], camel_key: str, snake_key: str) -> Any:
    value = raw.get(camel_key)
    if value is None:
        value = raw.get(snake_key)
    return value


def _get_list(raw: Mapping[str, Any], camel_key: str, snake_key: str, context: str) -> list[Any]:
    value = _get(raw, camel_key, snake_key)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValueError(f"{context}: invalid {camel_key} {value!r}, expected a list")
    return list(value)


def _get_strings(raw: Mapping[str, Any], camel_key: str, snake_key: str, context: str) -> tuple[str, ...]:
    values = _get_list(raw, camel_key, snake_key, context)
    for value in values:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{context}: invalid {camel_key} item {value!r}, expected a non-empty string")
    return tuple(values)


def _canonical_cidr(value: Any, context: str) -> str:
    try:
        return str(parse_cidr(value))
    except ValueError as error:
        raise ValueError(f"{context}: {error}") from None
