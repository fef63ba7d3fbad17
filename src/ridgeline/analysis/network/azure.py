"""Internet exposure of Azure network security groups (NSGs).

Rules call these pure functions on an NSG in the Azure Resource Manager shape, where each
security rule keeps its fields under ``properties``. The flattened shape of some Resource
Graph queries, with the fields on the rule itself, works too. Malformed input
raises ValueError naming the NSG and the rule, because guessing would hide or invent an
exposure.

Evaluation follows the Azure NSG documentation: rules of one direction are processed in
ascending priority and processing stops at the first rule that matches the traffic. The
default rules (priority 65000 and above) come after every custom rule. Protocol "*" matches
every protocol, and port "*" matches every port.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ridgeline.analysis.network.ports import (
    MAX_PORT,
    MIN_PORT,
    AddressRange,
    IdentityMemo,
    cidr_block,
    is_world_cidr,
    normalise_protocol,
    protocol_covers,
    ranges_include_public,
    subtract_range,
    validate_port_protocol,
    validate_ports,
    whole_range,
)

__all__ = [
    "Exposure",
    "NsgRule",
    "is_internet_source",
    "nsg_internet_exposures",
    "nsg_rules",
    "parse_port_ranges",
]

INBOUND = "inbound"
OUTBOUND = "outbound"
ALLOW = "allow"
DENY = "deny"

# Source values that stand for every internet address in both IP versions. "*" and "Any"
# match every address, and the Internet service tag matches every public address.
_INTERNET_TAGS = frozenset({"*", "any", "internet"})

# Azure gives default rules the priorities 65000, 65001 and 65500, far above the highest
# custom priority (4096), so default rules sort last.
_FIRST_DEFAULT_PRIORITY = 65000


@dataclass(frozen=True, slots=True)
class Exposure:
    """A port range that internet sources reach through an NSG after priority evaluation."""

    protocol: str
    """Normalised protocol of the query ("tcp", "udp" or "132"), not of the rule."""

    from_port: int
    """First exposed port."""

    to_port: int
    """Last exposed port, inclusive."""

    source: str
    """Source prefix of the Allow rule that admits the traffic, as the NSG spells it."""

    rule_name: str
    """Name of the Allow rule that admits the traffic."""

    priority: int
    """Priority of that rule."""

    def describe(self) -> str:
        """Return a short text such as "tcp 22 from Internet (rule AllowSSH, priority 300)"."""
        ports = str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
        return f"{self.protocol} {ports} from {self.source} (rule {self.rule_name}, priority {self.priority})"


@dataclass(frozen=True, slots=True)
class NsgRule:
    """One security rule of an NSG, custom or default, normalised."""

    name: str
    """Rule name, unique within the NSG."""

    priority: int
    """Position in the evaluation order of its direction, lowest first."""

    direction: str
    """Either "inbound" or "outbound"."""

    access: str
    """Either "allow" or "deny"."""

    protocol: str
    """Normalised protocol, see normalise_protocol ("all" for "*")."""

    port_ranges: tuple[tuple[int, int], ...]
    """Inclusive destination port ranges. "*" becomes (0, 65535)."""

    sources: tuple[str, ...] = ()
    """Source address prefixes: CIDRs, addresses, service tags or "*", as the NSG spells them."""

    source_application_security_groups: tuple[str, ...] = ()
    """Resource ids of the source application security groups."""

    is_default: bool = False
    """True for the rules of defaultSecurityRules."""

    def covers_port(self, protocol: str, port: int) -> bool:
        """Return whether the rule applies to `port` of the normalised `protocol`."""
        if not protocol_covers(self.protocol, protocol):
            return False
        return _covers_port(self.port_ranges, port)


@dataclass(frozen=True, slots=True)
class _RuleSources:
    """Source prefixes of one rule, read once per NSG as the addresses they match in one IP version."""

    internet_source: str | None
    """The first source that admits every internet address of the version, or None."""

    matches_all: bool
    """True when a source is "*", "Any" or Internet, which leaves no public address unmatched."""

    ranges: tuple[AddressRange, ...]
    """Address ranges of the sources that are CIDRs of the version."""


@dataclass(frozen=True, slots=True)
class _ReadRule:
    """A parsed rule with its sources read for IPv4 and IPv6."""

    rule: NsgRule
    sources: Mapping[int, _RuleSources]
    """Keyed by IP version, 4 and 6."""


def is_internet_source(prefix: str) -> bool:
    """Return whether a source prefix admits every internet address.

    True for "*", "Any" and the Internet service tag (names are case-insensitive) and for
    0.0.0.0/0 and ::/0. Other service tags, such as VirtualNetwork and AzureLoadBalancer,
    and narrower CIDRs return False. Raises ValueError when `prefix` is not a string.
    """
    if not isinstance(prefix, str):
        raise ValueError(f"invalid source prefix {prefix!r}: expected a string")

    text = prefix.strip()
    if text.lower() in _INTERNET_TAGS:
        return True

    try:
        return is_world_cidr(text)
    except ValueError:
        # Anything else that is not a CIDR is a service tag other than Internet.
        return False


def parse_port_ranges(value: str | int | Sequence[str | int]) -> list[tuple[int, int]]:
    """Parse an NSG port value into inclusive (first, last) ranges.

    `value` is one entry such as "22", "20-23" or "*", or a list of them as in
    destinationPortRanges. Raises ValueError on an empty list, on text that is not a port or
    range, on ports outside 0 to 65535 and on ranges whose first port exceeds the last.
    """
    if isinstance(value, str | int):
        return [_parse_port_range(value)]
    if not isinstance(value, Sequence) or not value:
        raise ValueError(f"invalid port ranges {value!r}: expected a port, a range or a non-empty list of them")
    return [_parse_port_range(item) for item in value]


def nsg_rules(nsg: Mapping[str, Any]) -> list[NsgRule]:
    """Parse the custom and default rules of an NSG in evaluation order.

    Both directions are returned, and each rule's `direction` distinguishes them. Within a
    direction, custom rules come first in ascending priority, then default rules. Raises
    ValueError naming the NSG and the rule when a rule is malformed or when two rules of
    one direction share a priority, which Azure does not allow.
    """
    return [read.rule for read in _read_nsg(nsg).rules]


@dataclass(slots=True)
class _ProtocolView:
    """The inbound rules of one NSG that apply to one protocol, and the results computed so far."""

    rules: tuple[_ReadRule, ...]
    """Inbound rules whose protocol covers the view's protocol, in evaluation order."""

    admits_internet: bool
    """False when no rule is an Allow with an internet source, so no port is exposed."""

    segments: list[tuple[int, int]] | None = None
    """Port segments of the rules (see _port_segments), computed on first use."""

    allows: dict[int, tuple[tuple[NsgRule, str], ...]] = field(default_factory=dict)
    """Port -> what _internet_allows returns for it."""

    def internet_allows(self, port: int) -> tuple[tuple[NsgRule, str], ...]:
        """Return the (rule, source) pairs that admit internet traffic to `port`, IPv4 first."""
        found = self.allows.get(port)
        if found is None:
            found = self.allows[port] = tuple(_internet_allows(self.rules, port))
        return found


