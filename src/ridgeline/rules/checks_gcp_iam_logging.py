"""GCP functions that rule conditions can call for IAM, keys, logging and monitoring (`check: gcp.NAME`).

Each function adapts an analysis module to the rule language: it takes the values found at envelope
paths and literal arguments, and returns an Outcome. A value that was not collected (an IAM policy
missing from an export) or that cannot be parsed makes the outcome unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ridgeline.analysis import gcp_bindings, gcp_keys, gcp_logging
from ridgeline.analysis.gcp_iam import public_members
from ridgeline.model.resource import Resource
from ridgeline.rules.functions import Outcome, check_function

_NO_POLICY = "the IAM policy was not collected (export the IAM_POLICY content type too)"


def _gaps(find: Callable[..., list[str]], *arguments: Any) -> Outcome:
    """Return True with the gaps `find` lists, False when it lists none, or unknown when the input is invalid."""
    try:
        gaps = find(*arguments)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(gaps), "; ".join(gaps))


def _grant_list(found: list[gcp_bindings.Grant], heading: str) -> Outcome:
    if not found:
        return Outcome(False, "")
    listed = ", ".join(grant.describe() for grant in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return Outcome(True, f"{heading}: {listed}{more}")


# --- Generic values ---------------------------------------------------------------------------------


@check_function("gcp.timestamp_older_than_days", path_args=("time",), literal_args=("days",),
                required=("time", "days"))
def timestamp_older_than_days(time: Any, days: float) -> Outcome:
    """True when an RFC 3339 timestamp lies more than `days` days in the past; unknown when it is absent."""
    if time is None:
        return Outcome(None, "the timestamp is missing")
    try:
        age = gcp_keys.age_days(time)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(age > days, f"{time} is {age:.0f} days ago, more than {days:g}")


# --- IAM allow policies -----------------------------------------------------------------------------


@check_function("gcp.iam_service_account_admin_grants", path_args=("policy",))
def iam_service_account_admin_grants(policy: Any) -> Outcome:
    """True when the policy grants Owner, Editor or an admin role to a user-managed service account."""
    if policy is None:
        return Outcome(None, _NO_POLICY)
    try:
        found = gcp_bindings.service_account_admin_grants(policy)
    except ValueError as error:
        return Outcome(None, str(error))
    return _grant_list(found, "administrative roles granted to service accounts")


@check_function("gcp.iam_role_grants", path_args=("policy",), literal_args=("roles",), required=("policy", "roles"))
def iam_role_grants(policy: Any, roles: list[str]) -> Outcome:
    """True when the policy grants any of `roles` to anyone."""
    if policy is None:
        return Outcome(None, _NO_POLICY)
    try:
        found = gcp_bindings.role_grants(policy, roles)
    except ValueError as error:
        return Outcome(None, str(error))
    return _grant_list(found, "grants")


@check_function("gcp.iam_members_holding_both", path_args=("policy",),
                literal_args=("first_roles", "second_roles"), required=("policy", "first_roles", "second_roles"))
def iam_members_holding_both(policy: Any, first_roles: list[str], second_roles: list[str]) -> Outcome:
    """True when the policy grants one member a role of `first_roles` and a role of `second_roles`."""
    if policy is None:
        return Outcome(None, _NO_POLICY)
    try:
        found = gcp_bindings.members_holding_both(policy, first_roles, second_roles)
    except ValueError as error:
        return Outcome(None, str(error))
    details = [f"{member} holds {first} and {second}" for member, first, second in found[:5]]
    return Outcome(bool(found), "; ".join(details))


@check_function("gcp.iam_public_grants", path_args=("policy",))
def iam_public_grants(policy: Any) -> Outcome:
    """True when the policy grants a role to allUsers or allAuthenticatedUsers."""
    if policy is None:
        return Outcome(None, _NO_POLICY)
    try:
        found = public_members(policy)
    except ValueError as error:
        return Outcome(None, str(error))
    labels = [f"{grant.role}: {grant.member}" + (" (conditional)" if grant.conditional else "") for grant in found]
    return Outcome(bool(found), "public grants: " + ", ".join(labels) if labels else "")


# --- Keys -------------------------------------------------------------------------------------------


@check_function("gcp.kms_rotation_gaps", path_args=("key",), literal_args=("max_days",), required=("key", "max_days"))
def kms_rotation_gaps(key: Any, max_days: float) -> Outcome:
    """True when a Cloud KMS key does not rotate automatically at least every `max_days` days."""
    if key is None:
        return Outcome(None, "the CryptoKey was not collected")
    return _gaps(gcp_keys.rotation_gaps, key, max_days)


@check_function("gcp.apikeys_api_target_gaps", path_args=("restrictions",))
def apikeys_api_target_gaps(restrictions: Any = None) -> Outcome:
    """True when an API key is not restricted to named APIs (no apiTargets, or all Cloud APIs)."""
    return _gaps(gcp_keys.api_target_gaps, restrictions)


@check_function("gcp.apikeys_application_gaps", path_args=("restrictions",))
def apikeys_application_gaps(restrictions: Any = None) -> Outcome:
    """True when an API key accepts calls from any website, address or app."""
    return _gaps(gcp_keys.application_restriction_gaps, restrictions)


# --- Essential Contacts -----------------------------------------------------------------------------


@check_function("gcp.essential_contacts_missing", path_args=("contacts",), literal_args=("categories",),
                required=("contacts", "categories"))
def essential_contacts_missing(contacts: Any, categories: list[str]) -> Outcome:
    """True when no valid Essential Contact is subscribed to one of `categories` (or to ALL)."""
    if contacts is None:
        return Outcome(None, "the Essential Contacts were not collected (Cloud Asset Inventory exports lack them)")
    try:
        missing = gcp_logging.essential_contact_gaps(contacts, categories)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(missing), "no valid contact receives " + ", ".join(missing) if missing else "")


# --- Audit logs, log-based metrics and alert policies -----------------------------------------------


@check_function("gcp.logging_audit_config_gaps", path_args=("policy",))
def logging_audit_config_gaps(policy: Any) -> Outcome:
    """True when the audit configuration misses a log type for allServices or exempts a member."""
    if policy is None:
        return Outcome(None, _NO_POLICY)
    return _gaps(gcp_logging.audit_logging_gaps, policy)


@check_function("gcp.logging_audit_log_types_missing", path_args=("policy",), literal_args=("log_types",),
                required=("policy", "log_types"))
def logging_audit_log_types_missing(policy: Any, log_types: list[str]) -> Outcome:
    """True when the policy's allServices audit config does not enable every one of `log_types`."""
    known = ", ".join(gcp_logging.REQUIRED_LOG_TYPES)
    if not log_types:
        return Outcome(None, f"gcp.logging_audit_log_types_missing needs at least one log type of: {known}")
    invalid = [log_type for log_type in log_types if log_type not in gcp_logging.REQUIRED_LOG_TYPES]
    if invalid:
        return Outcome(None, f"invalid log types {invalid!r}; expected some of: {known}")
    if policy is None:
        return Outcome(None, _NO_POLICY)
    try:
        enabled = gcp_logging.audit_log_types(policy)
    except ValueError as error:
        return Outcome(None, str(error))
    missing = [log_type for log_type in log_types if log_type not in enabled]
    return Outcome(bool(missing), f"allServices does not record {', '.join(missing)}" if missing else "")


