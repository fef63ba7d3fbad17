"""The rule engine: runs compiled rules over a scan's resources and coverage, producing findings.

The engine never reports PASS for what it could not see:
- a rule whose condition reads a path listed in the resource's `errors` is ERROR with that reason;
- a collection unit that failed, or could not list a rule's resource types, yields an ERROR finding for
  each of the service's rules on the unit's scope (the account or region), instead of silence;
- account and region rules (`require_one`) are ERROR when nothing passed and coverage was incomplete;
- a lookup of another type (`related`, `count`, a check function's `lookup`) where the scan did not list
  that type, because its listing failed or its service was not scanned or imported there, is unknown.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import (
    ACCOUNT_SCOPE_TYPE,
    REGION_SCOPE_TYPE,
    Completeness,
    Coverage,
    scope_resource_id,
)
from ridgeline.rules.conditions import EvalContext
from ridgeline.rules.model import Rule, fill_template

logger = logging.getLogger(__name__)

_FAILING_CANDIDATES_SHOWN = 20

_NO_EVIDENCE: dict[str, Any] = {}
"""The evidence of every PASS finding of a resource rule: one shared empty mapping, which nothing changes.

Findings are not edited after the engine returns them (suppressions set `status` and `muted_reason`), and
a million PASS findings with an empty dict each would take 64 MB for nothing."""

_SHARED_TEXTS = 100_000
"""Distinct ERROR reasons and messages that one engine shares between findings (see `Engine._shared`)."""


class ResourceIndex:
    """Lookups of a scan's resources by type, account, region, name and id."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        self._by_name: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        self._by_id: dict[tuple[str, str], Resource] = {}
        self._by_short_id: dict[tuple[str, str, str], Resource] = {}
        self._by_folded_id: dict[tuple[str, str], Resource] = {}
        self.unlisted: dict[tuple[str, str], str] = {}
        """(account, type) -> why that type could not be listed there: its absence proves nothing."""
        self.services: ServiceCoverage | None = None
        """The services the scan read, per account and region; None when the index was built without coverage."""
        for resource in resources:
            self.add(resource)

    def note_coverage(self, coverage: Sequence[Coverage]) -> None:
        """Learn from the whole coverage of the scan which types could not be listed and which services it read.

        Only for the scan's complete coverage: a service missing from `coverage` counts as not read. Each
        call replaces what the previous one noted, so an index that outlives a scan (a watcher's) is kept
        right by calling it again with the whole coverage after each change.
        """
        self.unlisted.clear()
        self.unlisted.update(_unlisted_types(coverage))
        self.services = ServiceCoverage(coverage)

    def add(self, resource: Resource) -> None:
        """Index one resource."""
        self.by_type[resource.type].append(resource)
        self._by_name[(resource.type, resource.name)].append(resource)
        self._by_id[(resource.type, resource.id)] = resource
        # Resources refer to each other by short ids (a security group by sg-123, not by its ARN). Short
        # ids repeat across accounts (a role name in every account), so they are indexed per account.
        short_id = resource.id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        self._by_short_id.setdefault((resource.type, resource.account, short_id), resource)
        # ARM ids compare without regard to case, and child resources (a container, a key) name their
        # parent only through the prefix of their own id.
        self._by_folded_id.setdefault((resource.type, resource.id.casefold()), resource)

    def find(self, type_name: str, resource: Resource, match: str, value: Any) -> Resource | None:
        """Return the resource of `type_name` related to `resource` by `match`, or None."""
        if match == "id_from":
            text = str(value)
            found = self._by_id.get((type_name, text))
            if found is None and resource.provider == "azure":
                # ARM ids are case-insensitive: references often spell the resource group differently.
                found = self._by_folded_id.get((type_name, text.casefold()))
            elif found is None and resource.provider == "gcp" and not text.startswith("//"):
                # GCP references leave out the "//" of asset names: a log sink's destination
                # "storage.googleapis.com/logs-bucket" is the asset //storage.googleapis.com/logs-bucket,
                # which may belong to another project of the scan.
                found = self._by_id.get((type_name, "//" + text))
            if found is not None and (found.account == resource.account or ":" in text or "/" in text):
                return found
            short_id = text.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            return self._by_short_id.get((type_name, resource.account, short_id))
        if match == "parent":
            return self._parent(type_name, resource)
        if match == "name_from":
            candidates = self._by_name.get((type_name, str(value)), [])
            same_account = [c for c in candidates if c.account == resource.account]
            chosen = same_account or candidates
            return chosen[0] if chosen else None
        for candidate in self.by_type.get(type_name, ()):
            if candidate.account != resource.account:
                continue
            if match == "account" or candidate.region == resource.region:
                return candidate
        return None


    def find_all(self, type_name: str, resource: Resource, match: str) -> list[Resource]:
        """Return every resource of `type_name` in the same account (match "account") or also region."""
        return [candidate for candidate in self.by_type.get(type_name, ())
                if candidate.account == resource.account
                and (match == "account" or candidate.region == resource.region)]

    def unlisted_reason(self, type_name: str, resource: Resource, match: str = "account",
                        value: Any = None) -> str | None:
        """Return why the scan may lack resources of `type_name` that `resource` looks up, or None.

        None means the lookup saw every resource of the type where it looked, so an absence is real. By
        `match`, the lookup looks in the resource's account, in its region, or for `id_from` in the account
        (and AWS region) that the referenced id `value` names. A reason is given when that type could not
        be listed there, or when the scan did not read its service there at all.
        """
        account, region = _lookup_scope(resource, match, value)
        reason = self.unlisted.get((account, type_name))
        if reason is not None or self.services is None:
            return reason
        return self.services.gap(resource.provider, type_name, account, region,
                                 imported=resource.source.startswith("file:"))

    def unlisted_in(self, type_name: str, account: str) -> str | None:
        """Return why the scan may lack resources of `type_name` in `account` (any region of it), or None."""
        reason = self.unlisted.get((account, type_name))
        if reason is not None or self.services is None:
            return reason
        return self.services.gap_in(type_name, account)

    def all_of_type(self, type_name: str) -> Sequence[Resource]:
        """Return every resource of `type_name` in the scan, whatever its account."""
        return self.by_type.get(type_name, ())

    def _parent(self, type_name: str, resource: Resource) -> Resource | None:
        # Walk up the id one segment at a time: ".../storageAccounts/st1/blobServices/default/containers/c"
        # reaches ".../storageAccounts/st1"; "//cloudkms.googleapis.com/.../keyRings/r/cryptoKeys/k" its ring.
        prefix = resource.id.casefold().rstrip("/")
        while "/" in prefix:
            prefix = prefix.rsplit("/", 1)[0]
            found = self._by_folded_id.get((type_name, prefix))
            if found is not None and found is not resource:
                return found
        return None


