"""Cloud Logging and Cloud Monitoring facts behind the GCP logging rules.

Log-based metrics are judged by their filter, written in the Logging query language. Filters are
compared as boolean formulas in disjunctive normal form (an OR of ANDs of comparisons), never as text,
so whitespace, quoting and the order of OR and AND terms do not matter. A metric covers an event family
when every log entry that the family's reference filter matches also matches the metric's filter. The
test is sound but not complete: a filter judged to cover does cover, while a filter that covers only
through reasoning beyond single comparisons (a regular expression, say) is judged not to.

The module also reads the other settings that the logging rules need. It decides whether an alert
policy watches a log-based metric and whether a project's audit configuration records every kind of
access for every user. It also names the Cloud Storage bucket that a log sink exports to, normalises the
network URLs of DNS server policies and lists the notice categories that an organization's Essential
Contacts miss.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ridgeline.analysis.normal_form import form_covers

__all__ = [
    "EVENT_FAMILIES",
    "FilterError",
    "Literal",
    "alert_enabled",
    "audit_exemptions",
    "audit_log_types",
    "audit_logging_gaps",
    "condition_watches_metric",
    "essential_contact_gaps",
    "filter_covers",
    "metric_covers_family",
    "metric_type",
    "network_key",
    "normal_form",
    "sink_bucket",
]

# Upper bound on the AND terms of a normal form; filters that expand beyond it are rejected rather than
# evaluated slowly. The reference filters of the event families need at most 5.
MAX_TERMS = 1024

USER_METRIC_PREFIX = "logging.googleapis.com/user/"
"""Metric types of user-defined log-based metrics are this prefix followed by the metric name."""


class FilterError(ValueError):
    """A filter that this module cannot read as a Logging query language expression."""


# --- Parsing ----------------------------------------------------------------------------------------
# The Logging query language: comparisons `FIELD OP VALUE` (OP one of = != < <= > >= : =~ !~), global
# restrictions (a bare value, matched against every field), function calls such as LOG_ID("x"), and the
# boolean operators. Two details matter for the meaning of a filter:
# - OR binds tighter than AND, so `a AND b OR c` is `a AND (b OR c)`; juxtaposition is an implicit AND;
# - AND, OR and NOT are operators only in upper case; `and` is a search term. `-` before a term is NOT.


@dataclass(frozen=True, slots=True, order=True)
class Literal:
    """One comparison, global restriction or function call of a filter, possibly negated."""

    kind: str
    """"compare" (FIELD OP VALUE), "term" (a global restriction) or "call" (a function such as LOG_ID)."""

    field: str = ""
    """The log entry field of a comparison, or the function name of a call."""

    operator: str = ""
    """The comparison operator; empty for terms and calls."""

    value: str = ""
    """The compared value without quotes, the restriction text, or a call's argument text."""

    negated: bool = False

    def describe(self) -> str:
        """Return the literal in Logging query language syntax."""
        if self.kind == "compare":
            value = "*" if self.value == "*" else f'"{self.value}"'
            text = f"{self.field}{self.operator}{value}"
        elif self.kind == "call":
            text = f"{self.field}({self.value})"
        else:
            text = f'"{self.value}"'
        return f"NOT {text}" if self.negated else text


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node


@dataclass(frozen=True, slots=True)
class _And:
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Or:
    operands: tuple[_Node, ...]


_Node = Literal | _Not | _And | _Or

