"""Roles granted to members in a GCP IAM allow policy: the grants behind the service account and KMS rules.

The functions read a policy in the shape that getIamPolicy and Cloud Asset Inventory return
(``bindings`` of ``role``, ``members`` and an optional ``condition``). A binding with a condition still
counts as a grant, marked conditional, because it grants the role whenever the condition holds. Members
of deleted principals (``deleted:user:...``) grant nothing and are skipped. Malformed input raises
ValueError, because guessing would hide or invent a grant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

__all__ = [
    "Grant",
    "admin_role",
    "google_managed_service_account",
    "grants",
    "logging_writer_grants",
    "members_holding_both",
    "role_grants",
    "service_account_admin_grants",
]

SERVICE_ACCOUNT_PREFIX = "serviceAccount:"

# Service agents: service accounts that Google creates and grants roles to so that a service can act in
# the project, folder or organization. Google documents that removing their roles breaks the service, so
# they are not judged. They live in Google's own domains, or are named service-PROJECT_NUMBER (and
# service-org-NUMBER or service-folder-NUMBER for the agents of organizations and folders, such as
# Security Command Center's) in a service's IAM domain.
_AGENT_DOMAINS = frozenset({"cloudservices.gserviceaccount.com", "system.gserviceaccount.com"})
_AGENT_DOMAIN_PREFIX = "gcp-sa-"
_AGENT_LOCAL_PART = re.compile(r"service-(?:org-|folder-)?\d+")

# The identities under which Cloud Logging writes sink exports to Cloud Storage: the Logging service
# agents in the gcp-sa-logging domain (current and per-sink), and the shared legacy identities.
_LOGGING_DOMAIN = "gcp-sa-logging.iam.gserviceaccount.com"
_LEGACY_LOGGING_WRITERS = frozenset({
    "group:cloud-logs@google.com",
    "serviceAccount:cloud-logs@system.gserviceaccount.com",
})


class Grant(NamedTuple):
    """One role granted to one member by a binding."""

    role: str
    member: str
    conditional: bool = False
    """True when the binding has an IAM condition, so the grant may apply only some of the time."""

    def describe(self) -> str:
        """Return "ROLE: MEMBER", marked when conditional."""
        suffix = " (conditional)" if self.conditional else ""
        return f"{self.role}: {self.member}{suffix}"


def grants(iam_policy: Mapping[str, Any]) -> Iterator[Grant]:
    """Yield every (role, member) grant of a policy, in binding order; raise ValueError when malformed."""
    if not isinstance(iam_policy, Mapping):
        raise ValueError(f"invalid IAM policy: expected an object, got {type(iam_policy).__name__}")
    bindings = iam_policy.get("bindings")
    if bindings is None:
        return
    if not isinstance(bindings, list | tuple):
        raise ValueError(f"invalid IAM policy: bindings is {bindings!r}, expected a list")

    for index, binding in enumerate(bindings):
        context = f"IAM policy bindings[{index}]"
        if not isinstance(binding, Mapping):
            raise ValueError(f"{context}: expected an object, got {type(binding).__name__}")
        role = binding.get("role")
        if not isinstance(role, str) or not role:
            raise ValueError(f"{context}: invalid role {role!r}, expected a role name such as roles/viewer")
        members = binding.get("members") or []
        if not isinstance(members, list | tuple) or not all(isinstance(member, str) for member in members):
            raise ValueError(f"{context}: invalid members {members!r}, expected a list of strings")

        conditional = binding.get("condition") is not None
        for member in members:
            if not member.startswith("deleted:"):
                yield Grant(role=role, member=member, conditional=conditional)


def role_grants(iam_policy: Mapping[str, Any], roles: Iterable[str]) -> list[Grant]:
    """List the grants of any of `roles`, in binding order."""
    selected = frozenset(roles)
    return [grant for grant in grants(iam_policy) if grant.role in selected]


def admin_role(role: str) -> bool:
    """Tell whether a role is Owner, Editor, or a role whose name ends in "admin" in any case.

    The name test covers predefined roles (roles/compute.admin, roles/iam.serviceAccountAdmin) and
    custom roles alike (projects/P/roles/networkAdmin); a custom role named otherwise is not recognised.
    """
    if role in ("roles/owner", "roles/editor"):
        return True
    last = role.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
    return last.casefold().endswith("admin")


def google_managed_service_account(member: str) -> bool:
    """Tell whether a member is a Google-managed service agent rather than a service account users manage.

    Default service accounts that users manage (PROJECT_NUMBER-compute@developer.gserviceaccount.com,
    PROJECT_ID@appspot.gserviceaccount.com) are not service agents.
    """
    if not member.startswith(SERVICE_ACCOUNT_PREFIX):
        return False
    local, _, domain = member.removeprefix(SERVICE_ACCOUNT_PREFIX).partition("@")
    domain = domain.lower()
    if domain in _AGENT_DOMAINS or domain.startswith(_AGENT_DOMAIN_PREFIX):
        return True
    return bool(_AGENT_LOCAL_PART.fullmatch(local)) and domain.endswith(".iam.gserviceaccount.com")


def service_account_admin_grants(iam_policy: Mapping[str, Any]) -> list[Grant]:
    """List the grants of Owner, Editor or an admin role to service accounts that users manage."""
    return [
        grant for grant in grants(iam_policy)
        if grant.member.startswith(SERVICE_ACCOUNT_PREFIX)
        and not google_managed_service_account(grant.member)
        and admin_role(grant.role)
    ]


def members_holding_both(iam_policy: Mapping[str, Any], first_roles: Iterable[str],
                         second_roles: Iterable[str]) -> list[tuple[str, str, str]]:
    """List (member, first role, second role) for each member granted a role of each set.

    A member is reported once, with the first role of each set found in binding order.
    """
    first = frozenset(first_roles)
    second = frozenset(second_roles)
    held_first: dict[str, str] = {}
    held_second: dict[str, str] = {}
    for grant in grants(iam_policy):
        if grant.role in first:
            held_first.setdefault(grant.member, grant.role)
        if grant.role in second:
            held_second.setdefault(grant.member, grant.role)
    return [(member, role, held_second[member]) for member, role in held_first.items() if member in held_second]


def logging_writer_grants(iam_policy: Mapping[str, Any]) -> list[Grant]:
    """List the grants to the identities under which Cloud Logging sinks write to Cloud Storage.

    A bucket whose policy grants a role to one of them is, in all likelihood, a sink destination.
    """
    found = []
    for grant in grants(iam_policy):
        member = grant.member
        domain = member.rpartition("@")[2].lower()
        logging_agent = member.startswith(SERVICE_ACCOUNT_PREFIX) and domain == _LOGGING_DOMAIN
        if logging_agent or member in _LEGACY_LOGGING_WRITERS:
            found.append(grant)
    return found