class GroupedIndex(ResourceIndex):
    """A `ResourceIndex` that also groups each type's resources by account and by region.

    `find` and `find_all` by account or region then read one group instead of every resource of the type,
    which keeps peers lookups (every firewall of an account, for each firewall) from growing with the
    square of the export. The groups keep the order of `by_type`, so the results are the same. Only for
    indexes that no one changes after building: `LiveIndex.remove` does not know the groups.
    """

    def __init__(self, resources: Iterable[Resource]) -> None:
        self._by_account: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        self._by_region: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        super().__init__(resources)

    def add(self, resource: Resource) -> None:
        """Index one resource."""
        super().add(resource)
        self._by_account[(resource.type, resource.account)].append(resource)
        self._by_region[(resource.type, resource.account, resource.region)].append(resource)

    def find(self, type_name: str, resource: Resource, match: str, value: Any) -> Resource | None:
        """Return the resource of `type_name` related to `resource` by `match`, or None."""
        if match in ("id_from", "parent", "name_from"):
            return super().find(type_name, resource, match, value)
        group = self._group(type_name, resource, match)
        return group[0] if group else None

    def find_all(self, type_name: str, resource: Resource, match: str) -> list[Resource]:
        """Return every resource of `type_name` in the same account (match "account") or also region.

        The list is the index's own group, shared by every caller, which must not change it: check
        functions may remember what they derived from it by its identity (once per project, not per rule).
        """
        return self._group(type_name, resource, match)

    def _group(self, type_name: str, resource: Resource, match: str) -> list[Resource]:
        if match == "account":
            return self._by_account.get((type_name, resource.account), [])
        return self._by_region.get((type_name, resource.account, resource.region), [])


