"""Benchmark `ridgeline scan file` on a generated export of a million resources, against parsing it with orjson.

For each provider, the script writes a seeded, deterministic export, then runs each measurement in a
child process of its own, so that the peak resident memory it reports (`ru_maxrss` of that child) belongs
to one measurement:

- `orjson`: read the same files and parse them with orjson alone (JSON lines one line at a time, JSON
  documents whole), keeping nothing;
- `ridgeline`: import the files and evaluate every built-in rule, as `ridgeline scan file --no-store`
  does (`ridgeline.pipeline.evaluate_files`), counting the findings by status;
- `whole` (with --whole): import the files whole, then evaluate (`import_files` and
  `evaluate_collection`), the path of a stored scan, for comparison.
- `command` (with --command): the whole `ridgeline scan file --no-store` command, with its terminal summary
  and the default JSON report, as a user runs it.

The exports:

- gcp: `gcloud asset export` JSON lines, one file of RESOURCE content and one of IAM_POLICY content,
  with snake_case keys, ancestors and update times;
- azure: `az graph query --first 1000` output, one page per file (indented as `az` prints it). One JSON
  lines file adds the child and extension resources that Resource Graph lacks, as ARM returns them
  (blob and file services, SQL server settings, diagnostic settings, vault keys and secrets).

Both mix types that the built-in rules judge (storage, network rules, instances, databases, key vaults,
...) with types that no rule reads (network interfaces, extensions, topics, ...), spread over 50
subscriptions or projects.

    python benchmarks/import_scale.py --resources 1000000 --provider gcp,azure --repeat 2
    python benchmarks/import_scale.py --resources 100000            # a quick run

The files are kept under --work (default: a folder in the system's temporary directory) and reused when
they were generated with the same size and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
PROVIDERS = ("gcp", "azure")
ACCOUNTS = 50
PAGE_SIZE = 1000
"""Records per `az graph query` page: the largest `--first` that Resource Graph accepts."""

FORMAT_VERSION = 1
"""Changes when the generated content changes, so older files on disk are not reused."""


# Shared helpers ---------------------------------------------------------------------------------------

def _pick(rng: random.Random, weighted: list[tuple[str, float]], count: int) -> list[str]:
    """Return `count` type names drawn with the given weights, in a shuffled order."""
    names = [name for name, _ in weighted]
    weights = [weight for _, weight in weighted]
    return rng.choices(names, weights=weights, k=count)


def _timestamp(rng: random.Random) -> str:
    return f"20{rng.randint(19, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:" \
           f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"


# GCP: Cloud Asset Inventory export ---------------------------------------------------------------------

GCP_REGIONS = ("us-central1", "europe-west1", "asia-east1", "us-east4")

# Asset types with their share of the export. Types of the first group are judged by built-in rules.
GCP_MIX: list[tuple[str, float]] = [
    ("compute.googleapis.com/Instance", 0.14),
    ("compute.googleapis.com/Disk", 0.14),
    ("compute.googleapis.com/Firewall", 0.04),
    ("compute.googleapis.com/Subnetwork", 0.03),
    ("compute.googleapis.com/Network", 0.005),
    ("compute.googleapis.com/BackendService", 0.005),
    ("storage.googleapis.com/Bucket", 0.08),
    ("sqladmin.googleapis.com/Instance", 0.015),
    ("iam.googleapis.com/ServiceAccount", 0.04),
    ("iam.googleapis.com/ServiceAccountKey", 0.04),
    ("bigquery.googleapis.com/Dataset", 0.02),
    ("bigquery.googleapis.com/Table", 0.08),
    ("cloudkms.googleapis.com/KeyRing", 0.005),
    ("cloudkms.googleapis.com/CryptoKey", 0.02),
    ("container.googleapis.com/Cluster", 0.003),
    ("dns.googleapis.com/ManagedZone", 0.01),
    ("apikeys.googleapis.com/Key", 0.005),
    ("logging.googleapis.com/LogSink", 0.002),
    ("dataproc.googleapis.com/Cluster", 0.002),
    ("serviceusage.googleapis.com/Service", 0.02),
    # Types that no rule reads.
    ("pubsub.googleapis.com/Topic", 0.05),
    ("pubsub.googleapis.com/Subscription", 0.05),
    ("compute.googleapis.com/Address", 0.03),
    ("compute.googleapis.com/Route", 0.04),
    ("compute.googleapis.com/Snapshot", 0.05),
    ("compute.googleapis.com/InstanceGroup", 0.02),
    ("run.googleapis.com/Service", 0.02),
    ("secretmanager.googleapis.com/Secret", 0.02),
    ("artifactregistry.googleapis.com/DockerImage", 0.044),
]

# Asset types whose IAM policy the IAM_POLICY export holds, with the share of assets that have one.
GCP_POLICY_SHARE = {
    "cloudresourcemanager.googleapis.com/Project": 1.0,
    "storage.googleapis.com/Bucket": 1.0,
    "iam.googleapis.com/ServiceAccount": 0.5,
    "bigquery.googleapis.com/Dataset": 1.0,
    "cloudkms.googleapis.com/KeyRing": 0.5,
    "cloudkms.googleapis.com/CryptoKey": 0.3,
    "pubsub.googleapis.com/Topic": 0.2,
    "secretmanager.googleapis.com/Secret": 0.5,
    "run.googleapis.com/Service": 0.5,
}

_DISCOVERY = {
    "compute.googleapis.com": "https://www.googleapis.com/discovery/v1/apis/compute/v1/rest",
    "storage.googleapis.com": "https://www.googleapis.com/discovery/v1/apis/storage/v1/rest",
    "sqladmin.googleapis.com": "https://www.googleapis.com/discovery/v1/apis/sqladmin/v1beta4/rest",
}


class GcpProject:
    """One project of the generated organisation."""

    def __init__(self, index: int) -> None:
        self.id = f"acme-prod-{index:03d}"
        self.number = str(700000000000 + index * 7919)
        self.folder = f"folders/{410000000000 + index % 5}"
        self.ancestors = [f"projects/{self.number}", self.folder, "organizations/123456789012"]


def _gcp_data(asset_type: str, name: str, project: GcpProject, region: str, index: int,
              rng: random.Random) -> dict[str, Any]:
    """Return the `resource.data` of one asset, in the shape of the service's own API."""
    base = f"https://www.googleapis.com/compute/v1/projects/{project.id}"
    zone = f"{region}-{'abc'[index % 3]}"
    created = _timestamp(rng)
    if asset_type == "compute.googleapis.com/Instance":
        items = [{"key": "startup-script", "value": "#!/bin/bash\napt-get update\n" * 3},
                 {"key": "enable-oslogin", "value": "TRUE"}]
        if index % 7 == 0:
            items.append({"key": "serial-port-enable", "value": "true"})
        return {
            "id": str(10**18 + index), "name": name, "creationTimestamp": created, "kind": "compute#instance",
            "machineType": f"{base}/zones/{zone}/machineTypes/e2-standard-4", "status": "RUNNING",
            "zone": f"{base}/zones/{zone}", "canIpForward": index % 11 == 0, "cpuPlatform": "Intel Broadwell",
            "deletionProtection": False, "fingerprint": "dGVzdA==", "labelFingerprint": "42WmSpB8rSM=",
            "labels": {"team": f"team-{index % 40}", "env": "prod", "cost-center": f"cc-{index % 90}"},
            "metadata": {"fingerprint": "c2VyaWFs", "items": items, "kind": "compute#metadata"},
            "disks": [{"autoDelete": True, "boot": True, "deviceName": "persistent-disk-0", "index": 0,
                       "interface": "SCSI", "mode": "READ_WRITE", "type": "PERSISTENT",
                       "source": f"{base}/zones/{zone}/disks/{name}",
                       "licenses": [f"{base}/global/licenses/debian-12-bookworm"], "diskSizeGb": "50"}],
            "networkInterfaces": [{
                "name": "nic0", "network": f"{base}/global/networks/vpc-{index % 4}",
                "subnetwork": f"{base}/regions/{region}/subnetworks/sub-{index % 8}",
                "networkIP": f"10.{index % 200}.{index % 250}.{index % 240 + 2}", "fingerprint": "bmljMA==",
                "accessConfigs": ([{"kind": "compute#accessConfig", "name": "External NAT", "natIP":
                                    f"34.{index % 250}.{index % 200}.{index % 230}", "type": "ONE_TO_ONE_NAT",
                                    "networkTier": "PREMIUM"}] if index % 5 == 0 else []),
            }],
            "serviceAccounts": [{
                "email": (f"{project.number}-compute@developer.gserviceaccount.com" if index % 6 == 0
                          else f"app-{index % 30}@{project.id}.iam.gserviceaccount.com"),
                "scopes": (["https://www.googleapis.com/auth/cloud-platform"] if index % 6 == 0
                           else ["https://www.googleapis.com/auth/logging.write"]),
            }],
            "scheduling": {"automaticRestart": True, "onHostMaintenance": "MIGRATE", "preemptible": False},
            "shieldedInstanceConfig": {"enableSecureBoot": index % 3 == 0, "enableVtpm": index % 4 != 0,
                                       "enableIntegrityMonitoring": index % 4 != 0},
            "selfLink": f"{base}/zones/{zone}/instances/{name}",
        }
    if asset_type == "compute.googleapis.com/Disk":
        return {"id": str(10**17 + index), "name": name, "kind": "compute#disk", "sizeGb": "100",
                "status": "READY", "zone": f"{base}/zones/{zone}", "type": f"{base}/zones/{zone}/diskTypes/pd-balanced",
                "creationTimestamp": created, "physicalBlockSizeBytes": "4096",
                "sourceImage": f"{base}/global/images/debian-12-bookworm-v20240110",
                "users": [f"{base}/zones/{zone}/instances/vm-{index}"], "labels": {"env": "prod"},
                "selfLink": f"{base}/zones/{zone}/disks/{name}",
                **({"diskEncryptionKey": {"kmsKeyName": f"projects/{project.id}/locations/{region}/keyRings/r/"
                                                         "cryptoKeys/disk"}} if index % 3 == 0 else {})}
    if asset_type == "compute.googleapis.com/Firewall":
        open_world = index % 9 == 0
        return {"id": str(10**16 + index), "name": name, "kind": "compute#firewall", "creationTimestamp": created,
                "description": "", "direction": "INGRESS", "disabled": index % 50 == 0,
                "network": f"{base}/global/networks/vpc-{index % 4}", "priority": 1000 + index % 50,
                "allowed": [{"IPProtocol": "tcp", "ports": ["22", "3389"] if open_world else ["443", "8080-8090"]}],
                "sourceRanges": ["0.0.0.0/0"] if open_world else [f"10.{index % 200}.0.0/16"],
                "targetTags": [f"web-{index % 20}"], "logConfig": {"enable": index % 2 == 0},
                "selfLink": f"{base}/global/firewalls/{name}"}
    if asset_type == "compute.googleapis.com/Subnetwork":
        return {"id": str(10**15 + index), "name": name, "kind": "compute#subnetwork",
                "ipCidrRange": f"10.{index % 250}.{index % 200}.0/24", "gatewayAddress": "10.0.0.1",
                "network": f"{base}/global/networks/vpc-{index % 4}", "region": f"{base}/regions/{region}",
                "privateIpGoogleAccess": True, "purpose": "PRIVATE", "enableFlowLogs": index % 2 == 0,
                "logConfig": {"enable": index % 2 == 0, "aggregationInterval": "INTERVAL_5_SEC"},
                "selfLink": f"{base}/regions/{region}/subnetworks/{name}"}
    if asset_type == "compute.googleapis.com/Network":
        return {"id": str(10**14 + index), "name": name if index % 10 else "default", "kind": "compute#network",
                "autoCreateSubnetworks": index % 10 == 0, "routingConfig": {"routingMode": "REGIONAL"},
                "selfLink": f"{base}/global/networks/{name}"}
    if asset_type == "compute.googleapis.com/BackendService":
        return {"id": str(10**13 + index), "name": name, "kind": "compute#backendService", "protocol": "HTTPS",
                "loadBalancingScheme": "EXTERNAL_MANAGED", "logConfig": {"enable": index % 2 == 0},
                "selfLink": f"{base}/global/backendServices/{name}"}
    if asset_type == "storage.googleapis.com/Bucket":
        uniform = index % 4 != 0
        return {"id": name, "name": name, "kind": "storage#bucket", "location": region.upper(),
                "locationType": "region", "storageClass": "STANDARD", "projectNumber": project.number,
                "timeCreated": created, "updated": created, "metageneration": "3", "etag": "CAM=",
                "labels": {"team": f"team-{index % 40}"},
                "iamConfiguration": {"bucketPolicyOnly": {"enabled": uniform},
                                     "uniformBucketLevelAccess": {"enabled": uniform},
                                     "publicAccessPrevention": "enforced" if index % 3 == 0 else "inherited"},
                "versioning": {"enabled": index % 2 == 0},
                "lifecycle": {"rule": [{"action": {"type": "Delete"}, "condition": {"age": 365}}]},
                "acl": [] if uniform else [{"entity": f"project-owners-{project.number}", "role": "OWNER"}],
                "defaultObjectAcl": [] if uniform else [{"entity": "allUsers", "role": "READER"}] if index % 40 == 0
                else [{"entity": f"project-owners-{project.number}", "role": "OWNER"}],
                "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}"}
    if asset_type == "sqladmin.googleapis.com/Instance":
        public = index % 4 == 0
        return {"name": name, "project": project.id, "kind": "sql#instance", "state": "RUNNABLE",
                "databaseVersion": "POSTGRES_15" if index % 2 else "MYSQL_8_0", "region": region,
                "instanceType": "CLOUD_SQL_INSTANCE", "backendType": "SECOND_GEN",
                "connectionName": f"{project.id}:{region}:{name}", "gceZone": f"{region}-a",
                "settings": {
                    "tier": "db-custom-2-7680", "availabilityType": "REGIONAL", "dataDiskSizeGb": "100",
                    "backupConfiguration": {"enabled": index % 5 != 0, "pointInTimeRecoveryEnabled": True,
                                            "startTime": "03:00"},
                    "ipConfiguration": {"ipv4Enabled": public, "requireSsl": index % 3 == 0,
                                        "sslMode": "ENCRYPTED_ONLY" if index % 3 == 0 else
                                        "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                                        "authorizedNetworks": [{"value": "0.0.0.0/0", "name": "any"}] if public
                                        and index % 8 == 0 else []},
                    "databaseFlags": [{"name": "log_connections", "value": "on"},
                                      {"name": "log_min_duration_statement", "value": "-1"}]
                    if index % 2 else [{"name": "local_infile", "value": "off"}],
                    "userLabels": {"env": "prod"},
                },
                "ipAddresses": [{"type": "PRIVATE", "ipAddress": f"10.1.{index % 250}.3"}],
                "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project.id}/instances/{name}"}
    if asset_type == "iam.googleapis.com/ServiceAccount":
        return {"name": f"projects/{project.id}/serviceAccounts/{name}@{project.id}.iam.gserviceaccount.com",
                "email": f"{name}@{project.id}.iam.gserviceaccount.com", "projectId": project.id,
                "uniqueId": str(10**20 + index), "displayName": f"Service account {index}", "oauth2ClientId":
                str(10**20 + index)}
    if asset_type == "iam.googleapis.com/ServiceAccountKey":
        return {"name": f"projects/{project.id}/serviceAccounts/app@{project.id}.iam.gserviceaccount.com/keys/"
                        f"{name}", "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED",
                "keyType": "USER_MANAGED" if index % 3 == 0 else "SYSTEM_MANAGED",
                "validAfterTime": _timestamp(rng), "validBeforeTime": "9999-12-31T23:59:59Z"}
    if asset_type == "bigquery.googleapis.com/Dataset":
        return {"id": f"{project.id}:{name}", "kind": "bigquery#dataset", "location": "US",
                "datasetReference": {"datasetId": name, "projectId": project.id}, "creationTime": "1690000000000",
                "access": [{"role": "OWNER", "specialGroup": "projectOwners"},
                           {"role": "READER", "specialGroup": "allAuthenticatedUsers" if index % 30 == 0
                            else "projectReaders"}],
                **({"defaultEncryptionConfiguration": {"kmsKeyName": "projects/k/locations/us/keyRings/r/"
                                                                     "cryptoKeys/bq"}} if index % 2 else {})}
    if asset_type == "bigquery.googleapis.com/Table":
        return {"id": f"{project.id}:ds.{name}", "kind": "bigquery#table", "type": "TABLE", "numRows": "1000",
                "numBytes": str(index * 1000), "tableReference": {"projectId": project.id, "datasetId": "ds",
                                                                  "tableId": name},
                "schema": {"fields": [{"name": f"col{n}", "type": "STRING", "mode": "NULLABLE"} for n in range(6)]},
                **({"encryptionConfiguration": {"kmsKeyName": "projects/k/locations/us/keyRings/r/cryptoKeys/t"}}
                   if index % 2 else {})}
    if asset_type == "cloudkms.googleapis.com/KeyRing":
        return {"name": f"projects/{project.id}/locations/{region}/keyRings/{name}", "createTime": created}
    if asset_type == "cloudkms.googleapis.com/CryptoKey":
        rotating = index % 3 != 0
        return {"name": f"projects/{project.id}/locations/{region}/keyRings/ring/cryptoKeys/{name}",
                "purpose": "ENCRYPT_DECRYPT", "createTime": created,
                "primary": {"name": "cryptoKeyVersions/1", "state": "ENABLED", "createTime": created},
                "versionTemplate": {"algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"},
                **({"rotationPeriod": "7776000s", "nextRotationTime": "2030-01-01T00:00:00Z"} if rotating else {})}
    if asset_type == "container.googleapis.com/Cluster":
        return {"name": name, "location": region, "status": "RUNNING", "currentMasterVersion": "1.29.4-gke.1043002",
                "legacyAbac": {"enabled": index % 10 == 0},
                "masterAuthorizedNetworksConfig": {"enabled": index % 2 == 0,
                                                   "cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]},
                "privateClusterConfig": {"enablePrivateNodes": index % 3 != 0},
                "networkConfig": {"network": "vpc-0", "subnetwork": "sub-0"},
                "nodePools": [{"name": "default-pool", "config": {"machineType": "e2-standard-4",
                                                                  "diskSizeGb": 100}}]}
    if asset_type == "dns.googleapis.com/ManagedZone":
        public = index % 2 == 0
        return {"name": name, "dnsName": f"{name}.example.com.", "visibility": "public" if public else "private",
                "dnssecConfig": {"state": "on" if index % 3 else "off",
                                 "defaultKeySpecs": [{"keyType": "keySigning", "algorithm": "rsasha256"},
                                                     {"keyType": "zoneSigning", "algorithm": "rsasha256"}]}
                if public else {}}
    if asset_type == "apikeys.googleapis.com/Key":
        return {"name": f"projects/{project.number}/locations/global/keys/{name}", "displayName": name,
                "createTime": created, "uid": f"uid-{index}",
                **({"restrictions": {"apiTargets": [{"service": "maps.googleapis.com"}]}} if index % 2 else {})}
    if asset_type == "logging.googleapis.com/LogSink":
        return {"name": name, "destination": f"storage.googleapis.com/sink-bucket-{index % 50}", "filter":
                "" if index % 4 == 0 else "severity>=ERROR", "writerIdentity": "serviceAccount:sink@x.iam"}
    if asset_type == "dataproc.googleapis.com/Cluster":
        return {"clusterName": name, "projectId": project.id, "config": {
            "gceClusterConfig": {"zoneUri": zone}, **({"encryptionConfig": {"gcePdKmsKeyName": "k"}}
                                                     if index % 2 else {})}}
    if asset_type == "serviceusage.googleapis.com/Service":
        return {"name": f"projects/{project.number}/services/{name}", "parent": f"projects/{project.number}",
                "state": "ENABLED", "config": {"name": name, "title": name}}
    if asset_type == "compute.googleapis.com/Project":
        return {"id": project.number, "name": project.id, "kind": "compute#project",
                "commonInstanceMetadata": {"items": [{"key": "enable-oslogin", "value": "TRUE"}]},
                "defaultServiceAccount": f"{project.number}-compute@developer.gserviceaccount.com",
                "xpnProjectStatus": "UNSPECIFIED_XPN_PROJECT_STATUS"}
    if asset_type == "cloudresourcemanager.googleapis.com/Project":
        return {"projectId": project.id, "projectNumber": project.number, "lifecycleState": "ACTIVE",
                "name": project.id, "createTime": created, "parent": {"type": "folder", "id": project.folder[8:]}}
    if asset_type == "logging.googleapis.com/LogMetric":
        return {"name": name, "filter": 'protoPayload.methodName="SetIamPolicy" AND '
                                        'protoPayload.serviceData.policyDelta.bindingDeltas.action="ADD"',
                "metricDescriptor": {"metricKind": "DELTA", "valueType": "INT64"}}
    if asset_type == "monitoring.googleapis.com/AlertPolicy":
        return {"name": f"projects/{project.id}/alertPolicies/{index}", "displayName": name, "enabled": True,
                "conditions": [{"displayName": "c", "conditionThreshold": {
                    "filter": 'metric.type="logging.googleapis.com/user/ownership-changes"',
                    "comparison": "COMPARISON_GT", "thresholdValue": 0}}]}
    if asset_type == "dns.googleapis.com/Policy":
        return {"name": name, "enableLogging": index % 2 == 0,
                "networks": [{"networkUrl": f"{base}/global/networks/vpc-{n}"} for n in range(2)]}

    # Types that no rule reads: a realistic body of their usual size.
    return {"name": name, "createTime": created, "labels": {"team": f"team-{index % 40}", "env": "prod"},
            "etag": f"etag-{index}", "state": "ACTIVE", "kmsKeyName": "",
            "description": "Generated for the Ridgeline import benchmark; no rule reads this type.",
            "uri": f"https://example.invalid/{project.id}/{name}",
            "settings": {"retention": "604800s", "messageOrdering": index % 2 == 0, "ackDeadlineSeconds": 10}}


def _gcp_policy(asset_type: str, project: GcpProject, index: int) -> dict[str, Any]:
    if asset_type == "cloudresourcemanager.googleapis.com/Project":
        return {"version": 1, "etag": "BwXhqDd3xQ8=", "bindings": [
            {"role": "roles/owner", "members": [f"user:admin-{index}@example.com"]},
            {"role": "roles/editor", "members": [f"serviceAccount:{project.number}@cloudservices.gserviceaccount"
                                                 ".com", f"serviceAccount:deploy@{project.id}.iam.gserviceaccount"
                                                 ".com"]},
            {"role": "roles/iam.serviceAccountUser", "members": ["group:devs@example.com"]},
        ], "audit_configs": [{"service": "allServices", "audit_log_configs": [
            {"log_type": "ADMIN_READ"}, {"log_type": "DATA_WRITE"}, {"log_type": "DATA_READ"}]}]}
    if asset_type == "storage.googleapis.com/Bucket":
        bindings = [
            {"role": "roles/storage.legacyBucketOwner", "members": [f"projectEditor:{project.id}",
                                                                    f"projectOwner:{project.id}"]},
            {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project.id}"]},
        ]
        if index % 25 == 0:
            bindings.append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
        return {"version": 1, "etag": "CAE=", "bindings": bindings}
    member = "allAuthenticatedUsers" if index % 40 == 0 else f"group:team-{index % 40}@example.com"
    return {"version": 1, "etag": "BwXh=", "bindings": [{"role": "roles/viewer", "members": [member]}]}


def generate_gcp(folder: Path, count: int, seed: int) -> list[Path]:
    """Write a RESOURCE and an IAM_POLICY export of `count` assets in all; return the two files."""
    rng = random.Random(seed)
    projects = [GcpProject(index) for index in range(ACCOUNTS)]
    folder.mkdir(parents=True, exist_ok=True)
    resources_path = folder / "resources.json"
    policies_path = folder / "iam_policy.json"

    # Assets every project has once (the project, its compute settings, a few metrics and policies), then
    # the mix for the rest.
    fixed: list[tuple[str, GcpProject, str]] = []
    for project in projects:
        fixed.append(("cloudresourcemanager.googleapis.com/Project", project, project.id))
        fixed.append(("compute.googleapis.com/Project", project, project.id))
        fixed.append(("dns.googleapis.com/Policy", project, "dns-logging"))
        fixed.extend(("logging.googleapis.com/LogMetric", project, f"metric-{n}") for n in range(3))
        fixed.append(("monitoring.googleapis.com/AlertPolicy", project, "ownership-alert"))
    mixed = _pick(rng, GCP_MIX, max(count - len(fixed), 0))

    with resources_path.open("wb") as resources, policies_path.open("wb") as policies:
        for index, (asset_type, project, name) in enumerate(_gcp_assets(fixed, mixed, projects, rng)):
            region = GCP_REGIONS[index % len(GCP_REGIONS)]
            service = asset_type.split("/", 1)[0]
            full_name = _gcp_name(asset_type, project, region, name)
            location = "global" if asset_type in ("cloudresourcemanager.googleapis.com/Project",
                                                  "compute.googleapis.com/Project") else region
            line = {
                "name": full_name,
                "asset_type": asset_type,
                "resource": {
                    "version": "v1",
                    "discovery_document_uri": _DISCOVERY.get(service, f"https://{service}/$discovery/rest"),
                    "discovery_name": asset_type.rsplit("/", 1)[1],
                    "parent": f"//cloudresourcemanager.googleapis.com/projects/{project.number}",
                    "data": _gcp_data(asset_type, name, project, region, index, rng),
                    "location": location,
                },
                "ancestors": project.ancestors,
                "update_time": _timestamp(rng),
            }
            resources.write(orjson.dumps(line) + b"\n")

            share = GCP_POLICY_SHARE.get(asset_type, 0.0)
            if share and rng.random() < share:
                policy = {"name": full_name, "asset_type": asset_type,
                          "iam_policy": _gcp_policy(asset_type, project, index),
                          "ancestors": project.ancestors, "update_time": _timestamp(rng)}
                policies.write(orjson.dumps(policy) + b"\n")
    return [resources_path, policies_path]


def _gcp_assets(fixed: list[tuple[str, GcpProject, str]], mixed: list[str], projects: list[GcpProject],
                rng: random.Random) -> Iterator[tuple[str, GcpProject, str]]:
    # The fixed assets are spread through the export: a real export is not ordered by project.
    spacing = max(len(mixed) // max(len(fixed), 1), 1)
    fixed_iter = iter(fixed)
    for index, asset_type in enumerate(mixed):
        if index % spacing == 0:
            extra = next(fixed_iter, None)
            if extra is not None:
                yield extra
        short = asset_type.rsplit("/", 1)[1].lower()
        yield asset_type, projects[rng.randrange(len(projects))], f"{short}-{index:07d}"
    yield from fixed_iter


def _gcp_name(asset_type: str, project: GcpProject, region: str, name: str) -> str:
    service = asset_type.split("/", 1)[0]
    short = asset_type.rsplit("/", 1)[1]
    if asset_type == "cloudresourcemanager.googleapis.com/Project":
        return f"//cloudresourcemanager.googleapis.com/projects/{project.number}"
    if asset_type == "compute.googleapis.com/Project":
        return f"//compute.googleapis.com/projects/{project.id}"
    if asset_type == "storage.googleapis.com/Bucket":
        return f"//storage.googleapis.com/{name}"
    collection = short[0].lower() + short[1:] + "s"
    return f"//{service}/projects/{project.id}/locations/{region}/{collection}/{name}"


# Azure: Resource Graph pages and ARM child resources --------------------------------------------------

AZURE_REGIONS = ("eastus", "westeurope", "southeastasia", "uksouth")

AZURE_MIX: list[tuple[str, float]] = [
    ("microsoft.compute/virtualmachines", 0.10),
    ("microsoft.compute/disks", 0.13),
    ("microsoft.network/networksecuritygroups", 0.06),
    ("microsoft.network/virtualnetworks", 0.02),
    ("microsoft.storage/storageaccounts", 0.07),
    ("microsoft.sql/servers", 0.012),
    ("microsoft.sql/servers/databases", 0.03),
    ("microsoft.keyvault/vaults", 0.015),
    ("microsoft.web/sites", 0.025),
    ("microsoft.dbforpostgresql/flexibleservers", 0.005),
    ("microsoft.dbformysql/flexibleservers", 0.004),
    ("microsoft.documentdb/databaseaccounts", 0.008),
    ("microsoft.containerservice/managedclusters", 0.004),
    ("microsoft.network/applicationgateways", 0.004),
    ("microsoft.network/publicipaddresses", 0.05),
    ("microsoft.authorization/roleassignments", 0.03),
    ("microsoft.network/networkwatchers/flowlogs", 0.004),
    ("microsoft.databricks/workspaces", 0.002),
    # Types that no rule reads.
    ("microsoft.network/networkinterfaces", 0.14),
    ("microsoft.compute/virtualmachines/extensions", 0.08),
    ("microsoft.web/serverfarms", 0.02),
    ("microsoft.network/privateendpoints", 0.03),
    ("microsoft.network/loadbalancers", 0.01),
    ("microsoft.network/routetables", 0.01),
    ("microsoft.operationalinsights/workspaces", 0.004),
    ("microsoft.recoveryservices/vaults", 0.004),
    ("microsoft.containerregistry/registries", 0.004),
    ("microsoft.network/privatednszones", 0.013),
]

# Child and extension resources that Resource Graph lacks, per parent type: (suffix of the id, child type).
AZURE_CHILDREN: dict[str, list[tuple[str, str]]] = {
    "microsoft.storage/storageaccounts": [
        ("/blobServices/default", "Microsoft.Storage/storageAccounts/blobServices"),
        ("/fileServices/default", "Microsoft.Storage/storageAccounts/fileServices"),
    ],
    "microsoft.sql/servers": [
        ("/auditingSettings/default", "Microsoft.Sql/servers/auditingSettings"),
        ("/securityAlertPolicies/Default", "Microsoft.Sql/servers/securityAlertPolicies"),
        ("/firewallRules/AllowAllWindowsAzureIps", "Microsoft.Sql/servers/firewallRules"),
    ],
    "microsoft.keyvault/vaults": [
        ("/providers/Microsoft.Insights/diagnosticSettings/to-workspace", "Microsoft.Insights/diagnosticSettings"),
        ("/keys/data-key", "Microsoft.KeyVault/vaults/keys"),
        ("/secrets/db-password", "Microsoft.KeyVault/vaults/secrets"),
    ],
}


def _azure_subscription(index: int) -> str:
    return f"{index:08x}-1111-4222-8333-{index:012x}"


def _azure_properties(resource_type: str, index: int, subscription: str, group: str, name: str,
                      rng: random.Random) -> dict[str, Any]:
    """Return the `properties` of one resource, in the shape Resource Manager returns."""
    prefix = f"/subscriptions/{subscription}/resourceGroups/{group}"
    if resource_type == "microsoft.compute/virtualmachines":
        linux = index % 3 != 0
        os_profile: dict[str, Any] = {"computerName": name, "adminUsername": "azureuser",
                                      "allowExtensionOperations": True, "requireGuestProvisionSignal": True}
        if linux:
            os_profile["linuxConfiguration"] = {"disablePasswordAuthentication": index % 5 != 0, "patchSettings": {
                "patchMode": "ImageDefault", "assessmentMode": "AutomaticByPlatform" if index % 2 else
                "ImageDefault"}, "provisionVMAgent": True}
        else:
            os_profile["windowsConfiguration"] = {"enableAutomaticUpdates": True, "patchSettings": {
                "patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"}, "provisionVMAgent": True}
        return {
            "vmId": f"{index:08x}-aaaa-4bbb-8ccc-{index:012x}", "provisioningState": "Succeeded",
            "hardwareProfile": {"vmSize": "Standard_D4s_v5"},
            "storageProfile": {
                "imageReference": {"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy",
                                   "sku": "22_04-lts-gen2", "version": "latest"},
                "osDisk": {"osType": "Linux" if linux else "Windows", "name": f"{name}-osdisk",
                           "createOption": "FromImage", "caching": "ReadWrite", "diskSizeGB": 30,
                           "managedDisk": {"storageAccountType": "Premium_LRS",
                                           "id": f"{prefix}/providers/Microsoft.Compute/disks/{name}-osdisk"}},
                "dataDisks": [{"lun": 0, "name": f"{name}-data", "createOption": "Attach", "diskSizeGB": 128,
                               "managedDisk": {"storageAccountType": "Premium_LRS",
                                               "id": f"{prefix}/providers/Microsoft.Compute/disks/{name}-data"}}]
                if index % 2 else [],
            },
            "osProfile": os_profile,
            "securityProfile": {"encryptionAtHost": index % 4 == 0, "securityType": "TrustedLaunch",
                                "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}},
            "networkProfile": {"networkInterfaces": [
                {"id": f"{prefix}/providers/Microsoft.Network/networkInterfaces/{name}-nic"}]},
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
            "extended": {"instanceView": {"powerState": {"code": "PowerState/running",
                                                         "displayStatus": "VM running"}}},
        }
    if resource_type == "microsoft.compute/disks":
        return {"diskSizeGB": 128, "diskState": "Attached" if index % 6 else "Unattached",
                "provisioningState": "Succeeded", "timeCreated": _timestamp(rng), "diskIOPSReadWrite": 500,
                "creationData": {"createOption": "Empty"}, "networkAccessPolicy": "AllowAll" if index % 5 == 0
                else "DenyAll", "publicNetworkAccess": "Enabled" if index % 5 == 0 else "Disabled",
                "encryption": {"type": "EncryptionAtRestWithPlatformKey" if index % 3 else
                               "EncryptionAtRestWithCustomerKey"}, "uniqueId": f"{index:032x}"}
    if resource_type == "microsoft.network/networksecuritygroups":
        rules = []
        for number in range(4 + index % 5):
            open_world = number == 0 and index % 8 == 0
            rules.append({
                "name": f"rule-{number}", "id": f"{prefix}/providers/Microsoft.Network/networkSecurityGroups/{name}"
                                                f"/securityRules/rule-{number}",
                "properties": {
                    "protocol": "Tcp", "sourcePortRange": "*", "access": "Allow", "direction": "Inbound",
                    "priority": 100 + number * 10, "provisioningState": "Succeeded",
                    "sourceAddressPrefix": "Internet" if open_world else f"10.{number}.0.0/16",
                    "destinationAddressPrefix": "*",
                    **({"destinationPortRange": "22"} if number % 2 == 0 else
                       {"destinationPortRanges": ["443", "8080-8090"]}),
                },
            })
        return {"provisioningState": "Succeeded", "resourceGuid": f"{index:032x}", "securityRules": rules,
                "defaultSecurityRules": [], "networkInterfaces": [
                    {"id": f"{prefix}/providers/Microsoft.Network/networkInterfaces/nic-{index}"}]}
    if resource_type == "microsoft.network/virtualnetworks":
        return {"provisioningState": "Succeeded", "addressSpace": {"addressPrefixes": [f"10.{index % 250}.0.0/16"]},
                "enableDdosProtection": index % 10 == 0, "subnets": [
                    {"name": f"snet-{n}", "id": f"{prefix}/providers/Microsoft.Network/virtualNetworks/{name}/"
                                                f"subnets/snet-{n}",
                     "properties": {"addressPrefix": f"10.{index % 250}.{n}.0/24", **(
                         {"networkSecurityGroup": {"id": f"{prefix}/providers/Microsoft.Network/"
                                                         f"networkSecurityGroups/nsg-{n}"}} if n % 2 else {})}}
                    for n in range(3)]}
    if resource_type == "microsoft.storage/storageaccounts":
        strict = index % 3 != 0
        return {
            "provisioningState": "Succeeded", "creationTime": _timestamp(rng), "primaryLocation": "eastus",
            "minimumTlsVersion": "TLS1_2" if strict else "TLS1_0", "allowBlobPublicAccess": not strict,
            "supportsHttpsTrafficOnly": index % 10 != 0, "allowSharedKeyAccess": index % 2 == 0,
            "allowCrossTenantReplication": False, "defaultToOAuthAuthentication": strict,
            "publicNetworkAccess": "Enabled" if index % 4 else "Disabled", "isHnsEnabled": index % 7 == 0,
            "keyCreationTime": {"key1": _timestamp(rng), "key2": _timestamp(rng)},
            **({"keyPolicy": {"keyExpirationPeriodInDays": 90}} if strict else {}),
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny" if strict else "Allow",
                            "ipRules": [], "virtualNetworkRules": []},
            "encryption": {"keySource": "Microsoft.Storage", "services": {
                "blob": {"enabled": True, "keyType": "Account"}, "file": {"enabled": True, "keyType": "Account"}}},
            "primaryEndpoints": {service: f"https://{name}.{service}.core.windows.net/"
                                 for service in ("blob", "queue", "table", "file", "dfs", "web")},
            "privateEndpointConnections": [], "accessTier": "Hot",
        }
    if resource_type == "microsoft.sql/servers":
        return {"administratorLogin": "sqladmin", "version": "12.0", "state": "Ready",
                "fullyQualifiedDomainName": f"{name}.database.windows.net",
                "minimalTlsVersion": "1.2" if index % 3 else "1.0", "publicNetworkAccess": "Enabled",
                "administrators": {"administratorType": "ActiveDirectory", "login": "dba-group"}
                if index % 2 else None}
    if resource_type == "microsoft.sql/servers/databases":
        return {"collation": "SQL_Latin1_General_CP1_CI_AS", "status": "Online", "maxSizeBytes": 268435456000,
                "databaseId": f"{index:032x}", "currentServiceObjectiveName": "GP_Gen5_2",
                "zoneRedundant": False, "readScale": "Disabled", "requestedBackupStorageRedundancy": "Geo"}
    if resource_type == "microsoft.keyvault/vaults":
        return {"tenantId": "72f988bf-0000-4000-8000-000000000000", "sku": {"family": "A", "name": "standard"},
                "enableSoftDelete": True, "softDeleteRetentionInDays": 90, "enablePurgeProtection": index % 2 == 0
                or None, "enableRbacAuthorization": index % 3 != 0, "publicNetworkAccess": "Enabled",
                "networkAcls": {"bypass": "AzureServices", "defaultAction": "Deny" if index % 2 else "Allow",
                                "ipRules": [], "virtualNetworkRules": []},
                "vaultUri": f"https://{name}.vault.azure.net/", "accessPolicies": [],
                "privateEndpointConnections": []}
    if resource_type == "microsoft.web/sites":
        return {"state": "Running", "hostNames": [f"{name}.azurewebsites.net"], "httpsOnly": index % 4 != 0,
                "clientCertEnabled": False, "serverFarmId": f"{prefix}/providers/Microsoft.Web/serverfarms/plan",
                "siteConfig": {"minTlsVersion": "1.2", "ftpsState": "FtpsOnly", "http20Enabled": True},
                "defaultHostName": f"{name}.azurewebsites.net", "publicNetworkAccess": "Enabled"}
    if resource_type in ("microsoft.dbforpostgresql/flexibleservers", "microsoft.dbformysql/flexibleservers"):
        return {"version": "15", "state": "Ready", "fullyQualifiedDomainName": f"{name}.database.azure.com",
                "storage": {"storageSizeGB": 128}, "backup": {"backupRetentionDays": 7, "geoRedundantBackup":
                                                              "Disabled"},
                "network": {"publicNetworkAccess": "Enabled" if index % 2 else "Disabled"},
                "highAvailability": {"mode": "Disabled"}}
    if resource_type == "microsoft.documentdb/databaseaccounts":
        return {"databaseAccountOfferType": "Standard", "disableLocalAuth": index % 2 == 0,
                "publicNetworkAccess": "Enabled", "isVirtualNetworkFilterEnabled": index % 3 == 0,
                "ipRules": [] if index % 2 else [{"ipAddressOrRange": "0.0.0.0"}],
                "consistencyPolicy": {"defaultConsistencyLevel": "Session"}}
    if resource_type == "microsoft.network/applicationgateways":
        return {"sku": {"name": "WAF_v2", "tier": "WAF_v2" if index % 2 else "Standard_v2"},
                "enableHttp2": index % 2 == 0, "operationalState": "Running",
                "webApplicationFirewallConfiguration": {"enabled": index % 2 == 1, "firewallMode": "Prevention",
                                                        "ruleSetType": "OWASP", "ruleSetVersion": "3.2",
                                                        "requestBodyCheck": True} if index % 2 else None}
    if resource_type == "microsoft.authorization/roleassignments":
        role = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635" if index % 20 == 0 else "acdd72a7-3385-48ef-bd42-f606fba81ae7"
        return {"roleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
                                    f"roleDefinitions/{role}",
                "principalId": f"{index:08x}-0000-4000-8000-{index:012x}", "principalType": "User",
                "scope": f"/subscriptions/{subscription}", "createdOn": _timestamp(rng)}
    if resource_type == "microsoft.network/networkwatchers/flowlogs":
        return {"targetResourceId": f"{prefix}/providers/Microsoft.Network/networkSecurityGroups/nsg-{index}",
                "enabled": True, "retentionPolicy": {"days": 90 if index % 2 else 30, "enabled": True},
                "format": {"type": "JSON", "version": 2}}
    if resource_type == "microsoft.databricks/workspaces":
        return {"managedResourceGroupId": f"/subscriptions/{subscription}/resourceGroups/databricks-rg-{name}",
                "publicNetworkAccess": "Enabled", "parameters": {
                    "enableNoPublicIp": {"type": "Bool", "value": index % 2 == 0},
                    "customVirtualNetworkId": {"type": "String", "value": f"{prefix}/providers/Microsoft.Network/"
                                                                          f"virtualNetworks/vnet-{index}"}}}

    # Types that no rule reads.
    return {"provisioningState": "Succeeded", "resourceGuid": f"{index:032x}", "ipConfigurations": [{
        "name": "ipconfig1", "properties": {"privateIPAddress": f"10.{index % 250}.{index % 200}.4",
                                            "privateIPAllocationMethod": "Dynamic", "subnet": {
                                                "id": f"{prefix}/providers/Microsoft.Network/virtualNetworks/"
                                                      f"vnet-{index % 9}/subnets/default"}}}],
        "enableAcceleratedNetworking": True, "dnsSettings": {"dnsServers": []}}


def _azure_row(resource_type: str, index: int, rng: random.Random, extra: list[dict[str, Any]]) -> dict[str, Any]:
    """Return one Resource Graph row, and add its child resources to `extra`."""
    subscription = _azure_subscription(index % ACCOUNTS)
    group = f"rg-app-{index % 200:03d}"
    short = resource_type.rsplit("/", 1)[1]
    name = f"{short[:10]}{index:07d}"
    provider_path = "/".join(resource_type.split("/")[:2])
    if resource_type == "microsoft.sql/servers/databases":
        resource_id = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Sql/servers/" \
                      f"sqlsrv-{index % 997}/databases/{name}"
    elif resource_type == "microsoft.compute/virtualmachines/extensions":
        resource_id = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/" \
                      f"virtualMachines/vm-{index}/extensions/{name}"
    elif resource_type == "microsoft.network/networkwatchers/flowlogs":
        resource_id = f"/subscriptions/{subscription}/resourceGroups/NetworkWatcherRG/providers/" \
                      f"Microsoft.Network/networkWatchers/NetworkWatcher_eastus/flowLogs/{name}"
    elif resource_type == "microsoft.authorization/roleassignments":
        resource_id = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments/" \
                      f"{index:08x}-9999-4999-8999-{index:012x}"
    else:
        resource_id = f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{provider_path}/{name}"
    location = AZURE_REGIONS[index % len(AZURE_REGIONS)]
    row: dict[str, Any] = {
        "id": resource_id, "name": name, "type": resource_type, "tenantId": "72f988bf-0000-4000-8000-000000000000",
        "kind": "StorageV2" if resource_type == "microsoft.storage/storageaccounts" else "",
        "location": location, "resourceGroup": group, "subscriptionId": subscription, "managedBy": "",
        "sku": {"name": "Standard_LRS" if index % 2 else "Standard_GRS", "tier": "Standard"}, "plan": None,
        "properties": _azure_properties(resource_type, index, subscription, group, name, rng),
        "tags": {"env": "prod", "team": f"team-{index % 40}", "cost-center": f"cc-{index % 90}"},
        "identity": {"type": "SystemAssigned", "principalId": f"{index:08x}-1234-4000-8000-000000000000"}
        if index % 3 == 0 else None,
        "zones": ["1"] if index % 2 else None, "extendedLocation": None,
    }
    for suffix, child_type in AZURE_CHILDREN.get(resource_type, ()):
        if index % 2 == 0 or child_type.endswith(("/keys", "/secrets")):
            extra.append(_azure_child(resource_id + suffix, child_type, index))
    return row


def _azure_child(resource_id: str, child_type: str, index: int) -> dict[str, Any]:
    name = resource_id.rsplit("/", 1)[1]
    properties: dict[str, Any]
    if child_type.endswith("blobServices"):
        properties = {"deleteRetentionPolicy": {"enabled": index % 4 != 0, "days": 7},
                      "containerDeleteRetentionPolicy": {"enabled": index % 3 != 0, "days": 7},
                      "isVersioningEnabled": index % 2 == 0, "cors": {"corsRules": []}}
    elif child_type.endswith("fileServices"):
        properties = {"shareDeleteRetentionPolicy": {"enabled": True, "days": 7}, "protocolSettings": {
            "smb": {"versions": "SMB3.0;SMB3.1.1", "channelEncryption": "AES-128-GCM;AES-256-GCM"}}}
    elif child_type.endswith("auditingSettings"):
        properties = {"state": "Enabled" if index % 3 else "Disabled", "retentionDays": 90,
                      "isAzureMonitorTargetEnabled": True}
    elif child_type.endswith("securityAlertPolicies"):
        properties = {"state": "Enabled", "emailAccountAdmins": True, "retentionDays": 0}
    elif child_type.endswith("firewallRules"):
        properties = {"startIpAddress": "0.0.0.0", "endIpAddress": "0.0.0.0"}
    elif child_type.endswith("diagnosticSettings"):
        properties = {"workspaceId": "/subscriptions/x/resourceGroups/logs/providers/Microsoft.OperationalInsights/"
                                     "workspaces/central", "logs": [{"category": "AuditEvent", "enabled": True}]}
    else:
        properties = {"attributes": {"enabled": True, "created": 1700000000,
                                     **({"exp": 1900000000} if index % 2 else {})},
                      "kty": "RSA", "keySize": 2048}
    return {"id": resource_id, "name": name, "type": child_type, "properties": properties}


def _azure_subscription_resources(subscription: str) -> list[dict[str, Any]]:
    """Return the subscription-level settings every subscription has: Defender plans, contacts, alerts."""
    rows: list[dict[str, Any]] = []
    base = f"/subscriptions/{subscription}"
    for plan in ("VirtualMachines", "SqlServers", "AppServices", "StorageAccounts", "KeyVaults", "Arm", "Containers",
                 "CosmosDbs", "OpenSourceRelationalDatabases", "SqlServerVirtualMachines", "Api",
                 "CloudPosture"):
        rows.append({"id": f"{base}/providers/Microsoft.Security/pricings/{plan}", "name": plan,
                     "type": "microsoft.security/pricings", "subscriptionId": subscription, "location": "",
                     "properties": {"pricingTier": "Standard" if plan != "Api" else "Free"}})
    rows.append({"id": f"{base}/providers/Microsoft.Security/securityContacts/default", "name": "default",
                 "type": "microsoft.security/securitycontacts", "subscriptionId": subscription, "properties": {
                     "emails": "secops@example.com", "isEnabled": True,
                     "notificationsByRole": {"state": "On", "roles": ["Owner"]},
                     "notificationsSources": [{"sourceType": "Alert", "minimalSeverity": "High"}]}})
    rows.append({"id": f"{base}/providers/microsoft.insights/diagnosticSettings/activity-to-workspace",
                 "name": "activity-to-workspace", "type": "microsoft.insights/diagnosticsettings",
                 "subscriptionId": subscription, "properties": {"workspaceId": "/subscriptions/x/ws", "logs": [
                     {"category": category, "enabled": True} for category in
                     ("Administrative", "Security", "Alert", "Policy")]}})
    for operation in ("Microsoft.Authorization/policyAssignments/write",
                      "Microsoft.Network/networkSecurityGroups/write"):
        rows.append({"id": f"{base}/resourceGroups/monitoring/providers/Microsoft.Insights/activityLogAlerts/"
                           f"{operation.replace('/', '-')}", "name": operation, "location": "global",
                     "type": "microsoft.insights/activitylogalerts", "subscriptionId": subscription,
                     "properties": {"enabled": True, "scopes": [base], "condition": {"allOf": [
                         {"field": "category", "equals": "Administrative"},
                         {"field": "operationName", "equals": operation}]}}})
    for region in AZURE_REGIONS:
        rows.append({"id": f"{base}/resourceGroups/NetworkWatcherRG/providers/Microsoft.Network/networkWatchers/"
                           f"NetworkWatcher_{region}", "name": f"NetworkWatcher_{region}", "location": region,
                     "type": "microsoft.network/networkwatchers", "subscriptionId": subscription,
                     "properties": {"provisioningState": "Succeeded"}})
    return rows


def generate_azure(folder: Path, count: int, seed: int) -> list[Path]:
    """Write `count` resources as Resource Graph pages plus one JSON lines file of child resources."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    fixed: list[dict[str, Any]] = []
    for index in range(ACCOUNTS):
        fixed.extend(_azure_subscription_resources(_azure_subscription(index)))

    # Children count towards the total, so the number of rows is settled before any is written: pages
    # state the total number of records.
    types = _pick(rng, AZURE_MIX, count)
    rows = 0
    children_total = 0
    while len(fixed) + rows + children_total < count:
        children_total += _azure_child_count(types[rows], rows)
        rows += 1
    children_kept = count - len(fixed) - rows
    total = len(fixed) + rows

    files = []
    children_path = folder / "arm-children.jsonl"
    written_children = 0
    with children_path.open("wb") as children_stream:
        def all_rows() -> Iterator[dict[str, Any]]:
            nonlocal written_children
            yield from fixed
            for index in range(rows):
                extra: list[dict[str, Any]] = []
                yield _azure_row(types[index], index, rng, extra)
                for child in extra:
                    if written_children < children_kept:
                        children_stream.write(orjson.dumps(child) + b"\n")
                        written_children += 1

        page: list[dict[str, Any]] = []
        pages = 0
        for row in all_rows():
            page.append(row)
            if len(page) == PAGE_SIZE:
                files.append(_write_page(folder, pages, page, total))
                pages += 1
                page = []
        if page:
            files.append(_write_page(folder, pages, page, total))
    files.append(children_path)
    return files


def _azure_child_count(resource_type: str, index: int) -> int:
    return sum(1 for _, child_type in AZURE_CHILDREN.get(resource_type, ())
               if index % 2 == 0 or child_type.endswith(("/keys", "/secrets")))


def _write_page(folder: Path, page: int, data: list[dict[str, Any]], total: int) -> Path:
    """Write one page as `az graph query` prints it: indented, with the skip token of the next page."""
    last = (page + 1) * PAGE_SIZE >= total
    document = {"count": len(data), "data": data,
                "skip_token": None if last else f"ew0KICAiJGlkIjogIjEiLA0KICAiTWF4Um93cyI6IDEwMDAsDQog{page:08d}",
                "total_records": total}
    path = folder / f"graph-page-{page:05d}.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return path


# Generation with reuse -----------------------------------------------------------------------------------

GENERATORS: dict[str, Callable[[Path, int, int], list[Path]]] = {"gcp": generate_gcp, "azure": generate_azure}


def ensure_export(work: Path, provider: str, count: int, seed: int) -> tuple[Path, list[Path]]:
    """Return the folder and files of the export, generating them unless a matching one is on disk."""
    folder = work / f"{provider}-{count}-seed{seed}"
    # The manifest sits beside the folder, so that `ridgeline scan file FOLDER` reads only the export.
    manifest = work / f"{folder.name}.manifest.json"
    expected = {"provider": provider, "resources": count, "seed": seed, "format_version": FORMAT_VERSION}
    if manifest.exists():
        recorded = json.loads(manifest.read_text())
        if {key: recorded.get(key) for key in expected} == expected:
            return folder, [folder / name for name in recorded["files"]]

    started = time.monotonic()
    for stale in folder.glob("*"):
        stale.unlink()
    files = GENERATORS[provider](folder, count, seed)
    size = sum(path.stat().st_size for path in files)
    manifest.write_text(json.dumps({**expected, "files": [path.name for path in files], "bytes": size}))
    print(f"generated {provider}: {count:,} resources, {len(files)} file(s), {size / 1e6:,.0f} MB in "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    return folder, files


# Measurements (each in a child process) ------------------------------------------------------------------

def _parse_with_orjson(files: list[Path]) -> dict[str, Any]:
    """Parse every file with orjson, keeping nothing: the parse alone, without building any resource."""
    documents = 0
    for path in files:
        if path.suffix == ".jsonl" or path.name in ("resources.json", "iam_policy.json"):
            with path.open("rb") as stream:
                for line in stream:
                    orjson.loads(line)
                    documents += 1
        else:
            orjson.loads(path.read_bytes())
            documents += 1
    return {"documents": documents}


def _object_floor(files: list[Path]) -> dict[str, Any]:
    """Parse with orjson and build the objects that any run keeping Ridgeline's data model must build.

    The objects are one `Resource` per asset or row, kept without its body as the streamed import keeps it,
    and as many `Finding` objects as the `ridgeline` measurement reported (`FLOOR_FINDINGS` in the
    environment). The cyclic collector is paused, as the import pauses it. No merging, redaction or rule
    runs, so this is a lower bound for CPython in one process, not an estimate of a faster Ridgeline.
    """
    import gc

    from ridgeline.model.finding import Finding, Severity, Status
    from ridgeline.model.resource import Resource

    gc.disable()
    finding_count = int(os.environ["FLOOR_FINDINGS"])
    resources: list[Resource] = []
    findings: list[Finding] = []
    no_body: dict[str, Any] = {}
    for document in _documents(files):
        rows = document.get("data") if isinstance(document, dict) else None
        for item in rows if isinstance(rows, list) else [document]:
            if not isinstance(item, dict):
                continue
            identifier = str(item.get("name") or item.get("id"))
            type_name = str(item.get("asset_type") or item.get("type"))
            resources.append(Resource(provider="bench", account="account", region="global", type=type_name,
                                      id=identifier, name=identifier, configuration=no_body, supplementary=no_body,
                                      tags=no_body, relationships=[], errors=no_body, source="floor"))

    # Spread the findings over the resources, as rules do (about two per resource in these exports).
    for position in range(finding_count):
        resource = resources[position % len(resources)]
        findings.append(Finding("rule", Status.PASS, Severity.MEDIUM, "category", resource.provider, resource.account,
                                resource.region, resource.id, resource.type, resource.name, "message", {}))
    return {"resources": len(resources), "findings": len(findings)}


def _documents(files: list[Path]) -> Iterator[Any]:
    """Yield each JSON document of the files, parsed with orjson as `_parse_with_orjson` does."""
    for path in files:
        if path.suffix == ".jsonl" or path.name in ("resources.json", "iam_policy.json"):
            with path.open("rb") as stream:
                for line in stream:
                    yield orjson.loads(line)
        else:
            yield orjson.loads(path.read_bytes())


def _import_and_evaluate(files: list[Path]) -> dict[str, Any]:
    """Import the files and evaluate every built-in rule, as `ridgeline scan file --no-store` does."""
    from ridgeline.pipeline import evaluate_files
    from ridgeline.rules.loader import load_builtin_rules

    rules = load_builtin_rules()
    outcome = evaluate_files([str(path) for path in files], rules)
    statuses: Counter[str] = Counter()
    resources = 0
    for result in outcome.results:
        statuses.update(finding.status.value for finding in result.findings)
        resources += len(result.collection.resources)
    return {"resources": resources, "findings": sum(statuses.values()), "by_status": dict(sorted(statuses.items())),
            "import_errors": len(outcome.imported.report.errors), "streamed": outcome.streamed}


def _import_whole_and_evaluate(files: list[Path]) -> dict[str, Any]:
    """Import the files whole, then evaluate: the path of a stored scan, which keeps every resource."""
    from ridgeline.imports.collection import import_files
    from ridgeline.pipeline import evaluate_collection
    from ridgeline.rules.loader import load_builtin_rules

    rules = load_builtin_rules()
    imported = import_files([str(path) for path in files])
    statuses: Counter[str] = Counter()
    resources = 0
    for collection in imported.collections:
        result = evaluate_collection(collection, rules, store=None)
        statuses.update(finding.status.value for finding in result.findings)
        resources += len(collection.resources)
    return {"resources": resources, "findings": sum(statuses.values()), "by_status": dict(sorted(statuses.items())),
            "import_errors": len(imported.report.errors)}


def _import_evaluate_and_store(files: list[Path]) -> dict[str, Any]:
    """Import, evaluate and save the scan in a new SQLite file, as `ridgeline scan file` does by default."""
    from ridgeline.pipeline import evaluate_files
    from ridgeline.rules.loader import load_builtin_rules
    from ridgeline.store.database import Store

    rules = load_builtin_rules()
    with tempfile.TemporaryDirectory(prefix="ridgeline-bench-store-") as folder:
        database = Path(folder) / "scans.db"
        outcome = evaluate_files([str(path) for path in files], rules, store=Store(f"sqlite:///{database}"))
        database_mb = round(database.stat().st_size / 1e6)
    statuses: Counter[str] = Counter()
    for result in outcome.results:
        statuses.update(finding.status.value for finding in result.findings)
    return {"findings": sum(statuses.values()), "by_status": dict(sorted(statuses.items())),
            "database_mb": database_mb, "streamed": outcome.streamed}


def _run_command(files: list[Path]) -> dict[str, Any]:
    """Run `ridgeline scan file FILES --no-store` as a user would: terminal summary and the default JSON report."""
    from ridgeline.cli import main

    with tempfile.TemporaryDirectory(prefix="ridgeline-bench-report-") as folder:
        try:
            main(["scan", "file", *map(str, files), "--no-store", "--output-dir", folder], standalone_mode=False)
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise
        report_mb = round(sum(path.stat().st_size for path in Path(folder).iterdir()) / 1e6)
    return {"report_mb": report_mb}


MEASUREMENTS: dict[str, Callable[[list[Path]], dict[str, Any]]] = {
    "orjson": _parse_with_orjson,
    "floor": _object_floor,
    "ridgeline": _import_and_evaluate,
    "whole": _import_whole_and_evaluate,
    "stored": _import_evaluate_and_store,
    "command": _run_command,
}


def run_child(measurement: str, files: list[Path]) -> None:
    """Run one measurement in this process and print its figures as one JSON line."""
    wall_started = time.perf_counter()
    figures = MEASUREMENTS[measurement](files)
    wall = time.perf_counter() - wall_started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"measurement": measurement, "wall_s": round(wall, 2),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                      "peak_rss_mb": round(usage.ru_maxrss / 1024), **figures}))


def measure(measurement: str, files: list[Path], environment: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one measurement in a child process (with `environment` added to its variables) and return its figures."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", measurement, *map(str, files)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO,
                               env={**os.environ, **(environment or {})})
    if completed.returncode != 0:
        raise RuntimeError(f"{measurement} failed with exit code {completed.returncode}:\n{completed.stderr[-4000:]}")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resources", type=int, default=1_000_000, help="Resources per export (default 1,000,000).")
    parser.add_argument("--provider", default="gcp,azure", help="Comma-separated providers: gcp, azure.")
    parser.add_argument("--seed", type=int, default=20261204, help="Seed of the generated exports.")
    parser.add_argument("--repeat", type=int, default=1, help="Rounds of both measurements per provider.")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "ridgeline-import-scale",
                        help="Folder for the generated exports (reused between runs).")
    parser.add_argument("--results", type=Path, help="Append each measurement as a JSON line to this file.")
    parser.add_argument("--whole", action="store_true",
                        help="Also measure importing the files whole before evaluating (the stored-scan path), "
                             "which keeps every resource in memory.")
    parser.add_argument("--stored", action="store_true",
                        help="Also measure the default `ridgeline scan file`, which saves the scan in SQLite "
                             "(in a temporary folder).")
    parser.add_argument("--command", action="store_true",
                        help="Also measure the whole command `ridgeline scan file --no-store`, with its terminal "
                             "summary and the default JSON report (written to a temporary folder).")
    parser.add_argument("--floor", action="store_true",
                        help="Also measure the object floor: the orjson parse plus one Resource per asset and as "
                             "many Finding objects as Ridgeline reported, with no rule or import logic.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        run_child(args.child, [Path(name) for name in args.files])
        return

    for provider in [name.strip() for name in args.provider.split(",") if name.strip()]:
        if provider not in GENERATORS:
            parser.error(f"unknown provider {provider!r}; expected gcp or azure")
        _, files = ensure_export(args.work, provider, args.resources, args.seed)
        size_mb = sum(path.stat().st_size for path in files) / 1e6
        for round_number in range(1, args.repeat + 1):
            load_before = os.getloadavg()[0]
            baseline = measure("orjson", files)
            ridgeline = measure("ridgeline", files)
            record = {
                "provider": provider, "resources": args.resources, "files": len(files), "megabytes": round(size_mb),
                "round": round_number, "load_average_1min": round(load_before, 2),
                "orjson": baseline, "ridgeline": ridgeline,
                "ratio_wall": round(ridgeline["wall_s"] / baseline["wall_s"], 2),
                "ratio_cpu": round(ridgeline["cpu_s"] / baseline["cpu_s"], 2),
            }
            print(f"{provider} {args.resources:,} resources ({size_mb:,.0f} MB in {len(files)} file(s)), "
                  f"round {round_number}, load {load_before:.1f}:\n"
                  f"  orjson     wall {baseline['wall_s']:7.1f} s  cpu {baseline['cpu_s']:7.1f} s  "
                  f"peak RSS {baseline['peak_rss_mb']:6,} MB\n"
                  f"  ridgeline  wall {ridgeline['wall_s']:7.1f} s  cpu {ridgeline['cpu_s']:7.1f} s  "
                  f"peak RSS {ridgeline['peak_rss_mb']:6,} MB  findings {ridgeline['findings']:,} "
                  f"{ridgeline['by_status']}\n"
                  f"  ratio (ridgeline / orjson): wall {record['ratio_wall']}, cpu {record['ratio_cpu']}")
            if args.floor:
                floor = measure("floor", files, {"FLOOR_FINDINGS": str(ridgeline["findings"])})
                record["floor"] = floor
                record["floor_ratio_cpu"] = round(floor["cpu_s"] / baseline["cpu_s"], 2)
                print(f"  floor      wall {floor['wall_s']:7.1f} s  cpu {floor['cpu_s']:7.1f} s  "
                      f"peak RSS {floor['peak_rss_mb']:6,} MB  ratio to orjson (cpu) {record['floor_ratio_cpu']}")
            if args.whole:
                whole = measure("whole", files)
                record["whole"] = whole
                print(f"  whole      wall {whole['wall_s']:7.1f} s  cpu {whole['cpu_s']:7.1f} s  "
                      f"peak RSS {whole['peak_rss_mb']:6,} MB  findings {whole['findings']:,}")
            if args.stored:
                stored = measure("stored", files)
                record["stored"] = stored
                print(f"  stored     wall {stored['wall_s']:7.1f} s  cpu {stored['cpu_s']:7.1f} s  "
                      f"peak RSS {stored['peak_rss_mb']:6,} MB  findings {stored['findings']:,}  "
                      f"database {stored['database_mb']:,} MB")
            if args.command:
                command = measure("command", files)
                record["command"] = command
                print(f"  command    wall {command['wall_s']:7.1f} s  cpu {command['cpu_s']:7.1f} s  "
                      f"peak RSS {command['peak_rss_mb']:6,} MB  JSON report {command['report_mb']:,} MB")
            if args.results:
                with args.results.open("a") as stream:
                    stream.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
