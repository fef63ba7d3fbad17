"""The child and extension resources of catalog.py's `Child` entries: one ARM request per parent and key.

Each entry names the request that fills `supplementary[key]` of a parent resource. A request that fails leaves
the key out and records `Resource.errors["supplementaryConfiguration.<key>"]`, so rules reading it report
ERROR; nothing is ever stored as an empty value in place of a failed read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.azure.calls import AzureCall, AzureCallFailed
from ridgeline.providers.azure.catalog import BY_NAME, LIST, SINGLE, TYPES_BY_LOWER_NAME, Child
from ridgeline.providers.azure.clients import ArmReader, arm_path

logger = logging.getLogger(__name__)


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

NOT_READ_REASON = "not read by the live scan: no request is defined for this child resource"


def child_calls() -> list[AzureCall]:
    """Return the calls of every child request."""
    return [request.call for request in CHILD_REQUESTS.values()]


def read_children(arm: ArmReader, resource: Resource) -> list[tuple[str, AzureCallFailed]]:
    """Fill `resource.supplementary` with each child its catalogue entry lists; return the failed (path, failure)s.

    Children a parent of its kind cannot have are skipped. A child without a request is recorded in
    `resource.errors` (a catalogue line added without a request) and logged, but is not a call failure.
    """
    entry = TYPES_BY_LOWER_NAME.get(resource.type.lower())
    if entry is None:
        return []
    failures: list[tuple[str, AzureCallFailed]] = []
    kind = str(resource.configuration.get("kind") or "").lower()
    for key, child in entry.supplementary.items():
        path = f"supplementaryConfiguration.{key}"
        request = CHILD_REQUESTS.get((entry.name, key))
        if request is None:
            logger.warning("subscription %s: %s of %s is %s", resource.account, key, resource.id, NOT_READ_REASON)
            resource.errors[path] = NOT_READ_REASON
            continue
        if kind in request.skip_kinds:
            resource.errors[path] = f"not applicable: a {entry.name} of kind {resource.configuration.get('kind')} " \
                                    f"has no {key}"
            continue
        try:
            resource.supplementary[key] = read_child(arm, resource.id, child, request)
        except AzureCallFailed as failure:
            failures.append((path, failure))
    return failures


def read_child(arm: ArmReader, parent_id: str, child: Child, request: ChildRequest) -> Any:
    """Return one child in the catalogue's shape: the document, a list, or a mapping by `name`."""
    try:
        path = arm_path(parent_id) + request.suffix
    except ValueError as error:
        raise AzureCallFailed(request.call, "InvalidResourceId", str(error), resource_id=parent_id) from error
    if child.shape == SINGLE:
        return arm.get(request.call, path, resource_id=parent_id)
    items = arm.list(request.call, path, resource_id=parent_id)
    if child.shape == LIST:
        return items
    if child.shape == BY_NAME:
        return {str(item.get("name")): item for item in items if isinstance(item, dict)}
    raise ValueError(f"unknown child shape {child.shape!r} of {child.type}")