class _ParsedNsg:
    """The rules of an NSG as _parse_nsg reads them, with a view per queried protocol.

    The rules checking one NSG ask for the same protocols and ports again (TCP for SSH, RDP and
    HTTP, and every query once more to explain a finding), so each view keeps its results. Two
    threads may compute the same view or result at once. Both copies are equal, so either may stay.
    """

    __slots__ = ("_views", "rules")

    def __init__(self, rules: tuple[_ReadRule, ...]) -> None:
        self.rules = rules
        self._views: dict[str, _ProtocolView] = {}

    def view(self, protocol: str) -> _ProtocolView:
        """Return the view of the inbound rules that apply to the normalised `protocol`."""
        view = self._views.get(protocol)
        if view is None:
            rules = tuple(
                read
                for read in self.rules
                if read.rule.direction == INBOUND and protocol_covers(read.rule.protocol, protocol)
            )
            # _first_internet_allow returns only Allow rules with an internet source.
            admits_internet = any(
                read.rule.access == ALLOW
                and any(sources.internet_source is not None for sources in read.sources.values())
                for read in rules
            )
            view = self._views[protocol] = _ProtocolView(rules, admits_internet)
        return view


def _parse_nsg(nsg: Mapping[str, Any]) -> _ParsedNsg:
    """Parse the rules of an NSG as nsg_rules returns them, with their sources read for each IP version."""
    nsg_name = _nsg_name(nsg)
    properties = _properties(nsg)

    rules: list[NsgRule] = []
    for key, is_default in (("securityRules", False), ("defaultSecurityRules", True)):
        raw_rules = properties.get(key)
        if raw_rules is None:
            continue
        if not isinstance(raw_rules, list | tuple):
            raise ValueError(f"NSG {nsg_name}: invalid {key} {raw_rules!r}, expected a list")
        for index, raw in enumerate(raw_rules):
            rules.append(_parse_rule(raw, nsg_name, f"{key}[{index}]", is_default))

    _check_unique_priorities(rules, nsg_name)
    rules.sort(key=lambda rule: (rule.is_default or rule.priority >= _FIRST_DEFAULT_PRIORITY, rule.priority))
    return _ParsedNsg(tuple(_ReadRule(rule, _sources_by_version(rule.sources)) for rule in rules))


