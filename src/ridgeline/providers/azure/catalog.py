"""The Azure resource types Ridgeline reads, grouped by service, with the settings a live scan adds.

One table serves three readers: the rule loader (a rule naming an unknown service or type is a typo), the
importers (an export that holds no resource of a service leaves that service "not assessed") and the
live scan (which management API calls fill `supplementary`).

The envelope of an Azure resource:
- `configuration` is the resource as Azure Resource Manager returns it (`id`, `name`, `type`, `location`,
  `kind`, `sku`, `properties`, ...); Resource Graph rows have the same shape.
- `type` is the ARM type in the casing of the REST API reference ("Microsoft.Storage/storageAccounts");
  Resource Graph writes types in lower case, and `canonical_type` maps them back.
- `account` is the subscription id in lower case (the tenant id for Entra ID objects), `region` the
  ARM location without spaces in lower case, or "global".
- `supplementary` holds, under the keys listed per type below, what further management calls return.
  A key missing from an import is recorded in `Resource.errors`, so rules reading it report ERROR.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AzureType:
    """One resource type: its service and the supplementary settings a live scan reads for it."""

    name: str
    service: str
    supplementary: dict[str, str]
    """Supplementary key -> the management API call (or child resource) it comes from."""


def _type(name: str, service: str, **supplementary: str) -> AzureType:
    return AzureType(name=name, service=service, supplementary=supplementary)


TYPES: tuple[AzureType, ...] = (
    # Storage: account settings are in `properties`; blob and file service settings are child resources.
    _type("Microsoft.Storage/storageAccounts", "storage",
          blobServices="GET .../storageAccounts/{name}/blobServices/default (BlobServiceProperties)",
          fileServices="GET .../storageAccounts/{name}/fileServices/default (FileServiceProperties)",
          diagnosticSettings="GET .../storageAccounts/{name}/blobServices/default/providers/"
                             "Microsoft.Insights/diagnosticSettings (list of settings)"),
    _type("Microsoft.Storage/storageAccounts/blobServices/containers", "storage"),

    # Key Vault: vault properties come from Resource Graph; keys and secrets are ARM child resources
    # whose `properties.attributes` carry `exp`/`enabled` and, for keys, `rotationPolicy`.
    _type("Microsoft.KeyVault/vaults", "keyvault",
          diagnosticSettings="GET {vault id}/providers/Microsoft.Insights/diagnosticSettings (list)"),
    _type("Microsoft.KeyVault/vaults/keys", "keyvault"),
    _type("Microsoft.KeyVault/vaults/secrets", "keyvault"),

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
          auditingSettings="GET .../servers/{name}/auditingSettings/default",
          securityAlertPolicies="GET .../servers/{name}/securityAlertPolicies/Default",
          vulnerabilityAssessments="GET .../servers/{name}/vulnerabilityAssessments/default",
          administrators="GET .../servers/{name}/administrators (list)",
          encryptionProtector="GET .../servers/{name}/encryptionProtector/current",
          firewallRules="GET .../servers/{name}/firewallRules (list)"),
    _type("Microsoft.Sql/servers/databases", "sql",
          transparentDataEncryption="GET .../databases/{name}/transparentDataEncryption/current"),
    _type("Microsoft.DBforPostgreSQL/flexibleServers", "postgresql",
          configurations="GET .../flexibleServers/{name}/configurations (mapping: parameter name -> resource)",
          firewallRules="GET .../flexibleServers/{name}/firewallRules (list)"),
    _type("Microsoft.DBforMySQL/flexibleServers", "mysql",
          configurations="GET .../flexibleServers/{name}/configurations (mapping: parameter name -> resource)",
          firewallRules="GET .../flexibleServers/{name}/firewallRules (list)"),
    _type("Microsoft.DocumentDB/databaseAccounts", "cosmosdb"),

    # Application hosting and analytics.
    _type("Microsoft.Web/sites", "web",
          config="GET .../sites/{name}/config/web (SiteConfig resource)",
          authSettings="POST .../sites/{name}/config/authsettingsV2/list"),
    _type("Microsoft.ContainerService/managedClusters", "containerservice"),
    _type("Microsoft.Databricks/workspaces", "databricks",
          diagnosticSettings="GET {workspace id}/providers/Microsoft.Insights/diagnosticSettings (list)"),
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
