"""AWS analysis functions that rule conditions can call (`check: aws.NAME`).

Each function adapts an analysis module to the rule language: it takes values found at envelope paths
and literal arguments, and returns an Outcome. Unparseable input makes the outcome unknown (ERROR),
never a silent pass.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis import monitoring
from ridgeline.analysis.iam import policy as iam_policy
from ridgeline.analysis.iam import principals as iam_principals
from ridgeline.analysis.network import aws as network
from ridgeline.analysis.secrets import secret_like_names
from ridgeline.analysis.storage import AclParseError, denies_insecure_transport, public_acl_grants
from ridgeline.rules.functions import Outcome, check_function


def _parse(document: Any) -> iam_policy.PolicyDocument | None:
    return iam_policy.parse_policy(document)


def _verdict(verdict: iam_policy.Verdict) -> Outcome:
    return Outcome(verdict.matched, verdict.detail)


@check_function("aws.policy_public", path_args=("policy",), literal_args=("actions",))
def policy_public(policy: Any, actions: list[str] | None = None) -> Outcome:
    """True when a resource policy grants access to anyone, with no condition that pins it down."""
    try:
        return _verdict(iam_policy.public_access(_parse(policy), actions=actions))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_cross_account", path_args=("policy",), literal_args=("subject", "trusted_accounts"))
def policy_cross_account(policy: Any, subject: Any, trusted_accounts: list[str] | None = None) -> Outcome:
    """True when a resource or trust policy grants access to principals of another account."""
    try:
        return _verdict(iam_policy.cross_account_access(_parse(policy), owner_account=subject.account,
                                                         trusted_accounts=trusted_accounts or ()))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_admin", path_args=("policy",))
def policy_admin(policy: Any) -> Outcome:
    """True when a policy allows every action on every resource (also through NotAction)."""
    try:
        return _verdict(iam_policy.allows_admin(_parse(policy)))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_service_wildcard", path_args=("policy",), literal_args=("service",),
                required=("policy",))
def policy_service_wildcard(policy: Any, service: str | None = None) -> Outcome:
    """True when a policy allows a whole service ("s3:*") on every resource."""
    try:
        return _verdict(iam_policy.allows_service_wildcard(_parse(policy), service))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_allows_actions", path_args=("policy",), literal_args=("actions",),
                required=("policy", "actions"))
def policy_allows_actions(policy: Any, actions: list[str]) -> Outcome:
    """True when a policy allows any of the named actions on every resource."""
    try:
        return _verdict(iam_policy.allows_actions(_parse(policy), actions))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.s3_acl_public", path_args=("acl",), literal_args=("permissions",), required=("acl",))
def s3_acl_public(acl: Any, permissions: list[str] | None = None) -> Outcome:
    """True when an S3 ACL grants a permission to everyone or to any AWS account."""
    try:
        grants = public_acl_grants(acl, permissions)
    except AclParseError as error:
        return Outcome(None, str(error))
    return Outcome(bool(grants), "ACL grants " + ", ".join(grants) if grants else "")


@check_function("aws.s3_policy_denies_insecure_transport", path_args=("policy",))
def s3_policy_denies_insecure_transport(policy: Any) -> Outcome:
    """True when a bucket policy denies requests made without TLS."""
    try:
        denied, detail = denies_insecure_transport(_parse(policy))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")
    return Outcome(denied, detail)


@check_function("aws.sg_world_exposure", path_args=("configuration",), literal_args=("ports", "protocol"),
                required=("configuration",))
def sg_world_exposure(configuration: Any, ports: list[int] | None = None, protocol: str = "tcp") -> Outcome:
    """True when a security group admits 0.0.0.0/0 or ::/0 to any of `ports` (any port when omitted)."""
    try:
        exposures = network.sg_world_exposures(configuration or {}, ports=ports, protocol=protocol)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


@check_function("aws.sg_allows_all_traffic", path_args=("configuration",), literal_args=("direction",),
                required=("configuration",))
def sg_allows_all_traffic(configuration: Any, direction: str = "ingress") -> Outcome:
    """True when a security group has a rule for every protocol from or to anywhere."""
    try:
        exposures = network.sg_allows_all_traffic(configuration or {}, direction=direction)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


@check_function("aws.nacl_world_allows", path_args=("configuration",), literal_args=("ports", "protocol"),
                required=("configuration", "ports"))
def nacl_world_allows(configuration: Any, ports: list[int], protocol: str = "tcp") -> Outcome:
    """True when a network ACL lets 0.0.0.0/0 or ::/0 in on any of `ports`, after rule ordering."""
    try:
        exposures = network.nacl_world_allows(configuration or {}, ports=ports, protocol=protocol)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


# --- EC2 and VPC: internet exposure of security groups and network ACLs ------------------------------
# Malformed security groups and network ACLs make the outcome unknown, never a pass.


@check_function("aws.sg_world_ports", path_args=("configuration",),
                literal_args=("ports", "databases", "protocols"), required=("configuration",))
def sg_world_ports(configuration: Any, ports: list[int] | None = None, databases: list[str] | str | None = None,
                   protocols: list[str] | None = None) -> Outcome:
    """True when a security group admits 0.0.0.0/0 or ::/0 to any of the ports, naming each port reached.

    `databases` adds the default ports of the named services of DATABASE_PORTS ("all" for every one).
    `protocols` defaults to ["tcp"], and rules on all protocols match every protocol.
    """
    try:
        labels = _port_labels(ports, databases)
        reached: dict[tuple[int, str], list[str]] = {}
        for protocol in protocols or ["tcp"]:
            for port, label in labels.items():
                for exposure in network.sg_world_exposures(configuration or {}, ports=[port], protocol=protocol):
                    key = (exposure.rule_index, exposure.describe())
                    reached.setdefault(key, []).append(f"{network.normalise_protocol(protocol)} {port}{label}")
    except ValueError as error:
        return Outcome(None, str(error))

    details = [f"ipPermissions[{index}] {rule} reaches {', '.join(targets)}"
               for (index, rule), targets in sorted(reached.items())]
    return Outcome(bool(details), "; ".join(details))


def _port_labels(ports: list[int] | None, databases: list[str] | str | None) -> dict[int, str]:
    """Map each requested port to a label naming its database (" (mysql)"), or "" for plain ports."""
    labels = {port: "" for port in ports or []}

    names = list(network.DATABASE_PORTS) if databases == "all" else list(databases or [])
    for name in names:
        if name not in network.DATABASE_PORTS:
            known = ", ".join(network.DATABASE_PORTS)
            raise ValueError(f"unknown database {name!r}; expected 'all' or some of: {known}")
        for port in network.DATABASE_PORTS[name]:
            labels.setdefault(port, f" ({name})")

    if not labels:
        raise ValueError("aws.sg_world_ports needs 'ports' or 'databases'")
    return labels


@check_function("aws.nacl_world_ports", path_args=("configuration",), literal_args=("ports", "protocols"),
                required=("configuration", "ports"))
def nacl_world_ports(configuration: Any, ports: list[int], protocols: list[str] | None = None) -> Outcome:
    """True when a network ACL lets 0.0.0.0/0 or ::/0 in on any of the ports, after rule ordering.

    `protocols` defaults to ["tcp"]. The detail names the allowing rule number for each port.
    """
    details = []
    try:
        for protocol in protocols or ["tcp"]:
            for exposure in network.nacl_world_allows(configuration or {}, ports=ports, protocol=protocol):
                details.append(f"rule {exposure.rule_index} allows {exposure.describe()}")
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(details), "; ".join(details))


# --- CloudTrail: event selectors -------------------------------------------------------------------
# A trail has classic event selectors (readWriteType, includeManagementEvents, dataResources) or
# advanced event selectors (field selectors on event record fields), as GetEventSelectors returns them
# in camelCase. Several selectors add up: a ReadOnly and a WriteOnly selector together record both.
# A selector that narrows what it records (excluded event sources, eventName or resources.ARN filters)
# does not count, because it leaves some events of the kind unrecorded.

_BOTH = frozenset({"read", "write"})
_READ_WRITE_TYPES = {"All": _BOTH, "ReadOnly": frozenset({"read"}), "WriteOnly": frozenset({"write"})}


class _SelectorError(ValueError):
    """Event selectors that do not have the GetEventSelectors shape."""


def _selector_list(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _SelectorError(f"{name} must be a list of selectors, found {type(value).__name__}")
    return value


def _classic_access(selector: dict[str, Any]) -> frozenset[str]:
    # AWS documents All as the default readWriteType.
    value = selector.get("readWriteType") or "All"
    if value not in _READ_WRITE_TYPES:
        raise _SelectorError(f"unknown readWriteType {value!r}")
    return _READ_WRITE_TYPES[value]


def _field_selectors(selector: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """Map each field name to its field selector, or return None when a field appears twice, which narrows."""
    fields: dict[str, dict[str, Any]] = {}
    for field in selector.get("fieldSelectors") or []:
        if not isinstance(field, dict) or not isinstance(field.get("field"), str):
            raise _SelectorError(f"invalid field selector {field!r}")
        if field["field"] in fields:
            return None
        fields[field["field"]] = field
    return fields


def _operators(field: dict[str, Any]) -> dict[str, list[str]]:
    return {key: value for key, value in field.items() if key != "field" and value}


def _equals_only(field: dict[str, Any] | None, values: set[str]) -> bool:
    """Tell whether a field selector is exactly `Equals` on `values`."""
    if field is None:
        return False
    operators = _operators(field)
    return set(operators) == {"equals"} and set(operators["equals"]) == values


def _advanced_access(fields: dict[str, dict[str, Any]]) -> frozenset[str]:
    """Return what the readOnly field selects: both without it, read for "true", write for "false"."""
    read_only = fields.get("readOnly")
    if read_only is None:
        return _BOTH
    if _equals_only(read_only, {"true"}):
        return frozenset({"read"})
    if _equals_only(read_only, {"false"}):
        return frozenset({"write"})
    # CloudTrail documents only Equals true or false for readOnly, so any other filter is not counted.
    return frozenset()


def _selector_name(selector: dict[str, Any], position: int) -> str:
    return str(selector.get("name") or f"selector {position + 1}")


def management_event_coverage(selectors: Any, advanced_selectors: Any) -> tuple[frozenset[str], list[str]]:
    """Return which management events ("read", "write") the selectors record from every event source,
    and why selectors were not counted."""
    covered: set[str] = set()
    skipped: list[str] = []
    for position, selector in enumerate(_selector_list(selectors, "EventSelectors")):
        if selector.get("includeManagementEvents") is False:
            continue
        if selector.get("excludeManagementEventSources"):
            skipped.append(f"{_selector_name(selector, position)} excludes management events from "
                           f"{', '.join(map(str, selector['excludeManagementEventSources']))}")
            continue
        covered |= _classic_access(selector)

    for position, selector in enumerate(_selector_list(advanced_selectors, "AdvancedEventSelectors")):
        fields = _field_selectors(selector)
        if fields is None or not _equals_only(fields.get("eventCategory"), {"Management"}):
            continue
        narrowing = sorted(set(fields) - {"eventCategory", "readOnly"})
        if narrowing:
            skipped.append(f"{_selector_name(selector, position)} filters management events on {', '.join(narrowing)}")
            continue
        covered |= _advanced_access(fields)
    return frozenset(covered), skipped


def _all_s3_objects(value: Any) -> bool:
    """Tell whether a data resource value or ARN prefix means every object in every bucket.

    AWS documents "arn:aws:s3" (classic selectors) and the prefix "arn:aws:s3:::" for all buckets; other
    partitions ("arn:aws-us-gov:s3") work the same way.
    """
    if not isinstance(value, str):
        return False
    parts = value.split(":")
    return (len(parts) in (3, 6) and parts[0] == "arn" and parts[1].startswith("aws") and parts[2] == "s3"
            and all(part == "" for part in parts[3:]))


def s3_data_event_coverage(selectors: Any, advanced_selectors: Any) -> tuple[frozenset[str], list[str]]:
    """Return which S3 object-level data events ("read", "write") the selectors record in every bucket,
    and why selectors were not counted."""
    covered: set[str] = set()
    skipped: list[str] = []
    for position, selector in enumerate(_selector_list(selectors, "EventSelectors")):
        for resource in selector.get("dataResources") or []:
            if not isinstance(resource, dict) or resource.get("type") != "AWS::S3::Object":
                continue
            values = resource.get("values") or []
            if any(_all_s3_objects(value) for value in values):
                covered |= _classic_access(selector)
            else:
                skipped.append(f"{_selector_name(selector, position)} records S3 objects of "
                               f"{len(values)} bucket(s) or prefix(es) only")

    for position, selector in enumerate(_selector_list(advanced_selectors, "AdvancedEventSelectors")):
        fields = _field_selectors(selector)
        if (fields is None or not _equals_only(fields.get("eventCategory"), {"Data"})
                or not _equals_only(fields.get("resources.type"), {"AWS::S3::Object"})):
            continue
        narrowing = sorted(set(fields) - {"eventCategory", "resources.type", "readOnly", "resources.ARN"})
        arn_field = fields.get("resources.ARN")
        if arn_field is not None:
            operators = _operators(arn_field)
            if set(operators) != {"startsWith"} or not all(_all_s3_objects(v) for v in operators["startsWith"]):
                narrowing.append("resources.ARN")
        if narrowing:
            skipped.append(f"{_selector_name(selector, position)} filters S3 data events on {', '.join(narrowing)}")
            continue
        covered |= _advanced_access(fields)
    return frozenset(covered), skipped


def _without_selectors(custom_selectors: Any, default_records: bool, what: str) -> Outcome:
    # An AWS Config snapshot has no selectors, but hasCustomEventSelectors false means the default
    # selector: all read and write management events and no data events.
    if custom_selectors is False:
        return Outcome(default_records, f"the trail uses the default event selector, which {what}")
    return Outcome(None, "the trail's event selectors were not collected")


def _coverage_detail(kind: str, covered: frozenset[str], skipped: list[str]) -> str:
    recorded = " and ".join(sorted(covered)) if covered else "no"
    detail = f"records {recorded} {kind}"
    return detail + (" (not counted: " + "; ".join(skipped) + ")" if skipped else "")


@check_function("aws.cloudtrail_management_events",
                path_args=("selectors", "advanced_selectors", "custom_selectors"),
                required=("selectors", "advanced_selectors"))
def cloudtrail_management_events(selectors: Any, advanced_selectors: Any, custom_selectors: Any = None) -> Outcome:
    """True when a trail's event selectors record read and write management events of every event source."""
    if selectors is None and advanced_selectors is None:
        return _without_selectors(custom_selectors, True, "records all read and write management events")
    try:
        covered, skipped = management_event_coverage(selectors, advanced_selectors)
    except _SelectorError as error:
        return Outcome(None, f"invalid event selectors: {error}")
    return Outcome(covered == _BOTH, _coverage_detail("management events", covered, skipped))


