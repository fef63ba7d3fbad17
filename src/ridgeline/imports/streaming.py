"""Evaluation of imported resources while the files are read, so memory does not grow with the export.

Most rules judge one resource on its own. Such a rule runs as soon as the importer has finished the
resource, and the resource is then dropped. A rule waits for the end of the import when its result may
depend on something not yet read:

- it looks up other resources (`related`, `count`, or a check function that takes `peers`);
- it reads a path that the importer may still change (`unsettled`, such as the IAM policy of a Cloud
  Asset Inventory asset, which is unknown when no asset of the whole import turns out to have one);
- it reads the account while accounts may still be renamed (a GCP project number becomes the project id
  once the project asset is read), or its check function takes the whole resource (`subject`);
- its service is not the catalogue service of the resource's type, so only the finished coverage shows
  whether the rule applies.

Waiting rules keep a copy of their resource pruned to the paths that rules read, and so do resources that
other rules look up (and scope rules judge). The findings are those of `Engine.evaluate` over the whole
import: the test `tests/test_streaming_equivalence.py` compares both on generated exports.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ridgeline.model.finding import Finding
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.conditions import AllNode, CheckNode, CountNode, ItemsNode, Node, NotNode, RelatedNode
from ridgeline.rules.engine import Engine, ResourceIndex
from ridgeline.rules.model import Rule, template_fields
from ridgeline.rules.paths import ROOTS, paths_overlap, split_path

logger = logging.getLogger(__name__)

# A prune tree maps keys to the subtree that rules read below them; None keeps the whole value.
PruneTree = dict[str, "PruneTree | None"]

_PRUNED_ATTRIBUTES = ("configuration", "supplementary", "tags")
"""Envelope fields that pruning narrows; relationships and errors are kept whole."""


class StreamTarget(Protocol):
    """The receiver of a streaming importer's finished resources: a `StreamingEvaluation`, or a wrapper."""

    def add(self, resource: Resource, *, order: Any, unsettled: Collection[str] = ()) -> None:
        """Take one finished resource; `order` is its place in the importer's whole-import order."""
        ...

    def prune(self, resource: Resource) -> Resource:
        """Return the copy of a resource that the importer keeps until every file is read."""
        ...


class NotStreamable(Exception):
    """The files need a merge that streaming cannot reproduce, such as one resource given twice.

    The caller imports the files whole instead, and logs the message, which gives the reason.
    """


@dataclass(frozen=True, slots=True)
class _RulePlan:
    """What decides whether one rule can judge a resource as soon as it is read."""

    rule: Rule
    looks_up: bool
    """The rule reads other resources, so it waits for the index of the whole import."""

    takes_resource: bool
    """A check function of the rule receives the whole resource (`subject`), so any field may matter."""

    reads_account: bool
    paths: tuple[tuple[str | int, ...], ...]
    """The absolute paths the rule reads, split into keys."""


