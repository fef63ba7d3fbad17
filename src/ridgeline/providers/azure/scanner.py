"""Collection of Azure subscriptions: Resource Graph inventory, then the ARM reads for what Resource Graph lacks.

The coverage unit is (subscription, "global", service). Steps:
1. get a token (DefaultAzureCredential) and list the subscriptions in scope through Resource Graph;
2. query the `resources`, `securityresources` and `authorizationresources` tables for the catalogue's types;
3. on a bounded thread pool, read each parent's child resources (catalog.py `Child` entries), the
   per-parent listings (containers, key vault keys and secrets), the per-subscription listings, and each
   vault's certificates through its data plane (dataplane.py).
A failed listing marks its type failed in the unit, so every rule on the type reports ERROR; a failed child
read marks one path of one resource unknown. Nothing that could not be read becomes an empty value.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core.credentials import TokenCredential

from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.providers.azure import credentials as azure_credentials
from ridgeline.providers.azure.calls import AzureCallFailed, CallRecorder
from ridgeline.providers.azure.catalog import CERTIFICATE_TYPE, TYPES, TYPES_BY_LOWER_NAME
from ridgeline.providers.azure.children import read_children
from ridgeline.providers.azure.clients import PUBLIC_CLOUD_ENDPOINT, AzureClients, token_scope
from ridgeline.providers.azure.dataplane import VAULT_TYPE, DataPlane, next_step, read_certificates
from ridgeline.providers.azure.declarations import (
    LIST_CERTIFICATES,
    PARENT_LISTINGS,
    SUBSCRIPTION_LISTINGS,
    TABLE_TYPES,
    ParentListing,
    SubscriptionListing,
)
from ridgeline.providers.azure.envelope import envelope, redact_azure
from ridgeline.providers.azure.graph import Subscription, batches, inventory_query, list_subscriptions, run_query
from ridgeline.providers.azure.listings import list_parent_items, list_subscription_items
from ridgeline.providers.azure.msgraph import collect_entra, resolve_graph_endpoint

logger = logging.getLogger(__name__)

ENDPOINT_ENV = "RIDGELINE_AZURE_ENDPOINT"
"""Environment variable naming another Resource Manager endpoint (a sovereign cloud, or a test server)."""

NOT_ARM_SERVICES = frozenset({"entra"})
"""Catalogue services read through Microsoft Graph (msgraph.py), with one coverage unit per tenant."""

NOT_COLLECTED_REASON = "not read by the live Azure scan (no Resource Graph table or ARM listing is defined for it)"

_SUBSCRIPTION_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MANAGEMENT_GROUP_ID = re.compile(r"^[A-Za-z0-9_.()-]{1,90}$")

MAX_REASONS = 3
"""Distinct reasons shown for one failed type of one subscription (see `ScanState.fail_type`)."""

ProgressCallback = Callable[[int, int], None]
"""Called as `callback(done, total)` as the per-resource and per-subscription reads finish."""


@dataclass(slots=True)
class AzureScanOptions:
    """Options of an Azure scan: scope, tenant, endpoint and concurrency."""

    subscriptions: Sequence[str] | None = None
    """Subscription ids; None or empty means every subscription in scope."""

    management_group: str | None = None
    """Scan the subscriptions under this management group (not with `subscriptions`)."""

    tenant: str | None = None
    endpoint: str | None = None
    """Resource Manager endpoint; None means $RIDGELINE_AZURE_ENDPOINT or the public cloud."""

    graph_endpoint: str | None = None
    """Microsoft Graph endpoint; None means $RIDGELINE_AZURE_GRAPH_ENDPOINT or the one of the endpoint's cloud."""

    workers: int = 16


def live_types() -> dict[str, str]:
    """Return each catalogue type the live scan reads, with where it is read from."""
    sources: dict[str, str] = {}
    for table, types in TABLE_TYPES.items():
        for type_name in types:
            sources[type_name] = f"Resource Graph table {table}"
    for listing in SUBSCRIPTION_LISTINGS:
        sources[listing.type] = f"ARM list at subscription scope ({listing.call.action})"
    for parent_listing in PARENT_LISTINGS:
        sources[parent_listing.type] = f"ARM list per {parent_listing.parent_type} ({parent_listing.call.action})"
    sources[CERTIFICATE_TYPE] = f"Key Vault data plane per {VAULT_TYPE} (data action {LIST_CERTIFICATES.action})"
    return sources


def scanned_services() -> dict[str, tuple[str, ...]]:
    """Return each service the live scan covers with its catalogue types."""
    grouped: dict[str, list[str]] = {}
    for entry in TYPES:
        if entry.service not in NOT_ARM_SERVICES:
            grouped.setdefault(entry.service, []).append(entry.name)
    return {service: tuple(names) for service, names in grouped.items()}


