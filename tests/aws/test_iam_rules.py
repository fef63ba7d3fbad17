"""IAM rules against moto's server: a failing and a passing case for each rule.

moto cannot create some failing or passing states through the API: root access keys, root MFA,
credentials older than today and server certificates that have not expired (moto reports every
certificate as expired in 2012). Those cases run on envelopes built by hand in the collector's shape
and evaluated with the Engine, and a comment in each such test names the limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ridgeline.demo.emulator import reset_emulator
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.rules.engine import Engine, ResourceIndex
from ridgeline.rules.model import Rule
from tests.conftest import AwsAccount, finding_for, findings_of, status_of

ACCOUNT = "123456789012"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def aws_managed(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsAccount]:
    """The emulated account with AWS managed policies (AdministratorAccess, AWSSupportAccess) loaded."""
    # moto reads this variable when it creates its IAM backend, which the reset does.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    reset_emulator(aws.endpoint)
    yield aws


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(principal: Any, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition is not None:
        statement["Condition"] = condition
    return document(statement)


def evaluate(rules: list[Rule], rule_id: str, resource: Resource) -> Finding:
    """Evaluate one built-in rule on a hand-built envelope."""
    engine = Engine(rules)
    return engine.evaluate_resource(engine.rules_by_id[rule_id], resource, ResourceIndex([resource]))


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def report_row(name: str, **values: str) -> dict[str, str]:
    """Return a credential report row of a user created 400 days ago without credentials, then `values`."""
    row = {"user": name, "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "user_creation_time": days_ago(400),
           "password_enabled": "false", "password_last_used": "N/A", "password_last_changed": "N/A",
           "password_next_rotation": "N/A", "mfa_active": "false"}
    for slot in (1, 2):
        row.update({f"access_key_{slot}_active": "false", f"access_key_{slot}_last_rotated": "N/A",
                    f"access_key_{slot}_last_used_date": "N/A", f"access_key_{slot}_last_used_region": "N/A",
                    f"access_key_{slot}_last_used_service": "N/A", f"cert_{slot}_active": "false",
                    f"cert_{slot}_last_rotated": "N/A"})
    row.update(values)
    return row


def user_envelope(name: str, **report_values: str) -> Resource:
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    return Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::IAM::User", id=arn, name=name,
                    configuration={"userName": name, "arn": arn, "path": "/", "userPolicyList": [], "groupList": [],
                                   "attachedManagedPolicies": []},
                    supplementary={"CredentialReport": report_row(name, **report_values)})


def root_envelope(mfa_enabled: int, access_keys: int, virtual_device: dict[str, Any] | None) -> Resource:
    arn = f"arn:aws:iam::{ACCOUNT}:root"
    return Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::IAM::RootUser", id=arn, name="root",
                    configuration={"arn": arn, "virtualMfaDevice": virtual_device, "accountSummary": {
                        "accountMFAEnabled": mfa_enabled, "accountAccessKeysPresent": access_keys,
                        "accountSigningCertificatesPresent": 0}})


# Root user


def test_root_access_keys_pass_in_moto(aws: AwsAccount) -> None:
    result = aws.scan(["iam"])

    finding = finding_for(result, "aws-iam-root-access-keys", "root")
    assert finding.status is Status.PASS
    assert finding.resource_id == f"arn:aws:iam::{ACCOUNT}:root"
    assert finding.resource_type == "AWS::IAM::RootUser"


def test_root_access_keys_fail_on_envelope(builtin_rules: list[Rule]) -> None:
    # moto's account summary always reports AccountAccessKeysPresent 0.
    finding = evaluate(builtin_rules, "aws-iam-root-access-keys", root_envelope(1, 1, None))

    assert finding.status is Status.FAIL
    assert finding.evidence["configuration.accountSummary.accountAccessKeysPresent"] == 1


def test_root_mfa_fails_in_moto(aws: AwsAccount) -> None:
    result = aws.scan(["iam"])

    finding = finding_for(result, "aws-iam-root-mfa", "root")
    assert finding.status is Status.FAIL
    assert finding.evidence["configuration.accountSummary.accountMFAEnabled"] == 0
    assert status_of(result, "aws-iam-root-hardware-mfa", "root") is Status.FAIL


def test_root_mfa_passes_on_envelope(builtin_rules: list[Rule]) -> None:
    # moto's account summary always reports AccountMFAEnabled 0.
    assert evaluate(builtin_rules, "aws-iam-root-mfa", root_envelope(1, 0, None)).status is Status.PASS


@pytest.mark.parametrize(("mfa_enabled", "virtual_device", "expected"), [
    (1, None, Status.PASS),
    (1, {"serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device", "enableDate": None}, Status.FAIL),
    (0, None, Status.FAIL),
])
def test_root_hardware_mfa_on_envelope(builtin_rules: list[Rule], mfa_enabled: int,
                                       virtual_device: dict[str, Any] | None, expected: Status) -> None:
    # moto cannot enable MFA for the root user, virtual or hardware.
    finding = evaluate(builtin_rules, "aws-iam-root-hardware-mfa", root_envelope(mfa_enabled, 0, virtual_device))

    assert finding.status is expected


# Password policy


@pytest.mark.parametrize(("settings", "length_status", "reuse_status"), [
    (None, Status.FAIL, Status.FAIL),
    ({"MinimumPasswordLength": 8, "PasswordReusePrevention": 5}, Status.FAIL, Status.FAIL),
    ({"MinimumPasswordLength": 14}, Status.PASS, Status.FAIL),
    ({"MinimumPasswordLength": 20, "PasswordReusePrevention": 24}, Status.PASS, Status.PASS),
])
def test_password_policy_rules(aws: AwsAccount, settings: dict[str, int] | None, length_status: Status,
                               reuse_status: Status) -> None:
    if settings is not None:
        aws.client("iam").update_account_password_policy(**settings)

    result = aws.scan(["iam"])

    length = finding_for(result, "aws-iam-password-min-length", ACCOUNT)
    assert length.status is length_status
    assert length.resource_type == "AWS::IAM::AccountPasswordPolicy"
    assert status_of(result, "aws-iam-password-reuse-prevention", ACCOUNT) is reuse_status
    if settings is None:
        assert length.evidence["supplementaryConfiguration.PasswordPolicyExists"] is False


# Users and the credential report


def test_console_mfa_fails_without_device(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    for name in ("console-no-mfa", "console-mfa", "api-only"):
        iam.create_user(UserName=name)
    iam.create_login_profile(UserName="console-no-mfa", Password="Long-password-1")
    iam.create_login_profile(UserName="console-mfa", Password="Long-password-2")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="console-mfa")["VirtualMFADevice"]
    iam.enable_mfa_device(UserName="console-mfa", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_access_key(UserName="api-only")

    result = aws.scan(["iam"])

    failing = finding_for(result, "aws-iam-user-console-mfa", "console-no-mfa")
    assert failing.status is Status.FAIL
    assert failing.resource_id == f"arn:aws:iam::{ACCOUNT}:user/console-no-mfa"
    assert "no active MFA device" in failing.evidence["aws.iam_console_without_mfa"]
    assert status_of(result, "aws-iam-user-console-mfa", "console-mfa") is Status.PASS
    assert status_of(result, "aws-iam-user-console-mfa", "api-only") is Status.PASS


def test_fresh_credentials_pass_idle_and_rotation(aws: AwsAccount) -> None:
    # Created today and never used: not idle for 45 days, and not older than 90 days.
    iam = aws.client("iam")
    iam.create_user(UserName="new-user")
    iam.create_login_profile(UserName="new-user", Password="Long-password-1")
    iam.create_access_key(UserName="new-user")

    result = aws.scan(["iam"])

    assert status_of(result, "aws-iam-user-unused-credentials", "new-user") is Status.PASS
    assert status_of(result, "aws-iam-access-key-rotation", "new-user") is Status.PASS


def test_unused_credentials_fail_on_envelope(builtin_rules: list[Rule]) -> None:
    # moto creates every credential at the current time, so old ones are built by hand.
    user = user_envelope("old-key", access_key_1_active="true", access_key_1_last_rotated=days_ago(200),
                         access_key_1_last_used_date=days_ago(60))

    finding = evaluate(builtin_rules, "aws-iam-user-unused-credentials", user)

    assert finding.status is Status.FAIL
    assert "access key 1 last used on" in finding.evidence["aws.iam_unused_credentials"]


@pytest.mark.parametrize("values", [
    {"password_enabled": "true", "password_last_used": days_ago(3), "password_last_changed": days_ago(300)},
    {"access_key_1_active": "false", "access_key_1_last_rotated": days_ago(300)},
])
def test_unused_credentials_pass_on_envelope(builtin_rules: list[Rule], values: dict[str, str]) -> None:
    # Recent use of an old password, and an old key that is already inactive.
    finding = evaluate(builtin_rules, "aws-iam-user-unused-credentials", user_envelope("in-use", **values))

    assert finding.status is Status.PASS


def test_access_key_rotation_fails_on_envelope(builtin_rules: list[Rule]) -> None:
    # moto creates every access key at the current time, so an old one is built by hand.
    user = user_envelope("old-key", access_key_2_active="true", access_key_2_last_rotated=days_ago(120),
                         access_key_2_last_used_date=days_ago(1))

    finding = evaluate(builtin_rules, "aws-iam-access-key-rotation", user)

    assert finding.status is Status.FAIL
    assert "access key 2 created on" in finding.evidence["aws.iam_unrotated_access_keys"]


def test_credential_rules_are_error_without_report_row(builtin_rules: list[Rule]) -> None:
    # An AWS Config snapshot has no credential report, so the rules cannot tell and must not pass.
    user = user_envelope("from-config")
    user.supplementary = {}

    for rule_id in ("aws-iam-user-console-mfa", "aws-iam-user-unused-credentials", "aws-iam-access-key-rotation",
                    "aws-iam-user-single-active-key"):
        finding = evaluate(builtin_rules, rule_id, user)
        assert finding.status is Status.ERROR, rule_id
        assert "credential report row" in finding.message, rule_id


def test_single_active_key_fails_with_two_active_keys(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="two-keys")
    iam.create_access_key(UserName="two-keys")
    iam.create_access_key(UserName="two-keys")
    iam.create_user(UserName="one-active")
    iam.create_access_key(UserName="one-active")
    old = iam.create_access_key(UserName="one-active")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="one-active", AccessKeyId=old, Status="Inactive")

    result = aws.scan(["iam"])

    failing = finding_for(result, "aws-iam-user-single-active-key", "two-keys")
    assert failing.status is Status.FAIL
    assert failing.evidence["aws.iam_too_many_access_keys"] == "active access keys: key 1, key 2"
    assert status_of(result, "aws-iam-user-single-active-key", "one-active") is Status.PASS


def test_permissions_through_groups(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    policy_arn = iam.create_policy(PolicyName="read-logs", PolicyDocument=document(allow("logs:Get*")))["Policy"]["Arn"]
    iam.create_user(UserName="inline-user")
    iam.put_user_policy(UserName="inline-user", PolicyName="inline", PolicyDocument=document(allow("logs:Get*")))
    iam.create_user(UserName="attached-user")
    iam.attach_user_policy(UserName="attached-user", PolicyArn=policy_arn)
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy_arn)
    iam.create_user(UserName="group-user")
    iam.add_user_to_group(GroupName="readers", UserName="group-user")

    result = aws.scan(["iam"])

    inline = finding_for(result, "aws-iam-user-permissions-through-groups", "inline-user")
    assert inline.status is Status.FAIL
    assert inline.evidence["configuration.userPolicyList"][0]["policyName"] == "inline"
    attached = finding_for(result, "aws-iam-user-permissions-through-groups", "attached-user")
    assert attached.status is Status.FAIL
    assert attached.evidence["configuration.attachedManagedPolicies"][0]["policyArn"] == policy_arn
    assert status_of(result, "aws-iam-user-permissions-through-groups", "group-user") is Status.PASS


# Administrator access


def test_admin_policy_attached_by_every_route(aws_managed: AwsAccount) -> None:
    iam = aws_managed.client("iam")
    iam.create_user(UserName="inline-admin")
    iam.put_user_policy(UserName="inline-admin", PolicyName="all", PolicyDocument=document(allow("*:*")))

    # The default version (v2) of a customer-managed policy grants everything, while v1 did not.
    admin_arn = iam.create_policy(PolicyName="became-admin", PolicyDocument=document(allow("s3:Get*")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=admin_arn, PolicyDocument=document(allow("*")), SetAsDefault=True)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin_arn)

    iam.create_role(RoleName="managed-admin", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    iam.attach_role_policy(RoleName="managed-admin", PolicyArn=ADMINISTRATOR_ACCESS)
    iam.create_role(RoleName="not-action-admin", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    iam.put_role_policy(RoleName="not-action-admin", PolicyName="all-but-iam", PolicyDocument=document(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))

    result = aws_managed.scan(["iam"])

    inline = finding_for(result, "aws-iam-no-admin-policy-attached", "inline-admin")
    assert inline.status is Status.FAIL
    assert inline.resource_type == "AWS::IAM::User"
    assert "all actions" in inline.evidence["aws.policy_admin"]
    group = finding_for(result, "aws-iam-no-admin-policy-attached", "admins")
    assert group.status is Status.FAIL
    assert group.resource_type == "AWS::IAM::Group"
    assert group.evidence["policyArn"] == admin_arn
    managed = finding_for(result, "aws-iam-no-admin-policy-attached", "managed-admin")
    assert managed.status is Status.FAIL
    assert managed.evidence["policyArn"] == ADMINISTRATOR_ACCESS
    not_action = finding_for(result, "aws-iam-no-admin-policy-attached", "not-action-admin")
    assert not_action.status is Status.FAIL
    assert "NotAction" in not_action.evidence["aws.policy_admin"]


def test_admin_rule_passes_limited_principals(aws_managed: AwsAccount) -> None:
    iam = aws_managed.client("iam")
    # v1 granted everything, but the default version (v2) does not.
    arn = iam.create_policy(PolicyName="was-admin", PolicyDocument=document(allow("*")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(allow("s3:GetObject")), SetAsDefault=True)
    iam.create_user(UserName="limited")
    iam.attach_user_policy(UserName="limited", PolicyArn=arn)
    iam.create_role(RoleName="read-only", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    iam.attach_role_policy(RoleName="read-only", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_group(GroupName="empty")
    iam.create_user(UserName="admin-with-deny")
    iam.put_user_policy(UserName="admin-with-deny", PolicyName="all-then-none", PolicyDocument=document(
        allow("*"), {"Effect": "Deny", "Action": "*", "Resource": "*"}))

    result = aws_managed.scan(["iam"])

    for name in ("limited", "read-only", "empty", "admin-with-deny"):
        assert status_of(result, "aws-iam-no-admin-policy-attached", name) is Status.PASS, name


# Support role


def test_support_role_missing_fails(aws_managed: AwsAccount) -> None:
    aws_managed.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument=trust(
        {"Service": "lambda.amazonaws.com"}))

    result = aws_managed.scan(["iam"])

    [finding] = findings_of(result, "aws-iam-support-role")
    assert finding.status is Status.FAIL
    assert finding.resource_type == "Ridgeline::Account"
    assert finding.evidence["examined"] == [f"arn:aws:iam::{ACCOUNT}:role/app"]


def test_support_role_with_policy_passes(aws_managed: AwsAccount) -> None:
    iam = aws_managed.client("iam")
    iam.create_role(RoleName="aws-support", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    iam.attach_role_policy(RoleName="aws-support", PolicyArn="arn:aws:iam::aws:policy/AWSSupportAccess")

    result = aws_managed.scan(["iam"])

    [finding] = findings_of(result, "aws-iam-support-role")
    assert finding.status is Status.PASS
    assert finding.evidence["satisfied_by"] == f"arn:aws:iam::{ACCOUNT}:role/aws-support"


# Role trust


def test_role_trust_public(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="anyone", AssumeRolePolicyDocument=trust({"AWS": "*"}))
    iam.create_role(RoleName="external-id-only", AssumeRolePolicyDocument=trust(
        "*", {"StringEquals": {"sts:ExternalId": "shared-value"}}))
    iam.create_role(RoleName="org-only", AssumeRolePolicyDocument=trust(
        {"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}))
    iam.create_role(RoleName="partner", AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::210987654321:root"}))
    iam.create_role(RoleName="service", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}))

    result = aws.scan(["iam"])

    anyone = finding_for(result, "aws-iam-role-trust-public", "anyone")
    assert anyone.status is Status.FAIL
    assert anyone.resource_id == f"arn:aws:iam::{ACCOUNT}:role/anyone"
    assert "sts:AssumeRole to Principal '*'" in anyone.evidence["aws.policy_public"]
    assert status_of(result, "aws-iam-role-trust-public", "external-id-only") is Status.FAIL
    for name in ("org-only", "partner", "service"):
        assert status_of(result, "aws-iam-role-trust-public", name) is Status.PASS, name


# Customer-managed policies


def test_privilege_escalation_policies(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.create_policy(PolicyName="pass-any-role", PolicyDocument=document(allow(["iam:PassRole", "ec2:RunInstances"])))
    iam.create_policy(PolicyName="attach-anything", PolicyDocument=document(allow("iam:Attach*")))
    iam.create_policy(PolicyName="pass-one-role", PolicyDocument=document(
        allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/app-role")))
    # Only the default version counts: v1 allowed iam:PassRole on everything, v2 does not.
    arn = iam.create_policy(PolicyName="narrowed", PolicyDocument=document(allow("iam:PassRole")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=document(allow("iam:Get*")), SetAsDefault=True)

    result = aws.scan(["iam"])

    pass_role = finding_for(result, "aws-iam-policy-privilege-escalation", "pass-any-role")
    assert pass_role.status is Status.FAIL
    assert pass_role.resource_type == "AWS::IAM::Policy"
    assert "iam:PassRole" in pass_role.evidence["aws.iam_privilege_escalation"]
    attach = finding_for(result, "aws-iam-policy-privilege-escalation", "attach-anything")
    assert attach.status is Status.FAIL
    assert "iam:AttachUserPolicy" in attach.evidence["aws.iam_privilege_escalation"]
    assert status_of(result, "aws-iam-policy-privilege-escalation", "pass-one-role") is Status.PASS
    assert status_of(result, "aws-iam-policy-privilege-escalation", "narrowed") is Status.PASS


# Server certificates


def test_expired_server_certificate_fails(aws: AwsAccount) -> None:
    # moto lists every server certificate with an expiration in 2012, whatever the certificate contains.
    aws.client("iam").upload_server_certificate(ServerCertificateName="old-site", CertificateBody="certificate",
                                                PrivateKey="key")

    result = aws.scan(["iam"])

    finding = finding_for(result, "aws-iam-server-certificate-expired", "old-site")
    assert finding.status is Status.FAIL
    assert finding.resource_type == "AWS::IAM::ServerCertificate"
    assert finding.evidence["configuration.expiration"].startswith("2012-")


def test_valid_server_certificate_passes_on_envelope(builtin_rules: list[Rule]) -> None:
    # moto cannot list a certificate that has not expired.
    expiration = (datetime.now(UTC) + timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    arn = f"arn:aws:iam::{ACCOUNT}:server-certificate/current-site"
    certificate = Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::IAM::ServerCertificate",
                           id=arn, name="current-site",
                           configuration={"serverCertificateName": "current-site", "arn": arn, "path": "/",
                                          "expiration": expiration})

    assert evaluate(builtin_rules, "aws-iam-server-certificate-expired", certificate).status is Status.PASS
