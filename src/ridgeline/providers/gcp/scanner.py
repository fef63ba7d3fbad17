"""Collection of GCP projects, a folder or an organization through Cloud Asset Inventory.

The coverage unit is (project id, "global", service). Steps:
1. get Application Default Credentials (optionally impersonating a service account) and check the token;
2. resolve the scope: each --project through Resource Manager's projects.get, or one folder or organization;
3. for each Cloud Asset Inventory parent (each project, or the folder or organization) list the
   catalogue's asset types twice, with content types RESOURCE and IAM_POLICY, and merge both per asset
   name with the importer's envelope builder;
4. list the folders and organization above the collected resources that the scope left out (the
   ancestors of a project scope), with their IAM policies and the hierarchical firewall policies under
   them, because projects inherit both;
5. on a thread pool, read the supplementary settings that Cloud Asset Inventory lacks (catalog.py).
A failed RESOURCE listing fails every type of the parent's projects, so every rule reports ERROR for
them. A failed IAM_POLICY listing or supplementary read marks one path of the resources unknown. An
ancestor that cannot be listed is left out, like an ancestor a project-only export lacks, so rules that
need what it passes down report ERROR. Nothing that could not be read becomes an empty value.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from google.cloud import asset_v1

from ridgeline.imports.gcp_cai import ANCESTORS_KEY, UNKNOWN_PROJECT, resources_from_assets
from ridgeline.imports.report import ImportReport
from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.providers.gcp import catalog
from ridgeline.providers.gcp import credentials as gcp_credentials
from ridgeline.providers.gcp.calls import GET_PROJECT, LIST_IAM_POLICIES, LIST_RESOURCES, CallRecorder
from ridgeline.providers.gcp.clients import GcpEndpoints, RestReader, RetrySettings
from ridgeline.providers.gcp.errors import GcpCallFailed, service_disabled_message
from ridgeline.providers.gcp.inventory import Listing, asset_client, list_assets
from ridgeline.providers.gcp.supplementary import CONTACTS_PAGE_SIZE, PROJECT_TYPE, READS_BY_KEY, SupplementaryRead

logger = logging.getLogger(__name__)

SOURCE = "api"

CONTAINER_SERVICE = "organization"
"""The only service with a coverage unit for an organization or folder: the one whose types they are
(organizations, folders, hierarchical firewall policies)."""

NOT_READ_REASON = "not read by the live GCP scan (no supplementary read is defined for this key)"

# Catalogue types whose IAM policy Cloud Asset Inventory reports as IAM_POLICY content. IAM_POLICY
# listings hold only assets with a policy set, so after a complete listing an asset of these types without
# one has no policy of its own: it gets an empty policy, which grants nothing.
# NOTE: the set lists the types with IAM_POLICY assets in Cloud Asset Inventory exports. A type outside it
# keeps no iamPolicy when none is listed, so rules reading the policy report ERROR for it.
IAM_POLICY_TYPES = frozenset({
    "cloudresourcemanager.googleapis.com/Organization",
    "cloudresourcemanager.googleapis.com/Folder",
    "cloudresourcemanager.googleapis.com/Project",
    "iam.googleapis.com/ServiceAccount",
    "cloudkms.googleapis.com/KeyRing",
    "cloudkms.googleapis.com/CryptoKey",
    "storage.googleapis.com/Bucket",
    "bigquery.googleapis.com/Dataset",
    "dataproc.googleapis.com/Cluster",
})

# Project ids: 6 to 30 lower-case letters, digits and hyphens, starting with a letter; older projects of
# Google Workspace domains carry a "domain:" prefix. Organization, folder and project numbers are decimal.
_PROJECT_ID = re.compile(r"^(?:[a-z0-9][a-z0-9.-]{0,61}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_NUMBER = re.compile(r"^[0-9]{1,20}$")
_CONTAINER_IN_NAME = re.compile(r"^//[^/]+/((?:organizations|folders)/[^/]+)")
_CONTAINER_ACCOUNT = re.compile(r"^(?:organizations|folders)/")
_CONTAINER_NODE = re.compile(r"^(organizations|folders)/[0-9]+$")

CONTAINER_TYPES = {"organizations": "cloudresourcemanager.googleapis.com/Organization",
                   "folders": "cloudresourcemanager.googleapis.com/Folder"}
FIREWALL_POLICY_TYPE = "compute.googleapis.com/FirewallPolicy"

ProgressCallback = Callable[[int, int], None]
"""Called as `callback(done, total)` as the supplementary reads finish."""


@dataclass(slots=True)
class GcpScanOptions:
    """Options of a GCP scan: scope, impersonation, endpoints, paging, retries and concurrency."""

    projects: Sequence[str] | None = None
    """Project ids (or numbers); with no scope at all, the ADC project is scanned."""

    organization: str | None = None
    """Organization number: scan everything under it (not with `projects` or `folder`)."""

    folder: str | None = None
    """Folder number: scan everything under it (not with `projects` or `organization`)."""

    impersonate_service_account: str | None = None
    endpoints: GcpEndpoints | None = None
    """API endpoints; None means the public ones, overridden by the RIDGELINE_GCP_*ENDPOINT variables."""

    workers: int = 8
    page_size: int = 1000
    """Assets per ListAssets page (at most 1000)."""

    retry: RetrySettings = field(default_factory=RetrySettings)
    timeout_s: float = 60.0
    """Timeout of one HTTP request."""


@dataclass(frozen=True, slots=True)
class Project:
    """A project of the scope: its id, its number and its lifecycle state as Resource Manager reports them."""

    id: str
    number: str = ""
    state: str = ""


@dataclass(frozen=True, slots=True)
class Scope:
    """The parents the scan lists through Cloud Asset Inventory: projects, or one folder or organization."""

    projects: tuple[str, ...] = ()
    container: str = ""
    """"organizations/N" or "folders/N"; "" for a project scope."""


def is_container(account: str) -> bool:
    """Tell whether an account is an organization or folder ("organizations/N", "folders/N"), not a project."""
    return bool(_CONTAINER_ACCOUNT.match(account))


def scanned_services() -> dict[str, tuple[str, ...]]:
    """Return each catalogue service with its asset types: the live scan covers all of them."""
    return catalog.services()


class ScanState:
    """Resources and coverage units of one scan, shared by the worker threads."""

    def __init__(self, collected_at: str) -> None:
        self.collected_at = collected_at
        self.resources: list[Resource] = []
        self.units: dict[tuple[str, str], Coverage] = {}
        self.ids_by_number: dict[str, str] = {}
        """Project number -> project id, from projects.get and from the Project assets."""

        self._lock = threading.Lock()
        self._services = scanned_services()

    def add_project(self, project_id: str) -> None:
        """Create the units of a project, one per catalogue service."""
        for service in self._services:
            self.units.setdefault((project_id, service), Coverage(provider="gcp", account=project_id,
                                                                  region="global", service=service))

    def add_container(self, account: str) -> None:
        """Create the unit of an organization or folder ("organizations/N"), which counts only its own asset."""
        self.units.setdefault((account, CONTAINER_SERVICE), Coverage(provider="gcp", account=account,
                                                                     region="global", service=CONTAINER_SERVICE))

    def accounts(self) -> list[str]:
        """Return the accounts with units, in order of creation."""
        return list(dict.fromkeys(account for account, _service in self.units))

    def unit_of(self, account: str, type_name: str) -> Coverage | None:
        """Return the unit of a type in an account; None when the account or the type has none."""
        service = catalog.service_of(type_name)
        return self.units.get((account, service)) if service is not None else None

    def add(self, resource: Resource) -> None:
        """Record a collected resource and count it in its unit."""
        unit = self.unit_of(resource.account, resource.type)
        with self._lock:
            self.resources.append(resource)
            if unit is not None:
                unit.resource_counts[resource.type] = unit.resource_counts.get(resource.type, 0) + 1

    def fail_listing(self, accounts: Iterable[str], reason: str, error: CallError) -> None:
        """Mark every type of every unit of `accounts` as not listed, because the inventory listing failed."""
        wanted = set(accounts)
        with self._lock:
            for (account, service), unit in self.units.items():
                if account not in wanted:
                    continue
                for type_name in self._services[service]:
                    unit.failed_types.setdefault(type_name, reason)
                unit.errors.append(error)
                unit.status = Completeness.FAILED
        logger.warning("cannot list the assets of %s: %s", ", ".join(sorted(wanted)), reason)

    def mark_partial(self, accounts: Iterable[str], error: CallError) -> None:
        """Record a failed call that left part of the units of `accounts` unknown."""
        wanted = set(accounts)
        with self._lock:
            for (account, _service), unit in self.units.items():
                if account in wanted:
                    unit.errors.append(error)
                    if unit.status is Completeness.COMPLETE:
                        unit.status = Completeness.PARTIAL

    def detail_failed(self, resource: Resource, path: str, reason: str, error: CallError) -> None:
        """Mark `path` of `resource` unknown with `reason`; the resource's unit becomes partial."""
        unit = self.unit_of(resource.account, resource.type)
        with self._lock:
            resource.errors[path] = reason
            if unit is not None:
                unit.errors.append(error)
                if unit.status is Completeness.COMPLETE:
                    unit.status = Completeness.PARTIAL
        logger.warning("%s %s: %s is unknown: %s", resource.account, resource.id, path, reason)

    def finish(self, duration_s: float) -> list[Coverage]:
        """Close the units; sorted by account and service."""
        for unit in self.units.values():
            unit.duration_s = duration_s
        return sorted(self.units.values(), key=lambda unit: (unit.account, unit.service))


