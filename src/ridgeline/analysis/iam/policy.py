"""Answer static questions about AWS IAM policies for rules.

Rules ask whether a bucket, queue, key or trust policy is public, whether it grants access to other
accounts, and whether an identity policy grants administrator or service-wide rights. Each function
follows the IAM evaluation logic, in which an explicit Deny beats any Allow. Only an unconditional Deny is
counted, because without a request context we cannot tell when a conditional one applies.
Conditions on an Allow are judged by their form alone, in :mod:`ridgeline.analysis.iam.conditions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ridgeline.analysis.iam.conditions import describe_conditions, find_restrictions
from ridgeline.analysis.iam.document import PolicyDocument, PolicyParseError, Statement, parse_policy
from ridgeline.analysis.iam.patterns import PatternSet, exists_string, wildcard_match

__all__ = [
    "PolicyDocument",
    "PolicyParseError",
    "Statement",
    "Verdict",
    "action_matches",
    "allows_actions",
    "allows_admin",
    "allows_service_wildcard",
    "cross_account_access",
    "parse_policy",
    "public_access",
    "resource_matches",
]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to one question about a policy, with the evidence behind it."""

    matched: bool
    statements: tuple[str, ...] = ()  # Sid, or "Statement[i]", of each statement that caused the match
    # One sentence on the first matching statement (or on why none matched), then a count of the others.
    detail: str = ""


_EVERYONE: Final = "*"
_PUBLIC: Final[tuple[str, str]] = ("AWS", _EVERYONE)
_ALL_ACTIONS: Final = PatternSet(("*",))
_ACCOUNT_ID: Final = re.compile(r"\d{12}")
_ACCOUNT_ROOT_ARN: Final = re.compile(r"arn:[^:]+:iam::(\d{12}):root")
_LISTED_ITEMS: Final = 3
_NO_POLICY: Final = "There is no policy, so nothing is granted."

# A grantee is one principal entry (type, value), _PUBLIC for everyone, or None for the identity that
# an identity-based policy is attached to, since such a policy has no Principal element.
_Grantee = tuple[str, str] | None


# Matching


