"""The posture of a framework in one scan: each requirement's status from its rules' findings.

A requirement PASSes when every finding of its rules is PASS or MUTED and at least one is PASS, and it
FAILs when any finding is FAIL. It is MANUAL when no rule judges it. It is NOT ASSESSED when its rules
exist but give no verdict: only ERROR findings, a service that was not scanned, or no resource of the
types they judge. So "could not look" is never counted as a pass.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ridgeline.compliance.loader import find_framework, load_frameworks
from ridgeline.compliance.model import (
    Framework,
    Posture,
    Requirement,
    RequirementResult,
    RequirementStatus,
    SectionScore,
)
from ridgeline.model.finding import Finding, Status
from ridgeline.model.scan import Coverage
from ridgeline.rules.model import Rule
from ridgeline.store.database import Store

logger = logging.getLogger(__name__)


def requirement_rules(framework: Framework, rules: Iterable[Rule]) -> dict[str, tuple[str, ...]]:
    """Return each requirement's rule ids: those the framework lists, then rules that claim it.

    A rule claims a requirement in its `compliance` block. For the built-in frameworks both sides agree
    (a test enforces it); the claims let an organisation's own rules count towards any framework.
    """
    result = {requirement.id: list(requirement.rules) for requirement in framework.requirements}
    for rule in rules:
        for requirement_id in rule.compliance.get(framework.id, ()):
            listed = result.get(requirement_id)
            if listed is None:
                logger.warning("rule %s claims requirement %s, which framework %s does not have", rule.id,
                               requirement_id, framework.id)
            elif rule.id not in listed:
                listed.append(rule.id)
    return {requirement_id: tuple(rule_ids) for requirement_id, rule_ids in result.items()}


def compute_posture(framework: Framework, findings: Iterable[Finding], rules: Iterable[Rule], *,
                    coverage: Sequence[Coverage] | None = None) -> Posture:
    """Judge every requirement of `framework` from a scan's findings.

    `rules` are the rules the scan ran: their `compliance` claims are counted, and their services are
    checked against `coverage`. With `coverage`, a rule whose service was not scanned keeps its
    requirements from passing. Without it, a rule with no findings is taken to have found no resources.
    """
    rules_by_id = {rule.id: rule for rule in rules}
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_rule[finding.rule_id].append(finding)
    scanned = None if coverage is None else {(unit.provider, unit.service) for unit in coverage}
    rule_ids_of = requirement_rules(framework, rules_by_id.values())

    # A framework that spans clouds (PCI DSS, NIST) lists Azure and GCP rules beside AWS ones: a scan of
    # one cloud is judged by that cloud's rules only, or nothing it did not look at could ever pass.
    providers = ({unit.provider for unit in coverage} if coverage is not None
                 else {listed[0].provider for listed in by_rule.values() if listed})
    if providers:
        rule_ids_of = {
            requirement_id: tuple(rule_id for rule_id in rule_ids
                                  if rule_id not in rules_by_id or rules_by_id[rule_id].provider in providers)
            for requirement_id, rule_ids in rule_ids_of.items()}

    results = [
        _judge(requirement, rule_ids_of[requirement.id], by_rule, rules_by_id, scanned)
        for requirement in framework.requirements
    ]
    posture = Posture(framework=framework, results=results, sections=_section_scores(framework, results))
    logger.debug("posture of %s: score %s over %d requirement(s)", framework.id, posture.score, len(results))
    return posture


def posture_for(framework_id: str, findings: Iterable[Finding], rules: Sequence[Rule], *,
                coverage: Sequence[Coverage] | None = None, framework_paths: Iterable[Path] = ()) -> Posture:
    """Load a built-in framework (or one from `framework_paths`) by id and judge a scan's findings against it.

    Raises UnknownFrameworkError for an unknown id, FrameworkFileErrors for an invalid file, and
    FileNotFoundError for a missing path.
    """
    frameworks = load_frameworks(framework_paths, rule_ids={rule.id for rule in rules})
    return compute_posture(find_framework(frameworks, framework_id), findings, rules, coverage=coverage)


def _judge(requirement: Requirement, rule_ids: Sequence[str], by_rule: Mapping[str, list[Finding]],
           rules_by_id: Mapping[str, Rule], scanned: set[tuple[str, str]] | None) -> RequirementResult:
    """Return the status of one requirement from the findings of its rules."""
    if not rule_ids:
        return RequirementResult(requirement=requirement, status=RequirementStatus.MANUAL,
                                 reason="No rule judges this requirement, so a person must assess it.")

    findings = [finding for rule_id in rule_ids for finding in by_rule.get(rule_id, ())]
    counts = {status: 0 for status in Status}
    failing: dict[str, None] = {}
    for finding in findings:
        counts[finding.status] += 1
        if finding.status is Status.FAIL:
            failing.setdefault(finding.resource_id)
    result = RequirementResult(
        requirement=requirement,
        status=RequirementStatus.NOT_ASSESSED,
        rules=tuple(rule_ids),
        failing_resources=list(failing),
        passed_findings=counts[Status.PASS],
        failed_findings=counts[Status.FAIL],
        error_findings=counts[Status.ERROR],
        muted_findings=counts[Status.MUTED],
    )

    if result.failed_findings:
        result.status = RequirementStatus.FAIL
        return result
    unscanned = _unscanned_services(rule_ids, by_rule, rules_by_id, scanned)
    if result.passed_findings and not result.error_findings and not unscanned:
        result.status = RequirementStatus.PASS
        return result
    result.reason = _not_assessed_reason(result, findings, rule_ids, rules_by_id, unscanned)
    return result


def _unscanned_services(rule_ids: Sequence[str], by_rule: Mapping[str, list[Finding]],
                        rules_by_id: Mapping[str, Rule], scanned: set[tuple[str, str]] | None) -> list[str]:
    """Return the services of the requirement's rules that the scan did not collect (empty when unknown)."""
    if scanned is None:
        return []
    services: dict[str, None] = {}
    for rule_id in rule_ids:
        rule = rules_by_id.get(rule_id)
        if rule is not None and not by_rule.get(rule_id) and (rule.provider, rule.service) not in scanned:
            services.setdefault(rule.service)
    return list(services)


