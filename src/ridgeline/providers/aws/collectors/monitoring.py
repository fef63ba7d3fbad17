"""Monitoring: CloudWatch Logs log groups with the metric filters, alarms and SNS subscriptions that turn
their log events into notifications.

Log groups become `AWS::Logs::LogGroup` items: `configuration` is the DescribeLogGroups entry, and
`supplementaryConfiguration` contains
- `MetricFilters`: the DescribeMetricFilters entries of the log group;
- `MetricAlarms`: the region's DescribeAlarms metric alarms that watch a metric those filters publish;
- `TopicSubscriptions`: for each SNS topic among those alarms' actions, its ListSubscriptionsByTopic
  entries (an empty list for a topic that no longer exists).
The item id is the log group ARN ending in ":*", the form a CloudTrail trail names its log group with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from ridgeline.analysis.monitoring import alarm_metrics, filter_metrics, sns_actions
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import arn, config_shape
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

LOG_GROUP = "AWS::Logs::LogGroup"

CALLS = (
    *api_calls("logs", "DescribeLogGroups", "DescribeMetricFilters"),
    *api_calls("cloudwatch", "DescribeAlarms"),
    *api_calls("sns", "ListSubscriptionsByTopic"),
)

_FILTERS_PATH = "supplementaryConfiguration.MetricFilters"
_ALARMS_PATH = "supplementaryConfiguration.MetricAlarms"
_SUBSCRIPTIONS_PATH = "supplementaryConfiguration.TopicSubscriptions"


def collect(unit: UnitContext) -> None:
    """Collect the region's log groups, then attach filters, alarms and subscriptions to each."""
    logs = unit.client("logs")
    try:
        log_groups = unit.paginate(logs, "DescribeLogGroups", "logGroups")
    except CallFailed as failure:
        unit.fail_type(LOG_GROUP, failure)
        return

    resources = {group["logGroupName"]: _log_group_resource(unit, group) for group in log_groups}
    if not resources:
        return

    with_filters = _read_metric_filters(unit, logs, resources)
    if with_filters:
        _read_alarms(unit, with_filters)
        _read_subscriptions(unit, with_filters)

    for resource in resources.values():
        unit.add(resource)


def _log_group_resource(unit: UnitContext, group: dict[str, Any]) -> Resource:
    name = group["logGroupName"]
    group_arn = group.get("arn") or arn(unit.partition, "logs", unit.region, unit.account, f"log-group:{name}:*")
    resource = unit.new_resource(LOG_GROUP, group_arn, name, configuration=config_shape(group))
    resource.supplementary["MetricFilters"] = []
    return resource


def _read_metric_filters(unit: UnitContext, logs: Any, resources: dict[str, Resource]) -> list[Resource]:
    """Attach each log group's metric filters; return the log groups that have at least one."""
    try:
        # One region-wide listing instead of one call per log group: most log groups have no filter.
        filters = unit.paginate(logs, "DescribeMetricFilters", "metricFilters")
    except CallFailed as failure:
        _details_failed(unit, list(resources.values()), _FILTERS_PATH, failure)
        return []

    for metric_filter in filters:
        resource = resources.get(metric_filter.get("logGroupName", ""))
        if resource is None:
            # A log group created between the two listings; the next scan collects both.
            logger.debug("account %s region %s: metric filter %s names unlisted log group %s", unit.account,
                         unit.region, metric_filter.get("filterName"), metric_filter.get("logGroupName"))
            continue
        resource.supplementary["MetricFilters"].append(config_shape(metric_filter))
    return [resource for resource in resources.values() if resource.supplementary["MetricFilters"]]


def _read_alarms(unit: UnitContext, log_groups: list[Resource]) -> None:
    """Attach to each log group the metric alarms that watch one of its filters' metrics."""
    cloudwatch = unit.client("cloudwatch")
    try:
        alarms = [config_shape(alarm) for alarm in unit.paginate(cloudwatch, "DescribeAlarms", "MetricAlarms")]
    except CallFailed as failure:
        _details_failed(unit, log_groups, _ALARMS_PATH, failure)
        return

    # NOTE: composite alarms are not read, so a composite alarm that notifies on behalf of a metric alarm
    # without actions of its own does not count.
    for resource in log_groups:
        metrics: set[tuple[str, str]] = set()
        for metric_filter in resource.supplementary["MetricFilters"]:
            metrics |= filter_metrics(metric_filter)
        resource.supplementary["MetricAlarms"] = [alarm for alarm in alarms if alarm_metrics(alarm) & metrics]


def _read_subscriptions(unit: UnitContext, log_groups: list[Resource]) -> None:
    """Attach the subscriptions of every SNS topic that an attached alarm notifies."""
    topics_by_group = {resource.id: _topics(resource.supplementary.get("MetricAlarms") or [])
                       for resource in log_groups}
    topics = sorted({topic for group_topics in topics_by_group.values() for topic in group_topics})
    results = dict(zip(topics, unit.map(lambda topic: _topic_subscriptions(unit, topic), topics), strict=True))

    recorded: set[str] = set()
    for resource in log_groups:
        own = sorted(topics_by_group[resource.id])
        failed = [(topic, result) for topic in own if isinstance(result := results[topic], CallFailed)]
        if not failed:
            resource.supplementary["TopicSubscriptions"] = {topic: config_shape(results[topic]) for topic in own}
            continue
        # Each failed topic goes to coverage once; other log groups that share it only copy the reason.
        for topic, failure in failed:
            if topic not in recorded:
                unit.detail_failed(resource, _SUBSCRIPTIONS_PATH, failure)
                recorded.add(topic)
            resource.errors[_SUBSCRIPTIONS_PATH] = f"{failure.code} on {failure.call.action}: {failure.message}"


def _topics(alarms: Iterable[dict[str, Any]]) -> set[str]:
    return {topic for alarm in alarms for topic in sns_actions(alarm)}


def _topic_subscriptions(unit: UnitContext, topic: str) -> list[dict[str, Any]] | CallFailed:
    """Return the topic's subscriptions ([] when the topic no longer exists), or the failure."""
    # Alarms notify topics of their own region, but the topic ARN is the authority.
    parts = topic.split(":")
    region = parts[3] if len(parts) > 5 and parts[3] else unit.region
    sns = unit.client("sns", region)
    try:
        return unit.paginate(sns, "ListSubscriptionsByTopic", "Subscriptions", TopicArn=topic)
    except CallFailed as failure:
        if failure.code == "NotFound":
            return []
        failure.resource_id = topic
        return failure


def _details_failed(unit: UnitContext, resources: list[Resource], path: str, failure: CallFailed) -> None:
    # A region-wide call failed: record it once in coverage, and mark the path unknown on every log group.
    unit.detail_failed(resources[0], path, failure)
    for resource in resources[1:]:
        resource.errors[path] = resources[0].errors[path]


COLLECTOR = CollectorSpec(
    service="monitoring",
    global_service=False,
    calls=CALLS,
    resource_types=(LOG_GROUP,),
    collect=collect,
    description="CloudWatch Logs log groups with their metric filters, alarms and SNS subscriptions",
)
