"""Storage exposure facts shared by rules: S3 ACL grants to everyone."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

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
