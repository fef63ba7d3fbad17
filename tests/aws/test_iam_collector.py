"""The IAM collector against moto's server: configuration item shapes, and what a denied call costs."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ridgeline.analysis.iam.policy import parse_policy
from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.collectors.iam import CREDENTIAL_REPORT_PATH, attach_credential_report
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from tests.conftest import AwsAccount, findings_of, status_of

ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def resources_of(result: ScanResult, type_name: str) -> dict[str, Resource]:
    return {resource.name: resource for resource in result.collection.resources if resource.type == type_name}


# Shapes


def test_principals_have_config_shape(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    inline = document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    policy_arn = iam.create_policy(PolicyName="read-logs", PolicyDocument=document(
        {"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}))["Policy"]["Arn"]
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy_arn)
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "data"}])
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=inline)
    iam.add_user_to_group(GroupName="readers", UserName="alice")
    trust = document({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="app", PolicyArn=policy_arn)
    iam.create_instance_profile(InstanceProfileName="app")
    iam.add_role_to_instance_profile(InstanceProfileName="app", RoleName="app")

    result = aws.scan(["iam"])

    user = resources_of(result, "AWS::IAM::User")["alice"]
    assert user.id == USER_ARN
    assert user.region == "global"
    assert user.tags == {"team": "data"}
    assert user.configuration["userName"] == "alice"
    assert user.configuration["groupList"] == ["readers"]
    assert user.configuration["createDate"].endswith("Z")
    assert "tags" not in user.configuration
    [user_policy] = user.configuration["userPolicyList"]
    assert user_policy["policyName"] == "inline"
    # Policy documents stay URL-encoded, as IAM sends them and AWS Config stores them.
    assert user_policy["policyDocument"].startswith("%7B")
    assert parse_policy(user_policy["policyDocument"]) == parse_policy(inline)
    assert {"resourceType": "AWS::IAM::Group", "resourceId": f"arn:aws:iam::{ACCOUNT}:group/readers",
            "resourceName": "readers", "relationshipName": "Is attached to Group"} in user.relationships

    group = resources_of(result, "AWS::IAM::Group")["readers"]
    assert group.configuration["attachedManagedPolicies"] == [{"policyName": "read-logs", "policyArn": policy_arn}]
    assert {"resourceType": "AWS::IAM::User", "resourceId": USER_ARN, "resourceName": "alice",
            "relationshipName": "Contains User"} in group.relationships

    role = resources_of(result, "AWS::IAM::Role")["app"]
    assert parse_policy(role.configuration["assumeRolePolicyDocument"]) == parse_policy(trust)
    [profile] = role.configuration["instanceProfileList"]
    assert profile["instanceProfileName"] == "app"
    assert isinstance(profile["roles"][0]["assumeRolePolicyDocument"], str)

    policy = resources_of(result, "AWS::IAM::Policy")["read-logs"]
    assert policy.id == policy_arn
    assert policy.configuration["defaultVersionId"] == "v1"
    assert policy.configuration["attachmentCount"] == 2
    [version] = policy.configuration["policyVersionList"]
    assert version["isDefaultVersion"] is True
    assert version["document"].startswith("%7B")
    assert {relationship["resourceName"] for relationship in policy.relationships} == {"readers", "app"}


def test_credential_report_row_attached_to_user(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Long-password-1")

    result = aws.scan(["iam"])

    user = resources_of(result, "AWS::IAM::User")["alice"]
    row = user.supplementary["CredentialReport"]
    assert row["arn"] == USER_ARN
    assert row["password_enabled"] == "true"
    assert row["access_key_1_active"] == "false"
    assert {"user", "mfa_active", "access_key_2_last_used_date", "cert_2_last_rotated"} <= set(row)
    assert user.errors == {}


def test_account_facts(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=16, RequireSymbols=True, PasswordReusePrevention=24)
    iam.upload_server_certificate(ServerCertificateName="site", CertificateBody="certificate", PrivateKey="key")

    result = aws.scan(["iam"])

    [policy] = resources_of(result, "AWS::IAM::AccountPasswordPolicy").values()
    assert policy.configuration["minimumPasswordLength"] == 16
    assert policy.configuration["requireSymbols"] is True
    assert policy.configuration["passwordReusePrevention"] == 24
    assert policy.supplementary == {"PasswordPolicyExists": True}

    [root] = resources_of(result, "AWS::IAM::RootUser").values()
    assert root.id == f"arn:aws:iam::{ACCOUNT}:root"
    assert root.configuration["accountSummary"] == {"accountMFAEnabled": 0, "accountAccessKeysPresent": 0,
                                                    "accountSigningCertificatesPresent": 0}
    assert root.configuration["virtualMfaDevice"] is None
    # moto's credential report has no root user row, so the root user's report columns are unknown, not empty.
    assert CREDENTIAL_REPORT_PATH in root.errors

    certificate = resources_of(result, "AWS::IAM::ServerCertificate")["site"]
    assert certificate.id == f"arn:aws:iam::{ACCOUNT}:server-certificate/site"
    assert "expiration" in certificate.configuration


def test_missing_password_policy_is_explicit(aws: AwsAccount) -> None:
    result = aws.scan(["iam"])

    [policy] = resources_of(result, "AWS::IAM::AccountPasswordPolicy").values()
    assert policy.configuration == {}
    assert policy.supplementary == {"PasswordPolicyExists": False}
    assert [unit.status for unit in result.collection.coverage] == [Completeness.COMPLETE]


def test_virtual_mfa_seed_is_not_stored(aws: AwsAccount) -> None:
    iam = aws.client("iam")
    iam.create_user(UserName="alice")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"], AuthenticationCode1="123456",
                          AuthenticationCode2="654321")

    result = aws.scan(["iam"])

    stored = json.dumps([resource.to_dict() for resource in result.collection.resources])
    assert "Base32StringSeed" not in stored
    assert "base32StringSeed" not in stored
    [root] = resources_of(result, "AWS::IAM::RootUser").values()
    # The device belongs to a user, not to the root user.
    assert root.configuration["virtualMfaDevice"] is None


# Report rows and users


def _report_row(arn: str, user: str) -> dict[str, str]:
    return {"user": user, "arn": arn, "password_enabled": "false", "mfa_active": "false"}


def _user(name: str) -> Resource:
    return Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::IAM::User",
                    id=f"arn:aws:iam::{ACCOUNT}:user/{name}", name=name)


def test_user_missing_from_report_is_unknown() -> None:
    root = Resource(provider="aws", account=ACCOUNT, region="global", type="AWS::IAM::RootUser",
                    id=f"arn:aws:iam::{ACCOUNT}:root", name="root")
    old, new = _user("old"), _user("new")
    rows = [_report_row(f"arn:aws:iam::{ACCOUNT}:root", "<root_account>"), _report_row(old.id, "old")]

    attach_credential_report(rows, "2026-01-01T00:00:00.000Z", root, [old, new])

    assert root.supplementary["CredentialReport"]["user"] == "<root_account>"
    assert root.errors == {}
    assert old.supplementary["CredentialReport"]["user"] == "old"
    assert old.errors == {}
    assert "CredentialReport" not in new.supplementary
    assert "not in the credential report generated at 2026-01-01" in new.errors[CREDENTIAL_REPORT_PATH]


# Denied calls


def _set_moto_auth(endpoint: str, initial_free_requests: str) -> None:
    # moto checks IAM policies on every request once its free-request count is used up.
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", method="POST",
                                     data=initial_free_requests.encode(), headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@pytest.fixture
def scan_denied(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return a function that scans IAM as a user denied the given actions."""
    auth_on = False

    def scan(denied_actions: list[str]) -> ScanResult:
        nonlocal auth_on
        iam = aws.client("iam")
        iam.create_user(UserName="auditor")
        iam.put_user_policy(UserName="auditor", PolicyName="almost-everything", PolicyDocument=document(
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": denied_actions, "Resource": "*"}))
        iam.create_login_profile(UserName="auditor", Password="Long-password-1")
        key = iam.create_access_key(UserName="auditor")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        _set_moto_auth(aws.endpoint, "0")
        auth_on = True
        collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=["iam"]))
        _set_moto_auth(aws.endpoint, "inf")
        auth_on = False
        return evaluate_collection(collection, aws.rules, store=None)

    yield scan
    if auth_on:
        _set_moto_auth(aws.endpoint, "inf")


