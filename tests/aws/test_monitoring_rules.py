"""Monitoring collector and the CloudTrail alarm rules against moto's server: a trail delivering to a log
group whose metric filter, alarm and SNS subscription alert on trail changes, and what breaks the chain."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ridgeline.model.finding import Status
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.providers.aws.session import AwsSession
from tests.conftest import AwsAccount, findings_of, restricted_user_keys, set_moto_auth

ACCOUNT = AwsAccount.account_id
LOG_GROUP = "cloudtrail-events"
LOG_GROUP_ARN = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{LOG_GROUP}:*"
TRAIL_CHANGES = ("{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
                 "($.eventName = StartLogging) || ($.eventName = StopLogging) }")
TRAIL_RULE = "aws-cloudtrail-alarm-cloudtrail-changes"
ROOT_RULE = "aws-cloudtrail-alarm-root-usage"


def _trail(aws: AwsAccount, name: str = "org-trail", *, multi_region: bool = True, logging: bool = True,
           log_group_arn: str | None = LOG_GROUP_ARN) -> str:
    aws.client("s3").create_bucket(Bucket=f"{name}-logs")
    cloudtrail = aws.client("cloudtrail")
    options: dict[str, Any] = {"IsMultiRegionTrail": multi_region}
    if log_group_arn:
        # moto checks neither the log group nor the role; AWS requires both to exist.
        options.update(CloudWatchLogsLogGroupArn=log_group_arn,
                       CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cloudtrail-to-logs")
    trail_arn = str(cloudtrail.create_trail(Name=name, S3BucketName=f"{name}-logs", **options)["TrailARN"])
    # moto returns no selectors for a trail that never had any, where AWS returns the default selector.
    cloudtrail.put_event_selectors(TrailName=name, EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True}])
    if logging:
        cloudtrail.start_logging(Name=name)
    return trail_arn


def _alerting(aws: AwsAccount, *, pattern: str = TRAIL_CHANGES, alarm: bool = True, notify: bool = True,
              subscribe: bool = True, actions_enabled: bool = True) -> str:
    """Create the log group with a metric filter for `pattern` and, as asked, its alarm, topic and subscription."""
    logs = aws.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.put_metric_filter(logGroupName=LOG_GROUP, filterName="trail-changes", filterPattern=pattern,
                           metricTransformations=[{"metricName": "TrailChanges", "metricNamespace": "Security",
                                                   "metricValue": "1"}])
    sns = aws.client("sns")
    topic = str(sns.create_topic(Name="security-alerts")["TopicArn"])
    if subscribe:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security@example.com")
    if alarm:
        aws.client("cloudwatch").put_metric_alarm(
            AlarmName="trail-changes", MetricName="TrailChanges", Namespace="Security", Statistic="Sum",
            Period=300, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            ActionsEnabled=actions_enabled, AlarmActions=[topic] if notify else [])
    return topic


def _account_finding(result: ScanResult, rule_id: str) -> Any:
    [finding] = findings_of(result, rule_id)
    assert finding.resource_type == "Ridgeline::Account"
    return finding


# --- collector -------------------------------------------------------------------------------------

def test_collector_attaches_filters_alarms_and_subscriptions(aws: AwsAccount) -> None:
    topic = _alerting(aws)
    aws.client("logs").create_log_group(logGroupName="app-logs")
    # An alarm on an unrelated metric stays off the log group.
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName="cpu", MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average", Period=300,
        EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold")

    result = aws.scan(["monitoring"])

    groups = {r.name: r for r in result.collection.resources}
    assert set(groups) == {LOG_GROUP, "app-logs"}
    group = groups[LOG_GROUP]
    assert group.type == "AWS::Logs::LogGroup"
    assert group.id == LOG_GROUP_ARN
    assert group.configuration["logGroupName"] == LOG_GROUP
    [metric_filter] = group.supplementary["MetricFilters"]
    assert metric_filter["filterPattern"] == TRAIL_CHANGES
    assert metric_filter["metricTransformations"][0]["metricName"] == "TrailChanges"
    [alarm] = group.supplementary["MetricAlarms"]
    assert alarm["alarmName"] == "trail-changes"
    assert alarm["alarmActions"] == [topic]
    [subscription] = group.supplementary["TopicSubscriptions"][topic]
    assert subscription["subscriptionArn"].startswith(f"{topic}:")
    assert subscription["protocol"] == "email"
    assert group.errors == {}
    assert groups["app-logs"].supplementary == {"MetricFilters": []}


def test_collector_calls_each_operation_once_per_region(aws: AwsAccount) -> None:
    _alerting(aws)
    aws.client("logs", "eu-west-1").create_log_group(logGroupName="eu-logs")
    recorder = CallRecorder()

    collect_aws(AwsScanOptions(regions=["us-east-1", "eu-west-1"], services=["monitoring"]),
                session=AwsSession(recorder=recorder))

    collector_calls = Counter({call: count for call, count in recorder.counts.items()
                               if call[0] in ("logs", "cloudwatch", "sns")})
    assert collector_calls == Counter({
        ("logs", "DescribeLogGroups"): 2,
        ("logs", "DescribeMetricFilters"): 2,
        # Only us-east-1 has a log group with a metric filter, so only there are alarms and topics read.
        ("cloudwatch", "DescribeAlarms"): 1,
        ("sns", "ListSubscriptionsByTopic"): 1,
    })


def test_deleted_topic_has_no_subscriptions(aws: AwsAccount) -> None:
    topic = _alerting(aws)
    aws.client("sns").delete_topic(TopicArn=topic)
    _trail(aws)

    result = aws.scan(["cloudtrail", "monitoring"])

    [group] = [r for r in result.collection.resources if r.type == "AWS::Logs::LogGroup"]
    assert group.supplementary["TopicSubscriptions"] == {topic: []}
    assert _account_finding(result, TRAIL_RULE).status is Status.FAIL


# --- rules -----------------------------------------------------------------------------------------

def test_complete_alerting_chain_passes(aws: AwsAccount) -> None:
    _alerting(aws)
    trail_arn = _trail(aws)

    result = aws.scan(["cloudtrail", "monitoring"])

    passing = _account_finding(result, TRAIL_RULE)
    assert passing.status is Status.PASS
    assert passing.evidence == {"satisfied_by": trail_arn}
    # The same log group has no filter for root activity.
    failing = _account_finding(result, ROOT_RULE)
    assert failing.status is Status.FAIL
    assert failing.evidence["examined"] == [trail_arn]
    assert "alarm on root user activity" in failing.message


def test_filter_written_differently_still_passes(aws: AwsAccount) -> None:
    # The CIS terms in another order and quoting, plus one more event name.
    _alerting(aws, pattern='{($.eventName="StopLogging")||($.eventName="StartLogging")||($.eventName="DeleteTrail")'
                           '||($.eventName="UpdateTrail")||($.eventName="CreateTrail")||($.eventName="PutEventSelectors")}')
    _trail(aws)

    result = aws.scan(["cloudtrail", "monitoring"])

    assert _account_finding(result, TRAIL_RULE).status is Status.PASS


@pytest.mark.parametrize(("alerting", "trail"), [
    pytest.param({"pattern": "{ ($.eventName = CreateTrail) || ($.eventName = DeleteTrail) }"}, {},
                 id="filter-misses-events"),
    pytest.param({"alarm": False}, {}, id="no-alarm"),
    pytest.param({"notify": False}, {}, id="alarm-without-sns-action"),
    pytest.param({"actions_enabled": False}, {}, id="alarm-actions-disabled"),
    pytest.param({"subscribe": False}, {}, id="topic-without-subscription"),
    pytest.param({}, {"multi_region": False}, id="single-region-trail"),
    pytest.param({}, {"logging": False}, id="trail-not-logging"),
    pytest.param({}, {"log_group_arn": None}, id="trail-without-log-group"),
    pytest.param({}, {"log_group_arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:other:*"},
                 id="trail-delivers-elsewhere"),
])
def test_broken_alerting_chain_fails(aws: AwsAccount, alerting: dict[str, Any], trail: dict[str, Any]) -> None:
    _alerting(aws, **alerting)
    if str(trail.get("log_group_arn")).endswith(":log-group:other:*"):
        aws.client("logs").create_log_group(logGroupName="other")
    _trail(aws, **trail)

    result = aws.scan(["cloudtrail", "monitoring"])

    failing = _account_finding(result, TRAIL_RULE)
    assert failing.status is Status.FAIL
    assert failing.message == (f"No logging multi-region trail of account {ACCOUNT} delivers to a log group with an "
                               "alarm on CloudTrail configuration changes.")


def test_log_group_not_collected_is_error(aws: AwsAccount) -> None:
    _alerting(aws)
    _trail(aws)

    result = aws.scan(["cloudtrail"])

    finding = _account_finding(result, TRAIL_RULE)
    assert finding.status is Status.ERROR
    assert f"related AWS::Logs::LogGroup '{LOG_GROUP_ARN}' was not collected" in finding.message


def test_denied_metric_filter_listing_is_error(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    _alerting(aws)
    _trail(aws)
    for name, value in restricted_user_keys(aws, ["logs:DescribeMetricFilters"]).items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["cloudtrail", "monitoring"]))
    finally:
        set_moto_auth(aws.endpoint, "inf")
    result = evaluate_collection(collection, aws.rules, store=None)

    finding = _account_finding(result, TRAIL_RULE)
    assert finding.status is Status.ERROR
    assert "logs:DescribeMetricFilters" in finding.message
    [group] = [r for r in collection.resources if r.type == "AWS::Logs::LogGroup"]
    assert set(group.errors) == {"supplementaryConfiguration.MetricFilters"}