_OPERATORS = ("=~", "!~", "!=", "<=", ">=", "=", "<", ">", ":")
_WORD = re.compile(r'[^\s()"=<>!:~]+')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, problem: str) -> FilterError:
        return FilterError(f"{problem} at character {self.position + 1} of {self.text!r}")

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def at_end(self) -> bool:
        self.skip_space()
        return self.position >= len(self.text)

    def peek_keyword(self, keyword: str) -> bool:
        """Tell whether the next token is the upper-case operator `keyword` as a whole word."""
        self.skip_space()
        end = self.position + len(keyword)
        if not self.text.startswith(keyword, self.position):
            return False
        return end >= len(self.text) or self.text[end].isspace() or self.text[end] in "()\""

    def take_keyword(self, keyword: str) -> bool:
        if self.peek_keyword(keyword):
            self.position += len(keyword)
            return True
        return False

    def take(self, token: str) -> bool:
        self.skip_space()
        if self.text.startswith(token, self.position):
            self.position += len(token)
            return True
        return False

    def starts_term(self) -> bool:
        self.skip_space()
        if self.position >= len(self.text) or self.text[self.position] == ")":
            return False
        return not self.peek_keyword("OR") and not self.peek_keyword("AND")

    # Grammar, loosest first: conjunction (AND, or juxtaposition) > disjunction (OR) > NOT > primary.

    def conjunction(self, value_of: tuple[str, str] | None = None) -> _Node:
        operands = [self.disjunction(value_of)]
        while True:
            if self.take_keyword("AND"):
                operands.append(self.disjunction(value_of))
            elif self.starts_term():
                operands.append(self.disjunction(value_of))
            else:
                return operands[0] if len(operands) == 1 else _And(tuple(operands))

    def disjunction(self, value_of: tuple[str, str] | None) -> _Node:
        operands = [self.negation(value_of)]
        while self.take_keyword("OR"):
            operands.append(self.negation(value_of))
        return operands[0] if len(operands) == 1 else _Or(tuple(operands))

    def negation(self, value_of: tuple[str, str] | None) -> _Node:
        if self.take_keyword("NOT"):
            return _Not(self.negation(value_of))
        self.skip_space()
        following = self.text[self.position + 1:self.position + 2]
        if self.text.startswith("-", self.position) and following and not following.isspace():
            self.position += 1
            return _Not(self.negation(value_of))
        return self.primary(value_of)

    def primary(self, value_of: tuple[str, str] | None) -> _Node:
        if self.take("("):
            inner = self.conjunction(value_of)
            if not self.take(")"):
                raise self.fail("expected ')'")
            return inner

        # Inside `FIELD OP (a OR b)` every value is a comparison with that (field, operator) pair.
        if value_of is not None:
            field, operator = value_of
            return Literal("compare", field, operator, self.value())

        if self.peek_keyword("AND") or self.peek_keyword("OR"):
            raise self.fail("expected a comparison before the operator")
        if self.text.startswith('"', self.position):
            return Literal("term", value=self.value())
        word = self.word()
        if self.text.startswith("(", self.position):
            return Literal("call", word.upper(), value=self.call_arguments())
        self.skip_space()
        for operator in _OPERATORS:
            if self.text.startswith(operator, self.position):
                self.position += len(operator)
                return self.comparison(word, operator)
        return Literal("term", value=word)

    def comparison(self, field: str, operator: str) -> _Node:
        self.skip_space()
        if self.text.startswith("(", self.position):
            self.position += 1
            values = self.conjunction((field, operator))
            if not self.take(")"):
                raise self.fail("expected ')'")
            return values
        return Literal("compare", field, operator, self.value())

    def word(self) -> str:
        """Read a field path or bare value; quoted segments after a dot belong to it (labels."a.b")."""
        start = self.position
        while True:
            match = _WORD.match(self.text, self.position)
            if match is not None:
                self.position = match.end()
            if self.text.endswith(".", start, self.position) and self.text.startswith('"', self.position):
                quoted = _QUOTED.match(self.text, self.position)
                if quoted is None:
                    raise self.fail("unterminated quoted field name")
                self.position = quoted.end()
                continue
            break
        if self.position == start:
            raise self.fail("expected a field, a value or '('")
        return self.text[start:self.position]

    def value(self) -> str:
        self.skip_space()
        quoted = _QUOTED.match(self.text, self.position)
        if quoted is not None:
            self.position = quoted.end()
            return re.sub(r"\\(.)", r"\1", quoted.group(1))
        if self.text.startswith('"', self.position):
            raise self.fail("unterminated quoted value")
        return self.word()

    def call_arguments(self) -> str:
        """Read the parenthesised arguments of a function call as normalised text."""
        depth = 0
        start = self.position
        while self.position < len(self.text):
            character = self.text[self.position]
            if character == '"':
                quoted = _QUOTED.match(self.text, self.position)
                if quoted is None:
                    raise self.fail("unterminated quoted value")
                self.position = quoted.end()
                continue
            self.position += 1
            if character == "(":
                depth += 1
            elif character == ")":
                depth -= 1
                if depth == 0:
                    return " ".join(self.text[start + 1:self.position - 1].split())
        raise self.fail("expected ')' after the function arguments")