def collect_gcp(options: GcpScanOptions, *, credentials: gcp_credentials.GcpCredentials | None = None,
                recorder: CallRecorder | None = None, progress: ProgressCallback | None = None) -> Collection:
    """Collect the projects in scope; raise ScanSetupError when the scan cannot start."""
    started = time.monotonic()
    scope = _validate(options)
    try:
        endpoints = (options.endpoints or GcpEndpoints.from_environment()).validated()
    except ValueError as error:
        raise ScanSetupError(str(error)) from error

    impersonating = bool(options.impersonate_service_account)
    try:
        if credentials is None:
            credentials = gcp_credentials.build_credentials(options.impersonate_service_account)
        gcp_credentials.check_token(credentials.credentials, impersonating=impersonating)
    except gcp_credentials.CredentialSetupError as error:
        raise ScanSetupError(str(error)) from error
    scope = _default_scope(scope, credentials.project)

    recorder = recorder or CallRecorder()
    state = ScanState(datetime.now(UTC).isoformat(timespec="seconds"))
    reader = RestReader(credentials.credentials, recorder=recorder, retry=options.retry, timeout_s=options.timeout_s,
                        pool_size=options.workers)
    client = asset_client(credentials.credentials, endpoints.cloudasset)
    try:
        with ThreadPoolExecutor(options.workers, thread_name_prefix="gcp") as pool:
            if scope.container:
                logger.info("scanning %s through %s", scope.container, endpoints.cloudasset)
                _collect_container(client, state, scope.container, options, recorder)
            else:
                projects = _resolve_projects(pool, reader, endpoints, scope.projects)
                logger.info("scanning %d project(s) through %s", len(projects), endpoints.cloudasset)
                _collect_projects(pool, client, state, projects, options, recorder)
            _collect_ancestors(pool, client, state, options, recorder)
            _read_supplementary(pool, reader, endpoints, state, options.page_size, progress)
    finally:
        reader.close()
        client.transport.close()  # type: ignore[no-untyped-call]

    duration = time.monotonic() - started
    # Organizations and folders count as accounts too, so the finding life cycle follows their findings.
    accounts = sorted(state.accounts())
    project_ids = [account for account in accounts if not is_container(account)]
    collection = Collection(
        provider="gcp",
        accounts=accounts,
        regions=sorted({resource.region for resource in state.resources if resource.region != "global"}),
        resources=state.resources,
        coverage=state.finish(duration),
        api_calls=recorder.total,
        duration_s=duration,
    )
    logger.info("collected %d resource(s) from %d project(s) with %d request(s) in %.1fs",
                len(collection.resources), len(project_ids), collection.api_calls, duration)
    return collection


