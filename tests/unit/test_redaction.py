"""Tests for redaction: secret values are replaced, their names and every other value are kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ridgeline.model.redaction import REDACTED, SECRET_KEYS, redact
from ridgeline.model.resource import Resource

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