def test_denied_credential_report_makes_report_rules_error(scan_denied: Any) -> None:
    result = scan_denied(["iam:GenerateCredentialReport"])

    for rule_id in ("aws-iam-user-console-mfa", "aws-iam-user-unused-credentials", "aws-iam-access-key-rotation",
                    "aws-iam-user-single-active-key"):
        finding = findings_of(result, rule_id)[0]
        assert finding.status is Status.ERROR, rule_id
        assert "iam:GenerateCredentialReport" in finding.message, rule_id
        assert finding.resource_name == "auditor", rule_id
    # Rules that read only what could be read are still judged.
    assert status_of(result, "aws-iam-user-permissions-through-groups", "auditor") is Status.FAIL
    assert status_of(result, "aws-iam-root-mfa", "root") is Status.FAIL
    [unit] = result.collection.coverage
    assert unit.status is Completeness.PARTIAL
    assert [error.call for error in unit.errors] == ["iam:GenerateCredentialReport"]
    [root] = resources_of(result, "AWS::IAM::RootUser").values()
    assert "AccessDenied" in root.errors[CREDENTIAL_REPORT_PATH]


def test_denied_authorization_details_makes_principal_rules_error(scan_denied: Any) -> None:
    result = scan_denied(["iam:GetAccountAuthorizationDetails"])

    for rule_id in ("aws-iam-user-console-mfa", "aws-iam-no-admin-policy-attached", "aws-iam-role-trust-public",
                    "aws-iam-policy-privilege-escalation", "aws-iam-support-role"):
        findings = findings_of(result, rule_id)
        assert [finding.status for finding in findings] == [Status.ERROR], rule_id
        assert findings[0].resource_type == "Ridgeline::Account", rule_id
        assert "iam:GetAccountAuthorizationDetails" in findings[0].message, rule_id
    assert not [f for f in result.findings if f.status is Status.PASS and f.resource_type.startswith(
        ("AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group", "AWS::IAM::Policy"))]
    assert status_of(result, "aws-iam-root-mfa", "root") is Status.FAIL
    assert status_of(result, "aws-iam-password-min-length", ACCOUNT) is Status.FAIL
    [unit] = result.collection.coverage
    assert set(unit.failed_types) == {"AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Role", "AWS::IAM::Policy"}


