"""Key Vault certificates, read through each vault's data plane, because Resource Manager does not list them.

Per vault, two documented Key Vault REST reads (API version 7.4):
- "Get Certificates", `GET {vaultUri}certificates`: a `value` list of items with `id`
  (`https://{vault}.vault.azure.net/certificates/{name}`), `x5t`, `attributes` (`enabled`, `nbf`, `exp`,
  `created`, `updated` in seconds since 1970) and `tags`, paged through `nextLink`;
- "Get Certificate Policy", `GET {vaultUri}certificates/{name}/policy`, per certificate: `x509_props`
  (with `validity_months`), `lifetime_actions`, `issuer`, `key_props`, `secret_props`, `attributes`.
The shapes follow the examples GetCertificates-example.json and GetCertificatePolicy-example.json of the
Key Vault data-plane specification (azure-rest-api-specs, stable/7.4). Neither read returns key material
or the certificate's secret.

Requests go through a plain azure-core pipeline, as in msgraph.py, rather than the
azure-keyvault-certificates SDK. So they share the scan's transport, call recorder and error handling,
no new dependency is needed, and the documents stay as Key Vault sends them (the SDK turns them into
objects).

The data plane authorises with a Key Vault data action or a vault access policy, not with the Reader role
(both are declared with the two calls in declarations.py), and a vault firewall rejects callers outside its
networks. A vault whose certificates cannot be listed fails the certificate type in its subscription's
coverage unit, with the reason, so the certificate rule reports ERROR; a policy that cannot be read marks
that one certificate's `properties.policy` unknown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from azure.core import PipelineClient
from azure.core.credentials import TokenCredential
from azure.core.rest import HttpRequest

from ridgeline.model.resource import Resource
from ridgeline.providers.azure.calls import AzureCall, AzureCallFailed, CallRecorder, one_line
from ridgeline.providers.azure.catalog import CERTIFICATE_TYPE, certificate_document, split_certificate_uri
from ridgeline.providers.azure.clients import MAX_PAGES, AzureClients, bearer_client, get_json, token_scope
from ridgeline.providers.azure.credentials import TenantCredential
from ridgeline.providers.azure.declarations import (
    ACCESS_POLICY_PERMISSIONS,
    CERTIFICATES_DATA_ACTION,
    GET_CERTIFICATE_POLICY,
    KEYVAULT_API_VERSION,
    LIST_CERTIFICATES,
)
from ridgeline.providers.azure.envelope import envelope

logger = logging.getLogger(__name__)

VAULT_TYPE = "Microsoft.KeyVault/vaults"

VAULT_DNS_SUFFIXES = ("vault.azure.net", "vault.usgovcloudapi.net", "vault.azure.cn")
"""Key Vault DNS suffixes of the public, US Government and China clouds. The suffix is also the token
audience, so the scope of a vault's token comes from its host. `vault_endpoint` sends no token to a host
outside them, except to the Resource Manager host itself."""

CONNECTION_TIMEOUT_S = 20
"""Seconds to wait for a connection to a vault. Unlike Resource Manager, a vault can sit behind a network
that drops packets instead of refusing them, and the transport's default would wait five minutes."""


@dataclass(frozen=True, slots=True)
class VaultEndpoint:
    """The address and token of one vault's data plane."""

    base_url: str
    """`properties.vaultUri` without the final slash, e.g. "https://kv-app.vault.azure.net"."""

    scope: str
    """Token scope, e.g. "https://vault.azure.net/.default"."""

    tenant: str
    """`properties.tenantId` of the vault (its tokens must come from that tenant), or "" when unset."""


def vault_endpoint(vault: Resource, arm_endpoint: str) -> VaultEndpoint:
    """Return the data-plane endpoint of a vault; raise AzureCallFailed when its `vaultUri` cannot be used.

    A host under a Key Vault DNS suffix gets a token for that suffix. A vault served by the Resource
    Manager host itself (a local emulator or test server) gets the Resource Manager token, which goes to
    that host anyway. Any other host is rejected, because the scan's token must not reach it.
    """
    properties = vault.configuration.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    uri = properties.get("vaultUri")
    tenant = properties.get("tenantId")
    tenant = tenant if isinstance(tenant, str) else ""
    if not isinstance(uri, str) or not uri:
        raise AzureCallFailed(LIST_CERTIFICATES, "NoVaultUri", "the vault has no properties.vaultUri",
                              resource_id=vault.id)

    origin = _origin(uri)
    parts = urlsplit(uri) if origin is not None else None
    if parts is None or origin is None or origin[0] != "https" or not origin[1] or parts.query or parts.fragment:
        raise AzureCallFailed(LIST_CERTIFICATES, "InvalidVaultUri",
                              f"vaultUri {uri[:200]!r} is not an https URL without query or fragment",
                              resource_id=vault.id)
    base_url = uri.rstrip("/")
    if origin == _origin(arm_endpoint):
        return VaultEndpoint(base_url, token_scope(arm_endpoint), tenant)
    host = origin[1]
    for suffix in VAULT_DNS_SUFFIXES:
        if host.endswith("." + suffix) and host.count(".") == suffix.count(".") + 1:
            return VaultEndpoint(base_url, f"https://{suffix}/.default", tenant)
    raise AzureCallFailed(LIST_CERTIFICATES, "UnexpectedVaultUri",
                          f"vaultUri {uri[:200]!r} is not under a known Key Vault DNS suffix "
                          f"({', '.join(VAULT_DNS_SUFFIXES)}), so no token is sent to it", resource_id=vault.id)


