"""Demo monitoring: the log group of the regional trail in eu-west-1, with a metric filter, alarm and
subscribed SNS topic for root user activity, and a filter for CloudTrail changes that has no alarm.

No trail of the demo account is a logging multi-region trail, so every CloudTrail alarm rule fails even
though this log group alerts on root activity.
"""

from __future__ import annotations

from ridgeline.demo.emulator import emulator_client

_REGION = "eu-west-1"
# The log group the cloudtrail seed's regional trail delivers to.
_LOG_GROUP = "demo-cloudtrail"


def seed(endpoint: str) -> int:
    """Create the log group, its two metric filters, the alarm and the topic; return how many."""
    logs = emulator_client(endpoint, "logs", _REGION)
    logs.create_log_group(logGroupName=_LOG_GROUP)
    logs.put_metric_filter(
        logGroupName=_LOG_GROUP, filterName="demo-root-usage",
        filterPattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
                      '$.eventType != "AwsServiceEvent" }',
        metricTransformations=[{"metricName": "RootUsage", "metricNamespace": "DemoSecurity", "metricValue": "1"}])
    logs.put_metric_filter(
        logGroupName=_LOG_GROUP, filterName="demo-trail-changes-without-alarm",
        filterPattern="{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) "
                      "|| ($.eventName = StartLogging) || ($.eventName = StopLogging) }",
        metricTransformations=[{"metricName": "TrailChanges", "metricNamespace": "DemoSecurity", "metricValue": "1"}])

    sns = emulator_client(endpoint, "sns", _REGION)
    topic = sns.create_topic(Name="demo-security-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security@example.com")
    emulator_client(endpoint, "cloudwatch", _REGION).put_metric_alarm(
        AlarmName="demo-root-usage", MetricName="RootUsage", Namespace="DemoSecurity", Statistic="Sum", Period=300,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic])
    return 5