def test_denied_virtual_mfa_listing_makes_hardware_rule_error(scan_denied: Any) -> None:
    result = scan_denied(["iam:ListVirtualMFADevices"])

    hardware = findings_of(result, "aws-iam-root-hardware-mfa")[0]
    # The root user has no MFA at all in moto, which already fails the rule whatever the device list contains.
    assert hardware.status is Status.FAIL
    [root] = resources_of(result, "AWS::IAM::RootUser").values()
    assert "iam:ListVirtualMFADevices" in root.errors["configuration.virtualMfaDevice"]


def test_denied_account_summary_makes_root_rules_error(scan_denied: Any) -> None:
    result = scan_denied(["iam:GetAccountSummary"])

    for rule_id in ("aws-iam-root-access-keys", "aws-iam-root-mfa", "aws-iam-root-hardware-mfa"):
        finding = findings_of(result, rule_id)[0]
        assert finding.status is Status.ERROR, rule_id
        assert "iam:GetAccountSummary" in finding.message, rule_id


def test_denied_password_policy_makes_password_rules_error(scan_denied: Any) -> None:
    result = scan_denied(["iam:GetAccountPasswordPolicy"])

    for rule_id in ("aws-iam-password-min-length", "aws-iam-password-reuse-prevention"):
        findings = findings_of(result, rule_id)
        assert [finding.status for finding in findings] == [Status.ERROR], rule_id
        assert "iam:GetAccountPasswordPolicy" in findings[0].message, rule_id
