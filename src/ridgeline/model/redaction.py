"""Redaction of secrets before a resource reaches storage or output.

Some configuration legitimately contains secrets: Lambda environment variables, EC2 user data,
connection strings. Ridgeline keeps the names (rules may look at them) and replaces the values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

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


class SecretKeyHint:
    """A quick test that tells whether a value may hold one of some secret keys, before walking it.

    Importers redact millions of resources, and walking every value of each one took a large share of the
    import while almost none holds a secret key. The test reads orjson's text of the value instead. There
    every key ends with `":`, so the text is searched reversed, where each key starts with the literal `:"`:
    the regular expression engine skips to those quickly, while a pattern of many words would be tried at
    every position (about seven times slower on Azure resources).

    With `whole_key` a key must equal a word, else end with one; keys compare in lower case. A hit may be
    a false alarm (the caller then walks the value), but a miss means the walk would find no such key.
    """

    def __init__(self, words: Iterable[str], *, whole_key: bool) -> None:
        start = b'"' if whole_key else b""
        reversed_words = sorted({re.escape(word.lower().encode()[::-1]) + start for word in words})
        self._pattern = re.compile(b':"(?:' + b"|".join(reversed_words) + b")")

    def search(self, text: bytes) -> bool:
        """Tell whether `text`, lower-case JSON as orjson writes it, may contain a secret key."""
        # bytes.lower() leaves non-ASCII letters alone, while str.lower() maps some to ASCII ones (the Kelvin
        # sign to "k"), so text outside ASCII always counts as a hit.
        return not text.isascii() or self._pattern.search(text[::-1]) is not None


def json_text(*values: Any) -> bytes | None:
    """Return the lower-case JSON text of `values` for a `SecretKeyHint`, or None when orjson cannot write one.

    orjson rejects integers beyond 64 bits and keys that are not strings, which the json module accepts;
    the caller then walks the values.
    """
    try:
        return b"".join(orjson.dumps(value) for value in values).lower()
    except TypeError:
        return None
