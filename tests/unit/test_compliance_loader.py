"""Framework files: the built-in ones load and match the benchmarks' facts; invalid files name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ridgeline.compliance.loader import (
    FrameworkFileErrors,
    UnknownFrameworkError,
    builtin_framework_files,
    expand_framework_paths,
    find_framework,
    load_framework_files,
    load_frameworks,
)
from ridgeline.rules.model import Rule

# Requirement ids, sections and Automated/Manual flags of the CIS benchmarks and FSBP, gathered from
# public sources; present in the development workspace only.
FRAMEWORKS_REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "frameworks-reference"

BUILTIN_IDS = {
    "cis-aws-6.0", "cis-aws-7.0", "cis-azure-5.0", "cis-azure-6.0", "cis-gcp-4.0", "cis-gcp-5.0", "aws-fsbp",
    "pci-dss-4.0", "hipaa-security", "soc2", "iso-27001-2022", "nist-800-53-r5",
}

VALID = """\
id: acme-baseline
name: ACME cloud baseline
version: "2.1"
provider: aws
description: Our own rules of the road.
sections:
  - {id: "1", title: Storage}
  - {id: "2", title: Identity}
requirements:
  - id: "1.10"
    title: Buckets are encrypted
    section: "1"
    automated: true
    rules: [aws-s3-bucket-default-encryption]
  - id: "2.1"
    title: People review access every quarter
    section: "2"
    rules: []
  - id: "2.2"
    title: Console users have MFA
    section: "2"
    rules: [aws-iam-user-console-mfa]