class Engine:
    """Evaluates a fixed set of rules; build once, evaluate many scans."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.rules_by_id = {rule.id: rule for rule in self.rules}
        self._resource_rules: dict[str, list[Rule]] = defaultdict(list)
        self._scope_rules: list[Rule] = []
        self._texts: dict[str, str] = {}
        self._pass_messages: dict[str, str] = {}
        self._error_evidences: dict[tuple[str, ...], dict[str, Any]] = {}
        for rule in self.rules:
            if rule.scope == "resource":
                for type_name in rule.resource_types:
                    self._resource_rules[type_name].append(rule)
            else:
                self._scope_rules.append(rule)

    def resource_rules(self, type_name: str) -> Sequence[Rule]:
        """Return the resource-scope rules that judge resources of `type_name`."""
        return self._resource_rules.get(type_name, ())

    def evaluate(
        self,
        resources: Sequence[Resource],
        coverage: Sequence[Coverage],
        *,
        index: ResourceIndex | None = None,
    ) -> list[Finding]:
        """Return the findings of every rule whose provider and service the coverage includes.

        A given `index` learns only the types that `coverage` could not list, because `coverage` may be a
        part of the scan's (a watcher's re-collected units). Which services the scan read is what the
        index was built with (`build_index`) or last given (`ResourceIndex.note_coverage`).
        """
        if index is None:
            index = self.build_index(resources, coverage)
        else:
            index.unlisted.update(_unlisted_types(coverage))
        active = self.active_rules(coverage)

        findings: list[Finding] = []
        for resource in resources:
            for rule in self._resource_rules.get(resource.type, ()):
                if rule.id in active:
                    finding = self.evaluate_resource(rule, resource, index)
                    if finding is not None:
                        findings.append(finding)

        findings.extend(self.evaluate_coverage(coverage, index, active))
        return findings

    def build_index(self, resources: Iterable[Resource], coverage: Sequence[Coverage]) -> ResourceIndex:
        """Return the lookups of `resources`, knowing which types and services the scan's whole `coverage` lacks."""
        index = GroupedIndex(resources)
        index.note_coverage(coverage)
        return index

    def active_rules(self, coverage: Sequence[Coverage]) -> set[str]:
        """Return the ids of the rules whose provider and service have a unit in `coverage`."""
        assessed = {(unit.provider, unit.service) for unit in coverage}
        return {rule.id for rule in self.rules if (rule.provider, rule.service) in assessed}

    def evaluate_coverage(self, coverage: Sequence[Coverage], index: ResourceIndex, active: set[str]) -> list[Finding]:
        """Return the ERROR findings of units that were not collected, and the findings of scope rules."""
        findings = self._coverage_errors(coverage, active)
        for rule in self._scope_rules:
            if rule.id in active:
                findings.extend(self._evaluate_scopes(rule, coverage, index))
        return findings

    def evaluate_resource(self, rule: Rule, resource: Resource, index: ResourceIndex) -> Finding | None:
        """Evaluate one resource rule on one resource; None when the rule does not apply to it."""
        ctx = EvalContext(index)
        ctx.resource = resource
        if rule.applies_if is not None:
            applies = rule.applies_if.evaluate(resource, ctx)
            if applies is False:
                return None
            if applies is None:
                reasons = self._shared_reasons(ctx.reasons or ["whether the rule applies could not be decided"])
                return _finding(rule, resource, Status.ERROR, self._shared("Not assessed: " + "; ".join(reasons)),
                                self._error_evidence(reasons))
        result = rule.condition.evaluate(resource, ctx)
        if result is False:
            return _finding(rule, resource, Status.PASS, self._pass_message(rule), ctx.passing or _NO_EVIDENCE)

        # Evaluate again, recording the values looked at: cheap, and only for the findings people read.
        explain = EvalContext(index, explain=True)
        explain.resource = resource
        rule.condition.evaluate(resource, explain)
        evidence = explain.evidence or {}
        if result is None:
            reasons = self._shared_reasons(ctx.reasons or ["the rule could not be evaluated"])
            if evidence:
                evidence["not_assessed"] = reasons
            else:
                evidence = self._error_evidence(reasons)
            return _finding(rule, resource, Status.ERROR, self._shared("Not assessed: " + "; ".join(reasons)),
                            evidence)
        return _finding(rule, resource, Status.FAIL, fail_message(rule, resource), evidence)

    def _pass_message(self, rule: Rule) -> str:
        """Return the message of every PASS finding of `rule`: one string per rule, not one per resource.

        PASS findings are the most numerous. The resource is in the finding's own fields, and its name in
        the message would cost about 120 bytes each, hundreds of MB for a large import.
        """
        message = self._pass_messages.get(rule.id)
        if message is None:
            message = self._pass_messages[rule.id] = f"Meets: {rule.title}"
        return message

    def _shared(self, text: str) -> str:
        """Return one shared copy of a text that many findings repeat (the reasons of ERROR findings).

        A large import has hundreds of thousands of ERROR findings with a few distinct reasons, such as
        a setting that the export cannot hold. The table stops growing at _SHARED_TEXTS entries.
        """
        shared = self._texts.get(text)
        if shared is not None:
            return shared
        if len(self._texts) < _SHARED_TEXTS:
            self._texts[text] = text
        return text

    def _shared_reasons(self, reasons: list[str]) -> list[str]:
        return [self._shared(reason) for reason in reasons]

    def _error_evidence(self, reasons: list[str]) -> dict[str, Any]:
        """Return the evidence {"not_assessed": reasons}, one shared mapping per distinct list of reasons.

        An export that lacks a setting makes every resource of the type ERROR for the same reason: a large
        Azure import had 330,000 such findings. Like `_NO_EVIDENCE`, nothing changes the shared mapping.
        """
        key = tuple(reasons)
        evidence = self._error_evidences.get(key)
        if evidence is None:
            evidence = {"not_assessed": reasons}
            if len(self._error_evidences) < _SHARED_TEXTS:
                self._error_evidences[key] = evidence
        return evidence

    def _coverage_errors(self, coverage: Sequence[Coverage], active: set[str]) -> list[Finding]:
        findings = []
        for unit in coverage:
            if unit.status is Completeness.COMPLETE and not unit.failed_types:
                continue
            for rule in self.rules:
                if rule.id not in active or rule.scope != "resource" or (rule.provider, rule.service) != (
                    unit.provider,
                    unit.service,
                ):
                    continue
                reason = _unit_failure(unit, rule)
                if reason is None:
                    continue
                findings.append(_scope_finding(rule, unit.provider, unit.account, unit.region, Status.ERROR,
                                               f"Not assessed: {reason}", {"not_assessed": [reason]}))
        return findings

    def _evaluate_scopes(self, rule: Rule, coverage: Sequence[Coverage], index: ResourceIndex) -> list[Finding]:
        units = [unit for unit in coverage if (unit.provider, unit.service) == (rule.provider, rule.service)]
        scopes: dict[tuple[str, str, str], list[Coverage]] = defaultdict(list)
        for unit in units:
            region = "" if rule.scope == "account" else unit.region
            scopes[(unit.provider, unit.account, region)].append(unit)

        candidates_by_scope: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        for type_name in rule.resource_types:
            for resource in index.by_type.get(type_name, ()):
                region = "" if rule.scope == "account" else resource.region
                candidates_by_scope[(resource.provider, resource.account, region)].append(resource)

        findings = []
        for (provider, account, region), scope_units in sorted(scopes.items()):
            candidates = candidates_by_scope.get((provider, account, region), [])
            findings.append(self._evaluate_scope(rule, provider, account, region, scope_units, candidates, index))
        return findings

    def _evaluate_scope(
        self,
        rule: Rule,
        provider: str,
        account: str,
        region: str,
        units: list[Coverage],
        candidates: list[Resource],
        index: ResourceIndex,
    ) -> Finding:
        reasons: list[str] = []
        failing: list[str] = []
        for resource in candidates:
            ctx = EvalContext(index)
            ctx.resource = resource
            result = rule.condition.evaluate(resource, ctx)
            if result is True:
                return _scope_finding(rule, provider, account, region, Status.PASS,
                                      f"{resource.name} meets: {rule.title}", {"satisfied_by": resource.id})
            if result is None:
                reasons.extend(f"{resource.id}: {reason}" for reason in ctx.reasons)
            else:
                failing.append(resource.id)

        reasons.extend(reason for unit in units if (reason := _unit_failure(unit, rule)) is not None)
        if reasons:
            return _scope_finding(rule, provider, account, region, Status.ERROR,
                                  "Not assessed: " + "; ".join(reasons[:5]), {"not_assessed": reasons})

        evidence: dict[str, Any] = {
            "resource_types": list(rule.resource_types),
            "examined": failing[:_FAILING_CANDIDATES_SHOWN],
            "examined_count": len(failing),
        }
        where = f"region {region} of account {account}" if region else f"account {account}"
        message = fill_template(rule.fail_message, {
            "name": where, "id": scope_resource_id(provider, account, region),
            "short_id": scope_resource_id(provider, account, region), "account": account,
            "region": region or "global", "type": REGION_SCOPE_TYPE if region else ACCOUNT_SCOPE_TYPE})
        if not message:
            message = f"Nothing in {where} meets: {rule.title} ({len(failing)} examined)"
        return _scope_finding(rule, provider, account, region, Status.FAIL, message, evidence)


