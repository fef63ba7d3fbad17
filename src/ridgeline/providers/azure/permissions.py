"""The least-privilege custom role of an Azure scan, derived from the calls and Resource Graph types it reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ridgeline.providers.azure.graph import TABLE_TYPES
from ridgeline.providers.azure.msgraph import DELEGATED_ROLES, GRAPH_PERMISSIONS
from ridgeline.providers.azure.scanner import declared_calls

ROLE_NAME = "Ridgeline Reader"

PLACEHOLDER_SCOPE = "/subscriptions/<SUBSCRIPTION_ID>"

# Resource Graph returns only the rows whose resources the caller may read, so each type queried needs its
# own read action. Listing the subscriptions reads them; a --management-group scope reads the group.
_SCOPE_ACTIONS = ("Microsoft.Resources/subscriptions/read", "Microsoft.Management/managementGroups/read")

BUILTIN_NOTE = ("The built-in roles Reader and Security Reader together cover this role: Reader alone grants "
                "every */read action above, and Security Reader adds Microsoft.Security read access. "
                "Entra ID settings are read through Microsoft Graph, which Azure roles do not authorise: "
                f"grant the Graph permissions {' and '.join(GRAPH_PERMISSIONS)} (application permissions with "
                "admin consent for a service principal or managed identity; for a signed-in user, the Entra "
                f"role {DELEGATED_ROLES}). Without them the Entra ID rules report ERROR.")


def scan_actions() -> list[str]:
    """Return the sorted RBAC actions a scan needs: reads only, plus the Resource Graph query."""
    actions = set(_SCOPE_ACTIONS)
    actions.update(call.action for call in declared_calls())
    for types in TABLE_TYPES.values():
        actions.update(f"{type_name}/read" for type_name in types)
    return sorted(actions, key=str.lower)


def scan_role(assignable_scopes: Sequence[str] = ()) -> dict[str, Any]:
    """Return a custom role definition (the JSON `az role definition create` reads) allowing the scan's reads."""
    return {
        "Name": ROLE_NAME,
        "IsCustom": True,
        "Description": "Read-only access for Ridgeline posture scans: Resource Graph and the ARM reads they need.",
        "Actions": scan_actions(),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": list(assignable_scopes) or [PLACEHOLDER_SCOPE],
    }
