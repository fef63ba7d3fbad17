"""Resources Resource Graph does not hold, listed through ARM: per subscription, and per parent resource.

Per subscription: the activity log's diagnostic settings and the Defender for Cloud contacts, auto
provisioning and settings. Per parent: blob containers of storage accounts, and the keys and secrets of
key vaults. For keys and secrets the management plane returns metadata only (attributes, expiry, rotation
policy), never a key or secret value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.azure.calls import AzureCall, AzureCallFailed
from ridgeline.providers.azure.clients import ArmReader, arm_path
from ridgeline.providers.azure.envelope import envelope, normalise_location


@dataclass(frozen=True, slots=True)
class SubscriptionListing:
    """A list request at subscription scope whose items are resources of `type`."""

    type: str
    suffix: str
    """Path after /subscriptions/{id}."""

    call: AzureCall


@dataclass(frozen=True, slots=True)
class ParentListing:
    """A list request under each resource of `parent_type` whose items are resources of `type`."""

    type: str
    parent_type: str
    suffix: str
    """Path appended to the parent's id."""

    call: AzureCall
    skip_kinds: frozenset[str] = frozenset()
    """Parent `kind` values (lower case) that cannot have such items."""


SUBSCRIPTION_LISTINGS: tuple[SubscriptionListing, ...] = (
    # The subscription's own diagnostic settings export the activity log.
    SubscriptionListing("Microsoft.Insights/diagnosticSettings", "/providers/Microsoft.Insights/diagnosticSettings",
                        AzureCall("monitor.subscriptionDiagnosticSettings",
                                  "Microsoft.Insights/diagnosticSettings/read", "2021-05-01-preview")),
    # 2023-12-01-preview is the version with `emails`, `isEnabled`, `notificationsByRole` and
    # `notificationsSources` (alert severity); the older 2020-01-01-preview shape differs.
    SubscriptionListing("Microsoft.Security/securityContacts", "/providers/Microsoft.Security/securityContacts",
                        AzureCall("security.securityContacts", "Microsoft.Security/securityContacts/read",
                                  "2023-12-01-preview")),
    SubscriptionListing("Microsoft.Security/autoProvisioningSettings",
                        "/providers/Microsoft.Security/autoProvisioningSettings",
                        AzureCall("security.autoProvisioningSettings",
                                  "Microsoft.Security/autoProvisioningSettings/read", "2017-08-01-preview")),
    SubscriptionListing("Microsoft.Security/settings", "/providers/Microsoft.Security/settings",
                        AzureCall("security.settings", "Microsoft.Security/settings/read", "2022-05-01")),
)

PARENT_LISTINGS: tuple[ParentListing, ...] = (
    ParentListing("Microsoft.Storage/storageAccounts/blobServices/containers", "Microsoft.Storage/storageAccounts",
                  "/blobServices/default/containers",
                  AzureCall("storage.containers", "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                            "2023-05-01"),
                  frozenset({"filestorage"})),
    ParentListing("Microsoft.KeyVault/vaults/keys", "Microsoft.KeyVault/vaults", "/keys",
                  AzureCall("keyvault.keys", "Microsoft.KeyVault/vaults/keys/read", "2023-07-01")),
    ParentListing("Microsoft.KeyVault/vaults/secrets", "Microsoft.KeyVault/vaults", "/secrets",
                  AzureCall("keyvault.secrets", "Microsoft.KeyVault/vaults/secrets/read", "2023-07-01")),
)


def listing_calls() -> list[AzureCall]:
    """Return the calls of every listing."""
    return [listing.call for listing in SUBSCRIPTION_LISTINGS] + [listing.call for listing in PARENT_LISTINGS]


def list_subscription_items(arm: ArmReader, listing: SubscriptionListing, subscription: str,
                            collected_at: str) -> list[Resource]:
    """Return the resources of one subscription-level listing; raise AzureCallFailed when it fails."""
    items = arm.list(listing.call, f"/subscriptions/{subscription}{listing.suffix}", resource_id=subscription)
    return [envelope(item, collected_at=collected_at, subscription=subscription, type_name=listing.type)
            for item in items if isinstance(item, dict)]


def list_parent_items(arm: ArmReader, listing: ParentListing, parent: Resource) -> list[Resource]:
    """Return the resources listed under `parent`; raise AzureCallFailed when the listing fails."""
    try:
        path = arm_path(parent.id) + listing.suffix
    except ValueError as error:
        raise AzureCallFailed(listing.call, "InvalidResourceId", str(error), resource_id=parent.id) from error
    resources = []
    for item in arm.list(listing.call, path, resource_id=parent.id):
        if not isinstance(item, dict):
            continue
        region = normalise_location(item.get("location")) if item.get("location") else parent.region
        resource = envelope(item, collected_at=parent.collected_at, subscription=parent.account, region=region,
                            type_name=listing.type)
        resource.relationships.append(_contained_in(parent))
        resources.append(resource)
    return resources


def _contained_in(parent: Resource) -> dict[str, Any]:
    return {"resourceType": parent.type, "resourceId": parent.id, "resourceName": parent.name,
            "relationshipName": "Is contained in"}
