"""Azure resources in the Ridgeline envelope: ARM documents and Resource Graph rows to `Resource`, and redaction.

The rules of catalog.py apply: `type` in the casing of the REST API reference, `account` the subscription
id in lower case, `region` the location without spaces in lower case or "global", `configuration` the
document as ARM returns it.
"""

from __future__ import annotations

import re
from typing import Any

from ridgeline.model.redaction import Redactor
from ridgeline.model.resource import Resource
from ridgeline.providers.azure.catalog import canonical_type

_SUBSCRIPTION_IN_ID = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)

# Keys whose values are secrets in Azure documents, beyond the shared lists of ridgeline.model.redaction
# (compared in the normal form of `normal_key`, whole key, any value). ARM does not return most of them on
# GET. They are redacted in case an API version or a Resource Graph row carries them. `instrumentationKey`
# is part of an Application Insights connection string. `customData`, `commandToExecute`, `script` and
# `protectedSettings` of virtual machines and their extensions are scripts that often carry passwords;
# `secureValue` is a container group's secret environment variable.
AZURE_SECRET_KEYS = frozenset({
    "administratorloginpassword", "storageaccountaccesskey", "accesskey", "instrumentationkey",
    "storageaccountkey", "primarymasterkey", "secondarymasterkey", "publishingpassword",
    "customdata", "commandtoexecute", "script", "scriptcontent", "protectedsettings", "securevalue",
})


def normalise_location(location: Any) -> str:
    """Return an ARM location as a region ("East US 2" -> "eastus2"); "global" when there is none."""
    if not isinstance(location, str) or not location.strip():
        return "global"
    return "".join(location.split()).lower()


def subscription_of(document: dict[str, Any]) -> str:
    """Return the lower-case subscription id of a row or ARM document ("" when it has none)."""
    subscription = document.get("subscriptionId")
    if isinstance(subscription, str) and subscription:
        return subscription.lower()
    match = _SUBSCRIPTION_IN_ID.match(str(document.get("id") or ""))
    return match.group(1).lower() if match else ""


def envelope(document: dict[str, Any], *, collected_at: str, subscription: str = "",
             region: str | None = None, type_name: str | None = None) -> Resource:
    """Return the envelope of an ARM document or Resource Graph row (not yet redacted).

    Resource Graph writes `type` in lower case; the configuration gets the catalogue casing that ARM uses.
    """
    configuration = dict(document)
    canonical = type_name or canonical_type(str(document.get("type") or ""))
    configuration["type"] = canonical
    tags = document.get("tags")
    return Resource(
        provider="azure",
        account=subscription or subscription_of(document),
        region=region or normalise_location(document.get("location")),
        type=canonical,
        id=str(document.get("id") or ""),
        name=str(document.get("name") or ""),
        configuration=configuration,
        tags={str(key): "" if value is None else str(value) for key, value in tags.items()}
        if isinstance(tags, dict) else {},
        collected_at=collected_at,
    )


KEY_VAULT_SECRET_TYPE = "Microsoft.KeyVault/vaults/secrets"

# Values that are secret by resource type: a Key Vault secret's value (ARM never returns it on GET; it is
# dropped should an API version ever do so) and an Automation account's variable, encrypted or not.
AZURE_SECRET_VALUES: dict[str, tuple[tuple[str, ...], ...]] = {
    KEY_VAULT_SECRET_TYPE: (("properties", "value"),),
    "Microsoft.Automation/automationAccounts/variables": (("properties", "value"),),
}

AZURE_REDACTOR = Redactor(
    secret_keys=AZURE_SECRET_KEYS,
    # Web and function app settings often hold keys and passwords, so only their names stay: ARM writes them
    # as a list of {name, value} in siteConfig and as a name -> value mapping elsewhere.
    variable_keys=("appsettings",),
    # `listKeys` output: [{keyName, value, permissions}].
    listed_keys=("keys",),
    value_paths=AZURE_SECRET_VALUES,
)
"""The shared lists with the Azure words, for live scans and imports alike."""


def redact_azure(resource: Resource) -> Resource:
    """Replace secret values in place (shared and Azure lists, app settings, typed values); return it."""
    return AZURE_REDACTOR.redact(resource)
