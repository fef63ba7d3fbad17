"""Tests for rule files: validation with file, line and field, defaults, duplicates, placeholders."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.model.finding import Severity
from ridgeline.rules.errors import RuleError
from ridgeline.rules.loader import (
    RuleFileErrors,
    builtin_rule_files,
    expand_rule_paths,
    load_builtin_rules,
    load_rule_files,
    parse_rule_file,
)


def write(folder: Path, name: str, text: str) -> Path:
    """Write a rule file (dedented) and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


RULE_BODY = """\
title: Buckets are encrypted
severity: high
category: encryption
description: Default encryption protects new objects.
risk: Objects are stored unencrypted.
remediation: Turn on default encryption.
fail_if: {path: configuration.encrypted, equals: false}
"""


def rule_text(rule_id: str, body: str = RULE_BODY, indent: str = "  ") -> str:
    """Return one rule as a list item of a `rules:` list."""
    lines = body.splitlines()
    return f"{indent}- id: {rule_id}\n" + "".join(f"{indent}  {line}\n" for line in lines)


DEFAULTS = """\
defaults:
  provider: aws
  service: s3
  resource_types: [AWS::S3::Bucket]
rules:
"""


def single_error(path: Path) -> RuleError:
    rules, errors = parse_rule_file(path)
    assert rules == []
    assert len(errors) == 1, [error.describe() for error in errors]
    return errors[0]


# --- Valid files -----------------------------------------------------------------------

def test_defaults_merge_into_rules(tmp_path: Path) -> None:
    override = RULE_BODY + "service: kms\nresource_types: AWS::KMS::Key\n"
    path = write(tmp_path, "rules.yaml", DEFAULTS + rule_text("aws-one") + rule_text("aws-two", override))

    first, second = load_rule_files([path])

    assert (first.provider, first.service, first.resource_types) == ("aws", "s3", ("AWS::S3::Bucket",))
    assert (second.provider, second.service, second.resource_types) == ("aws", "kms", ("AWS::KMS::Key",))
    assert first.severity is Severity.HIGH
    assert first.source == f"{path}:6"
    assert first.paths == frozenset({"configuration.encrypted"})
    assert first.remediation.text == "Turn on default encryption."


def test_single_rule_file(tmp_path: Path) -> None:
    path = write(tmp_path, "one.yml", """
        id: aws-single
        provider: aws
        service: iam
        resource_types: [AWS::IAM::User]
        title: Users have MFA
        severity: Info
        category: iam
        description: d
        risk: r
        remediation:
          text: Enable MFA for ${name}.
          cli: aws iam enable-mfa-device --user-name ${name}
        compliance: {cis-aws-7.0: ["1.10"]}
        references: [https://example.org/mfa]
        fail_if: {path: configuration.mfa, equals: false}
    """)

    (rule,) = load_rule_files([path])

    assert rule.id == "aws-single"
    assert rule.severity is Severity.INFORMATIONAL
    assert rule.compliance == {"cis-aws-7.0": ("1.10",)}
    assert rule.references == ("https://example.org/mfa",)
    assert rule.remediation.cli == "aws iam enable-mfa-device --user-name ${name}"


def test_scope_rule_with_require_one(tmp_path: Path) -> None:
    body = RULE_BODY.replace("fail_if:", "require_one:") + "scope: region\n"
    path = write(tmp_path, "scope.yaml", DEFAULTS + rule_text("aws-scope", body))

    (rule,) = load_rule_files([path])

    assert rule.scope == "region"
    assert rule.fail_if is None
    assert rule.require_one is not None
    assert rule.condition is rule.require_one


