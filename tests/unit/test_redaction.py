"""Tests for redaction: secret values are replaced, their names and every other value are kept."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from ridgeline.model.redaction import REDACTED, SECRET_KEYS, SecretKeyHint, redact
from ridgeline.model.resource import Resource
from ridgeline.providers.azure.envelope import AZURE_SECRET_KEYS

LAMBDA = "AWS::Lambda::Function"


def make_resource(type_name: str, configuration: dict[str, Any],
                  supplementary: dict[str, Any] | None = None) -> Resource:
    return Resource(provider="aws", account="123456789012", region="us-east-1", type=type_name,
                    id=f"arn:{type_name}:x", name="x", configuration=configuration,
                    supplementary=supplementary or {}, tags={"password": "tag-value"},
                    relationships=[{"resourceName": "secret"}])


def test_lambda_variables_redacted() -> None:
    resource = make_resource(LAMBDA, {
        "functionName": "api",
        "environment": {"variables": {"DB_HOST": "db.internal", "API_TOKEN": "abc123", "DEBUG": "1"}},
    })

    redacted = redact(resource)

    assert redacted is resource
    assert resource.configuration["environment"]["variables"] == {
        "DB_HOST": REDACTED, "API_TOKEN": REDACTED, "DEBUG": REDACTED}
    assert resource.configuration["functionName"] == "api"


def test_lambda_variables_in_api_shape() -> None:
    resource = make_resource(LAMBDA, {"Environment": {"Variables": {"SECRET_URL": "https://u:p@h"}}})

    redact(resource)

    assert resource.configuration["Environment"]["Variables"] == {"SECRET_URL": REDACTED}


def test_variables_of_other_types_kept() -> None:
    resource = make_resource("AWS::ECS::TaskDefinition", {"environment": {"variables": {"MODE": "prod"}}})

    redact(resource)

    assert resource.configuration["environment"]["variables"] == {"MODE": "prod"}


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secret_key_redacted(key: str) -> None:
    resource = make_resource("AWS::RDS::DBInstance", {"settings": [{key: "value-1"}]},
                             supplementary={"detail": {key.upper(): "value-2"}})

    redact(resource)

    assert resource.configuration["settings"][0][key] == REDACTED
    assert resource.supplementary["detail"][key.upper()] == REDACTED


@pytest.mark.parametrize("key", [
    "passwordLastUsed", "passwordEnabled", "PasswordPolicy", "password_last_changed", "secretArn",
    "kmsKeyId", "MasterUsername", "userDataFormat", "apiKeySource", "hasSecret",
])
def test_similar_keys_kept(key: str) -> None:
    resource = make_resource("AWS::IAM::User", {key: "2024-01-01T00:00:00Z", "nested": [{key: True}]})

    redact(resource)

    assert resource.configuration == {key: "2024-01-01T00:00:00Z", "nested": [{key: True}]}


@pytest.mark.parametrize("value", [None, ""])
def test_empty_secret_kept(value: str | None) -> None:
    # An empty password is a fact rules may look at, not a secret.
    resource = make_resource("AWS::RDS::DBInstance", {"masterUserPassword": value})

    redact(resource)

    assert resource.configuration == {"masterUserPassword": value}


def test_secret_mapping_replaced_whole() -> None:
    resource = make_resource("AWS::Custom::Thing", {"secret": {"value": "v", "rotation": 30}})

    redact(resource)

    assert resource.configuration == {"secret": REDACTED}


def test_tags_and_relationships_untouched() -> None:
    resource = make_resource("AWS::S3::Bucket", {"password": "p"})
    tags = copy.deepcopy(resource.tags)
    relationships = copy.deepcopy(resource.relationships)

    redact(resource)

    assert resource.tags == tags
    assert resource.relationships == relationships


def test_redaction_idempotent() -> None:
    resource = make_resource(LAMBDA, {"environment": {"variables": {"A": "1"}}, "password": "p"})
    redact(resource)
    first = copy.deepcopy(resource.configuration)

    redact(resource)

    assert resource.configuration == first


# The quick test before the walk ------------------------------------------------------------------------

_WORDS = sorted(SECRET_KEYS | AZURE_SECRET_KEYS | {"appSettings", "keys", "primaryConnectionString", "sasToken"})
_PLAIN = ["name", "id", "properties", "value", "keyName", "tokens", "passwordPolicy", "k", "secretName", "x\"y"]
_SECRET_TEXTS = ["Server=db;Password=pw", "https://h/?sv=1&sig=a", "Endpoint=sb://x;SharedAccessKey=k",
                 "DefaultEndpointsProtocol=https;AccountKey=abc==", "Data Source=db;PWD=x", "SharedAccessSignature=sv"]


def _plain_value(rng: random.Random, depth: int = 0) -> Any:
    """Return a JSON value of plain keys and values, which no redaction changes."""
    choice = rng.random()
    if depth > 3 or choice < 0.3:
        return rng.choice(["v", "", None, 1, 2.5, True, "é", "a=b"])
    if choice < 0.5:
        return [_plain_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_PLAIN): _plain_value(rng, depth + 1) for _ in range(rng.randint(1, 4))}


def _with_one_secret(rng: random.Random) -> dict[str, Any]:
    """Return plain configuration with one secret key or secret text, in some spelling, at a random depth."""
    configuration: dict[str, Any] = {"properties": _plain_value(rng)}
    mappings = [configuration]
    pending: list[Any] = [configuration]
    while pending:
        value = pending.pop()
        children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
        mappings.extend(child for child in children if isinstance(child, dict))
        pending.extend(children)
    target = rng.choice(mappings)

    if rng.random() < 0.2:
        target[rng.choice(_PLAIN)] = rng.choice(_SECRET_TEXTS)
        return configuration
    key = rng.choice(_WORDS)
    spelling = rng.random()
    if spelling < 0.3:
        key = key.upper()
    elif spelling < 0.6:
        key = "prefix" + key
    elif spelling < 0.7:
        # The Kelvin sign lowers to "k" as a str, but not as UTF-8 bytes.
        key = key.replace("k", "\u212a")
    target[key] = rng.choice(["s3cr3t", {"name": "n", "value": "v"}, [{"name": "n", "value": "v"}], ["a"]])
    return configuration


def _changed_by(walk: Callable[[Resource], Any], configuration: dict[str, Any]) -> bool:
    resource = make_resource("Microsoft.Web/sites", copy.deepcopy(configuration))
    resource.tags = {}
    walk(resource)
    return resource.configuration != configuration


@pytest.mark.parametrize("seed", range(20))
def test_hints_never_skip_a_resource_the_walk_would_change(seed: int) -> None:
    # The hints let importers skip the walk over values: a miss must mean the walk finds nothing to redact.
    from ridgeline.imports import azure_arm, gcp_cai

    rng = random.Random(seed)
    for _ in range(200):
        plain = {"properties": _plain_value(rng)}
        assert not _changed_by(redact, plain) and not _changed_by(azure_arm.redact_values, plain)

        configuration = _with_one_secret(rng)
        resource = make_resource("Microsoft.Web/sites", configuration)
        if _changed_by(redact, configuration):
            assert gcp_cai._may_name_secret(resource), configuration
        if _changed_by(azure_arm.redact_values, configuration):
            assert azure_arm._may_hold_secrets(resource), configuration


@pytest.mark.parametrize(("text", "whole", "hit"), [
    (b'{"password":"x"}', True, True),
    (b'{"adminpassword":"x"}', True, False),
    (b'{"adminpassword":"x"}', False, True),
    (b'{"name":"password"}', True, False),
    (b'{"a":{"b":[{"apikey":1}]}}', True, True),
    (b'{"passwordpolicy":"x"}', False, False),
    (b'{"\xe2\x84\xaaey":"x"}', True, True),
])
def test_secret_key_hint(text: bytes, whole: bool, hit: bool) -> None:
    hint = SecretKeyHint(["password", "apikey"], whole_key=whole)

    assert hint.search(text) is hit
