"""The watcher's view of the account between full scans: resources, coverage and the rule index.

The state starts from a full scan (or from the store's latest snapshot) and takes each increment in
place, so applying a change costs about as much as the change, whatever the size of the account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.rules.engine import ResourceIndex

ResourceKey = tuple[str, str, str, str]
"""(account, region, type, id)."""

UnitKey = tuple[str, str, str]
"""(account, region, service) of a coverage unit."""


def resource_key(resource: Resource) -> ResourceKey:
    """Return the key that identifies a resource in a snapshot."""
    return (resource.account, resource.region, resource.type, resource.id)


def short_id(resource_id: str) -> str:
    """Return the last segment of an ARN or path (sg-123 of a security group ARN)."""
    return resource_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


class LiveIndex(ResourceIndex):
    """A `ResourceIndex` that can also forget a resource, so it follows the state without a rebuild."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self._account_groups: dict[tuple[str, str], list[Resource]] = {}
        """(type, account) -> the list `find_all` returned for them, until a resource of the type there changes."""
        super().__init__(resources)

    def add(self, resource: Resource) -> None:
        """Index one resource."""
        super().add(resource)
        self._account_groups.pop((resource.type, resource.account), None)

    def find_all(self, type_name: str, resource: Resource, match: str) -> list[Resource]:
        """Return every resource of `type_name` in the same account (match "account") or also region.

        By account, callers get the same list until a resource of the type in the account is added or
        removed, as from a `GroupedIndex`, and must not change it. Check functions remember what they
        derived from `peers` by the list's identity, so an increment that judges every firewall rule of a
        project again finds their deny candidates once, not once per rule.
        """
        if match != "account":
            return super().find_all(type_name, resource, match)
        key = (type_name, resource.account)
        group = self._account_groups.get(key)
        if group is None:
            group = self._account_groups[key] = super().find_all(type_name, resource, match)
        return group

    def remove(self, resource: Resource) -> None:
        """Forget one resource (the same object that was added)."""
        self._account_groups.pop((resource.type, resource.account), None)
        same_type = self.by_type.get(resource.type, [])
        for position, candidate in enumerate(same_type):
            if candidate is resource:
                del same_type[position]
                break
        named = self._by_name.get((resource.type, resource.name), [])
        for position, candidate in enumerate(named):
            if candidate is resource:
                del named[position]
                break
        if self._by_id.get((resource.type, resource.id)) is resource:
            del self._by_id[(resource.type, resource.id)]
        short_key = (resource.type, resource.account, short_id(resource.id))
        if self._by_short_id.get(short_key) is resource:
            del self._by_short_id[short_key]
            # Another resource of the account may share the short id; it takes the slot back.
            for candidate in same_type:
                if candidate.account == resource.account and short_id(candidate.id) == short_key[2]:
                    self._by_short_id[short_key] = candidate
                    break


@dataclass(slots=True)
class Base:
    """The stored scan the state starts from, and how many increments were stored on it."""

    scan_id: str
    sequence: int = 0


