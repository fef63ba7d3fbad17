"""Frameworks, their requirements, and the posture a scan's findings give them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement (control, recommendation) of a framework."""

    id: str
    """The framework's own id, such as "2.1.4" or "AC-6"."""

    title: str
    """A short title in Ridgeline's own words."""

    section: str
    """Id or name of the section the requirement belongs to."""

    automated: bool
    """Whether configuration can judge the requirement: the framework's own word where it classifies its
    requirements (CIS "Automated"), otherwise the framework file author's judgement."""

    rules: tuple[str, ...] = ()
    """Ridgeline rules that judge the requirement; empty means a person must assess it (manual)."""


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework version: built-in (CIS, PCI DSS, ...) or an organisation's own, in the same format."""

    id: str
    """Stable id used on the command line and in rule `compliance` blocks, e.g. "cis-aws-7.0"."""

    name: str
    version: str
    provider: str | None
    """"aws", "azure", "gcp", or None for a framework that spans providers."""

    requirements: tuple[Requirement, ...]
    sections: dict[str, str] = field(default_factory=dict)
    """Section id to section title."""

    source: str = ""
    """File and line the framework was loaded from."""

    description: str = ""
    """Scope of the file and the meaning of its `automated` flags."""


class RequirementStatus(StrEnum):
    """Status of a requirement in one scan."""

    PASS = "pass"
    FAIL = "fail"
    MANUAL = "manual"
    """No rule judges it: a person must assess it."""
    NOT_ASSESSED = "not-assessed"
    """Rules exist but gave no verdict: no FAIL, and no PASS without ERROR findings beside it (their service
    was not scanned, a finding is ERROR, or no resource of their types exists)."""


@dataclass(slots=True)
class RequirementResult:
    """The status of one requirement, and the resources that make it fail."""

    requirement: Requirement
    status: RequirementStatus
    failing_resources: list[str] = field(default_factory=list)
    """Resource ids with a FAIL finding of one of the requirement's rules."""

    passed_findings: int = 0
    failed_findings: int = 0
    error_findings: int = 0
    muted_findings: int = 0
    first_failed_at: str | None = None
    """When the oldest open FAIL finding of the requirement was first seen, when history is known."""

    reason: str = ""
    """One-sentence explanation of a NOT_ASSESSED (or MANUAL) status; empty for PASS and FAIL."""

    rules: tuple[str, ...] = ()
    """The rules that judged it: those the framework lists, then rules whose `compliance` block claims it."""


@dataclass(slots=True)
class SectionScore:
    """Share of a section's assessed requirements that pass."""

    section: str
    title: str
    passed: int
    failed: int
    manual: int
    not_assessed: int

    @property
    def score(self) -> float | None:
        """Return passed / (passed + failed) as a percentage, or None when nothing was assessed."""
        assessed = self.passed + self.failed
        return None if assessed == 0 else round(100.0 * self.passed / assessed, 1)


@dataclass(slots=True)
class Posture:
    """A framework's posture in one scan."""

    framework: Framework
    results: list[RequirementResult]
    sections: list[SectionScore]

    @property
    def score(self) -> float | None:
        """Return the overall share of assessed requirements that pass, as a percentage."""
        passed = sum(section.passed for section in self.sections)
        failed = sum(section.failed for section in self.sections)
        return None if passed + failed == 0 else round(100.0 * passed / (passed + failed), 1)
