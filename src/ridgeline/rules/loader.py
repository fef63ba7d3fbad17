"""Load and validate rule files: built-in rules and an organisation's own use the same format.

A rule file contains `rules:` (a list of rules) and optional `defaults:` applied to each rule in it, e.g.
`defaults: {provider: aws, service: s3}`. Every problem is reported with file, line and field, and all
problems of a file are reported together.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from importlib import resources as package_resources
from pathlib import Path
from typing import Any

import yaml

from ridgeline.model.finding import CATEGORIES, Severity
from ridgeline.rules.conditions import Node, collect_paths, compile_condition
from ridgeline.rules.errors import RuleError
from ridgeline.rules.model import PLACEHOLDERS, SCOPES, Remediation, Rule, template_fields
from ridgeline.rules.yamlsource import LineDict, expand_yaml_paths, load_yaml

logger = logging.getLogger(__name__)

_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,99}")
_REQUIRED = ("id", "title", "severity", "category", "provider", "service", "resource_types", "description", "risk",
             "remediation")
_ALLOWED = {*_REQUIRED, "scope", "fail_if", "require_one", "applies_if", "fail_message", "references", "compliance"}
PROVIDERS = ("aws", "azure", "gcp")


class RuleFileErrors(ValueError):
    """All the problems found in one or more rule files."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(error.describe() for error in errors))


def builtin_rule_files() -> list[Path]:
    """Return the rule files shipped with Ridgeline."""
    root = Path(str(package_resources.files("ridgeline.rules") / "builtin"))
    return sorted(root.rglob("*.yaml"))


def load_builtin_rules() -> list[Rule]:
    """Load every built-in rule; a broken built-in file is a bug, so this raises."""
    return load_rule_files(builtin_rule_files())


