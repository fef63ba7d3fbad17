"""KMS: every key of the region, with the key policy and rotation status of customer managed keys.

Keys become `AWS::KMS::Key` configuration items: `configuration` is DescribeKey's KeyMetadata, and
`supplementaryConfiguration` contains `Policy` (the default key policy as a JSON string) and
`KeyRotationStatus` (a boolean), the names AWS Config uses. AWS managed keys are collected with their
metadata only, because AWS owns their policies and rotates them every year.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

KEY = "AWS::KMS::Key"

CALLS = api_calls(
    "kms",
    "ListKeys",
    "DescribeKey",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "ListResourceTags",
)

# Automatic rotation exists only for symmetric encryption keys whose key material KMS generated
# (origin AWS_KMS), so not for asymmetric, HMAC, imported or custom key store keys. The key spec
# SYMMETRIC_DEFAULT implies the key usage ENCRYPT_DECRYPT.
ROTATION_KEY_SPEC = "SYMMETRIC_DEFAULT"
ROTATION_ORIGIN = "AWS_KMS"


def collect(unit: UnitContext) -> None:
    """Collect every key of the region, and the policy, rotation status and tags of customer managed keys."""
    kms = unit.client("kms")
    try:
        keys = unit.paginate(kms, "ListKeys", "Keys")
    except CallFailed as failure:
        unit.fail_type(KEY, failure)
        return

    for resource in unit.map(lambda key: _collect_key(unit, key), keys):
        if resource is not None:
            unit.add(resource)


def _collect_key(unit: UnitContext, key: dict[str, Any]) -> Resource | None:
    key_id = key["KeyId"]
    key_arn = key.get("KeyArn") or f"arn:{unit.partition}:kms:{unit.region}:{unit.account}:key/{key_id}"
    kms = unit.client("kms")

    try:
        response = unit.call(kms, "DescribeKey", missing=("NotFoundException",), resource_id=key_arn,
                             KeyId=key_arn)
    except CallFailed as failure:
        # Without the metadata nothing about the key is known, not even who manages it.
        resource = unit.new_resource(KEY, key_arn, key_id, configuration={"keyId": key_id, "arn": key_arn})
        unit.detail_failed(resource, "*", failure)
        return resource
    if response is None:
        logger.debug("account %s region %s: key %s was deleted during the scan", unit.account, unit.region, key_arn)
        return None

    return _key_resource(unit, key_arn, key_id, response["KeyMetadata"])


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named keys of the region (key id, key ARN or alias)."""
    kms = unit.client("kms")
    wanted = list(dict.fromkeys(targets.get(KEY, ())))
    if "*" in wanted:
        collect(unit)
        return

    for key in wanted:
        response = unit.call(kms, "DescribeKey", missing=("NotFoundException",), resource_id=key, KeyId=key)
        if response is None:
            if key.startswith("alias/") or ":alias/" in key:
                # An alias that no longer exists names no key whose findings could resolve.
                logger.debug("account %s region %s: alias %s not found", unit.account, unit.region, key)
                continue
            unit.mark_gone(KEY, key if key.startswith("arn:") else
                           f"arn:{unit.partition}:kms:{unit.region}:{unit.account}:key/{key}")
            continue
        metadata = response["KeyMetadata"]
        unit.add(_key_resource(unit, metadata["Arn"], metadata["KeyId"], metadata))


def _key_resource(unit: UnitContext, key_arn: str, key_id: str, metadata: dict[str, Any]) -> Resource:
    kms = unit.client("kms")
    resource = unit.new_resource(KEY, key_arn, key_id, configuration=key_configuration(metadata))
    if resource.configuration.get("keyManager") != "CUSTOMER":
        return resource

    for path, reader in _CUSTOMER_KEY_DETAILS:
        try:
            reader(unit, kms, resource)
        except CallFailed as failure:
            failure.resource_id = key_arn
            unit.detail_failed(resource, path, failure)
    return resource


def key_configuration(metadata: dict[str, Any]) -> dict[str, Any]:
    """Turn DescribeKey's KeyMetadata into AWS Config's configuration of `AWS::KMS::Key`."""
    configuration: dict[str, Any] = config_shape(metadata)
    # AWS Config writes AWSAccountId as "awsaccountId", not as the plain first-letter lowering.
    if "aWSAccountId" in configuration:
        configuration["awsaccountId"] = configuration.pop("aWSAccountId")
    return configuration


def rotation_readable(configuration: dict[str, Any]) -> bool:
    """Tell whether a key can have automatic rotation, so that its rotation status means something."""
    return (
        configuration.get("keyManager") == "CUSTOMER"
        and configuration.get("keySpec") == ROTATION_KEY_SPEC
        and configuration.get("origin") == ROTATION_ORIGIN
    )


def _read_policy(unit: UnitContext, kms: Any, resource: Resource) -> None:
    # "default" is the only policy name KMS supports.
    response = unit.call(kms, "GetKeyPolicy", KeyId=resource.id, PolicyName="default") or {}
    resource.supplementary["Policy"] = response.get("Policy")


def _read_rotation(unit: UnitContext, kms: Any, resource: Resource) -> None:
    if not rotation_readable(resource.configuration):
        return
    response = unit.call(kms, "GetKeyRotationStatus", KeyId=resource.id) or {}
    resource.supplementary["KeyRotationStatus"] = bool(response.get("KeyRotationEnabled", False))


def _read_tags(unit: UnitContext, kms: Any, resource: Resource) -> None:
    resource.tags = tag_dict(unit.paginate(kms, "ListResourceTags", "Tags", KeyId=resource.id))


# (envelope path that becomes unknown when the call fails, reader)
_CUSTOMER_KEY_DETAILS: tuple[tuple[str, Callable[[UnitContext, Any, Resource], None]], ...] = (
    ("supplementaryConfiguration.Policy", _read_policy),
    ("supplementaryConfiguration.KeyRotationStatus", _read_rotation),
    ("tags", _read_tags),
)

COLLECTOR = CollectorSpec(
    service="kms",
    global_service=False,
    calls=CALLS,
    resource_types=(KEY,),
    collect=collect,
    description="KMS keys with the key policy and rotation status of customer managed keys",
)
