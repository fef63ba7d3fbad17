"""The condition language of rules, compiled once into a tree of nodes.

A condition evaluates to True, False or None. None means "cannot tell" because a value the condition
needs could not be collected (the resource's `errors` name the path) or had an unexpected type. Logic is
three-valued (Kleene): `any` is True as soon as one branch is True even if another is unknown, and the
engine turns an unknown result into an ERROR finding with the reasons, never into PASS.

Forms (each a YAML mapping):
- `{all: [C, ...]}`, `{any: [C, ...]}`, `{not: C}`
- `{path: P, OP: VALUE, ...}` with OP one of the keys of `OPERATORS`; several OPs must all hold
- `{any_item: P, where: C}`, `{all_items: P, where: C}`, `{no_item: P, where: C}`: quantify over a list;
  paths in `where` are relative to the item (`@` is the item itself)
- `{check: NAME, args: {...}}`: call an analysis function (see `ridgeline.rules.functions`)
- `{related: {type: T, match: account|region|parent|{name_from: P}|{id_from: P}}, where: C, missing: ...}`:
  evaluate C on a related resource of type T: any one in the same account or region (true when one
  satisfies C, unknown when none does but one could not be judged), the nearest one
  whose id is a prefix of this resource's id (`parent`, ignoring case: an Azure container's storage
  account), or the one whose name or id is the value at P (`id_from` also matches the last segment of an
  ARN, such as sg-123).
  `missing` (unknown, true or false) says what a missing related resource means; default unknown. It
  applies only where the scan listed T: when T could not be listed there, or its service was not
  scanned or imported there, a missing related resource is unknown, regardless of `missing`.
- `{count: {type: T, match: account|region}, where: C, gte: N, lte: M}`: the number of resources of type
  T in the same account (or region) for which C holds meets every bound given (gt, gte, lt, lte, equals).
  Where the scan did not list T, the count is a lower bound.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from ridgeline.model.resource import Resource
from ridgeline.rules.errors import RuleError
from ridgeline.rules.functions import CheckFunction, get_check_function
from ridgeline.rules.paths import MISSING, Path

logger = logging.getLogger(__name__)

_EVIDENCE_TEXT_LIMIT = 2000

_RELATED_SHOWN = 10
"""Related resources named in the evidence when none of them satisfies a condition."""


class RelatedIndex(Protocol):
    """Lookups of other resources of the same scan, used by `related` conditions."""

    def find(self, type_name: str, resource: Resource, match: str, value: Any) -> Resource | None:
        """Return the related resource, or None when it was not collected."""
        ...

    def find_all(self, type_name: str, resource: Resource, match: str) -> list[Resource]:
        """Return every resource of `type_name` in the same account (match "account") or region."""
        ...

    def unlisted_reason(self, type_name: str, resource: Resource, match: str = "account",
                        value: Any = None) -> str | None:
        """Return why the scan may lack resources of `type_name` that `resource` looks up by `match`, or None.

        A reason means an absence proves nothing: the type could not be listed there, or the scan did not
        read its service there. `value` is the id or name an `id_from` or `name_from` lookup reads.
        """
        ...

    def unlisted_in(self, type_name: str, account: str) -> str | None:
        """Return why the scan may lack resources of `type_name` in `account`, or None if it listed them."""
        ...

    def all_of_type(self, type_name: str) -> Sequence[Resource]:
        """Return every resource of `type_name` in the scan, whatever its account."""
        ...


class ScanLookup:
    """The resources a check function may read beyond its own: those of the types it declared.

    The declaration matters: streaming evaluation keeps only the types some rule reads, so reading an
    undeclared type would see an incomplete scan. Asking for one is a programming error.
    """

    __slots__ = ("_index", "_types")

    def __init__(self, index: RelatedIndex | None, types: tuple[str, ...]) -> None:
        self._index = index
        self._types = types

    def of_type(self, type_name: str) -> Sequence[Resource]:
        """Return every resource of `type_name` in the scan (a declared lookup type)."""
        self._declared(type_name)
        return self._index.all_of_type(type_name) if self._index is not None else ()

    def unlisted_in(self, type_name: str, account: str) -> str | None:
        """Return why the scan may lack resources of `type_name` (a declared lookup type) in `account`, or None.

        A type that failed to list in an account, or whose service the scan did not read there, may have
        resources there that `of_type` lacks, so what they would decide is unknown.
        """
        self._declared(type_name)
        return self._index.unlisted_in(type_name, account) if self._index is not None else None

    def _declared(self, type_name: str) -> None:
        if type_name not in self._types:
            raise LookupError(f"{type_name} is not among the lookup types the check function declared")


class EvalContext:
    """State of one evaluation: why things were unknown and, when explaining, the evidence."""

    __slots__ = ("evidence", "index", "passing", "reasons", "resource")

    def __init__(self, index: RelatedIndex | None, *, explain: bool = False) -> None:
        self.index = index
        self.reasons: list[str] = []
        self.evidence: dict[str, Any] | None = {} if explain else None
        self.resource: Resource | None = None
        self.passing: dict[str, str] | None = None
        """Details that check functions returned with a False outcome, such as a deny rule hiding an allow.

        They are the evidence of a PASS, because the engine does not evaluate a PASS again to explain it."""

    def unknown(self, reason: str) -> None:
        """Record why a value is unknown; return None so callers can `return ctx.unknown(...)`."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    def note(self, key: str, value: Any) -> None:
        """Record evidence when explaining; free otherwise."""
        if self.evidence is not None and key not in self.evidence:
            self.evidence[key] = _evidence_value(value)