# Scope -----------------------------------------------------------------------------------------------

def _validate(options: GcpScanOptions) -> Scope:
    projects = [project.strip() for project in options.projects or () if project.strip()]
    given = [name for name, value in (("--project", projects), ("--organization", options.organization),
                                      ("--folder", options.folder)) if value]
    if len(given) > 1:
        raise ScanSetupError(f"give only one of --project, --organization and --folder (got {' and '.join(given)})")
    malformed = [project for project in projects if not (_PROJECT_ID.match(project) or _NUMBER.match(project))]
    if malformed:
        raise ScanSetupError(f"invalid project id(s) {', '.join(malformed)}: expected 6 to 30 lower-case letters, "
                             "digits or hyphens starting with a letter (such as my-project-123), or a project number")
    if options.workers < 1 or not 1 <= options.page_size <= 1000:
        raise ScanSetupError(f"invalid workers {options.workers} or page size {options.page_size}: expected at least "
                             "1 worker and 1 to 1000 assets per page")
    for kind, value in (("organizations", options.organization), ("folders", options.folder)):
        if value:
            number = value.strip().removeprefix(f"{kind}/")
            if not _NUMBER.match(number):
                raise ScanSetupError(f"invalid {kind[:-1]} id {value!r}: expected its number, such as 123456789012")
            return Scope(container=f"{kind}/{number}")
    return Scope(projects=tuple(dict.fromkeys(projects)))


