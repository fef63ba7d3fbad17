"""The test organization of the GCP scan tests: one organization, one folder, two projects, in the REST shapes.

    organizations/500000000001 (ridgeline.test)   custom role "auditor"
    └── folders/500000000101 (prod)
        └── rl-alpha (500000000201)   buckets rl-alpha-public (allUsers) and rl-alpha-private (no IAM
                                      policy of its own), firewall allow-ssh-world, a KMS key
    └── rl-beta (500000000202)        bucket rl-beta-logs

`resource.data` follows each API's own JSON (camelCase, int64 as strings); IAM policies follow
google.iam.v1.Policy in JSON.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.gcp.fake_gcp import FakeGcp

ORG = "500000000001"
FOLDER = "500000000101"
ALPHA = "rl-alpha"
ALPHA_NUMBER = "500000000201"
BETA = "rl-beta"
BETA_NUMBER = "500000000202"

ORGANIZATION_NAME = f"//cloudresourcemanager.googleapis.com/organizations/{ORG}"
FOLDER_NAME = f"//cloudresourcemanager.googleapis.com/folders/{FOLDER}"
ALPHA_NAME = f"//cloudresourcemanager.googleapis.com/projects/{ALPHA_NUMBER}"
BETA_NAME = f"//cloudresourcemanager.googleapis.com/projects/{BETA_NUMBER}"
PUBLIC_BUCKET = "//storage.googleapis.com/rl-alpha-public"
PRIVATE_BUCKET = "//storage.googleapis.com/rl-alpha-private"
BETA_BUCKET = "//storage.googleapis.com/rl-beta-logs"
FIREWALL = f"//compute.googleapis.com/projects/{ALPHA}/global/firewalls/allow-ssh-world"
CRYPTO_KEY = f"//cloudkms.googleapis.com/projects/{ALPHA}/locations/us-central1/keyRings/app/cryptoKeys/data"
ORG_ROLE = f"//iam.googleapis.com/organizations/{ORG}/roles/auditor"

ALPHA_ANCESTORS = [f"projects/{ALPHA_NUMBER}", f"folders/{FOLDER}", f"organizations/{ORG}"]
BETA_ANCESTORS = [f"projects/{BETA_NUMBER}", f"organizations/{ORG}"]

UPDATE_TIME = "2026-02-27T09:15:00.123456Z"

ALPHA_CONTACTS = [
    {"name": f"projects/{ALPHA_NUMBER}/contacts/1", "email": "security@ridgeline.test",
     "notificationCategorySubscriptions": ["SECURITY", "TECHNICAL"], "languageTag": "en",
     "validationState": "VALID", "validateTime": "2026-01-10T08:00:00Z"},
    {"name": f"projects/{ALPHA_NUMBER}/contacts/2", "email": "billing@ridgeline.test",
     "notificationCategorySubscriptions": ["BILLING"], "languageTag": "en", "validationState": "VALID"},
    {"name": f"projects/{ALPHA_NUMBER}/contacts/3", "email": "legal@ridgeline.test",
     "notificationCategorySubscriptions": ["LEGAL"], "languageTag": "en", "validationState": "VALID"},
]
ORG_CONTACTS = [
    {"name": f"organizations/{ORG}/contacts/9", "email": "cloud-team@ridgeline.test",
     "notificationCategorySubscriptions": ["ALL"], "languageTag": "en-US", "validationState": "VALID"},
]


def _asset(name: str, asset_type: str, ancestors: list[str], data: dict[str, Any], *, location: str = "global",
           parent: str = "", discovery: str = "", iam_policy: dict[str, Any] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"version": "v1", "discoveryName": discovery or asset_type.rsplit("/", 1)[-1],
                                "data": data, "location": location}
    if parent:
        resource["parent"] = parent
    asset: dict[str, Any] = {"name": name, "assetType": asset_type, "ancestors": ancestors,
                             "updateTime": UPDATE_TIME, "resource": resource}
    if iam_policy is not None:
        asset["iamPolicy"] = iam_policy
    return asset


def _bucket(name: str, project_number: str, ancestors: list[str], *, prevention: str,
            iam_policy: dict[str, Any] | None) -> dict[str, Any]:
    bucket_name = name.rsplit("/", 1)[-1]
    return _asset(name, "storage.googleapis.com/Bucket", ancestors, {
        "kind": "storage#bucket", "id": bucket_name, "name": bucket_name, "projectNumber": project_number,
        "metageneration": "3", "location": "US", "locationType": "multi-region", "storageClass": "STANDARD",
        "timeCreated": "2025-11-02T10:00:00.000Z",
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                             "publicAccessPrevention": prevention},
        "versioning": {"enabled": True},
        "labels": {"team": "web", "cost-center": "42"},
    }, location="us", parent=f"//cloudresourcemanager.googleapis.com/projects/{project_number}",
        iam_policy=iam_policy)


def _project(number: str, project_id: str, ancestors: list[str], parent: dict[str, str],
             owner: str) -> dict[str, Any]:
    parent_name = f"//cloudresourcemanager.googleapis.com/{parent['type']}s/{parent['id']}"
    return _asset(f"//cloudresourcemanager.googleapis.com/projects/{number}",
                  "cloudresourcemanager.googleapis.com/Project", ancestors, {
                      "projectNumber": number, "projectId": project_id, "lifecycleState": "ACTIVE",
                      "name": project_id.replace("-", " ").title(), "createTime": "2025-06-01T09:00:00.000Z",
                      "parent": parent, "labels": {"env": "prod"},
                  }, parent=parent_name, iam_policy={
                      "version": 1, "etag": "BwYabcQ=",
                      "bindings": [
                          {"role": "roles/owner", "members": [owner]},
                          {"role": "roles/viewer", "members": ["group:auditors@ridgeline.test"]},
                      ],
                      "auditConfigs": [{"service": "allServices", "auditLogConfigs": [
                          {"logType": "ADMIN_READ"}, {"logType": "DATA_READ"},
                          {"logType": "DATA_WRITE", "exemptedMembers": ["user:batch@ridgeline.test"]},
                      ]}],
                  })


ASSETS: list[dict[str, Any]] = [
    _asset(ORGANIZATION_NAME, "cloudresourcemanager.googleapis.com/Organization", [f"organizations/{ORG}"], {
        "name": f"organizations/{ORG}", "displayName": "ridgeline.test", "lifecycleState": "ACTIVE",
        "creationTime": "2024-01-15T12:00:00.000Z", "owner": {"directoryCustomerId": "C0test01"},
    }, iam_policy={"version": 1, "etag": "BwYorgA=", "bindings": [
        {"role": "roles/resourcemanager.organizationAdmin", "members": ["group:cloud-admins@ridgeline.test"]},
    ], "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "ADMIN_READ"}]}]}),

    _asset(FOLDER_NAME, "cloudresourcemanager.googleapis.com/Folder", [f"folders/{FOLDER}", f"organizations/{ORG}"], {
        "name": f"folders/{FOLDER}", "parent": f"organizations/{ORG}", "displayName": "prod",
        "lifecycleState": "ACTIVE", "createTime": "2024-02-01T12:00:00.000Z",
    }, parent=ORGANIZATION_NAME, iam_policy={"version": 1, "etag": "BwYfldA=", "bindings": [
        {"role": "roles/resourcemanager.folderViewer", "members": ["group:prod-viewers@ridgeline.test"]},
    ]}),

    _asset(ORG_ROLE, "iam.googleapis.com/Role", [f"organizations/{ORG}"], {
        "name": f"organizations/{ORG}/roles/auditor", "title": "Auditor", "stage": "GA", "etag": "BwYrolA=",
        "includedPermissions": ["resourcemanager.projects.get", "storage.buckets.list"],
    }, parent=ORGANIZATION_NAME),

    _project(ALPHA_NUMBER, ALPHA, ALPHA_ANCESTORS, {"type": "folder", "id": FOLDER}, "user:alice@ridgeline.test"),
    _project(BETA_NUMBER, BETA, BETA_ANCESTORS, {"type": "organization", "id": ORG}, "user:bob@ridgeline.test"),

    _bucket(PUBLIC_BUCKET, ALPHA_NUMBER, ALPHA_ANCESTORS, prevention="inherited", iam_policy={
        "version": 1, "etag": "CAM=", "bindings": [
            {"role": "roles/storage.legacyBucketOwner",
             "members": [f"projectEditor:{ALPHA}", f"projectOwner:{ALPHA}"]},
            {"role": "roles/storage.objectViewer", "members": ["allUsers"]},
        ]}),
    # No IAM_POLICY content: after a complete IAM listing the scan records an empty policy for it.
    _bucket(PRIVATE_BUCKET, ALPHA_NUMBER, ALPHA_ANCESTORS, prevention="enforced", iam_policy=None),

    _asset(FIREWALL, "compute.googleapis.com/Firewall", ALPHA_ANCESTORS, {
        "id": "7261548923410094511", "creationTimestamp": "2025-11-02T02:00:00.000-08:00",
        "name": "allow-ssh-world", "description": "SSH from anywhere",
        "network": f"https://www.googleapis.com/compute/v1/projects/{ALPHA}/global/networks/default",
        "priority": 1000, "sourceRanges": ["0.0.0.0/0"], "direction": "INGRESS",
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}], "disabled": False,
        "logConfig": {"enable": False},
        "selfLink": f"https://www.googleapis.com/compute/v1/projects/{ALPHA}/global/firewalls/allow-ssh-world",
    }, parent=f"//compute.googleapis.com/projects/{ALPHA}", discovery="Firewall"),

    _asset(CRYPTO_KEY, "cloudkms.googleapis.com/CryptoKey", ALPHA_ANCESTORS, {
        "name": f"projects/{ALPHA}/locations/us-central1/keyRings/app/cryptoKeys/data",
        "purpose": "ENCRYPT_DECRYPT", "createTime": "2025-11-02T10:00:00.000Z",
        "rotationPeriod": "7776000s", "nextRotationTime": "2026-04-01T00:00:00Z",
        "versionTemplate": {"protectionLevel": "SOFTWARE", "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"},
        "destroyScheduledDuration": "2592000s",
    }, location="us-central1",
        parent=f"//cloudkms.googleapis.com/projects/{ALPHA}/locations/us-central1/keyRings/app"),

    _bucket(BETA_BUCKET, BETA_NUMBER, BETA_ANCESTORS, prevention="enforced", iam_policy={
        "version": 1, "etag": "CAE=", "bindings": [
            {"role": "roles/storage.legacyBucketOwner", "members": [f"projectOwner:{BETA}"]},
        ]}),
]

ALPHA_ASSET_NAMES = {asset["name"] for asset in ASSETS if f"projects/{ALPHA_NUMBER}" in asset["ancestors"]}
ALL_ASSET_NAMES = {asset["name"] for asset in ASSETS}


def project_body(project_id: str, number: str, parent: str) -> dict[str, Any]:
    """Return the projects.get (v3) body of a project."""
    return {"name": f"projects/{number}", "parent": parent, "projectId": project_id, "state": "ACTIVE",
            "displayName": project_id, "createTime": "2025-06-01T09:00:00.000Z", "etag": "W/\"abc\""}


def populate(fake: FakeGcp) -> None:
    """Fill the server with the test organization."""
    fake.assets = copy.deepcopy(ASSETS)
    fake.projects = {
        ALPHA: project_body(ALPHA, ALPHA_NUMBER, f"folders/{FOLDER}"),
        BETA: project_body(BETA, BETA_NUMBER, f"organizations/{ORG}"),
    }
    fake.contacts = {
        f"projects/{ALPHA}": copy.deepcopy(ALPHA_CONTACTS),
        f"projects/{BETA}": [],
        f"organizations/{ORG}": copy.deepcopy(ORG_CONTACTS),
    }


def asset(name: str) -> dict[str, Any]:
    """Return the test asset named `name`."""
    return next(item for item in ASSETS if item["name"] == name)