def action_matches(pattern: str, action: str) -> bool:
    """Return whether an IAM action pattern such as ``s3:Get*`` matches `action`, ignoring case."""
    return wildcard_match(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    """Return whether an IAM resource pattern matches `resource`, case-sensitively as ARNs require."""
    return wildcard_match(pattern, resource, ignore_case=False)


def _action_set(statement: Statement) -> PatternSet:
    if statement.actions is not None:
        return PatternSet(statement.actions)
    return PatternSet(statement.not_actions or (), negated=True)


def _resource_set(statement: Statement) -> PatternSet:
    # A statement without Resource (a trust policy, for instance) applies to the resource it is attached to.
    if statement.resources is not None:
        return PatternSet(statement.resources)
    if statement.not_resources is not None:
        return PatternSet(statement.not_resources, negated=True)
    return PatternSet((_EVERYONE,))


def _is_all_actions(pattern: str) -> bool:
    # "*" and "*:*" both match every action, since every action name has exactly one ":".
    return set(pattern.replace(":", "", 1)) == {"*"}


def _is_service_wildcard(pattern: str) -> bool:
    service, _, action = pattern.partition(":")
    return bool(service) and not any(char in service for char in "*?") and set(action) == {"*"}


# Principals


def _names_everyone(principals: Mapping[str, tuple[str, ...]]) -> bool:
    # Only {"AWS": "*"} is documented, but "*" under any principal type is read as everyone to stay safe.
    return any(_EVERYONE in values for values in principals.values())


def _account_of(principal_type: str, value: str) -> str | None:
    """Return the AWS account id behind an AWS or Federated principal, or None when it names none."""
    if principal_type.lower() not in ("aws", "federated"):
        return None
    if _ACCOUNT_ID.fullmatch(value):
        return value

    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and _ACCOUNT_ID.fullmatch(parts[4]):
        return parts[4]
    # NOTE: unique ids such as "AIDA..." (left behind when a principal is deleted), CanonicalUser ids
    # and web identity providers name no account that can be read from the policy alone.
    return None


def _principal_key(principal_type: str, value: str) -> tuple[str, str]:
    # "123456789012" and "arn:aws:iam::123456789012:root" name the same account principal.
    lowered_type = principal_type.lower()
    if lowered_type == "aws":
        match = _ACCOUNT_ROOT_ARN.fullmatch(value)
        if match:
            return (lowered_type, match.group(1))
    return (lowered_type, value)


def _lists_principal(principals: Mapping[str, tuple[str, ...]], grantee: tuple[str, str]) -> bool:
    """Return whether a Principal or NotPrincipal element names `grantee` itself or its whole account."""
    grantee_key = _principal_key(*grantee)
    account = _account_of(*grantee) if grantee_key[0] == "aws" else None
    for principal_type, values in principals.items():
        for value in values:
            key = _principal_key(principal_type, value)
            if key == grantee_key or (account is not None and key == ("aws", account)):
                return True
    return False


def _grantees(statement: Statement) -> list[_Grantee]:
    if statement.not_principal is not None:
        # Allow with NotPrincipal grants everyone outside the list, and a list with "*" excludes everyone.
        return [] if _names_everyone(statement.not_principal) else [_PUBLIC]
    if statement.principal is None:
        return [None]
    if _names_everyone(statement.principal):
        return [_PUBLIC]
    return [(principal_type, value) for principal_type, values in statement.principal.items() for value in values]


# Explicit Deny


def _deny_covers(deny: Statement, grantee: _Grantee, *, for_public: bool) -> bool:
    """Return whether `deny` applies to every caller that `grantee` stands for.

    With `for_public`, a Deny with NotPrincipal counts as closing a grant to everyone, because only
    the fixed principals it lists keep access. That is right for "is it public" and "which accounts
    keep access", but wrong for "does anyone keep access".
    """
    if deny.principal is None and deny.not_principal is None:
        return True

    if deny.principal is not None:
        if _names_everyone(deny.principal):
            return True
        return grantee is not None and grantee != _PUBLIC and _lists_principal(deny.principal, grantee)

    assert deny.not_principal is not None
    if _names_everyone(deny.not_principal) or grantee is None:
        return False
    if grantee == _PUBLIC:
        return for_public
    # NOTE: a principal whose account is listed counts as exempt, which may over-report: IAM documents
    # that NotPrincipal should list both the account and the principal.
    return not _lists_principal(deny.not_principal, grantee)


def _applicable_denies(
    policy: PolicyDocument,
    allow: Statement,
    grantee: _Grantee,
    *,
    resource: str | None,
    for_public: bool,
) -> list[tuple[int, Statement]]:
    """Return the unconditional Deny statements that apply to `grantee` wherever `allow` grants access.

    With a `resource` the Deny must match that resource, otherwise it must cover every resource
    that `allow` names. Action overlap is left to the caller.
    """
    denies: list[tuple[int, Statement]] = []
    for index, deny in enumerate(policy.statements):
        if deny.effect != "Deny" or deny.conditions:
            continue
        if not _deny_covers(deny, grantee, for_public=for_public):
            continue

        if resource is not None:
            if not _resource_set(deny).contains(resource, ignore_case=False):
                continue
        elif exists_string([_resource_set(allow)], [_resource_set(deny)], ignore_case=False):
            continue
        denies.append((index, deny))
    return denies


def _actions_remain(query: PatternSet, allow: Statement, denies: Sequence[tuple[int, Statement]]) -> bool:
    """Return whether some action in `query` is allowed by `allow` and denied by none of `denies`."""
    denied_patterns = tuple(pattern for _, deny in denies if deny.actions is not None for pattern in deny.actions)
    forbidden = [PatternSet(denied_patterns)] if denied_patterns else []
    forbidden += [PatternSet(deny.not_actions, negated=True) for _, deny in denies if deny.not_actions is not None]
    return exists_string([query, _action_set(allow)], forbidden, ignore_case=True)


def _survives_for_some_grantee(
    policy: PolicyDocument, allow: Statement, query: PatternSet, *, resource: str | None
) -> bool:
    for grantee in _grantees(allow):
        denies = _applicable_denies(policy, allow, grantee, resource=resource, for_public=False)
        if _actions_remain(query, allow, denies):
            return True
    return False


# Wording of verdicts


def _label(index: int, statement: Statement) -> str:
    return statement.sid if statement.sid else f"Statement[{index}]"


def _display_name(index: int, statement: Statement) -> str:
    return f"Statement {statement.sid!r}" if statement.sid else f"Statement[{index}]"


def _join_limited(items: Sequence[str]) -> str:
    listed = list(items[:_LISTED_ITEMS])
    hidden = len(items) - len(listed)
    if hidden:
        return f"{', '.join(listed)} and {hidden} more"
    if len(listed) > 1:
        return f"{', '.join(listed[:-1])} and {listed[-1]}"
    return listed[0] if listed else "none"


def _action_element(statement: Statement) -> str:
    if statement.actions is not None:
        return _join_limited(statement.actions)
    return f"every action except {_join_limited(statement.not_actions or ())} (NotAction)"


def _audience(statement: Statement) -> str:
    if statement.not_principal is not None:
        excepted = [value for values in statement.not_principal.values() for value in values]
        return f"every principal except {_join_limited(excepted)} (NotPrincipal)"
    return "Principal '*'"


def _all_resources_scope(statement: Statement) -> str | None:
    """Return how a statement reaches every resource ("Resource '*'"), or None when it does not."""
    if statement.resources is not None and any(set(pattern) == {"*"} for pattern in statement.resources):
        return "Resource '*'"
    if statement.not_resources is not None and exists_string([_resource_set(statement)], ignore_case=False):
        return f"every resource except {_join_limited(statement.not_resources)} (NotResource)"
    return None


def _when_conditions_hold(statement: Statement) -> str:
    if not statement.conditions:
        return ""
    return f" when its conditions hold ({describe_conditions(statement.conditions)})"


def _matched(findings: Sequence[tuple[str, str]]) -> Verdict:
    labels = tuple(label for label, _ in findings)
    detail = findings[0][1] + "."
    if len(findings) > 1:
        others = ", ".join(repr(label) for label in labels[1:])
        detail += f" {len(findings) - 1} more statement(s) also match: {others}."
    return Verdict(matched=True, statements=labels, detail=detail)


def _requested_actions(actions: Iterable[str] | None) -> tuple[str, ...] | None:
    if actions is None:
        return None
    # A lone string is a common slip for a one-item list; iterating it would yield single characters.
    names = (actions,) if isinstance(actions, str) else tuple(actions)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"action names must be non-empty strings such as 's3:GetObject', got {name!r}")
    return tuple(name.strip() for name in names)


