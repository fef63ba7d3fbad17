"""IAM: users, groups, roles and customer-managed policies, the credential report, the account password
policy, the root user's credential facts and server certificates.

One paginated GetAccountAuthorizationDetails call reads every user, group, role and customer-managed
policy with its inline policies and attachments. They become AWS Config configuration items whose policy
documents stay URL-encoded JSON strings, as Config records them. Facts without a Config type become
`AWS::IAM::AccountPasswordPolicy` and `AWS::IAM::RootUser`.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from ridgeline.analysis.iam.principals import ROOT_ACCOUNT_USER, CredentialReportError, parse_credential_report
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape, iso_time, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

USER = "AWS::IAM::User"
GROUP = "AWS::IAM::Group"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"
PASSWORD_POLICY = "AWS::IAM::AccountPasswordPolicy"
ROOT_USER = "AWS::IAM::RootUser"
SERVER_CERTIFICATE = "AWS::IAM::ServerCertificate"

CALLS = api_calls(
    "iam",
    "GetAccountAuthorizationDetails",
    "GenerateCredentialReport",
    "GetCredentialReport",
    "GetAccountPasswordPolicy",
    "GetAccountSummary",
    "ListVirtualMFADevices",
    "ListServerCertificates",
)

CREDENTIAL_REPORT_PATH: Final = "supplementaryConfiguration.CredentialReport"
ACCOUNT_SUMMARY_PATH: Final = "configuration.accountSummary"
VIRTUAL_MFA_PATH: Final = "configuration.virtualMfaDevice"

_DETAIL_FILTER: Final = ("User", "Role", "Group", "LocalManagedPolicy")
_DETAIL_LISTS: Final = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")

# Fields that boto3 returns as decoded policy documents; AWS Config keeps them URL-encoded.
_POLICY_DOCUMENT_KEYS: Final = frozenset({"PolicyDocument", "AssumeRolePolicyDocument", "Document"})

# Waits between attempts to read a credential report that IAM is still generating, about 37 s in all.
_REPORT_POLL_DELAYS_S: Final = (0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0)
# GetCredentialReport's codes for a report that is still being generated, or not yet visible right
# after GenerateCredentialReport started it.
_REPORT_NOT_READY: Final = ("ReportInProgress", "ReportNotPresent")

# Account summary flags about the root user, as GetAccountSummary names them.
_ROOT_SUMMARY_KEYS: Final = ("AccountMFAEnabled", "AccountAccessKeysPresent", "AccountSigningCertificatesPresent")


def collect(unit: UnitContext) -> None:
    """Collect IAM principals and policies, the credential report, the password policy and server certificates."""
    iam = unit.client("iam")

    # IAM builds the credential report in the background, so it is requested before the other reads.
    report_started: str | CallFailed
    try:
        report_started = _generate_credential_report(unit, iam)
    except CallFailed as failure:
        report_started = failure

    principals = _collect_principals(unit, iam)
    root = _root_user(unit, iam)
    users = [resource for resource in principals if resource.type == USER]
    _add_credential_report(unit, iam, report_started, root, users)

    for resource in (*principals, root):
        unit.add(resource)

    _collect_password_policy(unit, iam)
    _collect_server_certificates(unit, iam)


# Users, groups, roles and customer-managed policies


def _collect_principals(unit: UnitContext, iam: Any) -> list[Resource]:
    try:
        details = _read_authorization_details(unit, iam)
    except CallFailed as failure:
        for type_name in (USER, GROUP, ROLE, POLICY):
            unit.fail_type(type_name, failure)
        return []
    return principal_resources(unit, details)


def _read_authorization_details(unit: UnitContext, iam: Any) -> dict[str, list[dict[str, Any]]]:
    # `unit.paginate` collects one result key, but each page of this call carries four lists.
    details: dict[str, list[dict[str, Any]]] = {key: [] for key in _DETAIL_LISTS}
    parameters: dict[str, Any] = {"Filter": list(_DETAIL_FILTER)}
    while True:
        page = unit.call(iam, "GetAccountAuthorizationDetails", **parameters) or {}
        for key in _DETAIL_LISTS:
            details[key].extend(page.get(key, []))
        marker = page.get("Marker")
        if not page.get("IsTruncated") or not marker:
            return details
        parameters["Marker"] = marker


def principal_resources(unit: UnitContext, details: dict[str, list[dict[str, Any]]]) -> list[Resource]:
    """Turn GetAccountAuthorizationDetails lists into configuration items, with their relationships."""
    resources: list[Resource] = []
    for type_name, key, name_key in ((USER, "UserDetailList", "UserName"), (GROUP, "GroupDetailList", "GroupName"),
                                     (ROLE, "RoleDetailList", "RoleName")):
        for detail in details.get(key, []):
            tags = tag_dict(detail.get("Tags"))
            configuration = config_shape(encode_policy_documents({k: v for k, v in detail.items() if k != "Tags"}))
            resources.append(unit.new_resource(type_name, detail["Arn"], detail[name_key],
                                               configuration=configuration, tags=tags))

    for detail in details.get("Policies", []):
        configuration = config_shape(encode_policy_documents(detail))
        # NOTE: moto 5.2 leaves PolicyName out of this call's policy details, so the name is taken from the ARN.
        configuration.setdefault("policyName", detail["Arn"].rsplit("/", 1)[-1])
        resources.append(unit.new_resource(POLICY, detail["Arn"], configuration["policyName"],
                                           configuration=configuration))

    add_relationships(resources)
    return resources


def encode_policy_documents(value: Any) -> Any:
    """Return `value` with every policy document URL-encoded again, as IAM sends it and AWS Config stores it."""
    if isinstance(value, dict):
        return {key: _encode_document(item) if key in _POLICY_DOCUMENT_KEYS else encode_policy_documents(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [encode_policy_documents(item) for item in value]
    return value


def _encode_document(document: Any) -> Any:
    # boto3 decodes documents into mappings. A string is one that boto3 left alone, and it is kept as it came.
    if isinstance(document, dict | list):
        return urllib.parse.quote(json.dumps(document, separators=(",", ":")), safe="")
    return document


def _attachment(type_name: str, arn: str, name: str, relationship: str) -> dict[str, Any]:
    return {"resourceType": type_name, "resourceId": arn, "resourceName": name, "relationshipName": relationship}


def add_relationships(resources: Iterable[Resource]) -> None:
    """Add AWS Config's relationships: group membership and customer-managed policy attachments, both ways."""
    by_type: dict[str, dict[str, Resource]] = defaultdict(dict)
    for resource in resources:
        by_type[resource.type][resource.name if resource.type == GROUP else resource.id] = resource
    label = {USER: "User", GROUP: "Group", ROLE: "Role"}

    for user in by_type[USER].values():
        for group_name in user.configuration.get("groupList") or []:
            group = by_type[GROUP].get(group_name)
            group_arn = group.id if group is not None else ""
            user.relationships.append(_attachment(GROUP, group_arn, group_name, "Is attached to Group"))
            if group is not None:
                group.relationships.append(_attachment(USER, user.id, user.name, "Contains User"))

    for type_name in (USER, GROUP, ROLE):
        for principal in by_type[type_name].values():
            for attached in principal.configuration.get("attachedManagedPolicies") or []:
                policy = by_type[POLICY].get(attached.get("policyArn", ""))
                if policy is None:
                    continue
                principal.relationships.append(
                    _attachment(POLICY, policy.id, policy.name, "Is attached to CustomerManagedPolicy"))
                policy.relationships.append(
                    _attachment(type_name, principal.id, principal.name, f"Is attached to {label[type_name]}"))