def _parse(text: str) -> _Node | None:
    """Parse a filter; None for an empty filter, which matches every log entry."""
    if not isinstance(text, str):
        raise FilterError(f"a filter must be a string, found {type(text).__name__}")
    parser = _Parser(text)
    if parser.at_end():
        return None
    node = parser.conjunction()
    if not parser.at_end():
        raise parser.fail("unexpected text")
    return node


# --- Normal forms -----------------------------------------------------------------------------------

Conjunction = frozenset[Literal]
NormalForm = frozenset[Conjunction]
"""A disjunction of conjunctions; the empty conjunction is true, so {frozenset()} matches every entry."""


def _either(forms: list[NormalForm]) -> NormalForm:
    return _absorb(frozenset().union(*forms))


def _both(forms: list[NormalForm]) -> NormalForm:
    result: NormalForm = frozenset({frozenset()})
    for form in forms:
        result = frozenset(left | right for left in result for right in form)
        if len(result) > MAX_TERMS:
            raise FilterError(f"the filter expands to more than {MAX_TERMS} alternatives")
    return _absorb(result)


def _absorb(form: NormalForm) -> NormalForm:
    """Drop conjunctions that contain another one: `a OR (a AND b)` is `a`."""
    return frozenset(c for c in form if not any(other < c for other in form))


def _normal_form(node: _Node, negate: bool) -> NormalForm:
    # NOT is pushed down to the literals with De Morgan's laws.
    if isinstance(node, Literal):
        literal = replace(node, negated=node.negated != negate)
        return frozenset({frozenset({literal})})
    if isinstance(node, _Not):
        return _normal_form(node.operand, not negate)
    forms = [_normal_form(operand, negate) for operand in node.operands]
    conjoin = isinstance(node, _And) != negate
    return _both(forms) if conjoin else _either(forms)


def normal_form(text: str) -> NormalForm:
    """Return the filter as an OR of ANDs of literals; raise FilterError when it cannot be read."""
    node = _parse(text)
    if node is None:
        return frozenset({frozenset()})
    return _normal_form(node, negate=False)


# --- Coverage ---------------------------------------------------------------------------------------


def _implies(known: Literal, required: Literal) -> bool:
    """Tell whether every log entry satisfying `known` also satisfies `required`."""
    if known == required:
        return True
    if known.negated or required.negated or known.kind != required.kind:
        return False
    if known.kind == "term":
        # Global restrictions compare without regard to case.
        return known.value.casefold() == required.value.casefold()
    if known.kind != "compare" or known.field != required.field or required.operator != ":":
        return False

    # `:` (has) matches a field containing the value, without regard to case; `FIELD:*` tests presence.
    # NOTE: `=` is compared case-sensitively here, which is the strict reading. If Cloud Logging compares
    # it without regard to case, a filter that differs from the reference only in case is wrongly judged
    # not to cover.
    if known.operator not in ("=", ":"):
        return False
    if required.value == "*":
        return True
    return known.value != "*" and required.value.casefold() in known.value.casefold()


