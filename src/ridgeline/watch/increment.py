"""Evaluate only what a change can affect: the rules of the changed resources, and the rules that read them.

A change of a resource of type T affects:
- the resource rules of T, on the changed resources;
- the resource rules that look T up through `related` (a bucket rule reads the account's Block Public
  Access settings), on every resource of their types in the changed accounts;
- the resource rules of T whose check functions take `peers` (a deny firewall rule hides what the allow
  rules of its network admit), on every resource of T in the account where a resource of T changed or
  was deleted;
- the account and region rules whose types or lookups include T, on their scopes in the changed accounts.
Every (rule, resource) pair evaluated is returned, so the life cycle changes those findings and no others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from ridgeline.model.finding import Finding
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.rules.conditions import AllNode, CheckNode, CountNode, ItemsNode, Node, NotNode, RelatedNode
from ridgeline.rules.engine import Engine
from ridgeline.rules.functions import all_check_functions
from ridgeline.rules.model import Rule
from ridgeline.watch.state import LiveState


@dataclass(slots=True)
class Evaluation:
    """The findings of an increment and the (rule id, resource id) pairs it evaluated."""

    findings: list[Finding] = field(default_factory=list)
    assessed: set[tuple[str, str]] = field(default_factory=set)
    resources: dict[str, Resource] = field(default_factory=dict)
    """The resources evaluated, by id (suppressions read their tags)."""


class IncrementalEvaluator:
    """Indexes the rules by the types whose change affects them; build once per watcher."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = list(rules)
        self.engine = Engine(self.rules)
        self._own: dict[str, list[Rule]] = defaultdict(list)
        self._reading: dict[str, list[Rule]] = defaultdict(list)
        self._scope: dict[str, list[Rule]] = defaultdict(list)
        self._peers: dict[str, list[Rule]] = defaultdict(list)
        self._by_service: dict[tuple[str, str], list[Rule]] = defaultdict(list)
        self._engines: dict[tuple[str, ...], Engine] = {}
        # Types that check functions read in any account (the folders, organisation and firewall policies
        # above a GCP project): a change to one affects resources of every account, not only its own.
        self._scan_wide = {type_name for function in all_check_functions() for type_name in function.lookup_types}
        for rule in self.rules:
            lookups = rule.condition.related_types()
            if rule.applies_if is not None:
                lookups |= rule.applies_if.related_types()
            if rule.scope == "resource":
                self._by_service[(rule.provider, rule.service)].append(rule)
                for type_name in rule.resource_types:
                    self._own[type_name].append(rule)
                # The rule's own types count too, because a rule on virtual networks that looks up the Network
                # Watcher of their region (a type it also judges) changes when a Network Watcher does.
                for type_name in lookups:
                    self._reading[type_name].append(rule)
                for type_name in _peer_types(rule):
                    self._peers[type_name].append(rule)
            else:
                for type_name in set(rule.resource_types) | lookups:
                    self._scope[type_name].append(rule)

    def evaluate(self, state: LiveState, changed: Sequence[Resource], changed_types: Collection[str],
                 accounts: Collection[str], whole_units: Sequence[Coverage] = (),
                 gone: Sequence[Resource] = ()) -> Evaluation:
        """Evaluate the rules that the change affects, against the state after the change.

        `changed` are the resources added or changed, and `gone` those deleted (no longer in `state`).
        """
        active = {(unit.provider, unit.service) for unit in state.coverage.values()}
        result = Evaluation()

        for resource in changed:
            for rule in self._own.get(resource.type, ()):
                if (rule.provider, rule.service) in active:
                    self._evaluate(rule, resource, state, result)

        # A check function that takes `peers` judges each resource together with every resource of its type in
        # its account, so a change there, a deletion too, can change the verdicts of the others.
        for type_name, account in sorted({(resource.type, resource.account) for resource in (*changed, *gone)}):
            for rule in self._peers.get(type_name, ()):
                if (rule.provider, rule.service) not in active:
                    continue
                for resource in state.of_types(account, (type_name,)):
                    if (rule.id, resource.id) not in result.assessed:
                        self._evaluate(rule, resource, state, result)

        for type_name in changed_types:
            for rule in self._reading.get(type_name, ()):
                if (rule.provider, rule.service) not in active:
                    continue
                if type_name in self._scan_wide:
                    affected = [resource for judged in rule.resource_types
                                for resource in state.index.by_type.get(judged, ())]
                else:
                    affected = [resource for account in accounts
                                for resource in state.of_types(account, rule.resource_types)]
                for resource in affected:
                    if (rule.id, resource.id) not in result.assessed:
                        self._evaluate(rule, resource, state, result)

        scope_rules = {rule.id: rule for type_name in changed_types for rule in self._scope.get(type_name, ())
                       if (rule.provider, rule.service) in active}
        if scope_rules:
            units = [unit for unit in state.coverage.values() if unit.account in accounts]
            for finding in self._engine(scope_rules.values()).evaluate([], units, index=state.index):
                result.findings.append(finding)
                result.assessed.add((finding.rule_id, finding.resource_id))

        # A unit collected again whole but not completely gets the ERROR findings of a scan.
        for unit in whole_units:
            if unit.status is Completeness.COMPLETE and not unit.failed_types:
                continue
            rules = self._by_service.get((unit.provider, unit.service), [])
            for finding in self._engine(rules).evaluate([], [unit], index=state.index):
                result.findings.append(finding)
                result.assessed.add((finding.rule_id, finding.resource_id))
        return result

    def _evaluate(self, rule: Rule, resource: Resource, state: LiveState, result: Evaluation) -> None:
        result.assessed.add((rule.id, resource.id))
        result.resources[resource.id] = resource
        finding = self.engine.evaluate_resource(rule, resource, state.index)
        if finding is not None:
            result.findings.append(finding)

    def _engine(self, rules: Collection[Rule]) -> Engine:
        key = tuple(sorted(rule.id for rule in rules))
        engine = self._engines.get(key)
        if engine is None:
            engine = self._engines[key] = Engine(list(rules))
        return engine


def _peer_types(rule: Rule) -> set[str]:
    """Return the rule's own types whose resources a check function of the rule receives as `peers`.

    A check function in the condition of a related resource receives the peers of that resource's type,
    which the rule already reads as a lookup (`_reading`), so only the rule's own types are returned.
    """
    judged = set(rule.resource_types)
    found: set[str] = set()
    pending: list[tuple[Node | None, bool]] = [(rule.fail_if, True), (rule.require_one, True),
                                               (rule.applies_if, True)]
    while pending:
        node, on_judged = pending.pop()
        if node is None:
            continue
        if isinstance(node, CheckNode) and on_judged and "peers" in node.function.literal_args:
            found |= judged
        elif isinstance(node, AllNode):
            pending.extend((child, on_judged) for child in node.children)
        elif isinstance(node, NotNode):
            pending.append((node.child, on_judged))
        elif isinstance(node, ItemsNode):
            # A function called on a list item receives the resource judged (`EvalContext.resource`).
            pending.append((node.where, True))
        elif isinstance(node, RelatedNode | CountNode):
            pending.append((node.where, False))
    return found
