"""Redaction of secrets before a resource reaches storage or output.

Some configuration legitimately contains secrets: Lambda environment variables, EC2 user data,
connection strings. Ridgeline keeps the names (rules may look at them) and replaces the values.
"""

from __future__ import annotations

from typing import Any

from ridgeline.model.resource import Resource

REDACTED = "***redacted***"

# Keys whose values are secrets wherever they appear (compared case-insensitively, whole key only).
SECRET_KEYS = frozenset({
    "password", "masteruserpassword", "adminpassword", "secret", "secretaccesskey", "secretkey",
    "clientsecret", "connectionstring", "connectionstrings", "privatekey", "userdata", "sessiontoken",
    "accesstoken", "authtoken", "apikey", "sharedkey", "primarykey", "secondarykey", "sastoken",
})

# Mappings whose every value is secret, by envelope path from `configuration` (names are kept).
SECRET_VALUE_MAPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::Lambda::Function": (("environment", "variables"),),
}


def redact(resource: Resource) -> Resource:
    """Replace secret values in `resource` in place and return it."""
    for path in SECRET_VALUE_MAPS.get(resource.type, ()):
        mapping = _walk(resource.configuration, path)
        if isinstance(mapping, dict):
            for key in mapping:
                mapping[key] = REDACTED
    _redact_keys(resource.configuration)
    _redact_keys(resource.supplementary)
    return resource


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    # Keys match case-insensitively: the API shape ("Environment.Variables") must be redacted too.
    for key in path:
        if not isinstance(value, dict):
            return None
        lowered = key.lower()
        value = next((item for name, item in value.items() if isinstance(name, str) and name.lower() == lowered), None)
    return value


def _redact_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SECRET_KEYS and item not in (None, "", REDACTED):
                value[key] = REDACTED
            else:
                _redact_keys(item)
    elif isinstance(value, list):
        for item in value:
            _redact_keys(item)
