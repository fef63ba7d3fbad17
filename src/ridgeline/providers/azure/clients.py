"""HTTP clients of an Azure scan: one azure-core pipeline for Resource Graph and for plain ARM reads.

The pipeline is the SDK's own (bearer token, retry honouring Retry-After, redirects, logging) minus the
policy that registers resource providers on a 409 `MissingSubscriptionRegistration`: that registration is
a write, and a scan only reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import policies
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
from azure.mgmt.resourcegraph import ResourceGraphClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ridgeline import __version__
from ridgeline.providers.azure.calls import AzureCall, AzureCallFailed, CallRecorder, classify, error_from_body

logger = logging.getLogger(__name__)

PUBLIC_CLOUD_ENDPOINT = "https://management.azure.com"

MAX_PAGES = 10_000
"""Pages followed for one listing before giving up: a guard against a nextLink that never ends."""


def token_scope(endpoint: str) -> str:
    """Return the token scope of an ARM endpoint ("https://management.azure.com/.default")."""
    return endpoint.rstrip("/") + "/.default"


class AzureClients:
    """The Resource Graph client and a plain ARM reader sharing one connection pool and one recorder."""

    def __init__(self, credential: TokenCredential, endpoint: str, *, pool_size: int,
                 recorder: CallRecorder | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.recorder = recorder or CallRecorder()
        self._session = requests.Session()
        # urllib3 retries stay off because the SDK's RetryPolicy retries. The pool is sized for the worker
        # threads, so connections are reused rather than discarded.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool_size, 10),
                              max_retries=Retry(total=False, redirect=False, raise_on_status=False))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self.transport = RequestsTransport(session=self._session, session_owner=False)
        """Return the transport shared by every client of the scan, Microsoft Graph readers included."""

        scope = token_scope(self.endpoint)
        self.graph = ResourceGraphClient(credential, base_url=self.endpoint,
                                         policies=_policies(credential, scope), transport=self.transport)
        self.arm = ArmReader(ARMPipelineClient(base_url=self.endpoint, policies=_policies(credential, scope),
                                               transport=self.transport), self.endpoint, self.recorder)

    def close(self) -> None:
        """Close the connection pool."""
        self._session.close()

    def __enter__(self) -> AzureClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _policies(credential: TokenCredential, scope: str) -> list[Any]:
    # The order follows the SDK's generated clients: per-call policies, retry, then per-attempt policies.
    return [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker=f"ridgeline/{__version__}"),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        policies.RedirectPolicy(),
        policies.RetryPolicy(),
        ARMChallengeAuthenticationPolicy(credential, scope),
        policies.CustomHookPolicy(),
        policies.NetworkTraceLoggingPolicy(),
        policies.DistributedTracingPolicy(),
        policies.SensitiveHeaderCleanupPolicy(),
        ARMHttpLoggingPolicy(),
    ]


def arm_path(resource_id: str) -> str:
    """Return an ARM id quoted for a URL path; raise ValueError on an id that is not a plain ARM path."""
    if not resource_id.startswith("/subscriptions/") or any(part in ("", ".", "..")
                                                            for part in resource_id[1:].split("/")):
        raise ValueError(f"unexpected resource id {resource_id!r}")
    return quote(resource_id, safe="/-_.~()!$&'*+,;=:@")


class ArmReader:
    """GET requests to Azure Resource Manager, returning the JSON documents as ARM sends them."""

    def __init__(self, client: ARMPipelineClient[HttpRequest, Any], endpoint: str, recorder: CallRecorder) -> None:
        self._client = client
        self._endpoint = endpoint
        self._host = urlsplit(endpoint).netloc.lower()
        self._recorder = recorder

    def get(self, call: AzureCall, path: str, *, resource_id: str = "") -> Any:
        """Return the JSON body of GET `path`; raise AzureCallFailed on any failure after retries."""
        url = f"{self._endpoint}{path}{'&' if '?' in path else '?'}api-version={call.api_version}"
        return self._get_url(call, url, resource_id)

    def list(self, call: AzureCall, path: str, *, resource_id: str = "") -> list[Any]:
        """Return every item of a paged ARM list (`value`, followed through `nextLink`)."""
        return list(self._iter_pages(call, path, resource_id))

    def _iter_pages(self, call: AzureCall, path: str, resource_id: str) -> Iterator[Any]:
        body = self.get(call, path, resource_id=resource_id)
        for _page in range(MAX_PAGES):
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise AzureCallFailed(call, "UnexpectedResponse", "the list response has no `value` array",
                                      resource_id=resource_id)
            yield from body["value"]
            next_link = body.get("nextLink")
            if not next_link:
                return
            # The bearer token goes with every request: never follow a link to another host.
            if urlsplit(next_link).netloc.lower() != self._host:
                raise AzureCallFailed(call, "UnexpectedNextLink", f"nextLink points to another host: {next_link[:200]}",
                                      resource_id=resource_id)
            body = self._get_url(call, next_link, resource_id)
        raise AzureCallFailed(call, "TooManyPages", f"more than {MAX_PAGES} pages", resource_id=resource_id)

    def _get_url(self, call: AzureCall, url: str, resource_id: str) -> Any:
        return get_json(self._client, self._recorder, call, url, resource_id=resource_id)


def get_json(client: PipelineClient[HttpRequest, Any], recorder: CallRecorder, call: AzureCall, url: str, *,
             resource_id: str = "", error: Callable[[AzureCall, int, Any, str], AzureCallFailed] = error_from_body,
             **send_options: Any) -> Any:
    """Send one recorded GET and return its JSON body.

    Raises AzureCallFailed for a failed request, a status other than 2xx (built by `error` from the
    body) or a body that is not JSON. `send_options` go to `send_request` (a connection timeout).
    """
    recorder.record(call)
    try:
        response = client.send_request(HttpRequest("GET", url, headers={"Accept": "application/json"}),
                                       **send_options)
    except AzureError as failure:
        raise classify(call, failure, resource_id) from failure

    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if not 200 <= response.status_code < 300:
        raise error(call, response.status_code, body, resource_id)
    if body is None:
        raise AzureCallFailed(call, "UnexpectedResponse", "the response is not JSON", status=response.status_code,
                              resource_id=resource_id)
    return body


def bearer_client(credential: TokenCredential, scope: str, base_url: str,
                  transport: Any) -> PipelineClient[HttpRequest, Any]:
    """Return a pipeline client that sends tokens of `credential` for `scope`, over the scan's shared transport.

    For the APIs that are not Resource Manager (Microsoft Graph, the Key Vault data plane).
    """
    pipeline: list[Any] = [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker=f"ridgeline/{__version__}"),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        policies.RedirectPolicy(),
        policies.RetryPolicy(),
        policies.BearerTokenCredentialPolicy(credential, scope),
        policies.CustomHookPolicy(),
        policies.NetworkTraceLoggingPolicy(),
        policies.DistributedTracingPolicy(),
        policies.SensitiveHeaderCleanupPolicy(),
        policies.HttpLoggingPolicy(),
    ]
    return PipelineClient(base_url=base_url, policies=pipeline, transport=transport)
