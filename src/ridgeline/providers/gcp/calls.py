"""API calls of a GCP scan: what each one reads and the IAM permission it needs.

Every request the scan sends is one of the calls declared here, so `ridgeline permissions gcp` lists
exactly the permissions the scan uses, and the recorder counts the requests by call.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GcpCall:
    """One kind of read request and the IAM permission that authorises it."""

    name: str
    """Short label for logs and coverage errors, e.g. "cloudasset.assets.list(RESOURCE)"."""

    permission: str
    """IAM permission, e.g. "cloudasset.assets.listResource"."""

    api: str
    """The service name of the API, e.g. "cloudasset.googleapis.com", used in "enable the API" hints."""

    method: str = "GET"


LIST_RESOURCES = GcpCall("cloudasset.assets.list(RESOURCE)", "cloudasset.assets.listResource",
                         "cloudasset.googleapis.com")
"""ListAssets with content type RESOURCE: the catalogue's assets with their `resource.data`."""

LIST_IAM_POLICIES = GcpCall("cloudasset.assets.list(IAM_POLICY)", "cloudasset.assets.listIamPolicy",
                            "cloudasset.googleapis.com")
"""ListAssets with content type IAM_POLICY: the IAM policy set on each asset that has one."""

GET_PROJECT = GcpCall("cloudresourcemanager.projects.get", "resourcemanager.projects.get",
                      "cloudresourcemanager.googleapis.com")
"""Resource Manager v3 projects.get: checks each --project and resolves its id and number."""

LIST_PROJECT_CONTACTS = GcpCall("essentialcontacts.projects.contacts.list", "essentialcontacts.contacts.list",
                                "essentialcontacts.googleapis.com")
LIST_ORGANIZATION_CONTACTS = GcpCall("essentialcontacts.organizations.contacts.list",
                                     "essentialcontacts.contacts.list", "essentialcontacts.googleapis.com")

QUOTA_PERMISSION = "serviceusage.services.use"
"""Needed on the project whose quota the requests use (the consumer project), besides the calls' permissions."""


def declared_calls() -> list[GcpCall]:
    """Return every call a GCP scan may make."""
    return [LIST_RESOURCES, LIST_IAM_POLICIES, GET_PROJECT, LIST_PROJECT_CONTACTS, LIST_ORGANIZATION_CONTACTS]


class CallRecorder:
    """Counts the requests of a scan by call name: one per page or GET, retries not counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def record(self, call: GcpCall) -> None:
        """Count one request of `call`."""
        with self._lock:
            self.counts[call.name] += 1

    @property
    def total(self) -> int:
        """Return the number of requests made."""
        with self._lock:
            return sum(self.counts.values())
