"""Timestamps, durations, Cloud KMS rotation and API key restrictions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ridgeline.analysis.gcp_keys import (
    age_days,
    api_target_gaps,
    application_restriction_gaps,
    duration_seconds,
    parse_timestamp,
    rotation_gaps,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-05-01T00:00:00Z", datetime(2026, 5, 1, tzinfo=UTC)),
    ("2018-11-24T22:57:42.206650064Z", datetime(2018, 11, 24, 22, 57, 42, 206650, tzinfo=UTC)),
    ("2026-05-01T02:00:00+02:00", datetime(2026, 5, 1, tzinfo=UTC)),
    ("2026-05-01T00:00:00", datetime(2026, 5, 1, tzinfo=UTC)),
])
def test_parse_timestamp(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("value", ["", "yesterday", None, 1714521600])
def test_parse_timestamp_rejects_other_values(value: Any) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_timestamp(value)


def test_age_days() -> None:
    assert age_days("2026-03-03T00:00:00Z", now=NOW) == 90


@pytest.mark.parametrize(("value", "seconds"), [
    ("7776000s", 7776000),
    ("86400.5s", 86400.5),
    (" 60s ", 60),
    ({"seconds": 7776000}, 7776000),
    ({"seconds": "60", "nanos": 500000000}, 60.5),
])
def test_duration_seconds(value: Any, seconds: float) -> None:
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize("value", ["90d", "7776000", "", 7776000, {"seconds": True}, {"seconds": 1.5}])
def test_duration_rejects_other_values(value: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        duration_seconds(value)


ROTATION_CASES = [
    # (case id, CryptoKey fields, expected gaps)
    ("90 days scheduled", {"rotationPeriod": "7776000s", "nextRotationTime": "2026-07-01T00:00:00Z"}, []),
    ("30 days scheduled", {"rotationPeriod": "2592000s", "nextRotationTime": "2026-07-01T00:00:00Z"}, []),
    ("one year", {"rotationPeriod": "31536000s", "nextRotationTime": "2026-07-01T00:00:00Z"},
     ["the rotation period is 365 days, longer than 90"]),
    ("no period", {"nextRotationTime": "2026-07-01T00:00:00Z"},
     ["no rotation period is set, so the key never rotates automatically"]),
    ("no next rotation", {"rotationPeriod": "7776000s"}, ["no next rotation time is scheduled"]),
    ("nothing set", {}, ["no rotation period is set, so the key never rotates automatically",
                         "no next rotation time is scheduled"]),
]


@pytest.mark.parametrize(("fields", "gaps"), [case[1:] for case in ROTATION_CASES],
                         ids=[case[0] for case in ROTATION_CASES])
def test_rotation_gaps(fields: dict[str, Any], gaps: list[str]) -> None:
    key = {"name": "projects/p/locations/global/keyRings/r/cryptoKeys/k", "purpose": "ENCRYPT_DECRYPT", **fields}

    assert rotation_gaps(key, 90) == gaps


def test_rotation_gaps_reject_bad_period() -> None:
    with pytest.raises(ValueError, match="duration"):
        rotation_gaps({"rotationPeriod": "90 days", "nextRotationTime": "2026-07-01T00:00:00Z"}, 90)


API_TARGET_CASES = [
    # (case id, restrictions, gap count)
    ("named APIs", {"apiTargets": [{"service": "translate.googleapis.com"},
                                   {"service": "maps-backend.googleapis.com"}]}, 0),
    ("named methods", {"apiTargets": [{"service": "translate.googleapis.com", "methods": ["Get*"]}]}, 0),
    ("no restrictions", None, 1),
    ("application restriction only", {"serverKeyRestrictions": {"allowedIps": ["203.0.113.7"]}}, 1),
    ("empty targets", {"apiTargets": []}, 1),
    ("all cloud APIs", {"apiTargets": [{"service": "cloudapis.googleapis.com"}]}, 1),
]


@pytest.mark.parametrize(("restrictions", "gap_count"), [case[1:] for case in API_TARGET_CASES],
                         ids=[case[0] for case in API_TARGET_CASES])
def test_api_target_gaps(restrictions: Any, gap_count: int) -> None:
    assert len(api_target_gaps(restrictions)) == gap_count


@pytest.mark.parametrize("restrictions", ["translate", {"apiTargets": "translate"}, {"apiTargets": ["translate"]}])
def test_api_target_gaps_reject_malformed(restrictions: Any) -> None:
    with pytest.raises(ValueError):
        api_target_gaps(restrictions)


APPLICATION_CASES = [
    # (case id, restrictions, gap count)
    ("server key with one address", {"serverKeyRestrictions": {"allowedIps": ["203.0.113.7", "2001:db8::/32"]}}, 0),
    ("browser key with one site", {"browserKeyRestrictions": {"allowedReferrers": ["https://www.example.com/*"]}}, 0),
    ("android app", {"androidKeyRestrictions": {"allowedApplications": [
        {"sha1Fingerprint": "DA:39:A3:EE", "packageName": "com.example.app"}]}}, 0),
    ("ios app", {"iosKeyRestrictions": {"allowedBundleIds": ["com.example.app"]}}, 0),
    ("no restrictions", None, 1),
    ("API targets only", {"apiTargets": [{"service": "translate.googleapis.com"}]}, 1),
    ("every IPv4 address", {"serverKeyRestrictions": {"allowedIps": ["0.0.0.0/0"]}}, 1),
    ("every IPv6 address", {"serverKeyRestrictions": {"allowedIps": ["203.0.113.7", "::/0"]}}, 1),
    ("every referrer", {"browserKeyRestrictions": {"allowedReferrers": ["*"]}}, 1),
    ("empty list", {"iosKeyRestrictions": {"allowedBundleIds": []}}, 1),
]


@pytest.mark.parametrize(("restrictions", "gap_count"), [case[1:] for case in APPLICATION_CASES],
                         ids=[case[0] for case in APPLICATION_CASES])
def test_application_restriction_gaps(restrictions: Any, gap_count: int) -> None:
    assert len(application_restriction_gaps(restrictions)) == gap_count


@pytest.mark.parametrize("restrictions", [
    {"serverKeyRestrictions": {"allowedIps": ["not an address"]}},
    {"serverKeyRestrictions": ["203.0.113.7"]},
    {"browserKeyRestrictions": {"allowedReferrers": "https://www.example.com"}},
    {"androidKeyRestrictions": {"allowedApplications": ["com.example.app"]}},
])
def test_application_restriction_gaps_reject_malformed(restrictions: Any) -> None:
    with pytest.raises(ValueError):
        application_restriction_gaps(restrictions)