class StreamingEvaluation:
    """Evaluate the resources of one provider as an importer finishes them, then the rest at `finish`.

    `service_of` returns the coverage service of a resource type (the catalogue's), or None. With
    `accounts_final` False, rules that read the account wait, because `finish` may rename accounts.
    """

    def __init__(self, engine: Engine, provider: str, *, service_of: Callable[[str], str | None],
                 accounts_final: bool = True) -> None:
        self.engine = engine
        self.provider = provider
        self.findings: list[Finding] = []
        self._service_of = service_of
        self._accounts_final = accounts_final
        self._plans: dict[str, list[_RulePlan]] = {}
        self._splits: dict[tuple[str, tuple[str, ...]], tuple[list[Rule], list[Rule]]] = {}
        self._takes_resource: set[str] = set()
        self._waiting_trees: dict[tuple[str, ...], PruneTree] = {}
        self._held: list[tuple[Any, Resource, list[Rule]]] = []
        self._no_lookups = ResourceIndex(())

        analysis = _analyse([rule for rule in engine.rules if rule.provider == provider])
        self._lookup_types = analysis.lookup_types
        self._lookup_paths = analysis.lookup_paths
        self._whole_types = analysis.whole_types
        self._trees = {type_name: _tree(paths) for type_name, paths in analysis.rule_paths.items()}
        for type_name in analysis.whole_types:
            self._trees[type_name] = {attribute: None for attribute in _PRUNED_ATTRIBUTES}

    # Adding resources ---------------------------------------------------------------------------------

    def add(self, resource: Resource, *, order: Any, unsettled: Collection[str] = ()) -> None:
        """Judge `resource` with every rule that can judge it now, and keep it when others must wait.

        `order` sorts the kept resources into the order of the whole-import path, so that lookups that
        return the first match (and the evidence naming it) agree with it.
        """
        now, waiting = self._split(resource.type, unsettled)
        evaluate = self.engine.evaluate_resource
        for rule in now:
            finding = evaluate(rule, resource, self._no_lookups)
            if finding is not None:
                self.findings.append(finding)

        if waiting or resource.type in self._lookup_types:
            self._held.append((order, self._prune_for(resource, waiting), waiting))

    def prune(self, resource: Resource) -> Resource:
        """Return a copy of `resource` whose configuration, supplementary and tags hold only what rules read."""
        tree = self._trees.get(resource.type)
        if tree is None:
            tree = self._trees[resource.type] = {}
        return _pruned(resource, tree)

    def _prune_for(self, resource: Resource, waiting: list[Rule]) -> Resource:
        """Return the copy of `resource` that its waiting rules and the lookups of other rules need."""
        key = (resource.type, *(rule.id for rule in waiting))
        tree = self._waiting_trees.get(key)
        if tree is None:
            if any(rule.id in self._takes_resource for rule in waiting) or resource.type in self._whole_types:
                tree = {attribute: None for attribute in _PRUNED_ATTRIBUTES}
            else:
                tree = _tree([*(path for rule in waiting for path in rule.paths),
                              *self._lookup_paths.get(resource.type, ())])
            self._waiting_trees[key] = tree
        return _pruned(resource, tree)


    @property
    def held(self) -> int:
        """Return how many resources wait for `finish`."""
        return len(self._held)

    # Finishing --------------------------------------------------------------------------------------

    def finish(self, coverage: Sequence[Coverage], *, accounts: Mapping[str, str] | None = None,
               settle: Callable[[Resource], None] | None = None) -> list[Finding]:
        """Judge the waiting rules, the coverage and the scope rules; return every finding of the import.

        `accounts` renames accounts (in the findings made so far too), and `settle` is applied to every
        kept resource before the waiting rules read it, to record facts known only at the end of the import.
        """
        if accounts:
            for finding in self.findings:
                renamed = accounts.get(finding.account)
                if renamed is not None:
                    finding.account = renamed

        self._held.sort(key=lambda entry: entry[0])
        kept = [resource for _, resource, _ in self._held]
        for resource in kept:
            if accounts:
                resource.account = accounts.get(resource.account, resource.account)
            if settle is not None:
                settle(resource)

        index = self.engine.build_index(kept, coverage)
        active = self.engine.active_rules(coverage)
        findings = self.findings
        for _, resource, waiting in self._held:
            for rule in waiting:
                if rule.id in active:
                    late = self.engine.evaluate_resource(rule, resource, index)
                    if late is not None:
                        findings.append(late)
        findings.extend(self.engine.evaluate_coverage(coverage, index, active))

        logger.info("streamed evaluation of %s: %d resource(s) kept for lookups or late facts, %d finding(s)",
                    self.provider, len(kept), len(findings))
        self._held = []
        self.findings = []
        return findings

    # Plans ------------------------------------------------------------------------------------------

    def _split(self, type_name: str, unsettled: Collection[str]) -> tuple[list[Rule], list[Rule]]:
        """Return the rules of a type that judge a resource now, and those that wait, given its unsettled paths."""
        key = (type_name, tuple(unsettled))
        split = self._splits.get(key)
        if split is None:
            service = self._service_of(type_name)
            now: list[Rule] = []
            waiting: list[Rule] = []
            for plan in self._plans_of(type_name):
                (waiting if self._must_wait(plan, service, unsettled) else now).append(plan.rule)
            split = self._splits[key] = (now, waiting)
        return split

    def _plans_of(self, type_name: str) -> list[_RulePlan]:
        plans = self._plans.get(type_name)
        if plans is None:
            plans = self._plans[type_name] = [_plan(rule) for rule in self.engine.resource_rules(type_name)]
            self._takes_resource.update(plan.rule.id for plan in plans if plan.takes_resource)
        return plans

    def _must_wait(self, plan: _RulePlan, service: str | None, unsettled: Collection[str]) -> bool:
        rule = plan.rule
        if plan.looks_up or rule.provider != self.provider or rule.service != service:
            return True
        if not self._accounts_final and plan.reads_account:
            return True
        if unsettled:
            return plan.takes_resource or any(_overlaps(path, unsettled) for path in plan.paths)
        return False


