"""Rule cases written as data: provider-shaped resources and the status one rule must give them.

A case file (`tests/rules/cases/<provider>/*.yaml`) looks like this:

    defaults:                 # optional; merged into every resource of the file
      account: 00000000-0000-0000-0000-000000000001
      region: eastus
    cases:
      - rule: azure-storage-https-only
        status: FAIL          # PASS, FAIL, ERROR, or NONE: the rule does not apply (no finding)
        description: HTTP is accepted
        resource:             # the resource judged (omit for account/region-scope rules)
          type: Microsoft.Storage/storageAccounts
          name: st1
          configuration: {properties: {supportsHttpsTrafficOnly: false}}
        others: []            # further resources in the same scan (related resources, scope candidates)
        message: substring    # optional: a part of the finding message

Each resource takes the envelope fields (`type`, `name`, `id`, `configuration`, `supplementary`,
`tags`, `errors`, `account`, `region`). The folder gives `provider`, and `id` defaults to one built
from the type and name. The scan covers every service of the provider completely, so a case isolates
the rule's own logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import known_services
from ridgeline.rules.model import Rule

CASES_ROOT = Path(__file__).parent / "cases"
DEFAULT_ACCOUNTS = {"azure": "00000000-0000-0000-0000-000000000001", "gcp": "ridgeline-test-project"}
_RESOURCE_FIELDS = {"type", "name", "id", "configuration", "supplementary", "tags", "errors", "account", "region",
                    "relationships"}


@dataclass(frozen=True)
class RuleCase:
    """One expectation: `rule` gives `status` on `resource` (or on the scope, for scope rules)."""

    provider: str
    rule_id: str
    status: Status | None
    """None: the rule must give no finding on the resource (applies_if is false, or another rule's job)."""
    description: str
    resource: Resource | None
    others: tuple[Resource, ...]
    message: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.rule_id}:{self.status.value if self.status else 'NONE'}:{self.source}"


def load_cases(provider: str) -> list[RuleCase]:
    """Return every case of `provider`, in file order."""
    cases: list[RuleCase] = []
    for path in sorted((CASES_ROOT / provider).glob("*.yaml")):
        cases.extend(_file_cases(provider, path))
    return cases


def _file_cases(provider: str, path: Path) -> list[RuleCase]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unexpected = set(document) - {"defaults", "cases"}
    assert not unexpected, f"{path}: unexpected top-level keys {sorted(unexpected)}"
    defaults = document.get("defaults") or {}
    cases = []
    for position, raw in enumerate(document.get("cases") or [], start=1):
        where = f"{path.name}#{position}"
        unknown = set(raw) - {"rule", "status", "description", "resource", "others", "message"}
        assert not unknown, f"{where}: unknown case keys {sorted(unknown)}"
        resource = _resource(provider, {**defaults, **raw["resource"]}, where) if raw.get("resource") else None
        others = tuple(_resource(provider, {**defaults, **other}, where) for other in raw.get("others") or [])
        status = None if raw["status"] == "NONE" else Status(raw["status"])
        cases.append(RuleCase(provider=provider, rule_id=raw["rule"], status=status,
                              description=raw.get("description", ""), resource=resource, others=others,
                              message=raw.get("message", ""), source=where))
    return cases


def _resource(provider: str, raw: dict[str, Any], where: str) -> Resource:
    unknown = set(raw) - _RESOURCE_FIELDS
    assert not unknown, f"{where}: unknown resource fields {sorted(unknown)}"
    assert "type" in raw, f"{where}: a resource needs a type"
    account = str(raw.get("account", DEFAULT_ACCOUNTS[provider]))
    configuration = raw.get("configuration") or {}
    name = str(raw.get("name") or configuration.get("name") or "resource")
    return Resource(
        provider=provider,
        account=account,
        region=str(raw.get("region", "global")),
        type=raw["type"],
        id=str(raw.get("id") or _default_id(provider, account, raw["type"], name)),
        name=name,
        configuration=configuration,
        supplementary=raw.get("supplementary") or {},
        tags=raw.get("tags") or {},
        relationships=raw.get("relationships") or [],
        errors=raw.get("errors") or {},
        source="test",
    )


def _default_id(provider: str, account: str, type_name: str, name: str) -> str:
    if provider == "azure":
        return f"/subscriptions/{account}/resourceGroups/rg-test/providers/{type_name}/{name}"
    service = type_name.split("/", 1)[0]
    return f"//{service}/projects/{account}/{type_name.rsplit('/', 1)[-1].lower()}s/{name}"


def evaluate_case(case: RuleCase, rule: Rule) -> Finding | None:
    """Evaluate `rule` on the case's resources with every service covered; return the finding judged.

    For a NONE case, return None after checking that the resource got no finding.
    """
    resources = ([case.resource] if case.resource else []) + list(case.others)
    accounts = {resource.account for resource in resources} or {DEFAULT_ACCOUNTS[case.provider]}
    services = known_services(case.provider) or {}
    coverage = [Coverage(provider=case.provider, account=account, region="global", service=service)
                for account in sorted(accounts) for service in services]
    findings = [finding for finding in Engine([rule]).evaluate(resources, coverage) if finding.rule_id == rule.id]

    if rule.scope != "resource":
        assert len(findings) == 1, f"{case.source}: expected one scope finding, got {len(findings)}"
        return findings[0]
    assert case.resource is not None, f"{case.source}: a resource rule's case needs `resource`"
    matches = [finding for finding in findings if finding.resource_id == case.resource.id]
    if case.status is None:
        assert matches == [], f"{case.source}: expected no finding on {case.resource.id}, got {matches[0].status}"
        return None
    assert len(matches) == 1, (f"{case.source}: expected one finding on {case.resource.id}, got {len(matches)} "
                               "(is the resource type one the rule judges, and does applies_if hold?)")
    return matches[0]