@check_function("aws.cloudtrail_s3_data_events",
                path_args=("selectors", "advanced_selectors", "custom_selectors"), literal_args=("access",),
                required=("selectors", "advanced_selectors", "access"))
def cloudtrail_s3_data_events(selectors: Any, advanced_selectors: Any, access: str,
                              custom_selectors: Any = None) -> Outcome:
    """True when a trail's event selectors record S3 object-level `access` ("read" or "write") events in
    every bucket."""
    if access not in _BOTH:
        return Outcome(None, f"access must be 'read' or 'write', found {access!r}")
    if selectors is None and advanced_selectors is None:
        return _without_selectors(custom_selectors, False, "records no data events")
    try:
        covered, skipped = s3_data_event_coverage(selectors, advanced_selectors)
    except _SelectorError as error:
        return Outcome(None, f"invalid event selectors: {error}")
    return Outcome(access in covered, _coverage_detail("S3 object-level events in all buckets", covered, skipped))


# --- IAM: credential report and privilege escalation ------------------------------------------------
# Credential report rows are the CSV rows of the IAM credential report, keyed by column name, as the
# IAM collector stores them in supplementaryConfiguration.CredentialReport. A user without a row (an AWS
# Config snapshot has none) is unknown, never compliant.


def _credential_report_row(report: Any) -> dict[str, Any] | None:
    return report if isinstance(report, dict) else None


