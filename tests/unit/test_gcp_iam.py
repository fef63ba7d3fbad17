"""Tests for public grants in GCP IAM policies and public Cloud Storage buckets."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.gcp_iam import PublicMember, bucket_public, public_members

VIEWER = "roles/storage.objectViewer"


def policy(*bindings: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "etag": "BwX=", "bindings": list(bindings)}


def binding(role: str, *members: str, condition: dict[str, str] | None = None) -> dict[str, Any]:
    built: dict[str, Any] = {"role": role, "members": list(members)}
    if condition is not None:
        built["condition"] = condition
    return built


MEMBER_CASES = [
    # (case id, policy, expected public members)
    ("no policy", None, []),
    ("no bindings", {"version": 1, "etag": "BwX="}, []),
    ("empty bindings", policy(), []),
    ("private members", policy(binding(VIEWER, "user:a@example.com", "group:g@example.com")), []),
    ("all users", policy(binding(VIEWER, "allUsers")), [PublicMember(VIEWER, "allUsers")]),
    (
        "all authenticated users",
        policy(binding("roles/viewer", "user:a@example.com", "allAuthenticatedUsers")),
        [PublicMember("roles/viewer", "allAuthenticatedUsers")],
    ),
    (
        "conditional binding",
        policy(binding(VIEWER, "allUsers", condition={"title": "t", "expression": "request.time < x"})),
        [PublicMember(VIEWER, "allUsers", conditional=True)],
    ),
    (
        "several bindings in order",
        policy(binding("roles/a", "allAuthenticatedUsers"), binding("roles/b", "allUsers")),
        [PublicMember("roles/a", "allAuthenticatedUsers"), PublicMember("roles/b", "allUsers")],
    ),
    ("member names are case sensitive", policy(binding(VIEWER, "allusers")), []),
]


@pytest.mark.parametrize(
    ("iam_policy", "expected"), [case[1:] for case in MEMBER_CASES], ids=[case[0] for case in MEMBER_CASES]
)
def test_public_members(iam_policy: dict[str, Any] | None, expected: list[PublicMember]) -> None:
    assert public_members(iam_policy) == expected


def test_public_member_unpacks_role_and_member() -> None:
    role, member, conditional = public_members(policy(binding(VIEWER, "allUsers")))[0]

    assert role == VIEWER
    assert member == "allUsers"
    assert conditional is False


BUCKET_CASES = [
    # (case id, policy, publicAccessPrevention, expected matched)
    ("all users no setting", policy(binding(VIEWER, "allUsers")), None, True),
    ("all users inherited", policy(binding(VIEWER, "allUsers")), "inherited", True),
    ("all users unspecified", policy(binding(VIEWER, "allUsers")), "unspecified", True),
    ("all users enforced", policy(binding(VIEWER, "allUsers")), "enforced", False),
    ("grpc enum enforced", policy(binding(VIEWER, "allUsers")), "ENFORCED", False),
    ("authenticated users inherited", policy(binding(VIEWER, "allAuthenticatedUsers")), "inherited", True),
    ("authenticated users enforced", policy(binding(VIEWER, "allAuthenticatedUsers")), "enforced", False),
    ("no bindings", {"version": 1}, "inherited", False),
    ("private bindings", policy(binding(VIEWER, "user:a@example.com")), None, False),
]


@pytest.mark.parametrize(
    ("iam_policy", "prevention", "expected"),
    [case[1:] for case in BUCKET_CASES],
    ids=[case[0] for case in BUCKET_CASES],
)
def test_bucket_public(iam_policy: dict[str, Any], prevention: str | None, expected: bool) -> None:
    verdict = bucket_public(iam_policy, prevention)

    assert verdict.matched is expected
    assert verdict.detail


def test_bucket_public_names_grants() -> None:
    verdict = bucket_public(policy(binding(VIEWER, "allUsers"), binding("roles/a", "allAuthenticatedUsers")), None)

    assert verdict.statements == (f"{VIEWER}: allUsers", "roles/a: allAuthenticatedUsers")
    assert "1 more" in verdict.detail


def test_enforced_keeps_evidence() -> None:
    verdict = bucket_public(policy(binding(VIEWER, "allUsers")), "enforced")

    assert verdict.statements == (f"{VIEWER}: allUsers",)
    assert "enforced" in verdict.detail


INVALID_CASES = [
    ("policy not object", ["bindings"], None, "expected an object"),
    ("bindings not list", {"bindings": "allUsers"}, None, "expected a list"),
    ("missing role", {"bindings": [{"members": ["allUsers"]}]}, None, "invalid role"),
    ("members not list", {"bindings": [{"role": VIEWER, "members": "allUsers"}]}, None, "invalid members"),
    ("unknown prevention", policy(), "sometimes", "invalid publicAccessPrevention"),
]


@pytest.mark.parametrize(
    ("iam_policy", "prevention", "message"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_input_raises(iam_policy: Any, prevention: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bucket_public(iam_policy, prevention)