class ServiceCoverage:
    """Where a scan read each service, from its coverage units, to tell a real absence from an unread one.

    A unit in the region "global" covers its whole account: IAM, S3, and every Azure and GCP unit are
    such units. A unit in another region covers that region. A lookup of a type whose service has no
    unit where it looks cannot conclude that the type has no resource there. A provider with no unit
    at all is not judged: no unit records what its scan covered. That happens only for an index built
    without coverage, because the engine runs no rule of a provider that has no unit.
    """

    def __init__(self, coverage: Iterable[Coverage]) -> None:
        self._regions: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for unit in coverage:
            self._regions[(unit.provider, unit.account, unit.service)].add(unit.region)
        self._providers = sorted({provider for provider, _account, _service in self._regions})
        self._gaps: dict[tuple[str, str, str, str | None, bool], str | None] = {}

    def gap(self, provider: str, type_name: str, account: str, region: str | None, *,
            imported: bool = False) -> str | None:
        """Return why the scan did not read `type_name` in `account` (and `region`), or None when it did.

        `region` None accepts a unit in any region of the account. `imported` words the reason for
        resources that came from files.
        """
        key = (provider, type_name, account, region, imported)
        if key not in self._gaps:
            self._gaps[key] = self._find_gap(provider, type_name, account, region, imported)
        return self._gaps[key]

    def gap_in(self, type_name: str, account: str) -> str | None:
        """Return why the scan did not read `type_name` anywhere in `account`, or None when it did.

        The provider is the one whose catalogue lists the type; a type that none lists gives None.
        """
        for provider in self._providers:
            if service_of_type(provider, type_name) is not None:
                return self.gap(provider, type_name, account, None)
        return None

    def _find_gap(self, provider: str, type_name: str, account: str, region: str | None,
                  imported: bool) -> str | None:
        if provider not in self._providers:
            return None
        service = service_of_type(provider, type_name)
        if service is None:
            return f"Ridgeline does not collect {type_name}, so the scan cannot tell whether one exists"
        regions = self._regions.get((provider, account, service), set())
        if "global" in regions or (regions and (region is None or region in regions)):
            return None
        # The region matters to the reader only when the service was read in other regions of the account.
        where = _scope_words(provider, account, region if regions else None)
        if imported:
            return f"the imported files hold no {service} resources of {where}"
        return f"the {service} service was not scanned in {where}"


