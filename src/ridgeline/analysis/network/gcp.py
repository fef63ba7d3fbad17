"""Internet exposure of GCP VPC firewall rules.

Rules call these pure functions on firewall rules in the Compute Engine API shape, which is
also the ``resource.data`` of a Cloud Asset Inventory export (camelCase keys). The snake_case
keys that some exports use (``source_ranges``, ``ip_protocol``) are read too. Malformed input
raises ValueError naming the rule, because guessing would hide or invent an exposure.

Semantics follow the Compute Engine reference for Firewall and the VPC firewall rules overview.
An ``allowed`` entry without ``ports`` covers every port of its protocol, and protocol "all"
covers every protocol. A disabled rule matches nothing. Lower priority numbers are evaluated
first, and a deny rule wins over an allow rule of the same priority. Only tcp, udp and sctp
entries carry ports.

Hierarchical firewall policies (compute.googleapis.com/FirewallPolicy, attached to an organization or a
folder) are read too, following "Evaluation order for firewall policies and rules" and "Firewall policy
rule components" in the Cloud NGFW documentation. Their rules are judged before the VPC firewall rules:
the policy of the organization first, then those of the folders from the top down. Within a policy the
lowest priority number that matches decides. `allow` admits the traffic and `deny` drops it, and neither
lets any later rule or policy see it. `goto_next` passes it on to the next policy down, and in the end to
the VPC firewall rules. Global and regional network firewall policies are not part of this analysis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ridgeline.analysis.network.ports import (
    ALL_PROTOCOLS,
    MAX_PORT,
    MIN_PORT,
    PORT_PROTOCOLS,
    IdentityMemo,
    IPNetwork,
    address_space,
    cidr_block,
    normalise_protocol,
    parse_cidr,
    port_in_range,
    protocol_covers,
    subtract_network,
    subtract_range,
    validate_port,
    validate_port_protocol,
    validate_ports,
    whole_range,
)

__all__ = [
    "Exposure",
    "FirewallEntry",
    "FirewallPolicy",
    "FirewallRule",
    "HierarchyDenial",
    "HierarchyLevel",
    "PeerRule",
    "PolicyExposure",
    "PolicyRule",
    "RuleVerdict",
    "firewall_internet_exposures",
    "hierarchy_denial",
    "parse_firewall_policy",
    "parse_firewall_rule",
    "policy_internet_exposures",
    "rule_exposures_after_denies",
    "rule_exposures_after_hierarchy",
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
    """With exposed None, one message per unreadable peer (or hierarchy level) that could deny the exposures."""

    hidden_by: tuple[str, ...] = ()
    """Hierarchical firewall policy rules that deny, before the VPC firewall rules, traffic that the rule
    would admit (set by rule_exposures_after_hierarchy)."""


def parse_firewall_rule(raw: Mapping[str, Any]) -> FirewallRule:
    """Parse one firewall rule in the Compute Engine API or Cloud Asset Inventory shape.

    Missing optional fields take the API defaults: direction INGRESS, priority 1000, enabled.
    Raises ValueError naming the rule when a field is malformed.
    """
    return _read_firewall_rule(raw)


def _parse_firewall_rule(raw: Mapping[str, Any]) -> FirewallRule:
    """Parse one firewall rule as parse_firewall_rule does, without the memo."""
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


# A firewall rule is parsed when it is judged, once per protocol, and again as a peer of each rule of
# its project that it might shadow. The memo keys on the mapping passed in (the resource's
# configuration), which a scan never changes and `watch` replaces with a new one when the rule changes.
# While a scan's firewall rules fit in its entries, each is parsed once. Beyond that, the least recently
# used are parsed again. The rules stay in memory for the peer lookups anyway, so the memo adds little.
_read_firewall_rule: IdentityMemo[FirewallRule] = IdentityMemo(_parse_firewall_rule, size=16384)


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
    return _verdict_after_denies(parse_firewall_rule(rule), peers, _requested(ports, protocol), ())


def _verdict_after_denies(
    parsed: FirewallRule,
    peers: Iterable[Mapping[str, Any] | PeerRule | None],
    requested: tuple[str, tuple[int, ...]] | None,
    known_denies: Sequence[FirewallRule],
) -> RuleVerdict:
    """Decide what `parsed` opens once `known_denies` and the deny rules among `peers` apply."""
    if not _exposures_left_by(parsed, [], requested):
        return RuleVerdict(exposed=False)

    known: list[FirewallRule] = list(known_denies)
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
    if peer_never_denies(peer):
        return None

    record = peer if isinstance(peer, PeerRule) else PeerRule(data=peer)
    data = record.data if isinstance(record.data, Mapping) else None
    unreadable = record.unreadable if data is not None else frozenset({WHOLE_RECORD})

    def readable(*fields: str) -> bool:
        return _readable(unreadable, fields)

    raw_name = _get(data, "name", "name") if data is not None else None
    name = raw_name if isinstance(raw_name, str) and raw_name else record.label or "<no name>"

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


def peer_never_denies(peer: Mapping[str, Any] | PeerRule | None) -> bool:
    """Tell whether a peer firewall rule's readable fields show an allow rule, which hides no traffic of any rule.

    It does not depend on the rule judged, so callers may drop such peers once for a whole network.
    """
    # Most peers are allow rules read in full.
    plain = peer.data if isinstance(peer, PeerRule) and not peer.unreadable else peer
    if isinstance(plain, Mapping) and _is_allow(plain):
        return True
    record = peer if isinstance(peer, PeerRule) else PeerRule(data=peer)
    data = record.data if isinstance(record.data, Mapping) else None
    if data is None:
        return False
    # Allow rules never hide traffic, whatever else is wrong with them.
    return _readable(record.unreadable, ("allowed", "denied")) and _is_allow(data)


def _readable(unreadable: frozenset[str], fields: Iterable[str]) -> bool:
    return not unreadable or (
        WHOLE_RECORD not in unreadable
        and not any(field in unreadable or _MATCH_FIELDS[field] in unreadable for field in fields)
    )


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
    unmatched = whole_range(version)
    for rule in rules:
        for cidr in rule.source_ranges:
            block = cidr_block(cidr)
            if block.version != version:
                continue
            unmatched = subtract_range(unmatched, block.first, block.last)
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


# Hierarchical firewall policies ------------------------------------------------------------------------

POLICY_ALLOW = "allow"
POLICY_DENY = "deny"
GOTO_NEXT = "goto_next"
APPLY_SECURITY_PROFILE = "apply_security_profile_group"
"""Action that sends matching traffic to a third-party or Cloud NGFW inspection and admits what passes it.
It admits traffic from the address space it matches, so it counts as an allow here."""

_ADMITTING_ACTIONS = frozenset({POLICY_ALLOW, APPLY_SECURITY_PROFILE})

MAX_POLICY_PRIORITY = 2_147_483_647

# Source fields of a firewall policy rule besides srcIpRanges. They name addresses that Ridgeline cannot
# expand (address groups, domain names, countries, threat lists, tagged instances).
# NOTE: the rule is read as matching the union of its sources, so these fields can only add addresses to
# srcIpRanges. The rule components page does not spell this out for every combination.
_OTHER_SOURCE_FIELDS = ("srcAddressGroups", "srcFqdns", "srcRegionCodes", "srcThreatIntelligences",
                        "srcSecureTags", "srcNetworks")

# srcNetworkType and srcNetworkContext narrow a rule to traffic from one kind of network. Internet traffic
# matches only INTERNET (and the unset value).
_SOURCE_SCOPE_FIELDS = ("srcNetworkType", "srcNetworkContext")
_INTERNET_SCOPES = frozenset({"INTERNET", "UNSPECIFIED"})


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One rule of a hierarchical firewall policy, normalised.

    The match fields are read only for enabled ingress rules; for the others they stay empty, because such
    rules never match incoming traffic.
    """

    policy: str
    """Label of the policy: its shortName, displayName or numeric name."""

    priority: int
    """Evaluation order within the policy, lowest first, from 0 to 2147483647; unique within the policy."""

    action: str
    """Lower-case action: allow, deny, goto_next or apply_security_profile_group."""

    direction: str
    """Either "ingress" or "egress"."""

    disabled: bool
    """True when the rule is disabled and so matches no traffic."""

    entries: tuple[FirewallEntry, ...] = ()
    """Protocols and ports of `match.layer4Configs`."""

    source_ranges: tuple[str, ...] = ()
    """Canonical CIDRs of `match.srcIpRanges`."""

    other_sources: tuple[str, ...] = ()
    """Names of the other source fields that are set, whose addresses cannot be listed."""

    internet_sources: bool = True
    """False when srcNetworkType or srcNetworkContext excludes traffic from the internet."""

    target_resources: tuple[str, ...] = ()
    """VPC networks the rule applies to; empty means every network under the policy's attachments."""

    target_service_accounts: tuple[str, ...] = ()
    """Service accounts of the instances the rule applies to; empty means every instance."""

    target_secure_tags: tuple[str, ...] = ()
    """Secure tag values of the instances the rule applies to; empty means every instance."""

    @property
    def label(self) -> str:
        """Return a short text naming the rule, such as "firewall policy org-baseline rule 1000"."""
        return f"firewall policy {self.policy} rule {self.priority}"

    def matches_incoming(self) -> bool:
        """Return whether the rule can match incoming traffic at all: enabled and ingress."""
        return not self.disabled and self.direction == INGRESS

    def covers_port(self, protocol: str, port: int) -> bool:
        """Return whether the rule's layer 4 configs cover `port` of the normalised `protocol`."""
        return any(entry.covers_port(protocol, port) for entry in self.entries)

    def world_cidrs(self) -> tuple[str, ...]:
        """Return the source ranges that are the whole IPv4 or IPv6 address space, for internet traffic."""
        if not self.internet_sources:
            return ()
        return tuple(cidr for cidr in self.source_ranges if parse_cidr(cidr).prefixlen == 0)

    def targets_cover(self, other: PolicyRule) -> bool:
        """Return whether this rule applies to every instance that `other` applies to."""
        return (
            _list_covers(self.target_resources, other.target_resources, _networks_equal)
            and _list_covers(self.target_service_accounts, other.target_service_accounts, str.__eq__)
            and _list_covers(self.target_secure_tags, other.target_secure_tags, str.__eq__)
        )