@check_function("gcp.logging_audit_log_type_missing", path_args=("policy",), literal_args=("log_type",),
                required=("policy", "log_type"))
def logging_audit_log_type_missing(policy: Any, log_type: str) -> Outcome:
    """True when the policy's allServices audit config does not enable `log_type` (such as DATA_READ).

    Rules call it on a project and on each of its folders and organization, because a log type enabled
    on any of them is recorded for the project. Its outcome carries no detail except the reason when it
    is unknown: evidence keeps the first detail of each function, which would name one policy's gap as
    if it were the verdict, so gcp.logging_audit_log_types_missing gives the project's gaps instead.
    """
    outcome = logging_audit_log_types_missing(policy, [log_type])
    return Outcome(outcome.matched, outcome.detail if outcome.matched is None else "")


@check_function("gcp.logging_audit_exemptions", path_args=("policy",))
def logging_audit_exemptions(policy: Any) -> Outcome:
    """True when an audit log config of the policy exempts members from logging, under any service."""
    if policy is None:
        return Outcome(None, _NO_POLICY)
    return _gaps(gcp_logging.audit_exemptions, policy)


@check_function("gcp.logging_metric_covers", path_args=("metric",), literal_args=("family",),
                required=("metric", "family"))
def logging_metric_covers(metric: Any, family: str) -> Outcome:
    """True when a log-based metric counts every change of the event `family` (see EVENT_FAMILIES)."""
    if family not in gcp_logging.EVENT_FAMILIES:
        known = ", ".join(gcp_logging.EVENT_FAMILIES)
        return Outcome(None, f"unknown event family {family!r}; expected one of: {known}")
    try:
        covers, detail = gcp_logging.metric_covers_family(metric or {}, family)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(covers, detail)


