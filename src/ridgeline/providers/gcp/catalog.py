"""The Cloud Asset Inventory asset types Ridgeline reads, grouped by service.

One table serves three readers. The rule loader rejects unknown service or type names as typos. The
importer leaves a service "not assessed" when an export has no asset of it. The live scan asks Cloud
Asset Inventory for these asset types, and makes the further API calls that fill `supplementary`.

The envelope of a GCP resource:
- `configuration` is the asset's `resource.data`, the resource as its own API returns it (camelCase).
- `supplementary` holds the asset's other content types under their camelCase names: `iamPolicy`
  (the IAM_POLICY content, with `bindings` and, for projects, folders and organisations,
  `auditConfigs`), `orgPolicy`, `accessPolicy`; plus what further API calls return, listed per type below.
  `ancestors` is the asset's ancestry as Cloud Asset Inventory gives it, nearest first
  (["projects/123", "folders/456", "organizations/789"]; a project, folder or organization starts with itself).
- `relationships` of projects and folders name their folder and organization ancestors, nearest first, as
  {"relationshipName": "Is contained in", "resourceType": ..., "resourceId": full asset name,
  "resourceName": "folders/456"}, so rules can look up the IAM policies and audit configs they inherit.
- `type` is the asset type ("storage.googleapis.com/Bucket"), `id` the full asset name
  ("//storage.googleapis.com/my-bucket"), `account` the project id (or the project number when the
  export names only that), `region` the asset location or "global". Organizations, folders and the
  assets that belong to them rather than to a project (hierarchical firewall policies, organization
  roles) have "organizations/N" or "folders/N" as account in a live scan, and "unknown" in an import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GcpType:
    """One asset type: its service and the supplementary settings a live scan adds beyond the asset."""

    name: str
    service: str
    supplementary: dict[str, str]
    """Supplementary key -> the API call it comes from (the asset's IAM policy is not listed: CAI has it)."""


def _type(name: str, service: str, **supplementary: str) -> GcpType:
    return GcpType(name=name, service=service, supplementary=supplementary)


TYPES: tuple[GcpType, ...] = (
    # Projects, with their IAM policies (and audit configuration).
    _type("cloudresourcemanager.googleapis.com/Project", "resourcemanager",
          essentialContacts="GET https://essentialcontacts.googleapis.com/v1/projects/{id}/contacts"),

    # The organization and its folders, with their IAM policies, and the hierarchical firewall policies
    # attached to them. These assets belong to organization and folder accounts, never to a project, so
    # they have a service of their own: a project-only export then lacks no type of a project's services.
    # Hierarchical firewall policies are created under an organization or folder, attached to
    # organizations and folders through `associations[].attachmentTarget`, and evaluated before the VPC
    # firewall rules.
    _type("cloudresourcemanager.googleapis.com/Folder", "organization"),
    _type("cloudresourcemanager.googleapis.com/Organization", "organization",
          essentialContacts="GET https://essentialcontacts.googleapis.com/v1/organizations/{id}/contacts"),
    _type("compute.googleapis.com/FirewallPolicy", "organization"),

    _type("iam.googleapis.com/ServiceAccount", "iam"),
    _type("iam.googleapis.com/ServiceAccountKey", "iam"),
    _type("iam.googleapis.com/Role", "iam"),

    _type("cloudkms.googleapis.com/KeyRing", "kms"),
    _type("cloudkms.googleapis.com/CryptoKey", "kms"),

    _type("apikeys.googleapis.com/Key", "apikeys"),
    _type("serviceusage.googleapis.com/Service", "serviceusage"),

    _type("logging.googleapis.com/LogSink", "logging"),
    _type("logging.googleapis.com/LogMetric", "logging"),
    _type("logging.googleapis.com/LogBucket", "logging"),
    _type("monitoring.googleapis.com/AlertPolicy", "monitoring"),

    _type("storage.googleapis.com/Bucket", "storage"),

    _type("dns.googleapis.com/ManagedZone", "dns"),
    _type("dns.googleapis.com/Policy", "dns"),

    _type("compute.googleapis.com/Project", "compute"),
    _type("compute.googleapis.com/Network", "compute"),
    _type("compute.googleapis.com/Subnetwork", "compute"),
    _type("compute.googleapis.com/Firewall", "compute"),
    _type("compute.googleapis.com/Instance", "compute"),
    _type("compute.googleapis.com/Disk", "compute"),
    _type("compute.googleapis.com/BackendService", "compute"),
    _type("compute.googleapis.com/RegionBackendService", "compute"),
    _type("compute.googleapis.com/ForwardingRule", "compute"),

    _type("sqladmin.googleapis.com/Instance", "sqladmin"),
    _type("bigquery.googleapis.com/Dataset", "bigquery"),
    _type("bigquery.googleapis.com/Table", "bigquery"),
    _type("dataproc.googleapis.com/Cluster", "dataproc"),
    _type("container.googleapis.com/Cluster", "container"),
)

TYPES_BY_NAME: dict[str, GcpType] = {entry.name: entry for entry in TYPES}


def services() -> dict[str, tuple[str, ...]]:
    """Return each service with its asset types, in catalogue order."""
    grouped: dict[str, list[str]] = {}
    for entry in TYPES:
        grouped.setdefault(entry.service, []).append(entry.name)
    return {service: tuple(names) for service, names in grouped.items()}


def expected_types(service: str, account: str) -> tuple[str, ...]:
    """Return the types of `service` whose absence from an account of an export means they were left out.

    The organization service is the exception to "every type of the service": an organisation account
    contains its Organization, a folder account its Folder, and either may have no firewall policy at all,
    so a missing policy tells nothing about the export.
    """
    if service != "organization":
        return services().get(service, ())
    if account.startswith("organizations/"):
        return ("cloudresourcemanager.googleapis.com/Organization",)
    if account.startswith("folders/"):
        return ("cloudresourcemanager.googleapis.com/Folder",)
    return ()


def service_of(type_name: str) -> str | None:
    """Return the service of an asset type, or None when Ridgeline does not read it."""
    entry = TYPES_BY_NAME.get(type_name)
    return entry.service if entry is not None else None