# Rule analysis ----------------------------------------------------------------------------------------

def _walk(node: Node | None) -> Iterator[Node]:
    """Yield `node` and every node below it, including the conditions on related resources."""
    if node is None:
        return
    yield node
    if isinstance(node, AllNode):
        for child in node.children:
            yield from _walk(child)
    elif isinstance(node, NotNode):
        yield from _walk(node.child)
    elif isinstance(node, ItemsNode | RelatedNode | CountNode):
        yield from _walk(node.where)


def _nodes(rule: Rule) -> list[Node]:
    return [*_walk(rule.fail_if), *_walk(rule.require_one), *_walk(rule.applies_if)]


def _plan(rule: Rule) -> _RulePlan:
    nodes = _nodes(rule)
    checks = [node.function.literal_args for node in nodes if isinstance(node, CheckNode)]
    looks_up = (any(isinstance(node, RelatedNode | CountNode) for node in nodes)
                or any("peers" in arguments or "lookup" in arguments for arguments in checks))
    takes_resource = any("subject" in arguments or "peers" in arguments for arguments in checks)
    paths = tuple(split_path(text) for text in sorted(rule.paths))
    reads_account = (takes_resource or any(keys[0] == "account" for keys in paths)
                     or "account" in template_fields(rule.fail_message))
    return _RulePlan(rule=rule, looks_up=looks_up, takes_resource=takes_resource, reads_account=reads_account,
                     paths=paths)


@dataclass(slots=True)
class _Analysis:
    """The types and paths that the rules of one provider read, by resource type."""

    lookup_types: set[str] = field(default_factory=set)
    """Types that lookups and scope rules read: their resources are kept until the end."""

    lookup_paths: dict[str, set[str]] = field(default_factory=dict)
    """Paths that lookups and scope rules read on resources of each type."""

    rule_paths: dict[str, set[str]] = field(default_factory=dict)
    """Paths that any rule or lookup reads on resources of each type."""

    whole_types: set[str] = field(default_factory=set)
    """Types whose whole resource a check function receives (`subject`, `peers`)."""


def paths_read(rules: Iterable[Rule]) -> dict[str, set[str]]:
    """Return, per resource type, the envelope paths that rules read on it (as judged or as looked up)."""
    return _analyse(rules).rule_paths