def _form_covers(filter_form: NormalForm, event_form: NormalForm) -> bool:
    return form_covers(filter_form, event_form, _implies)


def filter_covers(filter_text: str, reference_text: str) -> bool:
    """Tell whether every log entry matched by `reference_text` is matched by `filter_text`.

    Raise FilterError when either filter cannot be read.
    """
    return _form_covers(normal_form(filter_text), normal_form(reference_text))


# --- Event families ---------------------------------------------------------------------------------
# The Logging query language filters that CIS Google Cloud Platform Foundation benchmarks 4.0 and 5.0
# publish for their log-metric alerts. They are read with the Logging precedence (OR before AND), so
# the project-ownership filter requires the Resource Manager service in every alternative.


@dataclass(frozen=True, slots=True)
class EventFamily:
    """A kind of change that a log-based metric should count, with the filter that selects it."""

    description: str
    reference_filter: str


EVENT_FAMILIES: dict[str, EventFamily] = {
    "project-ownership": EventFamily(
        "project ownership assignments and changes",
        '(protoPayload.serviceName="cloudresourcemanager.googleapis.com") AND (ProjectOwnership OR '
        'projectOwnerInvitee) OR (protoPayload.serviceData.policyDelta.bindingDeltas.action="REMOVE" AND '
        'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner") OR '
        '(protoPayload.serviceData.policyDelta.bindingDeltas.action="ADD" AND '
        'protoPayload.serviceData.policyDelta.bindingDeltas.role="roles/owner")'),
    "audit-configuration": EventFamily(
        "audit configuration changes",
        'protoPayload.methodName="SetIamPolicy" AND protoPayload.serviceData.policyDelta.auditConfigDeltas:*'),
    "custom-roles": EventFamily(
        "custom role changes",
        'resource.type="iam_role" AND (protoPayload.methodName="google.iam.admin.v1.CreateRole" OR '
        'protoPayload.methodName="google.iam.admin.v1.DeleteRole" OR '
        'protoPayload.methodName="google.iam.admin.v1.UpdateRole")'),
    "firewall-rules": EventFamily(
        "VPC firewall rule changes",
        'resource.type="gce_firewall_rule" AND (protoPayload.methodName:"compute.firewalls.patch" OR '
        'protoPayload.methodName:"compute.firewalls.insert" OR protoPayload.methodName:"compute.firewalls.delete")'),
    "routes": EventFamily(
        "VPC route changes",
        'resource.type="gce_route" AND (protoPayload.methodName:"compute.routes.delete" OR '
        'protoPayload.methodName:"compute.routes.insert")'),
    "networks": EventFamily(
        "VPC network changes",
        'resource.type="gce_network" AND (protoPayload.methodName:"compute.networks.insert" OR '
        'protoPayload.methodName:"compute.networks.patch" OR protoPayload.methodName:"compute.networks.delete" OR '
        'protoPayload.methodName:"compute.networks.removePeering" OR '
        'protoPayload.methodName:"compute.networks.addPeering")'),
    "bucket-iam": EventFamily(
        "Cloud Storage IAM permission changes",
        'resource.type="gcs_bucket" AND protoPayload.methodName="storage.setIamPermissions"'),
    "sql-instance-configuration": EventFamily(
        "Cloud SQL instance configuration changes",
        'protoPayload.methodName="cloudsql.instances.update"'),
}


def metric_covers_family(metric: Mapping[str, Any], family: str) -> tuple[bool, str]:
    """Decide whether a log-based metric (a LogMetric resource) counts every change of `family`.

    Return (covers, explanation). A disabled metric counts nothing. Raise FilterError when the metric's
    filter cannot be read and ValueError for an unknown family or a malformed metric.
    """
    if family not in EVENT_FAMILIES:
        raise ValueError(f"unknown event family {family!r}; expected one of: {', '.join(EVENT_FAMILIES)}")
    if not isinstance(metric, Mapping):
        raise ValueError(f"a log-based metric must be an object, found {type(metric).__name__}")
    reference = EVENT_FAMILIES[family]
    name = metric.get("name", "?")

    if metric.get("disabled") is True:
        return False, f"log-based metric {name} is disabled"
    metric_filter = metric.get("filter")
    if metric_filter is None:
        raise ValueError(f"log-based metric {name} has no filter")
    if filter_covers(metric_filter, reference.reference_filter):
        return True, f"log-based metric {name} counts {reference.description}"
    return False, f"the filter of log-based metric {name} does not match all {reference.description}"


