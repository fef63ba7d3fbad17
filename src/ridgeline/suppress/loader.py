"""Load and validate a suppression file; every problem is reported with its file, line and field.

The file is a mapping with one key, `suppressions`, holding a list of entries (see docs/suppressions.md).
A mistake here would mute the wrong findings or none at all, so anything doubtful is an error: unknown
keys, an entry without a matcher, a rule pattern that matches no loaded rule, an invalid date or regex.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import yaml

from ridgeline.rules.errors import RuleError
from ridgeline.rules.yamlsource import LineDict, load_yaml
from ridgeline.suppress.model import REGEX_PREFIX, Pattern, Suppression

MATCHERS = ("rule", "account", "region", "resource", "resource_pattern", "tags")
_PATTERN_FIELDS = ("rule", "account", "region", "resource_pattern")
_TEXT_FIELDS = ("id", "owner", "ticket")
_ALLOWED = {*MATCHERS, "reason", "expires", *_TEXT_FIELDS}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ACCOUNT_DIGITS = 12


class SuppressionErrors(ValueError):
    """Every problem found in a suppression file."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(error.describe() for error in errors))


def load_suppressions(path: Path, rule_ids: Iterable[str]) -> list[Suppression]:
    """Load the suppressions of one file; raise SuppressionErrors listing every problem.

    `rule_ids` are the rules of the scan: a `rule` matcher that matches none of them is a typo.
    """
    file = str(path)
    document = _read_document(path)
    if document is None:
        document = LineDict()
        document.line, document.key_lines = 1, {}
    if not isinstance(document, LineDict):
        raise SuppressionErrors([RuleError("a suppression file must be a mapping with a 'suppressions' list",
                                           file=file, line=getattr(document, "line", 1))])

    errors: list[RuleError] = []
    for key in sorted(set(document) - {"suppressions"}):
        errors.append(RuleError(f"unknown top-level key {key!r}; a suppression file has only 'suppressions'",
                                file=file, line=document.line_of(key), field=key))
    entries = document.get("suppressions")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        errors.append(RuleError("must be a list of suppressions", file=file, line=document.line_of("suppressions"),
                                field="suppressions"))
        entries = []

    known_rules = sorted(set(rule_ids))
    suppressions: list[Suppression] = []
    seen_ids: dict[str, str] = {}
    item_lines: list[int] = getattr(entries, "item_lines", [])
    for position, item in enumerate(entries):
        line = item_lines[position] if position < len(item_lines) else document.line_of("suppressions")
        if not isinstance(item, LineDict):
            errors.append(RuleError("each suppression must be a mapping", file=file, line=line,
                                    field=f"suppressions[{position}]"))
            continue
        suppression, entry_errors = _build_entry(item, file, position, known_rules)
        errors.extend(entry_errors)
        if suppression is None:
            continue
        if suppression.id and suppression.id in seen_ids:
            errors.append(RuleError(f"duplicate id {suppression.id!r}, first used at {seen_ids[suppression.id]}",
                                    file=file, line=item.line_of("id"), field=f"suppressions[{position}].id"))
            continue
        if suppression.id:
            seen_ids[suppression.id] = suppression.source
        suppressions.append(suppression)

    if errors:
        raise SuppressionErrors(sorted(errors, key=lambda error: error.line))
    return suppressions


