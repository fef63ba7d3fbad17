"""Targeted re-collection of Azure resources for the watcher: the resources that change events name, and no others.

A refresh gets ARM resource ids that the watcher has already mapped to catalogue resources, and reads each
one from the source the full scan reads its type from, through the same code:
- Resource Graph types: one query per table and batch of ids (`where id in~ (...)`), then the child reads of
  each resource found (catalog.py `Child` entries);
- types listed under a parent (blob containers, key vault keys and secrets): the parent's Resource Graph
  row, then that one listing under that parent;
- types listed per subscription (activity log diagnostic settings, Defender contacts and settings): that
  one listing for that subscription.
A requested id that its source no longer returns is reported gone. A query or listing that fails makes the
whole outcome a failure, never a deletion, so the watcher retries the event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness
from ridgeline.providers.aws.scanner import RefreshOutcome, RefreshRequest
from ridgeline.providers.azure.calls import AzureCallFailed
from ridgeline.providers.azure.catalog import TYPES_BY_LOWER_NAME
from ridgeline.providers.azure.clients import AzureClients
from ridgeline.providers.azure.declarations import PARENT_LISTINGS, SUBSCRIPTION_LISTINGS, TABLE_TYPES, ParentListing
from ridgeline.providers.azure.envelope import envelope, redact_azure, subscription_of
from ridgeline.providers.azure.graph import by_id_query, run_query
from ridgeline.providers.azure.scanner import (
    NOT_COLLECTED_REASON,
    ScanState,
    read_parent_children,
    run_parent_listing,
    run_subscription_listing,
)

logger = logging.getLogger(__name__)

IDS_PER_QUERY = 100
"""Ids named in one Resource Graph query. 100 ARM ids of about 150 characters make a query of about 15 KB.
This bound is a chosen value, not a documented limit of Resource Graph."""

_TABLE_OF_TYPE = {type_name: table for table, types in TABLE_TYPES.items() for type_name in types}
_PARENT_LISTING_OF_TYPE = {listing.type: listing for listing in PARENT_LISTINGS}
_SUBSCRIPTION_LISTING_OF_TYPE = {listing.type: listing for listing in SUBSCRIPTION_LISTINGS}


def refreshable_types() -> frozenset[str]:
    """Return the catalogue types a refresh can read one by one."""
    return frozenset(_TABLE_OF_TYPE) | frozenset(_PARENT_LISTING_OF_TYPE) | frozenset(_SUBSCRIPTION_LISTING_OF_TYPE)


def parent_id(item_id: str, listing: ParentListing) -> str | None:
    """Return the id of the parent an item of `listing` is listed under, or None when the id has no such shape.

    ".../storageAccounts/st1/blobServices/default/containers/logs" gives ".../storageAccounts/st1".
    """
    position = item_id.lower().rfind(listing.suffix.lower() + "/")
    return item_id[:position] if position > 0 else None


class AzureRefresher:
    """Reads chosen resources of the watched subscriptions again, through one set of clients."""

    def __init__(self, clients: AzureClients, *, workers: int = 16) -> None:
        self.clients = clients
        self.workers = workers

    def refresh(self, request: RefreshRequest) -> list[RefreshOutcome]:
        """Read the request's resources again; return one outcome per subscription the ids belong to."""
        by_subscription: dict[str, dict[str, list[str]]] = {}
        for type_name, ids in request.targets.items():
            for resource_id in ids:
                subscription = subscription_of({"id": resource_id})
                if not subscription:
                    logger.warning("service %s: %s %r has no subscription in its id; skipped", request.service,
                                   type_name, resource_id[:200])
                    continue
                by_subscription.setdefault(subscription, {}).setdefault(type_name, []).append(resource_id)
        return [self._refresh_subscription(request, subscription, targets)
                for subscription, targets in sorted(by_subscription.items())]

    def _refresh_subscription(self, request: RefreshRequest, subscription: str,
                              targets: dict[str, list[str]]) -> RefreshOutcome:
        started = time.monotonic()
        state = ScanState([subscription], datetime.now(UTC).isoformat(timespec="seconds"))
        failures: list[str] = []

        # Step 1: Resource Graph rows of the requested resources and of the parents of listed items.
        graph_ids: dict[str, dict[str, str]] = {}
        listed: dict[ParentListing, dict[str, list[str]]] = {}
        subscription_listings = []
        for type_name, ids in targets.items():
            if type_name in _TABLE_OF_TYPE:
                wanted = graph_ids.setdefault(type_name, {})
                for resource_id in ids:
                    wanted.setdefault(resource_id.lower(), resource_id)
            elif type_name in _PARENT_LISTING_OF_TYPE:
                listing = _PARENT_LISTING_OF_TYPE[type_name]
                for resource_id in ids:
                    parent = parent_id(resource_id, listing)
                    if parent is None:
                        logger.warning("subscription %s: %s is not the id of a %s; skipped", subscription,
                                       resource_id[:200], type_name)
                        continue
                    listed.setdefault(listing, {}).setdefault(parent.lower(), []).append(resource_id)
            elif type_name in _SUBSCRIPTION_LISTING_OF_TYPE:
                subscription_listings.append(_SUBSCRIPTION_LISTING_OF_TYPE[type_name])
            else:
                failures.append(f"{type_name}: {NOT_COLLECTED_REASON}")
        parent_ids: dict[str, dict[str, str]] = {}
        for listing, items_by_parent in listed.items():
            wanted = parent_ids.setdefault(listing.parent_type, {})
            for parent_key, items in items_by_parent.items():
                wanted.setdefault(parent_key, parent_id(items[0], listing) or parent_key)

        found = self._query_graph(state, subscription, graph_ids, failures)
        parents = self._query_graph(state, subscription, parent_ids, failures)
        for resource in found.values():
            state.add(resource)

        # Step 2: the child reads and listings, on a thread pool as in a full scan.
        with ThreadPoolExecutor(self.workers, thread_name_prefix="azure-refresh") as pool:
            futures: list[Future[None]] = []
            for resource in found.values():
                entry = TYPES_BY_LOWER_NAME.get(resource.type.lower())
                if entry is not None and entry.supplementary:
                    futures.append(pool.submit(read_parent_children, self.clients, state, resource))
            for listing, by_parent in listed.items():
                for parent_key in by_parent:
                    parent_resource = parents.get(parent_key)
                    if parent_resource is not None:
                        futures.append(pool.submit(run_parent_listing, self.clients, state, listing,
                                                   parent_resource))
            for subscription_listing in dict.fromkeys(subscription_listings):
                futures.append(pool.submit(run_subscription_listing, self.clients, state, subscription_listing,
                                           subscription))
            for future in futures:
                # Each task records its own failures in the state; anything raised here is a programming error.
                future.result()

        # Step 3: redaction, then what came back, what is gone and what failed.
        for resource in state.resources:
            redact_azure(resource)
        unit = state.units[(subscription, request.service)]
        for type_name in targets:
            reason = unit.failed_types.get(type_name)
            if reason is not None and reason not in failures:
                failures.append(reason)
        unit.duration_s = time.monotonic() - started
        outcome = RefreshOutcome(request=request, coverage=unit)
        if failures:
            unit.status = Completeness.FAILED
            outcome.failure = "; ".join(failures[:3])
            logger.warning("subscription %s service %s: refresh failed, nothing is applied: %s", subscription,
                           request.service, outcome.failure)
            return outcome

        # NOTE: Resource Graph applies a change some seconds after Resource Manager, so a resource created just
        # before its event can be missing here and is then reported gone until a later event or full scan.
        outcome.resources = list(state.resources)
        returned = {resource.id.lower() for resource in state.resources}
        outcome.gone = [(type_name, resource_id) for type_name, ids in targets.items() for resource_id in ids
                        if resource_id.lower() not in returned]
        logger.info("subscription %s service %s: %d resource(s) read again, %d gone, in %.2fs", subscription,
                    request.service, len(outcome.resources), len(outcome.gone), unit.duration_s)
        return outcome

    def _query_graph(self, state: ScanState, subscription: str, ids_by_type: dict[str, dict[str, str]],
                     failures: list[str]) -> dict[str, Resource]:
        """Return the envelopes of the Resource Graph rows with the given ids, by lower-case id."""
        by_table: dict[str, dict[str, str]] = {}
        types_of_table: dict[str, set[str]] = {}
        for type_name, ids in ids_by_type.items():
            table = _TABLE_OF_TYPE[type_name]
            by_table.setdefault(table, {}).update(ids)
            types_of_table.setdefault(table, set()).add(type_name)

        found: dict[str, Resource] = {}
        for table, ids in by_table.items():
            types = sorted(types_of_table[table])
            wanted = {type_name.lower() for type_name in types}
            for batch in _chunks(list(ids.values()), IDS_PER_QUERY):
                try:
                    rows = run_query(self.clients, by_id_query(table, types, batch), subscriptions=[subscription])
                except AzureCallFailed as failure:
                    reason = f"the Resource Graph query of {table} failed: {failure.describe()}"
                    failures.append(reason)
                    for type_name in types:
                        state.fail_type(subscription, type_name, reason, failure)
                    continue
                for row in rows:
                    if str(row.get("type") or "").lower() in wanted:
                        resource = envelope(row, collected_at=state.collected_at)
                        found[resource.id.lower()] = resource
        return found


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
