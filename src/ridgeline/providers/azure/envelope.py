"""Azure resources in the Ridgeline envelope: ARM documents and Resource Graph rows to `Resource`, and redaction.

The rules of catalog.py apply: `type` in the casing of the REST API reference, `account` the subscription
id in lower case, `region` the location without spaces in lower case or "global", `configuration` the
document as ARM returns it.
"""

from __future__ import annotations

import re
from typing import Any

from ridgeline.model.redaction import REDACTED, redact
from ridgeline.model.resource import Resource
from ridgeline.providers.azure.catalog import canonical_type

_SUBSCRIPTION_IN_ID = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)

# Keys whose values are secrets in Azure documents, beyond the shared list of ridgeline.model.redaction
# (compared without regard to case). ARM does not return most of them on GET. They are redacted in case an
# API version or a Resource Graph row carries them. `instrumentationKey` is part of an Application Insights
# connection string.
AZURE_SECRET_KEYS = frozenset({
    "administratorloginpassword", "storageaccountaccesskey", "accesskey", "instrumentationkey",
    "storageaccountkey", "primarymasterkey", "secondarymasterkey", "publishingpassword",
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


def redact_azure(resource: Resource) -> Resource:
    """Replace secret values in place: app settings, Azure secret keys, then the shared list of secret keys."""
    if resource.type == KEY_VAULT_SECRET_TYPE:
        # ARM never returns a secret's value on GET; drop it anyway should an API version ever do so.
        properties = resource.configuration.get("properties")
        if isinstance(properties, dict) and properties.get("value") not in (None, ""):
            properties["value"] = REDACTED
    _redact_keys(resource.configuration)
    _redact_keys(resource.supplementary)
    return redact(resource)


def _redact_keys(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            lowered = key.lower() if isinstance(key, str) else ""
            if lowered == "appsettings":
                _redact_app_settings(item)
            elif lowered in AZURE_SECRET_KEYS and item not in (None, "", REDACTED):
                value[key] = REDACTED
            else:
                _redact_keys(item)
    elif isinstance(value, list):
        for item in value:
            _redact_keys(item)


def _redact_app_settings(settings: Any) -> None:
    # App settings of web and function apps often contain keys and passwords, so only the names stay. ARM
    # writes them as a list of {name, value} in siteConfig and as a name -> value mapping elsewhere.
    if isinstance(settings, list):
        for item in settings:
            if isinstance(item, dict) and item.get("value") not in (None, ""):
                item["value"] = REDACTED
    elif isinstance(settings, dict):
        for key in settings:
            settings[key] = REDACTED