@dataclass(frozen=True, slots=True)
class FirewallPolicy:
    """A hierarchical firewall policy: its label, where it is attached, and its rules in evaluation order."""

    label: str
    attachment_targets: tuple[str, ...]
    """Organizations and folders the policy is associated with ("organizations/123", "folders/456")."""

    rules: tuple[PolicyRule, ...]


@dataclass(frozen=True, slots=True)
class PolicyExposure:
    """One port range that a firewall policy rule admits from the internet."""

    policy: str
    priority: int
    protocol: str
    from_port: int | None
    """First port of the range, or None when the rule covers every port."""

    to_port: int | None
    source: str
    """Internet CIDR the rule admits: 0.0.0.0/0 or ::/0."""

    targets: str = ""
    """The rule's targets in words, or "" when it applies to every instance under the policy."""

    def describe(self) -> str:
        """Return a short text such as "tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 1000)"."""
        traffic = _traffic(self.protocol, self.from_port, self.to_port)
        targets = f", {self.targets}" if self.targets else ""
        return f"{traffic} from {self.source} (firewall policy {self.policy} rule {self.priority}{targets})"


@dataclass(frozen=True, slots=True)
class HierarchyLevel:
    """One node above a VPC network, in evaluation order, with the firewall policies attached to it."""

    node: str
    """The organization or folder, such as "organizations/123" or "folders/456"."""

    policies: tuple[Mapping[str, Any], ...] | None
    """The policies attached to the node, in the Compute Engine API shape; None when they are not known."""

    unknown_reason: str = ""
    """With policies None: why they are not known, such as "folders/456 is not in the scan"."""


