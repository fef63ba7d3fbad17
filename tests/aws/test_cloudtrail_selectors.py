"""CloudTrail event selector analysis, and rule outcomes for trails as AWS Config snapshots record them.

A Config snapshot has no event selectors, which a live scan through moto never produces, so those cases
evaluate hand-built envelopes with the Engine directly.
"""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.checks_aws import cloudtrail_management_events, cloudtrail_s3_data_events
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule

ACCOUNT = "123456789012"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/audit"


def _field(field: str, **operators: list[str]) -> dict[str, Any]:
    return {"field": field, **operators}


MANAGEMENT = {"name": "Management", "fieldSelectors": [_field("eventCategory", equals=["Management"])]}
S3_DATA = [_field("eventCategory", equals=["Data"]), _field("resources.type", equals=["AWS::S3::Object"])]


@pytest.mark.parametrize(
    ("case", "selectors", "advanced", "expected"),
    [
        ("default classic selector", [{"readWriteType": "All", "includeManagementEvents": True}], [], True),
        ("keys left at their defaults", [{}], [], True),
        ("read-only", [{"readWriteType": "ReadOnly", "includeManagementEvents": True}], [], False),
        ("excluded event source", [{"readWriteType": "All", "includeManagementEvents": True,
                                    "excludeManagementEventSources": ["rdsdata.amazonaws.com"]}], [], False),
        ("nothing", [], [], False),
        ("advanced management", [], [MANAGEMENT], True),
        ("advanced read and write selectors", [], [
            {"fieldSelectors": [_field("eventCategory", equals=["Management"]), _field("readOnly", equals=["true"])]},
            {"fieldSelectors": [_field("eventCategory", equals=["Management"]), _field("readOnly", equals=["false"])]},
        ], True),
        ("advanced data only", [], [{"fieldSelectors": S3_DATA}], False),
        ("advanced readOnly with undocumented operator", [], [
            {"fieldSelectors": [_field("eventCategory", equals=["Management"]),
                                _field("readOnly", notEquals=["true"])]}], False),
        ("advanced field repeated", [], [
            {"fieldSelectors": [_field("eventCategory", equals=["Management"]),
                                _field("eventCategory", equals=["Management"])]}], False),
    ],
)
def test_management_events(case: str, selectors: list[Any], advanced: list[Any], expected: bool) -> None:
    outcome = cloudtrail_management_events(selectors, advanced)

    assert outcome.matched is expected, f"{case}: {outcome.detail}"


def test_management_events_detail_names_skipped_selector() -> None:
    outcome = cloudtrail_management_events([], [
        {"name": "No KMS", "fieldSelectors": [_field("eventCategory", equals=["Management"]),
                                              _field("eventSource", notEquals=["kms.amazonaws.com"])]}])

    assert outcome.matched is False
    assert "No KMS filters management events on eventSource" in outcome.detail