def _origin(url: str) -> tuple[str, str, int] | None:
    """Return (scheme, host, port) with the default port filled in, because Key Vault's nextLink names port 443.

    Returns None for a URL that cannot be parsed (a bad port or IPv6 address), which then matches no origin.
    """
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return None
    return scheme, (parts.hostname or "").lower(), port


class KeyVaultReader:
    """GET requests to one vault's data plane, returning the JSON documents as Key Vault sends them."""

    def __init__(self, client: PipelineClient[HttpRequest, Any], endpoint: VaultEndpoint, recorder: CallRecorder,
                 vault_id: str) -> None:
        self._client = client
        self.endpoint = endpoint
        self._recorder = recorder
        self._vault_id = vault_id

    def list_certificates(self) -> Iterator[Any]:
        """Yield every item of "Get Certificates", following `nextLink` on the vault's own host."""
        call = LIST_CERTIFICATES
        # Without `maxresults` the service returns up to 25 certificates per page.
        body = self._get(call, f"{self.endpoint.base_url}/certificates?api-version={KEYVAULT_API_VERSION}")
        for _page in range(MAX_PAGES):
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise AzureCallFailed(call, "UnexpectedResponse", "the list response has no `value` array",
                                      resource_id=self._vault_id)
            yield from body["value"]
            next_link = body.get("nextLink")
            if not next_link:
                return
            # The bearer token goes with every request: never follow a link to another host.
            origin = _origin(next_link) if isinstance(next_link, str) else None
            if origin is None or origin != _origin(self.endpoint.base_url):
                raise AzureCallFailed(call, "UnexpectedNextLink",
                                      f"nextLink points to another host: {str(next_link)[:200]}",
                                      resource_id=self._vault_id)
            body = self._get(call, next_link)
        raise AzureCallFailed(call, "TooManyPages", f"more than {MAX_PAGES} pages", resource_id=self._vault_id)

    def certificate_policy(self, name: str, resource_id: str) -> dict[str, Any]:
        """Return the "Get Certificate Policy" document of one certificate."""
        body = self._get(GET_CERTIFICATE_POLICY, f"{self.endpoint.base_url}/certificates/{quote(name, safe='')}"
                                                 f"/policy?api-version={KEYVAULT_API_VERSION}", resource_id)
        if not isinstance(body, dict):
            raise AzureCallFailed(GET_CERTIFICATE_POLICY, "UnexpectedResponse", "the policy is not a JSON object",
                                  resource_id=resource_id)
        return body

    def _get(self, call: AzureCall, url: str, resource_id: str = "") -> Any:
        return get_json(self._client, self._recorder, call, url, resource_id=resource_id or self._vault_id,
                        error=keyvault_error, connection_timeout=CONNECTION_TIMEOUT_S)


def keyvault_error(call: AzureCall, status: int, body: Any, resource_id: str) -> AzureCallFailed:
    """Build the failure of a Key Vault error response (`{"error": {"code", "message", "innererror"}}`).

    The inner code is the precise one (ForbiddenByFirewall, ForbiddenByRbac, ForbiddenByPolicy under the
    outer Forbidden), so it becomes the failure's code.
    """
    code = str(status)
    message = f"HTTP {status}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        inner = error.get("innererror") or error.get("innerError")
        inner_code = inner.get("code") if isinstance(inner, dict) else None
        code = str(inner_code or error.get("code") or code)
        message = str(error.get("message") or message)
    return AzureCallFailed(call, code, one_line(message), status=status, resource_id=resource_id)