def _analyse(rules: Iterable[Rule]) -> _Analysis:
    """Return which types lookups and scope rules read, and which paths of each type the rules read."""
    analysis = _Analysis()
    for rule in rules:
        for type_name in rule.resource_types:
            analysis.rule_paths.setdefault(type_name, set()).update(rule.paths)
            if rule.scope != "resource":
                analysis.lookup_types.add(type_name)
                analysis.lookup_paths.setdefault(type_name, set()).update(rule.paths)

        judged = set(rule.resource_types)
        for root in (rule.fail_if, rule.require_one, rule.applies_if):
            for node, owners in _walk_owners(root, judged, judged):
                if isinstance(node, RelatedNode | CountNode):
                    where = node.where.paths()
                    analysis.lookup_types.add(node.type_name)
                    analysis.lookup_paths.setdefault(node.type_name, set()).update(where)
                    analysis.rule_paths.setdefault(node.type_name, set()).update(where)
                elif isinstance(node, CheckNode) and {"subject", "peers", "lookup"} & set(node.function.literal_args):
                    # The function receives the whole resource it is called on, its peers of that type, or
                    # whole resources of the types it looks up.
                    if {"subject", "peers"} & set(node.function.literal_args):
                        analysis.whole_types.update(owners)
                    if "peers" in node.function.literal_args:
                        analysis.lookup_types.update(owners)
                    analysis.lookup_types.update(node.function.lookup_types)
                    analysis.whole_types.update(node.function.lookup_types)
    return analysis


def _walk_owners(node: Node | None, owners: set[str], judged: set[str]) -> Iterator[tuple[Node, set[str]]]:
    """Yield each node with the types of the resource that a check function there receives as `subject`.

    In the condition of a related resource it is that resource. In the condition of a list item it is
    the resource whose rule is evaluated (`EvalContext.resource`), so the judged types join in.
    """
    if node is None:
        return
    yield node, owners
    if isinstance(node, AllNode):
        for child in node.children:
            yield from _walk_owners(child, owners, judged)
    elif isinstance(node, NotNode):
        yield from _walk_owners(node.child, owners, judged)
    elif isinstance(node, ItemsNode):
        yield from _walk_owners(node.where, owners | judged, judged)
    elif isinstance(node, RelatedNode | CountNode):
        yield from _walk_owners(node.where, {node.type_name}, judged)


def _tree(texts: Iterable[str]) -> PruneTree:
    """Return the prune tree of the envelope paths `texts`, by Resource attribute."""
    tree: PruneTree = {}
    for text in texts:
        keys = split_path(text)
        attribute = ROOTS[str(keys[0])]
        if attribute not in _PRUNED_ATTRIBUTES:
            continue
        # A list index ends the narrowing: the whole list is kept, which is small next to the resource.
        names: list[str] = [attribute]
        for key in keys[1:]:
            if not isinstance(key, str):
                break
            names.append(key)
        _insert(tree, names)
    return tree


def _insert(tree: PruneTree, keys: list[str]) -> None:
    node = tree
    for position, key in enumerate(keys):
        if key in node and node[key] is None:
            return
        if position == len(keys) - 1:
            node[key] = None
            return
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        node = child


def _pruned(resource: Resource, tree: PruneTree) -> Resource:
    """Return a copy of `resource` whose configuration, supplementary and tags hold only the paths of `tree`."""
    if all(tree.get(attribute, False) is None for attribute in _PRUNED_ATTRIBUTES):
        return resource
    return Resource(
        provider=resource.provider,
        account=resource.account,
        region=resource.region,
        type=resource.type,
        id=resource.id,
        name=resource.name,
        configuration=_prune(resource.configuration, tree.get("configuration", {})),
        supplementary=_prune(resource.supplementary, tree.get("supplementary", {})),
        tags=_prune(resource.tags, tree.get("tags", {})),
        relationships=resource.relationships,
        errors=resource.errors,
        # No rule path reaches the collection time, and findings do not carry it.
        collected_at="",
        source=resource.source,
    )


def _prune(value: Any, tree: PruneTree | None) -> Any:
    if tree is None or not isinstance(value, dict):
        return value
    return {key: _prune(value[key], subtree) for key, subtree in tree.items() if key in value}


def _overlaps(keys: tuple[str | int, ...], unsettled: Collection[str]) -> bool:
    """Tell whether a rule path and one of the unsettled paths name the same value or one contains the other."""
    text = ".".join(str(key) for key in keys)
    for path in unsettled:
        other = split_path(path)
        shared = min(len(other), len(keys))
        if other[:shared] == keys[:shared] or paths_overlap(path, text):
            return True
    return False
