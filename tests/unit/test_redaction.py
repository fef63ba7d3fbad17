"""Tests for redaction: secret values are replaced, their names and every other value are kept."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

import pytest

from ridgeline.model.redaction import REDACTED, SECRET_KEYS, SECRET_LABEL_PREFIXES, SHARED, redact, redact_text
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


def test_variables_of_any_environment_redacted() -> None:
    # Any type's `environment.variables` contains environment variables, not only a Lambda function's.
    resource = make_resource("AWS::ECS::TaskDefinition", {"environment": {"variables": {"MODE": "prod"}}})

    redact(resource)

    assert resource.configuration["environment"]["variables"] == {"MODE": REDACTED}


def test_variables_outside_an_environment_kept() -> None:
    resource = make_resource("AWS::ECS::TaskDefinition", {"settings": {"variables": {"MODE": "prod"}}})

    redact(resource)

    assert resource.configuration["settings"]["variables"] == {"MODE": "prod"}


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secret_key_redacted(key: str) -> None:
    resource = make_resource("AWS::RDS::DBInstance", {"settings": [{key: "value-1"}]},
                             supplementary={"detail": {key.upper(): "value-2"}})

    redact(resource)

    assert resource.configuration["settings"][0][key] == REDACTED
    assert resource.supplementary["detail"][key.upper()] == REDACTED


@pytest.mark.parametrize("key", [
    "passwordLastUsed", "passwordEnabled", "PasswordPolicy", "password_last_changed", "secretArn",
    "kmsKeyId", "MasterUsername", "userDataFormat", "apiKeySource", "httpTokens", "tokenExpiry",
    # Keys of a provider's schema count by their whole name or their end only, never by their start.
    "pwd_policy_version", "pwdLastSet", "credentialsType", "credential",
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


@pytest.mark.parametrize("key", ["hasSecret", "rootPassword", "DB_PASSWORD", "db-password", "GITHUB_TOKEN"])
def test_secret_suffix_redacts_strings_only(key: str) -> None:
    # A flag or a nested setting under such a key is a fact rules read; a string may be the secret itself.
    resource = make_resource("AWS::IAM::User", {key: "s3cr3t", "nested": [{key: True}], "deeper": {key: {"a": 1}}})

    redact(resource)

    assert resource.configuration == {key: REDACTED, "nested": [{key: True}], "deeper": {key: {"a": 1}}}


def test_secret_tags_redacted_relationships_untouched() -> None:
    resource = make_resource("AWS::S3::Bucket", {"password": "p"})
    resource.tags = {"Password": "p1", "DB_TOKEN": "p2", "team": "web", "note": "Server=db;Password=p3"}
    relationships = copy.deepcopy(resource.relationships)

    redact(resource)

    assert resource.tags == {"Password": REDACTED, "DB_TOKEN": REDACTED, "team": "web", "note": REDACTED}
    assert resource.relationships == relationships


@pytest.mark.parametrize("key", ["pw", "PWD", "credentials", "DB_PW", "mysql-pwd", "gitCredentials"])
def test_short_password_keys_redacted(key: str) -> None:
    resource = make_resource("AWS::Custom::Thing", {"settings": {key: "value-1"}})

    redact(resource)

    assert resource.configuration["settings"][key] == REDACTED


# Passwords in URLs and private keys, in any string ---------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("https://user:SeKrEt-A10@example.com", f"https://user:{REDACTED}@example.com"),
    ("mysql://root:SeKrEt-G05@10.0.0.5/db", f"mysql://root:{REDACTED}@10.0.0.5/db"),
    ("postgresql://u:VAL-91@h/db", f"postgresql://u:{REDACTED}@h/db"),
    ("redis://:VAL-92@h:6379", f"redis://:{REDACTED}@h:6379"),
    ("mongodb+srv://app:p%40ss@cluster0.example.net/db?retryWrites=true",
     f"mongodb+srv://app:{REDACTED}@cluster0.example.net/db?retryWrites=true"),
    # An unencoded "@" in the password: the host starts after the last "@" of the authority.
    ("amqp://u:p@ss@broker:5672/vhost", f"amqp://u:{REDACTED}@broker:5672/vhost"),
    ("see https://a:b@h1/x and ftp://c:d@h2", f"see https://a:{REDACTED}@h1/x and ftp://c:{REDACTED}@h2"),
    ("jdbc:mysql://root:pw1@db:3306/app", f"jdbc:mysql://root:{REDACTED}@db:3306/app"),
    (f"mysql://root:{REDACTED}@10.0.0.5/db", f"mysql://root:{REDACTED}@10.0.0.5/db"),
    # A raw "#", "?" or "/" in the password: it ends at the last "@" that a host follows.
    ("mysql://root:QQV01#x@h/db", f"mysql://root:{REDACTED}@h/db"),
    ("mysql://root:a?b@h:3306/db?ssl=1", f"mysql://root:{REDACTED}@h:3306/db?ssl=1"),
    ("mysql://root:a/b#c?d@h", f"mysql://root:{REDACTED}@h"),
    ("redis://:#@h:6379/0", f"redis://:{REDACTED}@h:6379/0"),
    ("postgres://u:p#1@db.internal.", f"postgres://u:{REDACTED}@db.internal."),
    ("http://u:p@[::1]:5432/db", f"http://u:{REDACTED}@[::1]:5432/db"),
    # A raw "@" with "#", "?" or "/" in the password: it ends at the last "@" that a host follows.
    ("mongodb://u:p@ss#w?o/rdPWX10@mongo/x", f"mongodb://u:{REDACTED}@mongo/x"),
    ("postgresql://app:p@ssw0rd@db.internal:5432/app", f"postgresql://app:{REDACTED}@db.internal:5432/app"),
    ("mongodb://u:p@ss@h1:27017,h2:27017/db?replicaSet=rs0",
     f"mongodb://u:{REDACTED}@h1:27017,h2:27017/db?replicaSet=rs0"),
    ("mysql://u:a@b/c@d#e@h/db", f"mysql://u:{REDACTED}@h/db"),
    ("x mysql://u:p@ss/w@h/db y@z", f"x mysql://u:{REDACTED}@h/db y@z"),
    ('{"url": "https:\\/\\/u:p@ss\\/x@h\\/db"}', f'{{"url": "https:\\/\\/u:{REDACTED}@h\\/db"}}'),
    # An "@" in the query reads as the end of a password with a raw "@": the host and query go too.
    ("mysql://u:p@h/x?mail=a@b", f"mysql://u:{REDACTED}@b"),
    # A URL in JSON-escaped text.
    ('{"url": "https:\\/\\/u:p@h\\/db"}', f'{{"url": "https:\\/\\/u:{REDACTED}@h\\/db"}}'),
])
def test_url_password_replaced(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "user@host", "alice@example.com", "git@github.com:org/repo.git", "ssh://git@github.com:22/org/repo",
    "http://host:8080/", "https://host:8443/path?next=a:b@c", "https://user@host/path", "https://u:@host/",
    "http://[::1]:8080/", "mailto:alice@example.com", "sa@project.iam.gserviceaccount.com",
    "https://h/p#frag:x@y", "https://host/path?x=a:b@c", "https://host?x=a:b@c", "http://[::1]:8080/p?a=b@c",
    "https://host:443/?email=a@b.com", "mysql://root:pw@h:1:2",
    "https:\\/\\/host\\/p?x=a:b@c",
    # Look-alikes with several "@": a user without a password, a port before the path, IPv6.
    "ssh://git@host:22/x?ref=a@b", "https://user@host/p?x=a:b@c", "https://host:8443/p?next=a:b@c@d",
    "http://[::1]:8080/a@b:c@d", "git@github.com:org/repo@v1", "alice@example.com, bob@example.com",
])
def test_text_without_url_password_kept(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize("header", [
    "-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN ENCRYPTED PRIVATE KEY-----",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----",
])
def test_private_key_replaced_whole(header: str) -> None:
    key = f"{header}\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\n-----END KEY-----\n"
    resource = make_resource("AWS::Custom::Thing", {"note": key, "list": ["x", f"prefix {key}"]})

    redact(resource)

    assert resource.configuration == {"note": REDACTED, "list": ["x", REDACTED]}


@pytest.mark.parametrize("text", [
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----\nMIIB",
    "ssh-rsa AAAAB3NzaC1yc2E alice@laptop", "rotate the private key yearly",
])
def test_public_keys_and_prose_kept(text: str) -> None:
    assert redact_text(text) == text


def test_url_password_redacted_everywhere() -> None:
    url = "postgresql://app:hunter2@db.internal:5432/app"
    resource = make_resource("AWS::Custom::Thing", {"endpoint": url, "urls": [url], "nested": {"items": [
        {"name": "DATABASE", "value": url}]}})
    resource.tags = {"dsn": url}

    redact(resource)

    kept = f"postgresql://app:{REDACTED}@db.internal:5432/app"
    assert resource.configuration == {"endpoint": kept, "urls": [kept], "nested": {"items": [
        {"name": "DATABASE", "value": kept}]}}
    assert resource.tags == {"dsn": kept}


# Tags and labels -----------------------------------------------------------------------------------------

LABELS = {"pw": "v1", "pwd": "v2", "credentials": "v3", "secret-label": "v4", "Password_DB": "v5",
          "token": "v6", "pwd_policy_version": "3", "team": "web", "cost-center": "42", "passthrough": "yes"}
SECRET_LABELS = {"pw", "pwd", "credentials", "secret-label", "Password_DB", "token", "pwd_policy_version"}


def _expected_labels() -> dict[str, str]:
    return {name: REDACTED if name in SECRET_LABELS else value for name, value in LABELS.items()}


def test_tags_named_like_secrets_redacted() -> None:
    resource = make_resource("AWS::S3::Bucket", {})
    resource.tags = dict(LABELS)

    redact(resource)

    # A tag name that starts with a secret word counts, `pwd_policy_version` too (see SECRET_LABEL_PREFIXES).
    assert resource.tags == _expected_labels()


@pytest.mark.parametrize("path", [("labels",), ("settings", "userLabels"), ("resourceLabels",), ("tags",),
                                  ("nodeConfig", "labels")])
def test_label_mappings_redacted_like_tags(path: tuple[str, ...]) -> None:
    configuration: dict[str, Any] = {}
    target = configuration
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = dict(LABELS)
    resource = make_resource("Microsoft.Web/sites", configuration)

    redact(resource)

    labels = resource.configuration
    for key in path:
        labels = labels[key]
    assert labels == _expected_labels()


@pytest.mark.parametrize(("name_field", "value_field"), [("key", "value"), ("Key", "Value"), ("tagKey", "tagValue")])
def test_listed_tags_redacted_like_tags(name_field: str, value_field: str) -> None:
    resource = make_resource("AWS::EC2::Instance", {"tags": [{name_field: name, value_field: value}
                                                             for name, value in LABELS.items()]})

    redact(resource)

    assert resource.configuration["tags"] == [{name_field: name, value_field: value}
                                              for name, value in _expected_labels().items()]


def test_label_prefixes_only_in_labels() -> None:
    # Outside tags, labels and {name, value} items a key that starts with a secret word is a provider's field.
    configuration = {"settings": {"pwd_policy_version": "3", "secretName": "db", "tokenExpiry": "1h"},
                     "items": [{"key": "team", "value": "v"}, {"key": "enable-oslogin", "value": "TRUE"}]}
    resource = make_resource("AWS::Custom::Thing", copy.deepcopy(configuration))

    redact(resource)

    assert resource.configuration == configuration


ITEM_NAMES = {"secret-label": True, "SecretLabel": True, "SECRET_LABEL": True, "credential": True,
              "Credentials-Prod": True, "pw": True, "credentials": True, "mysecret": True, "Password_DB": True,
              "token-expiry": True, "team": False, "enable-oslogin": False, "my-config": False, "passthrough": False,
              "secretary": True}


@pytest.mark.parametrize(("name_field", "value_field"), [("key", "value"), ("name", "value"), ("Key", "Value"),
                                                         ("keyName", "secureValue")])
def test_items_named_like_labels_redacted(name_field: str, value_field: str) -> None:
    # GCP metadata items are a store of {key, value} pairs that users name, as they name labels.
    items = [{name_field: name, value_field: "v"} for name in ITEM_NAMES]
    resource = make_resource("compute.googleapis.com/Instance", {"metadata": {"items": items}})

    redact(resource)

    kept = resource.configuration["metadata"]["items"]
    for item, (name, secret) in zip(kept, ITEM_NAMES.items(), strict=True):
        assert item == {name_field: name, value_field: REDACTED if secret else "v"}, name


@pytest.mark.parametrize("text", [
    "Password: hunter2", "password: hunter2", "DB_PWD: x1", "db-password:  x", 'config {"password": "x"}',
    "password=x", "Password=x", "note PWD=x", 'yaml: "password" : x',
])
def test_labelled_password_in_text_replaced(text: str) -> None:
    assert redact_text(text) == REDACTED


@pytest.mark.parametrize("text", [
    "Enter the password:", "password reset required", "passwordPolicy: strict", "password:x", "passwd: files",
    "the pwd command", "lastPasswordChange: 2024-01-01",
])
def test_text_near_labelled_password_kept(text: str) -> None:
    assert redact_text(text) == text


def test_redaction_idempotent() -> None:
    resource = make_resource(LAMBDA, {"environment": {"variables": {"A": "1"}}, "password": "p"})
    redact(resource)
    first = copy.deepcopy(resource.configuration)

    redact(resource)

    assert resource.configuration == first


# The quick test before the walk ------------------------------------------------------------------------

_WORDS = sorted(SECRET_KEYS | AZURE_SECRET_KEYS | {"appSettings", "keys", "primaryConnectionString", "sasToken",
                                                  "rootPassword", "authorization", "hasSecret", "API_KEY", "DB_PW",
                                                  "gitCredentials"})
# Keys that hold variables: a list or a mapping under them is redacted.
_CONTAINERS = ["env", "environment", "environmentVariables", "buildEnvironmentVariables", "envVariables", "secrets",
               "runtimeEnvironmentVariables", "appSettings", "keys"]
# Names of {name, value} items whose value is secret (GCP metadata scripts, variables named like secrets).
_SECRET_NAMES = ["startup-script", "shutdown-script", "windows-startup-script-ps1", "sysprep-specialize-script-cmd",
                 "user-data", "DB_PASSWORD", "apiKey", "token", "secret-label", "SecretLabel", "credential",
                 "Credentials-Prod", "pwd_policy_version", "authorization"]
# Plain keys, which no redaction changes whatever plain value they hold: item fields included, since items are
# redacted by the name they carry, and `variables` outside an environment.
_PLAIN = ["name", "id", "properties", "value", "keyName", "tokens", "passwordPolicy", "k", "secretName", "x\"y",
          "key", "Key", "optionName", "namespace", "variables", "items", "metadata", "environmentName", "Value"]
_SECRET_TEXTS = ["Server=db;Password=pw", "https://h/?sv=1&sig=a", "Endpoint=sb://x;SharedAccessKey=k",
                 "DefaultEndpointsProtocol=https;AccountKey=abc==", "Data Source=db;PWD=x", "SharedAccessSignature=sv",
                 "Bearer eyJhbGciOi.J9x", "bearer abc123def456", "Basic dXNlcjpwYXNz", "curl -H 'BASIC ab12cd34ef'",
                 "https://f.azurewebsites.net/api/x?code=abc", "https://h/p?x=1&access_token=t", "/v1?API-KEY=k",
                 # Passwords in URLs: "-" and "_" are not in the quick test's text, so "-" leaves it empty there.
                 "mysql://root:s3cr3t@10.0.0.5/db", "redis://:pw@h:6379", "amqp://u:p@ss@h/v", "https://U:-@h",
                 'postgresql://u:pa"ss@h/db', "x https://u:p\\w@h y", "MONGODB+SRV://A_B:C-D@E",
                 "-----BEGIN RSA PRIVATE KEY-----\nMIIE", "-----BEGIN OPENSSH PRIVATE KEY-----",
                 "key: -----begin ec private key-----", "-----BEGIN PRIVATE KEY-----",
                 # A raw "#", "?", "/" or quote in a URL password, and JSON-escaped URLs.
                 "mysql://root:QQV01#x@h/db", "mysql://r:a?b/c@h:1/d?e=f@g", "redis://:#@h", 'x://:"/@h',
                 "https:\\/\\/u:p@h\\/db", 'https:\\/\\/u:p\\"#@h', "s://U:1#@h",
                 # A raw "@" in a URL password, with "#", "?", "/", a quote or "-" beside it.
                 "mongodb://u:p@ss#w?o/rdPWX10@mongo/x", "postgresql://app:p@ssw0rd@db.internal:5432/app",
                 "mysql://u:p@h/x?mail=a@b", "x://:@@h", 'r://U:@"/-@h:1', "https:\\/\\/u:p@s\\/x@h\\/d",
                 "s://u:-@-#@h?a=@", "MONGODB://A:B@C?D@E",
                 # Passwords labelled in text.
                 "Password: hunter2", "DB_PWD:  x", 'conf {"password": "x"}', 'a "PWD" : b']
# Names of tags and labels: a secret word at the start counts there only.
_LABEL_CONTAINERS = ["labels", "userLabels", "resourceLabels", "tags", "tagList", "TagSet"]
_LABEL_NAMES = [*SECRET_LABEL_PREFIXES, "secret-label", "pwd_policy_version", "Token-Expiry", "pw", "credentials"]


# Strings close to secrets that no redaction changes: addresses without passwords, ports, public keys.
_PLAIN_TEXTS = ["user@host", "http://host:8080/", "git@github.com:org/repo", "ssh://git@github.com:22/x",
                "https://u:@h/", "alice@example.com", "https://h/p?next=a:b@c", "-----BEGIN CERTIFICATE-----\nMII",
                "-----BEGIN PUBLIC KEY-----", "http://[::1]:8080/", "https://host:443/p?x=a:b@c", "http://[::1]:80/?a@b",
                "https:\\/\\/h\\/p?x=a:b@c", "https://user@host/", "ssh://git@host:22/x?ref=a@b",
                "https://host:8443/p?next=a:b@c@d"]


def _plain_value(rng: random.Random, depth: int = 0) -> Any:
    """Return a JSON value of plain keys and values, which no redaction changes."""
    choice = rng.random()
    if depth > 3 or choice < 0.3:
        return rng.choice(["v", "", None, 1, 2.5, True, "é", "a=b", "Basic tier", "Bearer x", "prod",
                           rng.choice(_PLAIN_TEXTS)])
    if choice < 0.35:
        # Labels with plain names.
        return {rng.choice(_LABEL_CONTAINERS): rng.choice([{"team": "web", "env": "prod"}, {},
                                                           [{"key": "team", "value": "web"}]])}
    if choice < 0.5:
        return [_plain_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_PLAIN): _plain_value(rng, depth + 1) for _ in range(rng.randint(1, 4))}


def _spelled(rng: random.Random, word: str) -> str:
    """Return `word` in one of the spellings that the walk reads as the word itself, or with a prefix."""
    spelling = rng.random()
    if spelling < 0.2:
        return word.upper()
    if spelling < 0.4:
        return "prefix" + word
    if spelling < 0.6:
        # "_" and "-" do not count: DB_PASS_WORD reads as dbpassword.
        cut = rng.randint(0, len(word))
        return word[:cut] + rng.choice("_-") + word[cut:]
    if spelling < 0.7:
        # The Kelvin sign lowers to "k" as a str, but not as UTF-8 bytes.
        return word.replace("k", "\u212a")
    return word


def _secret_entry(rng: random.Random) -> tuple[str, Any]:
    """Return a key and a value that some redaction may change, in one of the shapes that hold secrets."""
    shape = rng.random()
    if shape < 0.35:
        return _spelled(rng, rng.choice(_WORDS)), rng.choice(
            ["s3cr3t", {"name": "n", "value": "v"}, [{"name": "n", "value": "v"}], ["a"], True])
    if shape < 0.55:
        variables = rng.choice([[{"name": "N", "value": "v"}], {"N": "v"}, ["N=v"], [{"Key": "n", "secureValue": "s"}],
                                {"variables": {"N": "v"}}, "prod", [{"keyName": "key1", "Value": "v"}]])
        return _spelled(rng, rng.choice(_CONTAINERS)), variables
    if shape < 0.8:
        name_field = rng.choice(["name", "key", "Name", "Key", "OptionName", "keyName"])
        value_field = rng.choice(["value", "Value", "secureValue"])
        item = {name_field: _spelled(rng, rng.choice(_SECRET_NAMES)), value_field: rng.choice(["v", {"a": "b"}])}
        return rng.choice(["items", "tags", "0"]), [item] if rng.random() < 0.8 else item
    if shape < 0.85:
        return "optionSettings", [{"namespace": "aws:elasticbeanstalk:application:environment", "optionName": "MODE",
                                   "value": "prod"}]
    if shape < 0.92:
        name = _spelled(rng, rng.choice(_LABEL_NAMES)) + rng.choice(["", "-label", "_version", "Policy"])
        value = rng.choice(["v", {"a": "b"}, ["x"], 3])
        labels: Any = rng.choice([
            {"team": "web", name: value}, {name: value, "x\"y": "}"},
            [{"key": "team", "value": "web"}, {rng.choice(["key", "Key", "tagKey", "name"]): name,
                                                rng.choice(["value", "Value", "tagValue"]): value}]])
        return _spelled(rng, rng.choice(_LABEL_CONTAINERS)), labels
    return rng.choice(_PLAIN), rng.choice(_SECRET_TEXTS)


def _with_one_secret(rng: random.Random) -> dict[str, Any]:
    """Return plain configuration with one secret shape, in some spelling, at a random depth."""
    configuration: dict[str, Any] = {"properties": _plain_value(rng)}
    mappings = [configuration]
    pending: list[Any] = [configuration]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            children = []
        mappings.extend(child for child in children if isinstance(child, dict))
        pending.extend(children)
    target = rng.choice(mappings)

    key, value = _secret_entry(rng)
    target[key] = value
    return configuration


def _changed_by(walk: Callable[[Resource], Any], configuration: dict[str, Any]) -> bool:
    resource = make_resource("Microsoft.Web/sites", copy.deepcopy(configuration))
    resource.tags = {}
    walk(resource)
    return resource.configuration != configuration


@pytest.mark.parametrize("seed", range(20))
def test_hint_never_skips_needed_walk(seed: int) -> None:
    # The hints let importers skip the walk over values: a miss must mean the walk finds nothing to redact.
    from ridgeline.imports import azure_arm, gcp_cai

    walks: list[tuple[Callable[[Resource], Any], Callable[[Resource], bool]]] = [
        (redact, SHARED.may_change),
        (gcp_cai._REDACTOR.redact, gcp_cai._may_name_secret),
        (azure_arm.redact_values, azure_arm._may_hold_secrets),
    ]
    rng = random.Random(seed)
    changed = 0
    for _ in range(300):
        plain = {"properties": _plain_value(rng)}
        for walk, _hint in walks:
            assert not _changed_by(walk, plain), plain

        configuration = _with_one_secret(rng)
        resource = make_resource("Microsoft.Web/sites", configuration)
        for walk, hint in walks:
            if _changed_by(walk, configuration):
                changed += 1
                assert hint(resource), (walk, configuration)
    # The generator must mostly build secrets that the walks find, or the test proves little.
    assert changed > 500


@pytest.mark.parametrize(("configuration", "hit"), [
    ({"password": "x"}, True),
    ({"adminPassword": "x"}, True),
    ({"DB_PASS-WORD": "x"}, True),
    ({"a": {"b": [{"apikey": 1}]}}, True),
    ({"lastPasswordChange": "x"}, False),
    # A false alarm: any key that starts with a secret word may be a label's name.
    ({"passwordPolicy": "x"}, True),
    ({"\u212aey": "x"}, True),
    ({"env": "prod"}, False),
    ({"env": []}, True),
    ({"name": "password"}, False),
    ({"name": "DB_PASSWORD", "value": "x"}, True),
    ({"key": "startup-script", "value": "x"}, False),
    ({"uri": "https://h/p?code=abc"}, True),
    ({"header": "Bearer abc"}, True),
    ({"dsn": "mysql://root:x@10.0.0.5/db"}, True),
    ({"dsn": "redis://:-@h"}, True),
    ({"a": ["alice@example.com", "http://host:8080/x"]}, False),
    ({"key": "-----BEGIN OPENSSH PRIVATE KEY-----"}, True),
    ({"key": "-----BEGIN CERTIFICATE-----"}, False),
    ({"pw": "x"}, True),
    ({"labels": {"secret-label": "x"}}, True),
    ({"labels": {"team": "web", "Pwd_Policy": "3"}}, True),
    ({"labels": {"team": "web"}}, False),
    ({"tags": [{"key": "secret-label", "value": "x"}]}, True),
    ({"items": [{"key": "Credentials-Prod", "value": "x"}]}, True),
    ({"items": [{"key": "credential", "value": "x"}]}, True),
    ({"items": [{"key": "team", "value": "x"}]}, False),
    ({"dsn": "mysql://root:QQV01#x@h/db"}, True),
    ({"dsn": "mysql://root:a/b@h/db"}, True),
    ({"doc": 'x {"url": "https:\\/\\/u:p@h"}'}, True),
    ({"a": ["https://host/path?x=a:b@c", "ssh://git@host:22/x"]}, False),
    ({"dsn": "mongodb://u:p@ss#w?o/rdPWX10@mongo/x"}, True),
    ({"note": "Password: hunter2"}, True),
    ({"note": 'x {"password": "y"}'}, True),
    ({"note": "password reset"}, False),
])
def test_quick_test_cases(configuration: dict[str, Any], hit: bool) -> None:
    # A hit may be a false alarm ("Bearer abc" is too short a token); a miss means the walk changes nothing.
    resource = make_resource("AWS::Custom::Thing", configuration)

    assert SHARED.may_change(resource) is hit