class LiveState:
    """The current resources and coverage of the watched accounts."""

    def __init__(self, provider: str, accounts: Sequence[str], regions: Sequence[str], resources: Iterable[Resource],
                 coverage: Iterable[Coverage], base: Base) -> None:
        self.provider = provider
        self.accounts = list(accounts)
        self.regions = list(regions)
        self.base = base
        self.index = LiveIndex(())
        self.resources: dict[ResourceKey, Resource] = {}
        self._by_id: dict[str, set[ResourceKey]] = defaultdict(set)
        self._by_folded_id: dict[str, set[ResourceKey]] = defaultdict(set)
        self.coverage: dict[UnitKey, Coverage] = {}
        for resource in resources:
            self.upsert(resource)
        self.replace_units(coverage)

    def __len__(self) -> int:
        return len(self.resources)

    def upsert(self, resource: Resource) -> Resource | None:
        """Add or replace a resource; return the one it replaced."""
        key = resource_key(resource)
        previous = self.resources.get(key)
        if previous is not None:
            self.index.remove(previous)
        self.resources[key] = resource
        self._by_id[resource.id].add(key)
        self._by_folded_id[resource.id.casefold()].add(key)
        self.index.add(resource)
        return previous

    def remove_id(self, resource_id: str, type_name: str | None = None) -> list[Resource]:
        """Forget the resources with this id (of `type_name` only, if given); return them."""
        removed = []
        # Event ids may spell an Azure id in another case than the scan did.
        keys = self._by_id.get(resource_id) or self._by_folded_id.get(resource_id.casefold()) or set()
        for key in list(keys):
            if type_name is not None and key[2] != type_name:
                continue
            resource = self.resources.pop(key)
            self.index.remove(resource)
            self._by_id[resource.id].discard(key)
            self._by_folded_id[resource.id.casefold()].discard(key)
            removed.append(resource)
        for resource in removed:
            for index, value in ((self._by_id, resource.id), (self._by_folded_id, resource.id.casefold())):
                if not index.get(value):
                    index.pop(value, None)
        return removed

    def descendants(self, resource_id: str) -> list[Resource]:
        """Return the resources whose id lies under `resource_id` (an Azure account's containers, a vault's keys)."""
        prefix = resource_id.casefold().rstrip("/") + "/"
        return [resource for folded, keys in self._by_folded_id.items() if folded.startswith(prefix)
                for resource in (self.resources[key] for key in sorted(keys))]

    def find(self, account: str, type_name: str, key: str) -> list[Resource]:
        """Return the resources of `type_name` in `account` whose id, name or short id is `key`."""
        folded = key.casefold()

        def matches(resource: Resource) -> bool:
            if key in (resource.id, resource.name, short_id(resource.id)):
                return True
            return resource.provider == "azure" and folded == resource.id.casefold()

        return [resource for resource in self.index.by_type.get(type_name, ())
                if resource.account == account and matches(resource)]

    def with_id(self, resource_id: str) -> list[Resource]:
        """Return the resources whose id is `resource_id`, compared without case if none matches exactly.

        Azure resource ids are case-insensitive, and Event Grid does not always spell them as the scan does.
        """
        keys = self._by_id.get(resource_id) or self._by_folded_id.get(resource_id.casefold()) or set()
        return [self.resources[key] for key in sorted(keys)]

    def of_types(self, account: str, types: Iterable[str], region: str | None = None) -> list[Resource]:
        """Return the resources of `types` in `account` (and `region`, if given)."""
        return [resource for type_name in types for resource in self.index.by_type.get(type_name, ())
                if resource.account == account and (region is None or resource.region == region)]

    def replace_units(self, units: Iterable[Coverage]) -> list[Coverage]:
        """Replace the state's units of the same account, region and service with `units`, and update the index.

        The index then judges lookups by the whole coverage, as a full scan of the same state would. A lookup
        of a type whose service no unit read is unknown, and a type listed again is no longer unknown.
        Returns the units that change what lookups conclude: units new to the state, and units whose
        listings failed differently than before.
        """
        relisted = []
        for unit in units:
            key = (unit.account, unit.region, unit.service)
            previous = self.coverage.get(key)
            if previous is None or _listing_failures(previous) != _listing_failures(unit):
                relisted.append(unit)
            self.coverage[key] = unit
        # In the order of the scan's coverage, which decides the reason given when two units failed the same type.
        self.index.note_coverage(list(self.coverage.values()))
        return relisted

    def coverage_list(self) -> list[Coverage]:
        """Return the coverage units, sorted."""
        return sorted(self.coverage.values(), key=lambda unit: (unit.account, unit.service, unit.region))


def _listing_failures(unit: Coverage) -> tuple[bool, dict[str, str]]:
    """Return the parts of a unit that make lookups of its types unknown: whether it failed, and its failed types."""
    return unit.status is Completeness.FAILED, unit.failed_types
