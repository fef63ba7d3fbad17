"""Facts about IAM principals that rules judge: credential report rows and privilege-escalation actions.

The credential report is a CSV file with one row per IAM user and one for the root user
(``<root_account>``). Its time columns hold an ISO 8601 time or one of these markers:

- ``N/A``: the credential does not exist (no password, no access key), or an access key was never used;
- ``no_information``: a password that was never used, or not used since IAM began tracking sign-ins
  in October 2014;
- ``not_supported``: the column does not apply, such as the password columns of the root user.

Values are compared case-insensitively, because the IAM documentation writes TRUE and FALSE while
reports contain ``true`` and ``false``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ridgeline.analysis.iam.policy import PolicyDocument, Verdict, allows_actions

__all__ = [
    "PRIVILEGE_ESCALATION_ACTIONS",
    "ROOT_ACCOUNT_USER",
    "CredentialReportError",
    "CredentialUse",
    "active_access_keys",
    "active_credentials",
    "console_without_mfa",
    "is_true",
    "parse_credential_report",
    "privilege_escalation",
    "report_time",
    "unrotated_access_keys",
    "unused_credentials",
]

ROOT_ACCOUNT_USER: Final = "<root_account>"
"""Value of the `user` column in the root user's row."""

ACCESS_KEY_SLOTS: Final = (1, 2)
_REQUIRED_COLUMNS: Final = ("user", "arn")
_MARKERS: Final = frozenset({"n/a", "no_information", "not_supported"})
_SECONDS_PER_DAY: Final = 86400

# Actions that let a principal raise its own permissions or take over another identity, without
# any other permission. Granting one of them on every resource ("*") hands out the whole account.
PRIVILEGE_ESCALATION_ACTIONS: Final[tuple[str, ...]] = (
    # Passing any role to a service (a Lambda function, an EC2 instance, a CloudFormation stack) lets
    # the caller act with that role's permissions.
    "iam:PassRole",
    # Writing a new default policy version, or attaching or writing a policy on a principal, grants
    # any permission the caller writes into it.
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AttachUserPolicy",
    "iam:AttachGroupPolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:PutGroupPolicy",
    "iam:PutRolePolicy",
    "iam:AddUserToGroup",
    # A permissions boundary caps what a principal's policies grant, so removing or replacing it
    # lifts that cap.
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteUserPermissionsBoundary",
    "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    # New credentials for another user, or a trust policy that names the caller, make the caller that
    # user or role.
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
)


class CredentialReportError(ValueError):
    """A credential report, or a row of one, without the documented columns and values."""


