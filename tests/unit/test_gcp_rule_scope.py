"""GCP network, compute, storage, Cloud SQL, BigQuery, Dataproc and GKE rules: which resources they skip,
and their verdicts on the recorded Cloud Asset Inventory samples.

The data-driven cases in tests/rules/cases/gcp need a finding, so resources that a rule must not judge
(applies_if false) are checked here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.aws_config import ImportReport
from ridgeline.imports.gcp_cai import iter_gcp_cai_assets
from ridgeline.model.finding import Finding
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import known_services
from ridgeline.rules.model import Rule

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "cspm-samples" / "gcp"
PROJECT = "ridgeline-test-project"
GKE_LABELS = {"goog-gke-node": "", "goog-k8s-cluster-name": "prod"}


def resource(type_name: str, name: str, configuration: dict[str, Any], tags: dict[str, str] | None = None) -> Resource:
    return Resource(provider="gcp", account=PROJECT, region="us-central1", type=type_name,
                    id=f"//test/{type_name}/{name}", name=name, configuration=configuration, tags=tags or {})


def evaluate(rules: list[Rule], resources: list[Resource]) -> list[Finding]:
    accounts = {item.account for item in resources}
    coverage = [Coverage(provider="gcp", account=account, region="global", service=service)
                for account in sorted(accounts) for service in known_services("gcp") or {}]
    return Engine(rules).evaluate(resources, coverage)


@pytest.fixture(scope="module")
def gcp_rules(builtin_rules: list[Rule]) -> dict[str, Rule]:
    return {rule.id: rule for rule in builtin_rules if rule.provider == "gcp"}


GKE_NODE = resource("compute.googleapis.com/Instance", "gke-prod-default-pool-1", {
    "name": "gke-prod-default-pool-1",
    "labels": GKE_LABELS,
    "canIpForward": True,
    "serviceAccounts": [{"email": "100000000001-compute@developer.gserviceaccount.com",
                         "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}],
    "networkInterfaces": [{"name": "nic0", "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "natIP": "203.0.113.7"}]}],
}, tags=GKE_LABELS)

NOT_JUDGED = [
    # (case id, rule id, resource)
    ("gke node service account", "gcp-compute-instance-default-service-account", GKE_NODE),
    ("gke node full scope", "gcp-compute-instance-default-sa-full-scope", GKE_NODE),
    ("gke node ip forwarding", "gcp-compute-instance-ip-forwarding-disabled", GKE_NODE),
    ("gke node external ip", "gcp-compute-instance-no-public-ip", GKE_NODE),
    ("instance not labelled critical", "gcp-compute-critical-disks-csek",
     resource("compute.googleapis.com/Instance", "web-1", {"name": "web-1", "disks": [{"boot": True}]})),
    ("proxy-only subnet", "gcp-compute-subnet-flow-logs",
     resource("compute.googleapis.com/Subnetwork", "proxy-only",
              {"name": "proxy-only", "purpose": "REGIONAL_MANAGED_PROXY", "role": "ACTIVE"})),
    ("older proxy-only purpose", "gcp-compute-subnet-flow-logs",
     resource("compute.googleapis.com/Subnetwork", "ilb-proxy",
              {"name": "ilb-proxy", "purpose": "INTERNAL_HTTPS_LOAD_BALANCER"})),
    ("private zone", "gcp-dns-zone-dnssec-enabled",
     resource("dns.googleapis.com/ManagedZone", "internal", {"name": "internal", "visibility": "private"})),
    ("unsigned zone has no key specs to judge", "gcp-dns-zone-ksk-not-rsasha1",
     resource("dns.googleapis.com/ManagedZone", "unsigned", {"name": "unsigned", "visibility": "public"})),
    ("mysql flag on postgres", "gcp-sql-mysql-local-infile-off",
     resource("sqladmin.googleapis.com/Instance", "pg", {"databaseVersion": "POSTGRES_15", "settings": {}})),
    ("postgres flag on sql server", "gcp-sql-postgres-pgaudit",
     resource("sqladmin.googleapis.com/Instance", "ms", {"databaseVersion": "SQLSERVER_2019_STANDARD",
                                                         "settings": {}})),
    ("sql server flag on mysql", "gcp-sql-sqlserver-remote-access-off",
     resource("sqladmin.googleapis.com/Instance", "my", {"databaseVersion": "MYSQL_8_0", "settings": {}})),
    ("external source server", "gcp-sql-instance-no-public-ip",
     resource("sqladmin.googleapis.com/Instance", "onprem", {"databaseVersion": "MYSQL_5_7",
                                                             "instanceType": "ON_PREMISES_INSTANCE"})),
    ("read replica backups", "gcp-sql-instance-backups-enabled",
     resource("sqladmin.googleapis.com/Instance", "replica", {
         "databaseVersion": "POSTGRES_15", "instanceType": "READ_REPLICA_INSTANCE", "masterInstanceName": "pg",
         "settings": {"backupConfiguration": {"enabled": False}}})),
    ("view has no storage", "gcp-bigquery-table-cmek",
     resource("bigquery.googleapis.com/Table", "v", {"type": "VIEW", "view": {"query": "SELECT 1"}})),
]


@pytest.mark.parametrize(("rule_id", "item"), [case[1:] for case in NOT_JUDGED],
                         ids=[case[0] for case in NOT_JUDGED])
def test_rule_skips_resource(gcp_rules: dict[str, Rule], rule_id: str, item: Resource) -> None:
    findings = evaluate([gcp_rules[rule_id]], [item])

    assert [finding.status for finding in findings] == []


def test_shielded_vm_rule_judges_gke_node(gcp_rules: dict[str, Rule]) -> None:
    findings = evaluate([gcp_rules["gcp-compute-instance-shielded-vm"]], [GKE_NODE])

    assert [finding.status.value for finding in findings] == ["FAIL"]


# Verdicts on the recorded samples: (file, asset name, rule id) -> status.
SAMPLE_VERDICTS = [
    ("forseti", "//compute.googleapis.com/projects/project1/global/networks/default",
     "gcp-compute-default-network-absent", "FAIL"),
    ("forseti", "//compute.googleapis.com/projects/project1/global/networks/default",
     "gcp-compute-legacy-network-absent", "PASS"),
    ("forseti", "//compute.googleapis.com/projects/project2/global/firewalls/default-allow-rdp",
     "gcp-compute-firewall-rdp-internet", "FAIL"),
    ("forseti", "//compute.googleapis.com/projects/project2/global/firewalls/default-allow-rdp",
     "gcp-compute-firewall-ssh-internet", "PASS"),
    ("forseti", "//compute.googleapis.com/projects/project1/global/firewalls/default-allow-internal",
     "gcp-compute-firewall-ssh-internet", "PASS"),
    ("forseti", "//compute.googleapis.com/projects/project1/zones/us-central1-c/instances/iap_instance1",
     "gcp-compute-instance-no-public-ip", "FAIL"),
    ("forseti", "//compute.googleapis.com/projects/project1/zones/us-central1-c/instances/iap_instance1",
     "gcp-compute-instance-default-service-account", "FAIL"),
    ("forseti", "//compute.googleapis.com/projects/project1", "gcp-compute-project-os-login", "FAIL"),
    ("forseti", "//cloudsql.googleapis.com/projects/project2/instances/forseti", "gcp-sql-instance-backups-enabled",
     "PASS"),
    ("forseti", "//cloudsql.googleapis.com/projects/project2/instances/forseti", "gcp-sql-mysql-local-infile-off",
     "FAIL"),
    ("forseti", "//dataproc.googleapis.com/projects/project2/regions/us-west1/clusters/test-cluster",
     "gcp-dataproc-cluster-cmek", "FAIL"),
    ("forseti", "//dns.googleapis.com/projects/1042/managedZones/9141", "gcp-dns-zone-dnssec-enabled", "FAIL"),
    ("policy-library", "//compute.googleapis.com/projects/pso-cicd8/regions/us-west1/subnetworks/bad",
     "gcp-compute-subnet-flow-logs", "FAIL"),
    ("policy-library", "//compute.googleapis.com/projects/pso-cicd8/regions/us-west1/subnetworks/only_log_config",
     "gcp-compute-subnet-flow-logs", "PASS"),
    ("policy-library", "//compute.googleapis.com/projects/pso-cicd8/regions/us-west1/subnetworks/correct",
     "gcp-compute-subnet-flow-logs", "PASS"),
    ("policy-library", "//cloudsql.googleapis.com/projects/test-project/instances/private-sql",
     "gcp-sql-instance-no-public-ip", "PASS"),
    ("policy-library", "//cloudsql.googleapis.com/projects/test-project/instances/public-sql",
     "gcp-sql-instance-no-public-ip", "FAIL"),
    ("policy-library", "//cloudsql.googleapis.com/projects/test-project/instances/sql-instance-with-ssl",
     "gcp-sql-instance-ssl-required", "PASS"),
    ("policy-library", "//cloudsql.googleapis.com/projects/test-project/instances/sql-instance-without-ssl",
     "gcp-sql-instance-ssl-required", "FAIL"),
    ("policy-library", "//container.googleapis.com/projects/transfer-repos/zones/us-central1-c/clusters/joe-clust",
     "gcp-gke-cluster-legacy-abac-disabled", "FAIL"),
    ("policy-library", "//container.googleapis.com/projects/transfer-repos/zones/us-central1-c/clusters/joe-clust2",
     "gcp-gke-cluster-legacy-abac-disabled", "PASS"),
    ("policy-library", "//bigquery.googleapis.com/projects/test-project/datasets/world-readable-allUsers",
     "gcp-bigquery-dataset-not-public", "FAIL"),
    ("policy-library", "//bigquery.googleapis.com/projects/test-project/datasets/not-world-readable",
     "gcp-bigquery-dataset-not-public", "PASS"),
    # Only the IAM policy was exported: it grants allUsers, but public access prevention (in the resource
    # content) may block that, so the verdict is unknown.
    ("policy-library", "//storage.googleapis.com/my-test-bucket", "gcp-storage-bucket-not-public", "ERROR"),
    # Only the IAM policy was exported, so the ACLs of this bucket are unknown.
    ("policy-library", "//storage.googleapis.com/my-third-test-bucket", "gcp-storage-bucket-not-public", "ERROR"),
    ("policy-library",
     "//compute.googleapis.com/projects/cf-gcp-challenge-dev/global/firewalls/cf-test-fw-rule-source-0",
     "gcp-compute-firewall-ssh-internet", "FAIL"),
    ("policy-library", "//compute.googleapis.com/projects/my-test-project/zones/us-central1-f/instances/test-jumphost",
     "gcp-compute-instance-default-sa-full-scope", "FAIL"),
    ("policy-library", "//compute.googleapis.com/projects/my-test-project/zones/us-central1-f/instances/test-jumphost",
     "gcp-compute-instance-shielded-vm", "PASS"),
]


@pytest.fixture(scope="module")
def sample_findings(gcp_rules: dict[str, Rule]) -> dict[tuple[str, str], str]:
    forseti = [SAMPLES / "forseti" / "mock_cai_resources.jsonl", SAMPLES / "forseti" / "mock_cai_iam_policies.jsonl"]
    library = sorted((SAMPLES / "policy-library").glob("*.json"))
    if not all(path.exists() for path in forseti) or not library:
        pytest.skip(f"shared Cloud Asset Inventory samples not found under {SAMPLES}")

    resources = list(iter_gcp_cai_assets([*forseti, *library], ImportReport()))
    rule_ids = {case[2] for case in SAMPLE_VERDICTS}
    findings = evaluate([gcp_rules[rule_id] for rule_id in sorted(rule_ids)], resources)
    return {(finding.resource_id, finding.rule_id): finding.status.value for finding in findings}


@pytest.mark.parametrize(("asset", "rule_id", "expected"), [case[1:] for case in SAMPLE_VERDICTS],
                         ids=[f"{case[0]}:{case[1].rsplit('/', 1)[-1]}:{case[2]}" for case in SAMPLE_VERDICTS])
def test_sample_verdict(sample_findings: dict[tuple[str, str], str], asset: str, rule_id: str, expected: str) -> None:
    assert sample_findings.get((asset, rule_id)) == expected


DEMO_EXPORT = Path(__file__).resolve().parents[2] / "src" / "ridgeline" / "demo" / "exports" / "gcp" / \
    "network-compute-data.jsonl"
DEMO_RULE_FILES = ("network", "compute", "storage", "sql", "bigquery", "dataproc", "container")
# One compute.googleapis.com/Project exists per project, so the demo shows the project rule failing only.
DEMO_SINGLE_STATUS = {"gcp-compute-project-os-login": {"FAIL"}}


def test_demo_export_covers_every_rule(builtin_rules: list[Rule]) -> None:
    report = ImportReport()
    resources = list(iter_gcp_cai_assets(DEMO_EXPORT, report))
    rules = [rule for rule in builtin_rules
             if rule.provider == "gcp" and Path(rule.source.rsplit(":", 1)[0]).stem in DEMO_RULE_FILES]

    statuses: dict[str, set[str]] = {rule.id: set() for rule in rules}
    for finding in evaluate(rules, resources):
        statuses[finding.rule_id].add(finding.status.value)

    assert report.errors == []
    assert {rule_id: found for rule_id, found in statuses.items()
            if found != DEMO_SINGLE_STATUS.get(rule_id, {"FAIL", "PASS"})} == {}