def _default_scope(scope: Scope, adc_project: str | None) -> Scope:
    if scope.projects or scope.container:
        return scope
    if not adc_project:
        raise ScanSetupError("no scope given, and the Application Default Credentials name no project; give "
                             "--project, --organization or --folder")
    logger.info("no scope given: scanning the ADC project %s", adc_project)
    return Scope(projects=(adc_project,))


def _resolve_projects(pool: ThreadPoolExecutor, reader: RestReader, endpoints: GcpEndpoints,
                      requested: Sequence[str]) -> list[Project]:
    """Return the requested projects as Resource Manager returns them; raise ScanSetupError for one it does not."""
    futures = [pool.submit(_get_project, reader, endpoints, project) for project in requested]
    projects: dict[str, Project] = {}
    for future in futures:
        project = future.result()
        projects.setdefault(project.id, project)
    return list(projects.values())


def _get_project(reader: RestReader, endpoints: GcpEndpoints, requested: str) -> Project:
    url = f"{endpoints.resourcemanager}/v3/projects/{quote(requested, safe=':')}"
    try:
        body = reader.get(GET_PROJECT, url, resource_id=f"projects/{requested}")
    except GcpCallFailed as failure:
        if failure.kind == "service-disabled":
            raise ScanSetupError(f"cannot check project {requested}: {service_disabled_message(failure)}") from failure
        if failure.kind in ("access-denied", "not-found"):
            raise ScanSetupError(f"project {requested} not found or not readable with this credential "
                                 f"({failure.code}: {failure.message}); check the id, and grant the scanning identity "
                                 "resourcemanager.projects.get on it (roles/browser has it)") from failure
        raise ScanSetupError(f"cannot check project {requested}: {failure.describe()}") from failure

    project = Project(id=str(body.get("projectId") or requested),
                      number=str(body.get("name") or "").removeprefix("projects/"), state=str(body.get("state") or ""))
    if project.state and project.state != "ACTIVE":
        logger.warning("project %s is in state %s; scanning it anyway", project.id, project.state)
    return project


# Inventory -------------------------------------------------------------------------------------------

def _list_both(client: asset_v1.AssetServiceClient, parent: str, options: GcpScanOptions,
               recorder: CallRecorder) -> tuple[Listing, Listing]:
    return _list_pair(client, parent, [entry.name for entry in catalog.TYPES], options, recorder)


