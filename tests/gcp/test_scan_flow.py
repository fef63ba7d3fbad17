"""The live GCP scan against the local Cloud Asset Inventory server: envelopes, paging, failures and retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.providers.gcp import catalog
from ridgeline.providers.gcp.calls import declared_calls
from ridgeline.providers.gcp.clients import GcpEndpoints, RetrySettings
from ridgeline.providers.gcp.scanner import IAM_POLICY_TYPES, GcpScanOptions, collect_gcp
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_rule_files
from ridgeline.rules.model import Rule
from tests.gcp.conftest import GcpScanner
from tests.gcp.fake_gcp import google_error, service_disabled
from tests.gcp.organization import (
    ALL_ASSET_NAMES,
    ALPHA,
    ALPHA_ASSET_NAMES,
    ALPHA_CONTACTS,
    ALPHA_NAME,
    ALPHA_NUMBER,
    BETA,
    BETA_BUCKET,
    BETA_NAME,
    CRYPTO_KEY,
    FIREWALL,
    FOLDER,
    FOLDER_NAME,
    ORG,
    ORG_CONTACTS,
    ORG_ROLE,
    ORGANIZATION_NAME,
    PRIVATE_BUCKET,
    PUBLIC_BUCKET,
    asset,
)

TEST_RULES = Path(__file__).with_name("rules.yaml")
# A project scan also reads the folder and organization above the project, which it inherits from.
ALPHA_ANCESTOR_NAMES = {FOLDER_NAME, ORGANIZATION_NAME}
ALPHA_ACCOUNTS = [f"folders/{FOLDER}", f"organizations/{ORG}", ALPHA]
CONTACTS_PATH = "supplementaryConfiguration.essentialContacts"
POLICY_PATH = "supplementaryConfiguration.iamPolicy"
BETA_NUMBER_CONSUMER = "700000000002"


@pytest.fixture(scope="module")
def rules(builtin_rules: list[Rule]) -> list[Rule]:
    """The built-in GCP rules plus the test rules."""
    return [rule for rule in builtin_rules if rule.provider == "gcp"] + load_rule_files([TEST_RULES])


def by_id(collection: Collection, resource_id: str) -> Resource:
    matches = [resource for resource in collection.resources if resource.id == resource_id]
    assert len(matches) == 1, f"{resource_id}: {len(matches)} resource(s)"
    return matches[0]


def unit(collection: Collection, account: str, service: str) -> Coverage:
    matches = [item for item in collection.coverage if (item.account, item.service) == (account, service)]
    assert len(matches) == 1, f"{account} {service}: {len(matches)} unit(s)"
    return matches[0]


def findings(collection: Collection, rules: list[Rule], rule_id: str) -> list[Finding]:
    return [finding for finding in Engine(rules).evaluate(collection.resources, collection.coverage)
            if finding.rule_id == rule_id]


# Envelopes -------------------------------------------------------------------------------------------

def test_envelope_follows_catalogue(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(projects=[ALPHA])

    bucket = by_id(collection, PUBLIC_BUCKET)
    source = asset(PUBLIC_BUCKET)
    assert bucket.provider == "gcp"
    assert bucket.type == "storage.googleapis.com/Bucket"
    assert bucket.account == ALPHA
    assert bucket.region == "us"
    assert bucket.name == "rl-alpha-public"
    assert bucket.configuration == source["resource"]["data"]
    assert bucket.tags == {"team": "web", "cost-center": "42"}
    assert bucket.source == "api"
    assert bucket.errors == {}
    assert collection.accounts == ALPHA_ACCOUNTS
    assert {resource.id for resource in collection.resources} == ALPHA_ASSET_NAMES | ALPHA_ANCESTOR_NAMES


def test_resource_and_policy_merged(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(projects=[ALPHA])

    bucket = by_id(collection, PUBLIC_BUCKET)
    assert bucket.supplementary["iamPolicy"] == asset(PUBLIC_BUCKET)["iamPolicy"]
    project = by_id(collection, ALPHA_NAME)
    assert project.supplementary["iamPolicy"]["auditConfigs"][0]["auditLogConfigs"][2] == {
        "logType": "DATA_WRITE", "exemptedMembers": ["user:batch@ridgeline.test"]}
    assert project.configuration["projectId"] == ALPHA
    assert len(collection.resources) == len(ALPHA_ASSET_NAMES | ALPHA_ANCESTOR_NAMES)


def test_numbers_keep_json_types(gcp_scan: GcpScanner) -> None:
    # resource.data passes through a protobuf Struct, which stores numbers as doubles.
    collection = gcp_scan.scan(projects=[ALPHA])

    priority = by_id(collection, FIREWALL).configuration["priority"]
    assert priority == 1000
    assert type(priority) is int
    assert by_id(collection, FIREWALL).configuration["id"] == "7261548923410094511"
    assert by_id(collection, FIREWALL).configuration["disabled"] is False


def test_policy_absent_after_complete_listing(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(projects=[ALPHA])

    assert by_id(collection, PRIVATE_BUCKET).supplementary["iamPolicy"] == {}
    assert by_id(collection, CRYPTO_KEY).supplementary["iamPolicy"] == {}
    # Cloud Asset Inventory reports no IAM policy for firewalls, so nothing is assumed for them.
    assert "compute.googleapis.com/Firewall" not in IAM_POLICY_TYPES
    assert "iamPolicy" not in by_id(collection, FIREWALL).supplementary


def test_listing_requests_catalogue_types(gcp_scan: GcpScanner) -> None:
    gcp_scan.scan(projects=[ALPHA])

    expected = sorted(entry.name for entry in catalog.TYPES)
    for content_type in ("RESOURCE", "IAM_POLICY"):
        requests = gcp_scan.fake.asset_requests(f"projects/{ALPHA}", content_type)
        assert len(requests) == 1, content_type
        assert sorted(requests[0].query["assetTypes"]) == expected
        assert requests[0].query["pageSize"] == ["1000"]
    assert all(request.method == "GET" for request in gcp_scan.fake.requests)


def test_listing_follows_pages(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(organization=ORG, page_size=2)

    assert {resource.id for resource in collection.resources} == ALL_ASSET_NAMES
    requests = gcp_scan.fake.asset_requests(f"organizations/{ORG}", "RESOURCE")
    assert len(requests) == 5
    assert [request.query.get("pageToken", [""])[0] for request in requests] == ["", "2", "4", "6", "8"]
    assert by_id(collection, BETA_BUCKET).supplementary["iamPolicy"] == asset(BETA_BUCKET)["iamPolicy"]
    assert gcp_scan.recorder.counts["cloudasset.assets.list(RESOURCE)"] == 5


def test_contacts_read_with_paging(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.max_page_size = 2
    collection = gcp_scan.scan(projects=[ALPHA, BETA])

    assert by_id(collection, ALPHA_NAME).supplementary["essentialContacts"] == ALPHA_CONTACTS
    # An empty list response is `{}`: no contacts, which a rule judges (FAIL), not an unknown.
    assert by_id(collection, BETA_NAME).supplementary["essentialContacts"] == []
    assert len(gcp_scan.fake.requests_to(f"/v1/projects/{ALPHA}/contacts")) == 2


def test_project_number_resolves_to_id(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(projects=[ALPHA_NUMBER, ALPHA])

    assert collection.accounts == ALPHA_ACCOUNTS
    assert {resource.account for resource in collection.resources} == set(ALPHA_ACCOUNTS)
    assert len(gcp_scan.fake.asset_requests(f"projects/{ALPHA}", "RESOURCE")) == 1


def test_every_request_declared(gcp_scan: GcpScanner) -> None:
    gcp_scan.scan(organization=ORG)
    gcp_scan.scan(projects=[ALPHA, BETA])

    declared = {call.name for call in declared_calls()}
    assert set(gcp_scan.recorder.counts) <= declared
    assert gcp_scan.recorder.total == len(gcp_scan.fake.requests)


# Organization and folder scopes ----------------------------------------------------------------------

def test_organization_scope_accounts(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(organization=ORG)

    assert collection.accounts == [f"folders/{FOLDER}", f"organizations/{ORG}", ALPHA, BETA]
    assert by_id(collection, ORGANIZATION_NAME).account == f"organizations/{ORG}"
    assert by_id(collection, FOLDER_NAME).account == f"folders/{FOLDER}"
    assert by_id(collection, ORG_ROLE).account == f"organizations/{ORG}"
    assert by_id(collection, PUBLIC_BUCKET).account == ALPHA
    assert by_id(collection, BETA_BUCKET).account == BETA
    assert by_id(collection, ORGANIZATION_NAME).supplementary["essentialContacts"] == ORG_CONTACTS
    assert unit(collection, f"organizations/{ORG}", "organization").resource_counts == {
        "cloudresourcemanager.googleapis.com/Organization": 1}
    assert unit(collection, ALPHA, "storage").resource_counts == {"storage.googleapis.com/Bucket": 2}
    assert all(item.status is Completeness.COMPLETE for item in collection.coverage)


def test_folder_scope(gcp_scan: GcpScanner) -> None:
    collection = gcp_scan.scan(folder=f"folders/{FOLDER}")

    # The organization above the folder is read too.
    assert collection.accounts == [f"folders/{FOLDER}", f"organizations/{ORG}", ALPHA]
    assert BETA_BUCKET not in {resource.id for resource in collection.resources}
    assert gcp_scan.fake.asset_requests(f"folders/{FOLDER}", "RESOURCE")


def test_organization_contacts_rule(gcp_scan: GcpScanner, rules: list[Rule]) -> None:
    collection = gcp_scan.scan(organization=ORG)

    [finding] = findings(collection, rules, "gcp-resourcemanager-org-essential-contacts")
    assert finding.status is Status.PASS


# Failures --------------------------------------------------------------------------------------------

def test_contacts_denied_is_error(gcp_scan: GcpScanner, rules: list[Rule]) -> None:
    gcp_scan.fake.script(f"contacts:projects/{BETA}", google_error(
        403, "PERMISSION_DENIED", "Permission 'essentialcontacts.contacts.list' denied on resource.",
        reason="IAM_PERMISSION_DENIED"))
    collection = gcp_scan.scan(projects=[ALPHA, BETA])

    beta = by_id(collection, BETA_NAME)
    assert "essentialContacts" not in beta.supplementary
    assert beta.errors[CONTACTS_PATH].startswith("PERMISSION_DENIED on essentialcontacts.contacts.list")
    assert unit(collection, BETA, "resourcemanager").status is Completeness.PARTIAL
    assert unit(collection, ALPHA, "resourcemanager").status is Completeness.COMPLETE
    statuses = {finding.account: finding.status
                for finding in findings(collection, rules, "test-gcp-project-security-contact")}
    assert statuses == {ALPHA: Status.PASS, BETA: Status.ERROR}


def test_organization_contacts_denied_is_error(gcp_scan: GcpScanner, rules: list[Rule]) -> None:
    gcp_scan.fake.script(f"contacts:organizations/{ORG}", google_error(403, "PERMISSION_DENIED", "denied"))
    collection = gcp_scan.scan(organization=ORG)

    [finding] = findings(collection, rules, "gcp-resourcemanager-org-essential-contacts")
    assert finding.status is Status.ERROR
    assert "PERMISSION_DENIED" in finding.message


def test_contacts_api_disabled_names_fix(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.script(f"contacts:projects/{ALPHA}",
                         service_disabled("essentialcontacts.googleapis.com", "700000000001"))
    collection = gcp_scan.scan(projects=[ALPHA])

    reason = by_id(collection, ALPHA_NAME).errors[CONTACTS_PATH]
    assert "gcloud services enable essentialcontacts.googleapis.com --project=700000000001" in reason


def test_service_disabled_fails_project(gcp_scan: GcpScanner, rules: list[Rule]) -> None:
    gcp_scan.fake.script(f"assets:projects/{BETA}:RESOURCE",
                         service_disabled("cloudasset.googleapis.com", BETA_NUMBER_CONSUMER))
    collection = gcp_scan.scan(projects=[ALPHA, BETA])

    storage = unit(collection, BETA, "storage")
    assert storage.status is Completeness.FAILED
    assert storage.errors[0].code == "SERVICE_DISABLED"
    fix = f"gcloud services enable cloudasset.googleapis.com --project={BETA_NUMBER_CONSUMER}"
    assert fix in storage.failed_types["storage.googleapis.com/Bucket"]
    assert fix in storage.errors[0].message
    assert all(item.status is Completeness.FAILED for item in collection.coverage if item.account == BETA)
    assert all(item.status is Completeness.COMPLETE for item in collection.coverage if item.account == ALPHA)

    public = findings(collection, rules, "gcp-storage-bucket-not-public")
    statuses = {(finding.account, finding.status) for finding in public}
    assert statuses == {(ALPHA, Status.FAIL), (ALPHA, Status.PASS), (BETA, Status.ERROR)}
    [error] = [finding for finding in public if finding.account == BETA]
    assert fix in error.message


def test_listing_denied_fails_project(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.script(f"assets:projects/{ALPHA}:RESOURCE", google_error(
        403, "PERMISSION_DENIED", "The caller does not have permission", reason="IAM_PERMISSION_DENIED"))
    collection = gcp_scan.scan(projects=[ALPHA])

    compute = unit(collection, ALPHA, "compute")
    assert compute.status is Completeness.FAILED
    assert "roles/cloudasset.viewer" in compute.failed_types["compute.googleapis.com/Firewall"]
    assert compute.errors[0].code == "PERMISSION_DENIED"
    assert collection.resources == []


def test_policies_denied_leaves_policies_unknown(gcp_scan: GcpScanner, rules: list[Rule]) -> None:
    gcp_scan.fake.script(f"assets:projects/{ALPHA}:IAM_POLICY", google_error(
        403, "PERMISSION_DENIED", "Permission cloudasset.assets.listIamPolicy denied"))
    collection = gcp_scan.scan(projects=[ALPHA])

    for name in (PUBLIC_BUCKET, PRIVATE_BUCKET, CRYPTO_KEY, ALPHA_NAME):
        resource = by_id(collection, name)
        assert "iamPolicy" not in resource.supplementary, name
        assert "listIamPolicy" in resource.errors[POLICY_PATH], name
    assert unit(collection, ALPHA, "storage").status is Completeness.PARTIAL
    statuses = {finding.resource_id: finding.status for finding in findings(collection, rules,
                                                                             "gcp-storage-bucket-not-public")}
    assert statuses == {PUBLIC_BUCKET: Status.ERROR, PRIVATE_BUCKET: Status.ERROR}


def test_later_page_failure_keeps_earlier_pages(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.script(f"assets:organizations/{ORG}:RESOURCE@4",
                         *[google_error(500, "INTERNAL", "backend error")] * 200)
    collection = gcp_scan.scan(organization=ORG, page_size=2,
                               retry=RetrySettings(initial_s=0.01, maximum_s=0.02, deadline_s=0.2))

    assert len(collection.resources) == 4
    assert collection.coverage
    assert all(item.status is Completeness.FAILED for item in collection.coverage)
    assert "INTERNAL" in unit(collection, f"organizations/{ORG}", "organization").failed_types[
        "cloudresourcemanager.googleapis.com/Organization"]
    assert "INTERNAL" in unit(collection, ALPHA, "resourcemanager").failed_types[
        "cloudresourcemanager.googleapis.com/Project"]


def test_organization_listing_disabled_is_setup_error(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.script(f"assets:organizations/{ORG}:RESOURCE",
                         service_disabled("cloudasset.googleapis.com", "700000000003"))

    with pytest.raises(ScanSetupError) as raised:
        gcp_scan.scan(organization=ORG)
    assert "gcloud services enable cloudasset.googleapis.com --project=700000000003" in str(raised.value)


# Retries ---------------------------------------------------------------------------------------------

def test_throttled_listing_retried(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.script(f"assets:projects/{ALPHA}:RESOURCE",
                         google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for ListAssets"))
    collection = gcp_scan.scan(projects=[ALPHA])

    assert len(gcp_scan.fake.asset_requests(f"projects/{ALPHA}", "RESOURCE")) == 2
    assert {resource.id for resource in collection.resources} == ALPHA_ASSET_NAMES | ALPHA_ANCESTOR_NAMES
    assert all(item.status is Completeness.COMPLETE for item in collection.coverage)


def test_throttled_contacts_retried(gcp_scan: GcpScanner) -> None:
    gcp_scan.fake.script(f"contacts:projects/{ALPHA}", google_error(429, "RESOURCE_EXHAUSTED", "slow down"),
                         google_error(503, "UNAVAILABLE", "try again"))
    collection = gcp_scan.scan(projects=[ALPHA])

    assert by_id(collection, ALPHA_NAME).supplementary["essentialContacts"] == ALPHA_CONTACTS
    assert len(gcp_scan.fake.requests_to(f"/v1/projects/{ALPHA}/contacts")) == 3
    assert gcp_scan.recorder.counts["essentialcontacts.projects.contacts.list"] == 1


def test_throttling_past_deadline_is_error(gcp_scan: GcpScanner, rules: list[Rule]) -> None:
    gcp_scan.fake.script(f"contacts:projects/{ALPHA}", *[google_error(429, "RESOURCE_EXHAUSTED", "slow down")] * 200)
    collection = gcp_scan.scan(projects=[ALPHA], retry=RetrySettings(initial_s=0.01, maximum_s=0.02, deadline_s=0.2))

    reason = by_id(collection, ALPHA_NAME).errors[CONTACTS_PATH]
    assert reason.startswith("RESOURCE_EXHAUSTED on essentialcontacts.contacts.list")
    assert "after retries" in reason
    [finding] = findings(collection, rules, "test-gcp-project-security-contact")
    assert finding.status is Status.ERROR


# Setup errors ----------------------------------------------------------------------------------------

def test_unknown_project_is_setup_error(gcp_scan: GcpScanner) -> None:
    with pytest.raises(ScanSetupError) as raised:
        gcp_scan.scan(projects=[ALPHA, "rl-missing"])

    assert "project rl-missing not found or not readable" in str(raised.value)
    assert gcp_scan.fake.asset_requests(f"projects/{ALPHA}") == []


@pytest.mark.parametrize(("options", "message"), [
    ({"projects": ["Bad_Project"]}, "invalid project id(s) Bad_Project"),
    ({"projects": ["p1-abcdef"], "organization": ORG}, "give only one of --project, --organization and --folder"),
    ({"organization": "example.com"}, "invalid organization id 'example.com'"),
    ({"folder": "folders/x1"}, "invalid folder id 'folders/x1'"),
    ({}, "no scope given"),
    ({"projects": [ALPHA], "page_size": 5000}, "invalid workers"),
])
def test_invalid_options_are_setup_errors(gcp_scan: GcpScanner, options: dict[str, object], message: str) -> None:
    with pytest.raises(ScanSetupError) as raised:
        gcp_scan.scan(**options)

    assert message in str(raised.value)
    assert gcp_scan.fake.requests == []


def test_remote_plain_http_endpoint_rejected() -> None:
    options = GcpScanOptions(projects=[ALPHA], endpoints=GcpEndpoints(cloudasset="http://assets.example.com"))

    with pytest.raises(ScanSetupError) as raised:
        collect_gcp(options)
    assert "plain http is accepted only for a loopback address" in str(raised.value)