@check_function("gcp.monitoring_alert_enabled", path_args=("enabled",))
def monitoring_alert_enabled(enabled: Any = None) -> Outcome:
    """True when an alert policy is enabled; unknown when its `enabled` flag is absent."""
    state = gcp_logging.alert_enabled(enabled)
    if state is None:
        found = "missing" if enabled is None else f"{enabled!r}, not true or false"
        return Outcome(None, f"the alert policy's enabled flag is {found}")
    return Outcome(state, "the alert policy is enabled" if state else "the alert policy is disabled")


@check_function("gcp.monitoring_condition_watches_metric", path_args=("condition",), literal_args=("subject",),
                required=("condition",))
def monitoring_condition_watches_metric(condition: Any, subject: Resource) -> Outcome:
    """True when an alert policy condition watches the log-based metric being judged.

    Use it inside an item quantifier over a policy's `conditions`, so that the subject is the metric.
    """
    if subject is None or subject.type != "logging.googleapis.com/LogMetric":
        found = subject.type if subject is not None else "nothing"
        return Outcome(None, f"gcp.monitoring_condition_watches_metric judges a LogMetric, not {found}")
    try:
        watched_type = gcp_logging.metric_type({"name": subject.name, **subject.configuration})
        watches = gcp_logging.condition_watches_metric(condition, watched_type)
    except ValueError as error:
        return Outcome(None, str(error))

    label = condition.get("displayName") or condition.get("name") or "a condition"
    if watches is None:
        return Outcome(None, f"{label} selects metrics by a pattern that Ridgeline does not read")
    if watches:
        return Outcome(True, f"{label} watches {watched_type}")
    return Outcome(False, f"{label} does not watch {watched_type}")


# --- Log sinks --------------------------------------------------------------------------------------


@check_function("gcp.logging_sink_exports_to_bucket", path_args=("destination",))
def logging_sink_exports_to_bucket(destination: Any = None) -> Outcome:
    """True when a log sink exports to a Cloud Storage bucket; unknown when its destination is absent."""
    if destination is None:
        return Outcome(None, "the sink's destination is missing")
    try:
        bucket = gcp_logging.sink_bucket(destination)
    except ValueError as error:
        return Outcome(None, str(error))
    if bucket is None:
        return Outcome(False, f"the sink exports to {destination}, not to Cloud Storage")
    return Outcome(True, f"the sink exports to Cloud Storage bucket {bucket}")


@check_function("gcp.logging_sink_bucket_not_found", path_args=("destination",), literal_args=("subject",),
                required=("destination",))
def logging_sink_bucket_not_found(destination: Any, subject: Resource) -> Outcome:
    """Explain why the destination bucket of a log sink cannot be judged: unknown for a bucket, else false.

    Rules call it after a `related` lookup found no bucket for the destination in any project of the scan,
    so the reason asks to scan the bucket's project too.
    """
    try:
        bucket = gcp_logging.sink_bucket(destination)
    except ValueError as error:
        return Outcome(None, str(error))
    if bucket is None:
        return Outcome(False, f"the sink exports to {destination}, not to Cloud Storage")
    project = subject.account if subject is not None else "of the sink"
    return Outcome(None, f"the destination bucket {bucket} of this sink in project {project} is not among the "
                         "scanned buckets; scan or export the project that owns it to check its retention policy")


# --- DNS server policies ----------------------------------------------------------------------------


@check_function("gcp.dns_policy_lists_network", path_args=("network_url",), literal_args=("subject",),
                required=("network_url",))
def dns_policy_lists_network(network_url: Any, subject: Resource) -> Outcome:
    """True when a DNS policy's network entry names the VPC network being judged.

    Use it inside an item quantifier over a policy's `networks`, so that the subject is the network.
    """
    if subject is None or subject.type != "compute.googleapis.com/Network":
        found = subject.type if subject is not None else "nothing"
        return Outcome(None, f"gcp.dns_policy_lists_network judges a compute.googleapis.com/Network, not {found}")
    own_url = subject.configuration.get("selfLink") or subject.id
    try:
        listed = gcp_logging.network_key(network_url) == gcp_logging.network_key(own_url)
    except ValueError as error:
        return Outcome(None, str(error))
    if listed:
        return Outcome(True, f"the DNS policy applies to {network_url}")
    return Outcome(False, f"the DNS policy entry names another network, {network_url}")