def _list_pair(client: asset_v1.AssetServiceClient, parent: str, types: Sequence[str], options: GcpScanOptions,
               recorder: CallRecorder) -> tuple[Listing, Listing]:
    """List `types` under `parent` twice, with content types RESOURCE and IAM_POLICY."""
    resources = list_assets(client, LIST_RESOURCES, parent, types, page_size=options.page_size, retry=options.retry,
                            timeout_s=options.timeout_s, recorder=recorder)
    policies = list_assets(client, LIST_IAM_POLICIES, parent, types, page_size=options.page_size,
                           retry=options.retry, timeout_s=options.timeout_s, recorder=recorder)
    return resources, policies


def _collect_projects(pool: ThreadPoolExecutor, client: asset_v1.AssetServiceClient, state: ScanState,
                      projects: Sequence[Project], options: GcpScanOptions, recorder: CallRecorder) -> None:
    for project in projects:
        state.add_project(project.id)
        if project.number:
            state.ids_by_number[project.number] = project.id
    futures = {project: pool.submit(_list_both, client, f"projects/{project.id}", options, recorder)
               for project in projects}

    for project, future in futures.items():
        resources, policies = future.result()
        parent = f"projects/{project.id}"
        if resources.failure is not None:
            state.fail_listing([project.id], _listing_reason(resources.failure, parent),
                               _listing_error(resources.failure, parent))
        for resource in _envelopes(resources, policies, state, project=project.id):
            state.add(resource)
        if policies.failure is not None:
            _policies_unknown(state, [project.id], policies.failure, parent)


def _collect_container(client: asset_v1.AssetServiceClient, state: ScanState, container: str,
                       options: GcpScanOptions, recorder: CallRecorder) -> None:
    resources, policies = _list_both(client, container, options, recorder)
    if resources.failure is not None and not resources.assets:
        raise ScanSetupError(f"cannot list the assets of {container}: {_listing_reason(resources.failure, container)}")

    for asset in resources.assets:
        project = _project_ids(asset)
        if project is not None:
            state.ids_by_number[project[1]] = project[0]
    envelopes = _envelopes(resources, policies, state, project=None)

    state.add_container(container)
    for project_id in state.ids_by_number.values():
        state.add_project(project_id)
    for resource in envelopes:
        if is_container(resource.account):
            state.add_container(resource.account)
        elif resource.account != UNKNOWN_PROJECT:
            state.add_project(resource.account)
    for resource in envelopes:
        state.add(resource)

    accounts = state.accounts()
    if resources.failure is not None:
        state.fail_listing(accounts, _listing_reason(resources.failure, container),
                           _listing_error(resources.failure, container))
    if policies.failure is not None:
        _policies_unknown(state, accounts, policies.failure, container)


def _envelopes(resources: Listing, policies: Listing, state: ScanState, *, project: str | None) -> list[Resource]:
    """Merge the RESOURCE and IAM_POLICY assets of one parent into envelopes, with the account of each."""
    names = {asset.get("name") for asset in resources.assets}
    # An asset with a policy but no resource content was deleted between the listings. An envelope of it
    # would have an empty configuration, so it is left out.
    matched = [asset for asset in policies.assets if asset.get("name") in names]
    if len(matched) < len(policies.assets):
        logger.debug("%d IAM policy asset(s) without resource content left out", len(policies.assets) - len(matched))
    accounts = {str(asset.get("name")): _asset_account(asset, project, state.ids_by_number)
                for asset in resources.assets}

    report = ImportReport()
    envelopes = list(resources_from_assets([*resources.assets, *matched], SOURCE, report))
    # Organizations and folders are reported as assets "without a project"; their account is set below.
    for issue in report.errors:
        logger.debug("inventory: %s", issue.describe())

    for resource in envelopes:
        resource.account = accounts.get(resource.id) or _fallback_account(resource, state.ids_by_number)
        resource.collected_at = state.collected_at
        if policies.failure is None and resource.type in IAM_POLICY_TYPES:
            resource.supplementary.setdefault("iamPolicy", {})
    return envelopes