def _evidence_value(value: Any) -> Any:
    if value is MISSING:
        return None
    if isinstance(value, str) and len(value) > _EVIDENCE_TEXT_LIMIT:
        return value[:_EVIDENCE_TEXT_LIMIT] + "...(truncated)"
    if isinstance(value, dict | list) and value:
        # A large mapping or list (a whole configuration passed to a check function) becomes its JSON text,
        # cut like a long string. Kept as it is, it would be most of the report, and every finding would keep
        # its resource's parsed configuration alive: 50,000 failing NSGs took 4.5 GB.
        text = _json_text(value)
        if len(text) > _EVIDENCE_TEXT_LIMIT:
            return text[:_EVIDENCE_TEXT_LIMIT] + "...(truncated)"
    return value


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson rejects integers beyond 64 bits and keys that are not strings; the json module does not.
        return json.dumps(value, default=str)


class Node:
    """A compiled condition."""

    __slots__ = ()

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        """Return True, False, or None when it cannot tell (with reasons added to ctx)."""
        raise NotImplementedError

    def paths(self) -> set[str]:
        """Return the absolute envelope paths this condition reads."""
        return set()

    def related_types(self) -> set[str]:
        """Return the resource types this condition looks up through `related`."""
        return set()


class AllNode(Node):
    __slots__ = ("children",)

    def __init__(self, children: list[Node]) -> None:
        self.children = children

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        result: bool | None = True
        for child in self.children:
            value = child.evaluate(subject, ctx)
            if value is False:
                return False
            if value is None:
                result = None
        return result

    def paths(self) -> set[str]:
        return set().union(*(child.paths() for child in self.children))

    def related_types(self) -> set[str]:
        return set().union(*(child.related_types() for child in self.children))


class AnyNode(AllNode):
    __slots__ = ()

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        result: bool | None = False
        for child in self.children:
            value = child.evaluate(subject, ctx)
            if value is True:
                return True
            if value is None:
                result = None
        return result


class NotNode(Node):
    __slots__ = ("child",)

    def __init__(self, child: Node) -> None:
        self.child = child

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        value = self.child.evaluate(subject, ctx)
        return None if value is None else not value

    def paths(self) -> set[str]:
        return self.child.paths()

    def related_types(self) -> set[str]:
        return self.child.related_types()


class _TypeMismatch(Exception):
    """An operator met a value of the wrong type; the condition becomes unknown, not False."""


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _TypeMismatch(f"expected a number, found {value!r}") from None
        raise _TypeMismatch(f"expected a number, found {type(value).__name__}")
    return float(value)


