"""Ages, rotation schedules and restrictions of GCP keys: service account keys, Cloud KMS keys, API keys.

The functions read resources in the shape of their own REST APIs (the `resource.data` of a Cloud Asset
Inventory export): timestamps as RFC 3339 strings, durations as strings of seconds such as "7776000s".
Malformed input raises ValueError, because guessing would hide an old key or invent one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "age_days",
    "api_target_gaps",
    "application_restriction_gaps",
    "duration_seconds",
    "parse_timestamp",
    "rotation_gaps",
]

SECONDS_PER_DAY = 86400

_DURATION = re.compile(r"(\d+(?:\.\d+)?)s")

# A Cloud API target that stands for every Google Cloud API, so restricting a key to it restricts nothing.
ALL_CLOUD_APIS = "cloudapis.googleapis.com"

# The application restrictions of an API key; a key has at most one of them.
_APPLICATION_RESTRICTIONS = {
    "browserKeyRestrictions": "allowedReferrers",
    "serverKeyRestrictions": "allowedIps",
    "androidKeyRestrictions": "allowedApplications",
    "iosKeyRestrictions": "allowedBundleIds",
}


def parse_timestamp(value: Any) -> datetime:
    """Parse an RFC 3339 timestamp ("2024-05-01T10:00:00.123456789Z"); naive times are taken as UTC."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected an RFC 3339 timestamp, found {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an RFC 3339 timestamp, found {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def age_days(value: Any, now: datetime | None = None) -> float:
    """Return the days elapsed since the timestamp `value`."""
    moment = parse_timestamp(value)
    return ((now or datetime.now(UTC)) - moment).total_seconds() / SECONDS_PER_DAY


def duration_seconds(value: Any) -> float:
    """Return the seconds of a protobuf duration as JSON writes it ("7776000s"), or as {"seconds": N}."""
    if isinstance(value, Mapping):
        seconds = value.get("seconds", 0)
        nanos = value.get("nanos", 0)
        if isinstance(seconds, str) and seconds.isdigit():
            seconds = int(seconds)
        if not isinstance(seconds, int) or not isinstance(nanos, int) or isinstance(seconds, bool):
            raise ValueError(f"expected a duration such as '7776000s', found {value!r}")
        return seconds + nanos / 1e9
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match is not None:
            return float(match.group(1))
    raise ValueError(f"expected a duration such as '7776000s', found {value!r}")


def rotation_gaps(crypto_key: Mapping[str, Any], max_days: float) -> list[str]:
    """List what keeps a Cloud KMS key from rotating automatically at least every `max_days` days.

    Automatic rotation needs both a rotationPeriod and a nextRotationTime; an empty list means no gap.
    """
    if not isinstance(crypto_key, Mapping):
        raise ValueError(f"a CryptoKey must be an object, found {type(crypto_key).__name__}")
    gaps = []
    period = crypto_key.get("rotationPeriod")
    if period is None:
        gaps.append("no rotation period is set, so the key never rotates automatically")
    else:
        days = duration_seconds(period) / SECONDS_PER_DAY
        if days > max_days:
            gaps.append(f"the rotation period is {days:g} days, longer than {max_days:g}")
    if not crypto_key.get("nextRotationTime"):
        gaps.append("no next rotation time is scheduled")
    return gaps


def api_target_gaps(restrictions: Any) -> list[str]:
    """List what keeps an API key from being restricted to named APIs; an empty list means no gap.

    `restrictions` is the key's `restrictions` object (None when the key has none).
    """
    if restrictions is None:
        return ["the key has no restrictions, so it can call every enabled API"]
    if not isinstance(restrictions, Mapping):
        raise ValueError(f"API key restrictions must be an object, found {type(restrictions).__name__}")
    targets = restrictions.get("apiTargets") or []
    if not isinstance(targets, list):
        raise ValueError(f"apiTargets must be a list, found {type(targets).__name__}")
    if not targets:
        return ["the key has no API restrictions, so it can call every enabled API"]

    gaps = []
    for index, target in enumerate(targets):
        if not isinstance(target, Mapping) or not isinstance(target.get("service"), str):
            raise ValueError(f"apiTargets[{index}] must be an object with a service name, found {target!r}")
        if target["service"].strip().lower() == ALL_CLOUD_APIS:
            gaps.append(f"apiTargets[{index}] allows {ALL_CLOUD_APIS}, which stands for every Google Cloud API")
    return gaps


def application_restriction_gaps(restrictions: Any) -> list[str]:
    """List what keeps an API key from accepting calls only from named websites, addresses or apps.

    A browser key must not allow every referrer ("*"), and a server key must not allow every address
    (0.0.0.0/0 or ::/0). An empty list means no gap.
    """
    if restrictions is None:
        return ["the key has no application restriction, so any caller can use it"]
    if not isinstance(restrictions, Mapping):
        raise ValueError(f"API key restrictions must be an object, found {type(restrictions).__name__}")

    present = [(kind, key) for kind, key in _APPLICATION_RESTRICTIONS.items() if restrictions.get(kind) is not None]
    if not present:
        return ["the key has no application restriction, so any caller can use it"]

    gaps = []
    for kind, key in present:
        settings = restrictions[kind]
        if not isinstance(settings, Mapping):
            raise ValueError(f"{kind} must be an object, found {type(settings).__name__}")
        allowed = settings.get(key) or []
        # Android apps are {packageName, sha1Fingerprint} objects; the other lists hold strings.
        item_type = Mapping if kind == "androidKeyRestrictions" else str
        if not isinstance(allowed, list) or not all(isinstance(item, item_type) for item in allowed):
            raise ValueError(f"{kind}.{key} must be a list of {item_type.__name__} values, found {allowed!r}")
        if not allowed:
            gaps.append(f"{kind} lists no {key}")
        elif kind == "browserKeyRestrictions":
            gaps.extend(f"{kind} allows every referrer ({referrer!r})" for referrer in allowed
                        if referrer.strip() in ("*", "*/*", "http://*", "https://*"))
        elif kind == "serverKeyRestrictions":
            gaps.extend(f"{kind} allows every address ({address})" for address in allowed if _whole_internet(address))
    return gaps


def _whole_internet(address: str) -> bool:
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        raise ValueError(f"serverKeyRestrictions.allowedIps has an invalid address {address!r}") from None
    return network.prefixlen == 0