# Each NSG is checked by several rules (SSH, RDP, databases, any port), for one or two protocols,
# and once more to explain a finding. The memo parses it once for all of them. It keys on the
# configuration mapping that the rule engine passes, which a scan never changes and `watch` replaces
# with a new one when it refreshes the NSG. A scan evaluates the rules of one NSG one after the
# other, so a few hundred entries are enough and keep few configurations alive. Where rules run one
# by one over many NSGs (some `watch` updates), the memo only misses and the NSG is parsed again.
_read_nsg: IdentityMemo[_ParsedNsg] = IdentityMemo(_parse_nsg, size=256)


def nsg_internet_exposures(
    nsg: Mapping[str, Any],
    ports: Iterable[int] | None = None,
    protocol: str = "tcp",
) -> list[Exposure]:
    """Find the inbound ports that internet sources reach through an NSG.

    `protocol` is "tcp", "udp" or "sctp", by name or number, and rules on "*" match it too.
    With `ports`, the result has one exposure per requested port that is reached, in request
    order. With ports=None it has one exposure per maximal port range that the same rule
    admits, in port order. A port counts as reached when an Allow rule with an internet
    source (see is_internet_source) applies to it and some public address has matched no
    rule of lower priority. IPv4 and IPv6 are evaluated separately, so one port can yield
    two exposures when different rules or sources admit each version.
    """
    requested_protocol = validate_port_protocol(protocol)
    view = _read_nsg(nsg).view(requested_protocol)

    if ports is not None:
        segments = [(port, port) for port in validate_ports(ports)]
    elif not view.admits_internet:
        segments = []
    else:
        if view.segments is None:
            view.segments = _port_segments([read.rule for read in view.rules])
        segments = view.segments
    if not view.admits_internet:
        # No rule can admit internet traffic, so no port is exposed. The ports were validated above.
        return []

    exposures: list[Exposure] = []
    for first, last in segments:
        # Every rule covers either the whole segment or none of it, so its first port decides.
        for rule, source in view.internet_allows(first):
            exposure = Exposure(
                protocol=requested_protocol,
                from_port=first,
                to_port=last,
                source=source,
                rule_name=rule.name,
                priority=rule.priority,
            )
            exposures.append(exposure)

    if ports is None:
        exposures = _merge_adjacent(exposures)
    return exposures


def _internet_allows(rules: Sequence[_ReadRule], port: int) -> list[tuple[NsgRule, str]]:
    """Return the distinct (rule, source) pairs that admit internet traffic to `port`, IPv4 first.

    Every rule must apply to the protocol of the query, as the rules of a _ProtocolView do.
    """
    found: list[tuple[NsgRule, str]] = []
    for version in (4, 6):
        allowing = _first_internet_allow(rules, port, version)
        if allowing is not None and allowing not in found:
            found.append(allowing)
    return found


# The whole address space of each IP version, where _first_internet_allow starts. subtract_range
# returns a new list, so the one tuple serves every call.
_WHOLE_RANGES: Mapping[int, tuple[AddressRange, ...]] = MappingProxyType(
    {version: tuple(whole_range(version)) for version in (4, 6)}
)


def _first_internet_allow(rules: Sequence[_ReadRule], port: int, version: int) -> tuple[NsgRule, str] | None:
    """Return the internet Allow rule and source that public addresses of `version` reach first.

    Every rule must apply to the protocol of the query, so only its ports are compared here.
    """
    # `unmatched` contains the addresses that no earlier rule for this port has matched.
    unmatched: Sequence[AddressRange] = _WHOLE_RANGES[version]

    for read in rules:
        rule = read.rule
        if not _covers_port(rule.port_ranges, port):
            continue

        sources = read.sources[version]
        if sources.internet_source is not None and rule.access == ALLOW:
            return rule, sources.internet_source

        if sources.matches_all:
            # The Internet tag matches every public address, and only private ones could
            # remain, which cannot come from the internet.
            return None
        if not sources.ranges:
            # Nothing was removed, so public addresses remain as they did before this rule.
            continue
        for first, last in sources.ranges:
            unmatched = subtract_range(unmatched, first, last)
        if not ranges_include_public(version, unmatched):
            return None

    # Traffic that matches no rule is denied, as by DenyAllInBound, even if the input leaves it out.
    return None


def _covers_port(port_ranges: Iterable[tuple[int, int]], port: int) -> bool:
    for first, last in port_ranges:
        if first <= port <= last:
            return True
    return False


