"""S3: buckets with their policy, ACL, Block Public Access, encryption, versioning, logging and
Object Ownership, and the account-level Block Public Access settings (through s3control).

Buckets become `AWS::S3::Bucket` configuration items with AWS Config's supplementaryConfiguration keys,
so rules read them the same way from a live scan and from a Config snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape, iso_time, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

BUCKET = "AWS::S3::Bucket"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "AWS::S3::AccountPublicAccessBlock"

CALLS = (
    *api_calls(
        "s3",
        "ListBuckets=s3:ListAllMyBuckets",
        "GetBucketLocation",
        "GetBucketPolicy",
        "GetBucketAcl",
        "GetPublicAccessBlock=s3:GetBucketPublicAccessBlock",
        "GetBucketEncryption=s3:GetEncryptionConfiguration",
        "GetBucketVersioning",
        "GetBucketLogging",
        "GetBucketOwnershipControls",
        "GetBucketTagging",
    ),
    *api_calls("s3control", "GetPublicAccessBlock=s3:GetAccountPublicAccessBlock"),
)

# ACL group grantees, written the way AWS Config writes them in AccessControlList.
_GROUP_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
    "http://acs.amazonaws.com/groups/s3/LogDelivery": "LogDelivery",
}
_PERMISSIONS = {
    "FULL_CONTROL": "FullControl",
    "READ": "Read",
    "WRITE": "Write",
    "READ_ACP": "ReadAcp",
    "WRITE_ACP": "WriteAcp",
}
_NO_BLOCK = {"blockPublicAcls": False, "ignorePublicAcls": False, "blockPublicPolicy": False,
             "restrictPublicBuckets": False}


def collect(unit: UnitContext) -> None:
    """Collect the account's Block Public Access settings and every bucket in the scanned regions."""
    _collect_account_block(unit)
    collect_buckets(unit)


def collect_buckets(unit: UnitContext) -> None:
    """Collect every bucket in the scanned regions."""
    s3 = unit.client("s3")
    try:
        buckets = unit.paginate(s3, "ListBuckets", "Buckets")
    except CallFailed as failure:
        unit.fail_type(BUCKET, failure)
        return

    for resource in unit.map(lambda bucket: _collect_bucket(unit, bucket), buckets):
        if resource is not None:
            unit.add(resource)


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named buckets (by name) and, when asked, the account's Block Public Access settings."""
    if ACCOUNT_PUBLIC_ACCESS_BLOCK in targets:
        _collect_account_block(unit)

    names = list(dict.fromkeys(targets.get(BUCKET, ())))
    if "*" in names:
        collect_buckets(unit)
        return
    for resource in unit.map(lambda name: _refresh_bucket(unit, name), names):
        if resource is not None:
            unit.add(resource)


def _refresh_bucket(unit: UnitContext, name: str) -> Resource | None:
    s3 = unit.client("s3")
    # ListBuckets with a prefix returns the bucket's region and creation date in one call, as in a full
    # scan. The prefix can also match longer names, so the exact name is picked.
    listed = unit.paginate(s3, "ListBuckets", "Buckets", Prefix=name)
    bucket = next((item for item in listed if item.get("Name") == name), None)
    if bucket is None:
        unit.mark_gone(BUCKET, f"arn:{unit.partition}:s3:::{name}")
        return None
    return _collect_bucket(unit, bucket)


def _collect_account_block(unit: UnitContext) -> None:
    s3control = unit.client("s3control")
    try:
        response = unit.call(s3control, "GetPublicAccessBlock", missing=("NoSuchPublicAccessBlockConfiguration",),
                             AccountId=unit.account)
    except CallFailed as failure:
        unit.fail_type(ACCOUNT_PUBLIC_ACCESS_BLOCK, failure)
        return
    configuration = dict(_NO_BLOCK)
    if response is not None:
        configuration.update(config_shape(response.get("PublicAccessBlockConfiguration", {})))
    unit.add(unit.new_resource(ACCOUNT_PUBLIC_ACCESS_BLOCK, unit.account, unit.account,
                               region="global", configuration=configuration))


def _collect_bucket(unit: UnitContext, bucket: dict[str, Any]) -> Resource | None:
    name = bucket["Name"]
    bucket_arn = f"arn:{unit.partition}:s3:::{name}"
    s3 = unit.client("s3")

    # ListBuckets names each bucket's region (BucketRegion) on current S3; older endpoints and
    # emulators do not, and then GetBucketLocation returns it.
    location_failure: CallFailed | None = None
    region = bucket.get("BucketRegion") or ""
    if not region:
        try:
            location = unit.call(s3, "GetBucketLocation", Bucket=name, resource_id=bucket_arn) or {}
            region = bucket_region(location.get("LocationConstraint"))
        except CallFailed as failure:
            # Without the region the bucket still exists: keep it, in the default region, and record the error.
            region = unit.session.default_region
            location_failure = failure

    if unit.regions is not None and region not in unit.regions:
        logger.debug("account %s: skipping bucket %s in unscanned region %s", unit.account, name, region)
        return None

    resource = unit.new_resource(
        BUCKET, bucket_arn, name, region=region,
        configuration={"name": name, "creationDate": iso_time(bucket["CreationDate"]) if bucket.get("CreationDate")
                       else None},
    )
    if location_failure is not None:
        unit.detail_failed(resource, "region", location_failure)

    regional = unit.client("s3", region)
    for path, reader in _DETAILS:
        try:
            reader(unit, regional, name, resource)
        except CallFailed as failure:
            failure.resource_id = bucket_arn
            unit.detail_failed(resource, path, failure)
    return resource


