"""The Rule type: metadata people read, plus the compiled condition the engine runs."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ridgeline.model.finding import Severity
from ridgeline.rules.conditions import Node

SCOPES = ("resource", "account", "region")

# Placeholders allowed in fail messages and remediation commands, written as ${name}.
PLACEHOLDERS = ("name", "id", "short_id", "account", "region", "type")
"""`short_id` is the last segment of the id: sg-0123 of a security group ARN, a snapshot id, a key id."""


@dataclass(frozen=True, slots=True)
class Remediation:
    """How to fix a failing resource: prose, an AWS CLI (or az/gcloud) command and a Terraform snippet."""

    text: str
    cli: str = ""
    terraform: str = ""
    cli_by_type: dict[str, str] = field(default_factory=dict)
    """Commands for rules that judge several resource types (a user, group or role), by type."""

    def cli_for(self, resource_type: str) -> str:
        """Return the command for `resource_type`: its own when the rule has one, else the shared one."""
        return self.cli_by_type.get(resource_type, self.cli)

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready data."""
        data: dict[str, Any] = {"text": self.text, "cli": self.cli, "terraform": self.terraform}
        if self.cli_by_type:
            data["cli_by_type"] = dict(self.cli_by_type)
        return data


@dataclass(frozen=True, slots=True)
class Rule:
    """A posture rule: what must hold, on which resources, and what to do when it does not."""

    id: str
    title: str
    """The requirement, stated positively ("S3 buckets have default encryption")."""

    severity: Severity
    category: str
    provider: str
    service: str
    """The collector service whose coverage decides whether the rule could be assessed."""

    resource_types: tuple[str, ...]
    description: str
    risk: str
    remediation: Remediation
    scope: str = "resource"
    """`resource`: one finding per resource. `account`/`region`: one finding per scope, FAIL when no
    resource of the scope satisfies `require_one`."""

    fail_if: Node | None = None
    require_one: Node | None = None
    applies_if: Node | None = None
    """For resource rules: resources for which this is false get no finding at all (not applicable)."""
    fail_message: str = ""
    references: tuple[str, ...] = ()
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Framework id (e.g. "cis-aws-7.0") to the requirement ids this rule supports."""

    source: str = ""
    """File and line the rule was loaded from."""

    paths: frozenset[str] = frozenset()
    """Every envelope path the condition reads; used to map collection errors to ERROR findings."""

    @property
    def condition(self) -> Node:
        """Return the compiled condition (`fail_if` for resource rules, `require_one` for scope rules)."""
        node = self.fail_if if self.fail_if is not None else self.require_one
        assert node is not None, f"rule {self.id} has no condition"
        return node

    def to_dict(self) -> dict[str, Any]:
        """Return the rule's metadata as JSON-ready data (the condition is left out)."""
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity.value,
            "category": self.category,
            "provider": self.provider,
            "service": self.service,
            "resource_types": list(self.resource_types),
            "scope": self.scope,
            "description": self.description,
            "risk": self.risk,
            "remediation": self.remediation.to_dict(),
            "references": list(self.references),
            "compliance": {framework: list(ids) for framework, ids in self.compliance.items()},
            "source": self.source,
        }


def template_fields(template: str) -> list[str]:
    """Return the placeholder names (`${name}`) used in a message or command template."""
    names = []
    for match in string.Template.pattern.finditer(template):
        if match.group("invalid") is not None:
            raise ValueError(f"invalid placeholder at character {match.start() + 1}; write $$ for a literal $")
        name = match.group("named") or match.group("braced")
        if name:
            names.append(name)
    return names


def fill_template(template: str, values: dict[str, str]) -> str:
    """Substitute `${name}` placeholders (validated at load time), as `string.Template.safe_substitute` does.

    Every FAIL finding fills its rule's message, so each template is split once into literal text and
    placeholders instead of being matched again for each of a million findings.
    """
    parts = _template_parts(template)
    if len(parts) == 1:
        # No placeholder: the template itself, one string shared by every finding of the rule.
        return template if not parts[0][1] and parts[0][0] == template else parts[0][0]
    return "".join(literal + (values.get(name, placeholder) if name else placeholder)
                   for literal, name, placeholder in parts)


def template_names(template: str) -> frozenset[str]:
    """Return the placeholder names of a template that `fill_template` fills (one split per template)."""
    return _template_names(template)


@lru_cache(maxsize=4096)
def _template_names(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _ in _template_parts(template) if name)


@lru_cache(maxsize=4096)
def _template_parts(template: str) -> tuple[tuple[str, str, str], ...]:
    """Return (literal text, placeholder name or "", placeholder text) parts whose concatenation is `template`.

    A `$$` is a literal `$`; an invalid placeholder stays as it is written, as safe_substitute leaves it.
    """
    parts: list[tuple[str, str, str]] = []
    position = 0
    for match in string.Template.pattern.finditer(template):
        literal = template[position:match.start()]
        name = match.group("named") or match.group("braced")
        if match.group("escaped") is not None:
            parts.append((literal + "$", "", ""))
        elif name:
            parts.append((literal, name, match.group(0)))
        else:
            parts.append((literal + match.group(0), "", ""))
        position = match.end()
    parts.append((template[position:], "", ""))
    return tuple(parts)