def _read_document(path: Path) -> Any:
    try:
        return load_yaml(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise SuppressionErrors([RuleError(f"invalid YAML: {problem}", file=str(path),
                                           line=mark.line + 1 if mark is not None else 0)]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SuppressionErrors([RuleError(f"cannot read file: {error}", file=str(path))]) from None
    except ValueError as error:
        # PyYAML turns an unquoted YYYY-MM-DD into a date while parsing, and an impossible one
        # (2025-02-30) raises a bare ValueError without a position: find the values to name their lines.
        raise SuppressionErrors(_invalid_timestamps(path, error)) from None


def _invalid_timestamps(path: Path, cause: ValueError) -> list[RuleError]:
    """Return an error for every YAML timestamp scalar in the file that is not a real date or time.

    Falls back to `cause` without a line when no such scalar is found.
    """
    root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    constructor = yaml.constructor.SafeConstructor()
    errors: list[RuleError] = []
    pending: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while pending:
        node, field = pending.pop()
        if isinstance(node, yaml.MappingNode):
            pending.extend((value, f"{field}.{key.value}".lstrip(".")) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((child, f"{field}[{position}]") for position, child in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
            try:
                constructor.construct_yaml_timestamp(node)
            except ValueError as error:
                errors.append(RuleError(f"invalid date {node.value!r}: {error}", file=str(path),
                                        line=node.start_mark.line + 1, field=field))
    errors.sort(key=lambda error: error.line)
    return errors or [RuleError(f"invalid value: {cause}", file=str(path))]


def _build_entry(item: LineDict, file: str, position: int,
                 known_rules: list[str]) -> tuple[Suppression | None, list[RuleError]]:
    """Validate one entry; return the suppression (None when invalid) and its errors."""
    errors: list[RuleError] = []

    def fail(message: str, key: str, line: int = 0) -> None:
        # An empty key stands for the entry as a whole.
        where = line or (item.line_of(key.split(".")[0]) if key else item.line)
        field = f"suppressions[{position}].{key}" if key else f"suppressions[{position}]"
        errors.append(RuleError(message, file=file, line=where, field=field))

    for key in sorted(set(item) - _ALLOWED):
        fail(f"unknown key {key!r}; expected one of {', '.join(sorted(_ALLOWED))}", key)
    if not any(key in item for key in MATCHERS):
        fail(f"no matcher: the entry would mute every finding; set at least one of {', '.join(MATCHERS)}", "")

    reason = item.get("reason")
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        fail("missing reason: say why these findings are accepted", "reason")
        reason = ""
    elif not isinstance(reason, str):
        fail(f"reason must be text, not {reason!r}", "reason")
        reason = ""

    text: dict[str, str] = {}
    for key in _TEXT_FIELDS:
        value = item.get(key, "")
        if key == "ticket" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (key in item and not value.strip()):
            fail("must be non-empty text", key)
            continue
        text[key] = value.strip()

    patterns: dict[str, Pattern] = {}
    for key in _PATTERN_FIELDS:
        if key in item:
            pattern = _parse_pattern(key, item[key], fail)
            if pattern is not None:
                patterns[key] = pattern
    rule = patterns.get("rule")
    if rule is not None and not any(rule.matches(rule_id) for rule_id in known_rules):
        fail(_unknown_rule_message(rule.text, known_rules), "rule")

    resource = item.get("resource")
    if "resource" in item and (not isinstance(resource, str) or not resource):
        fail("must be an exact resource id (an ARN for AWS)", "resource")
        resource = None

    tags = _parse_tags(item.get("tags"), fail) if "tags" in item else {}
    expires = _parse_expiry(item.get("expires"), fail) if "expires" in item else None

    if errors:
        return None, errors
    return Suppression(
        reason=reason.strip(), source=f"{file}:{item.line}", id=text["id"], rule=rule,
        account=patterns.get("account"), region=patterns.get("region"), resource=resource,
        resource_pattern=patterns.get("resource_pattern"), tags=tags, expires=expires,
        owner=text["owner"], ticket=text["ticket"],
    ), []


class _Fail(Protocol):
    """The error callback of one entry: message, key (dotted for nested fields) and optional line."""

    def __call__(self, message: str, key: str, line: int = 0) -> None: ...


def _parse_pattern(key: str, value: Any, fail: _Fail) -> Pattern | None:
    # YAML reads an unquoted account id as an integer, so a 12-digit one is taken as written. A shorter
    # number means that YAML dropped leading zeros or read the digits as octal, so it must be quoted.
    if key == "account" and isinstance(value, int) and not isinstance(value, bool):
        if len(str(value)) != _ACCOUNT_DIGITS:
            fail(f"YAML read the account as the number {value}, not a 12-digit id (leading zeros are lost); "
                 "quote it, e.g. account: '012345678901'", key)
            return None
        value = str(value)
    if not isinstance(value, str) or not value:
        fail("must be a non-empty string (a value, a glob, or a regular expression after 're:')", key)
        return None
    try:
        pattern = Pattern.parse(value)
    except re.error as error:
        fail(f"invalid regular expression {value[len(REGEX_PREFIX):]!r}: {error}", key)
        return None
    if pattern.regex is not None and not pattern.regex.pattern:
        fail("empty regular expression after 're:'", key)
        return None
    return pattern


def _parse_tags(value: Any, fail: _Fail) -> dict[str, Pattern]:
    if not isinstance(value, Mapping) or not value:
        fail("must be a non-empty mapping of tag key to value (or pattern)", "tags")
        return {}
    lines = value.key_lines if isinstance(value, LineDict) else {}
    tags: dict[str, Pattern] = {}
    for key, pattern_text in value.items():
        line = lines.get(key, 0)
        if not isinstance(pattern_text, str):
            fail(f"tag value {pattern_text!r} must be a string; quote it", f"tags.{key}", line)
            continue
        try:
            tags[key] = Pattern.parse(pattern_text)
        except re.error as error:
            fail(f"invalid regular expression {pattern_text[len(REGEX_PREFIX):]!r}: {error}", f"tags.{key}", line)
    return tags


def _parse_expiry(value: Any, fail: _Fail) -> date | None:
    # A datetime is also a date, so test it first: an expiry is a whole day, not a moment.
    if isinstance(value, datetime):
        fail(f"invalid date {value.isoformat()!r}: give a day (YYYY-MM-DD) without a time", "expires")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as error:
            fail(f"invalid date {value!r}: {error}", "expires")
            return None
    fail(f"invalid date {value!r}: expected YYYY-MM-DD", "expires")
    return None


def _unknown_rule_message(pattern: str, known_rules: list[str]) -> str:
    message = f"rule {pattern!r} matches no known rule"
    close = difflib.get_close_matches(pattern, known_rules, n=1)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    return f"{message}; list the rule ids with `ridgeline rules list`"