@dataclass(frozen=True, slots=True)
class HierarchyDenial:
    """The traffic of one protocol and port, from one IP version, that hierarchical firewall policies certainly deny."""

    ranges: tuple[IPNetwork, ...] = ()
    """Source addresses that a deny rule drops before the VPC firewall rules see them."""

    denied_by: tuple[str, ...] = ()
    """Labels of the deny rules behind `ranges`."""

    unresolved: str = ""
    """The reason some traffic reaches a level whose policies are unknown and might deny it, or "" when none does."""


def parse_firewall_policy(raw: Mapping[str, Any]) -> FirewallPolicy:
    """Parse a hierarchical firewall policy in the Compute Engine API shape (the `resource.data` of its asset).

    Rules come out sorted by priority. Raises ValueError naming the policy and rule when a field that
    decides what a rule matches is malformed.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"invalid firewall policy: expected an object, got {type(raw).__name__}")
    label = next((str(raw[key]) for key in ("shortName", "displayName", "name")
                  if isinstance(raw.get(key), str | int) and str(raw[key])), "<no name>")

    associations = raw.get("associations") or []
    if not isinstance(associations, list):
        raise ValueError(f"firewall policy {label}: invalid associations {associations!r}, expected a list")
    targets: list[str] = []
    for association in associations:
        target = association.get("attachmentTarget") if isinstance(association, Mapping) else None
        if not isinstance(target, str) or not target:
            raise ValueError(f"firewall policy {label}: invalid association {association!r}, "
                             "expected an object with attachmentTarget")
        targets.append(target)

    raw_rules = raw.get("rules") or []
    if not isinstance(raw_rules, list):
        raise ValueError(f"firewall policy {label}: invalid rules {raw_rules!r}, expected a list")
    rules = sorted((_parse_policy_rule(item, label) for item in raw_rules), key=lambda rule: rule.priority)
    return FirewallPolicy(label=label, attachment_targets=tuple(targets), rules=tuple(rules))


def policy_internet_exposures(
    policy: Mapping[str, Any], ports: Iterable[int], protocol: str = "tcp"
) -> list[PolicyExposure]:
    """Find what the allow rules of one hierarchical firewall policy admit from 0.0.0.0/0 or ::/0.

    An enabled ingress rule with action allow (or apply_security_profile_group, which admits what passes
    inspection) counts for each of `ports` of `protocol` that its layer 4 configs cover, from each
    address space its srcIpRanges span. Rules of the same policy with a lower priority number that match
    the same port and apply to all of its targets see that traffic first, whatever their action: when
    their srcIpRanges together span the address space, the allow rule never sees traffic from it. Policies
    attached above or below are not considered, and neither are disabled or egress rules. Raises
    ValueError when the policy is malformed.
    """
    requested_protocol, requested_ports = validate_port_protocol(protocol), validate_ports(ports)
    parsed = parse_firewall_policy(policy)
    incoming = [rule for rule in parsed.rules if rule.matches_incoming()]

    exposures: list[PolicyExposure] = []
    for position, rule in enumerate(incoming):
        if rule.action not in _ADMITTING_ACTIONS:
            continue
        for cidr in rule.world_cidrs():
            version = parse_cidr(cidr).version
            open_ports = [
                port for port in requested_ports
                if rule.covers_port(requested_protocol, port)
                and not _ranges_span(_earlier_ranges(incoming[:position], rule, requested_protocol, port), version)
            ]
            exposures.extend(_policy_exposures(rule, requested_protocol, open_ports, cidr))
    return exposures


def describe_policy_exposures(exposures: Iterable[PolicyExposure]) -> list[str]:
    """Describe exposures with one text per policy rule and source, naming every port it opens.

    "tcp 22, 3389 and udp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 1000)": a rule that opens
    several admin ports is reported with all of them, in the order found, instead of once per port.
    """
    grouped: dict[tuple[str, int, str, str], dict[str, list[str]]] = {}
    for exposure in exposures:
        key = (exposure.policy, exposure.priority, exposure.source, exposure.targets)
        by_protocol = grouped.setdefault(key, {})
        ports = by_protocol.setdefault(exposure.protocol, [])
        if exposure.protocol == ALL_PROTOCOLS:
            continue
        if exposure.from_port is None or exposure.to_port is None:
            port_text = "all ports"
        elif exposure.from_port == exposure.to_port:
            port_text = str(exposure.from_port)
        else:
            port_text = f"{exposure.from_port}-{exposure.to_port}"
        if port_text not in ports:
            ports.append(port_text)

    described = []
    for (policy, priority, source, targets), by_protocol in grouped.items():
        # Every protocol covers the rest, so the others are not listed beside it.
        if ALL_PROTOCOLS in by_protocol:
            traffic = "all traffic"
        else:
            traffic = " and ".join(f"{protocol} {', '.join(ports)}" for protocol, ports in by_protocol.items())
        target_text = f", {targets}" if targets else ""
        described.append(f"{traffic} from {source} (firewall policy {policy} rule {priority}{target_text})")
    return described


def hierarchy_denial(
    levels: Sequence[HierarchyLevel], rule: FirewallRule, protocol: str, port: int, version: int
) -> HierarchyDenial:
    """Decide which internet sources of one port the hierarchical policies drop before VPC rule `rule` sees them.

    `levels` run from the organization down to the folder that holds the project. At each level the rules
    of the attached policies are read by priority, and only traffic that none of them decided reaches the
    next level. A deny rule counts only when it applies to every instance that `rule` targets and only
    for its srcIpRanges. Every other rule that matches the port and may apply to some of those instances
    (allow, goto_next, a deny limited to some instances) takes the traffic of all its possible sources
    out of the level, so no later rule of the level is credited with denying it. The result errs towards
    denying less. A level whose policies are unknown ends the walk: traffic that reaches it is unresolved.
    """
    protocol = validate_port_protocol(protocol)
    validate_port(port)
    alive: list[IPNetwork] = address_space(version)
    denied: list[IPNetwork] = []
    denied_by: list[str] = []

    for level in levels:
        if not alive:
            break
        if level.policies is None:
            reason = level.unknown_reason or f"the firewall policies of {level.node} are not known"
            return HierarchyDenial(tuple(denied), tuple(dict.fromkeys(denied_by)), reason)

        rules = sorted((policy_rule for policy in level.policies for policy_rule in parse_firewall_policy(policy).rules
                        if policy_rule.matches_incoming() and policy_rule.internet_sources
                        and policy_rule.covers_port(protocol, port)),
                       key=lambda policy_rule: policy_rule.priority)
        undecided = list(alive)
        for policy_rule in rules:
            reach = _targets_reach(policy_rule, rule)
            if reach == "none" or not undecided:
                continue
            sources = [network for cidr in policy_rule.source_ranges
                       if (network := parse_cidr(cidr)).version == version]
            if policy_rule.action == POLICY_DENY and reach == "all":
                dropped = _intersection(undecided, sources)
                if dropped:
                    denied.extend(dropped)
                    denied_by.append(policy_rule.label)
                undecided = _without(undecided, sources)
                alive = _without(alive, sources)
                continue
            if policy_rule.action == POLICY_DENY:
                # A deny rule for some of the instances leaves the others' traffic to later rules.
                continue
            # Sources that cannot be listed may be any address, so the rule may take every address.
            possible_sources = address_space(version) if policy_rule.other_sources else sources
            undecided = _without(undecided, possible_sources)
            if policy_rule.action != GOTO_NEXT:
                alive = _without(alive, possible_sources)
    return HierarchyDenial(tuple(denied), tuple(dict.fromkeys(denied_by)))


def rule_exposures_after_hierarchy(
    rule: Mapping[str, Any],
    peers: Iterable[Mapping[str, Any] | PeerRule | None],
    levels: Sequence[HierarchyLevel],
    ports: Iterable[int],
    protocol: str = "tcp",
) -> RuleVerdict:
    """Decide what a VPC firewall rule opens to the internet once the hierarchical policies and the deny rules
    of its network apply.

    As rule_exposures_after_denies, with the traffic that the policies of `levels` deny (hierarchy_denial)
    added as deny rules evaluated first. `hidden_by` names the policy rules that deny traffic the rule would
    admit. When some of that traffic reaches a level whose policies are unknown, the verdict is None.
    Raises ValueError when `rule` or a policy is malformed.
    """
    requested_protocol, requested_ports = validate_port_protocol(protocol), validate_ports(ports)
    requested = (requested_protocol, requested_ports)
    parsed = parse_firewall_rule(rule)
    if not _exposures_left_by(parsed, [], requested):
        return RuleVerdict(exposed=False)

    hierarchy_denies: list[FirewallRule] = []
    hidden_by: list[str] = []
    unresolved: list[str] = []
    versions = sorted({parse_cidr(cidr).version for cidr in parsed.world_cidrs()})
    for port in requested_ports:
        for version in versions:
            denial = hierarchy_denial(levels, parsed, requested_protocol, port, version)
            if denial.ranges:
                hierarchy_denies.append(FirewallRule(
                    name=", ".join(denial.denied_by), network=parsed.network, direction=INGRESS, action=DENY,
                    priority=0, disabled=False, entries=(FirewallEntry(requested_protocol, ((port, port),)),),
                    source_ranges=tuple(str(network) for network in denial.ranges)))
                hidden_by.extend(denial.denied_by)
            if denial.unresolved:
                unresolved.append(denial.unresolved)

    verdict = _verdict_after_denies(parsed, peers, requested, hierarchy_denies)
    hidden = tuple(dict.fromkeys(hidden_by))
    if verdict.exposed is not False and unresolved:
        # NOTE: traffic that an allow rule above the unknown level admitted is open for certain, but it is
        # not separated from the rest here, so such a rule is unresolved rather than exposed.
        reasons = tuple(dict.fromkeys([*verdict.unresolved, *unresolved]))
        return RuleVerdict(exposed=None, exposures=verdict.exposures, unresolved=reasons, hidden_by=hidden)
    return replace(verdict, hidden_by=hidden)


def _parse_policy_rule(raw: Any, policy: str) -> PolicyRule:
    if not isinstance(raw, Mapping):
        raise ValueError(f"firewall policy {policy}: invalid rule {raw!r}, expected an object")
    priority = raw.get("priority")
    try:
        if isinstance(priority, bool):
            raise ValueError
        number = int(priority)  # type: ignore[arg-type]  # None and other types raise and are reported
    except (TypeError, ValueError):
        raise ValueError(f"firewall policy {policy}: invalid rule priority {priority!r}, "
                         f"expected an integer from 0 to {MAX_POLICY_PRIORITY}") from None
    if not 0 <= number <= MAX_POLICY_PRIORITY:
        raise ValueError(f"firewall policy {policy}: rule priority {number} is outside 0 to {MAX_POLICY_PRIORITY}")
    context = f"firewall policy {policy} rule {number}"

    action = raw.get("action")
    if not isinstance(action, str) or not action:
        raise ValueError(f"{context}: invalid action {action!r}, expected allow, deny or goto_next")
    disabled = raw.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ValueError(f"{context}: invalid disabled {disabled!r}, expected true or false")
    direction = _direction(raw, context)
    base = PolicyRule(policy=policy, priority=number, action=action.lower(), direction=direction,
                      disabled=bool(disabled))
    if not base.matches_incoming():
        return base

    match = raw.get("match")
    if not isinstance(match, Mapping):
        raise ValueError(f"{context}: invalid match {match!r}, expected an object")
    configs = match.get("layer4Configs")
    if not isinstance(configs, list) or not configs:
        raise ValueError(f"{context}: expected a non-empty list of layer4Configs")
    entries = tuple(_parse_layer4_config(item, f"{context} layer4Configs[{index}]")
                    for index, item in enumerate(configs))

    ranges = _get_list(match, "srcIpRanges", "src_ip_ranges", context)
    scopes = [match.get(field) for field in _SOURCE_SCOPE_FIELDS if match.get(field)]
    return replace(
        base,
        entries=entries,
        source_ranges=tuple(dict.fromkeys(_canonical_cidr(cidr, context) for cidr in ranges)),
        other_sources=tuple(field for field in _OTHER_SOURCE_FIELDS if match.get(field)),
        internet_sources=all(isinstance(scope, str) and scope.upper() in _INTERNET_SCOPES for scope in scopes),
        target_resources=_get_strings(raw, "targetResources", "target_resources", context),
        target_service_accounts=_get_strings(raw, "targetServiceAccounts", "target_service_accounts", context),
        target_secure_tags=_secure_tags(raw.get("targetSecureTags"), context),
    )


def _parse_layer4_config(raw: Any, context: str) -> FirewallEntry:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{context}: expected an object, got {type(raw).__name__}")
    # The layer 4 config spells the protocol ipProtocol, where VPC firewall rules spell it IPProtocol.
    return _parse_entry({"IPProtocol": _get(raw, "ipProtocol", "ip_protocol"), "ports": raw.get("ports")}, context)


def _secure_tags(raw: Any, context: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{context}: invalid targetSecureTags {raw!r}, expected a list")
    names = []
    for item in raw:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ValueError(f"{context}: invalid targetSecureTags item {item!r}, expected an object with name")
        names.append(name)
    return tuple(names)


def _list_covers(wide: Sequence[str], narrow: Sequence[str], same: Callable[[str, str], bool]) -> bool:
    """Return whether target list `wide` selects every instance that target list `narrow` selects.

    An empty list selects every instance, and a list selects an instance that matches any of its items.
    """
    if not wide:
        return True
    return bool(narrow) and all(any(same(item, other) for other in wide) for item in narrow)


def _networks_equal(first: str, second: str) -> bool:
    return _same_network_as(first, second) is True


def _targets_reach(policy_rule: PolicyRule, rule: FirewallRule) -> str:
    """Return "all", "some" or "none": the instances of VPC rule `rule` that `policy_rule` applies to."""
    reaches: list[str] = []

    if policy_rule.target_resources:
        if rule.network is None:
            reaches.append("some")
        elif any(_networks_equal(network, rule.network) for network in policy_rule.target_resources):
            reaches.append("all")
        else:
            return "none"

    if policy_rule.target_service_accounts:
        accounts = set(policy_rule.target_service_accounts)
        if rule.target_service_accounts and set(rule.target_service_accounts) <= accounts:
            reaches.append("all")
        elif rule.target_service_accounts and accounts.isdisjoint(rule.target_service_accounts):
            # An instance runs as one service account, so none of the rule's instances is selected.
            return "none"
        else:
            reaches.append("some")

    if policy_rule.target_secure_tags:
        # Secure tags cannot be compared with the network tags of VPC firewall rules.
        reaches.append("some")
    return "some" if "some" in reaches else "all"


def _earlier_ranges(earlier: Sequence[PolicyRule], rule: PolicyRule, protocol: str, port: int) -> list[str]:
    """Return the srcIpRanges of the rules in `earlier` that see the port's traffic to all of `rule`'s targets."""
    return [cidr for other in earlier
            if other.internet_sources and other.covers_port(protocol, port) and other.targets_cover(rule)
            for cidr in other.source_ranges]


def _ranges_span(cidrs: Sequence[str], version: int) -> bool:
    unmatched = address_space(version)
    for cidr in cidrs:
        unmatched = subtract_network(unmatched, parse_cidr(cidr))
        if not unmatched:
            return True
    return False


def _policy_exposures(rule: PolicyRule, protocol: str, open_ports: Sequence[int], cidr: str) -> list[PolicyExposure]:
    targets = _target_words(rule)
    found: list[PolicyExposure] = []
    for entry in rule.entries:
        if not any(entry.covers_port(protocol, port) for port in open_ports):
            continue
        if entry.port_ranges is None:
            ranges: list[tuple[int | None, int | None]] = [(None, None)]
        else:
            ranges = [(first, last) for first, last in entry.port_ranges
                      if any(first <= port <= last for port in open_ports)]
        found.extend(PolicyExposure(policy=rule.policy, priority=rule.priority, protocol=entry.protocol,
                                    from_port=first, to_port=last, source=cidr, targets=targets)
                     for first, last in ranges)
    return found


def _target_words(rule: PolicyRule) -> str:
    parts = []
    if rule.target_resources:
        parts.append("networks " + ", ".join(network.rstrip("/").rsplit("/", 1)[-1]
                                             for network in rule.target_resources))
    if rule.target_service_accounts:
        parts.append("service accounts " + ", ".join(rule.target_service_accounts))
    if rule.target_secure_tags:
        parts.append("secure tags " + ", ".join(rule.target_secure_tags))
    return "targets " + "; ".join(parts) if parts else ""


def _traffic(protocol: str, from_port: int | None, to_port: int | None) -> str:
    if protocol == ALL_PROTOCOLS:
        return "all traffic"
    if from_port is None or to_port is None:
        return f"{protocol} all ports"
    if from_port == to_port:
        return f"{protocol} {from_port}"
    return f"{protocol} {from_port}-{to_port}"


def _intersection(networks: Sequence[IPNetwork], others: Sequence[IPNetwork]) -> list[IPNetwork]:
    """Return the addresses in both lists; CIDR blocks either nest or do not overlap."""
    common: list[IPNetwork] = []
    for network in networks:
        for other in others:
            if network.version != other.version or not network.overlaps(other):
                continue
            common.append(network if network.prefixlen >= other.prefixlen else other)
    return common


def _without(networks: Sequence[IPNetwork], removed: Sequence[IPNetwork]) -> list[IPNetwork]:
    remaining = list(networks)
    for network in removed:
        remaining = subtract_network(remaining, network)
    return remaining
