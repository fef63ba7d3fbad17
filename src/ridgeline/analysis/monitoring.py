"""Alerting on CloudTrail events: whether a CloudWatch Logs metric filter covers an event pattern, and
whether a covering filter feeds an alarm that notifies a subscribed SNS topic.

Filter patterns are CloudWatch Logs JSON filter patterns, such as
`{ ($.eventName = CreateTrail) || ($.eventName = DeleteTrail) }`. They are compared as boolean formulas in
disjunctive normal form (an OR of ANDs of comparisons), never as text, so whitespace, quoting, the order
of `||` terms and extra terms that widen a filter do not matter. A filter covers an event pattern when
every event the pattern matches also matches the filter. The test is sound but not complete: a filter
judged to cover does cover, while a filter that covers through reasoning beyond single comparisons
(a wildcard spanning two literal values, say) is judged not to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ridgeline.analysis.normal_form import form_covers

# Upper bound on the AND terms of a normal form; patterns that expand beyond it are rejected rather
# than evaluated slowly. The CIS patterns need at most 18.
MAX_TERMS = 1024

_UNARY = ("IS NULL", "IS TRUE", "IS FALSE", "NOT EXISTS")
# Unary tests are keywords separated by any whitespace, in upper or lower case.
_UNARY_PATTERNS = {test: re.compile(r"\s+".join(test.split()) + r"(?![\w$])", re.IGNORECASE) for test in _UNARY}
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_SELECTOR = re.compile(r"\$[^\s=!<>()&|]*")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_REGEX = re.compile(r"%[^%]*%")
_BARE = re.compile(r"[^\s()&|]+")


class PatternError(ValueError):
    """A filter pattern that is not a JSON filter pattern this module can read."""


@dataclass(frozen=True, slots=True, order=True)
class Comparison:
    """One comparison of a JSON filter pattern, e.g. `$.eventName = "ConsoleLogin"`."""

    selector: str
    """The JSON selector, e.g. "$.userIdentity.type"."""

    operator: str
    """One of =, !=, <, <=, >, >=, or a unary test: IS NULL, IS TRUE, IS FALSE, NOT EXISTS."""

    value: str = ""
    """The compared value without quotes; `*` is a wildcard and `%...%` a regular expression."""

    def describe(self) -> str:
        """Return the comparison in filter pattern syntax."""
        if self.operator in _UNARY:
            return f"{self.selector} {self.operator}"
        return f'{self.selector} {self.operator} "{self.value}"'


Conjunction = frozenset[Comparison]
NormalForm = frozenset[Conjunction]
"""A disjunction of conjunctions; the empty conjunction is true, so {frozenset()} matches every event."""


# --- Parsing ----------------------------------------------------------------------------------------
# A parenthesised group is kept as a flat list of operands and operators, so the normal form can be
# built under both readings of a group that mixes && and || without parentheses.


@dataclass(frozen=True, slots=True)
class _Group:
    operands: tuple[Comparison | _Group, ...]
    operators: tuple[str, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, problem: str) -> PatternError:
        return PatternError(f"{problem} at character {self.position + 1} of {self.text!r}")

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def at(self, token: str) -> bool:
        self.skip_space()
        return self.text.startswith(token, self.position)

    def take(self, token: str) -> bool:
        if self.at(token):
            self.position += len(token)
            return True
        return False

    def group(self) -> _Group:
        operands = [self.operand()]
        operators = []
        while True:
            if self.take("&&"):
                operators.append("&&")
            elif self.take("||"):
                operators.append("||")
            else:
                return _Group(tuple(operands), tuple(operators))
            operands.append(self.operand())

    def operand(self) -> Comparison | _Group:
        if self.take("("):
            inner = self.group()
            if not self.take(")"):
                raise self.fail("expected ')'")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        self.skip_space()
        selector = _SELECTOR.match(self.text, self.position)
        if selector is None:
            raise self.fail("expected a selector such as $.eventName")
        self.position = selector.end()

        for unary, pattern in _UNARY_PATTERNS.items():
            self.skip_space()
            keywords = pattern.match(self.text, self.position)
            if keywords is not None:
                self.position = keywords.end()
                return Comparison(selector.group(), unary)
        for operator in _OPERATORS:
            if self.take(operator):
                return Comparison(selector.group(), operator, self.value())
        raise self.fail(f"expected an operator after {selector.group()}")

    def value(self) -> str:
        self.skip_space()
        quoted = _QUOTED.match(self.text, self.position)
        if quoted is not None:
            self.position = quoted.end()
            return re.sub(r"\\(.)", r"\1", quoted.group(1))
        for token in (_REGEX, _BARE):
            match = token.match(self.text, self.position)
            if match is not None:
                self.position = match.end()
                return match.group()
        raise self.fail("expected a value")


def _parse(text: str) -> _Group | None:
    """Parse a JSON filter pattern; None for the empty pattern, which matches every event."""
    stripped = text.strip()
    if not stripped:
        return None
    if not (stripped.startswith("{") and stripped.endswith("}")):
        raise PatternError(f"not a JSON filter pattern (it does not start with '{{' and end with '}}'): {text!r}")
    parser = _Parser(stripped[1:-1])
    group = parser.group()
    parser.skip_space()
    if parser.position != len(parser.text):
        raise parser.fail("unexpected text")
    return group


# --- Normal forms -----------------------------------------------------------------------------------


def _either(left: NormalForm, right: NormalForm) -> NormalForm:
    return _absorb(left | right)


def _both(left: NormalForm, right: NormalForm) -> NormalForm:
    combined = frozenset(a | b for a in left for b in right)
    if len(combined) > MAX_TERMS:
        raise PatternError(f"the pattern expands to more than {MAX_TERMS} alternatives")
    return _absorb(combined)


def _absorb(form: NormalForm) -> NormalForm:
    """Drop conjunctions that contain another one: `a || (a && b)` is `a`."""
    return frozenset(c for c in form if not any(other < c for other in form))


def _normal_form(node: Comparison | _Group, and_first: bool) -> NormalForm:
    if isinstance(node, Comparison):
        return frozenset({frozenset({node})})

    forms = [_normal_form(operand, and_first) for operand in node.operands]
    if not and_first:
        # Left to right: ((a op b) op c) ...
        result = forms[0]
        for operator, form in zip(node.operators, forms[1:], strict=True):
            result = _both(result, form) if operator == "&&" else _either(result, form)
        return result

    # && before ||: split at each ||, AND the runs between.
    alternatives: list[NormalForm] = []
    run = forms[0]
    for operator, form in zip(node.operators, forms[1:], strict=True):
        if operator == "&&":
            run = _both(run, form)
        else:
            alternatives.append(run)
            run = form
    alternatives.append(run)
    result = alternatives[0]
    for alternative in alternatives[1:]:
        result = _either(result, alternative)
    return result


def normal_forms(pattern: str) -> frozenset[NormalForm]:
    """Return the pattern's normal form under each reading; raise PatternError when it cannot be read.

    NOTE: the CloudWatch Logs documentation does not say whether && binds tighter than || when a group
    mixes them without parentheses. Both readings are returned (one when they agree), and coverage must
    hold under each.
    """
    group = _parse(pattern)
    if group is None:
        return frozenset({frozenset({frozenset()})})
    return frozenset({_normal_form(group, and_first=True), _normal_form(group, and_first=False)})


# --- Coverage ---------------------------------------------------------------------------------------


def _literal(value: str) -> bool:
    return "*" not in value and not _REGEX.fullmatch(value)


def _wildcard_match(pattern: str, value: str) -> bool:
    """Tell whether `value` matches `pattern`, where `*` in the pattern matches any text."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _implies(known: Comparison, required: Comparison) -> bool:
    """Tell whether every event satisfying `known` also satisfies `required`."""
    if known == required:
        return True
    if known.selector != required.selector or known.operator != "=":
        return False
    if required.operator == "=":
        if required.value == "*":
            return True
        return _literal(known.value) and not _REGEX.fullmatch(required.value) and _wildcard_match(
            required.value, known.value)
    if required.operator == "!=":
        # A field equal to one literal value differs from any value or wildcard it does not match.
        return _literal(known.value) and not _REGEX.fullmatch(required.value) and not _wildcard_match(
            required.value, known.value)
    return False