def _no_report_row(report: Any) -> Outcome:
    found = "nothing" if report is None else f"a {type(report).__name__}"
    return Outcome(None, f"expected the user's credential report row, found {found}")


def _valid_days(days: Any) -> bool:
    return isinstance(days, int | float) and not isinstance(days, bool) and days >= 0


@check_function("aws.iam_console_without_mfa", path_args=("report",))
def iam_console_without_mfa(report: Any) -> Outcome:
    """True when a credential report row shows a console password and no active MFA device."""
    row = _credential_report_row(report)
    if row is None:
        return _no_report_row(report)
    try:
        matched = iam_principals.console_without_mfa(row)
    except iam_principals.CredentialReportError as error:
        return Outcome(None, str(error))
    return Outcome(matched, "the user has a console password and no active MFA device" if matched else "")


@check_function("aws.iam_unused_credentials", path_args=("report",), literal_args=("days",),
                required=("report", "days"))
def iam_unused_credentials(report: Any, days: Any) -> Outcome:
    """True when a user's enabled password or active access key has been idle for more than `days` days."""
    row = _credential_report_row(report)
    if row is None:
        return _no_report_row(report)
    if not _valid_days(days):
        return Outcome(None, f"days must be a number of days, found {days!r}")
    try:
        idle = iam_principals.unused_credentials(row, float(days))
    except iam_principals.CredentialReportError as error:
        return Outcome(None, str(error))
    return Outcome(bool(idle), "; ".join(idle))


