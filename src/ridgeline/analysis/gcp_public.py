"""Whether a Cloud Storage bucket or a BigQuery dataset is open to allUsers or allAuthenticatedUsers.

Both read the resource in the shape of its own API (the `resource.data` of a Cloud Asset Inventory
export) together with its IAM policy. Each grants access through two lists: IAM bindings, and legacy
access lists (bucket ACLs, dataset `access` entries). A policy that was not collected is unknown, not
empty. Malformed input raises ValueError, because guessing would hide or invent public access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ridgeline.analysis.gcp_iam import PUBLIC_MEMBERS, bucket_public, public_members

__all__ = ["PublicAccess", "bucket_public_access", "dataset_public_access"]

# Dataset access entries name anyone signed in to a Google account through this special group.
_ALL_AUTHENTICATED_GROUP = "allAuthenticatedUsers"


class PublicAccess(NamedTuple):
    """Whether a resource is public, with the grants that make it so."""

    public: bool | None
    """True or False, or None when a list that could grant access was not collected."""

    grants: tuple[str, ...] = ()
    """Each public grant, such as "IAM roles/storage.objectViewer: allUsers" or "ACL allUsers READER"."""

    detail: str = ""
    """One sentence explaining the result."""


def bucket_public_access(iam_policy: Mapping[str, Any] | None, iam_configuration: Mapping[str, Any] | None,
                         acl: Any, default_object_acl: Any) -> PublicAccess:
    """Decide whether a bucket grants anything to allUsers or allAuthenticatedUsers.

    Enforced public access prevention blocks every such grant. Otherwise IAM bindings count, and so
    do the bucket ACL and the default object ACL (which new objects inherit) unless uniform
    bucket-level access, which disables ACLs, is on. None for `iam_policy`, or for an ACL while
    uniform access is off, means that list was not collected. The result is then unknown unless
    another list already makes the bucket public.
    """
    # NOTE: ACLs on individual objects and an organization policy that enforces public access
    # prevention (the bucket then reports "inherited") are not visible here.
    if iam_configuration is not None and not isinstance(iam_configuration, Mapping):
        raise ValueError(f"invalid iamConfiguration: expected an object, got {type(iam_configuration).__name__}")
    settings = iam_configuration or {}
    prevention = settings.get("publicAccessPrevention")

    # bucket_public validates the prevention value and reads the bindings.
    verdict = bucket_public(iam_policy or {}, prevention)
    iam_grants = tuple(f"IAM {grant}" for grant in verdict.statements)
    if isinstance(prevention, str) and prevention.strip().lower() == "enforced":
        return PublicAccess(False, iam_grants, "Public access prevention is enforced, which blocks every "
                                               "grant to allUsers and allAuthenticatedUsers.")

    # ACLs count only while uniform bucket-level access is off. A list missing from the record is then
    # unknown rather than empty.
    acl_grants: tuple[str, ...] = ()
    acls_unknown = False
    if not _uniform_access(settings):
        acl_grants = _public_acl_entries(acl, "ACL") + _public_acl_entries(default_object_acl, "default object ACL")
        acls_unknown = acl is None or default_object_acl is None

    grants = iam_grants + acl_grants
    if grants:
        more = f" and {len(grants) - 1} more public grant(s)" if len(grants) > 1 else ""
        return PublicAccess(True, grants, f"The bucket grants {grants[0]}{more}.")
    if iam_policy is None:
        return PublicAccess(None, (), "The bucket's IAM policy was not collected, so its bindings are unknown.")
    if acls_unknown:
        return PublicAccess(None, (), "Uniform bucket-level access is off and the bucket ACL or default object ACL "
                                      "was not collected, so ACL grants are unknown.")
    return PublicAccess(False, (), "No IAM binding or ACL entry grants access to allUsers or allAuthenticatedUsers.")


def dataset_public_access(access: Any, iam_policy: Mapping[str, Any] | None) -> PublicAccess:
    """Decide whether a BigQuery dataset grants anything to allUsers or allAuthenticatedUsers.

    `access` is the dataset's access list (entries with `role` and one of `specialGroup`,
    `iamMember`, `userByEmail`, ...) and `iam_policy` its IAM policy. BigQuery keeps one access
    control list per dataset and shows it both ways, so either one suffices. The result is unknown
    only when neither was collected.
    """
    if access is None and iam_policy is None:
        return PublicAccess(None, (), "Neither the dataset's access list nor its IAM policy was collected.")

    grants: list[str] = []
    if access is not None:
        if not isinstance(access, list):
            raise ValueError(f"invalid access {access!r}: expected a list of access entries")
        for index, entry in enumerate(access):
            if not isinstance(entry, Mapping):
                raise ValueError(f"access[{index}]: expected an object, got {type(entry).__name__}")
            iam_member = entry.get("iamMember")
            member = iam_member if isinstance(iam_member, str) and iam_member in PUBLIC_MEMBERS else None
            if entry.get("specialGroup") == _ALL_AUTHENTICATED_GROUP:
                member = _ALL_AUTHENTICATED_GROUP
            if member is not None:
                grants.append(f"access {entry.get('role') or 'unknown role'}: {member}")
    grants.extend(f"IAM {grant.role}: {grant.member}" for grant in public_members(iam_policy))

    if not grants:
        return PublicAccess(False, (), "No access entry or IAM binding grants anything to allUsers or "
                                       "allAuthenticatedUsers.")
    more = f" and {len(grants) - 1} more public grant(s)" if len(grants) > 1 else ""
    return PublicAccess(True, tuple(grants), f"The dataset grants {grants[0]}{more}.")


def _uniform_access(settings: Mapping[str, Any]) -> bool:
    """Return whether uniform bucket-level access (formerly Bucket Policy Only) is on."""
    for key in ("uniformBucketLevelAccess", "bucketPolicyOnly"):
        value = settings.get(key)
        if isinstance(value, Mapping) and value.get("enabled") is True:
            return True
    return False


def _public_acl_entries(entries: Any, label: str) -> tuple[str, ...]:
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise ValueError(f"invalid {label} {entries!r}: expected a list of ACL entries")
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ValueError(f"{label}[{index}]: expected an object, got {type(entry).__name__}")
        entity = entry.get("entity")
        if isinstance(entity, str) and entity in PUBLIC_MEMBERS:
            found.append(f"{label} {entity} {entry.get('role') or 'unknown role'}")
    return tuple(found)