def parse_credential_report(content: bytes | str) -> list[dict[str, str]]:
    """Parse a credential report (CSV with a header line) into one mapping per row, keyed by column name."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CredentialReportError(f"the credential report is not UTF-8 text: {error}") from error
    else:
        text = content

    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    missing = [column for column in _REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise CredentialReportError(
            f"the credential report has no {', '.join(missing)} column. Its header is {','.join(columns)!r}"
        )

    rows: list[dict[str, str]] = []
    for row in reader:
        # DictReader puts surplus fields under the key None and fills absent fields with None.
        if None in row or any(value is None for value in row.values()):
            raise CredentialReportError(
                f"line {reader.line_num} of the credential report does not have the {len(columns)} fields of its header"
            )
        rows.append(dict(row))
    return rows


def is_true(value: Any) -> bool:
    """Tell whether a credential report value is "true" (in any case)."""
    return isinstance(value, str) and value.strip().lower() == "true"


def _column(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if not isinstance(value, str):
        found = "no such column" if value is None else f"a {type(value).__name__}"
        raise CredentialReportError(f"credential report column {column} must be text, found {found}")
    return value


def report_time(row: Mapping[str, Any], column: str) -> datetime | None:
    """Return the time in `column` of a credential report row, or None for N/A, no_information and not_supported."""
    text = _column(row, column).strip()
    if text.lower() in _MARKERS:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CredentialReportError(
            f"credential report column {column} is {text!r}, expected an ISO 8601 time, N/A, no_information "
            "or not_supported"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _days_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / _SECONDS_PER_DAY


@dataclass(frozen=True, slots=True)
class CredentialUse:
    """One active credential of a user: when it was last used and when it was set."""

    credential: str
    """"password", "access key 1" or "access key 2"."""

    last_used: datetime | None
    """None when the credential was never used (or not since IAM began tracking its use)."""

    set_at: datetime
    """When the password was last changed or the access key created, or the user's creation time when the
    report has neither."""

    @property
    def idle_since(self) -> datetime:
        """Return the later of the last use and the time the credential was set."""
        # A password an administrator reset yesterday is a new credential, even if the old one was
        # last used long ago.
        if self.last_used is None:
            return self.set_at
        return max(self.last_used, self.set_at)

    def describe(self, now: datetime) -> str:
        """Return e.g. "access key 1 created on 2025-01-31 (120 days ago) and never used"."""
        days = int(_days_between(self.idle_since, now))
        set_verb = "created" if self.credential.startswith("access key") else "set"
        if self.last_used is None:
            return f"{self.credential} {set_verb} on {self.set_at.date()} ({days} days ago) and never used"
        if self.last_used >= self.set_at:
            return f"{self.credential} last used on {self.last_used.date()} ({days} days ago)"
        return f"{self.credential} {set_verb} on {self.set_at.date()} ({days} days ago) and not used since"


def active_credentials(row: Mapping[str, Any]) -> list[CredentialUse]:
    """Return the enabled password and active access keys of a credential report row."""
    uses: list[CredentialUse] = []
    if is_true(_column(row, "password_enabled")):
        uses.append(_credential_use(row, "password", "password_last_used", "password_last_changed"))
    for slot in ACCESS_KEY_SLOTS:
        if is_true(_column(row, f"access_key_{slot}_active")):
            uses.append(_credential_use(row, f"access key {slot}", f"access_key_{slot}_last_used_date",
                                        f"access_key_{slot}_last_rotated"))
    return uses


def _credential_use(row: Mapping[str, Any], credential: str, used_column: str, set_column: str) -> CredentialUse:
    last_used = report_time(row, used_column)
    set_at = report_time(row, set_column) or report_time(row, "user_creation_time")
    if set_at is None:
        raise CredentialReportError(
            f"{credential} is active but {set_column} and user_creation_time contain no time"
        )
    return CredentialUse(credential, last_used, set_at)


def console_without_mfa(row: Mapping[str, Any]) -> bool:
    """Tell whether a credential report row has a console password but no active MFA device."""
    return is_true(_column(row, "password_enabled")) and not is_true(_column(row, "mfa_active"))


def active_access_keys(row: Mapping[str, Any]) -> list[int]:
    """Return the slots (1, 2) of the active access keys of a credential report row."""
    return [slot for slot in ACCESS_KEY_SLOTS if is_true(_column(row, f"access_key_{slot}_active"))]


def unused_credentials(row: Mapping[str, Any], days: float, *, now: datetime | None = None) -> list[str]:
    """Describe each active credential of a credential report row that has been idle for more than `days` days.

    Idle time counts from the later of the last use and the time the credential was set, so a user
    created or a key issued less than `days` days ago is never reported. Raises CredentialReportError on
    a row without the documented columns.
    """
    moment = now or datetime.now(UTC)
    return [use.describe(moment) for use in active_credentials(row)
            if _days_between(use.idle_since, moment) > days]


def unrotated_access_keys(row: Mapping[str, Any], days: float, *, now: datetime | None = None) -> list[str]:
    """Describe each active access key of a credential report row that was created more than `days` days ago."""
    moment = now or datetime.now(UTC)
    stale: list[str] = []
    for slot in ACCESS_KEY_SLOTS:
        if not is_true(_column(row, f"access_key_{slot}_active")):
            continue
        created = report_time(row, f"access_key_{slot}_last_rotated")
        if created is None:
            raise CredentialReportError(
                f"access key {slot} is active but access_key_{slot}_last_rotated contains no time"
            )
        age = _days_between(created, moment)
        if age > days:
            stale.append(f"access key {slot} created on {created.date()} ({int(age)} days ago)")
    return stale


def privilege_escalation(
    policy: PolicyDocument | None, actions: Iterable[str] = PRIVILEGE_ESCALATION_ACTIONS
) -> Verdict:
    """Decide whether a policy allows one of the privilege-escalation `actions` on every resource ("*")."""
    return allows_actions(policy, actions, resource="*")
