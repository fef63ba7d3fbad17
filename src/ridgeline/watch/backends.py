"""The provider side of the watcher: full scans, targeted re-collection, and the collection unit of each type."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.scanner import (
    AwsRefresher,
    AwsScanOptions,
    Collection,
    RefreshOutcome,
    RefreshRequest,
    ScanSetupError,
    collect_aws,
    identify_account,
    open_session,
    select_collectors,
)
from ridgeline.providers.aws.session import AwsSession

if TYPE_CHECKING:
    from ridgeline.providers.azure.clients import AzureClients
    from ridgeline.providers.azure.refresh import AzureRefresher

logger = logging.getLogger(__name__)


class Backend(Protocol):
    """A provider account the watcher keeps up to date."""

    provider: str
    accounts: list[str]
    regions: list[str]
    supports_refresh: bool
    """False when single resources cannot be collected again: a change event then runs a full scan."""

    def full_scan(self) -> Collection:
        """Collect everything; raise on a setup failure (credentials, regions)."""
        ...

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Collect the requested resources again."""
        ...

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        """Return the (service, unit region) that collects resources of `type_name` in `region`, or None."""
        ...

    def service_types(self, service: str) -> tuple[str, ...]:
        """Return the resource types a service collects."""
        ...

    def carried(self, resource: Resource, previous: Resource | None) -> Resource:
        """Return the resource an event carried, completed from `previous` (its state before) where needed."""
        ...

    @property
    def api_calls(self) -> int:
        """API calls made so far."""
        ...

    def close(self) -> None:
        """Release clients and thread pools."""
        ...


@dataclass(slots=True)
class ImportOutcome(RefreshOutcome):
    """The outcome of a unit imported again from every file of a folder (`ridgeline watch file`).

    Its coverage is of the whole unit, so it replaces the state's unit, as that of a unit collected again
    whole does. Unlike such a unit (`whole_unit`), its `resources` and `gone` hold only what changed since
    the last import, so the unit's other resources in the state are not gone.
    """


class AwsBackend:
    """One AWS account, through the scanner's collectors and their targeted refresh."""

    provider = "aws"
    supports_refresh = True

    def __init__(self, options: AwsScanOptions, session: AwsSession | None = None) -> None:
        self.options = options
        self._collectors = {collector.service: collector for collector in select_collectors(options.services)}
        self.session = session or open_session(options)
        account, partition, regions = identify_account(self.session, options)
        self.accounts = [account]
        self.partition = partition
        self.regions = regions
        # Later full scans reuse the resolved regions instead of listing them again.
        self.options.regions = regions
        self._refresher = AwsRefresher(self.session, account=account, partition=partition, regions=regions,
                                       unit_workers=options.unit_workers, detail_workers=options.detail_workers)
        self._units: dict[str, tuple[str, bool]] = {
            type_name: (collector.service, collector.global_service)
            for collector in self._collectors.values() for type_name in collector.resource_types}
        fallback = sorted(service for service in self._collectors if not self._refresher.has_targeted_refresh(service))
        logger.info("account %s: watching %d service(s) in %d region(s); services collected whole on a change "
                    "(no targeted refresh): %s", account, len(self._collectors), len(regions),
                    ", ".join(fallback) or "none")

    def full_scan(self) -> Collection:
        """Collect every service and region of the options."""
        return collect_aws(self.options, session=self.session)

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Collect the requested resources again."""
        return self._refresher.refresh(requests)

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        """Return the (service, unit region) of a type, or None for a service that is not watched."""
        known = self._units.get(type_name)
        if known is None:
            return None
        service, global_service = known
        return service, "global" if global_service else region

    def service_types(self, service: str) -> tuple[str, ...]:
        """Return the resource types of a service's collector."""
        collector = self._collectors.get(service)
        return collector.resource_types if collector is not None else ()

    def carried(self, resource: Resource, previous: Resource | None) -> Resource:
        """AWS events carry no resources; collected resources are taken as they are."""
        return resource

    @property
    def api_calls(self) -> int:
        """API calls made through the session so far."""
        return self.session.recorder.total

    def close(self) -> None:
        """Stop the refresh thread pools."""
        self._refresher.close()


