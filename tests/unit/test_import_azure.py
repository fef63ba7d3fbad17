"""Import of Azure inventories: every input format, child folding, settings the files lack, bad input, secrets."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ridgeline.imports.azure_arm import (
    NOT_IMPORTED_REASON,
    UNKNOWN_ACCOUNT,
    fold_parent_id,
    iter_azure_resources,
    normalise_location,
    resource_from_arm,
)
from ridgeline.imports.jsonstream import JsonReader, JsonStreamError
from ridgeline.imports.report import ImportReport
from ridgeline.model.finding import Status
from ridgeline.model.redaction import REDACTED, SECRET_KEYS
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.providers.azure import catalog
from ridgeline.providers.azure.envelope import AZURE_SECRET_KEYS
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import build_rule
from ridgeline.rules.yamlsource import load_yaml_text

SUBSCRIPTION = "0A1B2C3D-0000-4000-8000-00000000AB01"
ACCOUNT = SUBSCRIPTION.lower()
GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app"
STORAGE_ID = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/stapp"
VAULT_ID = f"{GROUP}/providers/Microsoft.KeyVault/vaults/kv-app"
SQL_ID = f"{GROUP}/providers/Microsoft.Sql/servers/sql-app"
POSTGRES_ID = f"{GROUP}/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-app"


# Builders ---------------------------------------------------------------------------------------------

def arm(resource_id: str, type_name: str, location: str = "westeurope", **fields: Any) -> dict[str, Any]:
    """An ARM resource as `az resource show` prints it."""
    return {"id": resource_id, "name": resource_id.rsplit("/", 1)[-1], "type": type_name, "location": location,
            "properties": {}, **fields}


def storage_account(**properties: Any) -> dict[str, Any]:
    return arm(STORAGE_ID, "Microsoft.Storage/storageAccounts", tags={"team": "payments"},
               sku={"name": "Standard_LRS"}, properties={"supportsHttpsTrafficOnly": True, **properties})


def blob_service(parent: str = STORAGE_ID, **properties: Any) -> dict[str, Any]:
    return arm(f"{parent}/blobServices/default", "Microsoft.Storage/storageAccounts/blobServices", location="",
               properties={"deleteRetentionPolicy": {"enabled": True, "days": 7}, **properties})


def file_service(parent: str = STORAGE_ID) -> dict[str, Any]:
    return arm(f"{parent}/fileServices/default", "Microsoft.Storage/storageAccounts/fileServices", location="",
               properties={"shareDeleteRetentionPolicy": {"enabled": True, "days": 7}})


def diagnostic_setting(parent: str, name: str = "to-workspace") -> dict[str, Any]:
    return arm(f"{parent}/providers/Microsoft.Insights/diagnosticSettings/{name}",
               "Microsoft.Insights/diagnosticSettings", location="",
               properties={"logs": [{"category": "AuditEvent", "enabled": True}]})


def write_json(path: Path, document: Any, *, indent: int | None = 2) -> Path:
    path.write_text(json.dumps(document, indent=indent), encoding="utf-8")
    return path


def write_lines(path: Path, documents: list[Any]) -> Path:
    path.write_text("".join(json.dumps(document) + "\n" for document in documents), encoding="utf-8")
    return path


def import_all(*sources: Path | str) -> tuple[dict[str, Resource], ImportReport]:
    report = ImportReport()
    resources = list(iter_azure_resources(list(sources), report))
    by_id = {resource.id: resource for resource in resources}
    assert len(by_id) == len(resources), "a resource id was emitted twice"
    return by_id, report


def described(report: ImportReport) -> list[str]:
    return [issue.describe() for issue in report.errors]


# Input formats ----------------------------------------------------------------------------------------

def test_az_graph_query_output(tmp_path: Path) -> None:
    # Resource Graph writes types in lower case and keeps the resource group's case as created.
    row = {"id": STORAGE_ID, "name": "stapp", "type": "microsoft.storage/storageaccounts", "location": "westeurope",
           "subscriptionId": SUBSCRIPTION.lower(), "resourceGroup": "rg-app", "tags": {"team": "payments"},
           "properties": {"minimumTlsVersion": "TLS1_2"}}
    path = write_json(tmp_path / "graph.json", {"count": 1, "data": [row], "skip_token": None, "total_records": 1})

    resources, report = import_all(path)

    assert described(report) == []
    account = resources[STORAGE_ID]
    assert account.provider == "azure"
    assert account.type == "Microsoft.Storage/storageAccounts"
    assert account.account == ACCOUNT
    assert account.region == "westeurope"
    assert account.name == "stapp"
    assert account.tags == {"team": "payments"}
    assert account.configuration["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert account.source == f"file:{path}"
    assert report.imported == {"Microsoft.Storage/storageAccounts": 1}


def test_resource_graph_rest_object_rows(tmp_path: Path) -> None:
    body = {"totalRecords": 2, "count": 2, "resultTruncated": "false", "facets": [], "data": [
        arm(f"{GROUP}/providers/Microsoft.Network/virtualNetworks/vnet-app", "microsoft.network/virtualnetworks"),
        arm(f"{GROUP}/providers/Microsoft.Network/networkInterfaces/nic-app", "microsoft.network/networkinterfaces"),
    ]}
    resources, report = import_all(write_json(tmp_path / "rest.json", body))

    assert described(report) == []
    assert sorted(resource.type for resource in resources.values()) == [
        "Microsoft.Network/virtualNetworks",
        # Types outside the catalogue keep the spelling of the file.
        "microsoft.network/networkinterfaces",
    ]


def test_resource_graph_table_form(tmp_path: Path) -> None:
    columns = [{"name": "id", "type": "string"}, {"name": "name", "type": "string"},
               {"name": "type", "type": "string"}, {"name": "location", "type": "string"},
               {"name": "properties", "type": "object"}]
    rows = [[STORAGE_ID, "stapp", "microsoft.storage/storageaccounts", "westeurope", {"allowBlobPublicAccess": False}],
            [VAULT_ID, "kv-app", "microsoft.keyvault/vaults", "westeurope", {"enablePurgeProtection": True}]]
    path = write_json(tmp_path / "table.json", {"totalRecords": 2, "count": 2, "data": {"columns": columns,
                                                                                          "rows": rows}})

    resources, report = import_all(path)

    assert described(report) == []
    assert resources[STORAGE_ID].configuration["properties"] == {"allowBlobPublicAccess": False}
    assert resources[VAULT_ID].type == "Microsoft.KeyVault/vaults"


def test_table_rows_before_columns(tmp_path: Path) -> None:
    document = {"data": {"rows": [[VAULT_ID, "microsoft.keyvault/vaults"]],
                         "columns": [{"name": "id"}, {"name": "type"}]}, "count": 1, "totalRecords": 1}
    write_json(tmp_path / "late.json", document)

    resources, report = import_all(tmp_path / "late.json")

    assert described(report) == []
    assert list(resources) == [VAULT_ID]


def test_az_resource_show_single_object(tmp_path: Path) -> None:
    # `az resource show` prints keys in alphabetical order, so `type` comes after the large `properties`.
    item = dict(sorted(storage_account(allowBlobPublicAccess=True).items()))
    resources, report = import_all(write_json(tmp_path / "show.json", item))

    assert described(report) == []
    assert resources[STORAGE_ID].configuration["properties"]["allowBlobPublicAccess"] is True


@pytest.mark.parametrize("indent", [2, None], ids=["pretty", "one-line"])
def test_array_of_resources(tmp_path: Path, indent: int | None) -> None:
    items = [storage_account(), arm(VAULT_ID, "Microsoft.KeyVault/vaults")]
    resources, report = import_all(write_json(tmp_path / "array.json", items, indent=indent))

    assert described(report) == []
    assert set(resources) == {STORAGE_ID, VAULT_ID}


def test_list_response_with_next_link(tmp_path: Path) -> None:
    page = {"value": [storage_account()], "nextLink": "https://management.azure.com/next?page=2"}
    path = write_json(tmp_path / "page.json", page)

    resources, report = import_all(path)

    assert list(resources) == [STORAGE_ID]
    assert described(report) == []
    assert [issue.describe() for issue in report.warnings] == [
        f"{path}: one page of a longer list (nextLink is set); resources on later pages are imported only if their "
        "files are given too"]


def test_json_lines(tmp_path: Path) -> None:
    # A line may hold one resource or a whole list response.
    path = write_lines(tmp_path / "export.jsonl", [storage_account(),
                                                   {"value": [arm(VAULT_ID, "Microsoft.KeyVault/vaults")]}])
    resources, report = import_all(path)

    assert described(report) == []
    assert set(resources) == {STORAGE_ID, VAULT_ID}


def test_json_lines_in_json_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "export.json", [storage_account(), arm(VAULT_ID, "Microsoft.KeyVault/vaults")])
    resources, report = import_all(path)

    assert described(report) == []
    assert set(resources) == {STORAGE_ID, VAULT_ID}


def test_concatenated_pretty_documents(tmp_path: Path) -> None:
    # `jq '.[]'` prints one indented object after another.
    text = json.dumps(storage_account(), indent=2) + "\n" + json.dumps(arm(VAULT_ID, "Microsoft.KeyVault/vaults"),
                                                                       indent=2)
    (tmp_path / "jq.json").write_text(text, encoding="utf-8")

    resources, report = import_all(tmp_path / "jq.json")

    assert described(report) == []
    assert set(resources) == {STORAGE_ID, VAULT_ID}


def test_gzip_and_byte_order_marks(tmp_path: Path) -> None:
    text = json.dumps([storage_account()], indent=2)
    (tmp_path / "export.json.gz").write_bytes(gzip.compress(text.encode()))
    # Windows PowerShell 5 redirects `az` output as UTF-16 with a byte order mark.
    vault = json.dumps([arm(VAULT_ID, "Microsoft.KeyVault/vaults")])
    (tmp_path / "powershell.json").write_bytes(vault.encode("utf-16"))
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([arm(SQL_ID, "Microsoft.Sql/servers")]).encode())

    resources, report = import_all(tmp_path)

    assert described(report) == []
    assert set(resources) == {STORAGE_ID, VAULT_ID, SQL_ID}


def test_location_and_account_normalised() -> None:
    item = arm(f"/SUBSCRIPTIONS/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Sql/servers/s/firewallRules/r",
               "Microsoft.Sql/servers/firewallRules", location="East US 2")

    resource = resource_from_arm(item, source="file:x")

    assert resource.account == ACCOUNT
    assert resource.region == "eastus2"
    assert normalise_location("Global") == "global"
    assert normalise_location(None) == "global"
    assert normalise_location("") == "global"


@pytest.mark.parametrize("type_name", ["microsoft.keyvault/vaults", "MICROSOFT.KEYVAULT/VAULTS",
                                       "Microsoft.KeyVault/vaults"])
def test_types_in_catalogue_casing(type_name: str) -> None:
    assert resource_from_arm(arm(VAULT_ID, type_name), source="x").type == "Microsoft.KeyVault/vaults"


def test_entra_objects_use_tenant(tmp_path: Path) -> None:
    tenant = "7A1B2C3D-0000-4000-8000-0000000000E1"
    policy = {"@odata.type": "#microsoft.graph.identitySecurityDefaultsEnforcementPolicy", "tenantId": tenant,
              "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults", "isEnabled": False}
    # Graph list responses name the type once, in @odata.context.
    registrations = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#reports/authenticationMethods/"
                          "userRegistrationDetails",
        "value": [{"id": "u-1", "userPrincipalName": "ann@example.com", "isMfaCapable": True, "tenantId": tenant},
                  {"id": "u-2", "userPrincipalName": "bob@example.com", "isMfaCapable": False}],
    }
    resources, report = import_all(write_json(tmp_path / "policy.json", policy),
                                   write_json(tmp_path / "users.json", registrations))

    defaults = resources["00000000-0000-0000-0000-000000000005"]
    assert defaults.type == "microsoft.graph.identitySecurityDefaultsEnforcementPolicy"
    assert defaults.account == tenant.lower()
    assert defaults.region == "global"
    assert defaults.name == "Security Defaults"
    assert resources["u-1"].type == "microsoft.graph.userRegistrationDetails"
    assert resources["u-1"].name == "ann@example.com"
    # Without a tenant id the account is unknown, and the import reports it.
    assert resources["u-2"].account == UNKNOWN_ACCOUNT
    assert [issue.location for issue in report.errors] == ["item 1"]
    assert "no tenantId" in report.errors[0].message


# Child folding ----------------------------------------------------------------------------------------

def test_children_folded_by_shape(tmp_path: Path) -> None:
    database_id = f"{SQL_ID}/databases/appdb"
    items = [
        # Children come before their parents, and in upper case, as exports do not guarantee either.
        blob_service(STORAGE_ID.upper()),
        file_service(),
        diagnostic_setting(VAULT_ID.replace("rg-app", "RG-APP"), "to-workspace"),
        diagnostic_setting(VAULT_ID, "to-storage"),
        arm(f"{SQL_ID}/auditingSettings/Default", "Microsoft.Sql/servers/auditingSettings", location="",
            properties={"state": "Enabled", "retentionDays": 90}),
        arm(f"{SQL_ID}/firewallRules/office", "Microsoft.Sql/servers/firewallRules", location="East US",
            properties={"startIpAddress": "198.51.100.1", "endIpAddress": "198.51.100.1"}),
        arm(f"{database_id}/transparentDataEncryption/current",
            "Microsoft.Sql/servers/databases/transparentDataEncryption", location="",
            properties={"state": "Enabled"}),
        arm(f"{POSTGRES_ID}/configurations/log_checkpoints", "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
            location="", properties={"value": "on"}),
        arm(f"{POSTGRES_ID}/configurations/connection_throttle.enable",
            "Microsoft.DBforPostgreSQL/flexibleServers/configurations", location="", properties={"value": "off"}),
        storage_account(),
        arm(VAULT_ID, "Microsoft.KeyVault/vaults"),
        arm(SQL_ID, "Microsoft.Sql/servers", location="eastus"),
        arm(database_id, "Microsoft.Sql/servers/databases", location="eastus"),
        arm(POSTGRES_ID, "Microsoft.DBforPostgreSQL/flexibleServers"),
    ]
    resources, report = import_all(write_json(tmp_path / "export.json", items))

    assert described(report) == []
    assert set(resources) == {STORAGE_ID, VAULT_ID, SQL_ID, database_id, POSTGRES_ID}

    storage = resources[STORAGE_ID].supplementary
    assert storage["blobServices"]["properties"]["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    assert storage["fileServices"]["properties"]["shareDeleteRetentionPolicy"]["enabled"] is True
    assert [setting["name"] for setting in resources[VAULT_ID].supplementary["diagnosticSettings"]] == [
        "to-workspace", "to-storage"]
    server = resources[SQL_ID].supplementary
    assert server["auditingSettings"]["properties"]["state"] == "Enabled"
    assert [rule["name"] for rule in server["firewallRules"]] == ["office"]
    assert resources[database_id].supplementary["transparentDataEncryption"]["properties"]["state"] == "Enabled"
    configurations = resources[POSTGRES_ID].supplementary["configurations"]
    assert configurations["log_checkpoints"]["properties"]["value"] == "on"
    assert configurations["connection_throttle.enable"]["properties"]["value"] == "off"
    assert report.folded["Microsoft.Sql/servers/firewallRules"] == 1
    assert report.folded["Microsoft.DBforPostgreSQL/flexibleServers/configurations"] == 2


def test_children_in_another_file(tmp_path: Path) -> None:
    parents = write_json(tmp_path / "graph.json", {"count": 1, "total_records": 1, "data": [storage_account()]})
    children = write_lines(tmp_path / "children.jsonl", [blob_service(), file_service()])

    resources, report = import_all(children, parents)

    assert described(report) == []
    assert set(resources[STORAGE_ID].supplementary) == {"blobServices", "fileServices"}
    assert resources[STORAGE_ID].errors == {}


def test_missing_children_are_errors(tmp_path: Path) -> None:
    resources, report = import_all(write_json(tmp_path / "export.json", [storage_account(), blob_service(),
                                                                         arm(SQL_ID, "Microsoft.Sql/servers")]))

    storage = resources[STORAGE_ID]
    assert storage.errors == {"supplementaryConfiguration.fileServices": NOT_IMPORTED_REASON}
    server_errors = resources[SQL_ID].errors
    expected_keys = set(catalog.TYPES_BY_LOWER_NAME["microsoft.sql/servers"].supplementary)
    assert {path.removeprefix("supplementaryConfiguration.") for path in server_errors} == expected_keys
    assert report.not_imported["Microsoft.Storage/storageAccounts fileServices"] == 1
    assert report.not_imported["Microsoft.Sql/servers firewallRules"] == 1


def test_missing_child_makes_rule_error(tmp_path: Path) -> None:
    rule = build_rule(load_yaml_text(yaml.safe_dump({
        "id": "test-azure-share-soft-delete", "title": "File shares are soft-deleted", "severity": "medium",
        "category": "data-protection", "provider": "azure", "service": "storage",
        "resource_types": ["Microsoft.Storage/storageAccounts"], "description": "d", "risk": "r",
        "remediation": {"text": "Turn on share soft delete."},
        "fail_if": {"not": {"path": "supplementaryConfiguration.fileServices.properties.shareDeleteRetentionPolicy"
                                    ".enabled", "equals": True}},
    })), {}, "test.yaml")
    with_service = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/with-service"
    without_service = f"{GROUP}/providers/Microsoft.Storage/storageAccounts/without-service"
    path = write_json(tmp_path / "export.json", [arm(with_service, "Microsoft.Storage/storageAccounts"),
                                                 file_service(with_service),
                                                 arm(without_service, "Microsoft.Storage/storageAccounts")])
    resources, _ = import_all(path)

    coverage = [Coverage(provider="azure", account=ACCOUNT, region="global", service="storage")]
    findings = {finding.resource_name: finding
                for finding in Engine([rule]).evaluate(list(resources.values()), coverage)}

    assert findings["with-service"].status is Status.PASS
    assert findings["without-service"].status is Status.ERROR
    assert NOT_IMPORTED_REASON in findings["without-service"].message


def test_child_without_parent_reported(tmp_path: Path) -> None:
    path = write_json(tmp_path / "orphans.json", [storage_account(), blob_service(STORAGE_ID), blob_service(
        f"{GROUP}/providers/Microsoft.Storage/storageAccounts/gone")])

    resources, report = import_all(path)

    assert list(resources) == [STORAGE_ID]
    assert len(report.errors) == 1
    issue = report.errors[0]
    assert (issue.file, issue.location) == (str(path), "item 2")
    assert "storageaccounts/gone is not in the imported files" in issue.message


def test_children_no_rule_reads_are_skipped(tmp_path: Path) -> None:
    site_id = f"{GROUP}/providers/Microsoft.Web/sites/app"
    items = [
        arm(site_id, "Microsoft.Web/sites"),
        arm(f"{site_id}/config/web", "Microsoft.Web/sites/config", properties={"minTlsVersion": "1.2"}),
        # App settings are a sibling of config/web that no rule reads, and they hold secrets.
        arm(f"{site_id}/config/appsettings", "Microsoft.Web/sites/config", properties={"DB_PASSWORD": "hunter2"}),
        # Diagnostic settings of a type whose catalogue entry lists none, with the parent absent.
        diagnostic_setting(f"{GROUP}/providers/Microsoft.Network/networkInterfaces/nic"),
    ]
    resources, report = import_all(write_json(tmp_path / "site.json", items))

    assert described(report) == []
    site = resources[site_id]
    assert site.supplementary["config"]["properties"] == {"minTlsVersion": "1.2"}
    assert "hunter2" not in json.dumps(site.to_dict())
    assert sum(report.skipped.values()) == 2


def test_subscription_diagnostic_setting_is_a_resource(tmp_path: Path) -> None:
    setting_id = f"/subscriptions/{SUBSCRIPTION}/providers/microsoft.insights/diagnosticSettings/activity-log"
    resources, report = import_all(write_json(tmp_path / "activity.json", [
        arm(setting_id, "microsoft.insights/diagnosticSettings", location="")]))

    assert described(report) == []
    assert resources[setting_id].type == "Microsoft.Insights/diagnosticSettings"
    assert resources[setting_id].region == "global"


@pytest.mark.parametrize(("resource_id", "type_name", "parent"), [
    (f"{STORAGE_ID}/blobServices/default", "Microsoft.Storage/storageAccounts/blobServices", STORAGE_ID.lower()),
    (f"{VAULT_ID}/providers/Microsoft.Insights/diagnosticSettings/x", "Microsoft.Insights/diagnosticSettings",
     VAULT_ID.lower()),
    (f"{GROUP}/providers/Microsoft.Insights/diagnosticSettings/x", "Microsoft.Insights/diagnosticSettings", None),
    (f"{VAULT_ID}/keys/k1", "Microsoft.KeyVault/vaults/keys", None),
    (f"{GROUP}/providers/Microsoft.Network/networkSecurityGroups/n/securityRules/r",
     "Microsoft.Network/networkSecurityGroups/securityRules", None),
])
def test_fold_parent_id(resource_id: str, type_name: str, parent: str | None) -> None:
    assert fold_parent_id(resource_from_arm(arm(resource_id, type_name), source="x")) == parent


def test_catalogue_single_children_name_their_child() -> None:
    from ridgeline.imports.azure_arm import FOLDS

    singles = [fold for fold in FOLDS.values() if fold.shape == catalog.SINGLE]
    assert singles
    assert all(fold.name for fold in singles)


# Bad input --------------------------------------------------------------------------------------------

def test_bad_lines_named(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join([json.dumps(storage_account()), "{not json", json.dumps(["a"]),
                               json.dumps({"id": VAULT_ID}), json.dumps(arm(SQL_ID, "Microsoft.Sql/servers"))]) + "\n")

    resources, report = import_all(path)

    assert set(resources) == {STORAGE_ID, SQL_ID}
    assert [issue.location for issue in report.errors] == ["line 2", "line 3, item 0", "line 4"]
    assert report.errors[0].message.startswith("invalid JSON")
    assert "expected a resource object, found a string" in report.errors[1].message
    assert "missing type" in report.errors[2].message


def test_bad_items_named(tmp_path: Path) -> None:
    items = [storage_account(), {"name": "no-type", "id": VAULT_ID}, 42, {"type": "Microsoft.Sql/servers"},
             arm(SQL_ID, "Microsoft.Sql/servers")]
    resources, report = import_all(write_json(tmp_path / "items.json", items))

    assert set(resources) == {STORAGE_ID, SQL_ID}
    assert [issue.location for issue in report.errors] == ["item 1", "item 2", "item 3"]
    assert all(issue.file == str(tmp_path / "items.json") for issue in report.errors)


def test_bad_rows_named(tmp_path: Path) -> None:
    columns = [{"name": "id", "type": "string"}, {"name": "type", "type": "string"}]
    rows = [[STORAGE_ID, "microsoft.storage/storageaccounts"], [VAULT_ID], "text"]
    resources, report = import_all(write_json(tmp_path / "t.json", {"data": {"columns": columns, "rows": rows}}))

    assert list(resources) == [STORAGE_ID]
    assert [issue.location for issue in report.errors] == ["row 1", "row 2"]


def test_invalid_json_keeps_earlier_items(tmp_path: Path) -> None:
    text = json.dumps([storage_account(), arm(VAULT_ID, "Microsoft.KeyVault/vaults")], indent=2)
    cut = text.rindex('"kv-app"')
    (tmp_path / "cut.json").write_text(text[:cut] + '"kv-app" "broken": 1}]', encoding="utf-8")

    resources, report = import_all(tmp_path / "cut.json")

    assert list(resources) == [STORAGE_ID]
    assert len(report.errors) == 1
    assert report.errors[0].location.startswith("line ")
    assert "invalid JSON" in report.errors[0].message


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"\n\n  \n", "the file is empty"),
    (b"\x1f\x8b not gzip", "could not read the file"),
    (b"42\n", "expected a JSON object or array"),
])
def test_bad_files_named(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    write_json(tmp_path / "good.json", [storage_account()])

    resources, report = import_all(tmp_path / "bad.json", tmp_path / "good.json")

    assert list(resources) == [STORAGE_ID]
    assert len(report.errors) == 1
    assert report.errors[0].file == str(tmp_path / "bad.json")
    assert message in report.errors[0].message


def test_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json"):
        list(iter_azure_resources([tmp_path / "nowhere.json"]))


def test_truncated_query_marks_account_incomplete(tmp_path: Path) -> None:
    first = write_json(tmp_path / "page1.json", {"count": 1, "data": [storage_account()], "skip_token": "abc",
                                                 "total_records": 3})
    _, report = import_all(first)

    assert len(report.errors) == 1
    assert "truncated: 1 of 3 records" in report.errors[0].message
    assert ("azure", ACCOUNT) in report.incomplete

    # Every page of the query together is the whole result.
    second = write_json(tmp_path / "page2.json", {"count": 2, "total_records": 3, "data": [
        arm(VAULT_ID, "Microsoft.KeyVault/vaults"), arm(SQL_ID, "Microsoft.Sql/servers")]})
    resources, report = import_all(first, second)
    assert len(resources) == 3
    assert described(report) == []
    assert report.incomplete == {}


# Secrets ----------------------------------------------------------------------------------------------

def test_secrets_redacted(tmp_path: Path) -> None:
    site_id = f"{GROUP}/providers/Microsoft.Web/sites/app"
    site = arm(site_id, "Microsoft.Web/sites", tags={"conn": "DefaultEndpointsProtocol=https;AccountKey=abc=="},
               properties={"siteConfig": {
                   "appSettings": [{"name": "API_TOKEN", "value": "tok-123"}],
                   "connectionStrings": [{"name": "db", "connectionString": "Server=db;Password=pw1"}],
                   "minTlsVersion": "1.2"}})
    server = arm(SQL_ID, "Microsoft.Sql/servers", properties={"administratorLogin": "admin",
                                                               "administratorLoginPassword": "pw2"})
    auditing = arm(f"{SQL_ID}/auditingSettings/default", "Microsoft.Sql/servers/auditingSettings",
                   properties={"state": "Enabled", "storageAccountAccessKey": "key-3",
                               "storageEndpoint": "https://st.blob.core.windows.net/?sv=2022&sig=abc"})
    cosmos = arm(f"{GROUP}/providers/Microsoft.DocumentDB/databaseAccounts/db", "Microsoft.DocumentDB/databaseAccounts",
                 properties={"primaryMasterKey": "key-4", "keys": [{"keyName": "key1", "value": "key-5"}]})
    resources, report = import_all(write_json(tmp_path / "secrets.json", [site, server, auditing, cosmos]))

    assert described(report) == []
    text = json.dumps([resource.to_dict() for resource in resources.values()])
    for secret in ("AccountKey=abc", "tok-123", "pw1", "pw2", "key-3", "sig=abc", "key-4", "key-5"):
        assert secret not in text, secret
    web = resources[site_id]
    assert web.configuration["properties"]["siteConfig"]["appSettings"] == [{"name": "API_TOKEN", "value": REDACTED}]
    assert web.configuration["properties"]["siteConfig"]["minTlsVersion"] == "1.2"
    assert web.tags["conn"] == REDACTED
    assert resources[SQL_ID].configuration["properties"]["administratorLogin"] == "admin"
    assert resources[SQL_ID].supplementary["auditingSettings"]["properties"]["state"] == "Enabled"


@pytest.mark.parametrize("key", sorted(AZURE_SECRET_KEYS | SECRET_KEYS))
def test_import_redacts_what_a_live_scan_redacts(tmp_path: Path, key: str) -> None:
    # An import once left Azure's own secret keys (instrumentationKey, storageAccountKey) and a vault secret's
    # value in place, which a live scan redacts: every such key must go, in any case and at any depth.
    spelled = key[:1].upper() + key[1:]
    item = arm(f"{GROUP}/providers/Microsoft.Insights/components/ai", "Microsoft.Insights/components",
               properties={"nested": [{spelled: "s3cr3t-value"}], "kind": "web"})
    resources, _ = import_all(write_json(tmp_path / "item.json", [item]))

    [resource] = resources.values()
    assert resource.configuration["properties"]["nested"] == [{spelled: REDACTED}]
    assert resource.configuration["properties"]["kind"] == "web"


def test_import_redacts_key_vault_secret_value(tmp_path: Path) -> None:
    secret_id = f"{VAULT_ID}/secrets/db-password"
    item = arm(secret_id, "Microsoft.KeyVault/vaults/secrets",
               properties={"value": "TOPSECRET", "attributes": {"enabled": True}})
    resources, _ = import_all(write_json(tmp_path / "secret.json", [arm(VAULT_ID, "Microsoft.KeyVault/vaults"), item]))

    assert resources[secret_id].configuration["properties"] == {"value": REDACTED, "attributes": {"enabled": True}}


# The streaming reader ---------------------------------------------------------------------------------

class CountingStream(io.StringIO):
    """A text stream that records the size of every read."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> str:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def test_reader_streams_items_across_chunks() -> None:
    items = [{"id": f"/subscriptions/s/r{index}", "n": index * 1.5, "text": "x\\u00e9\n\"" * (index % 5)}
             for index in range(2000)]
    items.append(12345678901234567890)
    stream = CountingStream(json.dumps({"count": 2001, "data": items}))
    reader = JsonReader(stream, chunk_size=64)

    decoded: list[Any] = []
    for key in reader.iter_members():
        if key == "data":
            decoded.extend(reader.iter_array())
        else:
            assert reader.value() == 2001

    assert decoded == items
    assert reader.at_end()
    # The window stays near one item: every read requests a chunk, never the whole text.
    assert max(stream.reads) <= 256


def test_reader_grows_for_a_large_item() -> None:
    big = {"properties": {"rules": [{"name": f"rule-{index}"} for index in range(5000)]}}
    reader = JsonReader(io.StringIO(json.dumps([big, 1])), chunk_size=16)
    assert list(reader.iter_array()) == [big, 1]


def test_reader_error_position() -> None:
    reader = JsonReader(io.StringIO('[\n  {"a": 1},\n  {"b": tru}\n]'), chunk_size=4)
    items = reader.iter_array()
    assert next(items) == {"a": 1}
    with pytest.raises(JsonStreamError) as raised:
        next(items)
    assert (raised.value.line, raised.value.column) == (3, 9)
