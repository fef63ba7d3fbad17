"""Settings of Azure network services that rules judge beyond NSG rules.

Three facts are easy to get wrong when written as plain path comparisons, so they live here:
- the lowest TLS version an Application Gateway accepts, across its own TLS policy and the
  policies of its SSL profiles, with predefined policy names resolved;
- whether a Network Watcher flow log keeps its records long enough, given that a retention of
  0 days, or no retention policy at all, means Azure deletes nothing;
- whether the IP firewall rules of a database server together admit the whole internet.

Every function takes the `properties` object of the Azure Resource Manager shape and raises
ValueError naming the field when the input is malformed, because a guess could hide a gap.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ridgeline.analysis.network.ports import (
    AddressRange,
    cidr_blocks,
    is_public_block,
    ranges_include_public,
    subtract_range,
    whole_range,
)

__all__ = [
    "TLS_VERSIONS",
    "TlsPolicyMinimum",
    "flow_log_retention_shortfall",
    "gateway_tls_minimums",
    "internet_wide_firewall_rules",
    "tls_version_rank",
]

TLS_VERSIONS: tuple[str, ...] = ("TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3")
"""Application Gateway protocol names, oldest first."""

# Minimum protocol version of each predefined Application Gateway TLS policy, from the
# Application Gateway TLS policy overview on Microsoft Learn.
_PREDEFINED_MINIMUMS: Mapping[str, str] = {
    "appgwsslpolicy20150501": "TLSv1_0",
    "appgwsslpolicy20170401": "TLSv1_1",
    "appgwsslpolicy20170401s": "TLSv1_2",
    "appgwsslpolicy20220101": "TLSv1_2",
    "appgwsslpolicy20220101s": "TLSv1_2",
}

# The default policy when a gateway names none depends on the API version that created it:
# AppGwSslPolicy20150501 (TLS 1.0) before 2023-02-01, AppGwSslPolicy20220101 from then on.
# The export does not record that version, so the older, weaker default is assumed.
_DEFAULT_POLICY_MINIMUM = "TLSv1_0"

# Multicast (224.0.0.0/4) and reserved (240.0.0.0/4) addresses never open a connection, so a
# firewall range may leave them out and still admit every internet client.
_NOT_CLIENT_SOURCES = ipaddress.IPv4Network("224.0.0.0/3")
_FIRST_NOT_CLIENT = int(_NOT_CLIENT_SOURCES.network_address)


@dataclass(frozen=True, slots=True)
class TlsPolicyMinimum:
    """The lowest TLS version one TLS policy of an Application Gateway accepts."""

    scope: str
    """"gateway" for the gateway's own policy, or "SSL profile NAME"."""

    minimum: str
    """One of TLS_VERSIONS."""

    source: str
    """Origin of the minimum, such as "predefined policy AppGwSslPolicy20170401"."""

    def describe(self) -> str:
        """Return a short text such as "gateway: TLSv1_0 (default policy)"."""
        return f"{self.scope}: {self.minimum} ({self.source})"


def tls_version_rank(version: str) -> int:
    """Return the position of an Application Gateway protocol name in TLS_VERSIONS, ignoring case.

    Raises ValueError for a name that is not one of TLS_VERSIONS.
    """
    if isinstance(version, str):
        folded = version.strip().lower()
        for rank, known in enumerate(TLS_VERSIONS):
            if known.lower() == folded:
                return rank
    raise ValueError(f"invalid TLS protocol version {version!r}: expected one of {', '.join(TLS_VERSIONS)}")