# Rules repeat the same sources (Internet, a company's ranges, VirtualNetwork) in NSG after NSG, and
# reading them is a pure function of the text, so one reading serves every rule that names them.
@functools.lru_cache(maxsize=4096)
def _sources_by_version(sources: tuple[str, ...]) -> Mapping[int, _RuleSources]:
    """Return _rule_sources of `sources` for IPv4 and IPv6, keyed by version."""
    return MappingProxyType({version: _rule_sources(sources, version) for version in (4, 6)})


def _rule_sources(sources: Sequence[str], version: int) -> _RuleSources:
    """Read the source prefixes of a rule as the addresses of `version` that they match."""
    ranges: list[AddressRange] = []
    for source in sources:
        if source.strip().lower() in _INTERNET_TAGS:
            continue
        try:
            block = cidr_block(source)
        except ValueError:
            # NOTE: other service tags (AzureCloud, Storage and the like) contain public
            # addresses that Ridgeline does not resolve. They are treated as matching no
            # internet address, so a Deny on them never hides a later Allow.
            continue
        if block.version == version:
            ranges.append((block.first, block.last))

    return _RuleSources(
        internet_source=_internet_source_for_version(sources, version),
        matches_all=any(source.strip().lower() in _INTERNET_TAGS for source in sources),
        ranges=tuple(ranges),
    )


def _internet_source_for_version(sources: Iterable[str], version: int) -> str | None:
    for source in sources:
        if not is_internet_source(source):
            continue
        if source.strip().lower() in _INTERNET_TAGS or cidr_block(source).version == version:
            return source
    return None


def _port_segments(rules: Sequence[NsgRule]) -> list[tuple[int, int]]:
    """Split 0-65535 at the rules' range bounds, so each rule covers a segment wholly or not at all."""
    starts = {MIN_PORT}
    for rule in rules:
        for first, last in rule.port_ranges:
            starts.add(first)
            if last < MAX_PORT:
                starts.add(last + 1)

    ordered = sorted(starts)
    ends = [start - 1 for start in ordered[1:]] + [MAX_PORT]
    return list(zip(ordered, ends, strict=True))


def _merge_adjacent(exposures: Sequence[Exposure]) -> list[Exposure]:
    """Join exposures of adjacent port ranges that the same rule and source admit."""
    ordered = sorted(exposures, key=lambda exposure: (exposure.from_port, exposure.priority, exposure.source))
    merged: list[Exposure] = []
    for exposure in ordered:
        previous = next(
            (
                index
                for index, candidate in enumerate(merged)
                if candidate.to_port + 1 == exposure.from_port
                and (candidate.rule_name, candidate.source) == (exposure.rule_name, exposure.source)
            ),
            None,
        )
        if previous is None:
            merged.append(exposure)
            continue

        candidate = merged[previous]
        merged[previous] = Exposure(
            protocol=candidate.protocol,
            from_port=candidate.from_port,
            to_port=exposure.to_port,
            source=candidate.source,
            rule_name=candidate.rule_name,
            priority=candidate.priority,
        )
    return merged


def _parse_rule(raw: Any, nsg_name: str, position: str, is_default: bool) -> NsgRule:
    context = f"NSG {nsg_name} rule {position}"
    # The exact type test first: isinstance against an abstract class costs more, and most rules are dicts.
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise ValueError(f"{context}: expected an object, got {type(raw).__name__}")

    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{context}: name is missing")
    context = f"NSG {nsg_name} rule {name}"

    # Resource Manager output keeps the fields under "properties", and flattened rules do not.
    properties = _properties(raw)

    priority = _priority(properties.get("priority"), context)
    direction = _enum(properties.get("direction"), "direction", (INBOUND, OUTBOUND), context)
    access = _enum(properties.get("access"), "access", (ALLOW, DENY), context)

    protocol = properties.get("protocol")
    if protocol is None:
        raise ValueError(f"{context}: protocol is missing")
    try:
        normalised_protocol = normalise_protocol(protocol)
    except ValueError as error:
        raise ValueError(f"{context}: {error}") from None

    port_values = _singular_and_plural(properties, "destinationPortRange", "destinationPortRanges", context)
    if not port_values:
        raise ValueError(f"{context}: destinationPortRange and destinationPortRanges are both missing")
    try:
        # As parse_port_ranges reads a non-empty list.
        port_ranges = tuple([_parse_port_range(item) for item in port_values])
    except ValueError as error:
        raise ValueError(f"{context}: {error}") from None

    sources = _singular_and_plural(properties, "sourceAddressPrefix", "sourceAddressPrefixes", context)
    groups = _application_security_groups(properties.get("sourceApplicationSecurityGroups"), context)
    if not sources and not groups:
        raise ValueError(
            f"{context}: no source, expected sourceAddressPrefix, sourceAddressPrefixes"
            " or sourceApplicationSecurityGroups"
        )
    stripped: list[str] = []
    for source in sources:
        text = source.strip() if isinstance(source, str) else ""
        if not text:
            raise ValueError(f"{context}: invalid source prefix {source!r}, expected a non-empty string")
        stripped.append(text)

    return NsgRule(
        name=name,
        priority=priority,
        direction=direction,
        access=access,
        protocol=normalised_protocol,
        port_ranges=port_ranges,
        sources=tuple(stripped),
        source_application_security_groups=groups,
        is_default=is_default,
    )


