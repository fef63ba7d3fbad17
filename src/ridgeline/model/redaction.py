"""Redaction of secrets before a resource reaches storage or output.

Configuration legitimately contains secrets: environment variables, user data and startup scripts, passwords,
connection strings, tokens. Ridgeline keeps the names (rules look at them) and replaces the values. One walk,
`Redactor`, serves every provider, live scans and imports alike; providers add their own words to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson

from ridgeline.model.resource import Resource

REDACTED = "***redacted***"

# Keys are compared in a normal form: lower case without "_" and "-", so that DB_PASSWORD, db-password and
# dbPassword all read "dbpassword".

# Keys whose values are secrets wherever they appear, whatever their type (the whole key must match).
SECRET_KEYS = frozenset({
    "password", "masteruserpassword", "adminpassword", "secret", "secretaccesskey", "secretkey",
    "clientsecret", "connectionstring", "connectionstrings", "privatekey", "userdata", "sessiontoken",
    "accesstoken", "authtoken", "apikey", "sharedkey", "primarykey", "secondarykey", "sastoken",
    "pw", "pwd", "credentials",
})

# Keys whose string values are secrets when the key ends with one of these words (rootPassword, API_KEY,
# GITHUB_TOKEN, primaryReadonlyMasterKey, DB_PWD). Only strings: `passwordEnabled: true` or a nested mapping
# under a key such as `hasSecret` are facts that rules read. A key that only starts with a word is kept
# (`pwd_policy_version`, `passwordLastUsed`, `secretArn`), except in tags and labels (SECRET_LABEL_PREFIXES).
SECRET_SUFFIXES = (
    "password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey", "privatekey", "secretkey",
    "connectionstring", "connectionstrings", "sastoken", "masterkey", "sharedkey", "primarykey", "secondarykey",
    "accountkey", "clientkey", "pw", "pwd", "credentials",
)

# Tags, labels and {name, value} items (GCP metadata items, listed tags) are named by people, not by a
# provider's schema, and a name that starts with a secret word (`secret-label`, `password_db`,
# `Credentials-Prod`) usually has the secret as its value. So such a name also counts when its normal form
# starts with one of these words. This redacts `pwd_policy_version` and `token-expiry`
# too, because losing such a label's value costs less than storing a password. The mappings and lists under
# LABEL_KEYS, or under a key that ends with LABEL_SUFFIX, are labels (GCP `labels`, Cloud SQL `userLabels`,
# Azure and AWS `tags`).
SECRET_LABEL_PREFIXES = (
    "secret", "password", "passwd", "passphrase", "pwd", "credential", "token", "apikey", "accesskey",
    "privatekey", "connectionstring",
)
LABEL_KEYS = frozenset({"tags", "taglist", "tagset"})
LABEL_SUFFIX = "labels"

# Keys whose string values carry credentials, compared whole: HTTP headers such as Authorization.
SECRET_STRING_KEYS = frozenset({"authorization", "proxyauthorization"})

# Keys that hold environment variables. A list under one of them is read as {name, value} items whose
# values are redacted (ECS container definitions, Cloud Run, container groups, CodeBuild); a mapping as
# variable name -> value (Cloud Functions, App Engine). A key that ends with one of ENVIRONMENT_SUFFIXES
# counts too (runtimeEnvironmentVariables).
ENVIRONMENT_KEYS = frozenset({"env", "environmentvariables", "envvariables", "secrets"})
ENVIRONMENT_SUFFIXES = ("environmentvariables", "envvariables")

# `environment` is a list of variables in ECS, but a mapping of settings in CodeBuild, Lambda or Dataflow.
# There only its `variables` mapping (Lambda) contains variables.
_ENVIRONMENT = "environment"
_VARIABLES = "variables"

# Fields of a {name, value} item. An item named like a secret label (see `Redactor._secret_label`) has its
# value redacted wherever it is (GCP metadata items, tag lists, option settings).
NAME_FIELDS = frozenset({"name", "key", "optionname", "keyname"})
VALUE_FIELDS = frozenset({"value", "securevalue"})
# Elastic Beanstalk option settings of this namespace are the environment properties, all of them values
# that the application reads as environment variables.
_NAMESPACE_FIELD = "namespace"
_ENVIRONMENT_NAMESPACE = ":application:environment"

# Paths from `configuration` whose value is secret, by resource type. A mapping there keeps its keys and
# loses its values; any other value is replaced.
SECRET_VALUE_MAPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::Lambda::Function": (("environment", "variables"),),
    "AWS::SSM::Parameter": (("value",),),
}


def normal_key(key: str) -> str:
    """Return the form in which keys and names are compared ("DB_PASSWORD" -> "dbpassword")."""
    return key.lower().replace("_", "").replace("-", "")


def _alternation(words: Iterable[str]) -> bytes:
    """Return a bytes pattern that matches the start of any of the reversed words.

    The words share their letters as a tree (`(?:d(?:rowssap|...)|...)`), so that the regular expression
    engine tests one branch per letter rather than every word: twice as fast on Azure resources. A word
    that is the start of another ends the branch, because the hint only tests whether some word matches.
    """
    tree: dict[str, Any] = {}
    for word in words:
        node = tree
        for letter in word[::-1]:
            node = node.setdefault(letter, {})
        node[""] = {}
    return _branches(tree)


def _branches(node: dict[str, Any]) -> bytes:
    if "" in node:
        return b""
    alternatives = [re.escape(letter).encode() + _branches(child) for letter, child in sorted(node.items())]
    return alternatives[0] if len(alternatives) == 1 else b"(?:" + b"|".join(alternatives) + b")"


# Text that only a connection string, a signed URL, an authorization header, a private key or a labelled
# password contains. A bearer or basic token must hold a digit, one of + / = . _ ~ -, or a lower-case letter
# before a capital, which words of prose ("Basic authentication") do not. A PEM private key
# ("-----BEGIN RSA PRIVATE KEY-----", "BEGIN PRIVATE KEY", "BEGIN OPENSSH PRIVATE KEY", "BEGIN PGP PRIVATE KEY
# BLOCK") is replaced whole; certificates and public keys are not secret.
_TEXT_KEYS = ("accountkey", "sharedaccesskey", "sharedaccesssignature", "password", "pwd")
# Words that label a password in prose, YAML or JSON text (`Password: x`, `db_pwd: x`, `"password": "x"`),
# counted when a space and a value follow the colon. This replaces prose such as "Password: see the vault"
# too, because such a string may as well hold the password.
_LABELLED_KEYS = ("password", "pwd")
# Query parameters of URLs that carry a credential: a SAS signature, tokens, API keys, function keys.
_QUERY_KEYS = ("sig", "token", "access_token", "api_key", "apikey", "api-key", "key", "code", "client_secret")
_TOKEN = r"(?=[A-Za-z0-9+/=._~-]*(?:[0-9+/=._~-]|[a-z][A-Z]))[A-Za-z0-9+/=._~-]{8,}"
SECRET_TEXT = re.compile(
    r"(?i:" + "|".join(_TEXT_KEYS) + r")=|[?&](?i:" + "|".join(map(re.escape, _QUERY_KEYS)) + r")="
    r"|\b(?:Bearer|bearer|BEARER|Basic|basic|BASIC) +" + _TOKEN
    + r"|(?i:-----BEGIN [A-Z0-9 ]*PRIVATE KEY)"
    + r'|(?i:' + "|".join(_LABELLED_KEYS) + r')"? *: +\S')
# A password in the authority of a URL (RFC 3986 userinfo, `scheme://user:password@host`). The user part ends
# at the first ":", the password at the last "@" that a host follows before the next whitespace, because
# passwords in pasted connection strings often contain a raw "@", "#", "?" or "/" (`mysql://root:QQV01#x@h/db`,
# `mongodb://u:p@ss#w/x@mongo/db`). Only the password is replaced (`mysql://root:***redacted***@h/db`),
# so findings still name the user and the host. A URL in JSON-escaped text (`https:\/\/u:p@h`) counts too.
# These stay: a port followed by a path or query (`https://host:8443/p?next=a:b@c`, where the "@" belongs to
# the query), a user without a password (`ssh://git@host:22/x`), a host without a user
# (`https://host/p?x=a:b@c`), IPv6 hosts, e-mail addresses and scp-like `git@github.com:org/repo`.
# NOTE: a password of digits followed by "/" or "?" (`root:1234/x@h`) reads as a port and a path, and stays.
# An "@" in the path or query of a URL with a password (`mysql://u:p@h/x?mail=a@b`) reads as the end of a
# password with a raw "@", so the host, path and query up to that "@" are replaced too. That loses facts, but
# ending such a password at an earlier "@" would store the rest of it.
_URL_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[\w.~%-]+)(?::[0-9]*)?(?![\w.~%:@\[-])"
# The user and password parts are bounded (_URL_PART_LIMIT characters), so that text packed with "://u:"
# costs linear time: unbounded, every start scanned to the end of the string, quadratic in its length.
# NOTE: a password longer than the bound, up to its last "@", is cut at an earlier "@" or not found.
_URL_PART_LIMIT = 2048
URL_PASSWORD = re.compile(
    rf"(:(?://|\\/\\/)[^\s/?#@:\[\]\\]{{0,{_URL_PART_LIMIT}}}:)(?![0-9]*(?:[/?]|\\/))\S{{1,{_URL_PART_LIMIT}}}"
    + r"(?=@" + _URL_HOST + ")")
_URL_REPLACEMENT = r"\g<1>" + REDACTED
# The same in the reversed text of the quick test (see `Redactor.may_change`): each pattern there starts with
# "=", ":" or a space, which the regular expression engine skips to quickly. They may match where SECRET_TEXT
# does not, never the reverse.
_SECRET_TEXT_HINT = re.compile(b"=" + _alternation(
    [*_TEXT_KEYS, *(separator + normal_key(key) for key in _QUERY_KEYS for separator in "?&")]))
_AUTHORIZATION_HINT = re.compile(rb" (?:reraeb|cisab|etavirp [a-z0-9 ]*nigeb)")
# A quote inside a string is escaped in the JSON text, and reads `"\` reversed.
_LABELLED_PASSWORD_HINT = re.compile(rb':(?: |"\\)*' + _alternation(_LABELLED_KEYS))
# The start of URL_PASSWORD in the text that is not reversed: "//" or its JSON-escaped `\/\/` (written
# `\\/\\/` in the JSON text), the user part and its ":". A string ends at a quote that no backslash escapes.
# The caller also tests for an "@" anywhere in the text, which every match of URL_PASSWORD has, so both
# patterns may match where URL_PASSWORD does not, never the reverse. Scanning on to the "@" from every "//"
# took time quadratic in a string packed with "//u:". The bound leaves room for JSON escapes, which take
# up to six characters of the text for one.
_URL_PASSWORD_TAIL = rb'(?:[^"/?#@:\[\] \\]|\\.){0,' + str(6 * _URL_PART_LIMIT).encode() + rb'}:'
_URL_PASSWORD_HINT = re.compile(b"//" + _URL_PASSWORD_TAIL)
_ESCAPED_URL_PASSWORD_HINT = re.compile(rb"\\\\/\\\\/" + _URL_PASSWORD_TAIL)
# Tags and labels whose names start with a word of SECRET_LABEL_PREFIXES, read in the text that is not
# reversed (the start of a string is its end there). The quick test writes "{" as "," in that text, so that
# one pattern finds every key from the "," or "{" before it, to which the engine skips faster than to every
# quote. Listed labels ({key, value} items) are looked for in any string, only when a value field is there.
_HINT_TABLE = bytes.maketrans(b"{", b",")


def _at_after(hint: re.Pattern[bytes], text: bytes) -> bool:
    """Tell whether `hint` matches `text` with an "@" somewhere after its first match.

    A later match starts later, so when no "@" follows the first one, none follows any: one search and one
    scan keep the test linear in the length of the text.
    """
    match = hint.search(text)
    return match is not None and text.find(b"@", match.end()) != -1
_LABEL_WORDS = b"(?:" + b"|".join(word.encode() for word in SECRET_LABEL_PREFIXES) + b")"
_LABEL_KEY_HINT = re.compile(b',"' + _LABEL_WORDS)
_LABEL_ITEM_HINT = re.compile(b'"' + _LABEL_WORDS)
# A {name, value} item can only change when a value field is there: a key that ends with "value" (both
# VALUE_FIELDS do).
_VALUE_FIELD_HINT = b':"eulav'

# What the walk does with the value of a key, by the key's normal form.
_PLAIN, _WHOLE, _STRING, _VARIABLES_HERE, _ENVIRONMENT_HERE, _NESTED_VARIABLES, _NAME, _VALUE, _NAMESPACE, \
    _LISTED, _LABELS = range(11)
# Fields of a label in a list of labels (AWS `tags: [{key, value}]`, Config's `tagKey` and `tagValue`).
_LABEL_NAME_FIELDS = NAME_FIELDS | {"tagkey"}
_LABEL_VALUE_FIELDS = VALUE_FIELDS | {"tagvalue"}
# A tuple, which isinstance() tests faster than `dict | list`.
_NESTED = (dict, list)
# Keys repeat across resources; the table stops growing at this size for input with endless distinct keys.
_KIND_LIMIT = 8192


class Redactor:
    """Replaces secret values in resources, with the words of the shared lists and those of a provider.

    `redact` walks a resource. `may_change` is the quick test with which importers decide whether walking can
    change anything, read from orjson's text of the resource (a miss means the walk would change nothing).
    """

    def __init__(self, *, secret_keys: Iterable[str] = (), secret_suffixes: Iterable[str] = (),
                 listed_keys: Iterable[str] = (), variable_keys: Iterable[str] = (),
                 secret_item_names: Iterable[str] = (), secret_item_prefixes: Iterable[str] = (),
                 value_paths: dict[str, tuple[tuple[str, ...], ...]] | None = None) -> None:
        """Add provider words to the shared lists (all in normal form, see `normal_key`).

        `listed_keys` hold lists of {name, value} items whose values are secret (Azure `keys`);
        `variable_keys` hold variables as a list of items or a mapping (Azure `appSettings`);
        `secret_item_names` and `secret_item_prefixes` name items whose value is secret (GCP startup
        scripts); `value_paths` adds paths by type to SECRET_VALUE_MAPS.
        """
        self.secret_keys = SECRET_KEYS | frozenset(secret_keys)
        self.secret_suffixes = tuple(dict.fromkeys((*SECRET_SUFFIXES, *secret_suffixes)))
        self.listed_keys = frozenset(listed_keys)
        self.variable_keys = ENVIRONMENT_KEYS | frozenset(variable_keys)
        self.secret_item_names = frozenset(secret_item_names)
        self.secret_item_prefixes = tuple(secret_item_prefixes)
        # Resource Graph writes types in lower case, so they are looked up that way.
        self.value_paths = {type_name.lower(): paths
                            for type_name, paths in {**SECRET_VALUE_MAPS, **(value_paths or {})}.items()}
        self._kinds: dict[str, int] = {}

        # The quick test reads orjson's text of a resource in lower case, without "_" and "-" (as the walk
        # compares keys and names), and reversed. There each key that ends with a word starts with `:"` and
        # the reversed word, and the regular expression engine skips to `:"` quickly. A key that contains
        # variables counts only before a list or a mapping (`"env":[`, or `"env":,` since the text writes "{"
        # as ","), because `"env":"prod"` is a common label. Names of {name, value} items are strings that end
        # with a word. They are looked for only when a value field is there, because searching every string is
        # several times slower.
        keys = {*self.secret_keys, *self.secret_suffixes, *SECRET_STRING_KEYS}
        # The whole key, from its opening quote, or its end.
        containers = {*(f'"{key}' for key in (*self.variable_keys, *self.listed_keys, _ENVIRONMENT)),
                      *ENVIRONMENT_SUFFIXES}
        self._key_hint = re.compile(b':"(?:' + _alternation(keys) + rb'|(?<=[\[,]:")' + _alternation(containers) + b")")
        self._name_hint = re.compile(b'"(?:' + _alternation(keys | self.secret_item_names) + b")")
        self._item_hints = tuple(text.encode()[::-1] for text in (*self.secret_item_prefixes, _ENVIRONMENT_NAMESPACE))
        self._secret_labels: dict[str, bool] = {}

    def redact(self, resource: Resource) -> Resource:
        """Replace the secret values of `resource` in place (configuration, supplementary, tags); return it."""
        for path in self.value_paths.get(resource.type.lower(), ()):
            _redact_path(resource.configuration, path)
        self._walk_mapping(resource.configuration, False)
        self._walk_mapping(resource.supplementary, False)
        self.redact_tags(resource)
        return resource

    def redact_tags(self, resource: Resource) -> None:
        """Replace the values of tags named like secrets, or that carry a connection string, token or key.

        A password in a URL is replaced alone, as everywhere.
        """
        labels = self._secret_labels
        for key, value in resource.tags.items():
            if value == "" or value == REDACTED:
                continue
            secret = labels.get(key)
            if secret is None:
                secret = self._secret_label(key)
            if secret:
                resource.tags[key] = REDACTED
            elif "=" in value or " " in value or "@" in value:
                resource.tags[key] = redact_text(value)

    def may_change(self, resource: Resource) -> bool:
        """Tell whether `redact` may change the configuration or supplementary values of `resource`."""
        if resource.type.lower() in self.value_paths:
            return True
        text = json_text(resource.configuration, resource.supplementary)
        # bytes.lower() leaves letters outside ASCII alone, while str.lower() maps some to ASCII ones (the
        # Kelvin sign to "k"), so such text always counts as a hit.
        if text is None or not text.isascii():
            return True
        plain = text.translate(_HINT_TABLE, b"_-")
        backwards = plain[::-1]
        if self._key_hint.search(backwards) is not None or _SECRET_TEXT_HINT.search(backwards) is not None \
                or _AUTHORIZATION_HINT.search(backwards) is not None or _LABELLED_PASSWORD_HINT.search(backwards) \
                is not None or _LABEL_KEY_HINT.search(plain) is not None:
            return True
        if b"@" in plain and (_at_after(_URL_PASSWORD_HINT, plain) or _at_after(_ESCAPED_URL_PASSWORD_HINT, plain)):
            return True
        if _VALUE_FIELD_HINT not in backwards:
            return False
        return self._name_hint.search(backwards) is not None or any(hint in backwards for hint in self._item_hints) \
            or _LABEL_ITEM_HINT.search(plain) is not None

    # The walk ---------------------------------------------------------------------------------------------

    def _classify(self, name: str) -> int:
        if name in self.secret_keys:
            return _WHOLE
        if name in SECRET_STRING_KEYS or name.endswith(self.secret_suffixes):
            return _STRING
        if name in self.listed_keys:
            return _LISTED
        if name in self.variable_keys or name.endswith(ENVIRONMENT_SUFFIXES):
            return _VARIABLES_HERE
        if name in LABEL_KEYS or name.endswith(LABEL_SUFFIX):
            return _LABELS
        if name == _ENVIRONMENT:
            return _ENVIRONMENT_HERE
        if name == _VARIABLES:
            return _NESTED_VARIABLES
        if name in NAME_FIELDS:
            return _NAME
        if name in VALUE_FIELDS:
            return _VALUE
        if name == _NAMESPACE_FIELD:
            return _NAMESPACE
        return _PLAIN

    def _walk_mapping(self, mapping: dict[Any, Any], in_environment: bool) -> None:
        # Name, value and namespace fields are noted on the way; the item's value goes at the end.
        kinds = self._kinds
        item_name: Any = None
        value_fields: list[Any] = []
        namespace: Any = None
        for key, value in mapping.items():
            kind = kinds.get(key)
            if kind is None:
                kind = self._kind(key)
            if isinstance(value, str):
                if value == "" or value == REDACTED:
                    continue
                if kind == _WHOLE or kind == _STRING or (
                        ("=" in value or " " in value) and SECRET_TEXT.search(value) is not None):
                    mapping[key] = REDACTED
                    continue
                if "@" in value and ("://" in value or ":\\/\\/" in value):
                    value = mapping[key] = URL_PASSWORD.sub(_URL_REPLACEMENT, value)
                if kind == _NAME:
                    item_name = value
                elif kind == _VALUE:
                    value_fields.append(key)
                elif kind == _NAMESPACE:
                    namespace = value
            elif isinstance(value, _NESTED):
                if kind == _PLAIN:
                    self._walk(value)
                elif kind == _WHOLE:
                    mapping[key] = REDACTED
                elif kind == _VARIABLES_HERE or (kind == _NESTED_VARIABLES and in_environment):
                    self._redact_variables(value)
                elif kind == _ENVIRONMENT_HERE:
                    if isinstance(value, dict):
                        self._walk_mapping(value, True)
                    else:
                        self._redact_variables(value)
                elif kind == _LISTED and isinstance(value, list):
                    self._redact_variables(value)
                elif kind == _LABELS:
                    self._redact_labels(value)
                else:
                    if kind == _VALUE:
                        value_fields.append(key)
                    self._walk(value)
            elif value is not None:
                # Numbers and booleans.
                if kind == _WHOLE:
                    mapping[key] = REDACTED
                elif kind == _VALUE:
                    value_fields.append(key)

        if value_fields and (self._secret_name(item_name) or (
                isinstance(namespace, str) and namespace.lower().endswith(_ENVIRONMENT_NAMESPACE))):
            for key in value_fields:
                mapping[key] = REDACTED

    def _kind(self, key: Any) -> int:
        if not isinstance(key, str):
            return _PLAIN
        kind = self._classify(normal_key(key))
        if len(self._kinds) < _KIND_LIMIT:
            self._kinds[key] = kind
        return kind

    def _walk(self, value: Any) -> None:
        if isinstance(value, dict):
            self._walk_mapping(value, False)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    if "=" in item or " " in item or "@" in item:
                        value[index] = redact_text(item)
                elif isinstance(item, _NESTED):
                    self._walk(item)

    def _redact_labels(self, labels: dict[Any, Any] | list[Any]) -> None:
        """Redact labels named like secrets: the values of a mapping, the value fields of listed items."""
        if isinstance(labels, dict):
            for name, value in labels.items():
                if isinstance(name, str) and value is not None and value != "" and value != REDACTED \
                        and self._secret_label(name):
                    labels[name] = REDACTED
            self._walk_mapping(labels, False)
            return

        for item in labels:
            if not isinstance(item, dict):
                continue
            name = next((field_value for field, field_value in item.items()
                         if isinstance(field, str) and normal_key(field) in _LABEL_NAME_FIELDS), None)
            if isinstance(name, str) and self._secret_label(name):
                for field, field_value in item.items():
                    if isinstance(field, str) and normal_key(field) in _LABEL_VALUE_FIELDS \
                            and field_value is not None and field_value != "":
                        item[field] = REDACTED
        self._walk(labels)

    def _secret_label(self, name: str) -> bool:
        """Tell whether the value of a tag or label called `name` is secret: a secret key, suffix or label prefix."""
        secret = self._secret_labels.get(name)
        if secret is None:
            normal = normal_key(name)
            secret = (normal in self.secret_keys or normal in SECRET_STRING_KEYS
                      or normal.endswith(self.secret_suffixes) or normal.startswith(SECRET_LABEL_PREFIXES))
            if len(self._secret_labels) < _KIND_LIMIT:
                self._secret_labels[name] = secret
        return secret

    def _redact_variables(self, variables: Any) -> None:
        """Redact variables: every value of a mapping, the value fields of listed items, `NAME=value` text."""
        if isinstance(variables, dict):
            for name, value in variables.items():
                if value is not None and value != "":
                    variables[name] = REDACTED
            return
        if not isinstance(variables, list):
            self._walk(variables)
            return
        for index, item in enumerate(variables):
            if isinstance(item, dict):
                for key, value in item.items():
                    if isinstance(key, str) and normal_key(key) in VALUE_FIELDS and value is not None \
                            and value != "":
                        item[key] = REDACTED
                self._walk_mapping(item, False)
            elif isinstance(item, str):
                # Docker-style "NAME=value" keeps its name.
                name, equals, _ = item.partition("=")
                if equals:
                    variables[index] = f"{name}={REDACTED}"
            else:
                self._walk(item)

    def _secret_name(self, name: Any) -> bool:
        # Items are named by people, like labels: `secret-label` and `Credentials-Prod` count.
        if not isinstance(name, str):
            return False
        if self._secret_label(name):
            return True
        normal = normal_key(name)
        return normal in self.secret_item_names or normal.startswith(self.secret_item_prefixes)


def _redact_path(value: Any, path: tuple[str, ...]) -> None:
    # Keys match case-insensitively: the API shape ("Environment.Variables") must be redacted too.
    *parents, last = path
    for key in parents:
        value = _child(value, key)
    if not isinstance(value, dict):
        return
    lowered = last.lower()
    for key, item in value.items():
        if isinstance(key, str) and key.lower() == lowered and item not in (None, "", REDACTED):
            if isinstance(item, dict):
                for name in item:
                    item[name] = REDACTED
            else:
                value[key] = REDACTED


def _child(value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        return None
    lowered = key.lower()
    return next((item for name, item in value.items() if isinstance(name, str) and name.lower() == lowered), None)


def secret_text(text: str) -> bool:
    """Tell whether `text` carries a connection string, a SAS signature, an authorization token, a private key or a
    labelled password (`Password: x`)."""
    # Each pattern contains "=" or a space, so the plain tests skip the regular expression for most strings.
    return ("=" in text or " " in text) and SECRET_TEXT.search(text) is not None


def redact_text(text: str) -> str:
    """Return `text` without credentials: REDACTED when `secret_text` finds some, else with URL passwords replaced."""
    if secret_text(text):
        return REDACTED
    if "@" in text and ("://" in text or ":\\/\\/" in text):
        return URL_PASSWORD.sub(_URL_REPLACEMENT, text)
    return text


SHARED = Redactor()
"""The shared lists alone: AWS collectors and the AWS Config import use it."""


def redact(resource: Resource) -> Resource:
    """Replace secret values in `resource` in place with the shared lists and return it."""
    return SHARED.redact(resource)


def json_text(*values: Any) -> bytes | None:
    """Return the lower-case JSON text of `values` as one array for a quick test, or None when orjson cannot.

    orjson rejects integers beyond 64 bits and keys that are not strings, which the json module accepts;
    the caller then walks the values. One array is written faster than each value apart.
    """
    try:
        return orjson.dumps(values).lower()
    except TypeError:
        return None