def gateway_tls_minimums(properties: Mapping[str, Any]) -> list[TlsPolicyMinimum]:
    """Return the lowest TLS version of the gateway's TLS policy and of each SSL profile's policy.

    A listener uses either the gateway's policy or the policy of its SSL profile, so every one of
    them decides what some client may negotiate. A gateway without a policy gets the default
    policy of its creation API version, which is assumed to be the TLS 1.0 one. An SSL profile
    without a policy of its own is skipped, as it takes the gateway's policy.
    """
    if not isinstance(properties, Mapping):
        raise ValueError(f"invalid Application Gateway properties: expected an object, got {type(properties).__name__}")

    minimums = [_policy_minimum(properties.get("sslPolicy"), "gateway", use_default=True)]

    profiles = properties.get("sslProfiles") or []
    if not isinstance(profiles, list):
        raise ValueError(f"invalid sslProfiles {profiles!r}: expected a list")
    for index, profile in enumerate(profiles):
        if not isinstance(profile, Mapping):
            raise ValueError(f"invalid sslProfiles[{index}]: expected an object")
        name = profile.get("name") or f"#{index}"
        profile_properties = profile.get("properties")
        if not isinstance(profile_properties, Mapping):
            profile_properties = profile
        # NOTE: a profile without sslPolicy is taken to inherit the gateway's policy, which is
        # judged above; Azure's documentation does not spell this case out.
        if not profile_properties.get("sslPolicy"):
            continue
        minimum = _policy_minimum(profile_properties.get("sslPolicy"), f"SSL profile {name}", use_default=False)
        minimums.append(minimum)
    return minimums


def _policy_minimum(policy: Any, scope: str, *, use_default: bool) -> TlsPolicyMinimum:
    if policy is None or policy == {}:
        return TlsPolicyMinimum(scope, _DEFAULT_POLICY_MINIMUM, "no TLS policy set; the default before API 2023-02-01")
    if not isinstance(policy, Mapping):
        raise ValueError(f"{scope}: invalid sslPolicy {policy!r}, expected an object")

    policy_type = str(policy.get("policyType") or "").strip().lower()
    policy_name = policy.get("policyName")
    minimum_version = policy.get("minProtocolVersion")

    if policy_type == "predefined" or (not policy_type and policy_name):
        if not isinstance(policy_name, str) or policy_name.strip().lower() not in _PREDEFINED_MINIMUMS:
            raise ValueError(f"{scope}: unknown predefined TLS policy {policy_name!r}")
        minimum = _PREDEFINED_MINIMUMS[policy_name.strip().lower()]
        return TlsPolicyMinimum(scope, minimum, f"predefined policy {policy_name}")

    if policy_type in ("custom", "customv2") or (not policy_type and minimum_version):
        if minimum_version is None:
            raise ValueError(f"{scope}: custom TLS policy without minProtocolVersion")
        minimum = TLS_VERSIONS[tls_version_rank(minimum_version)]
        return TlsPolicyMinimum(scope, minimum, f"{policy.get('policyType') or 'custom'} policy")

    if policy_type:
        raise ValueError(f"{scope}: unknown TLS policyType {policy.get('policyType')!r}")

    # The oldest form: the default policy with some protocols switched off.
    disabled = policy.get("disabledSslProtocols") or []
    if not isinstance(disabled, list):
        raise ValueError(f"{scope}: invalid disabledSslProtocols {disabled!r}, expected a list")
    disabled_ranks = {tls_version_rank(version) for version in disabled}
    if not use_default and not disabled_ranks:
        raise ValueError(f"{scope}: sslPolicy names no policy type, policy name or protocol version")
    remaining = [rank for rank in range(tls_version_rank(_DEFAULT_POLICY_MINIMUM), len(TLS_VERSIONS))
                 if rank not in disabled_ranks]
    if not remaining:
        raise ValueError(f"{scope}: disabledSslProtocols switches off every protocol version")
    return TlsPolicyMinimum(scope, TLS_VERSIONS[remaining[0]], "default policy with disabledSslProtocols")


