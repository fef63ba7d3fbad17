"""Pieces of the GCP scan on their own: endpoints, number types, error classification, credentials, permissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.auth import impersonated_credentials
from google.auth.credentials import Credentials

from ridgeline.imports.gcp_cai import iter_gcp_cai_assets, resources_from_assets
from ridgeline.imports.report import ImportReport
from ridgeline.model.redaction import REDACTED
from ridgeline.model.scan import Completeness
from ridgeline.providers.gcp import catalog
from ridgeline.providers.gcp.calls import LIST_PROJECT_CONTACTS, LIST_RESOURCES, QUOTA_PERMISSION, declared_calls
from ridgeline.providers.gcp.clients import GcpEndpoints, check_endpoint
from ridgeline.providers.gcp.credentials import CredentialSetupError, build_credentials, check_token
from ridgeline.providers.gcp.errors import SERVICE_DISABLED, classify
from ridgeline.providers.gcp.inventory import whole_numbers
from ridgeline.providers.gcp.permissions import scan_permissions, scan_role
from ridgeline.providers.gcp.scanner import NOT_READ_REASON
from tests.gcp.conftest import GcpScanner
from tests.gcp.organization import ALPHA, ALPHA_NAME

# Endpoints -------------------------------------------------------------------------------------------

ENDPOINT_CASES = [
    ("https://cloudasset.googleapis.com", "https://cloudasset.googleapis.com"),
    ("https://cloudasset.googleapis.com/", "https://cloudasset.googleapis.com"),
    ("http://127.0.0.1:8085", "http://127.0.0.1:8085"),
    ("http://localhost:9000/", "http://localhost:9000"),
    ("http://[::1]:9000", "http://[::1]:9000"),
]


@pytest.mark.parametrize(("url", "expected"), ENDPOINT_CASES)
def test_endpoint_accepted(url: str, expected: str) -> None:
    assert check_endpoint(url) == expected


@pytest.mark.parametrize("url", ["http://cloudasset.googleapis.com", "http://10.0.0.5:80", "ftp://127.0.0.1",
                                 "https://cloudasset.googleapis.com/v1", "cloudasset.googleapis.com",
                                 "https://host?x=1"])
def test_endpoint_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="invalid endpoint"):
        check_endpoint(url)


def test_endpoints_from_environment() -> None:
    assert GcpEndpoints.from_environment({}) == GcpEndpoints()
    endpoints = GcpEndpoints.from_environment({
        "RIDGELINE_GCP_ENDPOINT": "http://127.0.0.1:1",
        "RIDGELINE_GCP_ESSENTIALCONTACTS_ENDPOINT": "https://contacts.example.test",
    })
    assert endpoints == GcpEndpoints(cloudasset="http://127.0.0.1:1", essentialcontacts="https://contacts.example.test",
                                     resourcemanager="http://127.0.0.1:1")


# Numbers of resource.data ----------------------------------------------------------------------------

NUMBER_CASES: list[tuple[Any, Any]] = [
    (443.0, 443),
    (1.5, 1.5),
    (-2.0, -2),
    (2.0**60, 2.0**60),
    (True, True),
    ("80", "80"),
    (None, None),
    ({"a": [1.0, {"b": 2.5}], "c": 0.0}, {"a": [1, {"b": 2.5}], "c": 0}),
]


@pytest.mark.parametrize(("value", "expected"), NUMBER_CASES)
def test_whole_numbers(value: Any, expected: Any) -> None:
    result = whole_numbers(value)

    assert result == expected
    assert type(result) is type(expected)


# Error classification --------------------------------------------------------------------------------

def http_error(status: int, body: dict[str, Any]) -> api_exceptions.GoogleAPICallError:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.request = requests.Request("GET", "http://127.0.0.1:1/v1/projects/p/assets").prepare()
    error: api_exceptions.GoogleAPICallError = api_exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
    return error


def test_service_disabled_classified() -> None:
    error = http_error(403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "API disabled.",
                                       "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                    "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
                                                    "metadata": {"consumer": "projects/42",
                                                                 "service": "cloudasset.googleapis.com"}}]}})
    failure = classify(LIST_RESOURCES, error, "projects/p")

    assert failure.kind == "service-disabled"
    assert failure.code == SERVICE_DISABLED
    assert failure.consumer == "projects/42"
    assert failure.message == "API disabled."
    assert failure.to_error().call == "cloudasset.assets.listResource"


@pytest.mark.parametrize(("status", "code", "kind"), [
    (403, "PERMISSION_DENIED", "access-denied"),
    (401, "UNAUTHENTICATED", "access-denied"),
    (429, "RESOURCE_EXHAUSTED", "throttled"),
    (404, "NOT_FOUND", "not-found"),
    (500, "INTERNAL", "failed"),
])
def test_http_errors_classified(status: int, code: str, kind: str) -> None:
    failure = classify(LIST_PROJECT_CONTACTS, http_error(status, {"error": {"code": status, "status": code,
                                                                           "message": "m"}}))

    assert failure.code == code
    assert failure.kind == kind
    assert failure.status == status


def test_retry_error_classified_by_cause() -> None:
    cause = http_error(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota"}})
    retry_error = api_exceptions.RetryError("Timeout of 5.0s exceeded", cause)  # type: ignore[no-untyped-call]
    failure = classify(LIST_RESOURCES, retry_error)

    assert failure.code == "RESOURCE_EXHAUSTED"
    assert failure.kind == "throttled"
    assert failure.message.startswith("still failing after retries")


def test_token_and_transport_errors_classified() -> None:
    refresh_error = auth_exceptions.RefreshError("invalid_grant")  # type: ignore[no-untyped-call]
    assert classify(LIST_RESOURCES, refresh_error).code == "RefreshError"
    assert classify(LIST_RESOURCES, requests.ConnectionError("refused")).code == "ConnectionError"
    assert classify(LIST_RESOURCES, ValueError("not JSON")).code == "UnexpectedResponse"


# Credentials -----------------------------------------------------------------------------------------

def write_user_adc(path: Path) -> Path:
    # The shape `gcloud auth application-default login` writes; loading it sends no request.
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "test-client.apps.googleusercontent.com",
                                "client_secret": "test-secret", "refresh_token": "test-refresh-token"}))
    return path


def test_adc_file_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(write_user_adc(tmp_path / "adc.json")))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", ALPHA)

    loaded = build_credentials()

    assert loaded.project == ALPHA
    assert not isinstance(loaded.credentials, impersonated_credentials.Credentials)


def test_impersonation_wraps_adc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(write_user_adc(tmp_path / "adc.json")))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", ALPHA)
    target = f"scanner@{ALPHA}.iam.gserviceaccount.com"

    loaded = build_credentials(target)

    assert isinstance(loaded.credentials, impersonated_credentials.Credentials)
    assert loaded.credentials.service_account_email == target


def test_impersonation_rejects_non_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(write_user_adc(tmp_path / "adc.json")))

    with pytest.raises(CredentialSetupError, match="expected a service account email"):
        build_credentials("alice@example.com")


def test_missing_adc_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nope.json"))

    with pytest.raises(CredentialSetupError, match="no Application Default Credentials found"):
        build_credentials()


class RevokedCredentials(Credentials):
    """Credentials whose token refresh fails, as with a revoked gcloud login."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def refresh(self, request: Any) -> None:
        raise auth_exceptions.RefreshError(  # type: ignore[no-untyped-call]
            "invalid_grant: Token has been expired or revoked.", {"error": "x"})


