"""The IAM policy document model and its parser.

Policies arrive as mappings (boto3), JSON strings (S3, SQS, SNS, KMS, ECR) or URL-encoded JSON (IAM
and AWS Config). :func:`parse_policy` turns each into a :class:`PolicyDocument` whose elements are
normalised once, so the analyses in :mod:`ridgeline.analysis.iam.policy` never re-check their shape.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

__all__ = ["PolicyDocument", "PolicyParseError", "Statement", "parse_policy"]

_EVERYONE: Final = "*"
_EFFECTS: Final = {"allow": "Allow", "deny": "Deny"}


class PolicyParseError(ValueError):
    """Raised when a policy document is not valid JSON or not a valid IAM policy."""


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy statement with its elements normalised for analysis."""

    sid: str | None
    effect: str  # "Allow" or "Deny"
    # Principal type ("AWS", "Service", "Federated", "CanonicalUser") to values. "*" becomes {"AWS": ("*",)}.
    principal: Mapping[str, tuple[str, ...]] | None
    not_principal: Mapping[str, tuple[str, ...]] | None
    actions: tuple[str, ...] | None  # lower-cased, or None when the statement uses NotAction
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None  # both None when the statement names no resource
    not_resources: tuple[str, ...] | None
    # Condition operator as written, to condition key (lower-cased), to values as strings.
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A parsed policy: its statements in document order."""

    statements: tuple[Statement, ...]


def parse_policy(document: str | Mapping[str, Any] | None) -> PolicyDocument | None:
    """Parse a policy from a mapping, a JSON string or the URL-encoded JSON that IAM and AWS Config return.

    Returns None for None or an empty string. A document without a Statement element grants nothing
    and parses to an empty PolicyDocument. Raises PolicyParseError naming the part that is invalid.
    """
    if document is None:
        return None

    if isinstance(document, str):
        data = _load_json(document)
        if data is None:
            return None
    elif isinstance(document, Mapping):
        data = document
    else:
        raise PolicyParseError(f"policy document must be a JSON string or a mapping, got {type(document).__name__}")

    if not isinstance(data, Mapping):
        raise PolicyParseError(f"policy document must be a JSON object, got {type(data).__name__}")

    raw_statements = data.get("Statement")
    if raw_statements is None:
        return PolicyDocument(statements=())
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list | tuple):
        raise PolicyParseError(
            f"policy Statement must be an object or a list of objects, got {type(raw_statements).__name__}"
        )

    statements = tuple(_parse_statement(raw, index) for index, raw in enumerate(raw_statements))
    return PolicyDocument(statements=statements)


def _load_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None

    # IAM's GetPolicyVersion and AWS Config return policy documents URL-encoded ("%7B%22Version...").
    if text.startswith("%"):
        text = urllib.parse.unquote(text).strip()

    data = _decode(text)
    # Some exports store the policy as a JSON string inside JSON, so unwrap one level of that.
    if isinstance(data, str):
        data = _decode(data.strip())
    return data


def _decode(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        excerpt = text if len(text) <= 60 else text[:57] + "..."
        # Some messages of the json module end with "at" ("Invalid control character at").
        problem = error.msg.removesuffix(" at")
        raise PolicyParseError(
            f"policy document is not valid JSON: {problem} at line {error.lineno} column {error.colno} in {excerpt!r}"
        ) from error


def _parse_statement(raw: Any, index: int) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyParseError(f"{where} must be a JSON object, got {type(raw).__name__}")

    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyParseError(f"{where} has an invalid Sid {sid!r}, expected a string")
    if sid:
        where = f"{where} (Sid {sid!r})"

    effect = raw.get("Effect")
    if effect is None:
        raise PolicyParseError(f'{where} is missing Effect, which must be "Allow" or "Deny"')
    normalised_effect = _EFFECTS.get(effect.lower()) if isinstance(effect, str) else None
    if normalised_effect is None:
        raise PolicyParseError(f'{where} has an invalid Effect {effect!r}, expected "Allow" or "Deny"')

    principal = _parse_principal(raw.get("Principal"), f"{where} Principal")
    not_principal = _parse_principal(raw.get("NotPrincipal"), f"{where} NotPrincipal")
    if principal is not None and not_principal is not None:
        raise PolicyParseError(f"{where} has both Principal and NotPrincipal, but a statement may use only one")

    actions = _parse_strings(raw.get("Action"), f"{where} Action")
    not_actions = _parse_strings(raw.get("NotAction"), f"{where} NotAction")
    if actions is not None and not_actions is not None:
        raise PolicyParseError(f"{where} has both Action and NotAction, but a statement may use only one")
    if actions is None and not_actions is None:
        raise PolicyParseError(f"{where} is missing Action (or NotAction)")

    resources = _parse_strings(raw.get("Resource"), f"{where} Resource")
    not_resources = _parse_strings(raw.get("NotResource"), f"{where} NotResource")
    if resources is not None and not_resources is not None:
        raise PolicyParseError(f"{where} has both Resource and NotResource, but a statement may use only one")

    return Statement(
        sid=sid or None,
        effect=normalised_effect,
        principal=principal,
        not_principal=not_principal,
        actions=None if actions is None else tuple(action.lower() for action in actions),
        not_actions=None if not_actions is None else tuple(action.lower() for action in not_actions),
        resources=resources,
        not_resources=not_resources,
        conditions=_parse_conditions(raw.get("Condition"), f"{where} Condition"),
    )


def _parse_strings(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyParseError(f"{where} must be a string or a list of strings, got {value!r}")


def _parse_principal(value: Any, where: str) -> Mapping[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if value == _EVERYONE:
        return MappingProxyType({"AWS": (_EVERYONE,)})
    if not isinstance(value, Mapping):
        raise PolicyParseError(
            f'{where} must be "*" or an object such as {{"AWS": "arn:aws:iam::123456789012:root"}}, got {value!r}'
        )

    principals: dict[str, tuple[str, ...]] = {}
    for principal_type, entries in value.items():
        parsed = _parse_strings(entries, f"{where} {principal_type}")
        principals[str(principal_type)] = () if parsed is None else parsed
    return MappingProxyType(principals)


def _parse_conditions(value: Any, where: str) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise PolicyParseError(f"{where} must be an object of condition operators, got {value!r}")

    conditions: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for operator, keys in value.items():
        if not isinstance(keys, Mapping):
            raise PolicyParseError(f"{where} {operator} must be an object of condition keys, got {keys!r}")

        # IAM compares condition keys case-insensitively, so keys that differ only in case are merged.
        values_by_key: dict[str, tuple[str, ...]] = {}
        for key, values in keys.items():
            lowered = str(key).lower()
            parsed = _parse_condition_values(values, f"{where} {operator} {key}")
            values_by_key[lowered] = values_by_key.get(lowered, ()) + parsed
        conditions[str(operator)] = MappingProxyType(values_by_key)
    return MappingProxyType(conditions)


def _parse_condition_values(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    parsed: list[str] = []
    for item in items:
        # bool is checked before int because it is a subclass of int, and JSON true must read "true".
        if isinstance(item, bool):
            parsed.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            parsed.append(str(item))
        else:
            raise PolicyParseError(f"{where} values must be strings, numbers or booleans, got {item!r}")
    return tuple(parsed)
