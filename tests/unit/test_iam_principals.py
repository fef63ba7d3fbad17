"""Tests for credential report parsing, idle and unrotated credentials, and privilege-escalation actions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ridgeline.analysis.iam.policy import parse_policy
from ridgeline.analysis.iam.principals import (
    PRIVILEGE_ESCALATION_ACTIONS,
    ROOT_ACCOUNT_USER,
    CredentialReportError,
    active_access_keys,
    console_without_mfa,
    parse_credential_report,
    privilege_escalation,
    report_time,
    unrotated_access_keys,
    unused_credentials,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def days_ago(days: float) -> str:
    """Return the report's time format for `days` days before NOW."""
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def row(**values: str) -> dict[str, str]:
    """Return a report row of a user created 400 days ago with no password and no keys, then `values`."""
    base = dict.fromkeys(HEADER.split(","), "N/A")
    base.update(user="alice", arn="arn:aws:iam::123456789012:user/alice", user_creation_time=days_ago(400),
                password_enabled="false", mfa_active="false", access_key_1_active="false",
                access_key_2_active="false", cert_1_active="false", cert_2_active="false")
    base.update(values)
    return base


# Parsing


def test_parse_report_rows_keyed_by_column() -> None:
    root = ",".join([ROOT_ACCOUNT_USER, "arn:aws:iam::123456789012:root", days_ago(900), "not_supported",
                     days_ago(3), "not_supported", "not_supported", "true", "false", "N/A", "N/A", "N/A", "N/A",
                     "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"])
    content = f"{HEADER}\n{root}\n".encode()

    rows = parse_credential_report(content)

    assert len(rows) == 1
    assert rows[0]["user"] == ROOT_ACCOUNT_USER
    assert rows[0]["password_enabled"] == "not_supported"
    assert list(rows[0]) == HEADER.split(",")


@pytest.mark.parametrize(("content", "message"), [
    ("name,created\nalice,2020-01-01\n", "no user, arn column"),
    (f"{HEADER}\nalice,arn:aws:iam::123456789012:user/alice,2020-01-01\n", "line 2"),
    (f"{HEADER}\n" + ",".join(["x"] * 23) + "\n", "line 2"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_parse_report_rejects_malformed(content: str | bytes, message: str) -> None:
    with pytest.raises(CredentialReportError, match=message):
        parse_credential_report(content)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-05-01T10:00:00+00:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),
    ("2026-05-01T10:00:00Z", datetime(2026, 5, 1, 10, tzinfo=UTC)),
    ("2026-05-01T10:00:00", datetime(2026, 5, 1, 10, tzinfo=UTC)),
    ("N/A", None),
    ("no_information", None),
    ("not_supported", None),
    ("NO_INFORMATION", None),
])
def test_report_time_reads_times_and_markers(value: str, expected: datetime | None) -> None:
    assert report_time({"password_last_used": value}, "password_last_used") == expected


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-01T00:00:00Z"])
def test_report_time_rejects_other_values(value: str) -> None:
    with pytest.raises(CredentialReportError, match="password_last_used"):
        report_time({"password_last_used": value}, "password_last_used")


def test_report_time_rejects_missing_column() -> None:
    with pytest.raises(CredentialReportError, match="no such column"):
        report_time({}, "password_last_used")


# Console access and keys


@pytest.mark.parametrize(("values", "expected"), [
    ({"password_enabled": "true", "mfa_active": "false"}, True),
    ({"password_enabled": "TRUE", "mfa_active": "FALSE"}, True),
    ({"password_enabled": "true", "mfa_active": "true"}, False),
    ({"password_enabled": "false", "mfa_active": "false"}, False),
    # The root user's row: its password columns do not apply.
    ({"password_enabled": "not_supported", "mfa_active": "false"}, False),
])
def test_console_without_mfa(values: dict[str, str], expected: bool) -> None:
    assert console_without_mfa(row(**values)) is expected


@pytest.mark.parametrize(("values", "expected"), [
    ({}, []),
    ({"access_key_1_active": "true"}, [1]),
    ({"access_key_2_active": "true"}, [2]),
    ({"access_key_1_active": "true", "access_key_2_active": "True"}, [1, 2]),
])
def test_active_access_keys(values: dict[str, str], expected: list[int]) -> None:
    assert active_access_keys(row(**values)) == expected


# Idle credentials


