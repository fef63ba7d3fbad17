"""Entra ID settings of an Azure scan, read through Microsoft Graph with the scan's credential.

The coverage unit is (tenant id, "global", "entra"), one per tenant of the scanned subscriptions. Two reads
(`GRAPH_READS` in declarations.py): the security defaults policy (one object) and the authentication
methods registration report (userRegistrationDetails, one row per user, paged with `@odata.nextLink`).
Both are documented in Graph v1.0. Microsoft Graph authorises them with Graph permissions, not Azure
RBAC, so a Reader role is not enough: a read refused with 401 or 403 marks its type failed with the
permission to grant, and the rules on it report ERROR. The envelope is the one of the file importer:
`account` is the tenant id, the region "global" and `configuration` the Graph object as returned.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.rest import HttpRequest

from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.providers.aws.scanner import ScanSetupError
from ridgeline.providers.azure.calls import AzureCall, AzureCallFailed, CallRecorder
from ridgeline.providers.azure.clients import (
    MAX_PAGES,
    PUBLIC_CLOUD_ENDPOINT,
    AzureClients,
    bearer_client,
    get_json,
    token_scope,
)
from ridgeline.providers.azure.credentials import TenantCredential
from ridgeline.providers.azure.declarations import DELEGATED_ROLES, GRAPH_READS, GraphRead

logger = logging.getLogger(__name__)

SERVICE = "entra"

GRAPH_ENDPOINT_ENV = "RIDGELINE_AZURE_GRAPH_ENDPOINT"
"""Environment variable naming another Microsoft Graph endpoint (a national cloud, or a test server)."""

PUBLIC_GRAPH_ENDPOINT = "https://graph.microsoft.com"

# The Graph endpoint of each national cloud's Resource Manager endpoint. US Government L5 (DoD) shares
# its Resource Manager endpoint with L4 but has its own Graph endpoint (dod-graph.microsoft.us), so DoD
# tenants set $RIDGELINE_AZURE_GRAPH_ENDPOINT.
GRAPH_OF_ARM_ENDPOINT = {
    PUBLIC_CLOUD_ENDPOINT: PUBLIC_GRAPH_ENDPOINT,
    "https://management.usgovcloudapi.net": "https://graph.microsoft.us",
    "https://management.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn",
}


def resolve_graph_endpoint(arm_endpoint: str, graph_endpoint: str | None) -> str | None:
    """Return the Graph endpoint: the option, $RIDGELINE_AZURE_GRAPH_ENDPOINT, or the one of a known cloud.

    Returns None for a Resource Manager endpoint of no known cloud (Azure Stack, a test server): the
    scan must not send that tenant's token to the public Graph. Raises ScanSetupError when not HTTPS.
    """
    endpoint = (graph_endpoint or os.environ.get(GRAPH_ENDPOINT_ENV)
                or GRAPH_OF_ARM_ENDPOINT.get(arm_endpoint.rstrip("/")))
    if endpoint is None:
        return None
    endpoint = endpoint.rstrip("/")
    if not endpoint.startswith("https://"):
        raise ScanSetupError(f"invalid Microsoft Graph endpoint {endpoint!r}: it must start with https://")
    return endpoint


class GraphReader:
    """GET requests to Microsoft Graph for one tenant, through the azure-core pipeline of the scan."""

    def __init__(self, client: PipelineClient[HttpRequest, Any], endpoint: str, recorder: CallRecorder) -> None:
        self._client = client
        self._endpoint = endpoint
        self._host = urlsplit(endpoint).netloc.lower()
        self._recorder = recorder

    def get(self, read: GraphRead) -> Any:
        """Return the JSON object of a single-object read; raise AzureCallFailed on any failure."""
        body = self._get_url(read.call, f"{self._endpoint}{read.path}")
        if not isinstance(body, dict):
            raise AzureCallFailed(read.call, "UnexpectedResponse", "the response is not a JSON object")
        return body

    def list(self, read: GraphRead) -> Iterator[Any]:
        """Yield every item of a paged Graph collection, following `@odata.nextLink` on the same host."""
        call = read.call
        body = self._get_url(call, f"{self._endpoint}{read.path}")
        for _page in range(MAX_PAGES):
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise AzureCallFailed(call, "UnexpectedResponse", "the list response has no `value` array")
            yield from body["value"]
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return
            # The bearer token goes with every request: never follow a link to another host.
            if not isinstance(next_link, str) or urlsplit(next_link).netloc.lower() != self._host:
                raise AzureCallFailed(call, "UnexpectedNextLink",
                                      f"@odata.nextLink points to another host: {str(next_link)[:200]}")
            body = self._get_url(call, next_link)
        raise AzureCallFailed(call, "TooManyPages", f"more than {MAX_PAGES} pages")

    def _get_url(self, call: AzureCall, url: str) -> Any:
        return get_json(self._client, self._recorder, call, url)


def graph_reader(clients: AzureClients, credential: TokenCredential, endpoint: str, tenant: str) -> GraphReader:
    """Return a reader whose tokens are for `tenant` and Graph (`<endpoint>/.default`), sharing the scan's pool."""
    # The token must be for the tenant the objects are recorded under, which can differ from the
    # credential's home tenant (a guest sign-in). A credential not allowed in that tenant fails the read.
    scoped = TenantCredential(credential, tenant)
    client = bearer_client(scoped, token_scope(endpoint), endpoint, clients.transport)
    return GraphReader(client, endpoint, clients.recorder)


