"""Static reading of IAM Condition blocks: does a condition pin a statement to known callers?

We have no request context, so a condition is judged by its form alone, following the Amazon S3
definition of a public bucket policy ("The meaning of public" in the S3 User Guide). A statement
that grants access to everyone is not public when one of its conditions compares a caller-identifying
key (table ``RESTRICTING_KEYS``) with a positive operator (table ``POSITIVE_OPERATORS``) against fixed
values only.

What does not restrict, and why:

- Negated operators (``StringNotEquals``, ``NotIpAddress``, ...) are true for every other value and
  when the key is absent.
- ``...IfExists`` operators and the ``ForAllValues:`` qualifier are true when the key is absent.
- A value with ``*`` or ``?`` in its identifying part, or with a policy variable such as
  ``${aws:username}``, matches callers the policy author did not name.
- ``aws:SourceIp`` ranges that together cover every IPv4 or every IPv6 address (``0.0.0.0/0``, ``::/0``).
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "POSITIVE_OPERATORS",
    "RESTRICTING_KEYS",
    "KeyKind",
    "OperatorParts",
    "Restriction",
    "describe_conditions",
    "find_restrictions",
    "split_operator",
]

logger = logging.getLogger(__name__)


class KeyKind(enum.Enum):
    """Kind of value a restricting key takes, which decides the part of the value that must be fixed."""

    IDENTIFIER = "identifier"  # VPC, VPC endpoint or organization id: the whole value
    ACCOUNT = "account"  # 12-digit AWS account id: the whole value
    ORGANIZATION_PATH = "organization path"  # o-xxx/r-xxx/ou-xxx/...: the organization id before "/"
    ARN = "ARN"  # the account field of the ARN, or the resource when the account field is empty
    USER_ID = "user id"  # unique id, or "ROLEID:session": the part before ":"
    IP_ADDRESS = "IP address"  # CIDR ranges


# Condition keys (lower-cased, as IAM compares them case-insensitively) that identify the caller, the
# network it calls from, or the resource acting on its behalf.
RESTRICTING_KEYS: Final[Mapping[str, KeyKind]] = MappingProxyType(
    {
        "aws:sourcevpce": KeyKind.IDENTIFIER,
        "aws:sourcevpc": KeyKind.IDENTIFIER,
        "aws:principalorgid": KeyKind.IDENTIFIER,
        "aws:sourceorgid": KeyKind.IDENTIFIER,
        "aws:principalorgpaths": KeyKind.ORGANIZATION_PATH,
        "aws:sourceorgpaths": KeyKind.ORGANIZATION_PATH,
        "aws:principalaccount": KeyKind.ACCOUNT,
        "aws:sourceaccount": KeyKind.ACCOUNT,
        "aws:sourceowner": KeyKind.ACCOUNT,
        "s3:dataaccesspointaccount": KeyKind.ACCOUNT,
        # The key policies of AWS managed KMS keys allow Principal "*" and pin the caller's account with
        # this key, so without it every AWS managed key would read as public.
        "kms:calleraccount": KeyKind.ACCOUNT,
        "aws:sourcearn": KeyKind.ARN,
        "aws:principalarn": KeyKind.ARN,
        "s3:dataaccesspointarn": KeyKind.ARN,
        "aws:userid": KeyKind.USER_ID,
        "aws:sourceip": KeyKind.IP_ADDRESS,
    }
)

_STRING_OPERATORS: Final = frozenset({"stringequals", "stringequalsignorecase", "stringlike"})
_ARN_OPERATORS: Final = frozenset({"arnequals", "arnlike"})

# Base operators (lower-cased, without qualifier or IfExists) that are false when the key is absent
# and true only for the listed values. ARN operators on non-ARN keys are left out because their
# result then depends on how the service parses a non-ARN value.
POSITIVE_OPERATORS: Final[Mapping[KeyKind, frozenset[str]]] = MappingProxyType(
    {
        KeyKind.IDENTIFIER: _STRING_OPERATORS,
        KeyKind.ACCOUNT: _STRING_OPERATORS,
        KeyKind.ORGANIZATION_PATH: _STRING_OPERATORS,
        KeyKind.USER_ID: _STRING_OPERATORS,
        KeyKind.ARN: _STRING_OPERATORS | _ARN_OPERATORS,
        KeyKind.IP_ADDRESS: frozenset({"ipaddress"}),
    }
)

_WILDCARDS: Final = ("*", "?")
_POLICY_VARIABLE_START: Final = "${"


@dataclass(frozen=True, slots=True)
class OperatorParts:
    """A condition operator split into its set qualifier, base operator and IfExists suffix."""

    qualifier: str | None  # "forallvalues", "foranyvalue" or None
    base: str  # lower-cased, e.g. "stringequals"
    if_exists: bool


def split_operator(operator: str) -> OperatorParts:
    """Split a condition operator such as ``ForAnyValue:StringEqualsIfExists`` into its parts."""
    qualifier: str | None = None
    base = operator.strip().lower()
    if ":" in base:
        prefix, base = base.split(":", 1)
        qualifier = prefix

    if_exists = base.endswith("ifexists")
    if if_exists:
        base = base.removesuffix("ifexists")
    return OperatorParts(qualifier=qualifier, base=base, if_exists=if_exists)


@dataclass(frozen=True, slots=True)
class Restriction:
    """One condition that pins a statement to fixed callers."""

    operator: str  # as written in the policy
    key: str  # lower-cased
    kind: KeyKind
    values: tuple[str, ...]

    def describe(self) -> str:
        """Return a short phrase such as ``StringEquals on aws:sourcevpce (vpce-1a2b3c4d)``."""
        return f"{self.operator} on {self.key} ({', '.join(self.values)})"

    def accounts(self) -> frozenset[str] | None:
        """Return the AWS account ids this condition admits, or None when it does not name accounts."""
        if self.kind is KeyKind.ACCOUNT:
            return frozenset(self.values)
        if self.kind is KeyKind.ARN:
            accounts = {_arn_account(value) for value in self.values}
            if "" in accounts:
                # An ARN without an account field (an S3 bucket, for instance) names no account.
                return None
            return frozenset(accounts)
        return None


def _arn_account(value: str) -> str:
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def _has_wildcard(text: str) -> bool:
    return any(wildcard in text for wildcard in _WILDCARDS)


def _is_fixed_text(text: str) -> bool:
    return bool(text) and not _has_wildcard(text)


def _is_fixed_value(kind: KeyKind, value: str) -> bool:
    # A policy variable is replaced by a property of the request, so it never names a fixed caller.
    if _POLICY_VARIABLE_START in value:
        return False

    if kind is KeyKind.ORGANIZATION_PATH:
        return _is_fixed_text(value.split("/", 1)[0])
    if kind is KeyKind.USER_ID:
        return _is_fixed_text(value.split(":", 1)[0])
    if kind is KeyKind.ARN:
        parts = value.split(":", 5)
        if len(parts) < 6:
            return _is_fixed_text(value)
        account, resource = parts[4], parts[5]
        if account:
            return _is_fixed_text(account)
        return _is_fixed_text(resource)
    return _is_fixed_text(value)


def _ranges_are_fixed(values: tuple[str, ...]) -> bool:
    ipv4: list[ipaddress.IPv4Network] = []
    ipv6: list[ipaddress.IPv6Network] = []
    for value in values:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            # An unparsable range cannot be shown to narrow the callers, so treat it as open.
            logger.debug("aws:SourceIp value %r is not an IP address or CIDR range", value)
            return False
        if isinstance(network, ipaddress.IPv4Network):
            ipv4.append(network)
        else:
            ipv6.append(network)

    # Ranges are ORed, so 0.0.0.0/1 and 128.0.0.0/1 together open the statement as much as /0.
    if any(network.prefixlen == 0 for network in ipaddress.collapse_addresses(ipv4)):
        return False
    return not any(network.prefixlen == 0 for network in ipaddress.collapse_addresses(ipv6))


def _restriction_for(operator: str, key: str, values: tuple[str, ...]) -> Restriction | None:
    kind = RESTRICTING_KEYS.get(key)
    if kind is None or not values:
        return None

    parts = split_operator(operator)
    if parts.if_exists or parts.qualifier == "forallvalues":
        return None
    if parts.qualifier not in (None, "foranyvalue"):
        return None
    if parts.base not in POSITIVE_OPERATORS[kind]:
        return None

    # Values of one key are ORed, so a single open value opens the whole condition.
    if kind is KeyKind.IP_ADDRESS:
        fixed = _ranges_are_fixed(values)
    else:
        fixed = all(_is_fixed_value(kind, value) for value in values)
    if not fixed:
        return None
    return Restriction(operator=operator, key=key, kind=kind, values=values)


def find_restrictions(conditions: Mapping[str, Mapping[str, tuple[str, ...]]]) -> tuple[Restriction, ...]:
    """Return every condition in a statement's Condition block that pins the caller to fixed values.

    All condition operators and keys of a statement must hold together, so any one restriction is
    enough to make a grant to everyone non-public.
    """
    restrictions: list[Restriction] = []
    for operator, keys in conditions.items():
        for key, values in keys.items():
            restriction = _restriction_for(operator, key, values)
            if restriction is not None:
                restrictions.append(restriction)
    return tuple(restrictions)


def describe_conditions(conditions: Mapping[str, Mapping[str, tuple[str, ...]]]) -> str:
    """Return a Condition block's operators and keys as a phrase, e.g. ``Bool on aws:securetransport``."""
    phrases = [f"{operator} on {key}" for operator, keys in conditions.items() for key in keys]
    return ", ".join(phrases)
