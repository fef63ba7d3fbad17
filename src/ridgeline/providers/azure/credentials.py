"""Credentials of an Azure scan: DefaultAzureCredential, an optional tenant, and an early token check.

DefaultAzureCredential tries, in order: a service principal or certificate from AZURE_* environment
variables, workload identity (AKS), managed identity, the shared token cache, Azure CLI, Azure PowerShell
and Azure Developer CLI. The token check runs before the scan so a missing sign-in is one clear line.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity import DefaultAzureCredential

from ridgeline.providers.azure.calls import one_line

logger = logging.getLogger(__name__)

SIGN_IN_HINT = ("sign in with `az login`, set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a "
                "service principal, or run where a managed or workload identity is available")


# The characters azure-identity accepts in a tenant id: a GUID or a domain name.
_TENANT = re.compile(r"^[A-Za-z0-9.-]{1,256}$")


class CredentialSetupError(RuntimeError):
    """No usable credential; the message is one line with the reason and the next step."""


class TenantCredential:
    """A credential that requests every token for one tenant (`--tenant`), e.g. a guest or multi-tenant sign-in."""

    def __init__(self, inner: TokenCredential, tenant: str) -> None:
        self._inner = inner
        self.tenant = tenant

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        """Return a token for `scopes` in the chosen tenant."""
        return self._inner.get_token(*scopes, claims=claims, tenant_id=tenant_id or self.tenant,
                                     enable_cae=enable_cae, **kwargs)


def build_credential(tenant: str | None) -> TokenCredential:
    """Return DefaultAzureCredential, bound to `tenant` when one is given."""
    if not tenant:
        return DefaultAzureCredential()
    if not _TENANT.match(tenant):
        raise CredentialSetupError(f"invalid --tenant {tenant!r}: expected a tenant id (GUID) or a domain name "
                                   "such as contoso.onmicrosoft.com")
    try:
        # The *_tenant_id keywords steer the credentials that sign a user in. The wrapper passes the tenant
        # to every token request, and service principals and Azure CLI honour it when it is allowed.
        inner = DefaultAzureCredential(
            additionally_allowed_tenants=[tenant],
            interactive_browser_tenant_id=tenant,
            workload_identity_tenant_id=tenant,
            shared_cache_tenant_id=tenant,
            visual_studio_code_tenant_id=tenant,
        )
    except ValueError as error:
        raise CredentialSetupError(f"invalid --tenant {tenant!r}: {one_line(str(error))}") from error
    return TenantCredential(inner, tenant)


def check_token(credential: TokenCredential, scope: str) -> None:
    """Request one token for `scope`; raise CredentialSetupError with a one-line reason when none is available."""
    try:
        credential.get_token(scope)
    except ClientAuthenticationError as error:
        # DefaultAzureCredential lists every credential it tried on separate lines. The full text goes to the
        # debug log, and the user gets its first sentence and the next step.
        logger.debug("token request for %s failed: %s", scope, error)
        first = one_line(str(error.message or error)).split(". ")[0]
        raise CredentialSetupError(f"no Azure credential is available ({first}); {SIGN_IN_HINT}") from error
    except (AzureError, ValueError) as error:
        logger.debug("token request for %s failed: %s", scope, error)
        raise CredentialSetupError(f"cannot get an Azure access token ({one_line(str(error))}); {SIGN_IN_HINT}") \
            from error