def metric_type(metric: Mapping[str, Any]) -> str:
    """Return the Cloud Monitoring metric type of a log-based metric (logging.googleapis.com/user/NAME)."""
    descriptor = metric.get("metricDescriptor")
    if isinstance(descriptor, Mapping) and isinstance(descriptor.get("type"), str) and descriptor["type"]:
        return str(descriptor["type"])
    name = metric.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a log-based metric needs a name or metricDescriptor.type")
    return USER_METRIC_PREFIX + name.rsplit("/metrics/", 1)[-1]


# --- Alert policies ---------------------------------------------------------------------------------
# An alert policy condition watches a metric through a Monitoring filter (conditionThreshold and
# conditionAbsent: `metric.type="TYPE" AND ...`), an MQL query (`fetch ... | metric 'TYPE'` or
# `fetch RESOURCE::TYPE`) or a PromQL query, where the type becomes `logging_googleapis_com:user_NAME`.

_FILTER_METRIC_TYPE = re.compile(r"\bmetric\.type\b")
_EXACT_TYPE = re.compile(r'\s*=\s*"((?:[^"\\]|\\.)*)"')
_ONE_OF_TYPES = re.compile(r"\s*=\s*one_of\s*\(([^)]*)\)")
_QUOTED_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def condition_watches_metric(condition: Mapping[str, Any], watched_type: str) -> bool | None:
    """Tell whether an alert policy condition watches the metric of type `watched_type`.

    None means the condition selects metrics in a way this function does not read (a prefix or regular
    expression match on metric.type), so it may or may not watch the metric.
    """
    if not isinstance(condition, Mapping):
        raise ValueError(f"an alert policy condition must be an object, found {type(condition).__name__}")

    for kind in ("conditionThreshold", "conditionAbsent"):
        settings = condition.get(kind)
        if isinstance(settings, Mapping) and isinstance(settings.get("filter"), str):
            return _filter_watches(settings["filter"], watched_type)

    mql = condition.get("conditionMonitoringQueryLanguage")
    if isinstance(mql, Mapping) and isinstance(mql.get("query"), str):
        pattern = rf"""(['"]){re.escape(watched_type)}\1|::{re.escape(watched_type)}(?![\w/.-])"""
        return re.search(pattern, mql["query"]) is not None

    promql = condition.get("conditionPrometheusQueryLanguage")
    if isinstance(promql, Mapping) and isinstance(promql.get("query"), str):
        return re.search(rf"(?<![\w:]){re.escape(_promql_name(watched_type))}(?![\w:])", promql["query"]) is not None

    # Log-match, SQL and other conditions watch no metric.
    return False


def _filter_watches(monitoring_filter: str, watched_type: str) -> bool | None:
    """Read each `metric.type` restriction of a Monitoring filter: `= "TYPE"` or `= one_of("A", "B")`."""
    unread = False
    for mention in _FILTER_METRIC_TYPE.finditer(monitoring_filter):
        exact = _EXACT_TYPE.match(monitoring_filter, mention.end())
        if exact is not None:
            if exact.group(1) == watched_type:
                return True
            continue
        listed = _ONE_OF_TYPES.match(monitoring_filter, mention.end())
        if listed is not None:
            if watched_type in _QUOTED_VALUE.findall(listed.group(1)):
                return True
            continue
        unread = True
    return None if unread else False


