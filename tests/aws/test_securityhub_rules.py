"""Security Hub collector and rule against moto's server: enabled in one region, not in the other."""

from __future__ import annotations

import pytest

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, findings_of, restricted_user_keys, set_moto_auth

ACCOUNT = AwsAccount.account_id
RULE = "aws-securityhub-enabled"


def test_hub_is_recorded_only_where_enabled(aws: AwsAccount) -> None:
    aws.client("securityhub", "eu-west-1").enable_security_hub(EnableDefaultStandards=False)

    result = aws.scan(["securityhub"], regions=["us-east-1", "eu-west-1"])

    [hub] = result.collection.resources
    assert hub.type == "AWS::SecurityHub::Hub"
    assert hub.id == f"arn:aws:securityhub:eu-west-1:{ACCOUNT}:hub/default"
    assert hub.name == "default"
    assert hub.region == "eu-west-1"
    assert hub.configuration["hubArn"] == hub.id
    assert hub.configuration["subscribedAt"]
    assert all(unit.status.value == "complete" for unit in result.collection.coverage)


def test_region_without_hub_fails_and_enabled_region_passes(aws: AwsAccount) -> None:
    aws.client("securityhub", "eu-west-1").enable_security_hub(EnableDefaultStandards=False)

    result = aws.scan(["securityhub"], regions=["us-east-1", "eu-west-1"])

    findings = {f.region: f for f in findings_of(result, RULE)}
    assert set(findings) == {"us-east-1", "eu-west-1"}
    failing = findings["us-east-1"]
    assert failing.status is Status.FAIL
    assert failing.resource_type == "Ridgeline::Region"
    assert failing.message == f"Security Hub is not enabled in region us-east-1 of account {ACCOUNT}."
    passing = findings["eu-west-1"]
    assert passing.status is Status.PASS
    assert passing.evidence == {"satisfied_by": f"arn:aws:securityhub:eu-west-1:{ACCOUNT}:hub/default"}


def test_denied_describe_hub_is_error(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in restricted_user_keys(aws, ["securityhub:DescribeHub"]).items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        result = aws.scan(["securityhub"])
    finally:
        set_moto_auth(aws.endpoint, "inf")

    [finding] = findings_of(result, RULE)
    assert finding.status is Status.ERROR
    assert "securityhub:DescribeHub" in finding.message