def flow_log_retention_shortfall(properties: Mapping[str, Any], minimum_days: int) -> str | None:
    """Return why a flow log keeps its records for less than `minimum_days`, or None when it does not.

    A flow log that is turned off records nothing, so it falls short. Network Watcher deletes
    records only through an enabled retention policy with a positive number of days: days = 0
    keeps them forever, and so does a disabled or absent retention policy. Raises ValueError
    when `enabled` or the number of days of an enabled policy is missing or not of its type.
    """
    if not isinstance(properties, Mapping):
        raise ValueError(f"invalid flow log properties: expected an object, got {type(properties).__name__}")
    if isinstance(minimum_days, bool) or not isinstance(minimum_days, int) or minimum_days < 1:
        raise ValueError(f"invalid minimum_days {minimum_days!r}: expected a positive integer")

    enabled = properties.get("enabled")
    if not isinstance(enabled, bool):
        raise ValueError(f"invalid flow log property enabled {enabled!r}: expected true or false")
    if not enabled:
        return "the flow log is turned off, so it keeps no records"

    policy = properties.get("retentionPolicy")
    if policy is None:
        return None
    if not isinstance(policy, Mapping):
        raise ValueError(f"invalid retentionPolicy {policy!r}: expected an object")

    policy_enabled = policy.get("enabled", False)
    if not isinstance(policy_enabled, bool):
        raise ValueError(f"invalid retentionPolicy.enabled {policy_enabled!r}: expected true or false")
    if not policy_enabled:
        return None

    days = policy.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"invalid retentionPolicy.days {days!r}: expected a whole number of days")
    if days == 0 or days >= minimum_days:
        return None
    return f"the retention policy deletes records after {days} days, fewer than {minimum_days}"


def internet_wide_firewall_rules(rules: Sequence[Any]) -> list[str]:
    """Return the names of the IP firewall rules that together admit every internet address.

    The rules are those of an Azure SQL, PostgreSQL or MySQL server: objects with `name` and
    `properties.startIpAddress` and `properties.endIpAddress` (IPv4, inclusive). The result is
    empty unless the union of the ranges leaves no public IPv4 address out; then it names each
    rule that contains public addresses. The rule 0.0.0.0 to 0.0.0.0, which Azure reads as
    "allow Azure services", contains no public address and never counts. Raises ValueError on a
    rule without valid addresses or whose start is after its end.
    """
    if not isinstance(rules, Sequence) or isinstance(rules, str):
        raise ValueError(f"invalid firewall rules {rules!r}: expected a list")

    # Integer ranges of IPv4 addresses, not ipaddress networks, because the common rule 0.0.0.0 to
    # 0.0.0.0 (allow Azure services) alone splits the address space into 32 networks.
    unmatched: list[AddressRange] = whole_range(4)
    contributing: list[str] = []
    for index, rule in enumerate(rules):
        name, first, last = _firewall_rule_range(rule, index)
        # As is_public_cidr judges each network of the range.
        if ranges_include_public(4, [(first, last)]):
            contributing.append(name)
        unmatched = subtract_range(unmatched, first, last)

    # The unmatched ranges are disjoint and never adjacent, so their CIDR blocks are the networks that
    # subtracting networks would leave. As 224.0.0.0/3 ends at the last address, a block lies inside it
    # exactly when it starts there or later.
    for first, last in unmatched:
        for start, end in cidr_blocks(4, first, last):
            if is_public_block(4, start, end) and start < _FIRST_NOT_CLIENT:
                return []
    return contributing


def _firewall_rule_range(rule: Any, index: int) -> tuple[str, int, int]:
    """Return the name of a firewall rule and its first and last IPv4 address as integers."""
    if not isinstance(rule, Mapping):
        raise ValueError(f"invalid firewall rule #{index}: expected an object, got {type(rule).__name__}")
    name = str(rule.get("name") or f"#{index}")
    properties = rule.get("properties")
    if not isinstance(properties, Mapping):
        properties = rule

    start = _ipv4_number(str(properties.get("startIpAddress")).strip())
    end = _ipv4_number(str(properties.get("endIpAddress")).strip())
    if start is None or end is None:
        raise ValueError(
            f"firewall rule {name}: invalid startIpAddress {properties.get('startIpAddress')!r} or "
            f"endIpAddress {properties.get('endIpAddress')!r}, expected IPv4 addresses"
        )
    if start > end:
        raise ValueError(f"firewall rule {name}: startIpAddress {ipaddress.IPv4Address(start)} is after "
                         f"endIpAddress {ipaddress.IPv4Address(end)}")
    return name, start, end


# Servers repeat the same few addresses (0.0.0.0 above all), and ipaddress takes microseconds per parse.
@functools.lru_cache(maxsize=4096)
def _ipv4_number(text: str) -> int | None:
    """Return the IPv4 address `text` as an integer, or None when ipaddress does not read it as one."""
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        return None
