"""Public grants in GCP IAM allow policies, and whether they make a Cloud Storage bucket public.

The functions read an IAM policy in the shape that getIamPolicy and Cloud Asset Inventory
return (``bindings`` of ``role``, ``members`` and an optional ``condition``). Malformed input
raises ValueError, because guessing would hide or invent public access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ridgeline.analysis.iam.policy import Verdict

__all__ = ["PUBLIC_MEMBERS", "PublicMember", "bucket_public", "public_members"]

ALL_USERS = "allUsers"
ALL_AUTHENTICATED_USERS = "allAuthenticatedUsers"

PUBLIC_MEMBERS = frozenset({ALL_USERS, ALL_AUTHENTICATED_USERS})
"""Members that represent anyone on the internet (allUsers) and anyone signed in to a Google account."""

# Values of iamConfiguration.publicAccessPrevention in the JSON API (lower case) and in the
# gRPC API enum (upper case). Only "enforced" blocks grants to the public members.
_ENFORCED = "enforced"
_NOT_ENFORCED = frozenset({"inherited", "unspecified", "public_access_prevention_unspecified"})


class PublicMember(NamedTuple):
    """One grant of a role to allUsers or allAuthenticatedUsers."""

    role: str
    """Granted role, such as roles/storage.objectViewer."""

    member: str
    """Either allUsers or allAuthenticatedUsers."""

    conditional: bool = False
    """True when the binding has an IAM condition, so the grant may apply only some of the time."""


def public_members(iam_policy: Mapping[str, Any] | None) -> list[PublicMember]:
    """List the (role, member, conditional) grants to allUsers and allAuthenticatedUsers, in binding order.

    A policy of None or without bindings grants nothing. A binding with a condition is still
    listed, marked conditional, because its condition limits when or on which resources the
    grant applies but still grants the role to the public member.
    """
    if iam_policy is None:
        return []
    if not isinstance(iam_policy, Mapping):
        raise ValueError(f"invalid IAM policy: expected an object, got {type(iam_policy).__name__}")

    bindings = iam_policy.get("bindings")
    if bindings is None:
        return []
    if not isinstance(bindings, list | tuple):
        raise ValueError(f"invalid IAM policy: bindings is {bindings!r}, expected a list")

    found: list[PublicMember] = []
    for index, binding in enumerate(bindings):
        context = f"IAM policy bindings[{index}]"
        if not isinstance(binding, Mapping):
            raise ValueError(f"{context}: expected an object, got {type(binding).__name__}")

        role = binding.get("role")
        if not isinstance(role, str) or not role:
            raise ValueError(f"{context}: invalid role {role!r}, expected a role name such as roles/viewer")
        members = binding.get("members") or []
        if not isinstance(members, list | tuple):
            raise ValueError(f"{context}: invalid members {members!r}, expected a list")

        conditional = binding.get("condition") is not None
        for member in members:
            if member in PUBLIC_MEMBERS:
                found.append(PublicMember(role=role, member=member, conditional=conditional))
    return found


def bucket_public(iam_policy: Mapping[str, Any] | None, public_access_prevention: str | None) -> Verdict:
    """Decide whether the bucket's IAM policy grants a role to allUsers or allAuthenticatedUsers.

    `public_access_prevention` is the bucket's iamConfiguration.publicAccessPrevention. When it
    is "enforced", Cloud Storage blocks access through every such grant, so the verdict does not match
    whatever the bindings grant. "inherited", "unspecified" and None leave the bindings in force.
    The verdict's `statements` name the public grants as "ROLE: MEMBER".
    """
    # NOTE: an organization policy constraint (storage.publicAccessPrevention) can enforce
    # prevention for a bucket that reports "inherited", and legacy object ACLs can make objects
    # public when uniform bucket-level access is off. Neither is visible to this function.
    enforced = _prevention_enforced(public_access_prevention)
    grants = public_members(iam_policy)
    labels = tuple(_label(grant) for grant in grants)

    if not grants:
        return Verdict(matched=False, detail="No binding grants a role to allUsers or allAuthenticatedUsers.")
    if enforced:
        return Verdict(
            matched=False,
            statements=labels,
            detail=f"Public access prevention is enforced, so the bucket is not public despite {labels[0]}.",
        )

    detail = f"The IAM policy grants {labels[0]}"
    if len(labels) > 1:
        detail += f" and {len(labels) - 1} more public grant(s)"
    return Verdict(matched=True, statements=labels, detail=detail + ".")


def _prevention_enforced(value: str | None) -> bool:
    if value is None:
        return False
    if not isinstance(value, str) or value.strip().lower() not in _NOT_ENFORCED | {_ENFORCED}:
        raise ValueError(
            f"invalid publicAccessPrevention {value!r}: expected 'enforced', 'inherited' or 'unspecified'"
        )
    return value.strip().lower() == _ENFORCED


def _label(grant: PublicMember) -> str:
    suffix = " (conditional)" if grant.conditional else ""
    return f"{grant.role}: {grant.member}{suffix}"