class ImportBackend:
    """Resources read from files: full scans import everything; changes carry their resources."""

    supports_refresh = False

    def __init__(self, provider: str, collect: Callable[[], Collection]) -> None:
        self.provider = provider
        self._collect = collect
        self.accounts: list[str] = []
        self.regions: list[str] = []

    def full_scan(self) -> Collection:
        """Import every file again."""
        started = time.monotonic()
        collection = self._collect()
        self.accounts = sorted(set(self.accounts) | set(collection.accounts))
        self.regions = sorted(set(self.regions) | set(collection.regions))
        logger.info("imported %d resource(s) in %.1f s", len(collection.resources), time.monotonic() - started)
        return collection

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Imports cannot look anything up; changes carry their resources."""
        raise NotImplementedError("file imports carry their resources and collect nothing again")

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        """Imports do not collect by unit."""
        return None

    def service_types(self, service: str) -> tuple[str, ...]:
        """Imports do not collect by unit."""
        return ()

    def carried(self, resource: Resource, previous: Resource | None) -> Resource:
        """Return the imported resource unchanged, because a file's resource is complete."""
        return resource

    @property
    def api_calls(self) -> int:
        """Imports make no API call."""
        return 0

    def close(self) -> None:
        """Nothing to release."""


SUBSCRIPTION_RESCAN = "subscription"
"""The pseudo-service of Azure events that name no single resource (resource groups): their subscription is
collected again whole."""

RESOURCE_GROUP_TYPE = "Microsoft.Resources/resourceGroups"


class AzureBackend:
    """Azure subscriptions, through the live Azure scan and its targeted refresh (providers/azure/refresh.py).

    A change event names a catalogue resource, which is read again alone. An event that names no single
    resource (a resource group written or deleted) collects its whole subscription again instead.
    """

    provider = "azure"
    supports_refresh = True

    def __init__(self, options: Any, *, credential: Any = None) -> None:
        from ridgeline.providers.azure.catalog import service_of
        from ridgeline.providers.azure.refresh import refreshable_types
        from ridgeline.providers.azure.scanner import live_types, scanned_services

        self.options = options
        self.accounts: list[str] = [item.lower() for item in options.subscriptions or ()]
        self.regions: list[str] = []
        self._credential = credential
        self._api_calls = 0
        self._clients: AzureClients | None = None
        self._refresher: AzureRefresher | None = None
        self._services = scanned_services()
        self._units = {type_name: service_of(type_name) or "" for type_name in live_types()
                       if type_name in refreshable_types()}

    def full_scan(self) -> Collection:
        """Collect every subscription in scope."""
        from ridgeline.providers.azure.scanner import collect_azure

        collection = collect_azure(self.options, credential=self._credential)
        self.accounts = sorted(set(self.accounts) | set(collection.accounts))
        self.regions = collection.regions
        self._api_calls += collection.api_calls
        return collection

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Read the requested resources again; resource group events collect their subscriptions whole."""
        from ridgeline.providers.azure.calls import AzureCallFailed
        from ridgeline.providers.azure.credentials import CredentialSetupError

        outcomes: list[RefreshOutcome] = []
        for request in requests:
            if request.service == SUBSCRIPTION_RESCAN:
                outcomes.extend(self._rescan_subscriptions(request))
                continue
            try:
                outcomes.extend(self._refresher_for().refresh(request))
            except (CredentialSetupError, ScanSetupError, AzureCallFailed) as error:
                logger.warning("service %s: refresh failed before any request: %s", request.service, error)
                outcomes.append(_failed(request, str(error)))
        return outcomes

    def _refresher_for(self) -> AzureRefresher:
        """Return the refresher, opening its clients on first use; they stay open for the watcher's lifetime."""
        if self._refresher is None:
            from ridgeline.providers.azure import credentials as azure_credentials
            from ridgeline.providers.azure.clients import AzureClients
            from ridgeline.providers.azure.refresh import AzureRefresher
            from ridgeline.providers.azure.scanner import resolve_endpoint

            endpoint = resolve_endpoint(self.options)
            if self._credential is None:
                self._credential = azure_credentials.build_credential(self.options.tenant)
            self._clients = AzureClients(self._credential, endpoint, pool_size=self.options.workers)
            self._refresher = AzureRefresher(self._clients, workers=self.options.workers)
        return self._refresher

    def _rescan_subscriptions(self, request: RefreshRequest) -> list[RefreshOutcome]:
        """Collect the subscriptions of resource group events again, as whole units of every service."""
        from dataclasses import replace

        from ridgeline.model.scan import Completeness
        from ridgeline.providers.azure.catalog import service_of
        from ridgeline.providers.azure.scanner import collect_azure

        ids = [resource_id for ids in request.targets.values() for resource_id in ids]
        subscriptions = sorted({resource_id.split("/")[2].lower() for resource_id in ids
                                if resource_id.lower().startswith("/subscriptions/") and resource_id.count("/") >= 2})
        logger.info("subscription(s) %s: %d event(s) name no single resource (%s); collecting the subscription(s) "
                    "again whole", ", ".join(subscriptions), len(ids), ", ".join(sorted(ids)[:5]))
        if not subscriptions:
            return []
        try:
            collection = collect_azure(replace(self.options, subscriptions=subscriptions, management_group=None),
                                       credential=self._credential)
        except ScanSetupError as error:
            logger.warning("subscription(s) %s could not be collected again: %s", ", ".join(subscriptions), error)
            return [_failed(request, str(error))]
        self._api_calls += collection.api_calls
        failed = [unit for unit in collection.coverage if unit.status is Completeness.FAILED]
        if failed:
            reason = "; ".join(error.describe() for unit in failed for error in unit.errors[:1]) or "collection failed"
            return [_failed(request, f"{len(failed)} unit(s) failed: {reason}")]

        by_unit: dict[tuple[str, str], list[Resource]] = {}
        for resource in collection.resources:
            by_unit.setdefault((resource.account, service_of(resource.type) or ""), []).append(resource)
        return [RefreshOutcome(request=RefreshRequest(service=unit.service, region=unit.region, targets={}),
                               coverage=unit, resources=by_unit.get((unit.account, unit.service), []),
                               whole_unit=True)
                for unit in collection.coverage]

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        """Return the (service, "global") unit of a type; resource groups collect their subscription again."""
        if type_name.lower() == RESOURCE_GROUP_TYPE.lower():
            return SUBSCRIPTION_RESCAN, "global"
        service = self._units.get(type_name)
        return (service, "global") if service else None

    def service_types(self, service: str) -> tuple[str, ...]:
        """Return the catalogue types the scan reads for a service."""
        return self._services.get(service, ())

    def carried(self, resource: Resource, previous: Resource | None) -> Resource:
        """Azure events carry no resources."""
        return resource

    @property
    def api_calls(self) -> int:
        """Requests made by the full scans and the refreshes so far."""
        return self._api_calls + (self._clients.recorder.total if self._clients is not None else 0)

    def close(self) -> None:
        """Close the refresh clients; each full scan closes its own."""
        if self._clients is not None:
            self._clients.close()