def _asset_account(asset: dict[str, Any], project: str | None, ids_by_number: dict[str, str]) -> str | None:
    """Return the account of an asset: the scanned project, else its closest ancestor (itself for containers)."""
    if project is not None:
        # ListAssets on projects/ID returns only that project's assets.
        return project
    ancestors = [item for item in asset.get("ancestors") or () if isinstance(item, str)]
    if not ancestors:
        return None
    closest = ancestors[0]
    if closest.startswith("projects/"):
        number = closest.removeprefix("projects/")
        return ids_by_number.get(number, number)
    return closest


def _fallback_account(resource: Resource, ids_by_number: dict[str, str]) -> str:
    """Return the account of an envelope whose asset had no ancestors, from the importer's choice."""
    if resource.account == UNKNOWN_PROJECT:
        match = _CONTAINER_IN_NAME.match(resource.id)
        if match:
            return match.group(1)
    return ids_by_number.get(resource.account, resource.account)


def _project_ids(asset: dict[str, Any]) -> tuple[str, str] | None:
    """Return (project id, project number) of a Project asset; None for other assets."""
    if asset.get("assetType") != PROJECT_TYPE:
        return None
    data = (asset.get("resource") or {}).get("data") or {}
    project_id, number = data.get("projectId"), data.get("projectNumber")
    if isinstance(project_id, str) and project_id and isinstance(number, str | int) and str(number):
        return project_id, str(number)
    return None


def _listing_reason(failure: GcpCallFailed, parent: str) -> str:
    if failure.kind == "service-disabled":
        return service_disabled_message(failure)
    if failure.kind == "access-denied":
        return (f"{failure.describe()}; grant roles/cloudasset.viewer, or the role of `ridgeline permissions gcp`, "
                f"on {parent}")
    return failure.describe()


def _listing_error(failure: GcpCallFailed, parent: str) -> CallError:
    # For a failed unit the engine shows the unit's errors, so the message carries the fix.
    message = _listing_reason(failure, parent) if failure.kind == "service-disabled" else failure.message
    return CallError(call=failure.call.permission, code=failure.code, message=message, resource_id=parent)


def _policies_unknown(state: ScanState, accounts: Sequence[str], failure: GcpCallFailed, parent: str) -> None:
    """Mark the IAM policy unknown on every resource of `accounts` whose policy was not read."""
    reason = _listing_reason(failure, parent)
    wanted = set(accounts)
    for resource in state.resources:
        if resource.account in wanted and "iamPolicy" not in resource.supplementary:
            resource.errors["supplementaryConfiguration.iamPolicy"] = reason
    state.mark_partial(accounts, _listing_error(failure, parent))
    logger.warning("cannot list the IAM policies of %s: %s", parent, reason)


# Ancestors -------------------------------------------------------------------------------------------

def _collect_ancestors(pool: ThreadPoolExecutor, client: asset_v1.AssetServiceClient, state: ScanState,
                       options: GcpScanOptions, recorder: CallRecorder) -> None:
    """Add the folders and organization above the collected resources that the scope did not list.

    Each one is listed with ListAssets under itself, for its own type and compute.googleapis.com/FirewallPolicy,
    with both content types. That reads its IAM policy (with the audit configs that projects inherit)
    with the calls and permissions of the inventory listing, and the hierarchical firewall policies
    created under it. Only the policies attached to an ancestor are kept. An ancestor is added only when
    both listings succeed. A failure leaves it out and makes the units of the accounts below it partial,
    so the rules that need it report ERROR instead of judging the accounts on their own settings.
    """
    present = {resource.id for resource in state.resources}
    below: dict[str, set[str]] = {}
    for resource in state.resources:
        for ancestor in resource.supplementary.get(ANCESTORS_KEY) or ():
            if isinstance(ancestor, str) and _CONTAINER_NODE.match(ancestor):
                below.setdefault(ancestor, set()).add(resource.account)
    missing = [node for node in below if f"//cloudresourcemanager.googleapis.com/{node}" not in present]
    if not missing:
        return

    logger.info("reading %d ancestor(s) that the scope does not contain: %s", len(missing), ", ".join(missing))
    futures = {node: pool.submit(_list_pair, client, node, [CONTAINER_TYPES[node.split("/", 1)[0]],
                                                            FIREWALL_POLICY_TYPE], options, recorder)
               for node in missing}
    nodes = set(below)
    for node, future in futures.items():
        resources, policies = future.result()
        failure = resources.failure or policies.failure
        if failure is not None:
            _ancestor_unreadable(state, node, sorted(below[node]), failure)
            continue

        own_name = f"//cloudresourcemanager.googleapis.com/{node}"
        kept = [asset for asset in resources.assets if asset.get("name") == own_name
                or (asset.get("name") not in present and _attached_to(asset, nodes))]
        if not any(asset.get("name") == own_name for asset in kept):
            _ancestor_unreadable(state, node, sorted(below[node]), GcpCallFailed(
                LIST_RESOURCES, "NOT_FOUND", f"the listing of {node} did not return {node} itself", resource_id=node))
            continue
        listed = Listing(assets=kept)
        envelopes = _envelopes(listed, policies, state, project=None)
        state.add_container(node)
        for resource in envelopes:
            present.add(resource.id)
            state.add(resource)