def graph_envelope(item: dict[str, Any], read: GraphRead, tenant: str, collected_at: str) -> Resource:
    """Return the envelope of one Graph object, as the file importer builds it (account = tenant id)."""
    identity = str(item.get("id") or "")
    name = next((value for key in ("name", "displayName", "userPrincipalName")
                 if isinstance(value := item.get(key), str) and value), identity)
    return Resource(provider="azure", account=tenant, region="global", type=read.type, id=identity, name=name,
                    configuration=dict(item), collected_at=collected_at)


def denied_hint(read: GraphRead) -> str:
    """Return the next step after Graph refused `read`: the permission to grant."""
    return (f"grant the scan's identity the Microsoft Graph permission {read.permission} (an application "
            f"permission with admin consent; a signed-in user needs the delegated permission and an Entra "
            f"role such as {DELEGATED_ROLES})")


def collect_entra(clients: AzureClients, credential: TokenCredential, endpoint: str | None,
                  tenants: Sequence[str], collected_at: str,
                  unknown_reason: str = "") -> tuple[list[Resource], list[Coverage]]:
    """Read the Graph types for each tenant; return the resources and one coverage unit per tenant.

    With no endpoint, or an `unknown_reason` (the tenant id is unknown), every unit is FAILED with the
    reason, so the entra rules report ERROR rather than nothing.
    """
    resources: list[Resource] = []
    units: list[Coverage] = []
    for tenant in tenants:
        unit = Coverage(provider="azure", account=tenant, region="global", service=SERVICE)
        units.append(unit)
        if unknown_reason or endpoint is None:
            reason = unknown_reason or (f"no Microsoft Graph endpoint is known for this Resource Manager endpoint; "
                                        f"set {GRAPH_ENDPOINT_ENV} to read Entra ID settings")
            _fail_all(unit, reason)
            continue
        reader = graph_reader(clients, credential, endpoint, tenant)
        for read in GRAPH_READS:
            try:
                items = [reader.get(read)] if read.single else list(reader.list(read))
            except AzureCallFailed as failure:
                error = failure.to_error()
                if failure.kind == "access-denied":
                    # A FAILED unit's findings quote its errors, so the next step goes in the error itself.
                    error.message = f"{error.message}; {denied_hint(read)}"
                reason = error.describe()
                unit.failed_types[read.type] = reason
                unit.errors.append(error)
                unit.status = Completeness.PARTIAL
                logger.warning("tenant %s: cannot read %s from Microsoft Graph: %s", tenant, read.type, reason)
                continue
            for item in items:
                if not isinstance(item, dict) or not item.get("id"):
                    # An object that cannot be identified is not assessed: the type reports ERROR.
                    unit.failed_types[read.type] = "Microsoft Graph returned an item without an id"
                    unit.status = Completeness.PARTIAL
                    logger.warning("tenant %s: a %s item has no id", tenant, read.type)
                    continue
                resources.append(graph_envelope(item, read, tenant, collected_at))
                unit.resource_counts[read.type] = unit.resource_counts.get(read.type, 0) + 1
        if len(unit.failed_types) == len(GRAPH_READS):
            unit.status = Completeness.FAILED
    return resources, units


def _fail_all(unit: Coverage, reason: str) -> None:
    for read in GRAPH_READS:
        unit.failed_types[read.type] = reason
    unit.errors.append(CallError(call="Microsoft Graph", code="NotRead", message=reason))
    unit.status = Completeness.FAILED
    logger.warning("tenant %s: Entra ID settings not read: %s", unit.account, reason)