def _age_days(value: Any) -> float | None:
    """Days since an ISO 8601 time; None for the "never" markers of AWS reports (N/A, no_information)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        if value in ("N/A", "not_supported", "no_information", ""):
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _TypeMismatch(f"expected an ISO 8601 time, found {value!r}") from None
    else:
        raise _TypeMismatch(f"expected an ISO 8601 time, found {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds() / 86400


def _is_empty(value: Any) -> bool:
    return value is MISSING or value is None or value == "" or value == [] or value == {}


def _same(actual: Any, expected: Any) -> bool:
    # In Python True == 1 and False == 0, but a configuration flag must not match a number.
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False
    return bool(actual == expected)


def _kind(value: Any) -> str:
    """Name the JSON type of a value, as the reasons of `_equal` show it."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _numeric_text(text: str) -> int | float:
    """Read a number given as text; raise ValueError for other text, "nan" and "inf" included."""
    # int first: int64 fields given as text ("9007199254740993") lose precision as floats.
    try:
        return int(text)
    except ValueError:
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {text!r}")
    return number


def _equal(actual: Any, expected: Any) -> bool:
    """Compare a present value with the value of `equals` or an item of `in`.

    Raise _TypeMismatch when the expected value is a boolean, number or string and the value has another
    type, because the rule cannot judge it. A string "true" is not the flag `true`, and calling it unequal
    would PASS an RDS instance whose `publiclyAccessible` is "true". Numbers and numeric strings compare
    as numbers, as `gt` reads them, because Cloud Asset Inventory gives int64 fields as text ("size": "10").
    A null value, or an expected null, list or mapping, compares as it is.
    """
    if actual is None or expected is None or isinstance(expected, list | dict):
        return _same(actual, expected)
    expected_kind, actual_kind = _kind(expected), _kind(actual)
    if expected_kind == actual_kind:
        return bool(actual == expected)

    try:
        if expected_kind == "number" and actual_kind == "string":
            return bool(_numeric_text(actual) == expected)
        if expected_kind == "string" and actual_kind == "number":
            return bool(actual == _numeric_text(expected))
    except ValueError:
        pass
    raise _TypeMismatch(f"expected a {expected_kind}, found {actual_kind} {_evidence_text(actual)}")


def _evidence_text(value: Any) -> str:
    """Show a value of the wrong type in a reason, cut when long (a whole mapping, a policy document)."""
    text = repr(value)
    return text if len(text) <= 100 else text[:100] + "...(truncated)"


def _op_equals(actual: Any, expected: Any) -> bool:
    if actual is MISSING:
        return expected is None
    return _equal(actual, expected)


def _op_in(actual: Any, expected: Any) -> bool:
    if actual is MISSING:
        return False

    # A value that matches no item is out of the list only when some item has a type it compares with,
    # and a null item compares with null alone. Otherwise the value is unknown, as for `equals`.
    mismatch: _TypeMismatch | None = None
    comparable = False
    for item in expected:
        try:
            if _equal(actual, item):
                return True
        except _TypeMismatch as error:
            mismatch = mismatch or error
            continue
        comparable = comparable or item is not None
    if mismatch is not None and not comparable:
        raise mismatch
    return False


def _op_in_any_case(actual: Any, expected: Any) -> bool:
    # Azure enum values are case-insensitive ("Enabled", "enabled"); strings compare folded.
    # NOTE: a value of another type (the flag true against ["Enabled"]) is still just unequal here, not
    # unknown as it is for `in`.
    if actual is MISSING or actual is None:
        return False
    if not isinstance(actual, str):
        return any(_same(actual, item) for item in expected)
    return any(isinstance(item, str) and actual.casefold() == item.casefold() for item in expected)


def _op_contains(actual: Any, expected: Any) -> bool:
    if actual is MISSING or actual is None:
        return False
    if isinstance(actual, list | tuple):
        return any(_same(item, expected) for item in actual)
    if isinstance(actual, str):
        if not isinstance(expected, str):
            raise _TypeMismatch(f"a string can only contain a string, not {type(expected).__name__}")
        return expected in actual
    if isinstance(actual, dict):
        try:
            return expected in actual
        except TypeError:
            raise _TypeMismatch(f"a mapping key cannot be a {type(expected).__name__}") from None
    raise _TypeMismatch(f"expected a list or string, found {type(actual).__name__}")


def _op_matches(actual: Any, expected: re.Pattern[str]) -> bool:
    if actual is MISSING or actual is None:
        return False
    if not isinstance(actual, str):
        raise _TypeMismatch(f"expected a string, found {type(actual).__name__}")
    return expected.fullmatch(actual) is not None


