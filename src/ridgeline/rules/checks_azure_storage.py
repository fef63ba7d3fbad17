"""Azure analysis functions for the storage, Key Vault and Databricks rules (`check: azure.NAME`).

Each function adapts `ridgeline.analysis.azure_storage` to the rule language. Input the analysis
rejects as malformed makes the outcome unknown, so the finding is ERROR with the reason, never PASS.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis import azure_monitor, azure_storage
from ridgeline.rules.functions import Outcome, check_function


@check_function("azure.smb_versions_below", path_args=("versions",), literal_args=("minimum",))
def smb_versions_below(versions: Any, minimum: str = "SMB3.1.1") -> Outcome:
    """True when a file service accepts an SMB version older than `minimum` (all versions when unset)."""
    try:
        weak = azure_storage.smb_versions_below(versions, minimum)
    except ValueError as error:
        return Outcome(None, str(error))
    if not weak:
        return Outcome(False, f"only {minimum} or later is accepted")
    source = "" if versions else " (versions not set, so every version is accepted)"
    return Outcome(True, f"accepts {', '.join(weak)}{source}")


@check_function("azure.smb_channel_encryption_weak", path_args=("channel_encryption",), literal_args=("accepted",),
                required=("channel_encryption",))
def smb_channel_encryption_weak(channel_encryption: Any, accepted: list[str] | None = None) -> Outcome:
    """True when a file service accepts an SMB channel encryption algorithm outside `accepted` (AES-256-GCM)."""
    strong = accepted or ["AES-256-GCM"]
    try:
        weak = azure_storage.weak_smb_channel_encryption(channel_encryption, strong)
    except ValueError as error:
        return Outcome(None, str(error))
    if not weak:
        return Outcome(False, f"only {', '.join(strong)} is accepted")
    source = "" if channel_encryption else " (channelEncryption not set, so every algorithm is accepted)"
    return Outcome(True, f"accepts {', '.join(weak)}{source}")


@check_function("azure.storage_bypass_excludes", path_args=("bypass",), literal_args=("service",),
                required=("bypass", "service"))
def storage_bypass_excludes(bypass: Any, service: str) -> Outcome:
    """True when `service` (AzureServices, Logging or Metrics) is not in a storage firewall's bypass list."""
    try:
        services = azure_storage.bypassed_services(bypass)
    except ValueError as error:
        return Outcome(None, str(error))
    if service.casefold() in services:
        return Outcome(False, f"bypass includes {service}")
    return Outcome(True, f"bypass is {bypass!r}, which does not include {service}")


@check_function("azure.storage_sku_not_geo_redundant", path_args=("sku",))
def storage_sku_not_geo_redundant(sku: Any) -> Outcome:
    """True when a storage account's SKU keeps its data in one region (LRS, ZRS or a Premium SKU)."""
    try:
        geo = azure_storage.is_geo_redundant(sku)
    except ValueError as error:
        return Outcome(None, str(error))
    if geo:
        return Outcome(False, f"{sku} replicates to the paired region")
    return Outcome(True, f"{sku} keeps every copy in one region")


@check_function("azure.tag_value_in", path_args=("tags",), literal_args=("key", "values"),
                required=("tags", "key", "values"))
def tag_value_in(tags: Any, key: str, values: list[str]) -> Outcome:
    """True when tag `key` has one of `values`, both compared without regard to case.

    Azure compares tag names without regard to case. The values are compared the same way, so that
    "High" and "high" mean the same criticality.
    """
    try:
        value = azure_storage.tag_value(tags, key)
    except ValueError as error:
        return Outcome(None, str(error))
    if value is not None and value.casefold() in {wanted.casefold() for wanted in values}:
        return Outcome(True, f"tag {key} is {value!r}")
    return Outcome(False, f"tag {key} is {value!r}, not one of {values}")


@check_function("azure.databricks_subnets_without_nsg", path_args=("subnets",))
def databricks_subnets_without_nsg(subnets: Any) -> Outcome:
    """True when a subnet delegated to Azure Databricks has no network security group.

    Unknown when the virtual network has no delegated subnet at all. The workspace names this network, so
    either its subnets are elsewhere or the network was read incompletely.
    """
    try:
        with_nsg, without_nsg = azure_storage.databricks_subnets_without_nsg(subnets)
    except ValueError as error:
        return Outcome(None, str(error))
    if without_nsg:
        return Outcome(True, f"subnet(s) without a network security group: {', '.join(without_nsg)}")
    if not with_nsg:
        return Outcome(None, "the virtual network has no subnet delegated to Microsoft.Databricks/workspaces")
    return Outcome(False, f"every Databricks subnet has a network security group: {', '.join(with_nsg)}")


@check_function("azure.diagnostic_logs_not_exported", path_args=("settings",),
                literal_args=("categories", "category_groups"), required=("settings",))
def diagnostic_logs_not_exported(settings: Any, categories: list[str] | None = None,
                                 category_groups: list[str] | None = None) -> Outcome:
    """True when no diagnostic setting of a resource sends its logs (or the named categories) to a destination."""
    if settings is None:
        # A list the import could not read is in Resource.errors. A list that is absent without such an
        # entry was never read either, so it is unknown, not empty.
        return Outcome(None, "the diagnostic settings of the resource were not collected")
    try:
        judgement = azure_monitor.diagnostic_logs_exported(settings, categories or (), category_groups or ())
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(not judgement.holds, judgement.detail)