def _validated_account(value: str, argument: str) -> str:
    account = str(value).strip()
    if not _ACCOUNT_ID.fullmatch(account):
        raise ValueError(f"{argument} must contain 12-digit AWS account ids, got {value!r}")
    return account


# Questions


def public_access(policy: PolicyDocument | None, *, actions: Iterable[str] | None = None) -> Verdict:
    """Decide whether a resource policy grants access to anyone, following the Amazon S3 meaning of public.

    A statement is public when it allows Principal "*" (or uses Allow with NotPrincipal), no condition
    pins the caller to fixed values, and no unconditional Deny for everyone takes the access back.
    With `actions` (patterns such as ``s3:Get*``) only grants of matching actions count.
    """
    if policy is None:
        return Verdict(matched=False, detail=_NO_POLICY)

    requested = _requested_actions(actions)
    query = _ALL_ACTIONS if requested is None else PatternSet(tuple(name.lower() for name in requested))

    findings: list[tuple[str, str]] = []
    reasons: list[str] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow" or _PUBLIC not in _grantees(statement):
            continue
        if not exists_string([query, _action_set(statement)], ignore_case=True):
            continue

        name = _display_name(index, statement)
        audience = _audience(statement)
        restrictions = find_restrictions(statement.conditions)
        if restrictions:
            reasons.append(f"{name} grants access to {audience} but only where {restrictions[0].describe()}")
            continue

        denies = _applicable_denies(policy, statement, _PUBLIC, resource=None, for_public=True)
        if not _actions_remain(query, statement, denies):
            deny_names = _join_limited([_display_name(deny_index, deny) for deny_index, deny in denies])
            reasons.append(f"{name} grants access to {audience} but {deny_names} denies it unconditionally")
            continue

        if requested is None:
            granted = _action_element(statement)
        else:
            remaining = [
                action for action in requested if _actions_remain(PatternSet((action.lower(),)), statement, denies)
            ]
            granted = _join_limited(remaining)
        if statement.conditions:
            unrestricted = (
                f"and its conditions ({describe_conditions(statement.conditions)}) do not restrict the caller"
            )
        else:
            unrestricted = "without a restricting condition"
        findings.append((_label(index, statement), f"{name} allows {granted} to {audience} {unrestricted}"))

    if findings:
        return _matched(findings)
    if reasons:
        return Verdict(matched=False, detail=reasons[0] + ".")
    requested_phrase = "access" if requested is None else _join_limited(requested)
    detail = f"No Allow statement grants {requested_phrase} to Principal '*' or through NotPrincipal."
    return Verdict(matched=False, detail=detail)