@pytest.mark.parametrize(
    ("case", "selectors", "advanced", "read", "write"),
    [
        ("classic all buckets", [{"readWriteType": "All", "dataResources": [
            {"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]}], [], True, True),
        ("classic GovCloud partition", [{"readWriteType": "WriteOnly", "dataResources": [
            {"type": "AWS::S3::Object", "values": ["arn:aws-us-gov:s3:::"]}]}], [], False, True),
        ("classic one bucket", [{"readWriteType": "All", "dataResources": [
            {"type": "AWS::S3::Object", "values": ["arn:aws:s3:::logs/"]}]}], [], False, False),
        ("classic Lambda data events", [{"readWriteType": "All", "dataResources": [
            {"type": "AWS::Lambda::Function", "values": ["arn:aws:lambda"]}]}], [], False, False),
        ("advanced all objects", [], [{"fieldSelectors": S3_DATA}], True, True),
        ("advanced ARN prefix of every bucket", [], [
            {"fieldSelectors": [*S3_DATA, _field("resources.ARN", startsWith=["arn:aws:s3:::"])]}], True, True),
        ("advanced one bucket excluded", [], [
            {"fieldSelectors": [*S3_DATA, _field("resources.ARN", notStartsWith=["arn:aws:s3:::logs/"])]}],
         False, False),
        ("advanced reads", [], [{"fieldSelectors": [*S3_DATA, _field("readOnly", equals=["true"])]}], True, False),
        ("advanced other resource type", [], [{"fieldSelectors": [
            _field("eventCategory", equals=["Data"]), _field("resources.type", equals=["AWS::S3Express::Object"])]}],
         False, False),
    ],
)
def test_s3_data_events(case: str, selectors: list[Any], advanced: list[Any], read: bool, write: bool) -> None:
    read_outcome = cloudtrail_s3_data_events(selectors, advanced, "read")
    write_outcome = cloudtrail_s3_data_events(selectors, advanced, "write")

    assert read_outcome.matched is read, f"{case}: {read_outcome.detail}"
    assert write_outcome.matched is write, f"{case}: {write_outcome.detail}"


@pytest.mark.parametrize(
    ("selectors", "advanced", "access"),
    [
        ("not a list", [], "write"),
        ([{"readWriteType": "Sometimes", "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]}],
         [], "write"),
        ([], [{"fieldSelectors": ["eventCategory"]}], "write"),
        ([], [], "delete"),
    ],
)
def test_s3_data_events_unknown_on_invalid_input(selectors: Any, advanced: Any, access: str) -> None:
    outcome = cloudtrail_s3_data_events(selectors, advanced, access)

    assert outcome.matched is None
    assert outcome.detail


@pytest.mark.parametrize(
    ("custom_selectors", "management", "data"),
    [(False, True, False), (True, None, None), (None, None, None)],
)
def test_selectors_not_collected(custom_selectors: Any, management: bool | None, data: bool | None) -> None:
    # A Config snapshot has no selectors, so hasCustomEventSelectors false is the only sign of the default.
    assert cloudtrail_management_events(None, None, custom_selectors).matched is management
    assert cloudtrail_s3_data_events(None, None, "write", custom_selectors).matched is data


# --- rules on hand-built envelopes --------------------------------------------------------------------

def _trail(**supplementary: Any) -> Resource:
    return Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::CloudTrail::Trail", id=TRAIL_ARN,
        name="audit",
        configuration={"name": "audit", "trailARN": TRAIL_ARN, "s3BucketName": "trail-logs", "homeRegion": "us-east-1",
                       "isMultiRegionTrail": True, "logFileValidationEnabled": True, "hasCustomEventSelectors": False},
        supplementary=supplementary,
    )


def _evaluate(rules: list[Rule], resource: Resource) -> dict[str, Finding]:
    coverage = [Coverage(provider="aws", account=ACCOUNT, region="us-east-1", service="cloudtrail")]
    findings = Engine(rules).evaluate([resource], coverage)
    return {finding.rule_id: finding for finding in findings}


def test_config_snapshot_trail_uses_default_selector(builtin_rules: list[Rule]) -> None:
    # An AWS Config item has no selectors, and hasCustomEventSelectors false means the default selector.
    findings = _evaluate(builtin_rules, _trail(TrailStatus={"isLogging": True}))

    assert findings["aws-cloudtrail-multi-region-trail"].status is Status.PASS
    assert findings["aws-cloudtrail-s3-write-data-events"].status is Status.FAIL


def test_config_snapshot_trail_with_custom_selectors_errors(builtin_rules: list[Rule]) -> None:
    trail = _trail(TrailStatus={"isLogging": True})
    trail.configuration["hasCustomEventSelectors"] = True

    findings = _evaluate(builtin_rules, trail)

    finding = findings["aws-cloudtrail-multi-region-trail"]
    assert finding.status is Status.ERROR
    assert "event selectors were not collected" in finding.message