@check_function("aws.iam_unrotated_access_keys", path_args=("report",), literal_args=("days",),
                required=("report", "days"))
def iam_unrotated_access_keys(report: Any, days: Any) -> Outcome:
    """True when a user has an active access key created more than `days` days ago."""
    row = _credential_report_row(report)
    if row is None:
        return _no_report_row(report)
    if not _valid_days(days):
        return Outcome(None, f"days must be a number of days, found {days!r}")
    try:
        stale = iam_principals.unrotated_access_keys(row, float(days))
    except iam_principals.CredentialReportError as error:
        return Outcome(None, str(error))
    return Outcome(bool(stale), "; ".join(stale))


@check_function("aws.iam_too_many_access_keys", path_args=("report",), literal_args=("limit",),
                required=("report", "limit"))
def iam_too_many_access_keys(report: Any, limit: Any) -> Outcome:
    """True when a user has more than `limit` active access keys."""
    row = _credential_report_row(report)
    if row is None:
        return _no_report_row(report)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return Outcome(None, f"limit must be a whole number of keys, found {limit!r}")
    try:
        slots = iam_principals.active_access_keys(row)
    except iam_principals.CredentialReportError as error:
        return Outcome(None, str(error))
    detail = f"active access keys: {', '.join(f'key {slot}' for slot in slots)}" if slots else ""
    return Outcome(len(slots) > limit, detail)


