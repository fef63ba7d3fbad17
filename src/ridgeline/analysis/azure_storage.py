"""Azure settings whose meaning takes more than one comparison: SMB protocol lists, the storage firewall's
bypass list, replication SKUs, tag lookups and the subnets of a VNet-injected Databricks workspace.

The functions read values in the shape Azure Resource Manager returns them. A value that is absent means
the default the REST API reference documents for it. Malformed input raises ValueError naming the
field, because guessing would hide a finding or invent one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "DATABRICKS_DELEGATION",
    "GEO_REDUNDANT_SKUS",
    "SMB_DEFAULT_CHANNEL_ENCRYPTION",
    "SMB_DEFAULT_VERSIONS",
    "bypassed_services",
    "databricks_subnets_without_nsg",
    "is_geo_redundant",
    "smb_versions_below",
    "tag_value",
    "weak_smb_channel_encryption",
]

SMB_DEFAULT_VERSIONS = ("SMB2.1", "SMB3.0", "SMB3.1.1")
"""SMB versions a file service accepts when `protocolSettings.smb.versions` is not set."""

SMB_DEFAULT_CHANNEL_ENCRYPTION = ("AES-128-CCM", "AES-128-GCM", "AES-256-GCM")
"""SMB channel encryption algorithms a file service accepts when `channelEncryption` is not set."""

GEO_REDUNDANT_SKUS = frozenset({
    "standard_grs", "standard_ragrs", "standard_gzrs", "standard_ragzrs", "standardv2_grs", "standardv2_gzrs",
})
"""Storage SKU names (lower case) that keep a copy of the data in the paired region. LRS and ZRS SKUs,
including every Premium SKU, stay in one region."""

DATABRICKS_DELEGATION = "Microsoft.Databricks/workspaces"
"""Service a subnet must be delegated to before a Databricks workspace can be injected into it."""

_SMB_VERSION = re.compile(r"SMB(\d+(?:\.\d+)*)", re.IGNORECASE)


def _setting_list(value: Any, field: str, separator: str) -> list[str] | None:
    """Split a list setting such as "SMB3.0;SMB3.1.1", or return None when it is not set, so the default applies."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"invalid {field} {value!r}: expected a {separator!r}-separated string")
    return [item.strip() for item in value.split(separator) if item.strip()]


def _smb_version(name: str) -> tuple[int, ...]:
    match = _SMB_VERSION.fullmatch(name)
    if match is None:
        raise ValueError(f"invalid SMB version {name!r}: expected a name such as SMB3.1.1")
    return tuple(int(part) for part in match.group(1).split("."))


def smb_versions_below(versions: Any, minimum: str = "SMB3.1.1") -> list[str]:
    """Return the SMB versions older than `minimum` that a file service accepts.

    `versions` is `protocolSettings.smb.versions`, a semicolon-separated list ("SMB2.1;SMB3.0"). When it
    is not set, the service accepts every version of `SMB_DEFAULT_VERSIONS`.
    """
    allowed = _setting_list(versions, "protocolSettings.smb.versions", ";")
    floor = _smb_version(minimum)
    return [name for name in (allowed or list(SMB_DEFAULT_VERSIONS)) if _smb_version(name) < floor]


def weak_smb_channel_encryption(value: Any, accepted: Iterable[str] = ("AES-256-GCM",)) -> list[str]:
    """Return the SMB channel encryption algorithms a file service accepts that are not in `accepted`.

    `value` is `protocolSettings.smb.channelEncryption` ("AES-128-GCM;AES-256-GCM"). When it is not set,
    the service accepts every algorithm of `SMB_DEFAULT_CHANNEL_ENCRYPTION`. Names compare without regard
    to case, and an algorithm this module does not know counts as not accepted.
    """
    allowed = _setting_list(value, "protocolSettings.smb.channelEncryption", ";")
    strong = {name.casefold() for name in accepted}
    return [name for name in (allowed or list(SMB_DEFAULT_CHANNEL_ENCRYPTION)) if name.casefold() not in strong]


def bypassed_services(bypass: Any) -> set[str]:
    """Return the services (lower case) that pass a storage account firewall regardless of its rules.

    `bypass` is `networkAcls.bypass`: "None", or a comma-separated combination of AzureServices, Logging
    and Metrics. When it is not set, the REST API applies its default, AzureServices.
    """
    names = _setting_list(bypass, "networkAcls.bypass", ",")
    if names is None:
        return {"azureservices"}
    return {name.casefold() for name in names} - {"none"}


def is_geo_redundant(sku_name: Any) -> bool:
    """Return whether a storage SKU name (`sku.name`, such as Standard_RAGRS) replicates to a second region."""
    if not isinstance(sku_name, str) or not sku_name:
        raise ValueError(f"invalid sku.name {sku_name!r}: expected a SKU name such as Standard_GRS")
    return sku_name.casefold() in GEO_REDUNDANT_SKUS


def tag_value(tags: Any, key: str) -> str | None:
    """Return the value of tag `key`, or None when the tag is absent.

    Tag names compare without regard to case, as Azure compares them.
    """
    if tags is None:
        return None
    if not isinstance(tags, Mapping):
        raise ValueError(f"invalid tags {tags!r}: expected an object of names and values")
    expected_name = key.casefold()
    for name, value in tags.items():
        if str(name).casefold() == expected_name:
            return None if value is None else str(value)
    return None


def databricks_subnets_without_nsg(subnets: Any) -> tuple[list[str], list[str]]:
    """Return the names of the Databricks subnets of a VNet with a network security group, and those without.

    `subnets` is `properties.subnets` of a virtual network. A Databricks subnet is one delegated to
    `DATABRICKS_DELEGATION`, which VNet injection requires of both the host (public) and the container
    (private) subnet.
    """
    if subnets is None:
        return [], []
    if not isinstance(subnets, Sequence) or isinstance(subnets, str):
        raise ValueError(f"invalid properties.subnets {subnets!r}: expected a list of subnets")

    with_nsg: list[str] = []
    without_nsg: list[str] = []
    for position, subnet in enumerate(subnets):
        if not isinstance(subnet, Mapping):
            raise ValueError(f"invalid properties.subnets[{position}]: expected an object")
        name = str(subnet.get("name") or f"subnets[{position}]")
        # ARM nests a subnet's settings under `properties`, but `az network vnet show` prints them flattened.
        properties = subnet.get("properties", subnet)
        if not isinstance(properties, Mapping):
            raise ValueError(f"invalid properties of subnet {name}: expected an object")
        if not _delegated_to(properties.get("delegations"), DATABRICKS_DELEGATION, name):
            continue
        group = properties.get("networkSecurityGroup")
        has_group = isinstance(group, Mapping) and bool(group.get("id"))
        (with_nsg if has_group else without_nsg).append(name)
    return with_nsg, without_nsg


def _delegated_to(delegations: Any, service: str, subnet: str) -> bool:
    if delegations is None:
        return False
    if not isinstance(delegations, list):
        raise ValueError(f"invalid delegations of subnet {subnet}: expected a list")
    for delegation in delegations:
        if not isinstance(delegation, Mapping):
            raise ValueError(f"invalid delegation of subnet {subnet}: expected an object")
        # As for subnets, ARM nests the service name under `properties` and the CLI flattens it.
        properties = delegation.get("properties")
        name = properties.get("serviceName") if isinstance(properties, Mapping) else delegation.get("serviceName")
        if isinstance(name, str) and name.casefold() == service.casefold():
            return True
    return False