def _promql_name(watched_type: str) -> str:
    # Cloud Monitoring names a metric in PromQL by replacing the first "/" with ":" and every other
    # character that PromQL does not allow in a name with "_".
    domain, _, rest = watched_type.partition("/")
    return re.sub(r"[^A-Za-z0-9_]", "_", domain) + ":" + re.sub(r"[^A-Za-z0-9_]", "_", rest)


def alert_enabled(enabled: Any) -> bool | None:
    """Return the `enabled` flag of an alert policy; None when it is absent or not a boolean.

    The Monitoring API reference states that clients must not assume a state when `enabled` is unset on read.
    """
    return enabled if isinstance(enabled, bool) else None


# --- Audit configuration ----------------------------------------------------------------------------
# A project's effective audit configuration is the union of its own IAM policy's audit configs and those
# of its folders and organization: Cloud Audit Logs document that a log type enabled on a parent cannot be
# turned off below it. The functions here read one policy. Rules combine the policies of the chain
# (see the gcp-logging-audit-logs-all-services rule), because each ancestor is a resource of its own.

REQUIRED_LOG_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")
"""Log types that CIS requires for allServices; Admin Activity logs are always written."""


def audit_log_types(iam_policy: Mapping[str, Any]) -> frozenset[str]:
    """Return the log types that the policy's `allServices` audit config enables.

    Raise ValueError when the policy does not have the getIamPolicy shape.
    """
    return _read_audit_configs(iam_policy)[0]


def audit_exemptions(iam_policy: Mapping[str, Any]) -> list[str]:
    """List the audit log configs of the policy that exempt members, as "SERVICE exempts MEMBERS from TYPE".

    Any service counts, not only allServices, because Cloud Audit Logs apply the union of the allServices
    config and a service's own config to that service. Raise ValueError when the policy is malformed.
    """
    return _read_audit_configs(iam_policy)[1]


def audit_logging_gaps(iam_policy: Mapping[str, Any]) -> list[str]:
    """List what keeps an IAM policy's audit configuration from recording every access by every user.

    The policy needs an `allServices` audit config with ADMIN_READ, DATA_READ and DATA_WRITE, and no audit
    log config may exempt members (see audit_exemptions). An empty list means no gap. The policy is judged
    on its own, without the configs it inherits. Raise ValueError when the policy does not have the
    getIamPolicy shape.
    """
    enabled, exemptions = _read_audit_configs(iam_policy)
    gaps = list(exemptions)
    missing = [log_type for log_type in REQUIRED_LOG_TYPES if log_type not in enabled]
    if missing:
        gaps.insert(0, f"allServices does not record {', '.join(missing)}")
    return gaps


def _read_audit_configs(iam_policy: Mapping[str, Any]) -> tuple[frozenset[str], list[str]]:
    """Return the log types enabled for allServices and the exemptions of a policy's audit configs."""
    if not isinstance(iam_policy, Mapping):
        raise ValueError(f"invalid IAM policy: expected an object, got {type(iam_policy).__name__}")
    configs = iam_policy.get("auditConfigs") or []
    if not isinstance(configs, list):
        raise ValueError(f"invalid IAM policy: auditConfigs is {configs!r}, expected a list")

    exemptions: list[str] = []
    all_services_types: set[str] = set()
    for index, config in enumerate(configs):
        if not isinstance(config, Mapping):
            raise ValueError(f"auditConfigs[{index}]: expected an object, got {type(config).__name__}")
        service = config.get("service")
        log_configs = config.get("auditLogConfigs") or []
        if not isinstance(log_configs, list):
            raise ValueError(f"auditConfigs[{index}].auditLogConfigs: expected a list, got {log_configs!r}")

        for position, log_config in enumerate(log_configs):
            if not isinstance(log_config, Mapping):
                raise ValueError(f"auditConfigs[{index}].auditLogConfigs[{position}]: expected an object")
            log_type = str(log_config.get("logType", ""))
            if service == "allServices":
                all_services_types.add(log_type)
            exempted = log_config.get("exemptedMembers") or []
            if exempted:
                members = ", ".join(str(member) for member in exempted)
                exemptions.append(f"{service} exempts {members} from {log_type or 'an unnamed log type'}")
    return frozenset(all_services_types), exemptions


