"""Tests for the rule engine: resource rules, coverage errors, account and region rules, finding ids."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ridgeline.model.finding import Finding, Severity, Status, finding_id
from ridgeline.model.resource import Resource
from ridgeline.model.scan import ACCOUNT_SCOPE_TYPE, REGION_SCOPE_TYPE, CallError, Completeness, Coverage
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import build_rule
from ridgeline.rules.model import Rule
from ridgeline.rules.yamlsource import load_yaml_text

ACCOUNT = "123456789012"
BUCKET = "AWS::S3::Bucket"
BLOCK = "AWS::S3::AccountPublicAccessBlock"
TRAIL = "AWS::CloudTrail::Trail"

UNENCRYPTED = {"path": "configuration.encrypted", "equals": False}


def make_rule(
    rule_id: str,
    condition: dict[str, Any],
    *,
    scope: str = "resource",
    service: str = "s3",
    resource_types: tuple[str, ...] = (BUCKET,),
    fail_message: str = "",
) -> Rule:
    """Build a rule through the loader, as a rule file would."""
    data: dict[str, Any] = {
        "id": rule_id,
        "title": f"Title of {rule_id}",
        "severity": "high",
        "category": "encryption",
        "provider": "aws",
        "service": service,
        "resource_types": list(resource_types),
        "description": "d",
        "risk": "r",
        "remediation": "fix it",
        "scope": scope,
        "fail_if" if scope == "resource" else "require_one": condition,
    }
    if fail_message:
        data["fail_message"] = fail_message
    return build_rule(load_yaml_text(yaml.safe_dump(data)), {}, "engine-test.yaml")


def bucket(name: str, encrypted: bool | None = None, *, region: str = "us-east-1",
           errors: dict[str, str] | None = None) -> Resource:
    configuration = {} if encrypted is None else {"encrypted": encrypted}
    return Resource(provider="aws", account=ACCOUNT, region=region, type=BUCKET, id=f"arn:aws:s3:::{name}",
                    name=name, configuration=configuration, errors=errors or {})


def trail(name: str, multi_region: bool, *, region: str = "us-east-1",
          errors: dict[str, str] | None = None, bucket_name: str = "") -> Resource:
    configuration: dict[str, Any] = {"isMultiRegionTrail": multi_region}
    if bucket_name:
        configuration["s3BucketName"] = bucket_name
    return Resource(provider="aws", account=ACCOUNT, region=region, type=TRAIL,
                    id=f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}", name=name,
                    configuration=configuration, errors=errors or {})


def unit(service: str = "s3", region: str = "global", *, status: Completeness = Completeness.COMPLETE,
         failed_types: dict[str, str] | None = None, errors: list[CallError] | None = None) -> Coverage:
    return Coverage(provider="aws", account=ACCOUNT, region=region, service=service, status=status,
                    failed_types=failed_types or {}, errors=errors or [])


def by_resource(findings: list[Finding]) -> dict[str, Finding]:
    result = {finding.resource_name: finding for finding in findings}
    assert len(result) == len(findings), "two findings share a resource name"
    return result


# --- Resource rules --------------------------------------------------------------------

def test_resource_rule_statuses() -> None:
    rule = make_rule("aws-encrypted", UNENCRYPTED, fail_message="Bucket ${name} in ${region} is not encrypted")
    resources = [
        bucket("good", True),
        bucket("bad", False),
        bucket("denied", False, errors={"configuration.encrypted": "AccessDenied on s3:GetBucketEncryption"}),
    ]

    findings = by_resource(Engine([rule]).evaluate(resources, [unit()]))

    good, bad, denied = findings["good"], findings["bad"], findings["denied"]
    assert good.status is Status.PASS
    assert good.evidence == {}
    assert bad.status is Status.FAIL
    assert bad.message == "Bucket bad in us-east-1 is not encrypted"
    assert bad.evidence == {"configuration.encrypted": False}
    assert denied.status is Status.ERROR
    assert denied.message == "Not assessed: configuration.encrypted: AccessDenied on s3:GetBucketEncryption"
    assert denied.evidence["not_assessed"] == ["configuration.encrypted: AccessDenied on s3:GetBucketEncryption"]


def test_resource_finding_fields() -> None:
    rule = make_rule("aws-encrypted", UNENCRYPTED)

    (finding,) = Engine([rule]).evaluate([bucket("bad", False, region="eu-west-1")], [unit()])

    assert finding.rule_id == "aws-encrypted"
    assert finding.severity is Severity.HIGH
    assert finding.category == "encryption"
    assert (finding.provider, finding.account, finding.region) == ("aws", ACCOUNT, "eu-west-1")
    assert (finding.resource_id, finding.resource_type, finding.resource_name) == ("arn:aws:s3:::bad", BUCKET, "bad")
    assert finding.message == "bad does not meet: Title of aws-encrypted"


def test_fail_evidence_lists_matching_items() -> None:
    rule = make_rule("aws-no-open-rule", {"any_item": "configuration.rules", "where": {"path": "open", "equals": True}})
    resource = bucket("b")
    resource.configuration["rules"] = [{"open": False, "n": 1}, {"open": True, "n": 2}]

    (finding,) = Engine([rule]).evaluate([resource], [unit()])

    assert finding.status is Status.FAIL
    assert finding.evidence["configuration.rules (matching items)"] == [{"open": True, "n": 2}]


def test_rules_of_other_services_ignored() -> None:
    rule = make_rule("aws-encrypted", UNENCRYPTED)
    other = make_rule("aws-kms-rule", UNENCRYPTED, service="kms", resource_types=("AWS::KMS::Key",))
    key = Resource(provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::KMS::Key",
                   id=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1", name="1", configuration={"encrypted": False})

    findings = Engine([rule, other]).evaluate([bucket("bad", False), key], [unit("s3")])

    assert [finding.rule_id for finding in findings] == ["aws-encrypted"]


def test_service_not_in_coverage_produces_nothing() -> None:
    rule = make_rule("aws-encrypted", UNENCRYPTED)
    scope_rule = make_rule("aws-has-trail", {"path": "configuration.isMultiRegionTrail", "equals": True},
                           scope="account", service="cloudtrail", resource_types=(TRAIL,))

    findings = Engine([rule, scope_rule]).evaluate([bucket("bad", False), trail("t", True)], [unit("iam")])

    assert findings == []


# --- Coverage gaps ---------------------------------------------------------------------

DENIED = CallError(call="s3:ListBuckets", code="AccessDenied", message="not allowed")


def test_failed_unit_gives_error_per_rule() -> None:
    rules = [make_rule("aws-encrypted", UNENCRYPTED), make_rule("aws-versioned", {"path": "configuration.v",
                                                                                  "equals": False}),
             make_rule("aws-kms-rule", UNENCRYPTED, service="kms", resource_types=("AWS::KMS::Key",))]
    failed = unit("s3", "global", status=Completeness.FAILED, errors=[DENIED])

    findings = Engine(rules).evaluate([], [failed])

    assert sorted(finding.rule_id for finding in findings) == ["aws-encrypted", "aws-versioned"]
    for finding in findings:
        assert finding.status is Status.ERROR
        assert finding.resource_id == f"aws:{ACCOUNT}"
        assert finding.resource_type == ACCOUNT_SCOPE_TYPE
        assert finding.region == "global"
        assert finding.message == (f"Not assessed: s3 in account {ACCOUNT}, region global could not be collected: "
                                   "AccessDenied on s3:ListBuckets: not allowed")
        assert finding.evidence == {"not_assessed": [finding.message.removeprefix("Not assessed: ")]}


def test_failed_regional_unit_scope() -> None:
    rule = make_rule("aws-ebs-encrypted", UNENCRYPTED, service="ec2", resource_types=("AWS::EC2::Volume",))

    (finding,) = Engine([rule]).evaluate([], [unit("ec2", "eu-west-1", status=Completeness.FAILED)])

    assert finding.status is Status.ERROR
    assert finding.resource_id == f"aws:{ACCOUNT}:eu-west-1"
    assert finding.resource_type == REGION_SCOPE_TYPE
    assert finding.message.endswith("could not be collected: collection failed")


def test_failed_type_gives_error_for_its_rules() -> None:
    volume_rule = make_rule("aws-ebs-encrypted", UNENCRYPTED, service="ec2", resource_types=("AWS::EC2::Volume",))
    group_rule = make_rule("aws-sg-open", {"path": "configuration.open", "equals": True}, service="ec2",
                           resource_types=("AWS::EC2::SecurityGroup",))
    partial = unit("ec2", "us-east-1", status=Completeness.PARTIAL,
                   failed_types={"AWS::EC2::Volume": "AccessDenied on ec2:DescribeVolumes"})

    findings = Engine([volume_rule, group_rule]).evaluate([], [partial])

    (finding,) = findings
    assert finding.rule_id == "aws-ebs-encrypted"
    assert finding.status is Status.ERROR
    assert finding.message == ("Not assessed: AWS::EC2::Volume could not be listed for ec2 in account "
                               f"{ACCOUNT}, region us-east-1: AccessDenied on ec2:DescribeVolumes")


@pytest.mark.parametrize("status", [Completeness.COMPLETE, Completeness.PARTIAL])
def test_unit_without_failures_adds_nothing(status: Completeness) -> None:
    rule = make_rule("aws-encrypted", UNENCRYPTED)

    findings = Engine([rule]).evaluate([bucket("good", True)], [unit(status=status)])

    assert [finding.status for finding in findings] == [Status.PASS]


# --- Account and region rules ----------------------------------------------------------

MULTI_REGION = {"path": "configuration.isMultiRegionTrail", "equals": True}


def account_rule(fail_message: str = "") -> Rule:
    return make_rule("aws-multi-region-trail", MULTI_REGION, scope="account", service="cloudtrail",
                     resource_types=(TRAIL,), fail_message=fail_message)


def test_account_rule_passes_with_one_resource() -> None:
    resources = [trail("regional", False), trail("global", True)]

    (finding,) = Engine([account_rule()]).evaluate(resources, [unit("cloudtrail", "us-east-1")])

    assert finding.status is Status.PASS
    assert finding.evidence == {"satisfied_by": resources[1].id}
    assert finding.resource_id == f"aws:{ACCOUNT}"
    assert finding.resource_type == ACCOUNT_SCOPE_TYPE
    assert finding.region == "global"
    assert finding.resource_name == ACCOUNT


def test_account_rule_fails_when_none_satisfies() -> None:
    resources = [trail("one", False), trail("two", False, region="eu-west-1")]
    coverage = [unit("cloudtrail", "us-east-1"), unit("cloudtrail", "eu-west-1")]

    (finding,) = Engine([account_rule()]).evaluate(resources, coverage)

    assert finding.status is Status.FAIL
    assert finding.evidence == {
        "resource_types": [TRAIL],
        "examined": [resources[0].id, resources[1].id],
        "examined_count": 2,
    }
    assert finding.message == f"Nothing in account {ACCOUNT} meets: Title of aws-multi-region-trail (2 examined)"


def test_account_rule_fails_with_no_candidates() -> None:
    (finding,) = Engine([account_rule("No multi-region trail in ${name} (${id})")]).evaluate(
        [], [unit("cloudtrail", "us-east-1")])

    assert finding.status is Status.FAIL
    assert finding.evidence["examined"] == []
    assert finding.message == f"No multi-region trail in account {ACCOUNT} (aws:{ACCOUNT})"


def test_account_rule_error_on_unknown_candidate() -> None:
    resources = [trail("denied", True, errors={"configuration": "AccessDenied on cloudtrail:GetTrail"}),
                 trail("regional", False)]

    (finding,) = Engine([account_rule()]).evaluate(resources, [unit("cloudtrail", "us-east-1")])

    assert finding.status is Status.ERROR
    assert finding.evidence == {
        "not_assessed": [f"{resources[0].id}: configuration.isMultiRegionTrail: AccessDenied on cloudtrail:GetTrail"]
    }


def test_account_rule_passes_despite_unknown_candidate() -> None:
    resources = [trail("denied", False, errors={"configuration": "AccessDenied"}), trail("global", True)]

    (finding,) = Engine([account_rule()]).evaluate(resources, [unit("cloudtrail", "us-east-1")])

    assert finding.status is Status.PASS


@pytest.mark.parametrize(("status", "failed_types"), [
    pytest.param(Completeness.FAILED, {}, id="unit-failed"),
    pytest.param(Completeness.PARTIAL, {TRAIL: "AccessDenied on cloudtrail:DescribeTrails"}, id="type-failed"),
])
def test_account_rule_error_on_incomplete_coverage(status: Completeness, failed_types: dict[str, str]) -> None:
    coverage = [unit("cloudtrail", "us-east-1"),
                unit("cloudtrail", "eu-west-1", status=status, failed_types=failed_types)]

    findings = Engine([account_rule()]).evaluate([trail("regional", False)], coverage)

    (finding,) = findings
    assert finding.status is Status.ERROR
    assert "eu-west-1" in finding.message
    assert finding.message.startswith("Not assessed: ")


def test_account_rule_passes_despite_failed_region() -> None:
    coverage = [unit("cloudtrail", "us-east-1"), unit("cloudtrail", "eu-west-1", status=Completeness.FAILED)]

    (finding,) = Engine([account_rule()]).evaluate([trail("global", True)], coverage)

    assert finding.status is Status.PASS


def test_region_rule_one_finding_per_region() -> None:
    rule = make_rule("aws-recorder-on", {"path": "configuration.recording", "equals": True}, scope="region",
                     service="config", resource_types=("AWS::Config::ConfigurationRecorder",))
    recorder = Resource(provider="aws", account=ACCOUNT, region="us-east-1",
                        type="AWS::Config::ConfigurationRecorder", id="recorder-1", name="default",
                        configuration={"recording": True})
    coverage = [unit("config", "us-east-1"), unit("config", "eu-west-1"),
                unit("config", "ap-south-1", status=Completeness.FAILED)]

    findings = {f.region: f for f in Engine([rule]).evaluate([recorder], coverage)}

    assert {region: f.status for region, f in findings.items()} == {
        "us-east-1": Status.PASS, "eu-west-1": Status.FAIL, "ap-south-1": Status.ERROR}
    east = findings["us-east-1"]
    assert east.resource_id == f"aws:{ACCOUNT}:us-east-1"
    assert east.resource_type == REGION_SCOPE_TYPE
    assert east.resource_name == f"{ACCOUNT}/us-east-1"
    assert findings["eu-west-1"].message.startswith(f"Nothing in region eu-west-1 of account {ACCOUNT} meets")


def test_scope_rule_related_inside_items() -> None:
    # The related lookup inside a quantifier needs the candidate as owner.
    condition = {
        "any_item": "configuration.buckets",
        "where": {"related": {"type": BUCKET, "match": {"name_from": "@"}},
                  "where": {"path": "configuration.encrypted", "equals": True}},
    }
    rule = make_rule("aws-trail-bucket-encrypted", condition, scope="account", service="cloudtrail",
                     resource_types=(TRAIL,))
    candidate = trail("t", True)
    candidate.configuration["buckets"] = ["logs"]

    (finding,) = Engine([rule]).evaluate([candidate, bucket("logs", True)], [unit("cloudtrail", "us-east-1")])

    assert finding.status is Status.PASS


def test_resource_rule_related_bucket() -> None:
    condition = {"related": {"type": BUCKET, "match": {"name_from": "configuration.s3BucketName"}},
                 "where": {"path": "configuration.encrypted", "equals": False}, "missing": False}
    rule = make_rule("aws-trail-bucket", condition, service="cloudtrail", resource_types=(TRAIL,))
    resources = [trail("to-plain", True, bucket_name="plain"), trail("to-secure", True, bucket_name="secure"),
                 trail("to-absent", True, bucket_name="absent"), bucket("plain", False), bucket("secure", True)]

    # The scan read S3, so the bucket that is not in it does not exist.
    findings = by_resource(Engine([rule]).evaluate(resources, [unit("cloudtrail", "us-east-1"), unit("s3")]))

    assert findings["to-plain"].status is Status.FAIL
    assert findings["to-plain"].evidence["related AWS::S3::Bucket"] == "arn:aws:s3:::plain"
    assert findings["to-secure"].status is Status.PASS
    assert findings["to-absent"].status is Status.PASS


# --- Finding ids -----------------------------------------------------------------------

def test_finding_ids_are_stable() -> None:
    rules = [make_rule("aws-encrypted", UNENCRYPTED), account_rule()]
    resources = [bucket("a", False), bucket("b", True), trail("t", False)]
    coverage = [unit("s3"), unit("cloudtrail", "us-east-1")]

    first = [finding.id for finding in Engine(rules).evaluate(resources, coverage)]
    second = [finding.id for finding in Engine(rules).evaluate(list(reversed(resources)), coverage)]

    assert sorted(first) == sorted(second)
    assert len(set(first)) == len(first) == 3


def test_finding_id_formula() -> None:
    (finding,) = Engine([make_rule("aws-encrypted", UNENCRYPTED)]).evaluate([bucket("a", False)], [unit()])

    assert finding.id == finding_id("aws-encrypted", "arn:aws:s3:::a", "us-east-1")
    assert len(finding.id) == 32
    assert finding_id("aws-encrypted", "arn:aws:s3:::a", "eu-west-1") != finding.id
    assert finding_id("aws-versioned", "arn:aws:s3:::a", "us-east-1") != finding.id
    # The separator keeps "ab" + "c" apart from "a" + "bc".
    assert finding_id("ab", "c") != finding_id("a", "bc")


def test_gcp_id_from_finds_other_project() -> None:
    from ridgeline.rules.engine import ResourceIndex

    bucket = Resource(provider="gcp", account="logs-project", region="us", type="storage.googleapis.com/Bucket",
                      id="//storage.googleapis.com/central-logs", name="central-logs")
    sink = Resource(provider="gcp", account="app-project", region="global", type="logging.googleapis.com/LogSink",
                    id="//logging.googleapis.com/projects/app-project/sinks/to-central", name="to-central")
    index = ResourceIndex([bucket, sink])

    found = index.find("storage.googleapis.com/Bucket", sink, "id_from", "storage.googleapis.com/central-logs")
    absent = index.find("storage.googleapis.com/Bucket", sink, "id_from", "storage.googleapis.com/other-logs")

    assert found is bucket
    assert absent is None


def test_pass_carries_what_a_check_function_found() -> None:
    # A VPC rule admitting SSH from anywhere, hidden by a deny of the organization's firewall policy.
    from ridgeline.rules.loader import load_builtin_rules

    ancestors = ["projects/123", "organizations/789"]
    firewall = Resource(provider="gcp", account="p1", region="global", type="compute.googleapis.com/Firewall",
                        id="//compute.googleapis.com/projects/p1/global/firewalls/ssh", name="ssh",
                        configuration={"name": "ssh", "network": "projects/p1/global/networks/vpc",
                                       "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                                       "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]},
                        supplementary={"ancestors": ancestors})
    organization = Resource(provider="gcp", account="organizations/789", region="global",
                            type="cloudresourcemanager.googleapis.com/Organization",
                            id="//cloudresourcemanager.googleapis.com/organizations/789", name="example.com",
                            configuration={"name": "organizations/789"})
    policy = Resource(provider="gcp", account="organizations/789", region="global",
                      type="compute.googleapis.com/FirewallPolicy",
                      id="//compute.googleapis.com/locations/global/firewallPolicies/1", name="baseline",
                      configuration={"name": "1", "shortName": "baseline", "parent": "organizations/789",
                                     "associations": [{"attachmentTarget": "organizations/789"}],
                                     "rules": [{"priority": 100, "action": "deny", "direction": "INGRESS",
                                                "match": {"srcIpRanges": ["0.0.0.0/0"],
                                                          "layer4Configs": [{"ipProtocol": "tcp"}]}}]})
    rules = [rule for rule in load_builtin_rules() if rule.id == "gcp-compute-firewall-ssh-internet"]
    engine = Engine(rules)
    index = engine.build_index([firewall, organization, policy], [])

    finding = engine.evaluate_resource(rules[0], firewall, index)

    assert finding is not None and finding.status is Status.PASS
    assert "baseline" in finding.evidence["gcp.firewall_internet_ports"]


def test_unlisted_firewall_policies_error() -> None:
    # The organization is in the scan, but its listing of firewall policies failed: a policy there may deny
    # the SSH that the VPC rule admits, so the VPC rule cannot FAIL, and its message gives the reason.
    from ridgeline.rules.loader import load_builtin_rules

    firewall = Resource(provider="gcp", account="p1", region="global", type="compute.googleapis.com/Firewall",
                        id="//compute.googleapis.com/projects/p1/global/firewalls/ssh", name="ssh",
                        configuration={"name": "ssh", "network": "projects/p1/global/networks/vpc",
                                       "direction": "INGRESS", "sourceRanges": ["0.0.0.0/0"],
                                       "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]},
                        supplementary={"ancestors": ["projects/123", "organizations/789"]})
    organization = Resource(provider="gcp", account="organizations/789", region="global",
                            type="cloudresourcemanager.googleapis.com/Organization",
                            id="//cloudresourcemanager.googleapis.com/organizations/789", name="example.com",
                            configuration={"name": "organizations/789"})
    failed = Coverage(provider="gcp", account="organizations/789", region="global", service="organization",
                      status=Completeness.PARTIAL,
                      failed_types={"compute.googleapis.com/FirewallPolicy": "PERMISSION_DENIED: listing denied"})
    rules = [rule for rule in load_builtin_rules() if rule.id == "gcp-compute-firewall-ssh-internet"]
    engine = Engine(rules)
    index = engine.build_index([firewall, organization], [failed])

    finding = engine.evaluate_resource(rules[0], firewall, index)

    assert finding is not None and finding.status is Status.ERROR
    assert "firewall policies of organizations/789 could not be listed (PERMISSION_DENIED: listing denied)" \
        in finding.message


def test_findings_name_their_resource_field_by_field() -> None:
    # The engine builds findings with positional arguments, which must follow Finding's field order.
    resource = Resource(provider="aws", account="111122223333", region="eu-west-1", type="AWS::S3::Bucket",
                        id="arn:aws:s3:::logs", name="logs", configuration={"versioning": False})
    rule = make_rule("t-versioning", {"path": "configuration.versioning", "equals": False},
                     resource_types=("AWS::S3::Bucket",))

    (finding,) = Engine([rule]).evaluate([resource], [unit("s3", "eu-west-1")])

    assert (finding.rule_id, finding.status, finding.severity, finding.category) == (
        "t-versioning", Status.FAIL, rule.severity, "encryption")
    assert (finding.provider, finding.account, finding.region) == ("aws", "111122223333", "eu-west-1")
    assert (finding.resource_id, finding.resource_type, finding.resource_name) == (
        "arn:aws:s3:::logs", "AWS::S3::Bucket", "logs")
    assert finding.evidence == {"configuration.versioning": False}