def test_failed_refresh_is_setup_error() -> None:
    with pytest.raises(CredentialSetupError, match=r"cannot get a Google access token .*application-default login"):
        check_token(RevokedCredentials())
    with pytest.raises(CredentialSetupError, match="serviceAccountTokenCreator"):
        check_token(RevokedCredentials(), impersonating=True)


# Permissions -----------------------------------------------------------------------------------------

def test_role_lists_every_call_permission() -> None:
    permissions = scan_permissions()

    assert set(permissions) == {call.permission for call in declared_calls()} | {QUOTA_PERMISSION}
    assert scan_role()["includedPermissions"] == permissions
    # Read-only: every permission ends in a read verb, or is the quota use.
    verbs = {permission.rsplit(".", 1)[-1] for permission in permissions}
    assert verbs <= {"get", "list", "listResource", "listIamPolicy", "use"}
    assert all(call.method == "GET" for call in declared_calls())


# The importer's entry for the live scan ---------------------------------------------------------------

def test_resources_from_assets_merges_parts() -> None:
    report = ImportReport()
    assets = [
        {"name": "//storage.googleapis.com/b", "assetType": "storage.googleapis.com/Bucket",
         "ancestors": ["projects/7"], "resource": {"data": {"name": "b", "labels": {"k": "v"}}, "location": "eu"}},
        {"name": "//storage.googleapis.com/b", "asset_type": "storage.googleapis.com/Bucket",
         "iam_policy": {"bindings": [{"role": "roles/x", "members": ["allUsers"]}]}},
        {"name": "//sqladmin.googleapis.com/projects/p/instances/db", "assetType": "sqladmin.googleapis.com/Instance",
         "resource": {"data": {"name": "db", "settings": {"password": "hunter2"}}}},
    ]

    resources = {resource.id: resource for resource in resources_from_assets(assets, "api", report)}

    bucket = resources["//storage.googleapis.com/b"]
    assert bucket.source == "api"
    assert bucket.account == "7"
    assert bucket.region == "eu"
    assert bucket.tags == {"k": "v"}
    assert bucket.supplementary["iamPolicy"]["bindings"][0]["members"] == ["allUsers"]
    assert resources["//sqladmin.googleapis.com/projects/p/instances/db"].configuration["settings"]["password"] \
        == REDACTED
    assert report.imported == {"storage.googleapis.com/Bucket": 1, "sqladmin.googleapis.com/Instance": 1}
    assert report.errors == []


