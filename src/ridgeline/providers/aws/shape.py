"""Conversions from boto3 responses to the AWS Config configuration item shape.

AWS Config records most resources as the service's Describe output with camelCase keys
("GroupId" becomes "groupId") and times as ISO 8601 strings; these helpers do that once for every
collector.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def camel_key(key: str) -> str:
    """Lower the first letter of a key, as AWS Config does ("IpPermissions" -> "ipPermissions")."""
    return key[:1].lower() + key[1:] if key else key


def config_shape(value: Any) -> Any:
    """Return `value` with camelCase dict keys and ISO 8601 times, recursively."""
    if isinstance(value, dict):
        return {camel_key(key): config_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [config_shape(item) for item in value]
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def iso_time(moment: datetime) -> str:
    """Return a UTC ISO 8601 string with milliseconds and a Z suffix."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def tag_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    """Turn a boto3 tag list ([{"Key": k, "Value": v}]) into a mapping."""
    result: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key", tag.get("key", tag.get("TagKey")))
        if key is not None:
            result[str(key)] = str(tag.get("Value", tag.get("value", tag.get("TagValue", ""))))
    return result


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """Build an ARN."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
