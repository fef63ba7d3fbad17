"""The suppression entry, its whole-value patterns and matching, and the report of applying a file of them."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ridgeline.model.finding import Finding

REGEX_PREFIX = "re:"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A pattern that matches whole values: a case-sensitive glob, or a regular expression after `re:`."""

    text: str
    """The pattern as written in the file."""

    regex: re.Pattern[str] | None = None
    """The compiled expression for `re:` patterns; None for globs."""

    @classmethod
    def parse(cls, text: str) -> Pattern:
        """Compile `text`; raise re.error for an invalid regular expression."""
        if text.startswith(REGEX_PREFIX):
            return cls(text, re.compile(text[len(REGEX_PREFIX):]))
        return cls(text)

    def matches(self, value: str) -> bool:
        """Tell whether the pattern matches all of `value`, never a part of it."""
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return fnmatch.fnmatchcase(value, self.text)


@dataclass(frozen=True, slots=True)
class Suppression:
    """One entry of a suppression file. Every matcher that is set must match; unset matchers match anything."""

    reason: str
    """The justification for accepting the findings; never empty."""

    source: str
    """The entry's location in its file, as "FILE:LINE"."""

    id: str = ""
    rule: Pattern | None = None
    account: Pattern | None = None
    region: Pattern | None = None
    resource: str | None = None
    """An exact resource id (ARN for AWS)."""

    resource_pattern: Pattern | None = None
    """A pattern on the resource id."""

    tags: Mapping[str, Pattern] = field(default_factory=dict)
    """Tag key to a pattern on its value; the resource must carry every listed key."""

    expires: date | None = None
    """The last day (UTC) on which the suppression applies."""

    owner: str = ""
    ticket: str = ""

    @property
    def label(self) -> str:
        """The entry's id, or its file and line when it has none."""
        return self.id or self.source

    def active_on(self, day: date) -> bool:
        """Tell whether the suppression still applies on `day` (the expiry day itself included)."""
        return self.expires is None or day <= self.expires

    def matches(self, finding: Finding, tags: Mapping[str, str]) -> bool:
        """Tell whether every matcher accepts `finding`; `tags` are the tags of the finding's resource."""
        if self.rule is not None and not self.rule.matches(finding.rule_id):
            return False
        if self.account is not None and not self.account.matches(finding.account):
            return False
        if self.region is not None and not self.region.matches(finding.region):
            return False
        if self.resource is not None and finding.resource_id != self.resource:
            return False
        if self.resource_pattern is not None and not self.resource_pattern.matches(finding.resource_id):
            return False
        for key, pattern in self.tags.items():
            value = tags.get(key)
            if value is None or not pattern.matches(value):
                return False
        return True


@dataclass(slots=True)
class SuppressionReport:
    """The outcome of applying suppressions to a scan, and the entries that need attention."""

    muted: int = 0
    """Number of FAIL findings turned into MUTED."""

    matched: dict[str, int] = field(default_factory=dict)
    """Label of each active suppression to the number of FAIL findings it matched.

    A finding that several suppressions match counts for each of them, but only the first one in the
    file gives it its muted reason.
    """

    expired: list[Suppression] = field(default_factory=list)
    """Suppressions past their expiry date: they were not applied."""

    unused: list[Suppression] = field(default_factory=list)
    """Active suppressions that matched no FAIL finding in this scan."""