@cache
def _services_by_type(provider: str) -> dict[str, str]:
    """Return the catalogue service of each resource type of `provider`, by case-folded type name."""
    from ridgeline.rules.loader import known_services

    return {type_name.casefold(): service
            for service, types in (known_services(provider) or {}).items() for type_name in types}


def service_of_type(provider: str, type_name: str) -> str | None:
    """Return the service whose coverage unit lists `type_name`, or None when no collector reads the type."""
    # Azure types compare without regard to case; the other providers' type names differ in more than case.
    return _services_by_type(provider).get(type_name.casefold())


def _scope_words(provider: str, account: str, region: str | None) -> str:
    """Return "project p1", "subscription S", "account A in region R" or "folders/456" for messages."""
    if provider == "gcp":
        where = account if account.startswith(("folders/", "organizations/")) else f"project {account}"
    elif provider == "azure":
        where = f"subscription {account}"
    else:
        where = f"account {account}"
    if region is not None and region != "global" and provider == "aws":
        where += f" in region {region}"
    return where


_AZURE_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
_GCP_CONTAINER = re.compile(r"^(?://[^/]+/)?((?:organizations|folders)/[^/]+)")


def _lookup_scope(owner: Resource, match: str, value: Any) -> tuple[str, str | None]:
    """Return the account and region (None for any region) where a lookup from `owner` looks.

    An `id_from` value that names its account decides: an AWS ARN (with its region, when it has one),
    an Azure id, a GCP folder or organisation. Otherwise the lookup stays in the owner's account and, for
    single lookups and `match: region`, in the owner's region.
    """
    account = owner.account
    region: str | None = None if owner.region == "global" or match == "account" else owner.region
    if match != "id_from" or not isinstance(value, str):
        return account, region

    if owner.provider == "aws" and value.startswith("arn:"):
        # arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE. S3 and IAM ARNs leave the region empty, and AWS
        # managed policies name the account "aws": those stay with the owner's.
        parts = value.split(":", 5)
        if len(parts) == 6:
            account = parts[4] if parts[4].isdigit() else account
            region = parts[3] or region
    elif owner.provider == "azure":
        subscription = _AZURE_SUBSCRIPTION.match(value)
        if subscription is not None and subscription.group(1).casefold() != account.casefold():
            account = subscription.group(1).lower()
    elif owner.provider == "gcp":
        # A project named in an asset name may be its number, while accounts are project ids: only
        # folders and organisations are certain.
        container = _GCP_CONTAINER.match(value)
        if container is not None:
            account = container.group(1)
    return account, region


