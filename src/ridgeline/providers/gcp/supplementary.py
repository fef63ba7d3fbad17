"""Reads of the catalogue's supplementary settings that Cloud Asset Inventory lacks, such as Essential Contacts.

Each catalogue entry `supplementary={key: "GET https://.../{id}/..."}` needs a `SupplementaryRead` here. A
key without one is recorded as unknown on every resource of its type (see scanner.py), so a catalogue
addition can never turn into a silently empty value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ridgeline.model.resource import Resource
from ridgeline.providers.gcp.calls import LIST_ORGANIZATION_CONTACTS, LIST_PROJECT_CONTACTS, GcpCall
from ridgeline.providers.gcp.clients import GcpEndpoints, RestReader
from ridgeline.providers.gcp.errors import GcpCallFailed

PROJECT_TYPE = "cloudresourcemanager.googleapis.com/Project"
ORGANIZATION_TYPE = "cloudresourcemanager.googleapis.com/Organization"

CONTACTS_PAGE_SIZE = 100

_ORGANIZATION_NAME = re.compile(r"^//cloudresourcemanager\.googleapis\.com/organizations/(\d+)$")


@dataclass(frozen=True, slots=True)
class SupplementaryRead:
    """The read of one supplementary key of one asset type: a paged REST list whose items become the value."""

    type: str
    key: str
    call: GcpCall
    endpoint: Callable[[GcpEndpoints], str]
    path: Callable[[Resource], str | None]
    """The URL path for a resource, or None when the resource lacks the id the path needs."""

    list_field: str

    def read(self, reader: RestReader, endpoints: GcpEndpoints, resource: Resource, page_size: int) -> list[Any]:
        """Return the value of `key` for `resource`; raise GcpCallFailed when it cannot be read."""
        path = self.path(resource)
        if path is None:
            raise GcpCallFailed(self.call, "MissingId", f"the asset has no id to read {self.key} with",
                                resource_id=resource.id)
        return reader.list(self.call, self.endpoint(endpoints) + path, field=self.list_field, page_size=page_size,
                           resource_id=resource.id)


def _project_contacts_path(resource: Resource) -> str | None:
    # projects.contacts.list takes the project id or number; the asset data carries both.
    project = resource.configuration.get("projectId") or resource.configuration.get("projectNumber")
    if not isinstance(project, str | int) or isinstance(project, bool) or not str(project):
        return None
    return f"/v1/projects/{quote(str(project), safe=':')}/contacts"


def _organization_contacts_path(resource: Resource) -> str | None:
    match = _ORGANIZATION_NAME.match(resource.id)
    return f"/v1/organizations/{match.group(1)}/contacts" if match else None


READS: tuple[SupplementaryRead, ...] = (
    SupplementaryRead(PROJECT_TYPE, "essentialContacts", LIST_PROJECT_CONTACTS,
                      lambda endpoints: endpoints.essentialcontacts, _project_contacts_path, "contacts"),
    SupplementaryRead(ORGANIZATION_TYPE, "essentialContacts", LIST_ORGANIZATION_CONTACTS,
                      lambda endpoints: endpoints.essentialcontacts, _organization_contacts_path, "contacts"),
)

READS_BY_KEY: dict[tuple[str, str], SupplementaryRead] = {(read.type, read.key): read for read in READS}