def test_compliance_string_is_one_id(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yaml", DEFAULTS + rule_text("aws-one", RULE_BODY + "compliance: {cis: '2.1.4'}\n"))

    (rule,) = load_rule_files([path])

    assert rule.compliance == {"cis": ("2.1.4",)}


def test_dollar_escape_allowed(tmp_path: Path) -> None:
    body = RULE_BODY + "fail_message: Costs $$5 for ${name}\n"
    path = write(tmp_path, "rules.yaml", DEFAULTS + rule_text("aws-one", body))

    (rule,) = load_rule_files([path])

    assert rule.fail_message == "Costs $$5 for ${name}"


def test_builtin_rules_load() -> None:
    rules = load_builtin_rules()

    assert rules
    assert len({rule.id for rule in rules}) == len(rules)


# --- Every mistake reported with file, line and field ----------------------------------

def test_every_mistake_reported(tmp_path: Path) -> None:
    text = DEFAULTS + "".join([
        rule_text("aws-good"),
        rule_text("aws-bad-severity", RULE_BODY.replace("severity: high", "severity: urgent")),
        rule_text("aws-bad-operator", RULE_BODY.replace(
            "fail_if: {path: configuration.encrypted, equals: false}",
            "fail_if:\n  any:\n    - {path: configuration.a, equals: 1}\n    - {path: configuration.b, equal: 2}")),
        rule_text("aws-bad-placeholder", RULE_BODY + "fail_message: Bucket ${bucket} is open\n"),
        rule_text("aws-bad-field", RULE_BODY + "severty: low\n"),
    ])
    path = write(tmp_path, "rules.yaml", text)
    lines = text.splitlines()

    def line_of(fragment: str) -> int:
        return next(number for number, line in enumerate(lines, 1) if fragment in line)

    with pytest.raises(RuleFileErrors) as caught:
        load_rule_files([path])

    found = {(error.line, error.field) for error in caught.value.errors}
    assert found == {
        (line_of("severity: urgent"), "severity"),
        (line_of("configuration.b, equal: 2"), "fail_if.any[1].equal"),
        (line_of("fail_message: Bucket ${bucket}"), "fail_message"),
        (line_of("severty: low"), "severty"),
    }
    assert all(error.file == str(path) for error in caught.value.errors)
    message = str(caught.value)
    assert f"{path}:{line_of('severity: urgent')}: field 'severity': rule aws-bad-severity: invalid severity" in message
    assert "unknown placeholder ${bucket}" in message


def test_valid_rules_kept_beside_invalid(tmp_path: Path) -> None:
    text = DEFAULTS + rule_text("aws-good") + rule_text("aws-bad", RULE_BODY.replace("category: encryption",
                                                                                     "category: misc"))
    rules, errors = parse_rule_file(write(tmp_path, "rules.yaml", text))

    assert [rule.id for rule in rules] == ["aws-good"]
    assert [error.field for error in errors] == ["category"]


RULE_ERROR_CASES = [
    pytest.param(RULE_BODY.replace("risk: Objects are stored unencrypted.\n", ""), "risk", "missing required field",
                 id="missing-risk"),
    pytest.param(RULE_BODY.replace("category: encryption", "category: misc"), "category", "invalid category",
                 id="bad-category"),
    pytest.param(RULE_BODY + "provider: oracle\n", "provider", "invalid provider", id="bad-provider"),
    pytest.param(RULE_BODY + "resource_types: [1, 2]\n", "resource_types", "list of type names",
                 id="bad-resource-types"),
    pytest.param(RULE_BODY + "scope: galaxy\n", "scope", "invalid scope", id="bad-scope"),
    pytest.param(RULE_BODY + "scope: account\n", "fail_if", "uses 'require_one', not 'fail_if'",
                 id="scope-with-fail-if"),
    pytest.param(RULE_BODY.replace("fail_if: {path: configuration.encrypted, equals: false}\n", "scope: account\n"),
                 "require_one", "missing required field 'require_one'", id="scope-without-require-one"),
    pytest.param(RULE_BODY + "require_one: {path: configuration.x, equals: 1}\n", "require_one",
                 "uses 'fail_if', not 'require_one'", id="resource-with-require-one"),
    pytest.param(RULE_BODY.replace("fail_if: {path: configuration.encrypted, equals: false}\n", ""), "fail_if",
                 "missing required field 'fail_if'", id="missing-fail-if"),
    pytest.param(RULE_BODY.replace("fail_if: {path: configuration.encrypted, equals: false}",
                                   "fail_if: {path: settings.x, equals: 1}"), "fail_if.path",
                 "must start with one of", id="bad-path-root"),
    pytest.param(RULE_BODY.replace("remediation: Turn on default encryption.", "remediation: {cli: x}"),
                 "remediation", "needs at least 'text'", id="remediation-without-text"),
    pytest.param(RULE_BODY.replace("remediation: Turn on default encryption.",
                                   "remediation: {text: t, pulumi: x}"),
                 "remediation", "unknown remediation field(s): pulumi", id="remediation-unknown-field"),
    pytest.param(RULE_BODY.replace("remediation: Turn on default encryption.",
                                   "remediation: {text: 'Fix ${nmae}'}"),
                 "remediation.text", "unknown placeholder ${nmae}", id="placeholder-in-text"),
    pytest.param(RULE_BODY.replace("remediation: Turn on default encryption.",
                                   "remediation: {text: t, cli: 'aws s3 rb ${bucket}'}"),
                 "remediation.cli", "unknown placeholder ${bucket}", id="placeholder-in-cli"),
    pytest.param(RULE_BODY + "fail_message: costs $ 5\n", "fail_message", "invalid placeholder",
                 id="lone-dollar"),
    pytest.param(RULE_BODY + "compliance: [cis]\n", "compliance", "must map a framework id", id="compliance-list"),
    pytest.param(RULE_BODY + "compliance: {cis: 2}\n", "compliance", "must be a list of requirement ids",
                 id="compliance-number"),
    pytest.param(RULE_BODY + "references: https://example.org\n", "references", "list of URLs",
                 id="references-not-list"),
]


@pytest.mark.parametrize(("body", "field", "message"), RULE_ERROR_CASES)
def test_rule_error(tmp_path: Path, body: str, field: str, message: str) -> None:
    text = DEFAULTS + rule_text("aws-rule", body)
    path = write(tmp_path, "rules.yaml", text)

    error = single_error(path)

    assert error.field == field
    assert message in error.reason
    assert error.reason.startswith("rule aws-rule: ")
    assert error.file == str(path)
    field_key = field.split(".")[0]
    lines = text.splitlines()
    first_rule_line = 6
    expected_line = next((n for n, line in enumerate(lines, 1)
                          if n >= first_rule_line and line.strip().startswith(f"{field_key}:")), first_rule_line)
    assert error.line == expected_line


@pytest.mark.parametrize(("rule_id", "ok"), [
    pytest.param("aws-s3-ok", True, id="valid"),
    pytest.param("ab", False, id="too-short"),
    pytest.param("AWS-Upper", False, id="upper-case"),
    pytest.param("-leading", False, id="leading-hyphen"),
    pytest.param('"aws-newline\\n"', False, id="trailing-newline"),
    pytest.param("a" * 101, False, id="too-long"),
])
def test_rule_id_format(tmp_path: Path, rule_id: str, ok: bool) -> None:
    rules, errors = parse_rule_file(write(tmp_path, "rules.yaml", DEFAULTS + rule_text(rule_id)))

    assert len(rules) == int(ok)
    assert [error.field for error in errors] == ([] if ok else ["id"])


# --- File-level problems ---------------------------------------------------------------

def test_invalid_yaml_gives_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", DEFAULTS + "  - id: aws-x\n    title: [unclosed\n    severity: high\n")

    error = single_error(path)

    assert error.reason.startswith("invalid YAML")
    assert error.line in (7, 8)
    assert error.file == str(path)


def test_duplicate_yaml_key_is_error(tmp_path: Path) -> None:
    text = DEFAULTS + rule_text("aws-dup", RULE_BODY + "severity: low\n")
    path = write(tmp_path, "dup.yaml", text)

    error = single_error(path)

    assert "duplicate key 'severity'" in error.reason
    assert error.line == len(text.splitlines())


@pytest.mark.parametrize(("text", "message", "line"), [
    pytest.param("", "must be a mapping with a 'rules' list", 1, id="empty"),
    pytest.param("- id: x\n", "must be a mapping with a 'rules' list", 1, id="top-level-list"),
    pytest.param("rules: {id: x}\n", "must be a mapping with a 'rules' list", 1, id="rules-not-list"),
    pytest.param("rules: []\nextra: 1\n", "unexpected top-level key(s): extra", 2, id="extra-top-level"),
    pytest.param("defaults: [aws]\nrules: []\n", "'defaults' must be a mapping", 1, id="defaults-list"),
    pytest.param("defaults:\n  provider: aws\n  servce: s3\nrules: []\n", "unknown field 'servce' in defaults", 3,
                 id="defaults-unknown-key"),
    pytest.param("defaults: {id: aws-x}\nrules: []\n", "unknown field 'id' in defaults", 1, id="defaults-id"),
    pytest.param("rules:\n  - just text\n", "each rule must be a mapping", 2, id="rule-not-mapping"),
])
def test_file_error(tmp_path: Path, text: str, message: str, line: int) -> None:
    error = single_error(write(tmp_path, "rules.yaml", text))

    assert message in error.reason
    assert error.line == line


def test_rule_not_mapping_gives_item_line(tmp_path: Path) -> None:
    rules, errors = parse_rule_file(write(tmp_path, "rules.yaml", "rules:\n  - just text\n  - 42\n"))

    assert rules == []
    assert [(error.line, error.reason) for error in errors] == [
        (2, "each rule must be a mapping"), (3, "each rule must be a mapping")]


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"rules: []\n# caf\xe9\n")

    error = single_error(path)

    assert error.reason.startswith("cannot read file")


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", DEFAULTS + rule_text("aws-same"))
    second = write(tmp_path, "b.yaml", DEFAULTS + "\n" + rule_text("aws-other") + rule_text("aws-same"))

    with pytest.raises(RuleFileErrors) as caught:
        load_rule_files([first, second])

    (error,) = caught.value.errors
    assert error.file == str(second)
    assert error.line == 15
    assert error.field == "id"
    assert f"duplicate rule id 'aws-same', first defined in {first}:6" in error.reason


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", DEFAULTS + rule_text("aws-same") + rule_text("aws-same"))

    with pytest.raises(RuleFileErrors) as caught:
        load_rule_files([path])

    assert [error.line for error in caught.value.errors] == [14]


def test_duplicate_of_known_id(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", DEFAULTS + rule_text("aws-s3-bucket-acl-public"))

    with pytest.raises(RuleFileErrors, match="first defined in a built-in rule file"):
        load_rule_files([path], known_ids=["aws-s3-bucket-acl-public"])


def test_expand_rule_paths(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    (folder / "nested").mkdir(parents=True)
    for name in ("b.yaml", "a.yml", "nested/c.yaml", "notes.txt"):
        (folder / name).write_text("rules: []\n")
    single = write(tmp_path, "single.yaml", "rules: []\n")

    files = expand_rule_paths([folder, single])

    assert files == [folder / "a.yml", folder / "b.yaml", folder / "nested" / "c.yaml", single]
    with pytest.raises(FileNotFoundError, match="not found"):
        expand_rule_paths([tmp_path / "absent"])


def test_rule_error_describe() -> None:
    assert RuleError("bad", file="r.yaml", line=3, field="severity").describe() == "r.yaml:3: field 'severity': bad"
    assert RuleError("bad").describe() == "<rule>: bad"


def test_validate_command_lists_errors(tmp_path: Path) -> None:
    text = DEFAULTS + rule_text("aws-one", RULE_BODY.replace("severity: high", "severity: urgent")) + rule_text(
        "aws-two", RULE_BODY.replace("category: encryption", "category: misc"))
    path = write(tmp_path, "rules.yaml", text)

    result = CliRunner().invoke(main, ["rules", "validate", str(path)])

    assert result.exit_code == 1
    assert f"{path}:8: field 'severity'" in result.output
    assert f"{path}:17: field 'category'" in result.output
    assert "2 error(s)" in result.output


def test_validate_command_accepts_valid(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yaml", DEFAULTS + rule_text("org-encrypted"))

    result = CliRunner().invoke(main, ["rules", "validate", str(path)])

    assert result.exit_code == 0, result.output
    assert "1 rule(s) valid" in result.output


def test_validate_accepts_builtin_folder() -> None:
    folder = builtin_rule_files()[0].parents[1]

    result = CliRunner().invoke(main, ["rules", "validate", str(folder)])

    assert result.exit_code == 0, result.output
    assert f"{len(load_builtin_rules())} rule(s) valid" in result.output


def test_validate_rejects_reused_builtin_id(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.yaml", DEFAULTS + rule_text("aws-s3-bucket-policy-public"))

    result = CliRunner().invoke(main, ["rules", "validate", str(path)])

    assert result.exit_code == 1
    assert "duplicate rule id 'aws-s3-bucket-policy-public'" in result.output
