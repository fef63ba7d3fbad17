"""Account collector and the security contact rule against moto's server."""

from __future__ import annotations

import pytest

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, findings_of, restricted_user_keys, set_moto_auth

ACCOUNT = AwsAccount.account_id
RULE = "aws-account-security-contact"


def _contact(aws: AwsAccount, contact_type: str) -> None:
    aws.client("account").put_alternate_contact(
        AlternateContactType=contact_type, EmailAddress=f"{contact_type.lower()}@example.com",
        Name=f"{contact_type.title()} team", PhoneNumber="+1-555-0100", Title="Team")


def test_collector_records_each_registered_contact(aws: AwsAccount) -> None:
    _contact(aws, "BILLING")
    _contact(aws, "SECURITY")

    result = aws.scan(["account"])

    contacts = {r.name: r for r in result.collection.resources}
    assert set(contacts) == {"BILLING", "SECURITY"}
    security = contacts["SECURITY"]
    assert security.type == "AWS::Account::AlternateContact"
    assert security.id == f"arn:aws:account::{ACCOUNT}:alternate-contact/SECURITY"
    assert security.configuration == {"alternateContactType": "SECURITY", "emailAddress": "security@example.com",
                                      "name": "Security team", "phoneNumber": "+1-555-0100", "title": "Team"}
    [unit] = result.collection.coverage
    assert unit.region == "global"
    assert unit.status.value == "complete"


def test_missing_security_contact_fails_and_registered_one_passes(aws: AwsAccount) -> None:
    _contact(aws, "BILLING")

    failing = aws.scan(["account"])
    _contact(aws, "SECURITY")
    passing = aws.scan(["account"])

    [finding] = findings_of(failing, RULE)
    assert finding.status is Status.FAIL
    assert finding.resource_type == "Ridgeline::Account"
    assert finding.message == f"Account {ACCOUNT} has no security alternate contact."
    assert finding.evidence["examined"] == [f"arn:aws:account::{ACCOUNT}:alternate-contact/BILLING"]
    [finding] = findings_of(passing, RULE)
    assert finding.status is Status.PASS
    assert finding.evidence == {"satisfied_by": f"arn:aws:account::{ACCOUNT}:alternate-contact/SECURITY"}


def test_denied_contact_read_is_error_not_fail(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _contact(aws, "BILLING")
    for name, value in restricted_user_keys(aws, ["account:GetAlternateContact"]).items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        result = aws.scan(["account"])
    finally:
        set_moto_auth(aws.endpoint, "inf")

    [finding] = findings_of(result, RULE)
    assert finding.status is Status.ERROR
    assert "account:GetAlternateContact" in finding.message
