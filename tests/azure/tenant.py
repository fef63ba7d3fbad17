"""A small Azure tenant in the shapes ARM and Resource Graph return, written for these tests.

Two subscriptions: A contains one resource of most catalogue types, B contains one storage account. Resource
Graph rows are the ARM documents with the columns Resource Graph adds (`subscriptionId`, `resourceGroup`,
`tenantId`) and the type in lower case, as Resource Graph writes it.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.azure.fake_arm import FakeAzure

TENANT = "11111111-2222-3333-4444-555555555555"
SUB_A = "00000000-0000-0000-0000-0000000000a1"
SUB_B = "00000000-0000-0000-0000-0000000000b2"
RG = "rg-ridgeline-test"

SECRET_SETTING = "DefaultEndpointsProtocol=https;AccountName=stapp;AccountKey=c2VjcmV0LWtleS12YWx1ZQ=="
SECRET_CONNECTION = "Server=tcp:sql-app.database.windows.net;Password=Sup3r-Secret!"


def rid(subscription: str, provider_path: str) -> str:
    """Return the ARM id of a resource in the test resource group."""
    return f"/subscriptions/{subscription}/resourceGroups/{RG}/providers/{provider_path}"


def graph_row(document: dict[str, Any], subscription: str) -> dict[str, Any]:
    """Return a Resource Graph row for an ARM document."""
    row = copy.deepcopy(document)
    row["type"] = str(document["type"]).lower()
    row["subscriptionId"] = subscription
    row["resourceGroup"] = RG
    row["tenantId"] = TENANT
    row.setdefault("tags", {})
    return row


def subscription_row(subscription: str, name: str) -> dict[str, Any]:
    """Return the resourcecontainers row of a subscription."""
    return {"id": f"/subscriptions/{subscription}", "name": name, "type": "microsoft.resources/subscriptions",
            "tenantId": TENANT, "subscriptionId": subscription,
            "properties": {"state": "Enabled", "managementGroupAncestorsChain": [{"name": "mg-prod"}]}}


STORAGE_A = rid(SUB_A, "Microsoft.Storage/storageAccounts/stapp")
STORAGE_FILES = rid(SUB_A, "Microsoft.Storage/storageAccounts/stfiles")
STORAGE_B = rid(SUB_B, "Microsoft.Storage/storageAccounts/stother")
VAULT = rid(SUB_A, "Microsoft.KeyVault/vaults/kv-app")
NSG = rid(SUB_A, "Microsoft.Network/networkSecurityGroups/nsg-app")
WATCHER = rid(SUB_A, "Microsoft.Network/networkWatchers/NetworkWatcher_westeurope")
SQL_SERVER = rid(SUB_A, "Microsoft.Sql/servers/sql-app")
SQL_DATABASE = f"{SQL_SERVER}/databases/db-app"
POSTGRES = rid(SUB_A, "Microsoft.DBforPostgreSQL/flexibleServers/pg-app")
MYSQL = rid(SUB_A, "Microsoft.DBforMySQL/flexibleServers/mysql-app")
SITE = rid(SUB_A, "Microsoft.Web/sites/web-app")
DATABRICKS = rid(SUB_A, "Microsoft.Databricks/workspaces/dbw-app")
ALERT = rid(SUB_A, "microsoft.insights/activityLogAlerts/alert-policy-write")


def storage_account(resource_id: str, name: str, *, kind: str = "StorageV2", public: bool = False,
                    location: str = "westeurope") -> dict[str, Any]:
    """Return a storage account as ARM returns it."""
    return {
        "id": resource_id, "name": name, "type": "Microsoft.Storage/storageAccounts", "location": location,
        "kind": kind, "sku": {"name": "Standard_LRS", "tier": "Standard"}, "tags": {"env": "test"},
        "properties": {"allowBlobPublicAccess": public, "minimumTlsVersion": "TLS1_2",
                       "supportsHttpsTrafficOnly": True,
                       "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny", "ipRules": [],
                                       "virtualNetworkRules": []},
                       "encryption": {"keySource": "Microsoft.Storage",
                                      "services": {"blob": {"enabled": True}, "file": {"enabled": True}}}},
    }


def populate(fake: FakeAzure) -> None:
    """Fill `fake` with the test tenant."""
    fake.subscriptions = [subscription_row(SUB_A, "Ridgeline Test A"), subscription_row(SUB_B, "Ridgeline Test B")]
    fake.management_groups = {"mg-prod": [SUB_B]}

    resources = [
        (storage_account(STORAGE_A, "stapp", public=True, location="West Europe"), SUB_A),
        (storage_account(STORAGE_FILES, "stfiles", kind="FileStorage"), SUB_A),
        (storage_account(STORAGE_B, "stother"), SUB_B),
        ({"id": VAULT, "name": "kv-app", "type": "Microsoft.KeyVault/vaults", "location": "westeurope",
          "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"},
                         "enableSoftDelete": True, "enablePurgeProtection": True, "enableRbacAuthorization": True,
                         "publicNetworkAccess": "Disabled"}}, SUB_A),
        ({"id": NSG, "name": "nsg-app", "type": "Microsoft.Network/networkSecurityGroups", "location": "westeurope",
          "properties": {"securityRules": [{"name": "allow-ssh", "properties": {
              "protocol": "Tcp", "sourceAddressPrefix": "*", "sourcePortRange": "*", "destinationAddressPrefix": "*",
              "destinationPortRange": "22", "access": "Allow", "priority": 100, "direction": "Inbound"}}]}},
         SUB_A),
        ({"id": WATCHER, "name": "NetworkWatcher_westeurope", "type": "Microsoft.Network/networkWatchers",
          "location": "westeurope", "properties": {"provisioningState": "Succeeded"}}, SUB_A),
        ({"id": f"{WATCHER}/flowLogs/fl-nsg-app", "name": "NetworkWatcher_westeurope/fl-nsg-app",
          "type": "Microsoft.Network/networkWatchers/flowLogs", "location": "westeurope",
          "properties": {"targetResourceId": NSG, "enabled": True,
                         "retentionPolicy": {"days": 90, "enabled": True}}}, SUB_A),
        ({"id": SQL_SERVER, "name": "sql-app", "type": "Microsoft.Sql/servers", "location": "westeurope",
          "kind": "v12.0", "properties": {"administratorLogin": "sqladmin", "version": "12.0",
                                          "publicNetworkAccess": "Enabled", "minimalTlsVersion": "1.2"}}, SUB_A),
        ({"id": SQL_DATABASE, "name": "sql-app/db-app", "type": "Microsoft.Sql/servers/databases",
          "location": "westeurope", "sku": {"name": "S0"}, "properties": {"status": "Online"}}, SUB_A),
        ({"id": POSTGRES, "name": "pg-app", "type": "Microsoft.DBforPostgreSQL/flexibleServers",
          "location": "westeurope", "properties": {"version": "16", "network": {"publicNetworkAccess": "Enabled"}}},
         SUB_A),
        ({"id": MYSQL, "name": "mysql-app", "type": "Microsoft.DBforMySQL/flexibleServers",
          "location": "westeurope", "properties": {"version": "8.0.21"}}, SUB_A),
        ({"id": SITE, "name": "web-app", "type": "Microsoft.Web/sites", "kind": "app", "location": "westeurope",
          "properties": {"httpsOnly": False, "siteConfig": {"appSettings": [
              {"name": "STORAGE_CONNECTION", "value": SECRET_SETTING}]}}}, SUB_A),
        ({"id": DATABRICKS, "name": "dbw-app", "type": "Microsoft.Databricks/workspaces", "location": "westeurope",
          "sku": {"name": "premium"}, "properties": {"parameters": {"enableNoPublicIp": {"value": True}}}}, SUB_A),
        ({"id": ALERT, "name": "alert-policy-write", "type": "Microsoft.Insights/activityLogAlerts",
          "location": "Global", "properties": {"enabled": True, "scopes": [f"/subscriptions/{SUB_A}"],
                                               "condition": {"allOf": [
                                                   {"field": "category", "equals": "Administrative"},
                                                   {"field": "operationName",
                                                    "equals": "Microsoft.Authorization/policyAssignments/write"}]}}},
         SUB_A),
        # A type outside the catalogue, which the query does not ask for and the scan must ignore.
        ({"id": rid(SUB_A, "Microsoft.Network/networkInterfaces/nic-app"), "name": "nic-app",
          "type": "Microsoft.Network/networkInterfaces", "location": "westeurope", "properties": {}}, SUB_A),
    ]
    fake.tables["resources"] = [graph_row(document, subscription) for document, subscription in resources]
    fake.tables["securityresources"] = [
        graph_row({"id": f"/subscriptions/{SUB_A}/providers/Microsoft.Security/pricings/VirtualMachines",
                   "name": "VirtualMachines", "type": "Microsoft.Security/pricings",
                   "properties": {"pricingTier": "Standard", "subPlan": "P2"}}, SUB_A),
        graph_row({"id": f"/subscriptions/{SUB_B}/providers/Microsoft.Security/pricings/VirtualMachines",
                   "name": "VirtualMachines", "type": "Microsoft.Security/pricings",
                   "properties": {"pricingTier": "Free"}}, SUB_B),
    ]
    fake.tables["authorizationresources"] = [
        graph_row({"id": f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/roleAssignments/"
                         "aaaaaaaa-0000-0000-0000-000000000001",
                   "name": "aaaaaaaa-0000-0000-0000-000000000001", "type": "Microsoft.Authorization/roleAssignments",
                   "properties": {"principalId": "bbbbbbbb-0000-0000-0000-000000000001", "principalType": "User",
                                  "roleDefinitionId": f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/"
                                                      "roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                                  "scope": f"/subscriptions/{SUB_A}"}}, SUB_A),
        graph_row({"id": f"/subscriptions/{SUB_A}/providers/Microsoft.Authorization/roleDefinitions/"
                         "cccccccc-0000-0000-0000-000000000001",
                   "name": "cccccccc-0000-0000-0000-000000000001", "type": "Microsoft.Authorization/roleDefinitions",
                   "properties": {"roleName": "Everything", "type": "CustomRole",
                                  "permissions": [{"actions": ["*"], "notActions": []}],
                                  "assignableScopes": [f"/subscriptions/{SUB_A}"]}}, SUB_A),
    ]

    for account in (STORAGE_A, STORAGE_FILES, STORAGE_B):
        fake.put(f"{account}/blobServices/default", {
            "id": f"{account}/blobServices/default", "name": "default",
            "type": "Microsoft.Storage/storageAccounts/blobServices",
            "properties": {"deleteRetentionPolicy": {"enabled": True, "days": 7},
                           "containerDeleteRetentionPolicy": {"enabled": False}}})
        fake.put(f"{account}/fileServices/default", {
            "id": f"{account}/fileServices/default", "name": "default",
            "type": "Microsoft.Storage/storageAccounts/fileServices",
            "properties": {"shareDeleteRetentionPolicy": {"enabled": True, "days": 7}}})
        fake.put(f"{account}/blobServices/default/containers", {"value": []})
    fake.put(f"{STORAGE_A}/blobServices/default/containers", {"value": [
        {"id": f"{STORAGE_A}/blobServices/default/containers/public-data", "name": "public-data",
         "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
         "properties": {"publicAccess": "Container"}},
    ]})

    diagnostic = {"id": f"{VAULT}/providers/microsoft.insights/diagnosticSettings/to-workspace",
                  "name": "to-workspace", "type": "Microsoft.Insights/diagnosticSettings",
                  "properties": {"workspaceId": rid(SUB_A, "Microsoft.OperationalInsights/workspaces/law"),
                                 "logs": [{"categoryGroup": "audit", "enabled": True}]}}
    fake.put(f"{VAULT}/providers/Microsoft.Insights/diagnosticSettings", {"value": [diagnostic]})
    fake.put(f"{DATABRICKS}/providers/Microsoft.Insights/diagnosticSettings", {"value": []})
    fake.put(f"{VAULT}/keys", {"value": [
        {"id": f"{VAULT}/keys/cmk", "name": "cmk", "type": "Microsoft.KeyVault/vaults/keys",
         "location": "westeurope",
         "properties": {"kty": "RSA", "keySize": 2048, "attributes": {"enabled": True, "exp": 1893456000},
                        "rotationPolicy": {"lifetimeActions": [{"action": {"type": "rotate"},
                                                                "trigger": {"timeBeforeExpiry": "P30D"}}]}}}]})
    fake.put(f"{VAULT}/secrets", {"value": [
        {"id": f"{VAULT}/secrets/db-password", "name": "db-password", "type": "Microsoft.KeyVault/vaults/secrets",
         "location": "westeurope", "properties": {"contentType": "text/plain",
                                                  "attributes": {"enabled": True},
                                                  "secretUri": "https://kv-app.vault.azure.net/secrets/db-password"}}]})

    fake.put(f"{SQL_SERVER}/auditingSettings/default", {
        "id": f"{SQL_SERVER}/auditingSettings/default", "name": "default",
        "type": "Microsoft.Sql/servers/auditingSettings",
        "properties": {"state": "Disabled", "retentionDays": 0, "storageAccountAccessKey": "a2V5LXZhbHVl"}})
    fake.put(f"{SQL_SERVER}/securityAlertPolicies/Default", {
        "id": f"{SQL_SERVER}/securityAlertPolicies/Default", "name": "Default",
        "type": "Microsoft.Sql/servers/securityAlertPolicies", "properties": {"state": "Enabled"}})
    fake.put(f"{SQL_SERVER}/vulnerabilityAssessments/default", {
        "id": f"{SQL_SERVER}/vulnerabilityAssessments/default", "name": "default",
        "type": "Microsoft.Sql/servers/vulnerabilityAssessments",
        "properties": {"recurringScans": {"isEnabled": False, "emails": []}}})
    fake.put(f"{SQL_SERVER}/administrators", {"value": [
        {"id": f"{SQL_SERVER}/administrators/ActiveDirectory", "name": "ActiveDirectory",
         "type": "Microsoft.Sql/servers/administrators",
         "properties": {"administratorType": "ActiveDirectory", "login": "dba-group", "tenantId": TENANT}}]})
    fake.put(f"{SQL_SERVER}/encryptionProtector/current", {
        "id": f"{SQL_SERVER}/encryptionProtector/current", "name": "current", "kind": "servicemanaged",
        "type": "Microsoft.Sql/servers/encryptionProtector",
        "properties": {"serverKeyName": "ServiceManaged", "serverKeyType": "ServiceManaged"}})
    fake.put(f"{SQL_SERVER}/firewallRules", {"value": [
        {"id": f"{SQL_SERVER}/firewallRules/AllowAllWindowsAzureIps", "name": "AllowAllWindowsAzureIps",
         "type": "Microsoft.Sql/servers/firewallRules",
         "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}}]})
    fake.put(f"{SQL_DATABASE}/transparentDataEncryption/current", {
        "id": f"{SQL_DATABASE}/transparentDataEncryption/current", "name": "current",
        "type": "Microsoft.Sql/servers/databases/transparentDataEncryption", "properties": {"state": "Enabled"}})

    fake.put(f"{POSTGRES}/configurations", {"value": [
        {"id": f"{POSTGRES}/configurations/log_checkpoints", "name": "log_checkpoints",
         "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
         "properties": {"value": "on", "defaultValue": "on", "dataType": "Boolean"}},
        {"id": f"{POSTGRES}/configurations/connection_throttle.enable", "name": "connection_throttle.enable",
         "type": "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
         "properties": {"value": "off", "defaultValue": "on", "dataType": "Boolean"}}]})
    fake.put(f"{POSTGRES}/firewallRules", {"value": []})
    fake.put(f"{MYSQL}/configurations", {"value": [
        {"id": f"{MYSQL}/configurations/require_secure_transport", "name": "require_secure_transport",
         "type": "Microsoft.DBforMySQL/flexibleServers/configurations", "properties": {"value": "ON"}}]})
    fake.put(f"{MYSQL}/firewallRules", {"value": [
        {"id": f"{MYSQL}/firewallRules/everyone", "name": "everyone",
         "type": "Microsoft.DBforMySQL/flexibleServers/firewallRules",
         "properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}}]})

    fake.put(f"{SITE}/config/web", {
        "id": f"{SITE}/config/web", "name": "web", "type": "Microsoft.Web/sites/config",
        "properties": {"minTlsVersion": "1.2", "ftpsState": "AllAllowed", "http20Enabled": True,
                       "appSettings": [{"name": "API_KEY", "value": "plain-text-api-key"}],
                       "connectionStrings": [{"name": "db", "connectionString": SECRET_CONNECTION,
                                              "type": "SQLAzure"}]}})

    for subscription in (SUB_A, SUB_B):
        base = f"/subscriptions/{subscription}/providers"
        fake.put(f"{base}/Microsoft.Insights/diagnosticSettings", {"value": [
            {"id": f"/subscriptions/{subscription}/providers/microsoft.insights/diagnosticSettings/activity-log",
             "name": "activity-log", "type": "Microsoft.Insights/diagnosticSettings",
             "properties": {"workspaceId": rid(subscription, "Microsoft.OperationalInsights/workspaces/law"),
                            "logs": [{"category": "Administrative", "enabled": True},
                                     {"category": "Security", "enabled": True}]}}]
            if subscription == SUB_A else []})
        fake.put(f"{base}/Microsoft.Security/securityContacts", {"value": [
            {"id": f"{base}/Microsoft.Security/securityContacts/default", "name": "default",
             "type": "Microsoft.Security/securityContacts",
             "properties": {"emails": "secops@example.com", "isEnabled": True,
                            "notificationsByRole": {"state": "On", "roles": ["Owner"]},
                            "notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "High"}]}}]})
        fake.put(f"{base}/Microsoft.Security/autoProvisioningSettings", {"value": [
            {"id": f"{base}/Microsoft.Security/autoProvisioningSettings/default", "name": "default",
             "type": "Microsoft.Security/autoProvisioningSettings", "properties": {"autoProvision": "On"}}]})
        fake.put(f"{base}/Microsoft.Security/settings", {"value": [
            {"id": f"{base}/Microsoft.Security/settings/MCAS", "name": "MCAS", "kind": "DataExportSettings",
             "type": "Microsoft.Security/settings", "properties": {"enabled": True}},
            {"id": f"{base}/Microsoft.Security/settings/WDATP", "name": "WDATP", "kind": "DataExportSettings",
             "type": "Microsoft.Security/settings", "properties": {"enabled": False}}]})

    populate_entra(fake)


SECURITY_DEFAULTS_PATH = "/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
REGISTRATION_PATH = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
USER_READY = "aaaaaaaa-0000-0000-0000-000000000001"
USER_NO_MFA = "aaaaaaaa-0000-0000-0000-000000000002"


def registration_row(user: str, upn: str, *, registered: bool, capable: bool) -> dict[str, Any]:
    """Return one userRegistrationDetails row in the shape Microsoft Graph v1.0 returns."""
    return {"id": user, "userPrincipalName": upn, "userDisplayName": upn.split("@")[0], "userType": "member",
            "isAdmin": False, "isMfaRegistered": registered, "isMfaCapable": capable, "isSsprRegistered": False,
            "isSsprEnabled": False, "isSsprCapable": False, "isPasswordlessCapable": False,
            "methodsRegistered": ["microsoftAuthenticatorPush"] if registered else [],
            "lastUpdatedDateTime": "2026-11-30T08:00:00Z"}


def populate_entra(fake: FakeAzure) -> None:
    """Serve the tenant's Microsoft Graph objects: security defaults off, two users over two pages."""
    fake.put(SECURITY_DEFAULTS_PATH, {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/"
                          "identitySecurityDefaultsEnforcementPolicy/$entity",
        "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
        "description": "Security defaults settings for the tenant", "isEnabled": False})
    fake.put(REGISTRATION_PATH, {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/"
                          "userRegistrationDetails",
        "@odata.nextLink": f"{fake.base_url}{REGISTRATION_PATH}?$skiptoken=2",
        "value": [registration_row(USER_READY, "ada@contoso.example", registered=True, capable=True)]})
    fake.put(f"{REGISTRATION_PATH}?$skiptoken=2", {
        "value": [registration_row(USER_NO_MFA, "bob@contoso.example", registered=False, capable=False)]})