def _form_covers(filter_form: NormalForm, event_form: NormalForm) -> bool:
    return form_covers(filter_form, event_form, _implies)


def pattern_covers(filter_pattern: str, event_pattern: str) -> bool:
    """Tell whether every event matched by `event_pattern` is matched by `filter_pattern`.

    Raise PatternError when either pattern cannot be read.
    """
    return _covers(normal_forms(filter_pattern), normal_forms(event_pattern))


def _covers(filter_forms: frozenset[NormalForm], event_forms: frozenset[NormalForm]) -> bool:
    return all(_form_covers(f, e) for f in filter_forms for e in event_forms)


# --- Filters, alarms and topics ---------------------------------------------------------------------
# The inputs have the shapes the monitoring collector records on a log group: DescribeMetricFilters
# entries, DescribeAlarms MetricAlarms entries and ListSubscriptionsByTopic entries per topic ARN, with
# camelCase keys.


class MonitoringDataError(ValueError):
    """Metric filters, alarms or subscriptions that do not have the collected shape."""


@dataclass(frozen=True, slots=True)
class AlertingVerdict:
    """The outcome of an alerting check: True, False, or None when unknown, with the reason."""

    matched: bool | None
    detail: str


def _records(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MonitoringDataError(f"{name} must be a list of objects, found {type(value).__name__}")
    return value


def filter_metrics(metric_filter: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Return the (namespace, metric name) pairs a metric filter publishes."""
    metrics = set()
    for transformation in metric_filter.get("metricTransformations") or []:
        if isinstance(transformation, dict) and transformation.get("metricName"):
            metrics.add((str(transformation.get("metricNamespace", "")), str(transformation["metricName"])))
    return metrics


def alarm_metrics(alarm: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Return the (namespace, metric name) pairs an alarm watches, directly or in a metric math query."""
    metrics = set()
    if alarm.get("metricName"):
        metrics.add((str(alarm.get("namespace", "")), str(alarm["metricName"])))
    for query in alarm.get("metrics") or []:
        metric = ((query or {}).get("metricStat") or {}).get("metric") or {}
        if metric.get("metricName"):
            metrics.add((str(metric.get("namespace", "")), str(metric["metricName"])))
    return metrics


def sns_actions(alarm: Mapping[str, Any]) -> list[str]:
    """Return the SNS topic ARNs among an alarm's ALARM-state actions."""
    actions = alarm.get("alarmActions") or []
    return [str(action) for action in actions if str(action).startswith("arn:") and ":sns:" in str(action)]


def confirmed_subscriptions(subscriptions: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return the subscription ARNs of confirmed subscriptions; a pending one has no ARN yet."""
    return [str(s["subscriptionArn"]) for s in subscriptions if str(s.get("subscriptionArn", "")).startswith("arn:")]


def alerting_for_patterns(filters: Any, alarms: Any, topic_subscriptions: Any,
                          patterns: list[str]) -> AlertingVerdict:
    """Decide whether some metric filter covering one of `patterns` feeds an alarm, with actions enabled,
    that notifies an SNS topic with at least one confirmed subscription.

    Raise PatternError when an event pattern is invalid and MonitoringDataError on malformed input. A
    filter pattern that cannot be read leaves the verdict unknown unless another filter decides it.
    """
    if not patterns:
        raise PatternError("at least one event pattern is needed")
    event_forms = [normal_forms(pattern) for pattern in patterns]
    filter_records = _records(filters, "MetricFilters")
    alarm_records = _records(alarms, "MetricAlarms")
    if topic_subscriptions is None:
        topic_subscriptions = {}
    if not isinstance(topic_subscriptions, dict):
        raise MonitoringDataError(f"TopicSubscriptions must map topic ARNs to subscriptions, found "
                                  f"{type(topic_subscriptions).__name__}")

    unknown: list[str] = []
    gaps: list[str] = []
    for metric_filter in filter_records:
        name = str(metric_filter.get("filterName", "?"))
        try:
            filter_forms = normal_forms(str(metric_filter.get("filterPattern") or ""))
        except PatternError as error:
            unknown.append(f"metric filter {name}: {error}")
            continue
        if not any(_covers(filter_forms, forms) for forms in event_forms):
            continue

        verdict = _alerting_chain(name, filter_metrics(metric_filter), alarm_records, topic_subscriptions)
        if verdict.matched:
            return verdict
        (unknown if verdict.matched is None else gaps).append(verdict.detail)

    if unknown:
        return AlertingVerdict(None, "; ".join([*gaps, *unknown]))
    if gaps:
        return AlertingVerdict(False, "; ".join(gaps))
    return AlertingVerdict(False, f"none of the {len(filter_records)} metric filter(s) covers the event pattern")


def _alerting_chain(filter_name: str, metrics: set[tuple[str, str]], alarms: list[dict[str, Any]],
                    topic_subscriptions: dict[str, Any]) -> AlertingVerdict:
    """Follow one covering filter to its alarms and their SNS topics."""
    watching = [alarm for alarm in alarms if alarm_metrics(alarm) & metrics]
    metric_names = ", ".join(f"{namespace}/{name}" for namespace, name in sorted(metrics)) or "no metric"
    if not watching:
        return AlertingVerdict(False, f"metric filter {filter_name} covers the pattern, but no alarm watches "
                                      f"its metric {metric_names}")

    problems = []
    unread_topics = False
    for alarm in watching:
        alarm_name = str(alarm.get("alarmName", "?"))
        if alarm.get("actionsEnabled") is False:
            problems.append(f"alarm {alarm_name} has its actions disabled")
            continue
        topics = sns_actions(alarm)
        if not topics:
            problems.append(f"alarm {alarm_name} notifies no SNS topic")
            continue
        for topic in topics:
            if topic not in topic_subscriptions:
                unread_topics = True
                problems.append(f"the subscriptions of SNS topic {topic} (alarm {alarm_name}) were not collected")
                continue
            confirmed = confirmed_subscriptions(_records(topic_subscriptions[topic], f"subscriptions of {topic}"))
            if confirmed:
                return AlertingVerdict(True, f"metric filter {filter_name} -> alarm {alarm_name} -> SNS topic "
                                             f"{topic} ({len(confirmed)} confirmed subscription(s))")
            problems.append(f"SNS topic {topic} of alarm {alarm_name} has no confirmed subscription")
    detail = f"metric filter {filter_name} covers the pattern, but " + "; ".join(problems)
    return AlertingVerdict(None if unread_topics else False, detail)