@pytest.mark.parametrize(("values", "expected"), [
    # No password and no active key: nothing can be idle.
    ({}, []),
    # A password used 10 days ago is in use. One used 100 days ago is idle.
    ({"password_enabled": "true", "password_last_used": days_ago(10), "password_last_changed": days_ago(300)}, []),
    ({"password_enabled": "true", "password_last_used": days_ago(100), "password_last_changed": days_ago(300)},
     ["password last used on 2026-02-21 (100 days ago)"]),
    # A password never used counts from when it was set: recently set is fine, long ago is idle.
    ({"password_enabled": "true", "password_last_used": "no_information", "password_last_changed": days_ago(5)}, []),
    ({"password_enabled": "true", "password_last_used": "no_information", "password_last_changed": days_ago(60)},
     ["password set on 2026-04-02 (60 days ago) and never used"]),
    # A password reset after its last use counts from the reset.
    ({"password_enabled": "true", "password_last_used": days_ago(300), "password_last_changed": days_ago(2)}, []),
    ({"password_enabled": "true", "password_last_used": days_ago(300), "password_last_changed": days_ago(50)},
     ["password set on 2026-04-12 (50 days ago) and not used since"]),
    # Without a change time, the user's creation time is used.
    ({"password_enabled": "true", "password_last_used": "no_information", "password_last_changed": "N/A",
      "user_creation_time": days_ago(20)}, []),
    # A disabled password is not judged, however old.
    ({"password_enabled": "false", "password_last_used": days_ago(900)}, []),
    # Access keys: never used (N/A) counts from creation.
    ({"access_key_1_active": "true", "access_key_1_last_rotated": days_ago(10)}, []),
    ({"access_key_1_active": "true", "access_key_1_last_rotated": days_ago(46)},
     ["access key 1 created on 2026-04-16 (46 days ago) and never used"]),
    ({"access_key_2_active": "true", "access_key_2_last_rotated": days_ago(200),
      "access_key_2_last_used_date": days_ago(1)}, []),
    ({"access_key_2_active": "true", "access_key_2_last_rotated": days_ago(200),
      "access_key_2_last_used_date": days_ago(90)}, ["access key 2 last used on 2026-03-03 (90 days ago)"]),
    # An inactive key is already disabled.
    ({"access_key_1_active": "false", "access_key_1_last_rotated": days_ago(500)}, []),
])
def test_unused_credentials(values: dict[str, str], expected: list[str]) -> None:
    assert unused_credentials(row(**values), 45, now=NOW) == expected


def test_unused_credentials_threshold_is_exclusive() -> None:
    values = {"access_key_1_active": "true", "access_key_1_last_rotated": days_ago(45)}

    assert unused_credentials(row(**values), 45, now=NOW) == []
    assert unused_credentials(row(**values), 44, now=NOW) != []


def test_unused_credentials_without_any_time_is_an_error() -> None:
    values = {"password_enabled": "true", "password_last_used": "no_information", "password_last_changed": "N/A",
              "user_creation_time": "N/A"}

    with pytest.raises(CredentialReportError, match="password is active"):
        unused_credentials(row(**values), 45, now=NOW)


# Rotation


@pytest.mark.parametrize(("values", "expected"), [
    ({}, []),
    ({"access_key_1_active": "true", "access_key_1_last_rotated": days_ago(30)}, []),
    ({"access_key_1_active": "true", "access_key_1_last_rotated": days_ago(120),
      "access_key_1_last_used_date": days_ago(1)}, ["access key 1 created on 2026-02-01 (120 days ago)"]),
    ({"access_key_1_active": "false", "access_key_1_last_rotated": days_ago(400),
      "access_key_2_active": "true", "access_key_2_last_rotated": days_ago(91)},
     ["access key 2 created on 2026-03-02 (91 days ago)"]),
])
def test_unrotated_access_keys(values: dict[str, str], expected: list[str]) -> None:
    assert unrotated_access_keys(row(**values), 90, now=NOW) == expected


def test_unrotated_active_key_without_time_is_an_error() -> None:
    with pytest.raises(CredentialReportError, match="access_key_1_last_rotated"):
        unrotated_access_keys(row(access_key_1_active="true"), 90, now=NOW)


# Privilege escalation


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(("statement", "matched"), [
    ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "iam:Attach*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "*", "Resource": "*"}, True),
    ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/app"}, False),
    ({"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}, False),
    ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, False),
])
def test_privilege_escalation(statement: dict[str, Any], matched: bool) -> None:
    verdict = privilege_escalation(parse_policy(_policy(statement)))

    assert verdict.matched is matched


def test_privilege_escalation_respects_unconditional_deny() -> None:
    document = _policy({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                       {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"})

    assert privilege_escalation(parse_policy(document)).matched is False


def test_privilege_escalation_names_the_action() -> None:
    verdict = privilege_escalation(parse_policy(_policy({"Effect": "Allow", "Action": "iam:CreateAccessKey",
                                                         "Resource": "*"})))

    assert "iam:CreateAccessKey" in verdict.detail


def test_escalation_actions_are_iam_actions() -> None:
    assert "iam:PassRole" in PRIVILEGE_ESCALATION_ACTIONS
    assert all(action.startswith("iam:") for action in PRIVILEGE_ESCALATION_ACTIONS)
    assert len(set(PRIVILEGE_ESCALATION_ACTIONS)) == len(PRIVILEGE_ESCALATION_ACTIONS)