def next_step(failure: AzureCallFailed, vault: Resource) -> str:
    """Return the next step after a vault rejected a read, for the coverage reason ("" when there is none)."""
    if failure.code == "ForbiddenByFirewall":
        return ("the vault's firewall rejects the scanner's network: add the scanner's address to the vault's "
                "firewall, or scan from a network the vault allows")
    if failure.kind != "access-denied":
        return ""
    properties = vault.configuration.get("properties")
    rbac = isinstance(properties, dict) and properties.get("enableRbacAuthorization") is True
    if failure.status == 401:
        tenant = properties.get("tenantId") if isinstance(properties, dict) else None
        where = f"the vault's tenant {tenant}" if tenant else "the vault's tenant"
        return f"Key Vault rejected the token: the scan's identity needs a token from {where}"
    if rbac:
        return (f"grant the scan's identity the data action {CERTIFICATES_DATA_ACTION} on the vault (the role "
                "Key Vault Reader has it)")
    return ("add an access policy to the vault that grants the scan's identity the certificate permissions "
            f"{' and '.join(ACCESS_POLICY_PERMISSIONS['certificates'])}")


class DataPlane:
    """Readers of vault data planes for one scan, sharing its transport, recorder and credential.

    One pipeline serves every vault of the same tenant and token scope, so the credential is asked for a
    token once per tenant rather than once per vault.
    """

    def __init__(self, clients: AzureClients, credential: TokenCredential) -> None:
        self._clients = clients
        self._credential = credential
        self._pipelines: dict[tuple[str, str], PipelineClient[HttpRequest, Any]] = {}
        self._lock = threading.Lock()

    def reader(self, vault: Resource) -> KeyVaultReader:
        """Return a reader of `vault`'s data plane; raise AzureCallFailed when its vaultUri cannot be used."""
        endpoint = vault_endpoint(vault, self._clients.endpoint)
        key = (endpoint.tenant.lower(), endpoint.scope)
        with self._lock:
            client = self._pipelines.get(key)
            if client is None:
                client = self._pipelines[key] = self._pipeline(endpoint)
        return KeyVaultReader(client, endpoint, self._clients.recorder, vault.id)

    def _pipeline(self, endpoint: VaultEndpoint) -> PipelineClient[HttpRequest, Any]:
        # The vault's tenant issues its tokens, because a guest identity would otherwise get one from its home
        # tenant.
        credential: TokenCredential = (TenantCredential(self._credential, endpoint.tenant) if endpoint.tenant
                                       else self._credential)
        return bearer_client(credential, endpoint.scope, endpoint.base_url, self._clients.transport)


def certificate_envelope(item: dict[str, Any], vault: Resource, policy: dict[str, Any] | None) -> Resource:
    """Return the envelope of one "Get Certificates" item of `vault` (a pure transform; see catalog.py)."""
    document = certificate_document(item, vault.id, vault.configuration.get("location"), policy=policy)
    resource = envelope(document, collected_at=vault.collected_at, subscription=vault.account, region=vault.region,
                        type_name=CERTIFICATE_TYPE)
    resource.relationships.append({"resourceType": vault.type, "resourceId": vault.id, "resourceName": vault.name,
                                   "relationshipName": "Is contained in"})
    return resource


PolicyFailure = tuple[Resource, str, AzureCallFailed]
"""A certificate, the path left unknown and the failed policy read."""


def read_certificates(reader: KeyVaultReader, vault: Resource) -> tuple[list[Resource], list[PolicyFailure]]:
    """Return the certificates of `vault` with their policies, and the policy reads that failed.

    Raises AzureCallFailed when the list fails: then no certificate of the vault is known. A certificate
    whose policy read fails is returned without `properties.policy`, and that path is in the failures.
    """
    items = list(reader.list_certificates())
    certificates: list[Resource] = []
    failures: list[PolicyFailure] = []
    for item in items:
        uri = item.get("id") if isinstance(item, dict) else None
        parts = split_certificate_uri(uri) if isinstance(uri, str) else None
        if parts is None or not isinstance(item, dict):
            # A certificate that cannot be identified cannot be judged: the whole vault is not assessed.
            raise AzureCallFailed(LIST_CERTIFICATES, "UnexpectedResponse",
                                  f"an item of the certificate list has no certificate id: {str(item)[:200]}",
                                  resource_id=vault.id)
        _vault_uri, name = parts
        resource_id = f"{vault.id}/certificates/{name}"
        policy: dict[str, Any] | None = None
        failure: AzureCallFailed | None = None
        try:
            policy = reader.certificate_policy(name, resource_id)
        except AzureCallFailed as error:
            failure = error
        resource = certificate_envelope(item, vault, policy)
        if failure is not None:
            failures.append((resource, "configuration.properties.policy", failure))
        certificates.append(resource)
    logger.debug("subscription %s: vault %s has %d certificate(s)", vault.account, vault.id, len(certificates))
    return certificates, failures
