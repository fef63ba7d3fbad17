"""Every Azure and GCP rule against its data-driven cases; each rule needs a FAIL and a PASS case."""

from __future__ import annotations

import pytest

from ridgeline.model.finding import Status
from ridgeline.rules.loader import load_builtin_rules
from tests.rules.case_files import RuleCase, evaluate_case, load_cases

PROVIDERS = ("azure", "gcp")
RULES = {rule.id: rule for rule in load_builtin_rules()}
CASES = [case for provider in PROVIDERS for case in load_cases(provider)]


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_rule_gives_the_expected_status(case: RuleCase) -> None:
    rule = RULES.get(case.rule_id)
    assert rule is not None, f"{case.source}: no built-in rule {case.rule_id!r}"
    assert rule.provider == case.provider, f"{case.source}: {case.rule_id} is a {rule.provider} rule"

    finding = evaluate_case(case, rule)

    if case.status is None:
        assert finding is None
        return
    assert finding is not None
    assert finding.status is case.status, (
        f"{case.source} ({case.description}): expected {case.status.value}, got {finding.status.value}: "
        f"{finding.message} evidence={finding.evidence}")
    assert case.message in finding.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rules_have_fail_and_pass_cases(provider: str) -> None:
    statuses: dict[str, set[Status]] = {rule_id: set() for rule_id, rule in RULES.items()
                                        if rule.provider == provider}
    for case in load_cases(provider):
        if case.status is not None:
            statuses.setdefault(case.rule_id, set()).add(case.status)

    missing = {rule_id: sorted(s.value for s in {Status.FAIL, Status.PASS} - found)
               for rule_id, found in statuses.items() if {Status.FAIL, Status.PASS} - found}
    assert not missing, f"{provider} rules without a FAIL or PASS case: {missing}"
