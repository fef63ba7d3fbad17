"""The reads of an Azure scan and the permission each one needs, as plain data.

The modules that talk to Azure (graph.py, listings.py, children.py, dataplane.py, msgraph.py) send the
reads declared here, and this module only names them. It imports nothing from the Azure SDK, so
`ridgeline permissions azure` (permissions.py) can build the custom role before the azure extra is
installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from ridgeline.providers.azure.calls import GRAPH_QUERY, AzureCall

# --- Resource Graph inventory (graph.py) ---

TABLE_TYPES: dict[str, tuple[str, ...]] = {
    "resources": (
        "Microsoft.Storage/storageAccounts",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Network/networkSecurityGroups",
        "Microsoft.Network/virtualNetworks",
        "Microsoft.Network/networkWatchers",
        "Microsoft.Network/networkWatchers/flowLogs",
        "Microsoft.Network/applicationGateways",
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        "Microsoft.Network/publicIPAddresses",
        "Microsoft.Network/bastionHosts",
        "Microsoft.Network/virtualNetworkGateways",
        "Microsoft.Network/ddosProtectionPlans",
        "Microsoft.Insights/activityLogAlerts",
        "Microsoft.Insights/components",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/disks",
        "Microsoft.Sql/servers",
        "Microsoft.Sql/servers/databases",
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "Microsoft.DBforMySQL/flexibleServers",
        "Microsoft.DocumentDB/databaseAccounts",
        "Microsoft.Web/sites",
        "Microsoft.ContainerService/managedClusters",
        "Microsoft.Databricks/workspaces",
    ),
    # Defender for Cloud plans; contacts and settings are read from ARM (see SUBSCRIPTION_LISTINGS).
    "securityresources": ("Microsoft.Security/pricings",),
    # Role assignments and custom role definitions at or below each subscription (the default
    # authorization scope filter), so assignments inherited from a management group are not included.
    "authorizationresources": ("Microsoft.Authorization/roleAssignments", "Microsoft.Authorization/roleDefinitions"),
}
"""Resource Graph table -> the catalogue types the inventory reads from it."""


# --- ARM listings (listings.py) ---

@dataclass(frozen=True, slots=True)
class SubscriptionListing:
    """A list request at subscription scope whose items are resources of `type`."""

    type: str
    suffix: str
    """Path after /subscriptions/{id}."""

    call: AzureCall


@dataclass(frozen=True, slots=True)
class ParentListing:
    """A list request under each resource of `parent_type` whose items are resources of `type`."""

    type: str
    parent_type: str
    suffix: str
    """Path appended to the parent's id."""

    call: AzureCall
    skip_kinds: frozenset[str] = frozenset()
    """Parent `kind` values (lower case) that cannot have such items."""


SUBSCRIPTION_LISTINGS: tuple[SubscriptionListing, ...] = (
    # The subscription's own diagnostic settings export the activity log.
    SubscriptionListing("Microsoft.Insights/diagnosticSettings", "/providers/Microsoft.Insights/diagnosticSettings",
                        AzureCall("monitor.subscriptionDiagnosticSettings",
                                  "Microsoft.Insights/diagnosticSettings/read", "2021-05-01-preview")),
    # 2023-12-01-preview is the version with `emails`, `isEnabled`, `notificationsByRole` and
    # `notificationsSources` (alert severity); the older 2020-01-01-preview shape differs.
    SubscriptionListing("Microsoft.Security/securityContacts", "/providers/Microsoft.Security/securityContacts",
                        AzureCall("security.securityContacts", "Microsoft.Security/securityContacts/read",
                                  "2023-12-01-preview")),
    SubscriptionListing("Microsoft.Security/autoProvisioningSettings",
                        "/providers/Microsoft.Security/autoProvisioningSettings",
                        AzureCall("security.autoProvisioningSettings",
                                  "Microsoft.Security/autoProvisioningSettings/read", "2017-08-01-preview")),
    SubscriptionListing("Microsoft.Security/settings", "/providers/Microsoft.Security/settings",
                        AzureCall("security.settings", "Microsoft.Security/settings/read", "2022-05-01")),
)

