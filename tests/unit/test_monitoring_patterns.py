"""Metric filter pattern coverage and the filter -> alarm -> SNS topic chain."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ridgeline.analysis.monitoring import (
    Comparison,
    MonitoringDataError,
    PatternError,
    alerting_for_patterns,
    normal_forms,
    pattern_covers,
)
from ridgeline.rules.loader import load_builtin_rules

UNAUTHORIZED = ('{ (($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*")) && '
                '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }')
TRAIL_CHANGES = ("{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
                 "($.eventName = StartLogging) || ($.eventName = StopLogging) }")
ROUTES = ("{ ($.eventSource = ec2.amazonaws.com) && (($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) "
          "|| ($.eventName = DeleteRoute)) }")
ROOT = ('{ ($.userIdentity.type = "Root") && ($.userIdentity.invokedBy NOT EXISTS) && '
        '($.eventType != "AwsServiceEvent") }')


@pytest.mark.parametrize(("filter_pattern", "event_pattern", "covers"), [
    # The same pattern, written differently.
    (TRAIL_CHANGES, TRAIL_CHANGES, True),
    ("{($.eventName=StopLogging)||($.eventName=StartLogging)||($.eventName=DeleteTrail)||"
     "($.eventName=UpdateTrail)||($.eventName=CreateTrail)}", TRAIL_CHANGES, True),
    ('{ ($.eventName = "CreateTrail") || ($.eventName = "UpdateTrail") || ($.eventName = "DeleteTrail") ||\n'
     '  ($.eventName = "StartLogging") || ($.eventName = "StopLogging") }', TRAIL_CHANGES, True),
    ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
     ROOT, True),
    ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy not   exists && $.eventType != "AwsServiceEvent" }',
     ROOT, True),
    # A filter that matches more events still covers.
    (TRAIL_CHANGES[:-2] + " || ($.eventName = PutEventSelectors) }", TRAIL_CHANGES, True),
    ('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }', UNAUTHORIZED, True),
    ('{ $.userIdentity.type = "Root" }', ROOT, True),
    ('{ $.eventName = "*" }', TRAIL_CHANGES, True),
    ("{ $.eventName = *Trail || $.eventName = *Logging }", TRAIL_CHANGES, True),
    ("", TRAIL_CHANGES, True),
    # A filter that misses some of the events does not.
    ("{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) }",
     TRAIL_CHANGES, False),
    ('{ ($.userIdentity.type = "Root") && ($.eventName = "ConsoleLogin") }', ROOT, False),
    ("{ $.eventName = *Trail }", TRAIL_CHANGES, False),
    (TRAIL_CHANGES, "", False),
    ("{ ($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) }", ROUTES, False),
    # The CIS text without parentheses around the || terms covers under both readings.
    ('{($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
     '($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }', UNAUTHORIZED, True),
    ("{ ($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || "
     "($.eventName = DeleteRoute) }", ROUTES, True),
    # Read with && first, this filter matches every UnauthorizedOperation error; read left to right, only
    # those not caused by the log delivery service. Coverage must hold under both readings.
    ('{ $.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*" && '
     '$.sourceIPAddress != "delivery.logs.amazonaws.com" }', '{ $.errorCode = "*UnauthorizedOperation" }', False),
    ('{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
     '($.sourceIPAddress != "delivery.logs.amazonaws.com") }',
     '{ ($.errorCode = "*UnauthorizedOperation") && ($.sourceIPAddress != "delivery.logs.amazonaws.com") }', True),
    # A literal value implies an inequality to a value it does not match.
    ('{ ($.eventName = ConsoleLogin) && ($.eventName != HeadBucket) }', '{ $.eventName = ConsoleLogin }', True),
    ('{ $.eventName != Console* }', '{ $.eventName = ConsoleLogin }', False),
])
def test_pattern_coverage(filter_pattern: str, event_pattern: str, covers: bool) -> None:
    assert pattern_covers(filter_pattern, event_pattern) is covers


def test_mixed_operators_have_two_readings() -> None:
    forms = normal_forms("{ $.a = 1 || $.b = 2 && $.c = 3 }")

    a, b, c = (Comparison(f"$.{name}", "=", value) for name, value in (("a", "1"), ("b", "2"), ("c", "3")))
    assert forms == {
        frozenset({frozenset({a}), frozenset({b, c})}),
        frozenset({frozenset({a, c}), frozenset({b, c})}),
    }


def test_quoted_values_keep_spaces_and_escapes() -> None:
    [form] = normal_forms(r'{ $.errorMessage = "Failed \"authentication\"" }')

    [[comparison]] = [list(terms) for terms in form]
    assert comparison == Comparison("$.errorMessage", "=", 'Failed "authentication"')


@pytest.mark.parametrize("pattern", [
    "ERROR",
    "[ip, user, ...]",
    "{ $.eventName = }",
    "{ ($.eventName = CreateTrail }",
    "{ eventName = CreateTrail }",
    "{ $.eventName CreateTrail }",
    "{ $.a = 1 } extra }",
    "{ " + " && ".join(f"($.f{i} = 1 || $.g{i} = 2)" for i in range(12)) + " }",
])
def test_unreadable_patterns_raise(pattern: str) -> None:
    with pytest.raises(PatternError):
        normal_forms(pattern)


def _filter(name: str, pattern: str, metric: str = "TrailChanges") -> dict[str, Any]:
    return {"filterName": name, "filterPattern": pattern, "logGroupName": "trail-logs",
            "metricTransformations": [{"metricName": metric, "metricNamespace": "CIS", "metricValue": "1"}]}


def _alarm(name: str, metric: str = "TrailChanges", topic: str | None = "arn:aws:sns:us-east-1:1:alerts",
           **extra: Any) -> dict[str, Any]:
    return {"alarmName": name, "metricName": metric, "namespace": "CIS", "actionsEnabled": True,
            "alarmActions": [topic] if topic else [], **extra}


_CONFIRMED = {"arn:aws:sns:us-east-1:1:alerts": [{"subscriptionArn": "arn:aws:sns:us-east-1:1:alerts:abc",
                                                  "protocol": "email"}]}
_PENDING = {"arn:aws:sns:us-east-1:1:alerts": [{"subscriptionArn": "PendingConfirmation", "protocol": "email"}]}


@pytest.mark.parametrize(("filters", "alarms", "subscriptions", "matched", "detail"), [
    ([_filter("trail", TRAIL_CHANGES)], [_alarm("trail-alarm")], _CONFIRMED, True,
     "metric filter trail -> alarm trail-alarm -> SNS topic arn:aws:sns:us-east-1:1:alerts"),
    # The alarm watches the metric through a metric math query.
    ([_filter("trail", TRAIL_CHANGES)],
     [{"alarmName": "math", "actionsEnabled": True, "alarmActions": ["arn:aws:sns:us-east-1:1:alerts"],
       "metrics": [{"id": "m1", "metricStat": {"metric": {"namespace": "CIS", "metricName": "TrailChanges"}}}]}],
     _CONFIRMED, True, "alarm math"),
    ([], [], {}, False, "none of the 0 metric filter(s)"),
    ([_filter("partial", "{ $.eventName = CreateTrail }")], [_alarm("trail-alarm")], _CONFIRMED, False,
     "none of the 1 metric filter(s)"),
    ([_filter("trail", TRAIL_CHANGES)], [], {}, False, "no alarm watches its metric CIS/TrailChanges"),
    ([_filter("trail", TRAIL_CHANGES)], [_alarm("other", metric="Other")], _CONFIRMED, False, "no alarm watches"),
    ([_filter("trail", TRAIL_CHANGES)], [_alarm("off", actionsEnabled=False)], _CONFIRMED, False,
     "alarm off has its actions disabled"),
    ([_filter("trail", TRAIL_CHANGES)], [_alarm("lambda", topic="arn:aws:lambda:us-east-1:1:function:f")], {},
     False, "alarm lambda notifies no SNS topic"),
    ([_filter("trail", TRAIL_CHANGES)], [_alarm("pending")], _PENDING, False, "has no confirmed subscription"),
    # Subscriptions that were never collected leave the verdict unknown.
    ([_filter("trail", TRAIL_CHANGES)], [_alarm("trail-alarm")], {}, None, "were not collected"),
    # An unreadable filter leaves it unknown too, unless another filter decides.
    ([_filter("text", "ERROR")], [], {}, None, "metric filter text: not a JSON filter pattern"),
    ([_filter("text", "ERROR"), _filter("trail", TRAIL_CHANGES)], [_alarm("trail-alarm")], _CONFIRMED, True,
     "metric filter trail"),
])
def test_alerting_chain(filters: list[dict[str, Any]], alarms: list[dict[str, Any]], subscriptions: dict[str, Any],
                        matched: bool | None, detail: str) -> None:
    verdict = alerting_for_patterns(filters, alarms, subscriptions, [TRAIL_CHANGES])

    assert verdict.matched is matched
    assert detail in verdict.detail


def test_any_listed_pattern_counts() -> None:
    narrow = ('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
              '($.userIdentity.type = "IAMUser") }')
    broad = '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'

    verdict = alerting_for_patterns([_filter("mfa", narrow)], [_alarm("a")], _CONFIRMED, [broad, narrow])

    assert verdict.matched is True
    assert alerting_for_patterns([_filter("mfa", narrow)], [_alarm("a")], _CONFIRMED, [broad]).matched is False


@pytest.mark.parametrize(("filters", "alarms", "subscriptions"), [
    ("not a list", [], {}),
    ([], [1, 2], {}),
    ([], [], ["not", "a", "mapping"]),
])
def test_malformed_input_raises(filters: Any, alarms: Any, subscriptions: Any) -> None:
    with pytest.raises(MonitoringDataError):
        alerting_for_patterns(filters, alarms, subscriptions, [TRAIL_CHANGES])


def test_invalid_event_pattern_raises() -> None:
    with pytest.raises(PatternError):
        alerting_for_patterns([], [], {}, ["{ $.eventName = "])


def _alarm_rules() -> list[Any]:
    return [rule for rule in load_builtin_rules() if rule.id.startswith("aws-cloudtrail-alarm-")]


def test_every_monitoring_rule_pattern_is_readable() -> None:
    rules = _alarm_rules()

    assert len(rules) == 15
    for rule in rules:
        assert rule.compliance["cis-aws-7.0"] == rule.compliance["cis-aws-6.0"], rule.id
        for pattern in _rule_patterns(rule):
            assert normal_forms(pattern), rule.id


def test_remediation_pattern_satisfies_its_rule() -> None:
    for rule in _alarm_rules():
        match = re.search(r"--filter-pattern '(.*?)' &&", rule.remediation.cli, re.DOTALL)
        assert match is not None, rule.id
        suggested = match.group(1).replace("$$", "$")

        assert any(pattern_covers(suggested, pattern) for pattern in _rule_patterns(rule)), rule.id


def _rule_patterns(rule: Any) -> list[str]:
    # The patterns are the literal argument of the check inside the rule's `related` condition.
    related = rule.condition.children[1]
    patterns: list[str] = related.where.literals["patterns"]
    return patterns
