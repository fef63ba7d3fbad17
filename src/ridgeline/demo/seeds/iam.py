"""Demo IAM: users, groups, roles and policies that break each IAM rule, secured twins, a weak password
policy and an expired server certificate."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client

logger = logging.getLogger(__name__)

# Users whose credentials the demo makes look this old, so the 45-day and 90-day rules have something to find.
_STALE_USERS = ("demo-stale-keys",)
_STALE_AGE = timedelta(days=200)


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _trust(principal: dict[str, Any], condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return _document(statement)


def seed(endpoint: str) -> int:
    """Create the demo IAM resources and return how many."""
    iam = emulator_client(endpoint, "iam")
    count = _seed_misconfigured(iam) + _seed_secured(iam)

    iam.update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=5,
                                       RequireNumbers=True, AllowUsersToChangePassword=True)
    certificate, private_key = _expired_certificate("demo.example.com")
    iam.upload_server_certificate(ServerCertificateName="demo-expired-certificate", CertificateBody=certificate,
                                  PrivateKey=private_key)
    _age_credentials(iam)
    return count + 2


def _seed_misconfigured(iam: Any) -> int:
    # A console user without MFA, with an inline policy instead of a group.
    iam.create_user(UserName="demo-console-no-mfa")
    iam.create_login_profile(UserName="demo-console-no-mfa", Password="Demo-password-1")
    iam.put_user_policy(UserName="demo-console-no-mfa", PolicyName="inline-read-logs",
                        PolicyDocument=_document(_allow(["logs:Get*", "logs:Describe*"])))

    # Two active access keys.
    iam.create_user(UserName="demo-two-keys")
    iam.create_access_key(UserName="demo-two-keys")
    iam.create_access_key(UserName="demo-two-keys")

    # A password and an access key that `_age_credentials` makes 200 days old and never used.
    iam.create_user(UserName="demo-stale-keys")
    iam.create_login_profile(UserName="demo-stale-keys", Password="Demo-password-2")
    iam.create_access_key(UserName="demo-stale-keys")

    # A group with a customer-managed policy that allows everything, and a user who gets it through the group.
    admin = iam.create_policy(PolicyName="demo-full-admin", PolicyDocument=_document(_allow("*")))
    iam.create_group(GroupName="demo-admins")
    iam.attach_group_policy(GroupName="demo-admins", PolicyArn=admin["Policy"]["Arn"])
    iam.create_user(UserName="demo-admin-through-group")
    iam.add_user_to_group(GroupName="demo-admins", UserName="demo-admin-through-group")

    # A role any AWS account can assume, with an inline policy that grants everything but IAM through NotAction.
    iam.create_role(RoleName="demo-public-trust", AssumeRolePolicyDocument=_trust({"AWS": "*"}))
    iam.put_role_policy(RoleName="demo-public-trust", PolicyName="everything-but-iam", PolicyDocument=_document(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))

    # A policy that lets its holder pass any role to any service.
    iam.create_policy(PolicyName="demo-pass-any-role", PolicyDocument=_document(
        _allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])))
    return 8


def _seed_secured(iam: Any) -> int:
    reader = iam.create_policy(PolicyName="demo-secure-read-reports", PolicyDocument=_document(
        _allow(["s3:GetObject"], "arn:aws:s3:::demo-secure-data/reports/*")))
    reader_arn = reader["Policy"]["Arn"]

    # A console user with MFA and one key, who gets permissions only through a group.
    iam.create_group(GroupName="demo-secure-readers")
    iam.attach_group_policy(GroupName="demo-secure-readers", PolicyArn=reader_arn)
    iam.create_user(UserName="demo-secure-user")
    iam.add_user_to_group(GroupName="demo-secure-readers", UserName="demo-secure-user")
    iam.create_login_profile(UserName="demo-secure-user", Password="Demo-password-3-long-enough")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="demo-secure-user")["VirtualMFADevice"]
    # moto accepts any pair of codes.
    iam.enable_mfa_device(UserName="demo-secure-user", SerialNumber=device["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    iam.create_access_key(UserName="demo-secure-user")

    # A service role and a role open only to the caller's organisation.
    iam.create_role(RoleName="demo-secure-ec2-role", AssumeRolePolicyDocument=_trust({"Service": "ec2.amazonaws.com"}))
    iam.attach_role_policy(RoleName="demo-secure-ec2-role", PolicyArn=reader_arn)
    iam.create_role(RoleName="demo-secure-org-role", AssumeRolePolicyDocument=_trust(
        {"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-demo12345"}}))
    return 5


def _expired_certificate(common_name: str) -> tuple[str, str]:
    """Return a self-signed certificate that expired in 2021 and its private key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2021, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    private_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), private_key.decode()


def _age_credentials(iam: Any) -> None:
    """Make the stale users' credentials 200 days old and give the root user an access key, in the emulator.

    The API cannot create a credential in the past or an access key for the root user, so this edits the
    state of moto's IAM backend directly. That works because the demo's emulator runs in this process.
    """
    # NOTE: these are moto 5.2 internals (User.create_date, AccessKey.create_date as naive UTC times,
    # AccountSummary._account_access_keys_present). A later moto may rename them, so the result is read
    # back through the API and a mismatch is logged instead of failing the demo.
    from moto.iam.models import iam_backends

    backend = iam_backends[DEMO_ACCOUNT]["aws"]
    past = datetime.now(UTC).replace(tzinfo=None) - _STALE_AGE
    for name in _STALE_USERS:
        user = backend.users[name]
        user.create_date = past
        for access_key in user.access_keys:
            access_key.create_date = past
    backend.account_summary._account_access_keys_present = 1

    cutoff = datetime.now(UTC) - _STALE_AGE / 2
    for name in _STALE_USERS:
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        if not keys or any(key["CreateDate"] > cutoff for key in keys):
            logger.warning("demo: could not age the access keys of %s in the emulator; the unused-credential and "
                           "key-rotation rules will pass for it", name)
    if iam.get_account_summary()["SummaryMap"].get("AccountAccessKeysPresent") != 1:
        logger.warning("demo: could not give the root user of account %s an access key in the emulator; the "
                       "root access key rule will pass", DEMO_ACCOUNT)
