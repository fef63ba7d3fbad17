"""Tests for the condition language: operators, three-valued logic, item quantifiers, paths, related."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ridgeline.model.resource import Resource
from ridgeline.rules.conditions import EvalContext, Node, collect_paths, compile_condition
from ridgeline.rules.engine import ResourceIndex
from ridgeline.rules.errors import RuleError
from ridgeline.rules.paths import MISSING, Path, paths_overlap, split_path
from ridgeline.rules.yamlsource import load_yaml_text

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"


def make_resource(
    configuration: dict[str, Any] | None = None,
    *,
    type_name: str = "AWS::S3::Bucket",
    name: str = "bucket-a",
    resource_id: str | None = None,
    account: str = ACCOUNT,
    region: str = "us-east-1",
    supplementary: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Resource:
    """Build a resource envelope with only what a test needs."""
    return Resource(
        provider="aws",
        account=account,
        region=region,
        type=type_name,
        id=resource_id or f"arn:aws:s3:::{name}",
        name=name,
        configuration=configuration or {},
        supplementary=supplementary or {},
        tags=tags or {},
        errors=errors or {},
    )


def compile_text(condition: str | dict[str, Any]) -> Node:
    """Compile a condition given as YAML text (with line numbers) or as a plain mapping."""
    data = load_yaml_text(condition) if isinstance(condition, str) else condition
    return compile_condition(data)


def evaluate(
    condition: str | dict[str, Any], subject: Resource, index: ResourceIndex | None = None
) -> tuple[bool | None, list[str]]:
    """Return the result of a condition on `subject` and the reasons recorded for unknown values."""
    ctx = EvalContext(index)
    ctx.resource = subject
    return compile_text(condition).evaluate(subject, ctx), ctx.reasons


def leaf(operator: str, expected: Any) -> dict[str, Any]:
    return {"path": "configuration.value", operator: expected}


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


ABSENT = object()
"""Marker for a configuration without the `value` key at all."""


# --- Operators -------------------------------------------------------------------------

OPERATOR_CASES = [
    # equals / not_equals: a missing value equals only null, and an explicit null equals null too.
    pytest.param("equals", 1, 1, True, id="equals-same"),
    pytest.param("equals", 1, 2, False, id="equals-different"),
    pytest.param("equals", "x", ABSENT, False, id="equals-missing"),
    pytest.param("equals", None, ABSENT, True, id="equals-null-on-missing"),
    pytest.param("equals", None, None, True, id="equals-null-on-null"),
    pytest.param("equals", None, "a", False, id="equals-null-on-value"),
    pytest.param("equals", {"a": [1]}, {"a": [1]}, True, id="equals-mapping"),
    pytest.param("equals", 1, 1.0, True, id="equals-int-on-float"),
    # A null value is compared, never a type mismatch: it is the value of an unset flag.
    pytest.param("equals", True, None, False, id="equals-true-on-null"),
    pytest.param("not_equals", True, None, True, id="not-equals-true-on-null"),
    pytest.param("equals", {"a": 1}, "a", False, id="equals-mapping-on-string"),
    # Numbers and numeric strings compare as numbers: Cloud Asset Inventory gives int64 fields as text.
    pytest.param("equals", 22, "22", True, id="equals-number-on-numeric-string"),
    pytest.param("equals", 22, "23", False, id="equals-number-on-other-numeric-string"),
    pytest.param("equals", 10, "10.0", True, id="equals-number-on-decimal-string"),
    pytest.param("equals", 9007199254740993, "9007199254740993", True, id="equals-int64-string"),
    pytest.param("equals", 9007199254740992, "9007199254740993", False, id="equals-int64-string-exact"),
    pytest.param("not_equals", 22, "22", False, id="not-equals-number-on-numeric-string"),
    pytest.param("equals", "1.2", 1.2, True, id="equals-numeric-string-on-number"),
    pytest.param("equals", "1.2", 1.3, False, id="equals-numeric-string-on-other-number"),
    pytest.param("not_equals", "x", ABSENT, True, id="not-equals-missing"),
    pytest.param("not_equals", None, ABSENT, False, id="not-equals-null-on-missing"),
    pytest.param("not_equals", None, None, False, id="not-equals-null-on-null"),
    pytest.param("not_equals", None, "a", True, id="not-equals-null-on-value"),
    pytest.param("not_equals", "a", "a", False, id="not-equals-same"),
    # in / not_in
    pytest.param("in", ["a", "b"], "a", True, id="in-member"),
    pytest.param("in", ["a", "b"], "c", False, id="in-non-member"),
    pytest.param("in", ["a"], ABSENT, False, id="in-missing"),
    pytest.param("in", [None], None, True, id="in-null-listed"),
    pytest.param("in", [22, 3389], "3389", True, id="in-numeric-string"),
    pytest.param("not_in", [22, 3389], "80", True, id="not-in-numeric-string"),
    pytest.param("in", [True, "true"], "true", True, id="in-both-types-string"),
    pytest.param("in", [True, "true"], True, True, id="in-both-types-boolean"),
    pytest.param("in", ["a", True], "b", False, id="in-mixed-one-comparable"),
    pytest.param("in", [None, True], None, True, id="in-null-item-on-null"),
    pytest.param("not_in", [True], None, True, id="not-in-boolean-on-null"),
    pytest.param("not_in", ["a", "b"], "a", False, id="not-in-member"),
    pytest.param("not_in", ["a", "b"], "c", True, id="not-in-non-member"),
    pytest.param("not_in", ["a"], ABSENT, True, id="not-in-missing"),
    # contains / not_contains
    pytest.param("contains", "b", ["a", "b"], True, id="contains-list"),
    pytest.param("contains", "c", ["a", "b"], False, id="contains-list-absent"),
    pytest.param("contains", "ell", "hello", True, id="contains-substring"),
    pytest.param("contains", "key", {"key": 1}, True, id="contains-mapping-key"),
    pytest.param("contains", "x", ABSENT, False, id="contains-missing"),
    pytest.param("contains", "x", None, False, id="contains-null"),
    pytest.param("contains", True, [1], False, id="contains-true-in-numbers"),
    pytest.param("not_contains", "x", ABSENT, True, id="not-contains-missing"),
    pytest.param("not_contains", "b", ["a", "b"], False, id="not-contains-present"),
    # matches is a full match
    pytest.param("matches", "ab", "abc", False, id="matches-prefix-only"),
    pytest.param("matches", "ab.*", "abc", True, id="matches-whole"),
    pytest.param("matches", "bc", "abc", False, id="matches-suffix-only"),
    pytest.param("matches", "ABC", "abc", False, id="matches-case-sensitive"),
    pytest.param("matches", ".*", ABSENT, False, id="matches-missing"),
    # exists / empty
    pytest.param("exists", True, "v", True, id="exists-value"),
    pytest.param("exists", True, None, False, id="exists-null"),
    pytest.param("exists", True, ABSENT, False, id="exists-missing"),
    pytest.param("exists", False, ABSENT, True, id="exists-false-missing"),
    pytest.param("exists", True, False, True, id="exists-false-value"),
    pytest.param("empty", True, "", True, id="empty-string"),
    pytest.param("empty", True, [], True, id="empty-list"),
    pytest.param("empty", True, {}, True, id="empty-mapping"),
    pytest.param("empty", True, None, True, id="empty-null"),
    pytest.param("empty", True, ABSENT, True, id="empty-missing"),
    pytest.param("empty", True, 0, False, id="empty-zero"),
    pytest.param("empty", True, False, False, id="empty-false"),
    pytest.param("empty", False, [1], True, id="not-empty-list"),
    # Comparisons read numeric strings as numbers, and a missing value compares False.
    pytest.param("gt", 5, 6, True, id="gt-above"),
    pytest.param("gt", 5, 5, False, id="gt-equal"),
    pytest.param("gte", 5, 5, True, id="gte-equal"),
    pytest.param("gte", 5, 4.5, False, id="gte-below"),
    pytest.param("lt", 5, 4, True, id="lt-below"),
    pytest.param("lt", 5, 5, False, id="lt-equal"),
    pytest.param("lte", 5, 5, True, id="lte-equal"),
    pytest.param("lte", 5, 6, False, id="lte-above"),
    pytest.param("gt", 5, "10", True, id="gt-numeric-string"),
    pytest.param("gt", 5, ABSENT, False, id="gt-missing"),
    pytest.param("lt", 5, None, False, id="lt-null"),
    # ages
    pytest.param("older_than_days", 90, days_ago(400), True, id="older-old"),
    pytest.param("older_than_days", 90, days_ago(1), False, id="older-recent"),
    pytest.param("older_than_days", 90, "2001-01-01T00:00:00Z", True, id="older-z-suffix"),
    pytest.param("older_than_days", 90, "2001-01-01T00:00:00", True, id="older-naive"),
    pytest.param("older_than_days", 90, "N/A", False, id="older-not-applicable"),
    pytest.param("older_than_days", 90, "no_information", False, id="older-no-information"),
    pytest.param("older_than_days", 90, "not_supported", False, id="older-not-supported"),
    pytest.param("older_than_days", 90, "", False, id="older-empty"),
    pytest.param("older_than_days", 90, ABSENT, False, id="older-missing"),
    pytest.param("older_than_days", 90, datetime(2001, 1, 1, tzinfo=UTC), True, id="older-datetime"),
    pytest.param("newer_than_days", 90, days_ago(1), True, id="newer-recent"),
    pytest.param("newer_than_days", 90, days_ago(400), False, id="newer-old"),
    pytest.param("newer_than_days", 90, "N/A", False, id="newer-not-applicable"),
    # A missing list has length 0.
    pytest.param("length_gt", 2, [1, 2, 3], True, id="length-gt-longer"),
    pytest.param("length_gt", 3, [1, 2, 3], False, id="length-gt-equal"),
    pytest.param("length_lt", 1, ABSENT, True, id="length-lt-missing"),
    pytest.param("length_lt", 2, {"a": 1}, True, id="length-lt-mapping"),
    pytest.param("length_gt", 2, "abc", True, id="length-gt-string"),
]


@pytest.mark.parametrize(("operator", "expected", "actual", "result"), OPERATOR_CASES)
def test_operator(operator: str, expected: Any, actual: Any, result: bool) -> None:
    configuration = {} if actual is ABSENT else {"value": actual}

    outcome, reasons = evaluate(leaf(operator, expected), make_resource(configuration))

    assert outcome is result
    assert reasons == []


MISMATCH_CASES = [
    pytest.param("gt", 5, "abc", "expected a number", id="gt-text"),
    pytest.param("gte", 5, True, "expected a number", id="gte-bool"),
    pytest.param("lt", 5, [1], "expected a number", id="lt-list"),
    pytest.param("lte", 5, {"a": 1}, "expected a number", id="lte-mapping"),
    pytest.param("contains", "x", 5, "expected a list or string", id="contains-number"),
    pytest.param("contains", 5, "abc", "string can only contain a string", id="contains-number-in-string"),
    pytest.param("contains", [1], {"a": 1}, "mapping key", id="contains-list-in-mapping"),
    pytest.param("not_contains", "x", 5, "expected a list or string", id="not-contains-number"),
    pytest.param("matches", "a.*", 5, "expected a string", id="matches-number"),
    pytest.param("older_than_days", 90, "yesterday", "expected an ISO 8601 time", id="older-text"),
    pytest.param("older_than_days", 90, 1700000000, "expected an ISO 8601 time", id="older-epoch"),
    pytest.param("length_gt", 1, 5, "expected a list", id="length-number"),
    # A boolean never matches another type, so a string "true" against `equals: true` is unknown.
    pytest.param("equals", True, "true", "expected a boolean, found string 'true'", id="equals-true-on-string"),
    pytest.param("equals", False, "false", "expected a boolean, found string 'false'", id="equals-false-on-string"),
    pytest.param("equals", True, 1, "expected a boolean, found number 1", id="equals-true-on-one"),
    pytest.param("equals", True, {"a": 1}, "expected a boolean, found mapping {'a': 1}", id="equals-true-on-mapping"),
    pytest.param("equals", True, ["x"], "expected a boolean, found list ['x']", id="equals-true-on-list"),
    pytest.param("not_equals", True, "true", "expected a boolean", id="not-equals-true-on-string"),
    pytest.param("in", [True], "yes", "expected a boolean, found string 'yes'", id="in-boolean-on-string"),
    pytest.param("not_in", [False], 0, "expected a boolean, found number 0", id="not-in-boolean-on-number"),
    pytest.param("in", [None, True], "true", "expected a boolean", id="in-null-item-on-string"),
    pytest.param("equals", 0, False, "expected a number, found boolean False", id="equals-zero-on-false"),
    pytest.param("in", [0, 1], False, "expected a number, found boolean False", id="in-false-among-numbers"),
    pytest.param("equals", 22, "ssh", "expected a number, found string 'ssh'", id="equals-number-on-text"),
    pytest.param("equals", 22, "nan", "expected a number, found string 'nan'", id="equals-number-on-nan"),
    pytest.param("equals", "Enabled", True, "expected a string, found boolean True", id="equals-string-on-boolean"),
    pytest.param("equals", "Enabled", 5, "expected a string, found number 5", id="equals-string-on-number"),
    pytest.param("not_in", ["1.2", "1.3"], ["1.2"], "expected a string, found list", id="not-in-string-on-list"),
]


@pytest.mark.parametrize(("operator", "expected", "actual", "message"), MISMATCH_CASES)
def test_operator_type_mismatch_is_unknown(operator: str, expected: Any, actual: Any, message: str) -> None:
    outcome, reasons = evaluate(leaf(operator, expected), make_resource({"value": actual}))

    assert outcome is None
    assert len(reasons) == 1
    assert reasons[0].startswith(f"configuration.value ({operator}):")
    assert message in reasons[0]


def test_type_mismatch_reason_cuts_long_value() -> None:
    document = {"Statement": [{"Sid": f"statement-{index}"} for index in range(50)]}

    outcome, reasons = evaluate(leaf("equals", True), make_resource({"value": document}))

    assert outcome is None
    assert reasons[0].endswith("...(truncated)")
    assert len(reasons[0]) < 200


def test_type_mismatch_under_not_is_unknown() -> None:
    outcome, reasons = evaluate({"not": leaf("equals", True)}, make_resource({"value": "false"}))

    assert outcome is None
    assert reasons == ["configuration.value (equals): expected a boolean, found string 'false'"]


def test_leaf_operators_all_must_hold() -> None:
    condition = {"path": "configuration.value", "gt": 1, "lt": 10}

    assert evaluate(condition, make_resource({"value": 5}))[0] is True
    assert evaluate(condition, make_resource({"value": 11}))[0] is False
    assert evaluate(condition, make_resource({"value": 0}))[0] is False


def test_leaf_false_beats_unknown() -> None:
    # "abc" is no number (unknown for gt) but certainly not "zzz", so the conjunction is False.
    outcome, _ = evaluate({"path": "configuration.value", "gt": 1, "equals": "zzz"}, make_resource({"value": "abc"}))

    assert outcome is False


def test_leaf_unknown_with_true() -> None:
    outcome, reasons = evaluate({"path": "configuration.value", "gt": 1, "equals": "abc"},
                                make_resource({"value": "abc"}))

    assert outcome is None
    assert reasons == ["configuration.value (gt): expected a number, found 'abc'"]


# --- Three-valued logic ----------------------------------------------------------------

TRUE = {"path": "configuration.yes", "equals": True}
FALSE = {"path": "configuration.no", "equals": True}
UNKNOWN = {"path": "configuration.denied", "equals": True}


def logic_subject() -> Resource:
    return make_resource({"yes": True, "no": False, "denied": True},
                         errors={"configuration.denied": "AccessDenied on s3:GetBucketThing"})


LOGIC_CASES = [
    pytest.param({"any": [TRUE, UNKNOWN]}, True, id="any-true-unknown"),
    pytest.param({"any": [UNKNOWN, TRUE]}, True, id="any-unknown-true"),
    pytest.param({"any": [FALSE, UNKNOWN]}, None, id="any-false-unknown"),
    pytest.param({"any": [FALSE, FALSE]}, False, id="any-false-false"),
    pytest.param({"any": [FALSE, TRUE]}, True, id="any-false-true"),
    pytest.param({"all": [FALSE, UNKNOWN]}, False, id="all-false-unknown"),
    pytest.param({"all": [UNKNOWN, FALSE]}, False, id="all-unknown-false"),
    pytest.param({"all": [TRUE, UNKNOWN]}, None, id="all-true-unknown"),
    pytest.param({"all": [TRUE, TRUE]}, True, id="all-true-true"),
    pytest.param({"not": UNKNOWN}, None, id="not-unknown"),
    pytest.param({"not": TRUE}, False, id="not-true"),
    pytest.param({"not": FALSE}, True, id="not-false"),
    pytest.param({"not": {"all": [TRUE, UNKNOWN]}}, None, id="not-all-unknown"),
    pytest.param({"any": [{"not": FALSE}, UNKNOWN]}, True, id="any-not-false-unknown"),
]


@pytest.mark.parametrize(("condition", "result"), LOGIC_CASES)
def test_three_valued_logic(condition: dict[str, Any], result: bool | None) -> None:
    outcome, reasons = evaluate(condition, logic_subject())

    assert outcome is result
    if result is None:
        assert reasons == ["configuration.denied: AccessDenied on s3:GetBucketThing"]


# --- Item quantifiers ------------------------------------------------------------------

ITEM_MATCH = {"path": "port", "equals": 22}


def items_subject(items: Any) -> Resource:
    return make_resource({"rules": items})


ITEM_CASES = [
    pytest.param("any_item", [{"port": 80}, {"port": 22}], True, id="any-one-matches"),
    pytest.param("any_item", [{"port": 80}], False, id="any-none-matches"),
    pytest.param("any_item", [], False, id="any-empty"),
    pytest.param("any_item", None, False, id="any-null"),
    pytest.param("any_item", [{"port": "80"}, {"port": 80}], False, id="any-numeric-text-is-not-22"),
    pytest.param("any_item", [{"port": 80}, {"port": "22"}], True, id="any-numeric-text-is-22"),
    pytest.param("all_items", [{"port": 22}, {"port": 22}], True, id="all-every-match"),
    pytest.param("all_items", [{"port": 22}, {"port": 80}], False, id="all-one-differs"),
    pytest.param("all_items", [], True, id="all-empty-vacuous"),
    pytest.param("no_item", [], True, id="no-empty"),
    pytest.param("no_item", [{"port": 80}], True, id="no-none-matches"),
    pytest.param("no_item", [{"port": 80}, {"port": 22}], False, id="no-one-matches"),
    pytest.param("any_item", {"a": {"port": 22}}, True, id="any-over-mapping-values"),
]


@pytest.mark.parametrize(("quantifier", "items", "result"), ITEM_CASES)
def test_item_quantifier(quantifier: str, items: Any, result: bool) -> None:
    condition = {quantifier: "configuration.rules", "where": ITEM_MATCH}

    outcome, reasons = evaluate(condition, items_subject(items))

    assert outcome is result
    assert reasons == []


def test_item_port_range_text_is_unknown() -> None:
    # "0-1000" is no number, and it includes port 22, so calling it unequal to 22 would hide an open port.
    condition = {"any_item": "configuration.rules", "where": ITEM_MATCH}

    outcome, reasons = evaluate(condition, items_subject([{"port": "0-1000"}, {"port": 80}]))

    assert outcome is None
    assert reasons == ["port (equals): expected a number, found string '0-1000'"]
    assert evaluate(condition, items_subject([{"port": "0-1000"}, {"port": 22}]))[0] is True


def test_items_missing_list_is_empty() -> None:
    subject = make_resource({})

    assert evaluate({"any_item": "configuration.rules", "where": ITEM_MATCH}, subject)[0] is False
    assert evaluate({"all_items": "configuration.rules", "where": ITEM_MATCH}, subject)[0] is True
    assert evaluate({"no_item": "configuration.rules", "where": ITEM_MATCH}, subject)[0] is True


# An item whose port is text is unknown under `gt`, while 80 is known not to be above 1000.
UNKNOWN_ITEM = {"port": "high"}
GT_1000 = {"path": "port", "gt": 1000}

UNKNOWN_ITEM_CASES = [
    pytest.param("any_item", [UNKNOWN_ITEM, {"port": 80}], None, id="any-unknown-and-false"),
    pytest.param("any_item", [UNKNOWN_ITEM, {"port": 2000}], True, id="any-unknown-and-true"),
    pytest.param("all_items", [UNKNOWN_ITEM, {"port": 80}], False, id="all-unknown-and-false"),
    pytest.param("all_items", [UNKNOWN_ITEM, {"port": 2000}], None, id="all-unknown-and-true"),
    pytest.param("no_item", [UNKNOWN_ITEM, {"port": 80}], None, id="no-unknown-and-false"),
    pytest.param("no_item", [UNKNOWN_ITEM, {"port": 2000}], False, id="no-unknown-and-true"),
]


@pytest.mark.parametrize(("quantifier", "items", "result"), UNKNOWN_ITEM_CASES)
def test_items_with_unknown_item(quantifier: str, items: list[Any], result: bool | None) -> None:
    outcome, reasons = evaluate({quantifier: "configuration.rules", "where": GT_1000}, items_subject(items))

    assert outcome is result
    assert reasons == ["port (gt): expected a number, found 'high'"]


def test_item_at_is_the_item() -> None:
    condition = {"any_item": "configuration.names", "where": {"path": "@", "equals": "admin"}}

    assert evaluate(condition, make_resource({"names": ["ops", "admin"]}))[0] is True
    assert evaluate(condition, make_resource({"names": ["ops"]}))[0] is False


def test_item_at_dot_key() -> None:
    condition = {"any_item": "configuration.rules", "where": {"path": "@.port", "equals": 22}}

    assert evaluate(condition, items_subject([{"port": 22}]))[0] is True


def test_item_at_index() -> None:
    condition = {"any_item": "configuration.pairs", "where": {"path": "@[1]", "equals": "open"}}

    assert evaluate(condition, make_resource({"pairs": [["22", "open"]]}))[0] is True
    assert evaluate(condition, make_resource({"pairs": [["22", "closed"]]}))[0] is False


def test_item_not_a_list_is_unknown() -> None:
    outcome, reasons = evaluate({"any_item": "configuration.rules", "where": ITEM_MATCH}, items_subject("text"))

    assert outcome is None
    assert reasons == ["configuration.rules: expected a list, found str"]


def test_item_quantifiers_nest() -> None:
    condition = {
        "any_item": "configuration.groups",
        "where": {"all_items": "members", "where": {"path": "@", "matches": "svc-.*"}},
    }

    assert evaluate(condition, make_resource({"groups": [{"members": ["bob"]}, {"members": ["svc-a"]}]}))[0] is True
    assert evaluate(condition, make_resource({"groups": [{"members": ["bob", "svc-a"]}]}))[0] is False


def test_item_list_in_errors_is_unknown() -> None:
    subject = make_resource({"rules": [{"port": 22}]}, errors={"configuration.rules": "Throttling on ec2:Describe"})

    outcome, reasons = evaluate({"any_item": "configuration.rules", "where": ITEM_MATCH}, subject)

    assert outcome is None
    assert reasons == ["configuration.rules: Throttling on ec2:Describe"]


def test_item_child_in_errors_is_unknown() -> None:
    subject = make_resource({"rules": [{"port": 80}]}, errors={"configuration.rules[0].port": "AccessDenied"})

    outcome, _ = evaluate({"no_item": "configuration.rules", "where": ITEM_MATCH}, subject)

    assert outcome is None


# --- Paths -----------------------------------------------------------------------------

SPLIT_CASES = [
    pytest.param("configuration.a", ("configuration", "a"), id="dotted"),
    pytest.param("configuration.list[2].name", ("configuration", "list", 2, "name"), id="index"),
    pytest.param('tags."app.tier"', ("tags", "app.tier"), id="quoted-dots"),
    pytest.param('configuration."a[0]"', ("configuration", "a[0]"), id="quoted-brackets"),
    pytest.param("configuration.m[0][1]", ("configuration", "m", 0, 1), id="two-indexes"),
    pytest.param("a-b:c/d", ("a-b:c/d",), id="punctuation"),
]


@pytest.mark.parametrize(("text", "keys"), SPLIT_CASES)
def test_split_path(text: str, keys: tuple[str | int, ...]) -> None:
    assert split_path(text) == keys


@pytest.mark.parametrize("text", ["", "a..b", ".a", "a.", "a[x]", 'a."b', "a[-1]", "a[]", 'a"b"', "a[0]b"])
def test_split_path_rejects(text: str) -> None:
    with pytest.raises(RuleError):
        split_path(text)


def path_subject() -> Resource:
    return make_resource(
        {"list": [{"name": "first"}, {"name": "second"}], "nested": {"flag": None}},
        supplementary={"BucketPolicy": {"policyText": "{}"}},
        tags={"app.tier": "web", "owner": "ops"},
        name="bucket-a",
        region="eu-west-1",
    )


PATH_READ_CASES = [
    pytest.param("configuration.list[1].name", "second", id="index-then-key"),
    pytest.param("configuration.list[5].name", MISSING, id="index-out-of-range"),
    pytest.param("configuration.nested[0]", MISSING, id="index-on-mapping"),
    pytest.param("configuration.list.name", MISSING, id="key-on-list"),
    pytest.param("configuration.nested.flag", None, id="explicit-null"),
    pytest.param("configuration.nested.flag.deeper", MISSING, id="below-null"),
    pytest.param('tags."app.tier"', "web", id="quoted-tag"),
    pytest.param("tags.owner", "ops", id="tag"),
    pytest.param("supplementaryConfiguration.BucketPolicy.policyText", "{}", id="supplementary"),
    pytest.param("name", "bucket-a", id="name"),
    pytest.param("region", "eu-west-1", id="region"),
    pytest.param("account", ACCOUNT, id="account"),
    pytest.param("provider", "aws", id="provider"),
    pytest.param("type", "AWS::S3::Bucket", id="type"),
    pytest.param("id", "arn:aws:s3:::bucket-a", id="id"),
]


@pytest.mark.parametrize(("text", "value"), PATH_READ_CASES)
def test_path_reads(text: str, value: Any) -> None:
    assert Path(text).get(path_subject()) == value


def test_quoted_key_in_condition() -> None:
    condition = {"path": 'tags."app.tier"', "equals": "web"}

    assert evaluate(condition, path_subject())[0] is True


def test_path_root_must_be_envelope_field() -> None:
    with pytest.raises(RuleError, match="must start with one of"):
        Path("config.x")


OVERLAP_CASES = [
    pytest.param("configuration.a", "configuration.a", True, id="same"),
    pytest.param("configuration", "configuration.a", True, id="parent"),
    pytest.param("configuration.a.b", "configuration.a", True, id="child"),
    pytest.param("configuration.list", "configuration.list[0]", True, id="list-element"),
    pytest.param("configuration.a", "configuration.ab", False, id="sibling-prefix"),
    pytest.param("configuration.a", "configuration.b", False, id="sibling"),
]


@pytest.mark.parametrize(("first", "second", "result"), OVERLAP_CASES)
def test_paths_overlap(first: str, second: str, result: bool) -> None:
    assert paths_overlap(first, second) is result
    assert paths_overlap(second, first) is result


ERROR_PATH_CASES = [
    pytest.param("configuration.value", "configuration.value", id="same-path"),
    pytest.param("configuration", "configuration.value", id="parent-in-errors"),
    pytest.param("configuration.value.inner", "configuration.value", id="child-in-errors"),
    pytest.param("*", "configuration.value", id="everything"),
    pytest.param("configuration.value", 'configuration."value"', id="quoted-rule-path"),
    pytest.param("configuration.list", "configuration.list[0]", id="indexed-rule-path"),
]


@pytest.mark.parametrize(("error_path", "rule_path"), ERROR_PATH_CASES)
def test_error_path_makes_leaf_unknown(error_path: str, rule_path: str) -> None:
    subject = make_resource({"value": "x", "list": ["x"]}, errors={error_path: "AccessDenied on s3:GetThing"})

    outcome, reasons = evaluate({"path": rule_path, "equals": "x"}, subject)

    assert outcome is None
    assert reasons == [f"{rule_path}: AccessDenied on s3:GetThing"]


def test_sibling_error_path_leaves_leaf_known() -> None:
    subject = make_resource({"value": "x"}, errors={"configuration.valueTwo": "AccessDenied"})

    assert evaluate({"path": "configuration.value", "equals": "x"}, subject) == (True, [])


# --- Check functions -------------------------------------------------------------------

PUBLIC_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}],
})
CROSS_ACCOUNT_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                   "Action": "sts:AssumeRole"}],
})
POLICY_CHECK = {"check": "aws.policy_public", "args": {"policy": "supplementaryConfiguration.policy"}}


@pytest.mark.parametrize(("policy", "result"), [
    pytest.param(PUBLIC_POLICY, True, id="public"),
    pytest.param(None, False, id="no-policy"),
])
def test_check_function_result(policy: str | None, result: bool) -> None:
    subject = make_resource(supplementary={"policy": policy} if policy else {})

    assert evaluate(POLICY_CHECK, subject) == (result, [])


def test_check_function_unknown_outcome() -> None:
    outcome, reasons = evaluate(POLICY_CHECK, make_resource(supplementary={"policy": "not json"}))

    assert outcome is None
    assert len(reasons) == 1
    assert reasons[0].startswith("aws.policy_public: invalid policy document")


def test_check_function_path_in_errors() -> None:
    subject = make_resource(supplementary={"policy": PUBLIC_POLICY},
                            errors={"supplementaryConfiguration.policy": "AccessDenied on s3:GetBucketPolicy"})

    outcome, reasons = evaluate(POLICY_CHECK, subject)

    assert outcome is None
    assert reasons == ["supplementaryConfiguration.policy: AccessDenied on s3:GetBucketPolicy"]


def test_check_function_subject_inside_items() -> None:
    # The function needs the owner account, but inside a quantifier the subject is a list item.
    condition = {
        "any_item": "configuration.roles",
        "where": {"check": "aws.policy_cross_account", "args": {"policy": "trust"}},
    }
    subject = make_resource({"roles": [{"trust": CROSS_ACCOUNT_POLICY}]})

    assert evaluate(condition, subject) == (True, [])


# --- Related resources -----------------------------------------------------------------

BLOCK_TYPE = "AWS::S3::AccountPublicAccessBlock"


def account_block(account: str = ACCOUNT, restrict: bool = True, region: str = "global") -> Resource:
    return make_resource({"restrictPublicBuckets": restrict}, type_name=BLOCK_TYPE, name=account,
                         resource_id=f"{account}-block", account=account, region=region)


def related_account(missing: str | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "related": {"type": BLOCK_TYPE, "match": "account"},
        "where": {"path": "configuration.restrictPublicBuckets", "equals": True},
    }
    if missing is not None:
        condition["missing"] = load_yaml_text(missing)
    return condition


def test_related_account_found() -> None:
    index = ResourceIndex([account_block(restrict=True)])

    assert evaluate(related_account(), make_resource(), index) == (True, [])


def test_related_account_where_false() -> None:
    index = ResourceIndex([account_block(restrict=False)])

    assert evaluate(related_account(), make_resource(), index) == (False, [])


def test_related_other_account_is_missing() -> None:
    index = ResourceIndex([account_block(account=OTHER_ACCOUNT)])

    outcome, reasons = evaluate(related_account(), make_resource(), index)

    assert outcome is None
    assert reasons == [f"related {BLOCK_TYPE} of the same account was not collected"]


@pytest.mark.parametrize(("missing", "result"), [
    pytest.param("unknown", None, id="unknown"),
    pytest.param("true", True, id="true"),
    pytest.param("false", False, id="false"),
])
def test_related_missing_value(missing: str, result: bool | None) -> None:
    outcome, reasons = evaluate(related_account(missing), make_resource(), ResourceIndex([]))

    assert outcome is result
    assert (reasons != []) is (result is None)


def test_related_region_match() -> None:
    condition = {
        "related": {"type": "AWS::Config::Recorder", "match": "region"},
        "where": {"path": "configuration.recording", "equals": True},
    }
    recorder = make_resource({"recording": True}, type_name="AWS::Config::Recorder", name="default",
                             resource_id="recorder-eu", region="eu-west-1")
    index = ResourceIndex([recorder])

    assert evaluate(condition, make_resource(region="eu-west-1"), index) == (True, [])
    assert evaluate(condition, make_resource(region="us-east-1"), index)[0] is None


def test_related_where_path_in_errors() -> None:
    block = account_block()
    block.errors["configuration"] = "AccessDenied on s3:GetPublicAccessBlock"

    outcome, reasons = evaluate(related_account(), make_resource(), ResourceIndex([block]))

    assert outcome is None
    assert reasons == ["configuration.restrictPublicBuckets: AccessDenied on s3:GetPublicAccessBlock"]


NAME_FROM = {
    "related": {"type": "AWS::S3::Bucket", "match": {"name_from": "configuration.logBucket"}},
    "where": {"path": "configuration.versioning", "equals": "Enabled"},
}


def test_related_name_from() -> None:
    logs = make_resource({"versioning": "Enabled"}, name="logs")
    trail = make_resource({"logBucket": "logs"}, type_name="AWS::CloudTrail::Trail", name="trail")

    assert evaluate(NAME_FROM, trail, ResourceIndex([logs, trail])) == (True, [])


def test_related_name_from_prefers_same_account() -> None:
    other = make_resource({"versioning": "Enabled"}, name="logs", account=OTHER_ACCOUNT,
                          resource_id="arn:aws:s3:::logs-other")
    own = make_resource({"versioning": "Suspended"}, name="logs")
    trail = make_resource({"logBucket": "logs"}, type_name="AWS::CloudTrail::Trail", name="trail")

    assert evaluate(NAME_FROM, trail, ResourceIndex([other, own]))[0] is False


def test_related_name_from_empty_value() -> None:
    trail = make_resource({}, type_name="AWS::CloudTrail::Trail", name="trail")

    outcome, reasons = evaluate(NAME_FROM, trail, ResourceIndex([]))

    assert outcome is None
    assert reasons == ["configuration.logBucket is empty"]


def test_related_name_from_value_in_errors() -> None:
    trail = make_resource({"logBucket": "logs"}, type_name="AWS::CloudTrail::Trail", name="trail",
                          errors={"configuration.logBucket": "AccessDenied on cloudtrail:GetTrail"})

    outcome, reasons = evaluate(NAME_FROM, trail, ResourceIndex([]))

    assert outcome is None
    assert reasons == ["configuration.logBucket: AccessDenied on cloudtrail:GetTrail"]


SG_TYPE = "AWS::EC2::SecurityGroup"


def security_group(account: str = ACCOUNT, open_to_world: bool = True) -> Resource:
    return make_resource({"open": open_to_world}, type_name=SG_TYPE, name="web", account=account,
                         resource_id=f"arn:aws:ec2:us-east-1:{account}:security-group/sg-123")


def test_related_id_from_short_id() -> None:
    condition = {
        "any_item": "configuration.securityGroups",
        "where": {"related": {"type": SG_TYPE, "match": {"id_from": "@"}},
                  "where": {"path": "configuration.open", "equals": True}},
    }
    instance = make_resource({"securityGroups": ["sg-123"]}, type_name="AWS::EC2::Instance", name="i-1")

    assert evaluate(condition, instance, ResourceIndex([security_group()])) == (True, [])


def test_related_id_from_full_arn() -> None:
    arn = f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-123"
    condition = {"related": {"type": SG_TYPE, "match": {"id_from": "configuration.group"}},
                 "where": {"path": "configuration.open", "equals": False}}
    instance = make_resource({"group": arn}, type_name="AWS::EC2::Instance", name="i-1")

    assert evaluate(condition, instance, ResourceIndex([security_group(open_to_world=False)])) == (True, [])


def test_related_short_id_other_account() -> None:
    condition = {"related": {"type": SG_TYPE, "match": {"id_from": "configuration.group"}},
                 "where": {"path": "configuration.open", "equals": True}, "missing": False}
    instance = make_resource({"group": "sg-123"}, type_name="AWS::EC2::Instance", name="i-1")

    assert evaluate(condition, instance, ResourceIndex([security_group(account=OTHER_ACCOUNT)])) == (False, [])


def test_related_short_id_per_account() -> None:
    # Role names repeat in every account, so the lookup must find the one of the resource's own account.
    def role(account: str, admin: bool) -> Resource:
        return make_resource({"admin": admin}, type_name="AWS::IAM::Role", name="OrgAccess", account=account,
                             resource_id=f"arn:aws:iam::{account}:role/OrgAccess", region="global")

    condition = {"related": {"type": "AWS::IAM::Role", "match": {"id_from": "configuration.role"}},
                 "where": {"path": "configuration.admin", "equals": True}}
    index = ResourceIndex([role(OTHER_ACCOUNT, False), role(ACCOUNT, True)])
    instance = make_resource({"role": "OrgAccess"}, type_name="AWS::EC2::Instance", name="i-1")

    assert evaluate(condition, instance, index) == (True, [])


# --- Evidence, paths() and related_types() ---------------------------------------------

def test_explain_records_evidence() -> None:
    node = compile_text({"all": [
        {"path": "configuration.value", "equals": "x" * 3000},
        {"path": "configuration.absent", "exists": False},
    ]})
    ctx = EvalContext(None, explain=True)

    node.evaluate(make_resource({"value": "x" * 3000}), ctx)

    assert ctx.evidence is not None
    assert ctx.evidence["configuration.value"] == "x" * 2000 + "...(truncated)"
    assert ctx.evidence["configuration.absent"] is None


def test_collect_paths_and_related_types() -> None:
    node = compile_text({"all": [
        {"path": "configuration.a", "equals": 1},
        {"any_item": "configuration.rules", "where": {"path": "port", "equals": 22}},
        {"check": "aws.policy_public", "args": {"policy": "supplementaryConfiguration.BucketPolicy.policyText"}},
        {"related": {"type": BLOCK_TYPE, "match": {"name_from": "name"}},
         "where": {"path": "configuration.restrictPublicBuckets", "equals": True}},
    ]})

    assert collect_paths([node]) == {
        "configuration.a",
        "configuration.rules",
        "supplementaryConfiguration.BucketPolicy.policyText",
        "name",
    }
    assert node.related_types() == {BLOCK_TYPE}


# --- Compile errors --------------------------------------------------------------------

COMPILE_ERROR_CASES = [
    pytest.param({"path": "configuration.x", "equal": 1}, "equal", "unknown operator 'equal'", id="unknown-operator"),
    pytest.param({"path": "configuration.x", "matches": "("}, "matches", "invalid regular expression",
                 id="bad-regex"),
    pytest.param({"path": "configuration.x", "gt": "5"}, "gt", "needs a value of type int or float",
                 id="comparison-text"),
    pytest.param({"path": "configuration.x", "gt": True}, "gt", "needs a value of type", id="comparison-bool"),
    pytest.param({"path": "configuration.x", "in": "a"}, "in", "needs a value of type list", id="in-not-list"),
    pytest.param({"path": "configuration.x", "exists": "yes"}, "exists", "bool", id="exists-not-bool"),
    pytest.param({"path": "configuration.x", "length_gt": 1.5}, "length_gt", "int", id="length-float"),
    pytest.param({"path": "config.x", "equals": 1}, "path", "must start with one of", id="bad-root"),
    pytest.param({"path": 5, "equals": 1}, "path", "a path must be a string", id="path-not-string"),
    pytest.param({"path": "configuration..x", "equals": 1}, "path", "invalid path", id="malformed-path"),
    pytest.param({"check": "aws.no_such_function"}, "check", "unknown check function", id="unknown-check"),
    pytest.param({"check": "aws.policy_public", "args": {"policy": "configuration.p", "bogus": 1}}, "args.bogus",
                 "takes no argument 'bogus'", id="unknown-argument"),
    pytest.param({"check": "aws.policy_public"}, "args", "needs argument(s): policy", id="missing-argument"),
    pytest.param({"check": "aws.policy_public", "args": ["configuration.p"]}, "args", "must be a mapping",
                 id="args-not-mapping"),
    pytest.param({"check": "aws.policy_public", "args": {"policy": 5}}, "args.policy", "a path must be a string",
                 id="path-argument-not-string"),
    pytest.param({"check": "aws.policy_cross_account", "args": {"policy": "configuration.p", "subject": 1}},
                 "args.subject", "takes no argument 'subject'", id="subject-argument"),
    pytest.param({"all": []}, "all", "non-empty list", id="empty-all"),
    pytest.param({"any": {"path": "configuration.x"}}, "any", "non-empty list", id="any-not-list"),
    pytest.param({"any_item": "configuration.x"}, "any_item", "needs a 'where'", id="items-without-where"),
    pytest.param({"related": {"type": BLOCK_TYPE}, "where": {"path": "configuration.x", "equals": 1}}, "related",
                 "needs 'type' and 'match'", id="related-without-match"),
    pytest.param({"related": {"type": BLOCK_TYPE, "match": "zone"}, "where": {"path": "configuration.x",
                                                                              "equals": 1}},
                 "related.match", "'match' must be", id="related-bad-match"),
    pytest.param({"related": {"type": BLOCK_TYPE, "match": "account"}}, "related", "needs a 'where'",
                 id="related-without-where"),
    pytest.param({"related": {"type": BLOCK_TYPE, "match": "account"}, "missing": "maybe",
                  "where": {"path": "configuration.x", "equals": 1}}, "missing", "'missing' must be",
                 id="related-bad-missing"),
    pytest.param({"related": {"type": BLOCK_TYPE, "match": {"name_from": "nowhere.x"}},
                  "where": {"path": "configuration.x", "equals": 1}}, "related.match.name_from",
                 "must start with one of", id="related-bad-value-path"),
    pytest.param({"all": [{"path": "configuration.x", "equals": 1}, {"path": "configuration.y", "bad": 1}]},
                 "all[1].bad", "unknown operator", id="nested-in-all"),
    pytest.param({"not": {"any_item": "configuration.x", "where": {"path": "@", "nope": 1}}}, "not.where.nope",
                 "unknown operator", id="nested-in-where"),
]


@pytest.mark.parametrize(("condition", "field", "message"), COMPILE_ERROR_CASES)
def test_compile_error_names_field(condition: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_condition(condition)

    assert caught.value.field == field
    assert message in caught.value.reason


@pytest.mark.parametrize(("condition", "message"), [
    pytest.param(["path"], "must be a mapping", id="not-mapping"),
    pytest.param({"paht": "configuration.x", "equals": 1}, "unknown condition with keys equals, paht",
                 id="unknown-keys"),
    pytest.param({"all": [{"path": "configuration.x", "equals": 1}], "path": "x"}, "unexpected key(s) path",
                 id="extra-key"),
    pytest.param({"path": "configuration.x"}, "has no operator", id="no-operator"),
])
def test_compile_error_without_field(condition: Any, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_condition(condition)

    assert message in caught.value.reason


def test_compile_error_gives_nested_line() -> None:
    text = """
all:
  - path: configuration.a
    equals: 1
  - any:
      - path: configuration.b
        equals: 2
      - path: configuration.c
        equal: 3
"""
    with pytest.raises(RuleError) as caught:
        compile_text(text)

    assert caught.value.field == "all[1].any[1].equal"
    assert caught.value.line == 8


def test_in_any_case_folds_strings_only() -> None:
    from ridgeline.model.resource import Resource
    from ridgeline.rules.conditions import EvalContext, compile_condition

    def holds(value: object, expected: list[object]) -> bool | None:
        resource = Resource(provider="azure", account="s", region="global", type="T", id="i", name="n",
                            configuration={"properties": {"state": value}})
        node = compile_condition({"path": "configuration.properties.state", "in_any_case": expected})
        return node.evaluate(resource, EvalContext(None))

    assert holds("enabled", ["Enabled"]) is True
    assert holds("ENABLED", ["Enabled", "On"]) is True
    assert holds("Disabled", ["Enabled"]) is False
    assert holds(None, ["Enabled"]) is False
    assert holds(True, ["true"]) is False
