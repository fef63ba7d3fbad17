"""Grants in GCP IAM allow policies: admin roles of service accounts, role pairs, Cloud Logging writers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.analysis.gcp_bindings import (
    Grant,
    admin_role,
    google_managed_service_account,
    grants,
    logging_writer_grants,
    members_holding_both,
    role_grants,
    service_account_admin_grants,
)

SAMPLES = Path(__file__).resolve().parents[2] / ".." / "shared" / "cspm-samples" / "gcp"

APP_SA = "serviceAccount:app@demo-project.iam.gserviceaccount.com"
DEFAULT_COMPUTE_SA = "serviceAccount:1-compute@developer.gserviceaccount.com"


def policy(*bindings: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "etag": "BwX=", "bindings": list(bindings)}


def binding(role: str, *members: str, condition: dict[str, str] | None = None) -> dict[str, Any]:
    built: dict[str, Any] = {"role": role, "members": list(members)}
    if condition is not None:
        built["condition"] = condition
    return built


def test_grants_in_binding_order() -> None:
    found = list(grants(policy(binding("roles/viewer", "user:a@example.com", "group:g@example.com"),
                               binding("roles/editor", APP_SA))))

    assert found == [Grant("roles/viewer", "user:a@example.com"), Grant("roles/viewer", "group:g@example.com"),
                     Grant("roles/editor", APP_SA)]


def test_grants_skip_deleted_members() -> None:
    found = list(grants(policy(binding("roles/owner", "deleted:user:old@example.com?uid=1", "user:a@example.com"))))

    assert found == [Grant("roles/owner", "user:a@example.com")]


def test_conditional_grant_is_marked() -> None:
    found = list(grants(policy(binding("roles/owner", APP_SA, condition={"title": "t", "expression": "true"}))))

    assert found == [Grant("roles/owner", APP_SA, conditional=True)]
    assert found[0].describe() == f"roles/owner: {APP_SA} (conditional)"


def test_policy_without_bindings_grants_nothing() -> None:
    assert list(grants({"etag": "ACAB"})) == []


@pytest.mark.parametrize("bad_policy", [
    [],
    {"bindings": {"role": "roles/owner"}},
    {"bindings": ["roles/owner"]},
    {"bindings": [{"members": [APP_SA]}]},
    {"bindings": [{"role": "roles/owner", "members": APP_SA}]},
    {"bindings": [{"role": "roles/owner", "members": [7]}]},
])
def test_malformed_policy_raises(bad_policy: Any) -> None:
    with pytest.raises(ValueError):
        list(grants(bad_policy))


@pytest.mark.parametrize(("role", "admin"), [
    ("roles/owner", True),
    ("roles/editor", True),
    ("roles/viewer", False),
    ("roles/compute.admin", True),
    ("roles/iam.serviceAccountAdmin", True),
    ("roles/resourcemanager.organizationAdmin", True),
    ("roles/iam.serviceAccountUser", False),
    ("roles/storage.objectViewer", False),
    ("projects/p/roles/networkAdmin", True),
    ("organizations/1/roles/readOnly", False),
    ("roles/cloudsql.admin", True),
    ("roles/iam.serviceAccountAdminViewer", False),
])
def test_admin_role(role: str, admin: bool) -> None:
    assert admin_role(role) is admin


@pytest.mark.parametrize(("member", "managed"), [
    ("serviceAccount:123@cloudservices.gserviceaccount.com", True),
    ("serviceAccount:service-123@gcp-sa-logging.iam.gserviceaccount.com", True),
    ("serviceAccount:service-123@compute-system.iam.gserviceaccount.com", True),
    ("serviceAccount:service-123@container-engine-robot.iam.gserviceaccount.com", True),
    ("serviceAccount:cloud-logs@system.gserviceaccount.com", True),
    ("serviceAccount:123-compute@developer.gserviceaccount.com", False),
    ("serviceAccount:demo-project@appspot.gserviceaccount.com", False),
    (APP_SA, False),
    ("user:service-123@example.com", False),
])
def test_google_managed_service_account(member: str, managed: bool) -> None:
    assert google_managed_service_account(member) is managed


ADMIN_CASES = [
    # (case id, policy, expected grants)
    ("editor to app account", policy(binding("roles/editor", APP_SA, "user:a@example.com")),
     [Grant("roles/editor", APP_SA)]),
    ("admin role", policy(binding("roles/storage.admin", APP_SA)), [Grant("roles/storage.admin", APP_SA)]),
    ("default compute account", policy(binding("roles/editor", DEFAULT_COMPUTE_SA)),
     [Grant("roles/editor", DEFAULT_COMPUTE_SA)]),
    ("service agent", policy(binding("roles/editor", "serviceAccount:1@cloudservices.gserviceaccount.com")), []),
    ("users are not service accounts", policy(binding("roles/owner", "user:a@example.com", "group:g@example.com")), []),
    ("non-admin role", policy(binding("roles/iam.serviceAccountUser", APP_SA)), []),
]


@pytest.mark.parametrize(("iam_policy", "expected"), [case[1:] for case in ADMIN_CASES],
                         ids=[case[0] for case in ADMIN_CASES])
def test_service_account_admin_grants(iam_policy: dict[str, Any], expected: list[Grant]) -> None:
    assert service_account_admin_grants(iam_policy) == expected


def test_admin_grants_of_recorded_project_policy() -> None:
    path = SAMPLES / "forseti" / "mock_cai_iam_policies.jsonl"
    if not path.exists():
        pytest.skip(f"the shared GCP samples are not present at {path}")
    project_policy = next(json.loads(line)["iam_policy"] for line in path.read_text(encoding="utf-8").splitlines()
                          if json.loads(line)["name"] == "//cloudresourcemanager.googleapis.com/projects/1043")

    # Google grants Editor to its APIs service agent by design; the default compute account is user-managed.
    assert service_account_admin_grants(project_policy) == [
        Grant("roles/editor", "serviceAccount:3-compute@developer.gserviceaccount.com")]


def test_role_grants() -> None:
    iam_policy = policy(binding("roles/iam.serviceAccountUser", "user:a@example.com"),
                        binding("roles/viewer", "user:b@example.com"),
                        binding("roles/iam.serviceAccountTokenCreator", "group:g@example.com"))

    found = role_grants(iam_policy, ["roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator"])

    assert found == [Grant("roles/iam.serviceAccountUser", "user:a@example.com"),
                     Grant("roles/iam.serviceAccountTokenCreator", "group:g@example.com")]


KMS_ADMIN = ["roles/cloudkms.admin"]
KMS_CRYPTO = ["roles/cloudkms.cryptoKeyEncrypterDecrypter", "roles/cloudkms.cryptoKeyEncrypter",
              "roles/cloudkms.cryptoKeyDecrypter"]

BOTH_CASES = [
    # (case id, policy, expected (member, first role, second role) triples)
    ("same member", policy(binding("roles/cloudkms.admin", "user:a@example.com"),
                           binding("roles/cloudkms.cryptoKeyDecrypter", "user:a@example.com")),
     [("user:a@example.com", "roles/cloudkms.admin", "roles/cloudkms.cryptoKeyDecrypter")]),
    ("different members", policy(binding("roles/cloudkms.admin", "user:a@example.com"),
                                 binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", "user:b@example.com")), []),
    ("conditional grant counts", policy(
        binding("roles/cloudkms.admin", "group:g@example.com"),
        binding("roles/cloudkms.cryptoKeyEncrypter", "group:g@example.com",
                condition={"title": "t", "expression": "x"})),
     [("group:g@example.com", "roles/cloudkms.admin", "roles/cloudkms.cryptoKeyEncrypter")]),
    ("one set only", policy(binding("roles/cloudkms.admin", "user:a@example.com", "user:b@example.com")), []),
]


@pytest.mark.parametrize(("iam_policy", "expected"), [case[1:] for case in BOTH_CASES],
                         ids=[case[0] for case in BOTH_CASES])
def test_members_holding_both(iam_policy: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert members_holding_both(iam_policy, KMS_ADMIN, KMS_CRYPTO) == expected


WRITER_CASES = [
    # (case id, member, is a Cloud Logging writer)
    ("logging service agent", "serviceAccount:service-100000000001@gcp-sa-logging.iam.gserviceaccount.com", True),
    ("unique writer identity", "serviceAccount:p100000000001-123456@gcp-sa-logging.iam.gserviceaccount.com", True),
    ("legacy group", "group:cloud-logs@google.com", True),
    ("legacy service account", "serviceAccount:cloud-logs@system.gserviceaccount.com", True),
    ("application account", APP_SA, False),
    ("user in a lookalike domain", "user:x@gcp-sa-logging.iam.gserviceaccount.com", False),
]


@pytest.mark.parametrize(("member", "writer"), [case[1:] for case in WRITER_CASES],
                         ids=[case[0] for case in WRITER_CASES])
def test_logging_writer_grants(member: str, writer: bool) -> None:
    iam_policy = policy(binding("roles/storage.legacyBucketOwner", "projectOwner:demo-project"),
                        binding("roles/storage.objectCreator", member))

    expected = [Grant("roles/storage.objectCreator", member)] if writer else []
    assert logging_writer_grants(iam_policy) == expected