def cross_account_access(
    policy: PolicyDocument | None,
    *,
    owner_account: str,
    trusted_accounts: Iterable[str] = (),
) -> Verdict:
    """Decide whether a resource policy grants access to accounts other than the owner and the trusted ones.

    Account principals, IAM and STS principal ARNs and SAML or OIDC provider ARNs are attributed to
    their account; a public grant counts as well. Service principals are not cross-account.
    """
    owner = _validated_account(owner_account, "owner_account")
    trusted_list = (trusted_accounts,) if isinstance(trusted_accounts, str) else tuple(trusted_accounts)
    known = frozenset({owner, *(_validated_account(account, "trusted_accounts") for account in trusted_list)})
    if policy is None:
        return Verdict(matched=False, detail=_NO_POLICY)

    findings: list[tuple[str, str]] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow":
            continue

        outsiders: list[str] = []
        for grantee in _grantees(statement):
            if grantee is None:
                continue
            if grantee == _PUBLIC:
                outsiders.extend(_public_outsiders(policy, statement, known))
                continue

            account = _account_of(*grantee)
            if account is None or account in known:
                continue
            denies = _applicable_denies(policy, statement, grantee, resource=None, for_public=True)
            if _actions_remain(_ALL_ACTIONS, statement, denies):
                outsiders.append(f"{grantee[1]} (account {account})")

        if outsiders:
            findings.append(
                (
                    _label(index, statement),
                    f"{_display_name(index, statement)} allows {_action_element(statement)} to "
                    f"{_join_limited(outsiders)}, outside the owner account {owner} and the trusted accounts",
                )
            )

    if findings:
        return _matched(findings)
    detail = f"No Allow statement grants access outside the owner account {owner} and the trusted accounts."
    return Verdict(matched=False, detail=detail)


def _public_outsiders(policy: PolicyDocument, statement: Statement, known: frozenset[str]) -> list[str]:
    """Describe who outside `known` can use a statement that allows everyone."""
    denies = _applicable_denies(policy, statement, _PUBLIC, resource=None, for_public=True)
    if not _actions_remain(_ALL_ACTIONS, statement, denies):
        # Only the principals that a NotPrincipal Deny exempts keep access; report those outside `known`.
        outsiders: list[str] = []
        for _, deny in denies:
            for principal_type, values in (deny.not_principal or {}).items():
                for value in values:
                    account = _account_of(principal_type, value)
                    if account is not None and account not in known:
                        outsiders.append(f"{value} (account {account})")
        return outsiders

    restrictions = find_restrictions(statement.conditions)
    if not restrictions:
        return [f"{_audience(statement)}, which includes every account"]

    named = [restriction.accounts() for restriction in restrictions]
    account_sets = [accounts for accounts in named if accounts is not None]
    if not account_sets:
        # NOTE: a grant pinned by organization, VPC, VPC endpoint, source IP or user id is not
        # reported, because the accounts behind those values are not in the policy.
        return []
    # Conditions hold together, so a caller's account must be in every set at once.
    admitted = frozenset.intersection(*account_sets)
    return [f"callers from account {account} (by condition)" for account in sorted(admitted - known)]