PARENT_LISTINGS: tuple[ParentListing, ...] = (
    ParentListing("Microsoft.Storage/storageAccounts/blobServices/containers", "Microsoft.Storage/storageAccounts",
                  "/blobServices/default/containers",
                  AzureCall("storage.containers", "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                            "2023-05-01"),
                  frozenset({"filestorage"})),
    ParentListing("Microsoft.KeyVault/vaults/keys", "Microsoft.KeyVault/vaults", "/keys",
                  AzureCall("keyvault.keys", "Microsoft.KeyVault/vaults/keys/read", "2023-07-01")),
    ParentListing("Microsoft.KeyVault/vaults/secrets", "Microsoft.KeyVault/vaults", "/secrets",
                  AzureCall("keyvault.secrets", "Microsoft.KeyVault/vaults/secrets/read", "2023-07-01")),
)


# --- Child and extension resources of catalog.py's `Child` entries (children.py) ---

@dataclass(frozen=True, slots=True)
class ChildRequest:
    """The ARM request that reads one `Child` of a parent resource."""

    suffix: str
    """Path appended to the parent's id, e.g. "/blobServices/default"."""

    call: AzureCall

    skip_kinds: frozenset[str] = frozenset()
    """Parent `kind` values (lower case) that have no such child, e.g. blob-only storage accounts."""


def _request(suffix: str, name: str, action: str, api_version: str, *,
             skip_kinds: tuple[str, ...] = ()) -> ChildRequest:
    return ChildRequest(suffix, AzureCall(name, action, api_version), frozenset(skip_kinds))


_STORAGE = "2023-05-01"
_SQL = "2021-11-01"
_POSTGRESQL = "2022-12-01"
_MYSQL = "2023-12-30"
_DIAGNOSTICS = "2021-05-01-preview"
_WEB = "2023-12-01"

CHILD_REQUESTS: dict[tuple[str, str], ChildRequest] = {
    # Storage accounts of kind FileStorage have no blob service, and BlobStorage/BlockBlobStorage accounts
    # have no file service: ARM rejects those requests, so they are not sent.
    ("Microsoft.Storage/storageAccounts", "blobServices"): _request(
        "/blobServices/default", "storage.blobServices", "Microsoft.Storage/storageAccounts/blobServices/read",
        _STORAGE, skip_kinds=("filestorage",)),
    ("Microsoft.Storage/storageAccounts", "fileServices"): _request(
        "/fileServices/default", "storage.fileServices", "Microsoft.Storage/storageAccounts/fileServices/read",
        _STORAGE, skip_kinds=("blobstorage", "blockblobstorage")),
    ("Microsoft.KeyVault/vaults", "diagnosticSettings"): _request(
        "/providers/Microsoft.Insights/diagnosticSettings", "keyvault.diagnosticSettings",
        "Microsoft.Insights/diagnosticSettings/read", _DIAGNOSTICS),
    ("Microsoft.Databricks/workspaces", "diagnosticSettings"): _request(
        "/providers/Microsoft.Insights/diagnosticSettings", "databricks.diagnosticSettings",
        "Microsoft.Insights/diagnosticSettings/read", _DIAGNOSTICS),
    ("Microsoft.Sql/servers", "auditingSettings"): _request(
        "/auditingSettings/default", "sql.auditingSettings", "Microsoft.Sql/servers/auditingSettings/read", _SQL),
    ("Microsoft.Sql/servers", "securityAlertPolicies"): _request(
        "/securityAlertPolicies/Default", "sql.securityAlertPolicies",
        "Microsoft.Sql/servers/securityAlertPolicies/read", _SQL),
    ("Microsoft.Sql/servers", "vulnerabilityAssessments"): _request(
        "/vulnerabilityAssessments/default", "sql.vulnerabilityAssessments",
        "Microsoft.Sql/servers/vulnerabilityAssessments/read", _SQL),
    ("Microsoft.Sql/servers", "administrators"): _request(
        "/administrators", "sql.administrators", "Microsoft.Sql/servers/administrators/read", _SQL),
    ("Microsoft.Sql/servers", "encryptionProtector"): _request(
        "/encryptionProtector/current", "sql.encryptionProtector", "Microsoft.Sql/servers/encryptionProtector/read",
        _SQL),
    ("Microsoft.Sql/servers", "firewallRules"): _request(
        "/firewallRules", "sql.firewallRules", "Microsoft.Sql/servers/firewallRules/read", _SQL),
    ("Microsoft.Sql/servers/databases", "transparentDataEncryption"): _request(
        "/transparentDataEncryption/current", "sql.transparentDataEncryption",
        "Microsoft.Sql/servers/databases/transparentDataEncryption/read", _SQL),
    ("Microsoft.DBforPostgreSQL/flexibleServers", "configurations"): _request(
        "/configurations", "postgresql.configurations", "Microsoft.DBforPostgreSQL/flexibleServers/configurations/read",
        _POSTGRESQL),
    ("Microsoft.DBforPostgreSQL/flexibleServers", "firewallRules"): _request(
        "/firewallRules", "postgresql.firewallRules", "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules/read",
        _POSTGRESQL),
    ("Microsoft.DBforMySQL/flexibleServers", "configurations"): _request(
        "/configurations", "mysql.configurations", "Microsoft.DBforMySQL/flexibleServers/configurations/read", _MYSQL),
    ("Microsoft.DBforMySQL/flexibleServers", "firewallRules"): _request(
        "/firewallRules", "mysql.firewallRules", "Microsoft.DBforMySQL/flexibleServers/firewallRules/read", _MYSQL),
    # `config/web` is the site configuration; app settings and connection strings need the `list` action
    # (POST .../config/appsettings/list), which returns secrets, so the scan never calls it.
    ("Microsoft.Web/sites", "config"): _request(
        "/config/web", "web.config", "Microsoft.Web/sites/config/read", _WEB),
}
"""(parent type, supplementary key) -> the request that reads it."""


# --- Key Vault certificates, read through each vault's data plane (dataplane.py) ---

KEYVAULT_API_VERSION = "7.4"
"""The `api-version` of the Key Vault data-plane reads."""

CERTIFICATES_DATA_ACTION = "Microsoft.KeyVault/vaults/certificates/read"
"""The RBAC data action that allows both reads ("List certificates ..., or get information about a
certificate"). It belongs in a role's DataActions, not its Actions."""

DATA_ACTIONS = frozenset({CERTIFICATES_DATA_ACTION})

ACCESS_POLICY_PERMISSIONS = {"certificates": ("get", "list")}
"""The vault access policy permissions the reads need in vaults without Azure RBAC: "Get Certificates"
needs certificates/list and "Get Certificate Policy" certificates/get."""

LIST_CERTIFICATES = AzureCall("keyvault.certificates", CERTIFICATES_DATA_ACTION, KEYVAULT_API_VERSION)
GET_CERTIFICATE_POLICY = AzureCall("keyvault.certificatePolicy", CERTIFICATES_DATA_ACTION, KEYVAULT_API_VERSION)


# --- Entra ID settings, read through Microsoft Graph (msgraph.py) ---

@dataclass(frozen=True, slots=True)
class GraphRead:
    """One Microsoft Graph read: the catalogue type it yields, its path and the permission it needs."""

    type: str
    path: str
    permission: str
    single: bool
    """True for one object, False for a paged collection (`value` and `@odata.nextLink`)."""

    @property
    def call(self) -> AzureCall:
        """Return the call recorded for this read; the action names the Graph permission."""
        return AzureCall(f"graph.{self.path.rsplit('/', 1)[-1]}", f"{self.permission} (Microsoft Graph)", "v1.0")


GRAPH_READS = (
    GraphRead("microsoft.graph.identitySecurityDefaultsEnforcementPolicy",
              "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy", "Policy.Read.All", single=True),
    GraphRead("microsoft.graph.userRegistrationDetails",
              "/v1.0/reports/authenticationMethods/userRegistrationDetails", "AuditLog.Read.All", single=False),
)

GRAPH_PERMISSIONS = tuple(sorted({read.permission for read in GRAPH_READS}))

DELEGATED_ROLES = "Global Reader, or Security Reader"
"""Entra roles that let a signed-in user make both reads with the delegated permissions."""


def declared_calls() -> list[AzureCall]:
    """Return every Azure RBAC-authorised call a scan may make (see permissions.py).

    The Graph reads are not among them: Microsoft Graph authorises them with Graph permissions, which no
    Azure role grants (see GRAPH_PERMISSIONS).
    """
    return [GRAPH_QUERY,
            *(listing.call for listing in SUBSCRIPTION_LISTINGS),
            *(listing.call for listing in PARENT_LISTINGS),
            *(request.call for request in CHILD_REQUESTS.values()),
            LIST_CERTIFICATES, GET_CERTIFICATE_POLICY]