def test_resources_from_assets_reports_invalid_asset() -> None:
    report = ImportReport()

    resources = list(resources_from_assets([{"assetType": "storage.googleapis.com/Bucket"}], "api", report))

    assert resources == []
    assert [(issue.file, issue.location) for issue in report.errors] == [("api", "item 0")]


def test_import_of_files_unchanged(tmp_path: Path) -> None:
    line = {"name": "//storage.googleapis.com/b", "asset_type": "storage.googleapis.com/Bucket",
            "resource": {"data": {"name": "b"}}}
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(line) + "\n")

    [resource] = list(iter_gcp_cai_assets(path))

    assert resource.source == f"file:{path}"


# Catalogue keys without a reader -------------------------------------------------------------------------

def test_unread_supplementary_key_is_unknown(gcp_scan: GcpScanner, monkeypatch: pytest.MonkeyPatch) -> None:
    project_type = "cloudresourcemanager.googleapis.com/Project"
    entry = catalog.TYPES_BY_NAME[project_type]
    extended = catalog.GcpType(entry.name, entry.service, {**entry.supplementary, "accessApproval": "GET ..."})
    monkeypatch.setitem(catalog.TYPES_BY_NAME, project_type, extended)

    collection = gcp_scan.scan(projects=[ALPHA])

    [project] = [resource for resource in collection.resources if resource.id == ALPHA_NAME]
    assert project.errors == {"supplementaryConfiguration.accessApproval": NOT_READ_REASON}
    assert "essentialContacts" in project.supplementary
    [unit] = [item for item in collection.coverage if (item.account, item.service) == (ALPHA, "resourcemanager")]
    assert unit.status is Completeness.PARTIAL