# Credential report


def _generate_credential_report(unit: UnitContext, iam: Any) -> str:
    response = unit.call(iam, "GenerateCredentialReport") or {}
    return str(response.get("State", ""))


def _add_credential_report(unit: UnitContext, iam: Any, started: str | CallFailed, root: Resource,
                           users: list[Resource]) -> None:
    if isinstance(started, CallFailed):
        mark_report_unknown(unit, [root, *users], started)
        return
    try:
        rows, generated = _read_credential_report(unit, iam, started)
    except CallFailed as failure:
        mark_report_unknown(unit, [root, *users], failure)
        return
    attach_credential_report(rows, generated, root, users)


def _read_credential_report(unit: UnitContext, iam: Any, state: str) -> tuple[list[dict[str, str]], str]:
    """Read the credential report, waiting a bounded time while IAM generates it, and return its rows and date."""
    get_call = unit.declared[("iam", "GetCredentialReport")]
    waited = 0.0
    delays = iter(_REPORT_POLL_DELAYS_S)
    # NOTE: moto has the report ready at once, so the tests never run this wait.
    while True:
        response = unit.call(iam, "GetCredentialReport", missing=_REPORT_NOT_READY)
        if response is not None:
            break
        delay = next(delays, None)
        if delay is None:
            raise CallFailed(get_call, "ReportInProgress",
                             f"timed out: the credential report was not ready {waited:.0f} s after "
                             f"GenerateCredentialReport returned {state or 'no state'}. Scan again in a minute.")
        logger.debug("account %s: credential report not ready, retrying in %.1f s", unit.account, delay)
        time.sleep(delay)
        waited += delay

    generated = response.get("GeneratedTime")
    try:
        rows = parse_credential_report(response.get("Content", b""))
    except CredentialReportError as error:
        raise CallFailed(get_call, "InvalidCredentialReport", str(error)) from error
    return rows, iso_time(generated) if isinstance(generated, datetime) else str(generated or "an unknown time")