# --- Log sinks ---------------------------------------------------------------------------------------
# A sink's destination names a service, then the resource: storage.googleapis.com/BUCKET (Cloud
# Storage), bigquery.googleapis.com/projects/P/datasets/D, pubsub.googleapis.com/projects/P/topics/T,
# logging.googleapis.com/projects/P/locations/L/buckets/B (a Cloud Logging bucket) or
# logging.googleapis.com/projects/P (another project's sinks).

STORAGE_DESTINATION_PREFIX = "storage.googleapis.com/"


def sink_bucket(destination: Any) -> str | None:
    """Return the name of the Cloud Storage bucket a sink exports to, or None for other destinations.

    Raise ValueError when `destination` is not a string, or names no single bucket after the prefix.
    """
    if not isinstance(destination, str):
        raise ValueError(f"a sink destination must be a string, found {type(destination).__name__}")
    if not destination.startswith(STORAGE_DESTINATION_PREFIX):
        return None
    bucket = destination.removeprefix(STORAGE_DESTINATION_PREFIX).rstrip("/")
    if not bucket or "/" in bucket:
        raise ValueError(f"invalid Cloud Storage sink destination {destination!r}: expected "
                         f"{STORAGE_DESTINATION_PREFIX}BUCKET")
    return bucket


# --- VPC networks and DNS policies ------------------------------------------------------------------

_NETWORK_PATH = re.compile(r"projects/([^/]+)/global/networks/([^/?#]+)")


def network_key(url: str) -> str:
    """Return "projects/P/global/networks/N" for a network URL in any API version, or partial form.

    Raise ValueError when `url` does not name a VPC network.
    """
    if not isinstance(url, str):
        raise ValueError(f"a network URL must be a string, found {type(url).__name__}")
    match = _NETWORK_PATH.search(url)
    if match is None:
        raise ValueError(f"not a VPC network URL: {url!r}")
    return f"projects/{match.group(1)}/global/networks/{match.group(2)}"


# --- Essential Contacts -----------------------------------------------------------------------------
# Google sends notices of each category (security incidents, suspensions, legal matters, technical
# changes...) to the Essential Contacts subscribed to it, and otherwise to holders of certain IAM roles.

ALL_CATEGORIES = "ALL"
"""A contact subscribed to ALL receives the notices of every category."""


def essential_contact_gaps(contacts: Any, categories: list[str]) -> list[str]:
    """Return the notification categories of `categories` that no valid contact is subscribed to.

    `contacts` is the contact list of contacts.list, or its response object with `contacts`. A contact
    whose validationState is INVALID does not count, because Google no longer sends it notices. Raise
    ValueError when `contacts` has neither shape.
    """
    if isinstance(contacts, Mapping):
        contacts = contacts.get("contacts") or []
    if not isinstance(contacts, list):
        raise ValueError(f"essential contacts must be a list of contacts, found {type(contacts).__name__}")

    subscribed: set[str] = set()
    for index, contact in enumerate(contacts):
        if not isinstance(contact, Mapping):
            raise ValueError(f"essential contact {index}: expected an object, found {type(contact).__name__}")
        if str(contact.get("validationState", "")).upper() == "INVALID":
            continue
        found = contact.get("notificationCategorySubscriptions") or []
        if not isinstance(found, list):
            raise ValueError(f"essential contact {index}: notificationCategorySubscriptions must be a list")
        subscribed.update(str(category).upper() for category in found)

    if ALL_CATEGORIES in subscribed:
        return []
    return [category for category in categories if category.upper() not in subscribed]
