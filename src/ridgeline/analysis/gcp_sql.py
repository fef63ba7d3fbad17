"""Cloud SQL settings that several rules judge: database flags with their defaults, and authorized networks.

The functions read `settings` of a Cloud SQL instance as the Cloud SQL Admin API returns it, which is also
the `resource.data.settings` of a Cloud Asset Inventory export. Malformed input raises ValueError naming
the field, because guessing would hide or invent a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ridgeline.analysis.network.ports import IPNetwork, address_space, parse_cidr, subtract_network

__all__ = ["FlagSetting", "database_flag", "open_authorized_networks"]


@dataclass(frozen=True, slots=True)
class FlagSetting:
    """The value a database flag has on an instance, and whether that value is one of the safe values."""

    name: str
    """Flag name as Cloud SQL spells it, such as log_connections or "remote access"."""

    value: str | None
    """Value set on the instance, or None when the flag is not set."""

    effective: str | None
    """Value in force: the value set, else the engine's default (None when the flag has no default)."""

    safe: bool
    """True when the value in force is one of the safe values."""

    def describe(self) -> str:
        """Return a short text such as "log_connections is off" or "log_connections is not set (default off)"."""
        if self.value is not None:
            return f"{self.name} is {self.value}"
        if self.effective is None:
            return f"{self.name} is not set"
        return f"{self.name} is not set (default {self.effective})"


def database_flag(settings: Mapping[str, Any] | None, name: str, *, default: str | None,
                  safe_values: Iterable[str]) -> FlagSetting:
    """Return the setting of flag `name` in `settings.databaseFlags`, judged against `safe_values`.

    A flag that is not set has the engine's `default`, or no value when `default` is None. Values
    compare without regard to case or surrounding spaces, since Cloud SQL accepts "on" and "ON".
    A flag that is not set and has no default is safe only when `safe_values` contains "".
    Raises ValueError when `settings` is missing or a flag entry is malformed.
    """
    if settings is None:
        raise ValueError("the instance has no settings, so its database flags are unknown")
    if not isinstance(settings, Mapping):
        raise ValueError(f"invalid settings: expected an object, got {type(settings).__name__}")

    safe = {_normalise(value) for value in safe_values}
    value = _flag_value(settings.get("databaseFlags"), name)
    effective = value if value is not None else default
    in_force = _normalise(effective) if effective is not None else ""
    return FlagSetting(name=name, value=value, effective=effective, safe=in_force in safe)


def open_authorized_networks(ip_configuration: Mapping[str, Any] | None) -> list[str]:
    """Return the authorized networks that together admit every IPv4 or every IPv6 address.

    A single 0.0.0.0/0 entry does so on its own, and so do 0.0.0.0/1 and 128.0.0.0/1 together. The
    result names each entry of the covering IP version as "NAME (CIDR)", or is empty when no IP
    version is fully covered. Raises ValueError on a malformed entry.
    """
    # NOTE: entries with an expirationTime in the past are still counted, because this function does
    # not know the evaluation time and Cloud SQL documents no moment at which it removes them.
    if ip_configuration is None:
        return []
    if not isinstance(ip_configuration, Mapping):
        raise ValueError(f"invalid ipConfiguration: expected an object, got {type(ip_configuration).__name__}")
    entries = ip_configuration.get("authorizedNetworks")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ValueError(f"invalid authorizedNetworks {entries!r}: expected a list")

    by_version: dict[int, list[tuple[str, IPNetwork]]] = {4: [], 6: []}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValueError(f"authorizedNetworks[{index}]: expected an object, got {type(entry).__name__}")
        value = entry.get("value")
        if not isinstance(value, str):
            raise ValueError(f"authorizedNetworks[{index}]: invalid value {value!r}, "
                             "expected a CIDR such as 10.0.0.0/8")
        try:
            network = parse_cidr(value)
        except ValueError as error:
            raise ValueError(f"authorizedNetworks[{index}]: {error}") from None
        label = f"{entry.get('name') or 'unnamed'} ({value})"
        by_version[network.version].append((label, network))

    exposed: list[str] = []
    for version, listed in by_version.items():
        remaining = address_space(version)
        for _, network in listed:
            remaining = subtract_network(remaining, network)
        if not remaining:
            exposed.extend(label for label, _ in listed)
    return exposed


def _flag_value(flags: Any, name: str) -> str | None:
    """Return the value of flag `name` in a databaseFlags list, or None when it is not set."""
    if flags is None:
        return None
    if not isinstance(flags, list):
        raise ValueError(f"invalid databaseFlags {flags!r}: expected a list of {{name, value}} objects")

    found: str | None = None
    for index, flag in enumerate(flags):
        if not isinstance(flag, Mapping) or not isinstance(flag.get("name"), str):
            raise ValueError(f"databaseFlags[{index}]: expected an object with a name, got {flag!r}")
        if flag["name"] != name:
            continue
        if found is not None:
            raise ValueError(f"databaseFlags: flag {name} is set twice")
        value = flag.get("value")
        if value is None or isinstance(value, bool) or not isinstance(value, str | int | float):
            # Cloud SQL takes a value for every flag that these rules read, so a missing one is not a default.
            raise ValueError(f"databaseFlags[{index}]: flag {name} has no usable value ({value!r})")
        found = str(value)
    return found


def _normalise(value: str) -> str:
    return value.strip().casefold()