"""


def write(tmp_path: Path, text: str, name: str = "framework.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_builtin_frameworks_load_with_known_rules(builtin_rules: list[Rule]) -> None:
    frameworks = load_frameworks(rule_ids={rule.id for rule in builtin_rules})

    assert {framework.id for framework in frameworks} == BUILTIN_IDS
    assert len(builtin_framework_files()) == len(BUILTIN_IDS)
    for framework in frameworks:
        assert framework.requirements, framework.id
        assert framework.description, framework.id
        assert {r.section for r in framework.requirements} <= set(framework.sections), framework.id


@pytest.mark.parametrize(("framework_id", "count"), [
    ("cis-aws-7.0", 70), ("cis-aws-6.0", 63), ("cis-azure-6.0", 127), ("cis-azure-5.0", 155),
    ("cis-gcp-5.0", 93), ("cis-gcp-4.0", 84), ("aws-fsbp", 336), ("iso-27001-2022", 93), ("soc2", 33),
])
def test_builtin_requirement_counts(framework_id: str, count: int) -> None:
    framework = find_framework(load_frameworks(), framework_id)

    assert len(framework.requirements) == count


def test_soc2_has_common_criteria_cc1_to_cc9() -> None:
    soc2 = find_framework(load_frameworks(), "soc2")

    assert list(soc2.sections) == [f"CC{n}" for n in range(1, 10)]
    assert {r.id for r in soc2.requirements if r.section == "CC6"} == {f"CC6.{n}" for n in range(1, 9)}


def test_nist_covers_the_core_families() -> None:
    nist = find_framework(load_frameworks(), "nist-800-53-r5")
    ids = {requirement.id for requirement in nist.requirements}

    assert {"AC", "AU", "CM", "CP", "IA", "SC", "SI"} <= set(nist.sections)
    for control in ("AC-3", "AC-6", "AU-2", "AU-12", "SC-7", "SC-8", "SC-13", "SC-28", "IA-2(1)"):
        assert control in ids


def test_hipaa_lists_every_technical_safeguard() -> None:
    hipaa = find_framework(load_frameworks(), "hipaa-security")
    technical = {r.id for r in hipaa.requirements if r.section == "164.312"}

    assert technical == {
        "164.312(a)(1)", "164.312(a)(2)(i)", "164.312(a)(2)(ii)", "164.312(a)(2)(iii)", "164.312(a)(2)(iv)",
        "164.312(b)", "164.312(c)(1)", "164.312(c)(2)", "164.312(d)", "164.312(e)(1)", "164.312(e)(2)(i)",
        "164.312(e)(2)(ii)",
    }


REFERENCE_FILES = [
    ("cis-aws-7.0", "cis_aws_7.0.json"), ("cis-aws-6.0", "cis_aws_6.0.json"),
    ("cis-azure-6.0", "cis_azure_6.0.json"), ("cis-azure-5.0", "cis_azure_5.0.json"),
    ("cis-gcp-5.0", "cis_gcp_5.0.json"), ("cis-gcp-4.0", "cis_gcp_4.0.json"),
    ("aws-fsbp", "aws_fsbp_1.0.0.json"),
]


@pytest.mark.parametrize(("framework_id", "reference_file"), REFERENCE_FILES)
def test_builtin_matches_reference_facts(framework_id: str, reference_file: str) -> None:
    path = FRAMEWORKS_REFERENCE / reference_file
    if not path.is_file():
        pytest.skip(f"reference list {path} is absent in this checkout")
    reference = json.loads(path.read_text())
    framework = find_framework(load_frameworks(), framework_id)

    expected = [(requirement["id"], section["id"], requirement.get("automated", True))
                for section in reference["sections"] for requirement in section["requirements"]]
    actual = [(r.id, r.section, r.automated) for r in framework.requirements]
    assert actual == expected
    assert list(framework.sections) == [section["id"] for section in reference["sections"]]

    # The titles are Ridgeline's own words, never the reference list's paraphrases.
    reference_titles = {requirement["title_own_words"].lower()
                        for section in reference["sections"] for requirement in section["requirements"]}
    copied = [r.id for r in framework.requirements if r.title.lower() in reference_titles]
    assert copied == []


def test_valid_file_loads(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)

    [framework] = load_framework_files([path], rule_ids={"aws-s3-bucket-default-encryption",
                                                         "aws-iam-user-console-mfa"})

    assert (framework.id, framework.name, framework.version, framework.provider) == (
        "acme-baseline", "ACME cloud baseline", "2.1", "aws")
    assert framework.sections == {"1": "Storage", "2": "Identity"}
    assert framework.source == f"{path}:1"
    first, manual, defaulted = framework.requirements
    assert (first.id, first.section, first.automated, first.rules) == (
        "1.10", "1", True, ("aws-s3-bucket-default-encryption",))
    assert (manual.automated, manual.rules) == (False, ())
    # Without `automated`, a requirement with rules is automated.
    assert defaulted.automated is True


def test_provider_null_spans_providers(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("provider: aws", "provider: null"))

    [framework] = load_framework_files([path])

    assert framework.provider is None


def _replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


INVALID = [
    pytest.param(_replace('version: "2.1"', "version: 2.10"), "version", 3, "must be a string; write it in quotes",
                 id="number-version"),
    pytest.param(_replace('  - id: "1.10"', "  - id: 1.10"), "requirements[0].id", 10, "must be a string",
                 id="number-requirement-id"),
    pytest.param(_replace("id: acme-baseline", "id: ACME Baseline"), "id", 1, "lower-case letters", id="bad-id"),
    pytest.param(_replace("name: ACME cloud baseline\n", ""), "name", 1, "missing required field 'name'",
                 id="missing-name"),
    pytest.param(_replace("provider: aws", "provider: oracle"), "provider", 4, "invalid provider 'oracle'",
                 id="bad-provider"),
    pytest.param(_replace("description:", "summary:"), "summary", 5, "unknown field 'summary'", id="unknown-field"),
    pytest.param(_replace('  - {id: "2", title: Identity}', '  - {id: "1", title: Identity}'), "sections[1].id", 8,
                 "duplicate section id '1'", id="duplicate-section"),
    pytest.param(_replace('  - {id: "2", title: Identity}', '  - {id: "2"}'), "sections[1].title", 8,
                 "missing required field 'title'", id="section-without-title"),
    pytest.param(_replace("sections:\n", "sections: []\nold_sections:\n"), "sections", 6,
                 "sections must be a non-empty list", id="empty-sections"),
    pytest.param(_replace('    section: "1"\n', '    section: "9"\n'), "requirements[0].section", 12,
                 "unknown section '9'", id="unknown-section"),
    pytest.param(_replace("  - id: \"2.1\"\n", "  - id: \"1.10\"\n"), "requirements[1].id", 15,
                 "duplicate requirement id '1.10'", id="duplicate-requirement"),
    pytest.param(_replace("    automated: true", "    automated: yes please"), "requirements[0].automated", 13,
                 "automated must be true or false", id="automated-not-bool"),
    pytest.param(_replace("    rules: []", "    rules: aws-s3-bucket-versioning"), "requirements[1].rules", 18,
                 "rules must be a list of rule ids", id="rules-not-list"),
    pytest.param(_replace("    rules: []", "    rules: [Not A Rule]"), "requirements[1].rules", 18,
                 "invalid rule id 'Not A Rule'", id="bad-rule-id"),
    pytest.param(_replace("    rules: []", "    rules: [aws-iam-user-console-mfa, aws-iam-user-console-mfa]"),
                 "requirements[1].rules", 18, "listed twice", id="rule-twice"),
    pytest.param(_replace("    title: Buckets are encrypted\n", "    title: Buckets are encrypted\n    level: 1\n"),
                 "requirements[0].level", 12, "unknown requirement field 'level'", id="unknown-requirement-field"),
    pytest.param(_replace("    title: People review access every quarter\n", ""), "requirements[1].title", 15,
                 "missing required field 'title'", id="requirement-without-title"),
    pytest.param(_replace("  - id: \"2.2\"\n    title: Console users have MFA\n    section: \"2\"\n"
                          "    rules: [aws-iam-user-console-mfa]\n", "  - just text\n"), "requirements[2]", 19,
                 "each requirement must be a mapping", id="requirement-not-mapping"),
]


@pytest.mark.parametrize(("text", "field", "line", "message"), INVALID)
def test_invalid_file_names_field_and_line(tmp_path: Path, text: str, field: str, line: int, message: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(FrameworkFileErrors) as raised:
        load_framework_files([path])

    matching = [error for error in raised.value.errors if error.field == field]
    assert matching, [error.describe() for error in raised.value.errors]
    assert message in matching[0].reason
    assert matching[0].line == line
    assert matching[0].file == str(path)


def test_unknown_rule_is_reported_with_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("[aws-iam-user-console-mfa]", "[aws-iam-user-consol-mfa]"))

    with pytest.raises(FrameworkFileErrors) as raised:
        load_framework_files([path], rule_ids={"aws-s3-bucket-default-encryption", "aws-iam-user-console-mfa"})

    [error] = raised.value.errors
    assert (error.field, error.line) == ("requirements[2].rules", 22)
    assert "requirement 2.2: unknown rule 'aws-iam-user-consol-mfa'; did you mean aws-iam-user-console-mfa?" in str(
        error)


def test_every_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    text = VALID.replace("provider: aws", "provider: oracle").replace('    section: "1"\n', '    section: "9"\n')
    path = write(tmp_path, text)

    with pytest.raises(FrameworkFileErrors) as raised:
        load_framework_files([path])

    assert [error.field for error in raised.value.errors] == ["provider", "requirements[0].section"]


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("  - {id: \"1\", title: Storage}", "  - {id: \"1\", title: [Storage}"))

    with pytest.raises(FrameworkFileErrors) as raised:
        load_framework_files([path])

    [error] = raised.value.errors
    assert error.line == 7
    assert error.reason.startswith("invalid YAML")


def test_duplicate_key_is_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("version: \"2.1\"\n", "version: \"2.1\"\nversion: \"2.2\"\n"))

    with pytest.raises(FrameworkFileErrors) as raised:
        load_framework_files([path])

    assert "duplicate key 'version'" in raised.value.errors[0].reason


def test_document_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- just\n- a list\n")

    with pytest.raises(FrameworkFileErrors, match="must be a mapping"):
        load_framework_files([path])


def test_duplicate_framework_id_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, VALID, "a.yaml")
    second = write(tmp_path, VALID, "b.yaml")

    with pytest.raises(FrameworkFileErrors) as raised:
        load_framework_files([first, second])

    [error] = raised.value.errors
    assert error.file == str(second)
    assert f"duplicate framework id 'acme-baseline', first defined in {first}:1" in error.reason


def test_user_file_cannot_reuse_builtin_id(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("id: acme-baseline", "id: cis-aws-7.0"))

    with pytest.raises(FrameworkFileErrors, match=r"duplicate framework id 'cis-aws-7\.0'"):
        load_frameworks([path])


def test_user_folder_adds_frameworks(tmp_path: Path) -> None:
    folder = tmp_path / "frameworks"
    folder.mkdir()
    write(folder, VALID, "acme.yml")
    write(folder, "not yaml to load", "notes.txt")

    frameworks = load_frameworks([folder])

    assert {framework.id for framework in frameworks} == BUILTIN_IDS | {"acme-baseline"}


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="framework file or folder not found"):
        expand_framework_paths([tmp_path / "absent.yaml"])


def test_unknown_framework_suggests_close_ids() -> None:
    with pytest.raises(UnknownFrameworkError) as raised:
        find_framework(load_frameworks(), "cis-aws-7")

    assert "no framework 'cis-aws-7'; did you mean cis-aws-7.0" in str(raised.value)