def _parse_port_range(value: Any) -> tuple[int, int]:
    if isinstance(value, str):
        return _parse_port_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _checked_range(value, value, value)
    raise ValueError(f"invalid port range {value!r}: expected a string such as 22, 20-23 or *")


# NSGs repeat a few port texts ("22", "443", "*", "8080-8090") in rule after rule. A ValueError is not
# cached, so a bad text raises its message again on every call.
@functools.lru_cache(maxsize=4096)
def _parse_port_text(value: str) -> tuple[int, int]:
    text = value.strip()
    if text == "*":
        return MIN_PORT, MAX_PORT

    first_text, separator, last_text = text.partition("-")
    if not separator:
        last_text = first_text
    if not first_text.strip().isdigit() or not last_text.strip().isdigit():
        raise ValueError(f"invalid port range {value!r}: expected a port, a range such as 20-23, or *")
    return _checked_range(int(first_text), int(last_text), value)


def _checked_range(first: int, last: int, value: Any) -> tuple[int, int]:
    if not MIN_PORT <= first <= MAX_PORT or not MIN_PORT <= last <= MAX_PORT:
        raise ValueError(f"invalid port range {value!r}: ports must be from {MIN_PORT} to {MAX_PORT}")
    if first > last:
        raise ValueError(f"invalid port range {value!r}: the first port is greater than the last")
    return first, last


def _singular_and_plural(properties: Mapping[str, Any], key: str, plural_key: str, context: str) -> list[Any]:
    """Return the values of `key` and of `plural_key`, which Azure may both fill."""
    values: list[Any] = []

    # Resource Manager returns an empty string or omits the singular field when the
    # plural one is in use.
    single = properties.get(key)
    if single is not None and single != "":
        values.append(single)

    plural = properties.get(plural_key)
    if plural is not None:
        if not isinstance(plural, list | tuple):
            raise ValueError(f"{context}: invalid {plural_key} {plural!r}, expected a list")
        values += plural
    return values


def _application_security_groups(value: Any, context: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ValueError(f"{context}: invalid sourceApplicationSecurityGroups {value!r}, expected a list")

    ids: list[str] = []
    for item in value:
        group_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(group_id, str) or not group_id:
            raise ValueError(f"{context}: invalid application security group {item!r}, expected an object with id")
        ids.append(group_id)
    return tuple(ids)


def _priority(value: Any, context: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"{context}: invalid priority {value!r}, expected an integer")


def _enum(value: Any, key: str, allowed: tuple[str, ...], context: str) -> str:
    folded = value.strip().lower() if isinstance(value, str) else None
    if folded is not None and folded in allowed:
        return folded
    expected = " or ".join(repr(item.capitalize()) for item in allowed)
    raise ValueError(f"{context}: invalid {key} {value!r}, expected {expected}")


def _check_unique_priorities(rules: Iterable[NsgRule], nsg_name: str) -> None:
    # With two rules on one priority the evaluation order would be a guess.
    seen: dict[tuple[str, int], str] = {}
    for rule in rules:
        key = (rule.direction, rule.priority)
        if key in seen:
            raise ValueError(
                f"NSG {nsg_name}: rules {seen[key]} and {rule.name} share {rule.direction} priority {rule.priority}"
            )
        seen[key] = rule.name


def _nsg_name(nsg: Mapping[str, Any]) -> str:
    if type(nsg) is not dict and not isinstance(nsg, Mapping):
        raise ValueError(f"invalid NSG: expected an object, got {type(nsg).__name__}")

    # The name only labels error messages, so a missing one is not an error by itself.
    name = nsg.get("name") or nsg.get("id")
    return str(name) if name else "<no name>"


def _properties(item: Mapping[str, Any]) -> Mapping[str, Any]:
    properties = item.get("properties")
    return properties if type(properties) is dict or isinstance(properties, Mapping) else item
