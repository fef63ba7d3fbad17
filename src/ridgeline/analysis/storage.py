"""Storage exposure facts shared by rules: S3 ACL grants to everyone, TLS-only bucket policies."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ridgeline.analysis.iam.document import PolicyDocument, Statement
from ridgeline.analysis.iam.policy import action_matches

PUBLIC_GROUPS = {
    "AllUsers": "everyone (AllUsers)",
    "AuthenticatedUsers": "any AWS account (AuthenticatedUsers)",
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "any AWS account (AuthenticatedUsers)",
}

# Config spells permissions "Read"/"FullControl"; the S3 API spells them "READ"/"FULL_CONTROL".
_PERMISSION_NAMES = {"fullcontrol": "FullControl", "full_control": "FullControl", "read": "Read", "write": "Write",
                     "readacp": "ReadAcp", "read_acp": "ReadAcp", "writeacp": "WriteAcp", "write_acp": "WriteAcp"}


class AclParseError(ValueError):
    """An AccessControlList document that is not valid JSON or has an unexpected shape."""


def parse_acl(acl: str | dict[str, Any] | None) -> dict[str, Any]:
    """Return the ACL document from AWS Config's JSON string (or an already parsed mapping)."""
    if acl is None or acl == "":
        return {"grantList": []}
    if isinstance(acl, str):
        try:
            document = json.loads(acl)
        except json.JSONDecodeError as error:
            raise AclParseError(f"AccessControlList is not valid JSON: {error}") from None
    else:
        document = acl
    if not isinstance(document, dict):
        raise AclParseError("AccessControlList must be a JSON object")
    return document


def public_acl_grants(acl: str | dict[str, Any] | None, permissions: Iterable[str] | None = None) -> list[str]:
    """Return descriptions of grants to everyone or to any AWS account, e.g. "Read to everyone (AllUsers)".

    With `permissions` (Config spelling: Read, Write, ReadAcp, WriteAcp, FullControl), only grants of
    those permissions count; FullControl always counts because it includes all of them.
    """
    document = parse_acl(acl)
    wanted = {p.lower() for p in permissions} if permissions else None
    found = []
    for grant in document.get("grantList") or []:
        grantee = grant.get("grantee")
        if isinstance(grantee, dict):
            grantee = grantee.get("uri") or grantee.get("URI") or grantee.get("id")
        audience = PUBLIC_GROUPS.get(str(grantee))
        if audience is None:
            continue
        raw = str(grant.get("permission", ""))
        permission = _PERMISSION_NAMES.get(raw.lower(), raw)
        if wanted is not None and permission.lower() not in wanted and permission != "FullControl":
            continue
        found.append(f"{permission} to {audience}")
    return found


# Object actions whose requests a TLS-enforcing bucket policy must deny over plain HTTP.
_TLS_PROBE_ACTIONS = ("s3:getobject", "s3:putobject")


def denies_insecure_transport(policy: PolicyDocument | None) -> tuple[bool, str]:
    """Tell whether a bucket policy denies requests that do not use TLS, and which statement does.

    The usual form is a Deny for everyone on s3:* (or the object actions) with the condition
    `Bool: {aws:SecureTransport: false}`; a Deny on `NumericLessThan: {s3:TlsVersion: ...}` enforces a
    minimum TLS version and counts too. An `...IfExists` form also denies, since the key is always
    present on S3 requests.
    """
    if policy is None:
        return False, "The bucket has no policy, so plain HTTP requests are not denied."
    for index, statement in enumerate(policy.statements):
        if statement.effect != "Deny" or not _names_everyone(statement):
            continue
        if not _covers_object_actions(statement):
            continue
        for operator, keys in statement.conditions.items():
            base = operator.lower().removesuffix("ifexists")
            if base == "bool" and "false" in (v.lower() for v in keys.get("aws:securetransport", ())):
                return True, f"Statement {statement.sid or index} denies requests with aws:SecureTransport false."
            if base == "numericlessthan" and "s3:tlsversion" in keys:
                return True, f"Statement {statement.sid or index} denies requests below a minimum TLS version."
    return False, "No Deny statement for everyone conditioned on aws:SecureTransport false was found."


def _names_everyone(statement: Statement) -> bool:
    principal = statement.principal or {}
    return "*" in principal.get("AWS", ())


def _covers_object_actions(statement: Statement) -> bool:
    if statement.actions is None:
        # NotAction in a Deny denies everything not listed; it covers the probes unless it lists them.
        excluded = statement.not_actions or ()
        return not any(action_matches(pattern, probe) for pattern in excluded for probe in _TLS_PROBE_ACTIONS)
    return all(any(action_matches(pattern, probe) for pattern in statement.actions) for probe in _TLS_PROBE_ACTIONS)