def _failed(request: RefreshRequest, reason: str) -> RefreshOutcome:
    from ridgeline.model.scan import Completeness, Coverage

    coverage = Coverage(provider="azure", account="", region="global", service=request.service,
                        status=Completeness.FAILED)
    return RefreshOutcome(request=request, coverage=coverage, failure=reason)


PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"


class GcpBackend:
    """GCP projects, through the live GCP scan; Cloud Asset Inventory feed messages carry the new states.

    A feed asset becomes a resource through the importer, which names its project by number when the
    asset has no project id. The scan names projects by id, so `carried` puts the scan's account on it.
    The scan also reads settings that Cloud Asset Inventory lacks (catalog.py `supplementary`), which a
    feed asset does not carry, so `carried` keeps the values of the last scan for those.
    """

    provider = "gcp"
    supports_refresh = False

    def __init__(self, options: Any) -> None:
        self.options = options
        self.accounts: list[str] = list(options.projects or ())
        self.regions: list[str] = []
        self._api_calls = 0
        self._ids_by_number: dict[str, str] = {}

    def full_scan(self) -> Collection:
        """Collect every project in scope."""
        from ridgeline.providers.gcp.scanner import collect_gcp

        collection = collect_gcp(self.options)
        self.accounts = sorted(set(self.accounts) | set(collection.accounts))
        self.regions = collection.regions
        self._api_calls += collection.api_calls
        for resource in collection.resources:
            if resource.type == PROJECT_TYPE:
                number = resource.configuration.get("projectNumber")
                project_id = resource.configuration.get("projectId")
                if number and project_id:
                    self._ids_by_number[str(number)] = str(project_id)
        return collection

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Feed messages carry their resources; nothing is collected again."""
        raise NotImplementedError("GCP feed messages carry the new state; nothing is collected again")

    def unit_of(self, type_name: str, region: str) -> tuple[str, str] | None:
        """GCP changes are applied from the feed, not collected by unit."""
        return None

    def service_types(self, service: str) -> tuple[str, ...]:
        """GCP changes are applied from the feed, not collected by unit."""
        return ()

    def carried(self, resource: Resource, previous: Resource | None) -> Resource:
        """Put the scan's project id and the settings the feed lacks on a feed resource."""
        if previous is not None:
            resource.account = previous.account
            if not resource.configuration:
                # An IAM_POLICY feed asset has no resource part: the resource data stays as collected.
                resource.configuration = previous.configuration
                resource.tags = previous.tags
            for key, value in previous.supplementary.items():
                resource.supplementary.setdefault(key, value)
            for path, reason in previous.errors.items():
                key = path.removeprefix("supplementaryConfiguration.").split(".", 1)[0]
                if path.startswith("supplementaryConfiguration.") and key not in resource.supplementary:
                    resource.errors.setdefault(path, reason)
        else:
            resource.account = self._ids_by_number.get(resource.account, resource.account)
        return resource

    @property
    def api_calls(self) -> int:
        """Requests made by the full scans so far."""
        return self._api_calls

    def close(self) -> None:
        """Do nothing: each scan closes its own clients."""
