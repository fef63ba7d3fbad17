"""The Azure resource types Ridgeline reads, grouped by service, with the settings a live scan adds.

One table serves three readers: the rule loader (a rule naming an unknown service or type is a typo), the
importers (an export that contains no resource of a service leaves that service "not assessed") and the
live scan (which management API calls fill `supplementary`).

The envelope of an Azure resource:
- `configuration` is the resource as Azure Resource Manager returns it (`id`, `name`, `type`, `location`,
  `kind`, `sku`, `properties`, ...); Resource Graph rows have the same shape.
- `type` is the ARM type in the casing of the REST API reference ("Microsoft.Storage/storageAccounts");
  Resource Graph writes types in lower case, and `canonical_type` maps them back.
- `account` is the subscription id in lower case (the tenant id for Entra ID objects), `region` the
  ARM location without spaces in lower case, or "global".
- `supplementary` holds, under the keys listed per type below, the child and extension resources that
  further management calls return (the blob service of a storage account, the auditing settings of a
  SQL server, diagnostic settings). An ARM export that contains those resources gets them folded into
  their parent by id; a key missing from an import is recorded in `Resource.errors`, so rules reading
  it report ERROR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SINGLE = "single"
"""One child resource, stored as is (`blobServices/default`)."""
LIST = "list"
"""Every child resource of the type, as a list (diagnostic settings, firewall rules)."""
BY_NAME = "by_name"
"""Every child resource of the type, as a mapping from its `name` (server parameters)."""


@dataclass(frozen=True, slots=True)
class Child:
    """A child or extension resource that a live scan reads for its parent and stores in `supplementary`."""

    type: str
    """ARM type of the child ("Microsoft.Storage/storageAccounts/blobServices") or extension
    ("Microsoft.Insights/diagnosticSettings", whose id is the parent id + /providers/...)."""

    shape: str
    """SINGLE, LIST or BY_NAME."""

    call: str
    """The management API request that returns it, for documentation and the permissions list."""


@dataclass(frozen=True, slots=True)
class AzureType:
    """One resource type: its service and the supplementary settings a live scan reads for it."""

    name: str
    service: str
    supplementary: dict[str, Child]
    """Supplementary key -> the child resource stored there."""


def _type(name: str, service: str, **supplementary: Child) -> AzureType:
    return AzureType(name=name, service=service, supplementary=supplementary)


def _diagnostics(parent: str) -> Child:
    return Child("Microsoft.Insights/diagnosticSettings", LIST,
                 f"GET {parent}/providers/Microsoft.Insights/diagnosticSettings")


TYPES: tuple[AzureType, ...] = (
    # Storage: account settings are in `properties`; blob and file service settings are child resources.
    _type("Microsoft.Storage/storageAccounts", "storage",
          blobServices=Child("Microsoft.Storage/storageAccounts/blobServices", SINGLE,
                             "GET {account id}/blobServices/default"),
          fileServices=Child("Microsoft.Storage/storageAccounts/fileServices", SINGLE,
                             "GET {account id}/fileServices/default")),
    _type("Microsoft.Storage/storageAccounts/blobServices/containers", "storage"),

    # Key Vault: vault properties come from Resource Graph; keys and secrets are ARM child resources
    # whose `properties.attributes` carry `exp`/`enabled` and, for keys, `rotationPolicy`.
    _type("Microsoft.KeyVault/vaults", "keyvault",
          diagnosticSettings=_diagnostics("{vault id}")),
    _type("Microsoft.KeyVault/vaults/keys", "keyvault"),
    _type("Microsoft.KeyVault/vaults/secrets", "keyvault"),
    # Certificates are not ARM resources: only the vault's data plane lists them (dataplane.py). Their
    # envelope is shaped like the keys and secrets above; see `certificate_document`.
    _type("Microsoft.KeyVault/vaults/certificates", "keyvault"),

    # Networking.
    _type("Microsoft.Network/networkSecurityGroups", "network"),
    _type("Microsoft.Network/virtualNetworks", "network"),
    _type("Microsoft.Network/networkWatchers", "network"),
    _type("Microsoft.Network/networkWatchers/flowLogs", "network"),
    _type("Microsoft.Network/applicationGateways", "network"),
    _type("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies", "network"),
    _type("Microsoft.Network/publicIPAddresses", "network"),
    _type("Microsoft.Network/bastionHosts", "network"),
    _type("Microsoft.Network/virtualNetworkGateways", "network"),
    _type("Microsoft.Network/ddosProtectionPlans", "network"),

    # Monitoring: subscription diagnostic settings (the activity log export), activity log alerts,
    # Application Insights components.
    _type("Microsoft.Insights/diagnosticSettings", "monitor"),
    _type("Microsoft.Insights/activityLogAlerts", "monitor"),
    _type("Microsoft.Insights/components", "monitor"),

    # Microsoft Defender for Cloud: per-subscription plans, contacts and settings.
    _type("Microsoft.Security/pricings", "security"),
    _type("Microsoft.Security/securityContacts", "security"),
    _type("Microsoft.Security/autoProvisioningSettings", "security"),
    _type("Microsoft.Security/settings", "security"),

    # Access control of the subscription.
    _type("Microsoft.Authorization/roleAssignments", "authorization"),
    _type("Microsoft.Authorization/roleDefinitions", "authorization"),

    # Entra ID objects read through Microsoft Graph; `account` is the tenant id.
    _type("microsoft.graph.identitySecurityDefaultsEnforcementPolicy", "entra"),
    _type("microsoft.graph.userRegistrationDetails", "entra"),

    # Compute.
    _type("Microsoft.Compute/virtualMachines", "compute"),
    _type("Microsoft.Compute/disks", "compute"),

    # Databases.
    _type("Microsoft.Sql/servers", "sql",
          auditingSettings=Child("Microsoft.Sql/servers/auditingSettings", SINGLE,
                                 "GET {server id}/auditingSettings/default"),
          securityAlertPolicies=Child("Microsoft.Sql/servers/securityAlertPolicies", SINGLE,
                                      "GET {server id}/securityAlertPolicies/Default"),
          vulnerabilityAssessments=Child("Microsoft.Sql/servers/vulnerabilityAssessments", SINGLE,
                                         "GET {server id}/vulnerabilityAssessments/default"),
          administrators=Child("Microsoft.Sql/servers/administrators", LIST, "GET {server id}/administrators"),
          encryptionProtector=Child("Microsoft.Sql/servers/encryptionProtector", SINGLE,
                                    "GET {server id}/encryptionProtector/current"),
          firewallRules=Child("Microsoft.Sql/servers/firewallRules", LIST, "GET {server id}/firewallRules")),
    _type("Microsoft.Sql/servers/databases", "sql",
          transparentDataEncryption=Child("Microsoft.Sql/servers/databases/transparentDataEncryption", SINGLE,
                                          "GET {database id}/transparentDataEncryption/current")),
    _type("Microsoft.DBforPostgreSQL/flexibleServers", "postgresql",
          configurations=Child("Microsoft.DBforPostgreSQL/flexibleServers/configurations", BY_NAME,
                               "GET {server id}/configurations"),
          firewallRules=Child("Microsoft.DBforPostgreSQL/flexibleServers/firewallRules", LIST,
                              "GET {server id}/firewallRules")),
    _type("Microsoft.DBforMySQL/flexibleServers", "mysql",
          configurations=Child("Microsoft.DBforMySQL/flexibleServers/configurations", BY_NAME,
                               "GET {server id}/configurations"),
          firewallRules=Child("Microsoft.DBforMySQL/flexibleServers/firewallRules", LIST,
                              "GET {server id}/firewallRules")),
    _type("Microsoft.DocumentDB/databaseAccounts", "cosmosdb"),

    # Application hosting and analytics.
    _type("Microsoft.Web/sites", "web",
          config=Child("Microsoft.Web/sites/config", SINGLE, "GET {site id}/config/web")),
    _type("Microsoft.ContainerService/managedClusters", "containerservice"),
    _type("Microsoft.Databricks/workspaces", "databricks",
          diagnosticSettings=_diagnostics("{workspace id}")),
)

TYPES_BY_LOWER_NAME: dict[str, AzureType] = {entry.name.lower(): entry for entry in TYPES}


def canonical_type(type_name: str) -> str:
    """Return the catalogue casing of an ARM type ("microsoft.storage/storageaccounts" -> catalogue name)."""
    entry = TYPES_BY_LOWER_NAME.get(type_name.lower())
    return entry.name if entry is not None else type_name


def services() -> dict[str, tuple[str, ...]]:
    """Return each service with its resource types, in catalogue order."""
    grouped: dict[str, list[str]] = {}
    for entry in TYPES:
        grouped.setdefault(entry.service, []).append(entry.name)
    return {service: tuple(names) for service, names in grouped.items()}


def service_of(type_name: str) -> str | None:
    """Return the service of a type, or None when Ridgeline does not read it."""
    entry = TYPES_BY_LOWER_NAME.get(type_name.lower())
    return entry.service if entry is not None else None


CERTIFICATE_TYPE = "Microsoft.KeyVault/vaults/certificates"


def certificate_document(item: Mapping[str, Any], vault_id: str, location: Any, *,
                         policy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return the ARM-like document of a Key Vault certificate, from the vault's data-plane item.

    The live scan (a "Get Certificates" item, REST shape) and the importer (an `az keyvault certificate
    list` or `show` item, Azure CLI shape) both build it here. The id is the vault's ARM id plus
    `/certificates/{name}`, so the certificate sits under its vault as keys and secrets do. `properties`
    keeps the item's `attributes` and `tags` as given. It adds the thumbprint (`x5t` in REST,
    `x509Thumbprint` in the CLI) as `x509Thumbprint`, the data-plane URI as `certificateUri`, and `policy`
    when one was read. Raises ValueError when the item's id is not a certificate URI.
    """
    uri = item.get("id")
    parts = split_certificate_uri(uri) if isinstance(uri, str) else None
    if parts is None:
        raise ValueError(f"expected a certificate id such as https://VAULT.vault.azure.net/certificates/NAME, "
                         f"found {str(uri)[:200]!r}")
    vault_uri, name = parts
    properties: dict[str, Any] = {
        "certificateUri": f"{vault_uri}/certificates/{name}",
        "attributes": item.get("attributes"),
        "tags": item.get("tags"),
        "x509Thumbprint": item.get("x5t", item.get("x509Thumbprint")),
    }
    if policy is not None:
        properties["policy"] = dict(policy)
    tags = item.get("tags")
    return {
        "id": f"{vault_id}/certificates/{name}",
        "name": name,
        "type": CERTIFICATE_TYPE,
        "location": location,
        # ARM resources carry their tags at the top level, where the envelope reads them.
        "tags": dict(tags) if isinstance(tags, Mapping) else {},
        "properties": properties,
    }


def split_certificate_uri(uri: str) -> tuple[str, str] | None:
    """Return (vault URI without the final slash, certificate name) of a data-plane certificate URI, or None.

    "https://kv.vault.azure.net/certificates/web/VERSION" gives ("https://kv.vault.azure.net", "web").
    """
    scheme, _, rest = uri.partition("://")
    if scheme.lower() != "https" or "/" not in rest:
        return None
    segments = rest.split("?", 1)[0].rstrip("/").split("/")
    # The host, any path prefix of the vault URI, then "certificates", the name and an optional version.
    for index in range(1, len(segments) - 1):
        if segments[index].lower() == "certificates" and len(segments) - index in (2, 3) and segments[index + 1]:
            return f"https://{'/'.join(segments[:index])}", segments[index + 1]
    return None