def attach_credential_report(rows: list[dict[str, str]], generated: str, root: Resource,
                             users: Iterable[Resource]) -> None:
    """Put each user's credential report row in its supplementaryConfiguration, and mark users without one unknown."""
    by_arn = {row["arn"]: row for row in rows}
    root_row = next((row for row in rows if row["user"] == ROOT_ACCOUNT_USER), None)
    if root_row is not None:
        root.supplementary["CredentialReport"] = root_row
    else:
        root.errors[CREDENTIAL_REPORT_PATH] = f"the credential report generated at {generated} has no root user row"

    for user in users:
        row = by_arn.get(user.id)
        if row is not None:
            user.supplementary["CredentialReport"] = row
        else:
            # IAM serves a report up to 4 hours old instead of generating a new one, so users created
            # since are not in it yet.
            user.errors[CREDENTIAL_REPORT_PATH] = (
                f"user {user.name} is not in the credential report generated at {generated}; IAM regenerates "
                "the report at most every 4 hours"
            )


def mark_report_unknown(unit: UnitContext, resources: list[Resource], failure: CallFailed) -> None:
    """Mark the credential report unknown on every resource because reading it failed."""
    if not resources:
        return
    # The reason is the same for every user, so the account gets one coverage error and one warning.
    first, *others = resources
    unit.detail_failed(first, CREDENTIAL_REPORT_PATH, failure)
    for resource in others:
        resource.errors[CREDENTIAL_REPORT_PATH] = first.errors[CREDENTIAL_REPORT_PATH]


# Root user, password policy and server certificates


def _root_user(unit: UnitContext, iam: Any) -> Resource:
    root_arn = f"arn:{unit.partition}:iam::{unit.account}:root"
    root = unit.new_resource(ROOT_USER, root_arn, "root", configuration={"arn": root_arn})

    try:
        summary = (unit.call(iam, "GetAccountSummary") or {}).get("SummaryMap", {})
    except CallFailed as failure:
        unit.detail_failed(root, ACCOUNT_SUMMARY_PATH, failure)
    else:
        root.configuration["accountSummary"] = config_shape({key: summary.get(key) for key in _ROOT_SUMMARY_KEYS})

    try:
        devices = unit.paginate(iam, "ListVirtualMFADevices", "VirtualMFADevices", AssignmentStatus="Assigned")
    except CallFailed as failure:
        unit.detail_failed(root, VIRTUAL_MFA_PATH, failure)
    else:
        root.configuration["virtualMfaDevice"] = root_virtual_mfa(devices, root_arn)
    return root


def root_virtual_mfa(devices: Iterable[dict[str, Any]], root_arn: str) -> dict[str, Any] | None:
    """Return the serial number and enable date of the virtual MFA device assigned to the root user, or None."""
    for device in devices:
        if (device.get("User") or {}).get("Arn") == root_arn:
            # Only these two fields: moto (and the create call) also return the device's secret seed.
            enabled = device.get("EnableDate")
            return {"serialNumber": device.get("SerialNumber"),
                    "enableDate": iso_time(enabled) if isinstance(enabled, datetime) else enabled}
    return None


def _collect_password_policy(unit: UnitContext, iam: Any) -> None:
    try:
        response = unit.call(iam, "GetAccountPasswordPolicy", missing=("NoSuchEntity",))
    except CallFailed as failure:
        unit.fail_type(PASSWORD_POLICY, failure)
        return
    configuration = config_shape(response.get("PasswordPolicy", {})) if response is not None else {}
    unit.add(unit.new_resource(PASSWORD_POLICY, unit.account, unit.account, configuration=configuration,
                               supplementary={"PasswordPolicyExists": response is not None}))


def _collect_server_certificates(unit: UnitContext, iam: Any) -> None:
    try:
        certificates = unit.paginate(iam, "ListServerCertificates", "ServerCertificateMetadataList")
    except CallFailed as failure:
        unit.fail_type(SERVER_CERTIFICATE, failure)
        return
    for metadata in certificates:
        unit.add(unit.new_resource(SERVER_CERTIFICATE, metadata["Arn"], metadata["ServerCertificateName"],
                                   configuration=config_shape(metadata)))


COLLECTOR = CollectorSpec(
    service="iam",
    global_service=True,
    calls=CALLS,
    resource_types=(USER, GROUP, ROLE, POLICY, PASSWORD_POLICY, ROOT_USER, SERVER_CERTIFICATE),
    collect=collect,
    description="IAM users, groups, roles, customer-managed policies, credential report, password policy, "
                "root user and server certificates",
)