def _attached_to(asset: dict[str, Any], nodes: set[str]) -> bool:
    """Tell whether an asset is a hierarchical firewall policy associated with one of `nodes`."""
    if asset.get("assetType") != FIREWALL_POLICY_TYPE:
        return False
    data = (asset.get("resource") or {}).get("data") or {}
    associations = data.get("associations") if isinstance(data, dict) else None
    return any(isinstance(item, dict) and item.get("attachmentTarget") in nodes for item in associations or ())


def _ancestor_unreadable(state: ScanState, node: str, accounts: Sequence[str], failure: GcpCallFailed) -> None:
    """Record that an ancestor could not be listed, on the units of the accounts below it."""
    reason = f"not assessed: ancestor {node} unreadable: {_listing_reason(failure, node)}"
    error = CallError(call=failure.call.permission, code=failure.code, message=reason, resource_id=node)
    state.mark_partial(accounts, error)
    logger.warning("%s; rules that need what %s passes down to %s report ERROR", reason, node, ", ".join(accounts))


# Supplementary settings ------------------------------------------------------------------------------

def _read_supplementary(pool: ThreadPoolExecutor, reader: RestReader, endpoints: GcpEndpoints, state: ScanState,
                        page_size: int, progress: ProgressCallback | None) -> None:
    """Read every catalogue supplementary key of every collected resource on the pool."""
    futures: list[Future[None]] = []
    for resource in list(state.resources):
        entry = catalog.TYPES_BY_NAME.get(resource.type)
        for key, source in (entry.supplementary if entry is not None else {}).items():
            read = READS_BY_KEY.get((resource.type, key))
            path = f"supplementaryConfiguration.{key}"
            if read is None:
                error = CallError(call=source, code="NotRead", message=NOT_READ_REASON, resource_id=resource.id)
                state.detail_failed(resource, path, NOT_READ_REASON, error)
                continue
            futures.append(pool.submit(_read_one, reader, endpoints, state, read, resource,
                                       min(page_size, CONTACTS_PAGE_SIZE)))

    for done, future in enumerate(futures, start=1):
        # A read's own failures are recorded in the state; anything raised here is a programming error.
        future.result()
        if progress is not None:
            progress(done, len(futures))


def _read_one(reader: RestReader, endpoints: GcpEndpoints, state: ScanState, read: SupplementaryRead,
              resource: Resource, page_size: int) -> None:
    path = f"supplementaryConfiguration.{read.key}"
    try:
        value = read.read(reader, endpoints, resource, page_size)
    except GcpCallFailed as failure:
        reason = (service_disabled_message(failure) if failure.kind == "service-disabled"
                  else f"{failure.code} on {failure.call.permission}: {failure.message}")
        state.detail_failed(resource, path, reason, failure.to_error())
        return
    resource.supplementary[read.key] = value
