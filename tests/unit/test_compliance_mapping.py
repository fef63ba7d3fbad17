"""Framework files and rule `compliance` blocks agree both ways, and CIS AWS 7.0 coverage only grows."""

from __future__ import annotations

from pathlib import Path

import pytest

from ridgeline.compliance.loader import find_framework, load_frameworks
from ridgeline.compliance.model import Framework
from ridgeline.compliance.posture import requirement_rules
from ridgeline.rules.model import Rule
from tests.rules.case_files import load_cases

AWS_TESTS = Path(__file__).resolve().parents[1] / "aws"

# CIS AWS 7.0 requirements marked Automated that no rule with a test in tests/aws judges yet. The list
# may only shrink: when a rule and its test cover one of them, remove its id here (the test fails until
# you do), and never add an id to hide a requirement that lost its rule.
CIS_AWS_7_AUTOMATED_NOT_JUDGED: frozenset[str] = frozenset()

# The same for CIS Azure 6.0 and CIS GCP 5.0, with the reason each one cannot be judged yet.
CIS_AZURE_6_AUTOMATED_NOT_JUDGED: frozenset[str] = frozenset()
CIS_GCP_5_AUTOMATED_NOT_JUDGED: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def frameworks(builtin_rules: list[Rule]) -> list[Framework]:
    return load_frameworks(rule_ids={rule.id for rule in builtin_rules})


def test_framework_rules_exist(frameworks: list[Framework], builtin_rules: list[Rule]) -> None:
    known = {rule.id for rule in builtin_rules}

    unknown = [(framework.id, requirement.id, rule_id) for framework in frameworks
               for requirement in framework.requirements for rule_id in requirement.rules if rule_id not in known]

    assert unknown == []


def test_rule_claims_are_listed_by_framework(frameworks: list[Framework], builtin_rules: list[Rule]) -> None:
    by_id = {framework.id: framework for framework in frameworks}

    problems = []
    for rule in builtin_rules:
        for framework_id, requirement_ids in rule.compliance.items():
            framework = by_id.get(framework_id)
            if framework is None:
                problems.append(f"{rule.id}: unknown framework {framework_id}")
                continue
            requirements = {requirement.id: requirement for requirement in framework.requirements}
            for requirement_id in requirement_ids:
                requirement = requirements.get(requirement_id)
                if requirement is None:
                    problems.append(f"{rule.id}: {framework_id} has no requirement {requirement_id}")
                elif rule.id not in requirement.rules:
                    problems.append(f"{rule.id}: {framework_id} {requirement_id} does not list the rule")

    assert problems == []


def test_framework_rules_claim_requirement(frameworks: list[Framework], builtin_rules: list[Rule]) -> None:
    by_id = {rule.id: rule for rule in builtin_rules}

    problems = [f"{framework.id} {requirement.id} lists {rule_id}, whose compliance block does not claim it"
                for framework in frameworks for requirement in framework.requirements for rule_id in requirement.rules
                if rule_id in by_id and requirement.id not in by_id[rule_id].compliance.get(framework.id, ())]

    assert problems == []


def test_aws_rules_claim_no_azure_or_gcp_requirement(builtin_rules: list[Rule]) -> None:
    claims = {(rule.id, framework_id) for rule in builtin_rules for framework_id in rule.compliance
              if framework_id.startswith(("cis-azure", "cis-gcp")) and rule.provider != framework_id.split("-")[1]}

    assert claims == set()


@pytest.mark.parametrize(("framework_id", "not_judged_allowed"), [
    ("cis-azure-6.0", CIS_AZURE_6_AUTOMATED_NOT_JUDGED),
    ("cis-gcp-5.0", CIS_GCP_5_AUTOMATED_NOT_JUDGED),
])
def test_cis_azure_and_gcp_automated_coverage(frameworks: list[Framework], builtin_rules: list[Rule],
                                              framework_id: str, not_judged_allowed: frozenset[str]) -> None:
    # Azure and GCP rules are tested through the data cases, which require a FAIL and a PASS case per rule.
    tested = {case.rule_id for provider in ("azure", "gcp") for case in load_cases(provider)}
    framework = find_framework(frameworks, framework_id)
    rules_of = requirement_rules(framework, builtin_rules)

    not_judged = {requirement.id for requirement in framework.requirements
                  if requirement.automated and not tested.intersection(rules_of[requirement.id])}

    assert sorted(not_judged - not_judged_allowed) == [], f"automated {framework_id} requirements no tested rule judges"
    assert sorted(not_judged_allowed - not_judged) == [], "now judged by a tested rule: remove them from the list"


def test_cis_aws_7_automated_coverage(frameworks: list[Framework], builtin_rules: list[Rule]) -> None:
    tests_text = "\n".join(path.read_text() for path in sorted(AWS_TESTS.glob("test_*.py")))
    tested = {rule.id for rule in builtin_rules if rule.id in tests_text}
    framework = find_framework(frameworks, "cis-aws-7.0")
    rules_of = requirement_rules(framework, builtin_rules)

    not_judged = {requirement.id for requirement in framework.requirements
                  if requirement.automated and not tested.intersection(rules_of[requirement.id])}

    newly_missing = sorted(not_judged - CIS_AWS_7_AUTOMATED_NOT_JUDGED)
    now_covered = sorted(CIS_AWS_7_AUTOMATED_NOT_JUDGED - not_judged)
    assert newly_missing == [], "automated CIS AWS 7.0 requirements that no tested rule judges"
    assert now_covered == [], "now judged by a tested rule: remove them from CIS_AWS_7_AUTOMATED_NOT_JUDGED"