def allows_admin(policy: PolicyDocument | None) -> Verdict:
    """Decide whether an Allow grants every action ("*" or "*:*") on every resource.

    An Allow with NotAction on Resource "*", and one with "*" on a NotResource list, count too,
    because such a statement grants everything outside a short list.
    """
    if policy is None:
        return Verdict(matched=False, detail=_NO_POLICY)

    findings: list[tuple[str, str]] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow":
            continue
        scope = _all_resources_scope(statement)
        if scope is None:
            continue

        if statement.actions is None:
            granted = _action_element(statement)
        else:
            every = [pattern for pattern in statement.actions if _is_all_actions(pattern)]
            if not every:
                continue
            granted = f"all actions ('{every[0]}')"

        if not _survives_for_some_grantee(policy, statement, _ALL_ACTIONS, resource=None):
            continue
        sentence = f"{_display_name(index, statement)} allows {granted} on {scope}"
        findings.append((_label(index, statement), sentence + _when_conditions_hold(statement)))

    if findings:
        return _matched(findings)
    return Verdict(matched=False, detail="No Allow statement grants all actions on all resources.")


def allows_service_wildcard(policy: PolicyDocument | None, service: str | None = None) -> Verdict:
    """Decide whether an Allow grants every action of a service (``s3:*``) on every resource.

    With `service` (a prefix such as "s3") only that service counts, however the grant is written,
    including "*". Without it, any Action of the form ``service:*`` or "*" counts, and so does NotAction.
    """
    prefix = None if service is None else _validated_service(service)
    if policy is None:
        return Verdict(matched=False, detail=_NO_POLICY)

    findings: list[tuple[str, str]] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow":
            continue
        scope = _all_resources_scope(statement)
        if scope is None:
            continue

        if prefix is not None:
            query = PatternSet((f"{prefix}:*",))
            # Every action of the service must be granted, so no action of it may fall outside the statement.
            if exists_string([query], [_action_set(statement)], ignore_case=True):
                continue
            granted = f"every {prefix} action ({_action_element(statement)})"
        elif statement.actions is not None:
            wildcards = tuple(
                pattern for pattern in statement.actions if _is_service_wildcard(pattern) or _is_all_actions(pattern)
            )
            if not wildcards:
                continue
            query = PatternSet(wildcards)
            granted = _join_limited(wildcards)
        else:
            query = _ALL_ACTIONS
            granted = _action_element(statement)

        if not _survives_for_some_grantee(policy, statement, query, resource=None):
            continue
        sentence = f"{_display_name(index, statement)} allows {granted} on {scope}"
        findings.append((_label(index, statement), sentence + _when_conditions_hold(statement)))

    if findings:
        return _matched(findings)
    requested_phrase = "a service-wide wildcard such as 's3:*'" if prefix is None else f"every {prefix} action"
    return Verdict(matched=False, detail=f"No Allow statement grants {requested_phrase} on all resources.")


def _validated_service(service: str) -> str:
    prefix = service.strip().lower()
    if not prefix or any(char in prefix for char in ":*?"):
        raise ValueError(f"service must be a service prefix such as 's3' or 'iam', got {service!r}")
    return prefix


def allows_actions(policy: PolicyDocument | None, actions: Iterable[str], *, resource: str = "*") -> Verdict:
    """Decide whether an Allow grants one of `actions` on `resource`, after unconditional Deny statements.

    `resource` is compared as a literal value with each statement's Resource patterns. So the default
    "*" matches only statements that grant on every resource, and "arn:aws:iam::*:role/*" is not one. Conditional
    grants count, and the verdict names their conditions.
    """
    requested = _requested_actions(actions) or ()
    if policy is None:
        return Verdict(matched=False, detail=_NO_POLICY)

    findings: list[tuple[str, str]] = []
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Allow" or not _resource_set(statement).contains(resource, ignore_case=False):
            continue

        granted: list[str] = []
        grantees = _grantees(statement)
        denies_by_grantee = [
            _applicable_denies(policy, statement, grantee, resource=resource, for_public=False) for grantee in grantees
        ]
        for action in requested:
            query = PatternSet((action.lower(),))
            if any(_actions_remain(query, statement, denies) for denies in denies_by_grantee):
                granted.append(action)

        if granted:
            findings.append(
                (
                    _label(index, statement),
                    f"{_display_name(index, statement)} allows {_join_limited(granted)} on Resource "
                    f"'{resource}'{_when_conditions_hold(statement)}",
                )
            )

    if findings:
        return _matched(findings)
    return Verdict(
        matched=False,
        detail=f"No Allow statement grants {_join_limited(requested)} on Resource '{resource}'.",
    )