class ScanState:
    """Resources and coverage units of one scan, shared by the worker threads."""

    def __init__(self, subscriptions: Sequence[str], collected_at: str) -> None:
        self.subscriptions = list(subscriptions)
        self.collected_at = collected_at
        self.resources: list[Resource] = []
        self.units: dict[tuple[str, str], Coverage] = {}
        self._reasons: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self._services = scanned_services()
        for subscription in self.subscriptions:
            for service in self._services:
                self.units[(subscription, service)] = Coverage(provider="azure", account=subscription,
                                                               region="global", service=service)

    def unit_of(self, subscription: str, type_name: str) -> Coverage | None:
        """Return the unit of a type in a subscription; None for a subscription or type outside the scan."""
        entry = TYPES_BY_LOWER_NAME.get(type_name.lower())
        if entry is None:
            return None
        return self.units.get((subscription, entry.service))

    def add(self, resource: Resource) -> bool:
        """Record a collected resource; return False (and drop it) when its subscription or type is outside the scan."""
        unit = self.unit_of(resource.account, resource.type)
        if unit is None or not resource.id:
            logger.debug("subscription %s: skipping %s %s outside the scan", resource.account, resource.type,
                         resource.id)
            return False
        with self._lock:
            self.resources.append(resource)
            unit.resource_counts[resource.type] = unit.resource_counts.get(resource.type, 0) + 1
        return True

    def fail_type(self, subscription: str, type_name: str, reason: str, failure: AzureCallFailed | None = None) -> None:
        """Record that resources of `type_name` could not be listed in `subscription`.

        Listings under several parents (the keys of each vault) can fail for different reasons, and the
        reason names what failed: the first MAX_REASONS distinct reasons are kept, the others counted.
        """
        unit = self.unit_of(subscription, type_name)
        if unit is None:
            return
        with self._lock:
            reasons = self._reasons.setdefault((subscription, type_name), [])
            if reason not in reasons:
                reasons.append(reason)
            summary = "; ".join(reasons[:MAX_REASONS])
            more = len(reasons) - MAX_REASONS
            unit.failed_types[type_name] = summary + (f"; and {more} more (see the unit's errors)" if more > 0 else "")
            if failure is not None:
                unit.errors.append(failure.to_error())
            if unit.status is Completeness.COMPLETE:
                unit.status = Completeness.PARTIAL
        logger.warning("subscription %s: cannot list %s: %s", subscription, type_name, reason)

    def detail_failed(self, resource: Resource, path: str, failure: AzureCallFailed) -> None:
        """Mark `path` of `resource` unknown because a child read failed; the unit becomes partial."""
        failure.resource_id = failure.resource_id or resource.id
        unit = self.unit_of(resource.account, resource.type)
        with self._lock:
            resource.errors[path] = f"{failure.code} on {failure.call.action}: {failure.message}"
            if unit is not None:
                unit.errors.append(failure.to_error())
                if unit.status is Completeness.COMPLETE:
                    unit.status = Completeness.PARTIAL
        logger.warning("subscription %s: %s", resource.account, failure.describe())

    def finish(self, duration_s: float) -> list[Coverage]:
        """Close the units: FAILED when every type of the service failed; sorted by subscription and service."""
        for (_subscription, service), unit in self.units.items():
            types = set(self._services[service])
            if types and types <= set(unit.failed_types):
                unit.status = Completeness.FAILED
            unit.duration_s = duration_s
        return sorted(self.units.values(), key=lambda unit: (unit.account, unit.service))


def collect_azure(options: AzureScanOptions, *, credential: TokenCredential | None = None,
                  recorder: CallRecorder | None = None, progress: ProgressCallback | None = None) -> Collection:
    """Collect the subscriptions in scope; raise ScanSetupError when the scan cannot start."""
    started = time.monotonic()
    requested = _validate(options)
    endpoint = resolve_endpoint(options)
    graph_endpoint = resolve_graph_endpoint(endpoint, options.graph_endpoint)

    try:
        if credential is None:
            credential = azure_credentials.build_credential(options.tenant)
        azure_credentials.check_token(credential, token_scope(endpoint))
    except azure_credentials.CredentialSetupError as error:
        raise ScanSetupError(str(error)) from error

    with AzureClients(credential, endpoint, pool_size=options.workers, recorder=recorder) as clients:
        visible = _resolve_subscriptions(clients, options, requested)
        subscriptions = [subscription.id for subscription in visible]
        logger.info("scanning %d subscription(s) through %s", len(subscriptions), endpoint)
        state = ScanState(subscriptions, datetime.now(UTC).isoformat(timespec="seconds"))
        _mark_types_without_source(state)
        _inventory(clients, state)
        _read_details(clients, state, options.workers, progress, DataPlane(clients, credential))
        tenants, unknown_reason = _tenants(visible, options.tenant)
        entra_resources, entra_units = collect_entra(clients, credential, graph_endpoint, tenants,
                                                     state.collected_at, unknown_reason)

    resources = state.resources + entra_resources
    for resource in resources:
        redact_azure(resource)
    duration = time.monotonic() - started
    collection = Collection(
        provider="azure",
        accounts=list(subscriptions),
        regions=sorted({resource.region for resource in state.resources if resource.region != "global"}),
        resources=resources,
        coverage=state.finish(duration) + entra_units,
        api_calls=clients.recorder.total,
        duration_s=duration,
    )
    logger.info("collected %d resource(s) from %d subscription(s) with %d request(s) in %.1fs",
                len(collection.resources), len(subscriptions), collection.api_calls, duration)
    return collection


