"""Tests for public access to Cloud Storage buckets and BigQuery datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.analysis.gcp_public import bucket_public_access, dataset_public_access
from ridgeline.rules.checks_gcp_network import firewall_internet_ports

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "cspm-samples" / "gcp"

PRIVATE_POLICY = {"bindings": [{"role": "roles/storage.legacyBucketOwner", "members": ["projectOwner:demo"]}]}
PUBLIC_POLICY = {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]}
PUBLIC_ACL = [{"entity": "allUsers", "role": "READER"}]
OWNER_ACL = [{"entity": "project-owners-100000000001", "role": "OWNER"}]


def iam_configuration(prevention: str | None = "inherited", uniform: bool = False) -> dict[str, Any]:
    built: dict[str, Any] = {"uniformBucketLevelAccess": {"enabled": uniform}, "bucketPolicyOnly": {"enabled": uniform}}
    if prevention is not None:
        built["publicAccessPrevention"] = prevention
    return built


BUCKET_CASES = [
    # (case id, iam policy, iamConfiguration, acl, default object acl, expected public)
    ("private", PRIVATE_POLICY, iam_configuration(), OWNER_ACL, [], False),
    ("public binding", PUBLIC_POLICY, iam_configuration(), [], [], True),
    ("prevention enforced blocks binding", PUBLIC_POLICY, iam_configuration("enforced"), [], [], False),
    ("prevention enforced blocks acl", PRIVATE_POLICY, iam_configuration("enforced"), PUBLIC_ACL, [], False),
    ("public bucket acl", PRIVATE_POLICY, iam_configuration(), PUBLIC_ACL, [], True),
    ("public default object acl", PRIVATE_POLICY, iam_configuration(),
     [], [{"entity": "allAuthenticatedUsers", "role": "READER"}], True),
    ("uniform access disables acls", PRIVATE_POLICY, iam_configuration(uniform=True), PUBLIC_ACL, [], False),
    ("policy not collected", None, iam_configuration(), OWNER_ACL, [], None),
    ("policy not collected but acl public", None, iam_configuration(), PUBLIC_ACL, [], True),
    ("policy not collected but prevention enforced", None, iam_configuration("enforced"), [], [], False),
    ("no iam configuration", PUBLIC_POLICY, None, None, None, True),
    ("acls not collected while uniform access is off", PRIVATE_POLICY, iam_configuration(), None, None, None),
    ("acls not collected but uniform access is on", PRIVATE_POLICY, iam_configuration(uniform=True), None, None,
     False),
    ("legacy bucket policy only flag", PRIVATE_POLICY,
     {"bucketPolicyOnly": {"enabled": True}, "publicAccessPrevention": "unspecified"}, PUBLIC_ACL, [], False),
]


@pytest.mark.parametrize(("policy", "configuration", "acl", "default_acl", "expected"),
                         [case[1:] for case in BUCKET_CASES], ids=[case[0] for case in BUCKET_CASES])
def test_bucket_public_access(policy: dict[str, Any] | None, configuration: dict[str, Any] | None, acl: Any,
                              default_acl: Any, expected: bool | None) -> None:
    assert bucket_public_access(policy, configuration, acl, default_acl).public is expected


def test_bucket_grants_name_the_source() -> None:
    answer = bucket_public_access(PUBLIC_POLICY, iam_configuration(), PUBLIC_ACL, [])

    assert answer.grants == ("IAM roles/storage.objectViewer: allUsers", "ACL allUsers READER")


@pytest.mark.parametrize(("configuration", "acl"), [
    ({"publicAccessPrevention": "sometimes"}, []),
    (iam_configuration(), {"entity": "allUsers"}),
    (iam_configuration(), ["allUsers"]),
])
def test_bucket_rejects_malformed_input(configuration: dict[str, Any], acl: Any) -> None:
    with pytest.raises(ValueError):
        bucket_public_access(PRIVATE_POLICY, configuration, acl, [])


def test_bucket_samples_from_custodian_flights() -> None:
    """The recorded bucket listing and IAM policy: test-1 grants allUsers a role, without prevention enforced."""
    listing = SAMPLES / "custodian-flights" / "bucket-iam-policy.get-storage-v1-b_1.json"
    policy_file = SAMPLES / "custodian-flights" / "bucket-iam-policy.get-storage-v1-b-cloud-custodian-test-1-iam_1.json"
    if not listing.exists() or not policy_file.exists():
        pytest.skip(f"shared samples not found under {SAMPLES}")
    bucket = json.loads(listing.read_text())["body"]["items"][0]
    policy = json.loads(policy_file.read_text())["body"]

    answer = bucket_public_access(policy, bucket["iamConfiguration"], bucket.get("acl"), bucket.get("defaultObjectAcl"))

    assert answer.public is True
    assert answer.grants == ("IAM roles/cloudbuild.builds.builder: allUsers",)


DATASET_CASES = [
    # (case id, access, iam policy, expected public)
    ("owners only", [{"role": "OWNER", "specialGroup": "projectOwners"}], None, False),
    ("all authenticated users group", [{"role": "READER", "specialGroup": "allAuthenticatedUsers"}], None, True),
    ("all users member", [{"role": "READER", "iamMember": "allUsers"}], None, True),
    ("domain is not public", [{"role": "READER", "domain": "example.com"}], None, False),
    ("iam policy only, public", None, {"bindings": [{"role": "roles/bigquery.dataViewer",
                                                    "members": ["allAuthenticatedUsers"]}]}, True),
    ("iam policy only, private", None, {"bindings": [{"role": "roles/bigquery.dataOwner",
                                                     "members": ["projectOwner:demo"]}]}, False),
    ("nothing collected", None, None, None),
]


@pytest.mark.parametrize(("access", "policy", "expected"), [case[1:] for case in DATASET_CASES],
                         ids=[case[0] for case in DATASET_CASES])
def test_dataset_public_access(access: Any, policy: dict[str, Any] | None, expected: bool | None) -> None:
    assert dataset_public_access(access, policy).public is expected


def test_dataset_samples_from_policy_library() -> None:
    """Three world-readable datasets and one private dataset, as IAM policies only."""
    path = SAMPLES / "policy-library" / "bigquery_dataset_world_readable.json"
    if not path.exists():
        pytest.skip(f"shared sample not found: {path}")
    results = {asset["name"].rsplit("/", 1)[-1]: dataset_public_access(None, asset["iam_policy"]).public
               for asset in json.loads(path.read_text())}

    assert results == {"world-readable-allAuthenticatedUsers": True, "world-readable-allUsers": True,
                       "world-readable-both": True, "not-world-readable": False}


def firewall(**fields: Any) -> dict[str, Any]:
    built: dict[str, Any] = {"name": "allow-ssh", "direction": "INGRESS", "priority": 1000,
                             "network": "projects/demo/global/networks/vpc", "sourceRanges": ["0.0.0.0/0"],
                             "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]}
    built.update(fields)
    return built


FIREWALL_CASES = [
    # (case id, firewall, ports, protocols, expected matched)
    ("ssh from the internet", firewall(), [22], None, True),
    ("rdp over udp", firewall(allowed=[{"IPProtocol": "udp", "ports": ["3389"]}]), [3389], ["tcp", "udp"], True),
    ("udp not asked", firewall(allowed=[{"IPProtocol": "udp", "ports": ["3389"]}]), [3389], None, False),
    ("source tags only", firewall(sourceRanges=None, sourceTags=["bastion"]), [22], None, False),
    ("tags and world range", firewall(sourceTags=["bastion"]), [22], None, True),
    ("disabled", firewall(disabled=True), [22], None, False),
    ("malformed", firewall(allowed=[{"ports": ["22"]}]), [22], None, None),
    ("missing configuration", None, [22], None, None),
]


@pytest.mark.parametrize(("raw", "ports", "protocols", "expected"), [case[1:] for case in FIREWALL_CASES],
                         ids=[case[0] for case in FIREWALL_CASES])
def test_firewall_internet_ports(raw: dict[str, Any] | None, ports: list[int], protocols: list[str] | None,
                                 expected: bool | None) -> None:
    assert firewall_internet_ports(raw, ports, protocols).matched is expected


def test_firewall_detail_names_the_rule() -> None:
    outcome = firewall_internet_ports(firewall(), [22])

    assert outcome.detail == "tcp 22 from 0.0.0.0/0 (rule allow-ssh)"