def bucket_region(location_constraint: str | None) -> str:
    """Map GetBucketLocation's LocationConstraint to a region name (None is us-east-1, "EU" eu-west-1)."""
    if not location_constraint:
        return "us-east-1"
    if location_constraint == "EU":
        return "eu-west-1"
    return location_constraint


def _read_policy(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketPolicy", missing=("NoSuchBucketPolicy",), Bucket=name)
    resource.supplementary["BucketPolicy"] = {"policyText": response.get("Policy") if response else None}


def _read_acl(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketAcl", Bucket=name) or {}
    resource.supplementary["AccessControlList"] = json.dumps(acl_document(response))
    owner = response.get("Owner") or {}
    resource.configuration["owner"] = {"id": owner.get("ID"), "displayName": owner.get("DisplayName")}


def acl_document(response: dict[str, Any]) -> dict[str, Any]:
    """Turn a GetBucketAcl response into AWS Config's AccessControlList document."""
    grants = []
    for grant in response.get("Grants", []):
        grantee = grant.get("Grantee", {})
        if grantee.get("Type") == "Group":
            grantee_value: Any = _GROUP_GRANTEES.get(grantee.get("URI", ""), grantee.get("URI"))
        elif grantee.get("Type") == "AmazonCustomerByEmail":
            grantee_value = {"emailAddress": grantee.get("EmailAddress")}
        else:
            grantee_value = {"id": grantee.get("ID"), "displayName": grantee.get("DisplayName")}
        permission = grant.get("Permission", "")
        grants.append({"grantee": grantee_value, "permission": _PERMISSIONS.get(permission, permission)})
    owner = response.get("Owner") or {}
    return {"grantSet": None, "grantList": grants,
            "owner": {"id": owner.get("ID"), "displayName": owner.get("DisplayName")}, "isRequesterCharged": False}


def _read_public_access_block(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetPublicAccessBlock", missing=("NoSuchPublicAccessBlockConfiguration",), Bucket=name)
    configuration = dict(_NO_BLOCK)
    if response is not None:
        configuration.update(config_shape(response.get("PublicAccessBlockConfiguration", {})))
    resource.supplementary["PublicAccessBlockConfiguration"] = configuration


def _read_encryption(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketEncryption", missing=("ServerSideEncryptionConfigurationNotFoundError",),
                         Bucket=name)
    if response is not None:
        resource.supplementary["ServerSideEncryptionConfiguration"] = encryption_document(response)


def encryption_document(response: dict[str, Any]) -> dict[str, Any]:
    """Turn a GetBucketEncryption response into AWS Config's ServerSideEncryptionConfiguration."""
    # NOTE: AWS Config spells these keys sseAlgorithm and kmsMasterKeyID (not a plain first-letter
    # lowering of SSEAlgorithm and KMSMasterKeyID); importers of older snapshots may see other spellings.
    rules = []
    for rule in response.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        rules.append({
            "applyServerSideEncryptionByDefault": {
                "sseAlgorithm": default.get("SSEAlgorithm"),
                "kmsMasterKeyID": default.get("KMSMasterKeyID"),
            },
            "bucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
        })
    return {"rules": rules}


def _read_versioning(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketVersioning", Bucket=name) or {}
    mfa_delete = response.get("MFADelete")
    resource.supplementary["BucketVersioningConfiguration"] = {
        "status": response.get("Status", "Off"),
        "isMfaDeleteEnabled": None if mfa_delete is None else mfa_delete == "Enabled",
    }


def _read_logging(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketLogging", Bucket=name) or {}
    enabled = response.get("LoggingEnabled") or {}
    resource.supplementary["BucketLoggingConfiguration"] = {
        "destinationBucketName": enabled.get("TargetBucket"),
        "logFilePrefix": enabled.get("TargetPrefix"),
    }


def _read_ownership(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketOwnershipControls", missing=("OwnershipControlsNotFoundError",), Bucket=name)
    rules = (response or {}).get("OwnershipControls", {}).get("Rules", [])
    resource.supplementary["BucketOwnershipControls"] = {"rules": config_shape(rules)}


def _read_tags(unit: UnitContext, s3: Any, name: str, resource: Resource) -> None:
    response = unit.call(s3, "GetBucketTagging", missing=("NoSuchTagSet", "NoSuchTagSetError"), Bucket=name)
    resource.tags = tag_dict((response or {}).get("TagSet"))


# (envelope path that becomes unknown when the call fails, reader)
_DETAILS = (
    ("supplementaryConfiguration.BucketPolicy", _read_policy),
    ("supplementaryConfiguration.AccessControlList", _read_acl),
    ("supplementaryConfiguration.PublicAccessBlockConfiguration", _read_public_access_block),
    ("supplementaryConfiguration.ServerSideEncryptionConfiguration", _read_encryption),
    ("supplementaryConfiguration.BucketVersioningConfiguration", _read_versioning),
    ("supplementaryConfiguration.BucketLoggingConfiguration", _read_logging),
    ("supplementaryConfiguration.BucketOwnershipControls", _read_ownership),
    ("tags", _read_tags),
)

COLLECTOR = CollectorSpec(
    service="s3",
    global_service=True,
    calls=CALLS,
    resource_types=(BUCKET, ACCOUNT_PUBLIC_ACCESS_BLOCK),
    collect=collect,
    description="S3 buckets and account-level Block Public Access",
)