def _not_assessed_reason(result: RequirementResult, findings: Sequence[Finding], rule_ids: Sequence[str],
                         rules_by_id: Mapping[str, Rule], unscanned: Sequence[str]) -> str:
    """Explain in one sentence why a requirement with rules got neither PASS nor FAIL."""
    if result.error_findings:
        first = next(finding for finding in findings if finding.status is Status.ERROR)
        return (f"{result.error_findings} finding(s) could not be assessed (ERROR), for example "
                f"{first.rule_id} on {first.resource_id}: {first.message}")
    if unscanned:
        return f"Not scanned: {', '.join(unscanned)}; scan these services to judge the requirement."
    if result.muted_findings:
        return f"Every finding is muted ({result.muted_findings}); a muted FAIL is not a pass."
    types = sorted({resource_type for rule_id in rule_ids if rule_id in rules_by_id
                    for resource_type in rules_by_id[rule_id].resource_types})
    unknown = [rule_id for rule_id in rule_ids if rule_id not in rules_by_id]
    if unknown and not types:
        return f"No findings, and the rules {', '.join(unknown)} are not loaded."
    return f"No findings: the scan found no resource of the types these rules judge ({', '.join(types)})."


def _section_scores(framework: Framework, results: Sequence[RequirementResult]) -> list[SectionScore]:
    """Count the statuses of each section, in the framework's section order."""
    counts: dict[str, dict[RequirementStatus, int]] = {}
    for section_id in framework.sections:
        counts[section_id] = defaultdict(int)
    for result in results:
        counts.setdefault(result.requirement.section, defaultdict(int))[result.status] += 1
    return [
        SectionScore(
            section=section_id,
            title=framework.sections.get(section_id, section_id),
            passed=status_counts[RequirementStatus.PASS],
            failed=status_counts[RequirementStatus.FAIL],
            manual=status_counts[RequirementStatus.MANUAL],
            not_assessed=status_counts[RequirementStatus.NOT_ASSESSED],
        )
        for section_id, status_counts in counts.items()
    ]


def status_counts(posture: Posture) -> dict[str, int]:
    """Return how many requirements have each status, keyed by the status value."""
    counts = {status.value: 0 for status in RequirementStatus}
    for result in posture.results:
        counts[result.status.value] += 1
    return counts


def posture_to_dict(posture: Posture) -> dict[str, Any]:
    """Return the posture as JSON-ready data: framework, score, sections and every requirement."""
    framework = posture.framework
    return {
        "framework": {
            "id": framework.id,
            "name": framework.name,
            "version": framework.version,
            "provider": framework.provider,
        },
        "score": posture.score,
        "counts": status_counts(posture),
        "sections": [
            {"id": section.section, "title": section.title, "score": section.score, "passed": section.passed,
             "failed": section.failed, "manual": section.manual, "not_assessed": section.not_assessed}
            for section in posture.sections
        ],
        "requirements": [
            {
                "id": result.requirement.id,
                "title": result.requirement.title,
                "section": result.requirement.section,
                "automated": result.requirement.automated,
                "rules": list(result.rules),
                "status": result.status.value,
                "failing_resources": result.failing_resources,
                "passed_findings": result.passed_findings,
                "failed_findings": result.failed_findings,
                "error_findings": result.error_findings,
                "muted_findings": result.muted_findings,
                "first_failed_at": result.first_failed_at,
                "reason": result.reason,
            }
            for result in posture.results
        ],
    }


def add_failing_since(posture: Posture, findings: Iterable[Finding], first_seen: Mapping[str, str]) -> None:
    """Set `first_failed_at` of failing requirements: the earliest first sighting of their FAIL findings.

    `first_seen` maps finding ids to when the finding was first seen (the store's finding history).
    """
    failing: dict[str, list[str]] = {}
    for finding in findings:
        if finding.status is Status.FAIL:
            failing.setdefault(finding.rule_id, []).append(finding.id)
    for result in posture.results:
        if result.status is not RequirementStatus.FAIL:
            continue
        seen = [first_seen[finding_id] for rule_id in result.rules
                for finding_id in failing.get(rule_id, ()) if finding_id in first_seen]
        result.first_failed_at = min(seen) if seen else None


def first_seen_times(store: Store, provider: str, accounts: Sequence[str]) -> dict[str, str]:
    """Return when each stored finding of the accounts was first seen, by finding id."""
    return {state.finding_id: state.first_seen for state in store.load_finding_states(provider, accounts)
            if state.first_seen}
