"""Load and validate framework files: the built-in frameworks and an organisation's own share one format.

A framework file is a YAML mapping with `id`, `name`, `version`, `provider`, an optional `description`,
`sections` (each with `id` and `title`) and `requirements` (each with `id`, `title`, `section`,
`automated` and `rules`). docs/compliance.md describes the format. Every problem is reported with the
file, line and field, and all problems of a file are reported together.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from importlib import resources as package_resources
from pathlib import Path
from typing import Any

import yaml

from ridgeline.compliance.model import Framework, Requirement
from ridgeline.rules.errors import RuleError
from ridgeline.rules.loader import PROVIDERS
from ridgeline.rules.yamlsource import LineDict, LineList, expand_yaml_paths, load_yaml

logger = logging.getLogger(__name__)

FRAMEWORK_ID = re.compile(r"[a-z0-9][a-z0-9.-]{1,63}")
"""Framework ids: lower-case letters, digits, dots and hyphens, as used in rule `compliance` blocks."""

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,99}")
_TOP_REQUIRED = ("id", "name", "version", "sections", "requirements")
_TOP_ALLOWED = {*_TOP_REQUIRED, "provider", "description"}
_SECTION_FIELDS = ("id", "title")
_REQUIREMENT_REQUIRED = ("id", "title", "section")
_REQUIREMENT_ALLOWED = {*_REQUIREMENT_REQUIRED, "automated", "rules"}


class FrameworkFileErrors(ValueError):
    """All the problems found in one or more framework files."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(error.describe() for error in errors))