def resolve_endpoint(options: AzureScanOptions) -> str:
    """Return the Resource Manager endpoint of the options; raise ScanSetupError when it is not HTTPS."""
    endpoint = (options.endpoint or os.environ.get(ENDPOINT_ENV) or PUBLIC_CLOUD_ENDPOINT).rstrip("/")
    if not endpoint.startswith("https://"):
        raise ScanSetupError(f"invalid Resource Manager endpoint {endpoint!r}: it must start with https://")
    return endpoint


def _validate(options: AzureScanOptions) -> list[str]:
    requested = [subscription.strip().lower() for subscription in options.subscriptions or () if subscription.strip()]
    if requested and options.management_group:
        raise ScanSetupError("give either --subscription or --management-group, not both")
    malformed = [subscription for subscription in requested if not _SUBSCRIPTION_ID.match(subscription)]
    if malformed:
        raise ScanSetupError(f"invalid subscription id(s) {', '.join(malformed)}: expected a GUID such as "
                             "00000000-0000-0000-0000-000000000000")
    if options.management_group is not None and not _MANAGEMENT_GROUP_ID.match(options.management_group):
        raise ScanSetupError(f"invalid management group id {options.management_group!r}: expected up to 90 "
                             "letters, digits, '-', '_', '.' or parentheses")
    if options.workers < 1:
        raise ScanSetupError(f"invalid number of workers {options.workers}: expected 1 or more")
    return list(dict.fromkeys(requested))


def _resolve_subscriptions(clients: AzureClients, options: AzureScanOptions,
                           requested: list[str]) -> list[Subscription]:
    """Return the subscriptions to scan, sorted by id; raise ScanSetupError when none or an unknown one."""
    where = f" under management group {options.management_group}" if options.management_group else ""
    try:
        visible = list_subscriptions(clients, options.management_group)
    except AzureCallFailed as failure:
        raise ScanSetupError(f"cannot list the subscriptions{where} through Resource Graph ({failure.describe()}); "
                             "the scan needs Microsoft.ResourceGraph/resources/read, which the Reader role "
                             "grants") from failure
    visible_ids = {subscription.id for subscription in visible}
    if requested:
        unknown = [subscription for subscription in requested if subscription not in visible_ids]
        if unknown:
            shown = ", ".join(sorted(visible_ids)[:5]) + (", ..." if len(visible_ids) > 5 else "")
            readable = f"{len(visible_ids)} subscription(s): {shown}" if visible_ids else "no subscription"
            raise ScanSetupError(f"subscription(s) {', '.join(unknown)} not found or not readable with this "
                                 f"credential, which can read {readable}")
        by_id = {subscription.id: subscription for subscription in visible}
        return [by_id[subscription] for subscription in requested]
    if not visible_ids:
        raise ScanSetupError(f"the credential can read no subscription{where}; assign it the Reader role on the "
                             "subscriptions or management group to scan")
    for subscription in visible:
        if subscription.state and subscription.state.lower() != "enabled":
            logger.warning("subscription %s (%s) is in state %s; scanning it anyway", subscription.id,
                           subscription.name, subscription.state)
    return visible


def _tenants(subscriptions: Sequence[Subscription], tenant_option: str | None) -> tuple[list[str], str]:
    """Return the tenants whose Entra ID settings to read, and the reason when their ids are unknown.

    The tenants are those of the scanned subscriptions. When Resource Graph names none, the Entra unit
    still exists (under --tenant, or "unknown-tenant") and fails with the reason.
    """
    tenants = sorted({subscription.tenant_id.lower() for subscription in subscriptions if subscription.tenant_id})
    if tenants:
        return tenants, ""
    return [(tenant_option or "unknown-tenant").lower()], ("Resource Graph gave no tenant id for the scanned "
                                                          "subscriptions, so Entra ID settings were not read")


def _mark_types_without_source(state: ScanState) -> None:
    # A catalogue type added without a source must give ERROR findings, not silence.
    sources = live_types()
    for types in scanned_services().values():
        for type_name in types:
            if type_name not in sources:
                for subscription in state.subscriptions:
                    state.fail_type(subscription, type_name, NOT_COLLECTED_REASON)


