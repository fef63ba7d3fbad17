"""AWS Config collector and rules against moto's server, plus recorder states moto cannot produce."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from tests.conftest import AwsAccount, finding_for, findings_of, restricted_user_keys, set_moto_auth

ACCOUNT = AwsAccount.account_id
RECORDER_RULE = "aws-config-recorder-enabled"
GLOBAL_RULE = "aws-config-global-resources-recorded"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"


def _recorder(aws: AwsAccount, region: str = "us-east-1", *, start: bool = True,
              recording_group: dict[str, Any] | None = None) -> None:
    """Create the region's recorder (and, to start it, the delivery channel moto requires)."""
    config = aws.client("config", region)
    group = recording_group if recording_group is not None else {"allSupported": True}
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": ROLE,
                                                             "recordingGroup": group})
    if start:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-history"})
        config.start_configuration_recorder(ConfigurationRecorderName="default")


def _region_finding(result: Any, region: str) -> Finding:
    return finding_for(result, RECORDER_RULE, f"{ACCOUNT}/{region}")


def test_collector_records_recorder_status_and_channels(aws: AwsAccount) -> None:
    _recorder(aws, recording_group={"allSupported": True, "includeGlobalResourceTypes": True})

    result = aws.scan(["config"])

    [recorder] = [r for r in result.collection.resources if r.type == "AWS::Config::ConfigurationRecorder"]
    assert recorder.id == f"arn:aws:config:us-east-1:{ACCOUNT}:configuration-recorder/default"
    assert recorder.name == "default"
    assert recorder.configuration["roleARN"] == ROLE
    assert recorder.configuration["recordingGroup"]["allSupported"] is True
    assert recorder.configuration["recordingGroup"]["includeGlobalResourceTypes"] is True
    assert recorder.supplementary["ConfigurationRecorderStatus"]["recording"] is True
    assert recorder.supplementary["DeliveryChannels"] == [{"name": "default", "s3BucketName": "config-history"}]
    assert recorder.errors == {}


def test_recorder_missing_in_region_fails(aws: AwsAccount) -> None:
    _recorder(aws, "eu-west-1")

    result = aws.scan(["config"], regions=["us-east-1", "eu-west-1"])

    passing = _region_finding(result, "eu-west-1")
    assert passing.status is Status.PASS
    assert passing.evidence["satisfied_by"] == f"arn:aws:config:eu-west-1:{ACCOUNT}:configuration-recorder/default"
    failing = _region_finding(result, "us-east-1")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "Ridgeline::Region"
    assert failing.evidence["examined_count"] == 0
    assert "region us-east-1 of account 123456789012" in failing.message


@pytest.mark.parametrize(
    ("case", "start", "recording_group"),
    [
        ("recorder never started", False, {"allSupported": True}),
        ("recording some resource types", True,
         {"allSupported": False, "resourceTypes": ["AWS::EC2::Instance"],
          "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"}}),
        ("excluding resource types", True,
         {"allSupported": False, "exclusionByResourceTypes": {"resourceTypes": ["AWS::EC2::Instance"]},
          "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"}}),
    ],
)
def test_recorder_fails_when_not_recording_everything(aws: AwsAccount, case: str, start: bool,
                                                      recording_group: dict[str, Any]) -> None:
    _recorder(aws, start=start, recording_group=recording_group)

    result = aws.scan(["config"])

    finding = _region_finding(result, "us-east-1")
    assert finding.status is Status.FAIL, case
    assert finding.evidence["examined"] == [f"arn:aws:config:us-east-1:{ACCOUNT}:configuration-recorder/default"]


def test_stopped_recorder_fails(aws: AwsAccount) -> None:
    _recorder(aws)
    aws.client("config").stop_configuration_recorder(ConfigurationRecorderName="default")

    result = aws.scan(["config"])

    assert _region_finding(result, "us-east-1").status is Status.FAIL


def test_global_resources_recorded_in_one_region_passes(aws: AwsAccount) -> None:
    _recorder(aws, "us-east-1", recording_group={"allSupported": True, "includeGlobalResourceTypes": True})
    _recorder(aws, "eu-west-1")

    result = aws.scan(["config"], regions=["us-east-1", "eu-west-1"])

    findings = findings_of(result, GLOBAL_RULE)
    assert len(findings) == 1
    assert findings[0].status is Status.PASS
    assert findings[0].evidence["satisfied_by"] == f"arn:aws:config:us-east-1:{ACCOUNT}:configuration-recorder/default"


def test_global_resources_not_recorded_fails(aws: AwsAccount) -> None:
    _recorder(aws, "us-east-1")
    _recorder(aws, "eu-west-1", start=False,
              recording_group={"allSupported": True, "includeGlobalResourceTypes": True})

    result = aws.scan(["config"], regions=["us-east-1", "eu-west-1"])

    finding = finding_for(result, GLOBAL_RULE, ACCOUNT)
    assert finding.status is Status.FAIL
    assert finding.resource_type == "Ridgeline::Account"
    assert finding.evidence["examined_count"] == 2


# --- a failed recording, which moto cannot produce, and a denied status call -------------------------

def _recorder_envelope(status: dict[str, Any]) -> Resource:
    return Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::Config::ConfigurationRecorder",
        id=f"arn:aws:config:us-east-1:{ACCOUNT}:configuration-recorder/default", name="default",
        configuration={"name": "default", "roleARN": ROLE,
                       "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True}},
        supplementary={"ConfigurationRecorderStatus": status},
    )


def _evaluate(rules: list[Rule], resource: Resource) -> dict[str, Finding]:
    coverage = [Coverage(provider="aws", account=ACCOUNT, region="us-east-1", service="config")]
    return {finding.rule_id: finding for finding in Engine(rules).evaluate([resource], coverage)}


@pytest.mark.parametrize(
    ("last_status", "expected"),
    [("Failure", Status.FAIL), ("Success", Status.PASS), ("Pending", Status.PASS)],
)
def test_recorder_last_status(builtin_rules: list[Rule], last_status: str, expected: Status) -> None:
    # moto never reports a failed recording (its lastStatus stays PENDING), so this uses an envelope.
    envelope = _recorder_envelope({"name": "default", "recording": True, "lastStatus": last_status})

    findings = _evaluate(builtin_rules, envelope)

    assert findings[RECORDER_RULE].status is expected


def test_denied_status_call_makes_rules_error(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _recorder(aws, recording_group={"allSupported": True, "includeGlobalResourceTypes": True})
    for name, value in restricted_user_keys(aws, ["config:DescribeConfigurationRecorderStatus"]).items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        result = aws.scan(["config"])
    finally:
        set_moto_auth(aws.endpoint, "inf")

    for finding in (_region_finding(result, "us-east-1"), finding_for(result, GLOBAL_RULE, ACCOUNT)):
        assert finding.status is Status.ERROR, finding.rule_id
        assert "config:DescribeConfigurationRecorderStatus" in finding.message, finding.rule_id
