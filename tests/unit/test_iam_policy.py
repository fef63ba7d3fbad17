"""Tests for IAM policy parsing and the public, cross-account, admin and action questions."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from ridgeline.analysis.iam.policy import (
    PolicyDocument,
    PolicyParseError,
    Verdict,
    action_matches,
    allows_actions,
    allows_admin,
    allows_service_wildcard,
    cross_account_access,
    parse_policy,
    public_access,
    resource_matches,
)

OWNER = "111111111111"
FOREIGN = "999999999999"
BUCKET = "arn:aws:s3:::example-bucket"
OBJECTS = f"{BUCKET}/*"


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(
    action: str | list[str] = "s3:GetObject",
    *,
    principal: Any = "*",
    resource: str | list[str] = OBJECTS,
    condition: dict[str, Any] | None = None,
    sid: str = "AllowAll",
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action}
    statement["Resource"] = resource
    if condition is not None:
        statement["Condition"] = condition
    return statement


def deny(
    action: str | list[str] = "s3:*",
    *,
    principal: Any = "*",
    resource: str | list[str] = OBJECTS,
    condition: dict[str, Any] | None = None,
    sid: str = "DenyAll",
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "Principal": principal, "Action": action}
    statement["Resource"] = resource
    if condition is not None:
        statement["Condition"] = condition
    return statement


def identity(*statements: dict[str, Any]) -> PolicyDocument:
    """Parse an identity-based policy, whose statements have no Principal."""
    for statement in statements:
        statement.pop("Principal", None)
    parsed = parse_policy(document(*statements))
    assert parsed is not None
    return parsed


def parsed(policy: dict[str, Any]) -> PolicyDocument:
    result = parse_policy(policy)
    assert result is not None
    return result


# Public access

PUBLIC_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("principal star string", document(allow(principal="*")), True),
    ("aws star string", document(allow(principal={"AWS": "*"})), True),
    ("aws star list", document(allow(principal={"AWS": ["*"]})), True),
    ("aws star among others", document(allow(principal={"AWS": [f"arn:aws:iam::{OWNER}:root", "*"]})), True),
    ("named account", document(allow(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"})), False),
    ("bare account id", document(allow(principal={"AWS": FOREIGN})), False),
    ("service principal", document(allow(principal={"Service": "cloudtrail.amazonaws.com"})), False),
    (
        "allow with not principal",
        document(
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
                "Action": "s3:GetObject",
                "Resource": OBJECTS,
            }
        ),
        True,
    ),
    (
        "source vpce string equals",
        document(allow(condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
        False,
    ),
    (
        "source vpce key in other case",
        document(allow(condition={"StringEquals": {"AWS:SOURCEVPCE": "vpce-1a2b3c4d"}})),
        False,
    ),
    (
        "principal org id",
        document(allow(condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}})),
        False,
    ),
    (
        "source vpce string not equals",
        document(allow(condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
        True,
    ),
    (
        "source vpce if exists",
        document(allow(condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
        True,
    ),
    ("source ip world", document(allow(condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})), True),
    ("source ip ipv6 world", document(allow(condition={"IpAddress": {"aws:SourceIp": ["::/0"]}})), True),
    (
        "source ip two halves",
        document(allow(condition={"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}})),
        True,
    ),
    ("source ip range", document(allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})), False),
    (
        "source ip negated",
        document(allow(condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
        True,
    ),
    ("source ip not an address", document(allow(condition={"IpAddress": {"aws:SourceIp": "office"}})), True),
    ("string like star", document(allow(condition={"StringLike": {"aws:SourceVpce": "*"}})), True),
    ("string like prefix", document(allow(condition={"StringLike": {"aws:SourceVpce": "vpce-*"}})), True),
    (
        "string like fixed",
        document(allow(condition={"StringLike": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
        False,
    ),
    (
        "one open value among fixed ones",
        document(allow(condition={"StringEquals": {"aws:SourceVpc": ["vpc-111", "vpc-*"]}})),
        True,
    ),
    (
        "policy variable value",
        document(allow(condition={"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}})),
        True,
    ),
    (
        "for all values",
        document(allow(condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}})),
        True,
    ),
    (
        "for any value org path",
        document(
            allow(
                condition={
                    "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}
                }
            )
        ),
        False,
    ),
    (
        "arn like fixed account",
        document(allow(condition={"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{OWNER}:distribution/*"}})),
        False,
    ),
    (
        "arn like wildcard account",
        document(allow(condition={"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/*"}})),
        True,
    ),
    (
        "arn operator on non arn key",
        document(allow(condition={"ArnEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})),
        True,
    ),
    (
        "principal account",
        document(allow(condition={"StringEquals": {"aws:PrincipalAccount": OWNER}})),
        False,
    ),
    ("role user id", document(allow(condition={"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}})), False),
    ("any user id", document(allow(condition={"StringLike": {"aws:userid": "*:alice"}})), True),
    (
        "kms caller account",
        document(
            allow(
                "kms:Decrypt",
                resource="*",
                condition={
                    "StringEquals": {
                        "kms:CallerAccount": OWNER,
                        "kms:ViaService": "s3.us-east-1.amazonaws.com",
                    }
                },
            )
        ),
        False,
    ),
    ("secure transport only", document(allow(condition={"Bool": {"aws:SecureTransport": True}})), True),
    ("no statements", {"Version": "2012-10-17"}, False),
    ("deny to everyone only", document(deny()), False),
    ("unconditional deny cancels", document(allow(), deny("s3:*", resource=OBJECTS)), False),
    ("deny on star resource cancels", document(allow(), deny("*", resource="*")), False),
    (
        "deny conditioned on secure transport",
        document(allow(), deny(condition={"Bool": {"aws:SecureTransport": "false"}})),
        True,
    ),
    ("deny of other action", document(allow(), deny("s3:DeleteObject")), True),
    ("deny of narrower resource", document(allow(), deny(resource=f"{BUCKET}/private/*")), True),
    (
        "deny for one principal",
        document(allow(), deny(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"})),
        True,
    ),
    (
        "deny with not principal",
        document(
            allow(),
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{OWNER}:root", f"arn:aws:iam::{OWNER}:role/reader"]},
                "Action": "s3:*",
                "Resource": OBJECTS,
            },
        ),
        False,
    ),
    (
        "deny not action leaving the allowed action",
        document(allow(), {"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"}),
        True,
    ),
    (
        "deny not action covering the allowed action",
        document(
            allow("s3:PutObject"),
            {"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject", "Resource": "*"},
        ),
        False,
    ),
    (
        "two denies together cover",
        document(allow(["s3:GetObject", "s3:PutObject"]), deny("s3:Get*", sid="D1"), deny("s3:Put*", sid="D2")),
        False,
    ),
]


@pytest.mark.parametrize(("policy", "expected"), [case[1:] for case in PUBLIC_CASES], ids=[c[0] for c in PUBLIC_CASES])
def test_public_access_cases(policy: dict[str, Any], expected: bool) -> None:
    verdict = public_access(parsed(policy))

    assert verdict.matched is expected, verdict.detail
    assert bool(verdict.statements) is expected
    assert verdict.detail


PUBLIC_ACTION_CASES: list[tuple[str, dict[str, Any], list[str], bool]] = [
    ("other action", document(allow("s3:PutObject")), ["s3:Get*"], False),
    ("service wildcard grant", document(allow("s3:*")), ["s3:GetObject"], True),
    ("case of requested action", document(allow("s3:getobject")), ["S3:GETOBJECT"], True),
    ("pattern overlaps grant", document(allow("s3:GetObjectVersion")), ["s3:Get*"], True),
    (
        "not action excludes requested",
        document({"Effect": "Allow", "Principal": "*", "NotAction": "s3:Get*", "Resource": "*"}),
        ["s3:GetObject"],
        False,
    ),
    (
        "not action leaves requested",
        document({"Effect": "Allow", "Principal": "*", "NotAction": "s3:Get*", "Resource": "*"}),
        ["s3:PutObject"],
        True,
    ),
    ("no requested actions", document(allow()), [], False),
]


@pytest.mark.parametrize(
    ("policy", "actions", "expected"),
    [case[1:] for case in PUBLIC_ACTION_CASES],
    ids=[case[0] for case in PUBLIC_ACTION_CASES],
)
def test_public_access_action_filter(policy: dict[str, Any], actions: list[str], expected: bool) -> None:
    assert public_access(parsed(policy), actions=actions).matched is expected


def test_public_access_detail_names_statement() -> None:
    verdict = public_access(parsed(document(allow(), allow("s3:ListBucket", resource=BUCKET, sid="List"))))

    assert verdict == Verdict(
        matched=True,
        statements=("AllowAll", "List"),
        detail=(
            "Statement 'AllowAll' allows s3:getobject to Principal '*' without a restricting condition. "
            "1 more statement(s) also match: 'List'."
        ),
    )


def test_public_access_detail_with_requested_spelling() -> None:
    verdict = public_access(parsed(document(allow("s3:*", sid=""))), actions=["s3:GetObject"])

    assert verdict.statements == ("Statement[0]",)
    assert verdict.detail == ("Statement[0] allows s3:GetObject to Principal '*' without a restricting condition.")


def test_public_access_detail_open_condition() -> None:
    policy = document(allow(condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))

    verdict = public_access(parsed(policy))

    assert "StringNotEquals on aws:sourcevpce" in verdict.detail
    assert "do not restrict the caller" in verdict.detail


def test_public_access_detail_restricting_condition() -> None:
    policy = document(allow(condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))

    verdict = public_access(parsed(policy))

    assert verdict.matched is False
    assert verdict.detail == (
        "Statement 'AllowAll' grants access to Principal '*' but only where "
        "StringEquals on aws:sourcevpce (vpce-1a2b3c4d)."
    )


def test_public_access_detail_cancelling_deny() -> None:
    verdict = public_access(parsed(document(allow(), deny())))

    assert verdict.matched is False
    assert "Statement 'DenyAll' denies it unconditionally" in verdict.detail


def test_public_access_without_policy() -> None:
    assert public_access(None).matched is False


def test_public_access_rejects_empty_action_name() -> None:
    with pytest.raises(ValueError, match="non-empty strings"):
        public_access(parsed(document(allow())), actions=[""])


def test_public_access_single_string_action() -> None:
    # A lone string must mean one action, not its characters ("s", "3", ...).
    assert public_access(parsed(document(allow("s3:PutObject"))), actions="s3:GetObject").matched is False
    assert public_access(parsed(document(allow("s3:GetObject"))), actions="s3:GetObject").matched is True


# Cross-account access

CROSS_ACCOUNT_CASES: list[tuple[str, dict[str, Any], tuple[str, ...], bool]] = [
    ("foreign account root", document(allow(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"})), (), True),
    ("foreign bare account id", document(allow(principal={"AWS": FOREIGN})), (), True),
    (
        "foreign root trusted",
        document(allow(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"})),
        (FOREIGN,),
        False,
    ),
    ("owner role", document(allow(principal={"AWS": f"arn:aws:iam::{OWNER}:role/app"})), (), False),
    (
        "foreign assumed role",
        document(allow(principal={"AWS": f"arn:aws:sts::{FOREIGN}:assumed-role/app/session"})),
        (),
        True,
    ),
    ("service principal", document(allow(principal={"Service": "lambda.amazonaws.com"})), (), False),
    (
        "service principal list",
        document(allow(principal={"Service": ["events.amazonaws.com", "sns.amazonaws.com"]})),
        (),
        False,
    ),
    (
        "foreign saml provider",
        document(
            allow(
                "sts:AssumeRoleWithSAML",
                principal={"Federated": f"arn:aws:iam::{FOREIGN}:saml-provider/corp"},
            )
        ),
        (),
        True,
    ),
    (
        "web identity provider",
        document(allow("sts:AssumeRoleWithWebIdentity", principal={"Federated": "cognito-identity.amazonaws.com"})),
        (),
        False,
    ),
    (
        "canonical user",
        document(allow(principal={"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"})),
        (),
        False,
    ),
    ("public", document(allow(principal="*")), (), True),
    (
        "public pinned to owner account",
        document(allow(condition={"StringEquals": {"aws:PrincipalAccount": OWNER}})),
        (),
        False,
    ),
    (
        "public pinned to foreign source account",
        document(allow(condition={"StringEquals": {"aws:SourceAccount": FOREIGN}})),
        (),
        True,
    ),
    (
        "public pinned to foreign source arn",
        document(allow(condition={"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{FOREIGN}-logs"}})),
        (),
        False,
    ),
    (
        "public pinned to foreign principal arn",
        document(allow(condition={"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{FOREIGN}:role/reader"}})),
        (),
        True,
    ),
    (
        "public pinned to foreign account but denied",
        document(allow(condition={"StringEquals": {"aws:SourceAccount": FOREIGN}}), deny()),
        (),
        False,
    ),
    (
        "foreign account denied",
        document(
            allow(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"}),
            deny(principal={"AWS": FOREIGN}),
        ),
        (),
        False,
    ),
    (
        "foreign account deny is conditional",
        document(
            allow(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"}),
            deny(principal={"AWS": FOREIGN}, condition={"Bool": {"aws:SecureTransport": "false"}}),
        ),
        (),
        True,
    ),
    (
        "public closed to owner by not principal deny",
        document(
            allow(),
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
                "Action": "*",
                "Resource": "*",
            },
        ),
        (),
        False,
    ),
    (
        "public closed to owner and foreign by not principal deny",
        document(
            allow(),
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{OWNER}:root", f"arn:aws:iam::{FOREIGN}:root"]},
                "Action": "*",
                "Resource": "*",
            },
        ),
        (),
        True,
    ),
    (
        "deny statement naming foreign account",
        document(deny(principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"})),
        (),
        False,
    ),
]


@pytest.mark.parametrize(
    ("policy", "trusted", "expected"),
    [case[1:] for case in CROSS_ACCOUNT_CASES],
    ids=[case[0] for case in CROSS_ACCOUNT_CASES],
)
def test_cross_account_cases(policy: dict[str, Any], trusted: tuple[str, ...], expected: bool) -> None:
    verdict = cross_account_access(parsed(policy), owner_account=OWNER, trusted_accounts=trusted)

    assert verdict.matched is expected, verdict.detail
    assert bool(verdict.statements) is expected


def test_cross_account_detail_names_account() -> None:
    policy = document(allow("sts:AssumeRole", principal={"AWS": f"arn:aws:iam::{FOREIGN}:root"}, sid="Trust"))

    verdict = cross_account_access(parsed(policy), owner_account=OWNER)

    assert verdict.statements == ("Trust",)
    assert verdict.detail == (
        f"Statement 'Trust' allows sts:assumerole to arn:aws:iam::{FOREIGN}:root (account {FOREIGN}), "
        f"outside the owner account {OWNER} and the trusted accounts."
    )


@pytest.mark.parametrize("owner", ["", "12345", "arn:aws:iam::111111111111:root"])
def test_cross_account_rejects_invalid_owner(owner: str) -> None:
    with pytest.raises(ValueError, match="12-digit AWS account id"):
        cross_account_access(parsed(document(allow())), owner_account=owner)


def test_cross_account_single_trusted_string() -> None:
    policy = parsed(document(allow(principal={"AWS": FOREIGN})))

    assert cross_account_access(policy, owner_account=OWNER, trusted_accounts=FOREIGN).matched is False


# Administrator and service-wide grants

ADMIN_CASES: list[tuple[str, PolicyDocument, bool]] = [
    ("star on star", identity(allow("*", resource="*")), True),
    ("star colon star", identity(allow("*:*", resource="*")), True),
    ("star among actions", identity(allow(["s3:GetObject", "*"], resource=["arn:aws:s3:::x", "*"])), True),
    ("service wildcard", identity(allow("s3:*", resource="*")), False),
    ("star on one bucket", identity(allow("*", resource=BUCKET)), False),
    (
        "not action on star",
        identity({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}),
        True,
    ),
    (
        "not action on one bucket",
        identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": BUCKET}),
        False,
    ),
    ("not action star", identity({"Effect": "Allow", "NotAction": "*", "Resource": "*"}), False),
    ("star on not resource", identity({"Effect": "Allow", "Action": "*", "NotResource": BUCKET}), True),
    (
        "star with mfa condition",
        identity(allow("*", resource="*", condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
        True,
    ),
    ("star denied everywhere", identity(allow("*", resource="*"), deny("*", resource="*")), False),
    ("star with partial deny", identity(allow("*", resource="*"), deny("iam:*", resource="*")), True),
    (
        "star with conditional deny",
        identity(
            allow("*", resource="*"),
            deny("*", resource="*", condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
        ),
        True,
    ),
    ("deny only", identity(deny("*", resource="*")), False),
]


@pytest.mark.parametrize(("policy", "expected"), [case[1:] for case in ADMIN_CASES], ids=[c[0] for c in ADMIN_CASES])
def test_allows_admin_cases(policy: PolicyDocument, expected: bool) -> None:
    verdict = allows_admin(policy)

    assert verdict.matched is expected, verdict.detail
    assert bool(verdict.statements) is expected


def test_allows_admin_detail_not_action() -> None:
    policy = identity({"Sid": "Broad", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})

    verdict = allows_admin(policy)

    assert verdict.detail == "Statement 'Broad' allows every action except iam:* (NotAction) on Resource '*'."


def test_allows_admin_detail_condition() -> None:
    policy = identity(allow("*", resource="*", condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))

    verdict = allows_admin(policy)

    assert verdict.detail == (
        "Statement 'AllowAll' allows all actions ('*') on Resource '*' "
        "when its conditions hold (Bool on aws:multifactorauthpresent)."
    )


SERVICE_CASES: list[tuple[str, PolicyDocument, str | None, bool]] = [
    ("s3 wildcard any service", identity(allow("s3:*", resource="*")), None, True),
    ("s3 wildcard for s3", identity(allow("s3:*", resource="*")), "s3", True),
    ("s3 wildcard upper case", identity(allow("S3:*", resource="*")), "S3", True),
    ("s3 wildcard for iam", identity(allow("s3:*", resource="*")), "iam", False),
    ("iam wildcard", identity(allow("iam:*", resource="*")), "iam", True),
    ("star for iam", identity(allow("*", resource="*")), "iam", True),
    ("star any service", identity(allow("*", resource="*")), None, True),
    ("prefix wildcard", identity(allow("s3:Get*", resource="*")), None, False),
    ("prefix wildcard for s3", identity(allow("s3:Get*", resource="*")), "s3", False),
    ("s3 wildcard on one bucket", identity(allow("s3:*", resource=BUCKET)), None, False),
    (
        "not action any service",
        identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        None,
        True,
    ),
    (
        "not action excluding s3",
        identity({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}),
        "s3",
        False,
    ),
    (
        "not action leaving s3",
        identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        "s3",
        True,
    ),
    (
        "iam wildcard denied",
        identity(allow("iam:*", resource="*"), deny("iam:*", resource="*")),
        "iam",
        False,
    ),
]


@pytest.mark.parametrize(
    ("policy", "service", "expected"),
    [case[1:] for case in SERVICE_CASES],
    ids=[case[0] for case in SERVICE_CASES],
)
def test_allows_service_wildcard_cases(policy: PolicyDocument, service: str | None, expected: bool) -> None:
    verdict = allows_service_wildcard(policy, service)

    assert verdict.matched is expected, verdict.detail
    assert bool(verdict.statements) is expected


@pytest.mark.parametrize("service", ["", "s3:*", "s*"])
def test_allows_service_wildcard_rejects_invalid_service(service: str) -> None:
    with pytest.raises(ValueError, match="service prefix"):
        allows_service_wildcard(identity(allow("s3:*", resource="*")), service)


ROLE = f"arn:aws:iam::{OWNER}:role/app"

ACTION_CASES: list[tuple[str, PolicyDocument, list[str], str, bool]] = [
    ("pass role on star", identity(allow("iam:PassRole", resource="*")), ["iam:PassRole"], "*", True),
    ("pass role upper case", identity(allow("IAM:PASSROLE", resource="*")), ["iam:PassRole"], "*", True),
    ("iam wildcard", identity(allow("iam:*", resource="*")), ["iam:PassRole"], "*", True),
    (
        "policy pattern attach",
        identity(allow("iam:*Policy*", resource="*")),
        ["iam:AttachRolePolicy"],
        "*",
        True,
    ),
    ("policy pattern pass role", identity(allow("iam:*Policy*", resource="*")), ["iam:PassRole"], "*", False),
    ("get pattern get object", identity(allow("s3:Get*", resource="*")), ["s3:GetObject"], "*", True),
    ("get pattern put object", identity(allow("s3:Get*", resource="*")), ["s3:PutObject"], "*", False),
    (
        "one of several actions",
        identity(allow("s3:Get*", resource="*")),
        ["s3:PutObject", "s3:GetObject"],
        "*",
        True,
    ),
    (
        "pass role on one role asked star",
        identity(allow("iam:PassRole", resource=ROLE)),
        ["iam:PassRole"],
        "*",
        False,
    ),
    (
        "pass role on one role asked role",
        identity(allow("iam:PassRole", resource=ROLE)),
        ["iam:PassRole"],
        ROLE,
        True,
    ),
    (
        "role pattern matches role",
        identity(allow("iam:PassRole", resource="arn:aws:iam::*:role/*")),
        ["iam:PassRole"],
        ROLE,
        True,
    ),
    (
        "resource pattern is case sensitive",
        identity(allow("iam:PassRole", resource="arn:aws:iam::*:role/APP")),
        ["iam:PassRole"],
        ROLE,
        False,
    ),
    (
        "pass role denied",
        identity(allow("iam:PassRole", resource="*"), deny("iam:PassRole", resource="*")),
        ["iam:PassRole"],
        "*",
        False,
    ),
    (
        "pass role deny on other resource",
        identity(allow("iam:PassRole", resource="*"), deny("iam:PassRole", resource=ROLE)),
        ["iam:PassRole"],
        "*",
        True,
    ),
    (
        "pass role deny conditional",
        identity(
            allow("iam:PassRole", resource="*"),
            deny(
                "iam:*",
                resource="*",
                condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
            ),
        ),
        ["iam:PassRole"],
        "*",
        True,
    ),
    (
        "not action excludes iam",
        identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        ["iam:PassRole"],
        "*",
        False,
    ),
    (
        "not action leaves s3",
        identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        ["s3:GetObject"],
        "*",
        True,
    ),
    (
        "not resource leaves star",
        identity({"Effect": "Allow", "Action": "iam:PassRole", "NotResource": ROLE}),
        ["iam:PassRole"],
        "*",
        True,
    ),
    (
        "not resource excludes role",
        identity({"Effect": "Allow", "Action": "iam:PassRole", "NotResource": ROLE}),
        ["iam:PassRole"],
        ROLE,
        False,
    ),
    (
        "public resource policy with not principal deny",
        parsed(
            document(
                allow("s3:GetObject", resource="*"),
                {"Effect": "Deny", "NotPrincipal": {"AWS": OWNER}, "Action": "*", "Resource": "*"},
            )
        ),
        ["s3:GetObject"],
        "*",
        True,
    ),
]


@pytest.mark.parametrize(
    ("policy", "actions", "resource", "expected"),
    [case[1:] for case in ACTION_CASES],
    ids=[case[0] for case in ACTION_CASES],
)
def test_allows_actions_cases(policy: PolicyDocument, actions: list[str], resource: str, expected: bool) -> None:
    verdict = allows_actions(policy, actions, resource=resource)

    assert verdict.matched is expected, verdict.detail
    assert bool(verdict.statements) is expected


def test_allows_actions_detail() -> None:
    policy = identity(
        allow(
            "iam:PassRole",
            resource="*",
            sid="Pass",
            condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        ),
    )

    verdict = allows_actions(policy, ["iam:PassRole", "iam:CreateRole"])

    assert verdict.statements == ("Pass",)
    assert verdict.detail == (
        "Statement 'Pass' allows iam:PassRole on Resource '*' "
        "when its conditions hold (StringEquals on iam:passedtoservice)."
    )


# Wildcard matching

ACTION_PATTERN_CASES: list[tuple[str, str, bool]] = [
    ("s3:Get*", "s3:GetObject", True),
    ("s3:get*", "S3:GETOBJECT", True),
    ("s3:Get*", "s3:PutObject", False),
    ("iam:*Policy*", "iam:AttachRolePolicy", True),
    ("iam:*Policy*", "iam:PutUserPolicy", True),
    ("iam:*Policy*", "iam:PassRole", False),
    ("s3:?etObject", "s3:GetObject", True),
    ("s3:?etObject", "s3:GGetObject", False),
    ("s3:GetObject", "s3:GetObjectAcl", False),
    ("*", "ec2:RunInstances", True),
    ("ec2:*", "ec2:", True),
    ("s3:Get[O]bject", "s3:GetObject", False),
    ("s3.Get.*", "s3:GetObject", False),
]


@pytest.mark.parametrize(("pattern", "action", "expected"), ACTION_PATTERN_CASES)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


RESOURCE_PATTERN_CASES: list[tuple[str, str, bool]] = [
    ("arn:aws:s3:::example-bucket/*", "arn:aws:s3:::example-bucket/a/b.txt", True),
    ("arn:aws:s3:::example-bucket/*", "arn:aws:s3:::example-bucket", False),
    ("arn:aws:s3:::Example-Bucket/*", "arn:aws:s3:::example-bucket/a", False),
    ("arn:aws:iam::*:role/?pp", "arn:aws:iam::111111111111:role/app", True),
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), RESOURCE_PATTERN_CASES)
def test_resource_matches(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource) is expected


# Parsing

SIMPLE_POLICY = document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})


def test_parse_url_encoded_policy() -> None:
    # The form AWS Config and IAM GetPolicyVersion return, written out by hand.
    encoded = (
        "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C"
        "%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aa%2Bb%2F%2A%22%7D%5D%7D"
    )

    policy = parse_policy(encoded)

    assert policy is not None
    assert policy.statements[0].actions == ("s3:getobject",)
    # "%2B" must decode to "+", and a literal "+" must not turn into a space.
    assert policy.statements[0].resources == ("arn:aws:s3:::a+b/*",)


def test_parse_url_encoded_round_trip() -> None:
    encoded = urllib.parse.quote(json.dumps(SIMPLE_POLICY), safe="")

    assert parse_policy(encoded) == parse_policy(SIMPLE_POLICY)


def test_parse_json_string_and_double_encoded() -> None:
    text = json.dumps(SIMPLE_POLICY)

    assert parse_policy(text) == parse_policy(SIMPLE_POLICY)
    assert parse_policy(json.dumps(text)) == parse_policy(SIMPLE_POLICY)


@pytest.mark.parametrize("empty", [None, "", "   \n"])
def test_parse_empty_input(empty: str | None) -> None:
    assert parse_policy(empty) is None


def test_parse_without_statement() -> None:
    assert parse_policy({}) == PolicyDocument(statements=())


def test_parse_normalises_elements() -> None:
    policy = parse_policy(
        {
            "Statement": {
                "Sid": "One",
                "Effect": "allow",
                "Principal": "*",
                "Action": ["S3:GetObject", "s3:ListBucket"],
                "Resource": BUCKET,
                "Condition": {"Bool": {"AWS:SecureTransport": True}, "NumericLessThan": {"s3:max-keys": 10}},
            }
        }
    )

    assert policy is not None
    (statement,) = policy.statements
    assert statement.sid == "One"
    assert statement.effect == "Allow"
    assert dict(statement.principal or {}) == {"AWS": ("*",)}
    assert statement.not_principal is None
    assert statement.actions == ("s3:getobject", "s3:listbucket")
    assert statement.not_actions is None
    assert statement.resources == (BUCKET,)
    assert statement.not_resources is None
    assert dict(statement.conditions["Bool"]) == {"aws:securetransport": ("true",)}
    assert dict(statement.conditions["NumericLessThan"]) == {"s3:max-keys": ("10",)}


def test_parse_keeps_principal_lists() -> None:
    policy = parse_policy(
        document(
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{OWNER}:root", OWNER], "Service": "s3.amazonaws.com"},
                "NotAction": "s3:Get*",
                "NotResource": [BUCKET, OBJECTS],
            }
        )
    )

    assert policy is not None
    (statement,) = policy.statements
    assert statement.principal is None
    assert dict(statement.not_principal or {}) == {
        "AWS": (f"arn:aws:iam::{OWNER}:root", OWNER),
        "Service": ("s3.amazonaws.com",),
    }
    assert statement.actions is None
    assert statement.not_actions == ("s3:get*",)
    assert statement.resources is None
    assert statement.not_resources == (BUCKET, OBJECTS)


def test_parsed_statement_is_read_only() -> None:
    policy = parse_policy(document(allow(condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}})))

    assert policy is not None
    with pytest.raises(TypeError):
        policy.statements[0].conditions["StringEquals"]["aws:sourcevpce"] = ("vpce-2",)  # type: ignore[index]


PARSE_ERROR_CASES: list[tuple[str, Any, str]] = [
    ("truncated json", '{"Version": "2012-10-17", "Statement": [', r"not valid JSON: .* line 1 column"),
    ("not json", "Allow everything", "not valid JSON"),
    ("encoded garbage", "%7B%22Version", "not valid JSON"),
    ("top level list", "[]", "must be a JSON object, got list"),
    ("statement string", {"Statement": "Allow"}, "Statement must be an object or a list"),
    ("statement item string", {"Statement": ["Allow"]}, r"Statement\[0\] must be a JSON object"),
    ("missing effect", document({"Action": "s3:*", "Resource": "*"}), r"Statement\[0\] is missing Effect"),
    (
        "missing effect with sid",
        document(SIMPLE_POLICY["Statement"][0], {"Sid": "Second", "Action": "s3:*"}),
        r"Statement\[1\] \(Sid 'Second'\) is missing Effect",
    ),
    ("unknown effect", document({"Effect": "Permit", "Action": "s3:*"}), "invalid Effect 'Permit'"),
    ("effect not string", document({"Effect": True, "Action": "s3:*"}), "invalid Effect True"),
    ("sid not string", document({"Sid": 5, "Effect": "Allow", "Action": "s3:*"}), "invalid Sid 5"),
    (
        "action and not action",
        document({"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*"}),
        "both Action and NotAction",
    ),
    ("no action", document({"Effect": "Allow", "Resource": "*"}), r"missing Action \(or NotAction\)"),
    (
        "resource and not resource",
        document({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": BUCKET}),
        "both Resource and NotResource",
    ),
    (
        "principal and not principal",
        document({"Effect": "Allow", "Principal": "*", "NotPrincipal": {"AWS": OWNER}, "Action": "s3:*"}),
        "both Principal and NotPrincipal",
    ),
    ("action number", document({"Effect": "Allow", "Action": 5}), r"Statement\[0\] Action must be a string"),
    (
        "principal bare arn",
        document({"Effect": "Allow", "Principal": f"arn:aws:iam::{OWNER}:root", "Action": "s3:*"}),
        r"Principal must be \"\*\" or an object",
    ),
    (
        "condition not object",
        document({"Effect": "Allow", "Action": "s3:*", "Condition": ["StringEquals"]}),
        "Condition must be an object of condition operators",
    ),
    (
        "condition value object",
        document({"Effect": "Allow", "Action": "s3:*", "Condition": {"StringEquals": {"aws:userid": {"a": 1}}}}),
        "values must be strings, numbers or booleans",
    ),
]


@pytest.mark.parametrize(
    ("raw", "message"), [case[1:] for case in PARSE_ERROR_CASES], ids=[case[0] for case in PARSE_ERROR_CASES]
)
def test_parse_errors(raw: Any, message: str) -> None:
    with pytest.raises(PolicyParseError, match=message):
        parse_policy(raw)


def test_parse_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_policy("{")


def test_parse_rejects_other_types() -> None:
    with pytest.raises(PolicyParseError, match="JSON string or a mapping, got int"):
        parse_policy(42)  # type: ignore[arg-type]
