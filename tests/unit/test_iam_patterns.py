"""Tests for IAM wildcard set questions and the static reading of condition operators."""

from __future__ import annotations

import itertools
import random

import pytest

from ridgeline.analysis.iam.conditions import KeyKind, OperatorParts, find_restrictions, split_operator
from ridgeline.analysis.iam.patterns import PatternSet, exists_string

EXISTS_CASES: list[tuple[str, list[PatternSet], list[PatternSet], bool, bool]] = [
    ("star and star", [PatternSet(("*",)), PatternSet(("*",))], [], True, True),
    ("overlap of prefix and service", [PatternSet(("s3:get*",)), PatternSet(("s3:*",))], [], True, True),
    ("disjoint prefixes", [PatternSet(("s3:get*",)), PatternSet(("s3:put*",))], [], True, False),
    ("covered by wildcard", [PatternSet(("s3:getobject",))], [PatternSet(("s3:*",))], True, False),
    ("star minus star", [PatternSet(("*",))], [PatternSet(("*",))], True, False),
    ("star minus non-empty", [PatternSet(("*",))], [PatternSet(("?*",))], False, False),
    (
        "negated leaves other services",
        [PatternSet(("*",)), PatternSet(("iam:*",), negated=True)],
        [],
        True,
        True,
    ),
    ("negated removes all", [PatternSet(("iam:*",)), PatternSet(("iam:*",), negated=True)], [], True, False),
    (
        "partial cover leaves put",
        [PatternSet(("iam:*",))],
        [PatternSet(("iam:get*", "iam:list*"))],
        True,
        True,
    ),
    (
        "union covers",
        [PatternSet(("iam:*",))],
        [PatternSet(("iam:get*",)), PatternSet(("iam:get*",), negated=True)],
        True,
        False,
    ),
    ("question mark covered", [PatternSet(("a?c",))], [PatternSet(("a*",))], False, False),
    ("question mark not covered", [PatternSet(("a*",))], [PatternSet(("a?c",))], False, True),
    ("case folded", [PatternSet(("S3:GetObject",))], [PatternSet(("s3:get*",))], True, False),
    ("case kept", [PatternSet(("S3:GetObject",))], [PatternSet(("s3:get*",))], False, True),
    (
        "bucket objects covered",
        [PatternSet(("arn:aws:s3:::b/*",))],
        [PatternSet(("arn:aws:s3:::b/*", "arn:aws:s3:::b"))],
        False,
        False,
    ),
    (
        "all buckets not covered",
        [PatternSet(("arn:aws:s3:::*",))],
        [PatternSet(("arn:aws:s3:::b/*",))],
        False,
        True,
    ),
    ("empty set", [PatternSet(())], [], True, False),
]


@pytest.mark.parametrize(
    ("required", "forbidden", "ignore_case", "expected"),
    [case[1:] for case in EXISTS_CASES],
    ids=[case[0] for case in EXISTS_CASES],
)
def test_exists_string(
    required: list[PatternSet], forbidden: list[PatternSet], ignore_case: bool, expected: bool
) -> None:
    assert exists_string(required, forbidden, ignore_case=ignore_case) is expected


def test_exists_string_matches_enumeration() -> None:
    # Random small patterns over a tiny alphabet, checked against every string of up to six characters.
    # The seed is fixed, and each of its cases that has a witness string has one of that length or less.
    generator = random.Random(20240601)
    alphabet = "aAb:"
    strings = ["".join(chars) for length in range(1, 7) for chars in itertools.product(alphabet, repeat=length)]

    def random_set() -> PatternSet:
        patterns = tuple(
            "".join(generator.choice("ab*?A:") for _ in range(generator.randint(0, 4)))
            for _ in range(generator.randint(0, 3))
        )
        return PatternSet(patterns, negated=generator.random() < 0.3)

    for _ in range(200):
        required = [random_set() for _ in range(generator.randint(1, 3))]
        forbidden = [random_set() for _ in range(generator.randint(0, 2))]
        ignore_case = generator.random() < 0.5

        expected = any(
            all(item.contains(text, ignore_case=ignore_case) for item in required)
            and not any(item.contains(text, ignore_case=ignore_case) for item in forbidden)
            for text in strings
        )

        assert exists_string(required, forbidden, ignore_case=ignore_case) is expected, (required, forbidden)


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", OperatorParts(qualifier=None, base="stringequals", if_exists=False)),
        ("StringLikeIfExists", OperatorParts(qualifier=None, base="stringlike", if_exists=True)),
        (
            "ForAnyValue:StringLike",
            OperatorParts(qualifier="foranyvalue", base="stringlike", if_exists=False),
        ),
        (
            "ForAllValues:ArnEqualsIfExists",
            OperatorParts(qualifier="forallvalues", base="arnequals", if_exists=True),
        ),
        ("Null", OperatorParts(qualifier=None, base="null", if_exists=False)),
    ],
)
def test_split_operator(operator: str, expected: OperatorParts) -> None:
    assert split_operator(operator) == expected


def test_find_restrictions_reports_each_pinning_condition() -> None:
    conditions = {
        "StringEquals": {"aws:sourcevpce": ("vpce-1",), "aws:principalaccount": ("111111111111",)},
        "Bool": {"aws:securetransport": ("true",)},
        "StringNotEquals": {"aws:sourcevpc": ("vpc-1",)},
    }

    restrictions = find_restrictions(conditions)

    assert [(item.key, item.kind) for item in restrictions] == [
        ("aws:sourcevpce", KeyKind.IDENTIFIER),
        ("aws:principalaccount", KeyKind.ACCOUNT),
    ]
    assert restrictions[0].accounts() is None
    assert restrictions[1].accounts() == frozenset({"111111111111"})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            ("arn:aws:iam::111111111111:role/a", "arn:aws:iam::222222222222:role/b"),
            {"111111111111", "222222222222"},
        ),
        (("arn:aws:s3:::logs-bucket",), None),
    ],
)
def test_restriction_accounts_from_arns(values: tuple[str, ...], expected: set[str] | None) -> None:
    (restriction,) = find_restrictions({"ArnEquals": {"aws:sourcearn": values}})

    accounts = restriction.accounts()

    assert accounts == (None if expected is None else frozenset(expected))