class UnknownFrameworkError(LookupError):
    """A framework id that no loaded framework file defines."""

    def __init__(self, framework_id: str, known: Sequence[str]) -> None:
        self.framework_id = framework_id
        close = difflib.get_close_matches(framework_id, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        super().__init__(f"no framework {framework_id!r}; {hint}`ridgeline frameworks list` shows every framework")


def builtin_framework_files() -> list[Path]:
    """Return the framework files shipped with Ridgeline."""
    root = Path(str(package_resources.files("ridgeline.compliance") / "frameworks"))
    return sorted(root.glob("*.yaml"))


def expand_framework_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the framework files under them, sorted; raise FileNotFoundError otherwise."""
    return expand_yaml_paths(paths, "framework")


def load_frameworks(extra_paths: Iterable[Path] = (), *, rule_ids: Collection[str] | None = None) -> list[Framework]:
    """Load the built-in frameworks and the files or folders in `extra_paths`.

    When `rule_ids` is given, a requirement that names another rule is an error. Raises
    FrameworkFileErrors listing every problem, or FileNotFoundError for a missing path.
    """
    return load_framework_files([*builtin_framework_files(), *expand_framework_paths(extra_paths)],
                                rule_ids=rule_ids)


def load_framework_files(paths: Iterable[Path], *, rule_ids: Collection[str] | None = None) -> list[Framework]:
    """Load framework files; raise FrameworkFileErrors listing every problem found."""
    frameworks: list[Framework] = []
    errors: list[RuleError] = []
    seen: dict[str, str] = {}
    builtin = set(builtin_framework_files())
    for path in paths:
        if path in builtin:
            framework, file_errors = _parse_builtin_file(path, None if rule_ids is None else frozenset(rule_ids))
        else:
            framework, file_errors = parse_framework_file(path, rule_ids=rule_ids)
        errors.extend(file_errors)
        if framework is None:
            continue
        if framework.id in seen:
            errors.append(RuleError(f"duplicate framework id {framework.id!r}, first defined in {seen[framework.id]}",
                                    file=str(path), line=_line_of_id(framework), field="id"))
            continue
        seen[framework.id] = framework.source
        frameworks.append(framework)
    if errors:
        raise FrameworkFileErrors(errors)
    logger.debug("loaded %d framework(s): %s", len(frameworks), ", ".join(f.id for f in frameworks))
    return frameworks


def find_framework(frameworks: Iterable[Framework], framework_id: str) -> Framework:
    """Return the framework with this id; raise UnknownFrameworkError naming close matches."""
    by_id = {framework.id: framework for framework in frameworks}
    framework = by_id.get(framework_id)
    if framework is None:
        raise UnknownFrameworkError(framework_id, sorted(by_id))
    return framework


def parse_framework_file(path: Path, *, rule_ids: Collection[str] | None = None,
                         ) -> tuple[Framework | None, list[RuleError]]:
    """Parse one framework file; return the framework (None when invalid) and its problems."""
    file = str(path)
    try:
        document = load_yaml(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or str(error)
        return None, [RuleError(f"invalid YAML: {problem}", file=file, line=line)]
    except (OSError, UnicodeDecodeError) as error:
        return None, [RuleError(f"cannot read file: {error}", file=file)]

    if not isinstance(document, LineDict):
        return None, [RuleError("a framework file must be a mapping with id, name, version, sections and "
                                "requirements", file=file, line=getattr(document, "line", 1))]
    parser = _Parser(file, rule_ids)
    framework = parser.framework(document)
    return (framework if not parser.errors else None), parser.errors


@functools.lru_cache(maxsize=64)
def _parse_builtin_file(path: Path, rule_ids: frozenset[str] | None) -> tuple[Framework | None, list[RuleError]]:
    # The shipped files do not change while Ridgeline runs, and parsing YAML is the slow part of loading.
    return parse_framework_file(path, rule_ids=rule_ids)


def _item_line(items: LineList, position: int) -> int:
    return items.item_lines[position] if position < len(items.item_lines) else items.line


def _line_of_id(framework: Framework) -> int:
    line = framework.source.rsplit(":", 1)[-1]
    return int(line) if line.isdigit() else 0


class _Parser:
    """Validation of one framework file; collects every problem instead of stopping at the first."""

    def __init__(self, file: str, rule_ids: Collection[str] | None) -> None:
        self.file = file
        self.rule_ids = rule_ids
        self.errors: list[RuleError] = []

    def fail(self, message: str, data: LineDict, key: str, field: str) -> None:
        self.errors.append(RuleError(message, file=self.file, line=data.line_of(key), field=field))

    def framework(self, document: LineDict) -> Framework:
        for name in sorted(set(document) - _TOP_ALLOWED):
            self.fail(f"unknown field {name!r}; allowed fields: {', '.join(sorted(_TOP_ALLOWED))}",
                      document, name, name)
        for name in _TOP_REQUIRED:
            if name not in document:
                self.fail(f"missing required field {name!r}", document, name, name)

        framework_id = self.text(document, "id", "id")
        if framework_id and not FRAMEWORK_ID.fullmatch(framework_id):
            self.fail("id must be 2-64 characters of lower-case letters, digits, dots and hyphens",
                      document, "id", "id")
        name = self.text(document, "name", "name")
        version = self.text(document, "version", "version")
        description = self.text(document, "description", "description", required=False)
        provider = document.get("provider")
        if provider is not None and provider not in PROVIDERS:
            self.fail(f"invalid provider {provider!r}; expected one of: {', '.join(PROVIDERS)}, or null for a "
                      "framework that spans providers", document, "provider", "provider")
            provider = None

        sections = self.sections(document.get("sections"), document)
        requirements = self.requirements(document.get("requirements"), document, sections)
        return Framework(
            id=framework_id,
            name=name,
            version=version,
            provider=provider,
            requirements=tuple(requirements),
            sections=sections,
            source=f"{self.file}:{document.line_of('id')}",
            description=description,
        )

    def text(self, data: LineDict, key: str, field: str, *, required: bool = True) -> str:
        """Return a non-empty string field, recording a problem when it is missing or not a string."""
        value = data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str):
            # An unquoted 2.10 is read as the number 2.1: make the author quote it instead of guessing.
            self.fail(f"{key} must be a string; write it in quotes, e.g. \"{value}\"", data, key, field)
            return str(value)
        if required and not value.strip():
            self.fail(f"{key} must not be empty", data, key, field)
        return value.strip()

    def sections(self, value: Any, document: LineDict) -> dict[str, str]:
        sections: dict[str, str] = {}
        if value is None:
            return sections
        if not isinstance(value, LineList) or not value:
            self.fail("sections must be a non-empty list of {id, title} mappings", document, "sections", "sections")
            return sections
        for position, item in enumerate(value):
            field = f"sections[{position}]"
            if not isinstance(item, LineDict):
                self.errors.append(RuleError("each section must be a mapping with id and title", file=self.file,
                                             line=_item_line(value, position), field=field))
                continue
            for name in sorted(set(item) - set(_SECTION_FIELDS)):
                self.fail(f"unknown section field {name!r}; allowed fields: id, title", item, name, f"{field}.{name}")
            for name in _SECTION_FIELDS:
                if name not in item:
                    self.fail(f"missing required field {name!r}", item, name, f"{field}.{name}")
            section_id = self.text(item, "id", f"{field}.id")
            title = self.text(item, "title", f"{field}.title")
            if section_id in sections:
                self.fail(f"duplicate section id {section_id!r}", item, "id", f"{field}.id")
            elif section_id:
                sections[section_id] = title
        return sections

    def requirements(self, value: Any, document: LineDict, sections: Mapping[str, str]) -> list[Requirement]:
        requirements: list[Requirement] = []
        if value is None:
            return requirements
        if not isinstance(value, LineList) or not value:
            self.fail("requirements must be a non-empty list of mappings", document, "requirements", "requirements")
            return requirements
        seen: set[str] = set()
        for position, item in enumerate(value):
            field = f"requirements[{position}]"
            if not isinstance(item, LineDict):
                self.errors.append(RuleError("each requirement must be a mapping", file=self.file,
                                             line=_item_line(value, position), field=field))
                continue
            requirement = self.requirement(item, field, sections)
            if requirement.id in seen:
                self.fail(f"duplicate requirement id {requirement.id!r}", item, "id", f"{field}.id")
            seen.add(requirement.id)
            requirements.append(requirement)
        return requirements

    def requirement(self, item: LineDict, field: str, sections: Mapping[str, str]) -> Requirement:
        for name in sorted(set(item) - _REQUIREMENT_ALLOWED):
            allowed = ", ".join(sorted(_REQUIREMENT_ALLOWED))
            self.fail(f"unknown requirement field {name!r}; allowed fields: {allowed}", item, name, f"{field}.{name}")
        for name in _REQUIREMENT_REQUIRED:
            if name not in item:
                self.fail(f"missing required field {name!r}", item, name, f"{field}.{name}")
        requirement_id = self.text(item, "id", f"{field}.id")
        label = f"requirement {requirement_id}: " if requirement_id else ""
        title = self.text(item, "title", f"{field}.title")
        section = self.text(item, "section", f"{field}.section")
        if section and sections and section not in sections:
            self.fail(f"{label}unknown section {section!r}; the file's sections are: {', '.join(sections)}",
                      item, "section", f"{field}.section")

        rules = self.rule_list(item, field, label)
        automated = item.get("automated", bool(rules))
        if not isinstance(automated, bool):
            self.fail(f"{label}automated must be true or false, found {automated!r}", item, "automated",
                      f"{field}.automated")
            automated = bool(rules)
        return Requirement(id=requirement_id, title=title, section=section, automated=automated, rules=tuple(rules))

    def rule_list(self, item: LineDict, field: str, label: str) -> list[str]:
        value = item.get("rules", [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(rule, str) for rule in value):
            self.fail(f"{label}rules must be a list of rule ids (use [] when no rule judges the requirement)",
                      item, "rules", f"{field}.rules")
            return []
        rules: list[str] = []
        for rule_id in value:
            if rule_id in rules:
                self.fail(f"{label}rule {rule_id!r} is listed twice", item, "rules", f"{field}.rules")
            elif not _RULE_ID.fullmatch(rule_id):
                self.fail(f"{label}invalid rule id {rule_id!r}", item, "rules", f"{field}.rules")
            elif self.rule_ids is not None and rule_id not in self.rule_ids:
                close = difflib.get_close_matches(rule_id, list(self.rule_ids), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]}?" if close else "; `ridgeline rules list` shows the rules"
                self.fail(f"{label}unknown rule {rule_id!r}{hint}", item, "rules", f"{field}.rules")
            else:
                rules.append(rule_id)
        return rules
