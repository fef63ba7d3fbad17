"""Resources Resource Graph does not hold, listed through ARM: per subscription, and per parent resource.

Per subscription: the activity log's diagnostic settings and the Defender for Cloud contacts, auto
provisioning and settings. Per parent: blob containers of storage accounts, and the keys and secrets of
key vaults. For keys and secrets the management plane returns metadata only (attributes, expiry, rotation
policy), never a key or secret value. The listings themselves are declared in declarations.py
(`SUBSCRIPTION_LISTINGS`, `PARENT_LISTINGS`).
"""

from __future__ import annotations

from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.azure.calls import AzureCallFailed
from ridgeline.providers.azure.clients import ArmReader, arm_path
from ridgeline.providers.azure.declarations import ParentListing, SubscriptionListing
from ridgeline.providers.azure.envelope import envelope, normalise_location


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
