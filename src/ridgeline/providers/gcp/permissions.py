"""The least-privilege custom IAM role of a GCP scan, derived from the calls it declares (calls.py).

Imports nothing from Google's libraries, so `ridgeline permissions gcp` works without the `gcp` extra.
"""

from __future__ import annotations

from typing import Any

from ridgeline.providers.gcp.calls import QUOTA_PERMISSION, declared_calls

ROLE_ID = "ridgelineReader"
ROLE_TITLE = "Ridgeline Reader"

PREDEFINED_ROLES = ("roles/cloudasset.viewer", "roles/iam.securityReviewer")
"""Predefined roles to grant instead of the custom role."""

PREDEFINED_NOTE = (
    "Create the role with `gcloud iam roles create ridgelineReader --organization=ORG_ID --file=role.json` (or "
    "--project=PROJECT_ID) and grant it on the organization, folder or projects to scan. A project or folder scan "
    "also lists the folders and organization above the scope (their IAM policies, audit configuration and "
    "hierarchical firewall policies, which the projects inherit), so grant the role on the organization too, or "
    "rules that need those ancestors report ERROR. Instead of the custom role, "
    "the predefined roles roles/cloudasset.viewer and roles/iam.securityReviewer cover the inventory and the IAM "
    "policies; if the Essential Contacts or projects.get requests are denied, add roles/essentialcontacts.viewer and "
    "roles/browser. serviceusage.services.use is needed only on the project whose quota the requests use "
    "(roles/serviceusage.serviceUsageConsumer grants it)."
)


def scan_permissions() -> list[str]:
    """Return the sorted IAM permissions a scan needs: the read permission of every call, plus quota use."""
    permissions = {call.permission for call in declared_calls()}
    permissions.add(QUOTA_PERMISSION)
    return sorted(permissions)


def scan_role() -> dict[str, Any]:
    """Return a custom role definition, in the form `gcloud iam roles create --file` reads."""
    return {
        "title": ROLE_TITLE,
        "description": "Read-only access for Ridgeline posture scans: Cloud Asset Inventory resources and IAM "
                       "policies, Essential Contacts and project lookups.",
        "stage": "GA",
        "includedPermissions": scan_permissions(),
    }
