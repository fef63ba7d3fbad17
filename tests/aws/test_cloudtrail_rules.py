"""CloudTrail collector and rules against moto's server: failing trails and passing twins for each rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, finding_for, findings_of, restricted_user_keys, set_moto_auth, status_of

ACCOUNT = AwsAccount.account_id
LOG_BUCKET = "trail-logs"
MANAGEMENT_ALL = [{"ReadWriteType": "All", "IncludeManagementEvents": True}]
ADVANCED_MANAGEMENT = [{"Name": "Management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]


def _bucket(aws: AwsAccount, name: str = LOG_BUCKET, region: str = "us-east-1") -> None:
    s3 = aws.client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})


def _trail(aws: AwsAccount, name: str, *, region: str = "us-east-1", bucket: str = LOG_BUCKET, logging: bool = True,
           selectors: list[dict[str, Any]] | None = None, advanced: list[dict[str, Any]] | None = None,
           **options: Any) -> str:
    """Create a trail (moto requires its bucket to exist) and return its ARN."""
    cloudtrail = aws.client("cloudtrail", region)
    trail = cloudtrail.create_trail(Name=name, S3BucketName=bucket, **options)
    if logging:
        cloudtrail.start_logging(Name=name)
    if selectors is not None:
        cloudtrail.put_event_selectors(TrailName=name, EventSelectors=selectors)
    if advanced is not None:
        cloudtrail.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    return str(trail["TrailARN"])


def _trails(result: Any) -> list[Any]:
    return [r for r in result.collection.resources if r.type == "AWS::CloudTrail::Trail"]


# --- collector -------------------------------------------------------------------------------------

def test_collector_records_config_shape_status_and_selectors(aws: AwsAccount) -> None:
    _bucket(aws)
    trail_arn = _trail(aws, "main", selectors=MANAGEMENT_ALL, IsMultiRegionTrail=True,
                       TagsList=[{"Key": "owner", "Value": "security"}])

    result = aws.scan(["cloudtrail"])

    [trail] = _trails(result)
    assert trail.id == trail_arn
    assert trail.name == "main"
    assert trail.region == "us-east-1"
    assert trail.configuration["trailARN"] == trail_arn
    assert trail.configuration["s3BucketName"] == LOG_BUCKET
    assert trail.configuration["isMultiRegionTrail"] is True
    assert trail.configuration["homeRegion"] == "us-east-1"
    assert trail.supplementary["TrailStatus"]["isLogging"] is True
    assert trail.supplementary["EventSelectors"] == [{"readWriteType": "All", "includeManagementEvents": True}]
    assert trail.supplementary["AdvancedEventSelectors"] == []
    assert trail.tags == {"owner": "security"}
    assert trail.errors == {}


def test_multi_region_trail_collected_once(aws: AwsAccount) -> None:
    _bucket(aws)
    _trail(aws, "everywhere", region="eu-west-1", IsMultiRegionTrail=True)

    result = aws.scan(["cloudtrail"], regions=["us-east-1", "eu-west-1"])

    trails = _trails(result)
    assert [trail.name for trail in trails] == ["everywhere"]
    assert trails[0].region == "eu-west-1"


def test_trail_homed_in_unscanned_region(aws: AwsAccount) -> None:
    # The eu-west-1 trail records events of the scanned regions, so it must count for the account.
    _bucket(aws)
    _trail(aws, "everywhere", region="eu-west-1", selectors=MANAGEMENT_ALL, IsMultiRegionTrail=True)
    _trail(aws, "eu-only", region="eu-west-1")

    result = aws.scan(["cloudtrail"], regions=["us-east-1", "us-west-2"])

    trails = _trails(result)
    assert [trail.name for trail in trails] == ["everywhere"]
    assert trails[0].region == "eu-west-1"
    assert trails[0].supplementary["TrailStatus"]["isLogging"] is True
    assert status_of(result, "aws-cloudtrail-multi-region-trail", ACCOUNT) is Status.PASS


# --- multi-region trail ------------------------------------------------------------------------------

def test_multi_region_trail_missing_fails(aws: AwsAccount) -> None:
    result = aws.scan(["cloudtrail"])

    finding = finding_for(result, "aws-cloudtrail-multi-region-trail", ACCOUNT)
    assert finding.status is Status.FAIL
    assert finding.resource_type == "Ridgeline::Account"
    assert finding.evidence["examined_count"] == 0
    assert "No multi-region trail in account 123456789012" in finding.message


@pytest.mark.parametrize(
    ("case", "trail_options", "expected"),
    [
        ("classic all management events", {"selectors": MANAGEMENT_ALL}, Status.PASS),
        ("advanced management selector", {"advanced": ADVANCED_MANAGEMENT}, Status.PASS),
        ("read and write selectors together",
         {"selectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
                        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, Status.PASS),
        ("write-only management events",
         {"selectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}, Status.FAIL),
        ("advanced read-only management events",
         {"advanced": [{"Name": "Reads", "FieldSelectors": [
             {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["true"]}]}]},
         Status.FAIL),
        ("KMS events excluded",
         {"selectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                         "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]}, Status.FAIL),
        ("advanced selector excluding KMS",
         {"advanced": [{"Name": "No KMS", "FieldSelectors": [
             {"Field": "eventCategory", "Equals": ["Management"]},
             {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]}]}, Status.FAIL),
        ("management events off",
         {"selectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False, "DataResources": [
             {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}, Status.FAIL),
        ("trail not logging", {"selectors": MANAGEMENT_ALL, "logging": False}, Status.FAIL),
        ("single-region trail", {"selectors": MANAGEMENT_ALL, "IsMultiRegionTrail": False}, Status.FAIL),
    ],
)
def test_multi_region_trail_cases(aws: AwsAccount, case: str, trail_options: dict[str, Any],
                                  expected: Status) -> None:
    _bucket(aws)
    options = {"IsMultiRegionTrail": True, **trail_options}
    trail_arn = _trail(aws, "audit", **options)

    result = aws.scan(["cloudtrail"])

    finding = finding_for(result, "aws-cloudtrail-multi-region-trail", ACCOUNT)
    assert finding.status is expected, case
    if expected is Status.PASS:
        assert finding.evidence["satisfied_by"] == trail_arn
    else:
        assert finding.evidence["examined"] == [trail_arn]


def test_multi_region_trail_one_of_several(aws: AwsAccount) -> None:
    _bucket(aws)
    _trail(aws, "regional", selectors=MANAGEMENT_ALL)
    _trail(aws, "stopped", selectors=MANAGEMENT_ALL, logging=False, IsMultiRegionTrail=True)
    good = _trail(aws, "good", region="eu-west-1", advanced=ADVANCED_MANAGEMENT, IsMultiRegionTrail=True)

    result = aws.scan(["cloudtrail"], regions=["us-east-1", "eu-west-1"])

    findings = findings_of(result, "aws-cloudtrail-multi-region-trail")
    assert len(findings) == 1
    assert findings[0].status is Status.PASS
    assert findings[0].evidence["satisfied_by"] == good


# --- per-trail settings ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("rule_id", "secure_options", "evidence_path"),
    [
        ("aws-cloudtrail-log-file-validation", {"EnableLogFileValidation": True},
         "configuration.logFileValidationEnabled"),
        ("aws-cloudtrail-kms-encryption",
         {"KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
         "configuration.kmsKeyId"),
        ("aws-cloudtrail-cloudwatch-logs",
         {"CloudWatchLogsLogGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:trail:*",
          "CloudWatchLogsRoleArn": "arn:aws:iam::123456789012:role/trail-to-logs"},
         "configuration.cloudWatchLogsLogGroupArn"),
    ],
)
def test_trail_setting_missing_fails_and_set_passes(aws: AwsAccount, rule_id: str, secure_options: dict[str, Any],
                                                   evidence_path: str) -> None:
    _bucket(aws)
    plain_arn = _trail(aws, "plain")
    _trail(aws, "secured", **secure_options)

    result = aws.scan(["cloudtrail"])

    failing = finding_for(result, rule_id, "plain")
    assert failing.status is Status.FAIL
    assert failing.resource_id == plain_arn
    assert failing.resource_type == "AWS::CloudTrail::Trail"
    assert evidence_path in failing.evidence
    assert status_of(result, rule_id, "secured") is Status.PASS


# --- the trail's S3 bucket ---------------------------------------------------------------------------

def _public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_bucket_public_policy_and_acl_fail(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    for bucket in ("policy-public-logs", "acl-public-logs", "private-logs"):
        _bucket(aws, bucket)
    s3.put_bucket_policy(Bucket="policy-public-logs", Policy=_public_policy("policy-public-logs"))
    s3.put_bucket_acl(Bucket="acl-public-logs", ACL="public-read")
    _trail(aws, "policy-trail", bucket="policy-public-logs")
    _trail(aws, "acl-trail", bucket="acl-public-logs")
    _trail(aws, "private-trail", bucket="private-logs")

    result = aws.scan(["cloudtrail", "s3"])

    policy = finding_for(result, "aws-cloudtrail-bucket-not-public", "policy-trail")
    assert policy.status is Status.FAIL
    assert policy.resource_type == "AWS::CloudTrail::Trail"
    assert policy.evidence["configuration.s3BucketName"] == "policy-public-logs"
    assert policy.evidence["related AWS::S3::Bucket"] == "arn:aws:s3:::policy-public-logs"
    assert "aws.policy_public" in policy.evidence
    acl = finding_for(result, "aws-cloudtrail-bucket-not-public", "acl-trail")
    assert acl.status is Status.FAIL
    assert "AllUsers" in acl.evidence["aws.s3_acl_public"]
    assert status_of(result, "aws-cloudtrail-bucket-not-public", "private-trail") is Status.PASS


def test_bucket_public_policy_blocked_passes(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    _bucket(aws)
    s3.put_bucket_policy(Bucket=LOG_BUCKET, Policy=_public_policy(LOG_BUCKET))
    s3.put_public_access_block(Bucket=LOG_BUCKET, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    _trail(aws, "audit")

    result = aws.scan(["cloudtrail", "s3"])

    assert status_of(result, "aws-cloudtrail-bucket-not-public", "audit") is Status.PASS


@pytest.mark.parametrize("rule_id", ["aws-cloudtrail-bucket-not-public", "aws-cloudtrail-bucket-access-logging"])
def test_bucket_rules_error_when_s3_not_scanned(aws: AwsAccount, rule_id: str) -> None:
    _bucket(aws)
    _trail(aws, "audit")

    result = aws.scan(["cloudtrail"])

    finding = finding_for(result, rule_id, "audit")
    assert finding.status is Status.ERROR
    assert finding.message.startswith("Not assessed")
    assert "AWS::S3::Bucket" in finding.message
    assert finding.evidence["configuration.s3BucketName"] == LOG_BUCKET


@pytest.mark.parametrize("rule_id", ["aws-cloudtrail-bucket-not-public", "aws-cloudtrail-bucket-access-logging"])
def test_bucket_rules_error_when_bucket_not_in_scan(aws: AwsAccount, rule_id: str) -> None:
    # A bucket of another account (a central log archive) is not collected. Deleting the bucket after
    # creating the trail gives the same view in one moto account.
    _bucket(aws, "central-archive")
    _trail(aws, "audit", bucket="central-archive")
    aws.client("s3").delete_bucket(Bucket="central-archive")

    result = aws.scan(["cloudtrail", "s3"])

    finding = finding_for(result, rule_id, "audit")
    assert finding.status is Status.ERROR
    assert "was not collected" in finding.message
    assert finding.evidence["configuration.s3BucketName"] == "central-archive"


def test_bucket_access_logging_missing_fails_and_enabled_passes(aws: AwsAccount) -> None:
    s3 = aws.client("s3")
    for bucket in ("unlogged-logs", "logged-logs", "access-logs"):
        _bucket(aws, bucket)
    s3.put_bucket_policy(Bucket="access-logs", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::access-logs/*"}]}))
    s3.put_bucket_logging(Bucket="logged-logs", BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "logged-logs/"}})
    _trail(aws, "unlogged", bucket="unlogged-logs")
    _trail(aws, "logged", bucket="logged-logs")

    result = aws.scan(["cloudtrail", "s3"])

    failing = finding_for(result, "aws-cloudtrail-bucket-access-logging", "unlogged")
    assert failing.status is Status.FAIL
    assert failing.evidence["related AWS::S3::Bucket"] == "arn:aws:s3:::unlogged-logs"
    assert status_of(result, "aws-cloudtrail-bucket-access-logging", "logged") is Status.PASS


# --- S3 data events ----------------------------------------------------------------------------------

WRITE_RULE = "aws-cloudtrail-s3-write-data-events"
READ_RULE = "aws-cloudtrail-s3-read-data-events"


def _s3_selector(read_write: str, values: list[str]) -> list[dict[str, Any]]:
    return [{"ReadWriteType": read_write, "IncludeManagementEvents": True,
             "DataResources": [{"Type": "AWS::S3::Object", "Values": values}]}]


def _s3_advanced(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [*ADVANCED_MANAGEMENT, {"Name": "S3 objects", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        *extra]}]


@pytest.mark.parametrize(
    ("case", "trail_options", "write", "read"),
    [
        ("management events only", {"selectors": MANAGEMENT_ALL}, Status.FAIL, Status.FAIL),
        ("classic all buckets, all events", {"selectors": _s3_selector("All", ["arn:aws:s3"])},
         Status.PASS, Status.PASS),
        ("classic all buckets, writes", {"selectors": _s3_selector("WriteOnly", ["arn:aws:s3"])},
         Status.PASS, Status.FAIL),
        ("classic all buckets, reads", {"selectors": _s3_selector("ReadOnly", ["arn:aws:s3:::"])},
         Status.FAIL, Status.PASS),
        ("classic one bucket", {"selectors": _s3_selector("All", ["arn:aws:s3:::trail-logs/"])},
         Status.FAIL, Status.FAIL),
        ("advanced all events", {"advanced": _s3_advanced()}, Status.PASS, Status.PASS),
        ("advanced writes", {"advanced": _s3_advanced({"Field": "readOnly", "Equals": ["false"]})},
         Status.PASS, Status.FAIL),
        ("advanced reads", {"advanced": _s3_advanced({"Field": "readOnly", "Equals": ["true"]})},
         Status.FAIL, Status.PASS),
        ("advanced one bucket",
         {"advanced": _s3_advanced({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::trail-logs/"]})},
         Status.FAIL, Status.FAIL),
        ("advanced some event names",
         {"advanced": _s3_advanced({"Field": "eventName", "Equals": ["PutObject"]})}, Status.FAIL, Status.FAIL),
        ("single-region trail", {"selectors": _s3_selector("All", ["arn:aws:s3"]), "IsMultiRegionTrail": False},
         Status.FAIL, Status.FAIL),
        ("trail not logging", {"selectors": _s3_selector("All", ["arn:aws:s3"]), "logging": False},
         Status.FAIL, Status.FAIL),
    ],
)
def test_s3_data_event_cases(aws: AwsAccount, case: str, trail_options: dict[str, Any], write: Status,
                             read: Status) -> None:
    _bucket(aws)
    trail_arn = _trail(aws, "data", **{"IsMultiRegionTrail": True, **trail_options})

    result = aws.scan(["cloudtrail"])

    write_finding = finding_for(result, WRITE_RULE, ACCOUNT)
    read_finding = finding_for(result, READ_RULE, ACCOUNT)
    assert write_finding.status is write, case
    assert read_finding.status is read, case
    for finding in (write_finding, read_finding):
        if finding.status is Status.PASS:
            assert finding.evidence["satisfied_by"] == trail_arn
        else:
            assert finding.evidence["examined"] == [trail_arn]


# --- denied calls ------------------------------------------------------------------------------------

def _scan_denied(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch, denied: list[str], services: list[str]) -> Any:
    """Scan as a user denied `denied` (moto enforces IAM policies once auth is switched on)."""
    for name, value in restricted_user_keys(aws, denied).items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        return aws.scan(services)
    finally:
        set_moto_auth(aws.endpoint, "inf")


def test_denied_event_selectors_make_selector_rules_error(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _bucket(aws)
    _trail(aws, "audit", selectors=MANAGEMENT_ALL, IsMultiRegionTrail=True, EnableLogFileValidation=True)

    result = _scan_denied(aws, monkeypatch, ["cloudtrail:GetEventSelectors"], ["cloudtrail"])

    for rule_id in ("aws-cloudtrail-multi-region-trail", WRITE_RULE, READ_RULE):
        finding = finding_for(result, rule_id, ACCOUNT)
        assert finding.status is Status.ERROR, rule_id
        assert "cloudtrail:GetEventSelectors" in finding.message, rule_id
    # Rules that read only what could be read are still judged.
    assert status_of(result, "aws-cloudtrail-log-file-validation", "audit") is Status.PASS
    assert status_of(result, "aws-cloudtrail-kms-encryption", "audit") is Status.FAIL


def test_denied_trail_listing_makes_every_rule_error(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _bucket(aws)
    _trail(aws, "audit", selectors=MANAGEMENT_ALL, IsMultiRegionTrail=True)

    result = _scan_denied(aws, monkeypatch, ["cloudtrail:DescribeTrails"], ["cloudtrail"])

    rule_ids = [rule.id for rule in aws.rules if rule.service == "cloudtrail"]
    for rule_id in rule_ids:
        findings = findings_of(result, rule_id)
        assert [finding.status for finding in findings] == [Status.ERROR], rule_id
        assert "cloudtrail:DescribeTrails" in findings[0].message, rule_id
