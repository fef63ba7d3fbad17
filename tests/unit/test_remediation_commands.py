"""Check that built-in remediation commands contain no placeholder a user must edit by hand.

A command may use the rule placeholders (`${name}`, `${id}`, ...), which the report fills in and
shell-quotes, and shell variables (`$VAR`, written `$$VAR` in the YAML). A `<value>` placeholder is a
shell redirection when pasted, and a bare upper-case word such as SNAPSHOT_ID reaches the cloud API as
a literal value, so both are rejected.
"""

from __future__ import annotations

import re

import pytest

from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule, fill_template

# `<` directly followed by a letter: `<bucket>`, `<Security team>`.
ANGLE_PLACEHOLDER = re.compile(r"<[A-Za-z]")

# An upper-case word (letters, digits, `_`, `-`) that is not a shell variable reference (`$VAR`,
# `${VAR}`) and not a variable assignment (`VAR=$(...)`).
UPPERCASE_WORD = re.compile(r"(?<![$\w{-])([A-Z][A-Z0-9]*(?:[_-][A-Z0-9]+)*)(?![\w-]|=\$)")

# Upper-case words that are real values of the provider CLIs, not placeholders.
KNOWN_CONSTANTS = frozenset({
    "AAD", "ACCOUNT", "AES256", "AES-256-GCM", "ALL", "AWS", "AWS_IAM", "CONNECTION", "DDL", "DNS",
    "ENCRYPTED_ONLY", "EXISTS", "FALSE", "NAT", "NOT", "P1Y", "P90D", "SECURITY", "SEV", "SMB3", "TERMINATE",
    "TLS1_2", "TRUE", "VPC", "WDATP",
})

SAMPLE_VALUES = {
    "name": "sample-name", "id": "sample-id", "short_id": "sample-short-id", "account": "123456789012",
    "region": "us-east-1", "type": "Sample::Type",
}


def _placeholder_words(command: str) -> set[str]:
    """Return the upper-case words of three or more characters that are not known constants."""
    words = {match.group(1) for match in UPPERCASE_WORD.finditer(command)}
    return {word for word in words if len(word) >= 3} - KNOWN_CONSTANTS


def _commands() -> list[tuple[str, str]]:
    """Return (label, filled command) for every built-in cli command, per resource type too."""
    commands = []
    rules: list[Rule] = load_builtin_rules()
    for rule in rules:
        templates = {"": rule.remediation.cli, **rule.remediation.cli_by_type}
        for type_name, template in templates.items():
            if template:
                label = f"{rule.id}[{type_name}]" if type_name else rule.id
                commands.append((label, fill_template(template, SAMPLE_VALUES)))
    return commands


COMMANDS = _commands()


def test_builtin_rules_have_commands() -> None:
    assert len(COMMANDS) > 100


@pytest.mark.parametrize(("label", "command"), COMMANDS, ids=[label for label, _ in COMMANDS])
def test_command_has_no_angle_placeholder(label: str, command: str) -> None:
    assert ANGLE_PLACEHOLDER.search(command) is None, f"{label}: {command}"


@pytest.mark.parametrize(("label", "command"), COMMANDS, ids=[label for label, _ in COMMANDS])
def test_command_has_no_uppercase_placeholder(label: str, command: str) -> None:
    words = _placeholder_words(command)
    assert not words, f"{label}: {sorted(words)} in {command}"


@pytest.mark.parametrize(("command", "expected"), [
    ("aws s3api get-bucket-acl --bucket <bucket>", False),
    ("aws iam delete-access-key --access-key-id ACCESS_KEY_ID", False),
    ("az network vnet subnet update --ids SUBNET-ID", False),
    ("gcloud kms keys update k --keyring=KEY_RING", False),
    ('BUCKET=$(aws cloudtrail describe-trails) && aws s3api get-bucket-acl --bucket "$BUCKET"', True),
    ("aws s3api get-bucket-acl --bucket ${BUCKET}", True),
    ("aws ec2 create-flow-logs --traffic-type ALL --resource-type VPC", True),
])
def test_placeholder_check_cases(command: str, expected: bool) -> None:
    clean = not _placeholder_words(command) and ANGLE_PLACEHOLDER.search(command) is None
    assert clean is expected