@check_function("aws.iam_privilege_escalation", path_args=("policy",))
def iam_privilege_escalation(policy: Any) -> Outcome:
    """True when a policy allows iam:PassRole or another privilege-escalation action on every resource."""
    try:
        return _verdict(iam_principals.privilege_escalation(_parse(policy)))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


# --- Monitoring: CloudWatch Logs metric filters, alarms and SNS topics ------------------------------
# The values are those the monitoring collector records on an AWS::Logs::LogGroup. Filter patterns are
# compared by ridgeline.analysis.monitoring as formulas, not as text.


@check_function("aws.log_group_alerts_on_events", path_args=("filters", "alarms", "subscriptions"),
                literal_args=("patterns",), required=("filters", "alarms", "subscriptions", "patterns"))
def log_group_alerts_on_events(filters: Any, alarms: Any, subscriptions: Any, patterns: Any) -> Outcome:
    """True when a log group has a metric filter covering one of `patterns` whose alarm notifies an SNS
    topic with a confirmed subscription."""
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) for p in patterns):
        return Outcome(None, f"patterns must be a non-empty list of filter patterns, found {patterns!r}")
    try:
        verdict = monitoring.alerting_for_patterns(filters, alarms, subscriptions, patterns)
    except (monitoring.PatternError, monitoring.MonitoringDataError) as error:
        return Outcome(None, str(error))
    return Outcome(verdict.matched, verdict.detail)


# Secrets in configuration ------------------------------------------------------------------------------


@check_function("aws.secret_like_variables", path_args=("variables",), required=("variables",))
def secret_like_variables(variables: Any) -> Outcome:
    """True when a mapping of variables (Lambda environment) has names that suggest a plaintext secret."""
    if variables is None:
        return Outcome(False, "")
    if not isinstance(variables, dict):
        return Outcome(None, f"expected a mapping of variables, found {type(variables).__name__}")
    names = secret_like_names(str(name) for name in variables)
    return Outcome(bool(names), "Variables named like secrets: " + ", ".join(names) if names else "")