def _inventory(clients: AzureClients, state: ScanState) -> None:
    """Query each Resource Graph table in batches of subscriptions and record the rows as resources."""
    for table, types in TABLE_TYPES.items():
        text = inventory_query(table, types)
        wanted = {type_name.lower() for type_name in types}
        for batch in batches(state.subscriptions):
            try:
                rows = run_query(clients, text, subscriptions=batch)
            except AzureCallFailed as failure:
                reason = f"the Resource Graph query of {table} failed: {failure.describe()}"
                for subscription in batch:
                    for type_name in types:
                        state.fail_type(subscription, type_name, reason, failure)
                    # Types listed per parent cannot be listed when their parents could not be.
                    children = [(listing.type, listing.parent_type) for listing in PARENT_LISTINGS]
                    for child_type, parent_type in [*children, (CERTIFICATE_TYPE, VAULT_TYPE)]:
                        if parent_type in types:
                            state.fail_type(subscription, child_type,
                                            f"its parent type {parent_type} could not be listed: {reason}")
                continue

            for row in rows:
                if str(row.get("type") or "").lower() not in wanted:
                    continue
                state.add(envelope(row, collected_at=state.collected_at))


def _read_details(clients: AzureClients, state: ScanState, workers: int, progress: ProgressCallback | None,
                  dataplane: DataPlane) -> None:
    """Run the per-subscription listings, the per-parent listings, the child reads and the vault certificate
    reads on a thread pool."""
    parents = list(state.resources)
    with ThreadPoolExecutor(workers, thread_name_prefix="azure") as pool:
        futures: list[Future[None]] = []
        for subscription in state.subscriptions:
            for listing in SUBSCRIPTION_LISTINGS:
                futures.append(pool.submit(run_subscription_listing, clients, state, listing, subscription))
        for parent in parents:
            entry = TYPES_BY_LOWER_NAME.get(parent.type.lower())
            if entry is not None and entry.supplementary:
                futures.append(pool.submit(read_parent_children, clients, state, parent))
            for parent_listing in PARENT_LISTINGS:
                if parent.type == parent_listing.parent_type:
                    futures.append(pool.submit(run_parent_listing, clients, state, parent_listing, parent))
            if parent.type == VAULT_TYPE:
                futures.append(pool.submit(run_certificate_listing, dataplane, state, parent))

        for done, future in enumerate(futures, start=1):
            # A task's own failures are recorded in the state; anything raised here is a programming error.
            future.result()
            if progress is not None:
                progress(done, len(futures))


def run_subscription_listing(clients: AzureClients, state: ScanState, listing: SubscriptionListing,
                             subscription: str) -> None:
    """Add the items of one subscription-level listing to `state`, or mark their type failed."""
    try:
        resources = list_subscription_items(clients.arm, listing, subscription, state.collected_at)
    except AzureCallFailed as failure:
        state.fail_type(subscription, listing.type, failure.describe(), failure)
        return
    for resource in resources:
        state.add(resource)


def run_parent_listing(clients: AzureClients, state: ScanState, listing: ParentListing, parent: Resource) -> None:
    """Add the items listed under `parent` to `state`, or mark their type failed."""
    if str(parent.configuration.get("kind") or "").lower() in listing.skip_kinds:
        return
    try:
        resources = list_parent_items(clients.arm, listing, parent)
    except AzureCallFailed as failure:
        state.fail_type(parent.account, listing.type, failure.describe(), failure)
        return
    for resource in resources:
        state.add(resource)


def run_certificate_listing(dataplane: DataPlane, state: ScanState, vault: Resource) -> None:
    """Add the certificates of `vault` to `state`, or mark the type failed with the vault and the next step."""
    try:
        certificates, policy_failures = read_certificates(dataplane.reader(vault), vault)
    except AzureCallFailed as failure:
        hint = next_step(failure, vault)
        if hint:
            # Coverage reasons and errors are what an ERROR finding quotes, so the next step goes in both.
            failure.message = f"{failure.message}; {hint}"
        state.fail_type(vault.account, CERTIFICATE_TYPE, failure.describe(), failure)
        return
    for certificate in certificates:
        state.add(certificate)
    for certificate, path, policy_failure in policy_failures:
        hint = next_step(policy_failure, vault)
        if hint:
            policy_failure.message = f"{policy_failure.message}; {hint}"
        state.detail_failed(certificate, path, policy_failure)


def read_parent_children(clients: AzureClients, state: ScanState, parent: Resource) -> None:
    """Fill the supplementary settings of `parent`; a failed read marks its path unknown."""
    for path, failure in read_children(clients.arm, parent):
        state.detail_failed(parent, path, failure)