def expand_rule_paths(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the rule files under them, sorted; raise FileNotFoundError otherwise."""
    return expand_yaml_paths(paths, "rule")


def load_rule_files(paths: Iterable[Path], *, known_ids: Iterable[str] = ()) -> list[Rule]:
    """Load rules from files; raise RuleFileErrors listing every problem found."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    seen: dict[str, str] = {rule_id: "a built-in rule file" for rule_id in known_ids}
    for path in paths:
        file_rules, file_errors = parse_rule_file(path)
        errors.extend(file_errors)
        for rule in file_rules:
            if rule.id in seen:
                line = int(rule.source.rsplit(":", 1)[-1] or 0)
                errors.append(RuleError(f"duplicate rule id {rule.id!r}, first defined in {seen[rule.id]}",
                                        file=str(path), line=line, field="id"))
                continue
            seen[rule.id] = rule.source
            rules.append(rule)
    if errors:
        raise RuleFileErrors(errors)
    return rules


def parse_rule_file(path: Path) -> tuple[list[Rule], list[RuleError]]:
    """Parse one rule file; return the valid rules and the errors of the invalid ones."""
    try:
        document = load_yaml(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or str(error)
        return [], [RuleError(f"invalid YAML: {problem}", file=str(path), line=line)]
    except (OSError, UnicodeDecodeError) as error:
        return [], [RuleError(f"cannot read file: {error}", file=str(path))]

    if isinstance(document, LineDict) and "id" in document:
        document_rules: Any = [document]
        defaults: Mapping[str, Any] = {}
    elif isinstance(document, LineDict) and isinstance(document.get("rules"), list):
        document_rules = document["rules"]
        defaults = document.get("defaults") or {}
        unexpected = set(document) - {"rules", "defaults"}
        if unexpected:
            return [], [RuleError(f"unexpected top-level key(s): {', '.join(sorted(unexpected))}; "
                                  "a rule file has 'rules' and optional 'defaults'", file=str(path),
                                  line=document.line_of(sorted(unexpected)[0]))]
        defaults_error = _check_defaults(defaults, str(path), document.line_of("defaults"))
        if defaults_error is not None:
            return [], [defaults_error]
    else:
        return [], [RuleError("a rule file must be a mapping with a 'rules' list (or a single rule with 'id')",
                              file=str(path), line=getattr(document, "line", 1))]

    rules: list[Rule] = []
    errors: list[RuleError] = []
    item_lines = getattr(document_rules, "item_lines", [])
    for position, item in enumerate(document_rules):
        if not isinstance(item, LineDict):
            line = item_lines[position] if position < len(item_lines) else getattr(document_rules, "line", 0)
            errors.append(RuleError("each rule must be a mapping", file=str(path), line=line))
            continue
        try:
            rules.append(build_rule(item, defaults, str(path)))
        except RuleErrors as rule_errors:
            errors.extend(rule_errors.errors)
    return rules, errors


class RuleErrors(ValueError):
    """Every problem found in one rule mapping."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        super().__init__("\n".join(error.describe() for error in errors))


def build_rule(data: LineDict, defaults: Mapping[str, Any], file: str) -> Rule:
    """Validate one rule mapping and compile its condition; raise RuleErrors listing every problem."""
    merged: dict[str, Any] = {**defaults, **data}
    rule_id = str(merged.get("id", "?"))
    problems: list[RuleError] = []

    def fail(message: str, field: str) -> None:
        problems.append(RuleError(f"rule {rule_id}: {message}", file=file, line=data.line_of(field.split(".")[0]),
                                  field=field))

    for name in sorted(set(data) - _ALLOWED):
        fail(f"unknown field {name!r}; allowed fields: {', '.join(sorted(_ALLOWED))}", name)
    missing = [name for name in _REQUIRED if merged.get(name) in (None, "", [])]
    for name in missing:
        fail(f"missing required field {name!r}", name)
    if "id" not in missing and not _ID.fullmatch(rule_id):
        fail("id must be 3-100 characters of lower-case letters, digits and hyphens", "id")

    severity = Severity.INFORMATIONAL
    if "severity" not in missing:
        try:
            severity = Severity.parse(str(merged["severity"]))
        except ValueError as error:
            fail(str(error), "severity")
    category = merged.get("category")
    if "category" not in missing and category not in CATEGORIES:
        fail(f"invalid category {category!r}; expected one of: {', '.join(CATEGORIES)}", "category")
    provider = merged.get("provider")
    if "provider" not in missing and provider not in PROVIDERS:
        fail(f"invalid provider {provider!r}; expected one of: {', '.join(PROVIDERS)}", "provider")
    resource_types = merged.get("resource_types") or []
    if isinstance(resource_types, str):
        resource_types = [resource_types]
    if not isinstance(resource_types, list) or not all(isinstance(t, str) for t in resource_types):
        fail("resource_types must be a list of type names", "resource_types")
        resource_types = []

    scope = merged.get("scope", "resource")
    if scope not in SCOPES:
        fail(f"invalid scope {scope!r}; expected one of: {', '.join(SCOPES)}", "scope")
        scope = "resource"
    condition = _condition(data, merged, scope, rule_id, file, problems)
    applies_if = None
    if "applies_if" in merged:
        if scope != "resource":
            fail("'applies_if' is for resource rules; an account or region rule narrows 'require_one' instead",
                 "applies_if")
        else:
            try:
                applies_if = compile_condition(merged["applies_if"])
            except RuleError as error:
                problems.append(RuleError(f"rule {rule_id}: {error.reason}", file=file,
                                          line=error.line or data.line_of("applies_if"),
                                          field=f"applies_if.{error.field}" if error.field else "applies_if"))
    _check_known_names(merged, resource_types, missing, fail)

    remediation = _remediation(merged.get("remediation"), fail) if "remediation" not in missing else None
    if remediation is not None:
        for type_name in remediation.cli_by_type:
            if type_name not in resource_types:
                fail(f"remediation.cli names {type_name!r}, which is not one of the rule's resource_types",
                     "remediation")
    fail_message = str(merged.get("fail_message", ""))
    templates = [(fail_message, "fail_message")]
    if remediation is not None:
        templates += [(remediation.text, "remediation.text"), (remediation.cli, "remediation.cli")]
        templates += [(command, f"remediation.cli.{type_name}")
                      for type_name, command in remediation.cli_by_type.items()]
    for template, field in templates:
        try:
            bad = [name for name in template_fields(template) if name not in PLACEHOLDERS]
        except ValueError as error:
            fail(str(error), field)
            continue
        if bad:
            allowed = ", ".join(f"${{{name}}}" for name in PLACEHOLDERS)
            fail(f"unknown placeholder ${{{bad[0]}}}; allowed: {allowed}", field)

    compliance = merged.get("compliance") or {}
    if not isinstance(compliance, Mapping):
        fail("compliance must map a framework id to a list of requirement ids", "compliance")
        compliance = {}
    compliance = {framework: [ids] if isinstance(ids, str) else ids for framework, ids in compliance.items()}
    for framework, ids in list(compliance.items()):
        if not isinstance(ids, list):
            fail(f"compliance of {framework!r} must be a list of requirement ids, found {ids!r}", "compliance")
            del compliance[framework]
    references = merged.get("references") or []
    if not isinstance(references, list):
        fail("references must be a list of URLs", "references")

    if problems or condition is None or remediation is None:
        raise RuleErrors(problems)

    return Rule(
        id=rule_id,
        title=str(merged["title"]),
        severity=severity,
        category=str(category),
        provider=str(provider),
        service=str(merged["service"]),
        resource_types=tuple(resource_types),
        description=str(merged["description"]).strip(),
        risk=str(merged["risk"]).strip(),
        remediation=remediation,
        scope=scope,
        fail_if=condition if scope == "resource" else None,
        require_one=condition if scope != "resource" else None,
        applies_if=applies_if,
        fail_message=fail_message,
        references=tuple(str(reference) for reference in references),
        compliance={str(framework): tuple(str(i) for i in ids) for framework, ids in compliance.items()},
        source=f"{file}:{data.line}",
        paths=frozenset(collect_paths([condition] + ([applies_if] if applies_if else []))),
    )


def _condition(data: LineDict, merged: Mapping[str, Any], scope: str, rule_id: str, file: str,
               problems: list[RuleError]) -> Node | None:
    """Compile the rule's condition (`fail_if` or `require_one`, by scope), recording problems."""
    condition_field = "fail_if" if scope == "resource" else "require_one"
    other_field = "require_one" if scope == "resource" else "fail_if"
    if other_field in merged:
        problems.append(RuleError(f"rule {rule_id}: a rule with scope {scope!r} uses {condition_field!r}, "
                                  f"not {other_field!r}", file=file, line=data.line_of(other_field),
                                  field=other_field))
        if condition_field not in merged:
            return None
    if condition_field not in merged:
        problems.append(RuleError(f"rule {rule_id}: missing required field {condition_field!r}", file=file,
                                  line=data.line_of(condition_field), field=condition_field))
        return None
    try:
        return compile_condition(merged[condition_field])
    except RuleError as error:
        nested_line = error.line or data.line_of(condition_field)
        problems.append(RuleError(f"rule {rule_id}: {error.reason}", file=file, line=nested_line,
                                  field=f"{condition_field}.{error.field}" if error.field else condition_field))
        return None


def _check_defaults(defaults: Any, file: str, line: int) -> RuleError | None:
    """Return the problem of a file's `defaults`, or None when it is a mapping of rule fields."""
    if not isinstance(defaults, Mapping):
        return RuleError("'defaults' must be a mapping of rule fields", file=file, line=line, field="defaults")
    unknown = sorted(set(defaults) - (_ALLOWED - {"id"}))
    if unknown:
        line = defaults.line_of(unknown[0]) if isinstance(defaults, LineDict) else line
        allowed = ", ".join(sorted(_ALLOWED - {"id"}))
        return RuleError(f"unknown field {unknown[0]!r} in defaults; allowed fields: {allowed}", file=file,
                         line=line, field=f"defaults.{unknown[0]}")
    return None


def _check_known_names(merged: Mapping[str, Any], resource_types: list[str], missing: list[str],
                       fail: Callable[[str, str], None]) -> None:
    """Report a service or resource type that no collector of the provider produces (a typo, most likely)."""
    known = known_services(str(merged.get("provider", "")))
    if known is None:
        return
    service = merged.get("service")
    if "service" not in missing and service not in known:
        fail(f"unknown service {service!r} for provider {merged.get('provider')}; known: {', '.join(sorted(known))}",
             "service")
        return
    types = known.get(str(service), ())
    for type_name in resource_types:
        if type_name not in types:
            fail(f"service {service!r} collects no resource type {type_name!r}; it collects: {', '.join(types)}",
                 "resource_types")


def known_services(provider: str) -> dict[str, tuple[str, ...]] | None:
    """Return each service of `provider` with the resource types Ridgeline reads for it, or None if unknown."""
    if provider == "azure":
        from ridgeline.providers.azure import catalog as azure_catalog

        return azure_catalog.services()
    if provider == "gcp":
        from ridgeline.providers.gcp import catalog as gcp_catalog

        return gcp_catalog.services()
    if provider != "aws":
        return None
    from ridgeline.providers.aws.collectors import all_collectors

    return {collector.service: collector.resource_types for collector in all_collectors()}


def _remediation(value: Any, fail: Callable[[str, str], None]) -> Remediation | None:
    """Return the remediation, or None after reporting why it is invalid."""
    if isinstance(value, str):
        return Remediation(text=value.strip())
    if not isinstance(value, Mapping) or not value.get("text"):
        fail("remediation needs at least 'text' (and optionally 'cli' and 'terraform')", "remediation")
        return None
    unknown = set(value) - {"text", "cli", "terraform"}
    if unknown:
        fail(f"unknown remediation field(s): {', '.join(sorted(unknown))}", "remediation")
        return None
    cli = value.get("cli", "")
    cli_by_type: dict[str, str] = {}
    if isinstance(cli, Mapping):
        # One command per resource type, for rules that judge users, groups and roles alike.
        cli_by_type = {str(type_name): str(command).strip() for type_name, command in cli.items()}
        cli = ""
    return Remediation(
        text=str(value["text"]).strip(),
        cli=str(cli).strip(),
        terraform=str(value.get("terraform", "")).rstrip(),
        cli_by_type=cli_by_type,
    )
