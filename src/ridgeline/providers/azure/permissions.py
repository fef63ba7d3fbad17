"""The least-privilege custom role of an Azure scan, derived from the calls and Resource Graph types it reads.

Most reads are control-plane actions (`Actions`). The Key Vault certificate reads are a data action
(`DataActions`), and vaults that use access policies ignore roles for them altogether, so the note printed
with the role names the access policy permissions as well.

Imports nothing from the Azure SDK (the reads are declared in declarations.py), so `ridgeline permissions
azure` works without the azure extra.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ridgeline.providers.azure.declarations import (
    ACCESS_POLICY_PERMISSIONS,
    CERTIFICATES_DATA_ACTION,
    DATA_ACTIONS,
    DELEGATED_ROLES,
    GRAPH_PERMISSIONS,
    TABLE_TYPES,
    declared_calls,
)

ROLE_NAME = "Ridgeline Reader"

PLACEHOLDER_SCOPE = "/subscriptions/<SUBSCRIPTION_ID>"

# Resource Graph returns only the rows whose resources the caller may read, so each type queried needs its
# own read action. Listing the subscriptions reads them; a --management-group scope reads the group.
_SCOPE_ACTIONS = ("Microsoft.Resources/subscriptions/read", "Microsoft.Management/managementGroups/read")

BUILTIN_NOTE = ("The built-in roles Reader and Security Reader together cover the Actions of this role: Reader "
                "alone grants every */read action above, and Security Reader adds Microsoft.Security read access. "
                f"Key Vault certificates are read through each vault's data plane: the data action "
                f"{CERTIFICATES_DATA_ACTION} (in the built-in role Key Vault Reader) covers vaults that use Azure "
                "RBAC, and a vault that uses access policies needs an access policy granting the scan's identity "
                f"the certificate permissions {' and '.join(ACCESS_POLICY_PERMISSIONS['certificates'])}. A vault "
                "whose firewall does not allow the scanner's network refuses the reads too. Without them the "
                "certificate rule reports ERROR for that vault's subscription. "
                "Entra ID settings are read through Microsoft Graph, which Azure roles do not authorise: "
                f"grant the Graph permissions {' and '.join(GRAPH_PERMISSIONS)} (application permissions with "
                "admin consent for a service principal or managed identity; for a signed-in user, the Entra "
                f"role {DELEGATED_ROLES}). Without them the Entra ID rules report ERROR.")


def scan_actions() -> list[str]:
    """Return the sorted RBAC operations a scan needs, data actions included: reads only, plus the Resource
    Graph query. `scan_role` puts the data actions in DataActions and the others in Actions."""
    actions = set(_SCOPE_ACTIONS)
    actions.update(call.action for call in declared_calls())
    for types in TABLE_TYPES.values():
        actions.update(f"{type_name}/read" for type_name in types)
    return sorted(actions, key=str.lower)


def scan_data_actions() -> list[str]:
    """Return the sorted RBAC data actions a scan needs (the Key Vault certificate reads)."""
    return sorted((action for action in scan_actions() if action in DATA_ACTIONS), key=str.lower)


def scan_role(assignable_scopes: Sequence[str] = ()) -> dict[str, Any]:
    """Return a custom role definition (the JSON `az role definition create` reads) allowing the scan's reads."""
    return {
        "Name": ROLE_NAME,
        "IsCustom": True,
        "Description": "Read-only access for Ridgeline posture scans: Resource Graph, the ARM reads they need "
                       "and the Key Vault certificate metadata.",
        "Actions": [action for action in scan_actions() if action not in DATA_ACTIONS],
        "NotActions": [],
        # Azure rejects a data action listed under Actions, so the certificate reads go here.
        "DataActions": scan_data_actions(),
        "NotDataActions": [],
        "AssignableScopes": list(assignable_scopes) or [PLACEHOLDER_SCOPE],
    }