def _unlisted_types(coverage: Sequence[Coverage]) -> dict[tuple[str, str], str]:
    """Return the (account, type) pairs whose listing failed, so a missing related resource stays unknown."""
    from ridgeline.rules.loader import known_services

    unlisted: dict[tuple[str, str], str] = {}
    for unit in coverage:
        for type_name, reason in unit.failed_types.items():
            unlisted.setdefault((unit.account, type_name), reason)
        if unit.status is Completeness.FAILED:
            for type_name in (known_services(unit.provider) or {}).get(unit.service, ()):
                unlisted.setdefault((unit.account, type_name), f"{unit.service} could not be collected")
    return unlisted


def _unit_failure(unit: Coverage, rule: Rule) -> str | None:
    """Return why `unit` leaves `rule` unassessed, or None when it does not."""
    where = f"{unit.service} in account {unit.account}, region {unit.region}"
    if unit.status is Completeness.FAILED:
        details = "; ".join(error.describe() for error in unit.errors[:3]) or "collection failed"
        return f"{where} could not be collected: {details}"
    for type_name in rule.resource_types:
        if type_name in unit.failed_types:
            return f"{type_name} could not be listed for {where}: {unit.failed_types[type_name]}"
    return None


def fail_message(rule: Rule, resource: Resource) -> str:
    """Return the FAIL message of `rule` for `resource`."""
    if rule.fail_message:
        return fill_template(rule.fail_message, {"name": resource.name, "id": resource.id,
                                                 "short_id": resource.id.rsplit("/", 1)[-1].rsplit(":", 1)[-1],
                                                 "account": resource.account, "region": resource.region,
                                                 "type": resource.type})
    return f"{resource.name} does not meet: {rule.title}"


def _finding(rule: Rule, resource: Resource, status: Status, message: str, evidence: dict[str, Any]) -> Finding:
    # Positional, in the order of Finding's fields: a large import makes millions of findings here, and
    # keyword arguments cost a fifth more. tests/unit/test_engine.py checks the order.
    return Finding(rule.id, status, rule.severity, rule.category, resource.provider, resource.account,
                   resource.region, resource.id, resource.type, resource.name, message, evidence)


def _scope_finding(
    rule: Rule, provider: str, account: str, region: str, status: Status, message: str, evidence: dict[str, Any]
) -> Finding:
    regional = bool(region) and region != "global"
    return Finding(
        rule_id=rule.id,
        status=status,
        severity=rule.severity,
        category=rule.category,
        provider=provider,
        account=account,
        region=region or "global",
        resource_id=scope_resource_id(provider, account, region),
        resource_type=REGION_SCOPE_TYPE if regional else ACCOUNT_SCOPE_TYPE,
        resource_name=f"{account}/{region}" if regional else account,
        message=message,
        evidence=evidence,
    )