def _compare(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        if actual is MISSING or actual is None:
            return False
        return check(_number(actual), float(expected))

    return compare


def _older_than(actual: Any, expected: Any) -> bool:
    if actual is MISSING or actual is None:
        return False
    age = _age_days(actual)
    return age is not None and age > float(expected)


def _newer_than(actual: Any, expected: Any) -> bool:
    if actual is MISSING or actual is None:
        return False
    age = _age_days(actual)
    return age is not None and age <= float(expected)


def _length(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        if actual is MISSING or actual is None:
            return check(0, float(expected))
        if not isinstance(actual, list | dict | str):
            raise _TypeMismatch(f"expected a list, found {type(actual).__name__}")
        return check(len(actual), float(expected))

    return compare


# Operators of `{path: P, OP: VALUE}`: (function, expected type for validation). On a missing value
# comparisons are False; a rule tests for absence with `exists: false` or `empty: true`.
OPERATORS: dict[str, tuple[Callable[[Any, Any], bool], type | tuple[type, ...] | None]] = {
    "equals": (_op_equals, None),
    "not_equals": (lambda actual, expected: not _op_equals(actual, expected), None),
    "in": (_op_in, list),
    "not_in": (lambda actual, expected: not _op_in(actual, expected), list),
    "in_any_case": (_op_in_any_case, list),
    "not_in_any_case": (lambda actual, expected: not _op_in_any_case(actual, expected), list),
    "contains": (_op_contains, None),
    "not_contains": (lambda actual, expected: not _op_contains(actual, expected), None),
    "matches": (_op_matches, str),
    "exists": (lambda actual, expected: (actual is not MISSING and actual is not None) == expected, bool),
    "empty": (lambda actual, expected: _is_empty(actual) == expected, bool),
    "gt": (_compare(lambda a, b: a > b), (int, float)),
    "gte": (_compare(lambda a, b: a >= b), (int, float)),
    "lt": (_compare(lambda a, b: a < b), (int, float)),
    "lte": (_compare(lambda a, b: a <= b), (int, float)),
    "older_than_days": (_older_than, (int, float)),
    "newer_than_days": (_newer_than, (int, float)),
    "length_gt": (_length(lambda a, b: a > b), int),
    "length_lt": (_length(lambda a, b: a < b), int),
}


class LeafNode(Node):
    __slots__ = ("operations", "path")

    def __init__(self, path: Path, operations: list[tuple[str, Callable[[Any, Any], bool], Any]]) -> None:
        self.path = path
        self.operations = operations

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        if not self.path.relative and subject.errors:
            reason = self.path.error_for(subject)
            if reason is not None:
                ctx.unknown(f"{self.path.text}: {reason}")
                return None
        actual = self.path.read(subject)
        ctx.note(self.path.text, actual)

        # The operators are a conjunction: one False decides, even after another was unknown.
        unknown = False
        for name, operation, expected in self.operations:
            try:
                if not operation(actual, expected):
                    return False
            except _TypeMismatch as mismatch:
                ctx.unknown(f"{self.path.text} ({name}): {mismatch}")
                unknown = True
        return None if unknown else True

    def paths(self) -> set[str]:
        return set() if self.path.relative else {self.path.text}


class ItemsNode(Node):
    """`any_item`, `all_items` or `no_item` over the list at a path."""

    __slots__ = ("path", "quantifier", "where")

    def __init__(self, quantifier: str, path: Path, where: Node) -> None:
        self.quantifier = quantifier
        self.path = path
        self.where = where

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        if not self.path.relative and subject.errors:
            reason = self.path.error_for(subject)
            if reason is not None:
                ctx.unknown(f"{self.path.text}: {reason}")
                return None
        items = self.path.read(subject)
        if not items and ctx.evidence is not None:
            # An empty or absent list is often the whole reason (no flow logs, no rules): show it.
            ctx.note(self.path.text, items)
        if items is MISSING or items is None:
            items = []
        elif isinstance(items, dict):
            items = list(items.values())
        elif not isinstance(items, list):
            ctx.unknown(f"{self.path.text}: expected a list, found {type(items).__name__}")
            return None

        matched = []
        unknown = 0
        for item in items:
            value = self.where.evaluate(item, ctx)
            if value is None:
                unknown += 1
            elif value:
                matched.append(item)
                if self.quantifier != "all_items" and ctx.evidence is None:
                    break
        if matched:
            ctx.note(f"{self.path.text} (matching items)", matched[:5])
        elif items:
            ctx.note(f"{self.path.text} (items, none matching)", len(items))

        if self.quantifier == "any_item":
            if matched:
                return True
            return None if unknown else False
        if self.quantifier == "no_item":
            if matched:
                return False
            return None if unknown else True
        # all_items: one item that is known not to match decides, whatever the unknown items are.
        if len(matched) + unknown < len(items):
            return False
        return None if unknown else True

    def paths(self) -> set[str]:
        own = set() if self.path.relative else {self.path.text}
        return own | self.where.paths()

    def related_types(self) -> set[str]:
        return self.where.related_types()


# Arguments the engine fills in, never a rule: the resource judged, the resources of its type in its account,
# and the declared lookup types of the whole scan.
_SUPPLIED_ARGUMENTS = ("subject", "peers", "lookup")


class CheckNode(Node):
    """A call to a registered analysis function."""

    __slots__ = ("function", "literals", "path_values")

    def __init__(self, function: CheckFunction, path_values: dict[str, Path], literals: dict[str, Any]) -> None:
        self.function = function
        self.path_values = path_values
        self.literals = literals

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        arguments = dict(self.literals)
        for name, path in self.path_values.items():
            if not path.relative and subject.errors:
                reason = path.error_for(subject)
                if reason is not None and name in self.function.unknown_as_none:
                    arguments[name] = None
                    ctx.note(path.text, f"not collected: {reason}")
                    continue
                if reason is not None:
                    ctx.unknown(f"{path.text}: {reason}")
                    return None
            value = path.read(subject)
            arguments[name] = None if value is MISSING else value
            # The values a function judged are evidence too, even when it returns no detail of its own. A
            # whole envelope field (all of `configuration`) is not: the finding names the resource already.
            if path.keys or path.relative:
                ctx.note(path.text, value)
        owner = subject if isinstance(subject, Resource) else ctx.resource
        if "subject" in self.function.literal_args:
            # Inside an item quantifier the subject is a list item; functions get the resource.
            arguments["subject"] = owner
        if "peers" in self.function.literal_args:
            # Semantics that span resources of one type (a deny firewall rule shadowing an allow rule of
            # the same network) need the others: every resource of the type in the same account.
            arguments["peers"] = (ctx.index.find_all(owner.type, owner, "account")
                                  if ctx.index is not None and owner is not None else [])
        if "lookup" in self.function.literal_args:
            arguments["lookup"] = ScanLookup(ctx.index, self.function.lookup_types)

        try:
            outcome = self.function.func(**arguments)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # Analysis functions should return an unknown Outcome for input they cannot judge. This net
            # keeps one malformed resource from stopping the evaluation of every other, and records why.
            resource_id = ctx.resource.id if ctx.resource is not None else "?"
            logger.warning("check %s failed on resource %s: %s", self.function.name, resource_id, error)
            ctx.unknown(f"{self.function.name} could not judge this input: {error}")
            return None

        if outcome.matched is None:
            ctx.unknown(f"{self.function.name}: {outcome.detail}")
        elif outcome.detail and outcome.matched:
            ctx.note(self.function.name, outcome.detail)
        elif outcome.detail:
            if ctx.passing is None:
                ctx.passing = {}
            ctx.passing.setdefault(self.function.name, outcome.detail)
        return outcome.matched

    def paths(self) -> set[str]:
        return {path.text for path in self.path_values.values() if not path.relative}

    def related_types(self) -> set[str]:
        return set(self.function.lookup_types)


class RelatedNode(Node):
    """Evaluate a condition on another resource of the scan (the account's settings, a trail's bucket)."""

    __slots__ = ("match", "missing", "type_name", "value_path", "where")

    def __init__(self, type_name: str, match: str, value_path: Path | None, where: Node, missing: bool | None):
        self.type_name = type_name
        self.match = match
        self.value_path = value_path
        self.where = where
        self.missing = missing

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        value = None
        if self.value_path is not None:
            if not self.value_path.relative and subject.errors:
                reason = self.value_path.error_for(subject)
                if reason is not None:
                    ctx.unknown(f"{self.value_path.text}: {reason}")
                    return None
            value = self.value_path.read(subject)
            if value is MISSING or value is None:
                return self._when_missing(ctx, f"{self.value_path.text} is empty")

        # Inside an item quantifier the subject is a list item; the account comes from the resource.
        owner = subject if isinstance(subject, Resource) else ctx.resource
        if self.match in ("account", "region"):
            return self._any_in_scope(owner, ctx)
        related = ctx.index.find(self.type_name, owner, self.match, value) if ctx.index and owner else None
        if related is None:
            target = f" {value!r}" if value is not None else f" of the same {self.match}"
            return self._when_missing(ctx, f"related {self.type_name}{target} was not collected", owner, value)

        result = self.where.evaluate(related, ctx)
        if result:
            ctx.note(f"related {self.type_name}", related.id)
        return result

    def _any_in_scope(self, owner: Resource | None, ctx: EvalContext) -> bool | None:
        # An account may hold several resources of the type (alert policies, DNS policies): the condition
        # holds when one of them satisfies it, and is unknown when none does but some could not be judged.
        candidates = ctx.index.find_all(self.type_name, owner, self.match) if ctx.index and owner else []
        if not candidates:
            return self._when_missing(ctx, f"related {self.type_name} of the same {self.match} was not collected",
                                      owner)
        undecided = False
        for candidate in candidates:
            result = self.where.evaluate(candidate, ctx)
            if result:
                ctx.note(f"related {self.type_name}", candidate.id)
                return True
            undecided = undecided or result is None
        if ctx.evidence is not None:
            ctx.note(f"related {self.type_name} (examined, none matching)",
                     [candidate.id for candidate in candidates[:_RELATED_SHOWN]])
        # A listing that failed part way leaves resources out, and one of them might satisfy the condition.
        unlisted = ctx.index.unlisted_reason(self.type_name, owner, self.match) if ctx.index and owner else None
        if unlisted is not None:
            ctx.unknown(f"no related {self.type_name} of the same {self.match} that was collected satisfies the "
                        f"condition, and the others could not be listed: {unlisted}")
            return None
        return None if undecided else False

    def _when_missing(self, ctx: EvalContext, reason: str, owner: Resource | None = None,
                      value: Any = None) -> bool | None:
        # `missing: true/false` speaks for a listing that succeeded. When the type could not be listed where
        # the lookup looked, or the scan did not read its service there, the absence proves nothing.
        unlisted = ctx.index.unlisted_reason(self.type_name, owner, self.match, value) if ctx.index and owner else None
        if unlisted is not None:
            ctx.unknown(f"{reason}, because it could not be listed: {unlisted}")
            return None
        if self.missing is None:
            ctx.unknown(reason)
        else:
            # When a missing resource decides the verdict, its absence is the evidence.
            ctx.note(f"related {self.type_name}", reason)
        return self.missing

    def paths(self) -> set[str]:
        return set() if self.value_path is None or self.value_path.relative else {self.value_path.text}

    def related_types(self) -> set[str]:
        return {self.type_name} | self.where.related_types()


def compile_condition(data: Any, *, relative: bool = False) -> Node:
    """Compile a condition mapping into nodes; raise RuleError naming the offending field."""
    if not isinstance(data, Mapping):
        raise RuleError(f"a condition must be a mapping, found {type(data).__name__}")

    if "all" in data or "any" in data:
        key = "all" if "all" in data else "any"
        _only_keys(data, {key})
        children = data[key]
        if not isinstance(children, list) or not children:
            raise RuleError(f"'{key}' needs a non-empty list of conditions", field=key)
        compiled = [_compile_child(child, relative, f"{key}[{i}]") for i, child in enumerate(children)]
        return AllNode(compiled) if key == "all" else AnyNode(compiled)

    if "not" in data:
        _only_keys(data, {"not"})
        return NotNode(_compile_child(data["not"], relative, "not"))

    for quantifier in ("any_item", "all_items", "no_item"):
        if quantifier in data:
            _only_keys(data, {quantifier, "where"})
            if "where" not in data:
                raise RuleError(f"'{quantifier}' needs a 'where' condition on each item", field=quantifier)
            path = _path(data[quantifier], relative, quantifier)
            return ItemsNode(quantifier, path, _compile_child(data["where"], True, "where"))

    if "check" in data:
        return _compile_check(data, relative)

    if "related" in data:
        return _compile_related(data, relative)

    if "count" in data:
        return _compile_count(data, relative)

    if "path" in data:
        return _compile_leaf(data, relative)

    keys = ", ".join(sorted(map(str, data))) or "nothing"
    raise RuleError(
        f"unknown condition with keys {keys}: expected one of all, any, not, path, any_item, all_items, "
        "no_item, check, related, count"
    )


def _compile_child(data: Any, relative: bool, field: str) -> Node:
    try:
        return compile_condition(data, relative=relative)
    except RuleError as error:
        line = getattr(data, "line", 0)
        raise error.located("", line, field) from None


def _only_keys(data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(data) - allowed
    if extra:
        raise RuleError(f"unexpected key(s) {', '.join(sorted(extra))}; allowed here: {', '.join(sorted(allowed))}")


def _path(value: Any, relative: bool, field: str) -> Path:
    if not isinstance(value, str):
        raise RuleError("a path must be a string", field=field)
    try:
        return Path(value, relative=relative)
    except RuleError as error:
        raise error.located("", 0, field) from None


def _compile_leaf(data: Mapping[str, Any], relative: bool) -> LeafNode:
    path = _path(data["path"], relative, "path")
    operations: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
    for name, expected in data.items():
        if name == "path":
            continue
        if name not in OPERATORS:
            known = ", ".join(OPERATORS)
            raise RuleError(f"unknown operator {name!r}; expected one of: {known}", field=name)
        operation, expected_type = OPERATORS[name]
        if expected_type is not None and (
            not isinstance(expected, expected_type) or (expected_type is not bool and isinstance(expected, bool))
        ):
            raise RuleError(f"operator '{name}' needs a value of type {_type_name(expected_type)}", field=name)
        if name == "matches":
            try:
                expected = re.compile(expected)
            except re.error as error:
                raise RuleError(f"invalid regular expression: {error}", field=name) from None
        operations.append((name, operation, expected))
    if not operations:
        raise RuleError(f"path {path.text!r} has no operator; add one such as 'equals: VALUE'")
    return LeafNode(path, operations)


def _type_name(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return expected.__name__


def _compile_check(data: Mapping[str, Any], relative: bool) -> CheckNode:
    _only_keys(data, {"check", "args"})
    name = data["check"]
    function = get_check_function(name) if isinstance(name, str) else None
    if function is None:
        raise RuleError(f"unknown check function {name!r}; `ridgeline rules functions` lists them", field="check")
    arguments = data.get("args") or {}
    if not isinstance(arguments, Mapping):
        raise RuleError("'args' must be a mapping of argument names to values", field="args")

    path_values: dict[str, Path] = {}
    literals: dict[str, Any] = {}
    for argument, value in arguments.items():
        if argument in function.path_args:
            path_values[argument] = _path(value, relative, f"args.{argument}")
        elif argument in function.literal_args and argument not in _SUPPLIED_ARGUMENTS:
            literals[argument] = value
        else:
            allowed = ", ".join(a for a in (*function.path_args, *function.literal_args)
                                if a not in _SUPPLIED_ARGUMENTS)
            raise RuleError(f"{name} takes no argument {argument!r}; it takes: {allowed}", field=f"args.{argument}")
    missing = [argument for argument in function.required if argument not in arguments]
    if missing:
        raise RuleError(f"{name} needs argument(s): {', '.join(missing)}", field="args")
    return CheckNode(function, path_values, literals)


_MATCHES = ("account", "region", "name_from", "id_from")


def _compile_related(data: Mapping[str, Any], relative: bool) -> RelatedNode:
    _only_keys(data, {"related", "where", "missing"})
    spec = data["related"]
    if not isinstance(spec, Mapping) or "type" not in spec or "match" not in spec:
        raise RuleError("'related' needs 'type' and 'match'", field="related")
    match = spec["match"]
    value_path: Path | None = None
    if isinstance(match, Mapping) and len(match) == 1 and next(iter(match)) in ("name_from", "id_from"):
        kind = next(iter(match))
        value_path = _path(match[kind], relative, f"related.match.{kind}")
        match = kind
    elif match not in ("account", "region", "parent"):
        raise RuleError(
            "'match' must be account, region, parent, {name_from: PATH} or {id_from: PATH}", field="related.match"
        )
    if "where" not in data:
        raise RuleError("'related' needs a 'where' condition on the related resource", field="related")
    missing_value = data.get("missing", "unknown")
    missing: bool | None
    if missing_value == "unknown":
        missing = None
    elif isinstance(missing_value, bool):
        missing = missing_value
    else:
        raise RuleError("'missing' must be unknown, true or false", field="missing")
    where = _compile_child(data["where"], False, "where")
    return RelatedNode(str(spec["type"]), str(match), value_path, where, missing)


_COUNT_BOUNDS = ("gt", "gte", "lt", "lte", "equals")


class CountNode(Node):
    """Count the resources of a type in the same account or region that satisfy a condition."""

    __slots__ = ("bounds", "match", "maximum", "minimum", "type_name", "where")

    def __init__(self, type_name: str, match: str, where: Node, bounds: dict[str, int]) -> None:
        self.type_name = type_name
        self.match = match
        self.where = where
        self.bounds = bounds
        # The bounds together admit the counts from `minimum` to `maximum` (None: no upper bound).
        self.minimum = 0
        self.maximum: int | None = None
        for name, bound in bounds.items():
            lowest = {"gt": bound + 1, "gte": bound, "equals": bound}.get(name)
            highest = {"lt": bound - 1, "lte": bound, "equals": bound}.get(name)
            if lowest is not None:
                self.minimum = max(self.minimum, lowest)
            if highest is not None:
                self.maximum = highest if self.maximum is None else min(self.maximum, highest)

    def evaluate(self, subject: Any, ctx: EvalContext) -> bool | None:
        owner = subject if isinstance(subject, Resource) else ctx.resource
        if ctx.index is None or owner is None:
            ctx.unknown(f"cannot count {self.type_name} here")
            return None
        counted = 0
        undecided = 0
        for candidate in ctx.index.find_all(self.type_name, owner, self.match):
            result = self.where.evaluate(candidate, ctx)
            if result is None:
                undecided += 1
            elif result:
                counted += 1

        # The true count lies between `counted` and `counted + undecided`, with no upper end when the scan
        # may lack resources of the type there. Decide only when every count in that range agrees.
        unlisted = ctx.index.unlisted_reason(self.type_name, owner, self.match)
        verdict = self._within_bounds(counted, None if unlisted is not None else counted + undecided)
        if verdict is None and unlisted is not None:
            ctx.unknown(f"{self.type_name} of the same {self.match} could not be counted, because it could not "
                        f"be listed: {unlisted}")
        if verdict is not None:
            ctx.note(f"count of {self.type_name}", counted)
        return verdict

    def _within_bounds(self, low: int, high: int | None) -> bool | None:
        """Return whether the counts from `low` to `high` (None: no end) meet the bounds; None when only some do."""
        minimum, maximum = self.minimum, self.maximum
        if (maximum is not None and (maximum < minimum or low > maximum)) or (high is not None and high < minimum):
            return False
        if low >= minimum and (maximum is None or (high is not None and high <= maximum)):
            return True
        return None

    def paths(self) -> set[str]:
        return set()

    def related_types(self) -> set[str]:
        return {self.type_name} | self.where.related_types()


def _compile_count(data: Mapping[str, Any], relative: bool) -> CountNode:
    _only_keys(data, {"count", "where", *_COUNT_BOUNDS})
    spec = data["count"]
    if not isinstance(spec, Mapping) or "type" not in spec or spec.get("match") not in ("account", "region"):
        raise RuleError("'count' needs 'type' and 'match' (account or region)", field="count")
    if "where" not in data:
        raise RuleError("'count' needs a 'where' condition on each counted resource", field="count")
    bounds = {name: data[name] for name in _COUNT_BOUNDS if name in data}
    if not bounds:
        raise RuleError(f"'count' needs at least one bound: {', '.join(_COUNT_BOUNDS)}", field="count")
    for name, bound in bounds.items():
        if not isinstance(bound, int) or isinstance(bound, bool):
            raise RuleError(f"'{name}' of 'count' must be a whole number", field=name)
    where = _compile_child(data["where"], False, "where")
    return CountNode(str(spec["type"]), str(spec["match"]), where, bounds)


def collect_paths(nodes: Iterable[Node]) -> set[str]:
    """Return every absolute path the given conditions read."""
    return set().union(*(node.paths() for node in nodes))
