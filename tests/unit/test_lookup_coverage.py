"""Lookups of a type whose service the scan did not read are unknown, never decided by `missing`.

A `related` or `count` lookup, or a check function's `lookup`, that finds nothing proves an absence only
where the scan listed the type. When the scan did not read the type's service where the lookup looks (a
live scan limited with --services, an export without any asset of the service), the rule is ERROR with
the reason. A service that was read and has no resource of the type is a real absence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import import_files
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.pipeline import evaluate_collection, evaluate_files
from ridgeline.rules.conditions import CountNode, EvalContext, Node, RelatedNode, ScanLookup, compile_condition
from ridgeline.rules.engine import Engine, ResourceIndex, service_of_type
from ridgeline.rules.loader import known_services, load_builtin_rules
from ridgeline.rules.model import Rule
from tests.rules.case_files import RuleCase, load_cases

RULES = {rule.id: rule for rule in load_builtin_rules()}

PROJECT = "p1"
PROJECT_NUMBER = "111"
DNS_RULE = "gcp-dns-network-query-logging"
NOT_IMPORTED = f"the imported files hold no dns resources of project {PROJECT}"

AWS_ACCOUNT = "111122223333"
TRAIL_TYPE = "AWS::CloudTrail::Trail"
BUCKET_TYPE = "AWS::S3::Bucket"
LOG_GROUP_TYPE = "AWS::Logs::LogGroup"
LOG_GROUP_ARN = f"arn:aws:logs:us-east-1:{AWS_ACCOUNT}:log-group:cloudtrail-events:*"

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000002"


# --- Cloud Asset Inventory exports: the DNS server policy of VPC networks ------------------------------

def _asset(asset_type: str, path: str, data: dict[str, Any]) -> dict[str, Any]:
    """Return one asset line of `gcloud asset export` (snake_case) in project p1."""
    service = asset_type.split("/", 1)[0]
    return {"name": f"//{service}/projects/{PROJECT}/{path}", "asset_type": asset_type,
            "ancestors": [f"projects/{PROJECT_NUMBER}"], "update_time": "2026-01-01T00:00:00Z",
            "resource": {"version": "v1", "discovery_name": asset_type.rsplit("/", 1)[-1],
                         "parent": f"//cloudresourcemanager.googleapis.com/projects/{PROJECT_NUMBER}",
                         "location": "global", "data": data}}


def _network_url(name: str) -> str:
    return f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/global/networks/{name}"


def network_asset(name: str) -> dict[str, Any]:
    return _asset("compute.googleapis.com/Network", f"global/networks/{name}",
                  {"name": name, "selfLink": _network_url(name), "autoCreateSubnetworks": False})


def dns_policy_asset(*networks: str) -> dict[str, Any]:
    return _asset("dns.googleapis.com/Policy", "policies/query-logs",
                  {"name": "query-logs", "enableLogging": True,
                   "networks": [{"networkUrl": _network_url(name)} for name in networks]})


def managed_zone_asset() -> dict[str, Any]:
    return _asset("dns.googleapis.com/ManagedZone", "managedZones/corp",
                  {"name": "corp", "dnsName": "corp.example.com.", "visibility": "private"})


def write_export(tmp_path: Path, assets: list[dict[str, Any]]) -> Path:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(asset) + "\n" for asset in assets), encoding="utf-8")
    return path


def network_findings(path: Path) -> dict[str, Finding]:
    """Return the DNS rule's findings by network name, from `ridgeline scan file` evaluation of `path`."""
    scans = evaluate_files([str(path)], [RULES[DNS_RULE]])
    return {finding.resource_name: finding for result in scans.results for finding in result.findings}


def test_dns_lookup_without_dns_assets_is_error(tmp_path: Path) -> None:
    # A compute-only export (`gcloud asset export --asset-types=compute.googleapis.com.*`): nothing about DNS.
    findings = network_findings(write_export(tmp_path, [network_asset("vpc-a"), network_asset("vpc-b")]))

    assert set(findings) == {"vpc-a", "vpc-b"}
    for finding in findings.values():
        assert finding.status is Status.ERROR
        assert finding.message.startswith("Not assessed: related dns.googleapis.com/Policy")
        assert NOT_IMPORTED in finding.message
        assert finding.evidence["not_assessed"] == [finding.message.removeprefix("Not assessed: ")]


def test_dns_policy_export_decides(tmp_path: Path) -> None:
    export = [network_asset("vpc-a"), network_asset("vpc-b"), managed_zone_asset(), dns_policy_asset("vpc-a")]

    findings = network_findings(write_export(tmp_path, export))

    assert findings["vpc-a"].status is Status.PASS
    assert findings["vpc-b"].status is Status.FAIL
    assert findings["vpc-b"].message == "VPC network vpc-b has no DNS server policy that logs its queries."


def test_dns_zone_without_policy_is_not_in_files(tmp_path: Path) -> None:
    # The import expects every type of a service that has an asset in the files. An export with managed
    # zones and no policy may have been filtered to zones, so the policies stay unknown (not a FAIL).
    findings = network_findings(write_export(tmp_path, [network_asset("vpc-a"), managed_zone_asset()]))

    assert findings["vpc-a"].status is Status.ERROR
    assert "not in the imported files" in findings["vpc-a"].message
    assert NOT_IMPORTED not in findings["vpc-a"].message


def _network_resource(name: str) -> Resource:
    return Resource(provider="gcp", account=PROJECT, region="global", type="compute.googleapis.com/Network",
                    id=f"//compute.googleapis.com/projects/{PROJECT}/global/networks/{name}", name=name,
                    configuration={"name": name, "selfLink": _network_url(name)})


def _gcp_unit(service: str, account: str = PROJECT, failed_types: dict[str, str] | None = None) -> Coverage:
    return Coverage(provider="gcp", account=account, region="global", service=service,
                    failed_types=failed_types or {})


def test_dns_scanned_without_policy_fails() -> None:
    # A live scan that read the dns service of the project and found no server policy: a real absence.
    rule = RULES[DNS_RULE]

    (finding,) = Engine([rule]).evaluate([_network_resource("vpc-a")], [_gcp_unit("compute"), _gcp_unit("dns")])

    assert finding.status is Status.FAIL
    assert finding.evidence["related dns.googleapis.com/Policy"] == (
        "related dns.googleapis.com/Policy of the same account was not collected")


def test_dns_not_scanned_is_error() -> None:
    # A live scan limited to the compute service.
    rule = RULES[DNS_RULE]

    (finding,) = Engine([rule]).evaluate([_network_resource("vpc-a")], [_gcp_unit("compute")])

    assert finding.status is Status.ERROR
    assert "the dns service was not scanned in project p1" in finding.message


def test_dns_scanned_in_other_project_only_is_error() -> None:
    rule = RULES[DNS_RULE]

    (finding,) = Engine([rule]).evaluate([_network_resource("vpc-a")],
                                         [_gcp_unit("compute"), _gcp_unit("dns", account="p2")])

    assert finding.status is Status.ERROR
    assert "the dns service was not scanned in project p1" in finding.message


def test_partial_policy_listing_is_error() -> None:
    # One policy was listed before the listing failed: it does not cover the network, but another might.
    rule = RULES[DNS_RULE]
    policy = Resource(provider="gcp", account=PROJECT, region="global", type="dns.googleapis.com/Policy",
                      id=f"//dns.googleapis.com/projects/{PROJECT}/policies/other", name="other",
                      configuration={"name": "other", "enableLogging": True,
                                     "networks": [{"networkUrl": _network_url("vpc-z")}]})
    failed = _gcp_unit("dns", failed_types={"dns.googleapis.com/Policy": "UNAVAILABLE after retries"})

    findings = Engine([rule]).evaluate([_network_resource("vpc-a"), policy], [_gcp_unit("compute"), failed])

    [finding] = [finding for finding in findings if finding.resource_type == "compute.googleapis.com/Network"]
    assert finding.status is Status.ERROR
    assert "the others could not be listed: UNAVAILABLE after retries" in finding.message


@pytest.mark.parametrize("assets", [
    pytest.param([network_asset("vpc-a"), network_asset("vpc-b")], id="without-dns"),
    pytest.param([network_asset("vpc-a"), network_asset("vpc-b"), dns_policy_asset("vpc-b")], id="with-policy"),
])
def test_streamed_findings_match_whole(tmp_path: Path, assets: list[dict[str, Any]]) -> None:
    path = write_export(tmp_path, assets)
    rules = [rule for rule in RULES.values() if rule.provider == "gcp"]

    whole = [finding for collection in import_files([str(path)]).collections
             for finding in evaluate_collection(collection, rules, store=None).findings]
    streamed = evaluate_files([str(path)], rules)

    assert streamed.streamed == {"gcp": True}
    key = [(finding.id, finding.status, finding.message) for finding in whole]
    assert sorted(key) == sorted((finding.id, finding.status, finding.message)
                                 for result in streamed.results for finding in result.findings)
    assert any(DNS_RULE == finding.rule_id for finding in whole)


# --- AWS: a trail's bucket and log group -------------------------------------------------------------

def _trail(*, bucket: str = "org-trail-logs", log_group_arn: str = LOG_GROUP_ARN) -> Resource:
    """A multi-region trail that logs every management event, as the CloudTrail collector records it."""
    return Resource(provider="aws", account=AWS_ACCOUNT, region="us-east-1", type=TRAIL_TYPE,
                    id=f"arn:aws:cloudtrail:us-east-1:{AWS_ACCOUNT}:trail/org-trail", name="org-trail",
                    configuration={"name": "org-trail", "isMultiRegionTrail": True, "s3BucketName": bucket,
                                   "cloudWatchLogsLogGroupArn": log_group_arn},
                    supplementary={"TrailStatus": {"isLogging": True},
                                   "EventSelectors": [{"readWriteType": "All", "includeManagementEvents": True}]})


def _bucket(name: str = "org-trail-logs", *, logging_to: str = "") -> Resource:
    logging = {"destinationBucketName": logging_to} if logging_to else {}
    return Resource(provider="aws", account=AWS_ACCOUNT, region="us-east-1", type=BUCKET_TYPE,
                    id=f"arn:aws:s3:::{name}", name=name, configuration={"name": name},
                    supplementary={"BucketLoggingConfiguration": logging,
                                   "BucketPolicy": {"policyText": None},
                                   "AccessControlList": {"grantList": [], "owner": {"id": "owner"}},
                                   "PublicAccessBlockConfiguration": {}})


def _log_group(arn: str = LOG_GROUP_ARN) -> Resource:
    """A log group without metric filters: nothing alerts on the trail's events."""
    return Resource(provider="aws", account=AWS_ACCOUNT, region=arn.split(":")[3], type=LOG_GROUP_TYPE, id=arn,
                    name="cloudtrail-events", configuration={"logGroupName": "cloudtrail-events", "arn": arn},
                    supplementary={"MetricFilters": [], "MetricAlarms": [], "TopicSubscriptions": {}})


def _aws_unit(service: str, region: str = "global", failed_types: dict[str, str] | None = None) -> Coverage:
    return Coverage(provider="aws", account=AWS_ACCOUNT, region=region, service=service,
                    failed_types=failed_types or {})


def test_trail_bucket_without_s3_is_error() -> None:
    rule = RULES["aws-cloudtrail-bucket-access-logging"]

    (finding,) = Engine([rule]).evaluate([_trail()], [_aws_unit("cloudtrail", "us-east-1")])

    assert finding.status is Status.ERROR
    assert (f"related AWS::S3::Bucket 'org-trail-logs' was not collected, because it could not be listed: "
            f"the s3 service was not scanned in account {AWS_ACCOUNT}") in finding.message


@pytest.mark.parametrize(("logging_to", "status"), [("access-logs", Status.PASS), ("", Status.FAIL)])
def test_trail_bucket_with_s3_decides(logging_to: str, status: Status) -> None:
    rule = RULES["aws-cloudtrail-bucket-access-logging"]
    resources = [_trail(), _bucket(logging_to=logging_to)]

    findings = Engine([rule]).evaluate(resources, [_aws_unit("cloudtrail", "us-east-1"), _aws_unit("s3")])

    [finding] = [finding for finding in findings if finding.resource_type == TRAIL_TYPE]
    assert finding.status is status


def test_log_group_region_not_scanned_is_error() -> None:
    # The monitoring service was scanned in eu-west-1 only; the trail's log group is in us-east-1.
    rule = RULES["aws-cloudtrail-alarm-root-usage"]
    coverage = [_aws_unit("cloudtrail", "us-east-1"), _aws_unit("monitoring", "eu-west-1")]

    (finding,) = Engine([rule]).evaluate([_trail()], coverage)

    assert finding.status is Status.ERROR
    assert (f"the monitoring service was not scanned in account {AWS_ACCOUNT} in region us-east-1"
            in finding.message)


def test_log_group_region_scanned_decides() -> None:
    rule = RULES["aws-cloudtrail-alarm-root-usage"]
    coverage = [_aws_unit("cloudtrail", "us-east-1"), _aws_unit("monitoring", "us-east-1")]

    (with_group,) = Engine([rule]).evaluate([_trail(), _log_group()], coverage)
    (without_group,) = Engine([rule]).evaluate([_trail()], coverage)

    assert with_group.status is Status.FAIL
    # The rule leaves a missing log group unknown (`missing` unset), and its message names the log group.
    assert without_group.status is Status.ERROR
    assert "could not be listed" not in without_group.message
    assert f"'{LOG_GROUP_ARN}' was not collected" in without_group.message


def test_log_group_arn_names_other_account() -> None:
    # The ARN's account decides where the lookup looks: the trail's own account was scanned, the other not.
    rule = RULES["aws-cloudtrail-alarm-root-usage"]
    other_arn = "arn:aws:logs:us-east-1:444455556666:log-group:central:*"
    coverage = [_aws_unit("cloudtrail", "us-east-1"), _aws_unit("monitoring", "us-east-1")]

    (finding,) = Engine([rule]).evaluate([_trail(log_group_arn=other_arn)], coverage)

    assert finding.status is Status.ERROR
    assert "the monitoring service was not scanned in account 444455556666" in finding.message


# --- Azure: a Databricks workspace's virtual network, and Network Watcher ------------------------------

def _azure(type_name: str, name: str, properties: dict[str, Any], *, subscription: str = SUBSCRIPTION,
           location: str = "eastus") -> Resource:
    resource_id = f"/subscriptions/{subscription}/resourceGroups/rg-app/providers/{type_name}/{name}"
    return Resource(provider="azure", account=subscription, region=location, type=type_name, id=resource_id,
                    name=name, configuration={"id": resource_id, "name": name, "type": type_name,
                                              "location": location, "properties": properties})


def _workspace(vnet_subscription: str = SUBSCRIPTION) -> Resource:
    vnet_id = (f"/subscriptions/{vnet_subscription}/resourceGroups/rg-app/providers/Microsoft.Network/"
               "virtualNetworks/vnet-dbw")
    return _azure("Microsoft.Databricks/workspaces", "dbw", {
        "parameters": {"customVirtualNetworkId": {"value": vnet_id},
                       "customPublicSubnetName": {"value": "snet-host"},
                       "customPrivateSubnetName": {"value": "snet-container"}}})


def _vnet(nsg_on_container: bool) -> Resource:
    delegation = [{"name": "databricks", "properties": {"serviceName": "Microsoft.Databricks/workspaces"}}]
    nsg = {"id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Network/"
                 "networkSecurityGroups/nsg-dbw"}
    container: dict[str, Any] = {"delegations": delegation}
    if nsg_on_container:
        container["networkSecurityGroup"] = nsg
    return _azure("Microsoft.Network/virtualNetworks", "vnet-dbw", {"subnets": [
        {"name": "snet-host", "properties": {"delegations": delegation, "networkSecurityGroup": nsg}},
        {"name": "snet-container", "properties": container}]})


def _azure_unit(service: str, subscription: str = SUBSCRIPTION) -> Coverage:
    return Coverage(provider="azure", account=subscription, region="global", service=service)


def _workspace_finding(resources: list[Resource], coverage: list[Coverage]) -> Finding:
    rule = RULES["azure-databricks-subnet-nsg"]
    findings = Engine([rule]).evaluate(resources, coverage)
    [finding] = [finding for finding in findings if finding.resource_type == "Microsoft.Databricks/workspaces"]
    return finding


def test_databricks_vnet_without_network_is_error() -> None:
    finding = _workspace_finding([_workspace()], [_azure_unit("databricks")])

    assert finding.status is Status.ERROR
    assert f"the network service was not scanned in subscription {SUBSCRIPTION}" in finding.message


@pytest.mark.parametrize(("nsg_on_container", "status"), [(True, Status.PASS), (False, Status.FAIL)])
def test_databricks_vnet_with_network_decides(nsg_on_container: bool, status: Status) -> None:
    coverage = [_azure_unit("databricks"), _azure_unit("network")]

    finding = _workspace_finding([_workspace(), _vnet(nsg_on_container)], coverage)

    assert finding.status is status


def test_databricks_vnet_in_unscanned_subscription_is_error() -> None:
    # The workspace's own subscription was scanned whole; the one the virtual network id names was not.
    coverage = [_azure_unit("databricks"), _azure_unit("network")]

    finding = _workspace_finding([_workspace(vnet_subscription=OTHER_SUBSCRIPTION)], coverage)

    assert finding.status is Status.ERROR
    assert f"the network service was not scanned in subscription {OTHER_SUBSCRIPTION}" in finding.message


def test_network_watcher_absent_where_scanned_fails() -> None:
    # `missing: true`: a region without Network Watcher fails, when the network service was read.
    rule = RULES["azure-network-watcher-in-region"]
    vnet = _vnet(nsg_on_container=True)

    (scanned,) = Engine([rule]).evaluate([vnet], [_azure_unit("network")])

    assert scanned.status is Status.FAIL


# --- count, and check functions that read other types -----------------------------------------------

OWNER_ROLE = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"


def _owner_assignment(number: int) -> Resource:
    assignment_id = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleAssignments/a{number}"
    return Resource(provider="azure", account=SUBSCRIPTION, region="global", type=ASSIGNMENT_TYPE,
                    id=assignment_id, name=f"a{number}",
                    configuration={"id": assignment_id, "properties": {
                        "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION}{OWNER_ROLE}",
                        "principalId": f"principal-{number}"}})


@pytest.mark.parametrize(("owners", "failed", "status"), [
    pytest.param(2, False, Status.PASS, id="two-listed"),
    pytest.param(4, False, Status.FAIL, id="four-listed"),
    # Two found, but the listing failed part way: more owners may exist, so the count is unknown.
    pytest.param(2, True, Status.ERROR, id="two-of-partial-listing"),
])
def test_owner_count_with_partial_listing(owners: int, failed: bool, status: Status) -> None:
    rule = RULES["azure-authorization-subscription-owner-count"]
    unit = _azure_unit("authorization")
    if failed:
        unit.failed_types[ASSIGNMENT_TYPE] = "HTTP 429 after retries"

    (finding,) = Engine([rule]).evaluate([_owner_assignment(number) for number in range(owners)], [unit])

    assert finding.status is status


def _count_node(**bounds: int) -> Node:
    return compile_condition({"count": {"type": ASSIGNMENT_TYPE, "match": "account"},
                              "where": {"path": "configuration.properties.principalId", "exists": True}, **bounds})


def _count(node: Node, resources: list[Resource], coverage: list[Coverage], owner: Resource) -> tuple[bool | None,
                                                                                                          list[str]]:
    index = ResourceIndex(resources)
    index.note_coverage(coverage)
    context = EvalContext(index)
    context.resource = owner
    return node.evaluate(owner, context), context.reasons


def test_count_without_service_is_lower_bound() -> None:
    owner = _azure("Microsoft.Storage/storageAccounts", "st1", {})
    coverage = [_azure_unit("storage")]

    at_least, reasons = _count(_count_node(gte=1), [], coverage, owner)
    at_most, _ = _count(_count_node(lte=3), [], coverage, owner)

    assert at_least is None
    assert reasons == [f"{ASSIGNMENT_TYPE} of the same account could not be counted, because it could not be "
                       f"listed: the authorization service was not scanned in subscription {SUBSCRIPTION}"]
    assert at_most is None


def test_count_decided_despite_partial_listing() -> None:
    # Three found in a listing that failed part way: at least three exist, whatever the rest.
    owner = _owner_assignment(0)
    resources = [_owner_assignment(number) for number in range(3)]
    unit = _azure_unit("authorization")
    unit.failed_types[ASSIGNMENT_TYPE] = "HTTP 429 after retries"

    assert _count(_count_node(gte=2), resources, [unit], owner)[0] is True
    assert _count(_count_node(lt=3), resources, [unit], owner)[0] is False
    assert _count(_count_node(gte=2, lte=5), resources, [unit], owner)[0] is None


def test_count_range_between_bounds_is_unknown() -> None:
    # One counted and five undecided: the true count may be 1 (too few) or 3 (within 2..5).
    owner = _owner_assignment(0)
    resources = [_owner_assignment(0)]
    for number in range(1, 6):
        undecided = _owner_assignment(number)
        undecided.errors["configuration.properties.principalId"] = "not read"
        resources.append(undecided)

    result, reasons = _count(_count_node(gte=2, lte=5), resources, [_azure_unit("authorization")], owner)

    assert result is None
    assert "configuration.properties.principalId: not read" in reasons


def test_scan_lookup_reports_unread_service() -> None:
    # The hierarchical firewall policies of a folder are unknown unless the scan read the folder.
    policy_type = "compute.googleapis.com/FirewallPolicy"
    index = ResourceIndex([])
    index.note_coverage([_gcp_unit("compute"), _gcp_unit("organization", account="folders/456")])
    lookup = ScanLookup(index, (policy_type,))

    assert lookup.unlisted_in(policy_type, "folders/456") is None
    assert lookup.unlisted_in(policy_type, "folders/789") == "the organization service was not scanned in folders/789"


def test_index_without_coverage_keeps_missing() -> None:
    # An index built without the scan's coverage (a direct call) cannot tell, so `missing` decides.
    node = compile_condition({"related": {"type": "dns.googleapis.com/Policy", "match": "account"},
                              "missing": False, "where": {"path": "name", "exists": True}})
    network = _network_resource("vpc-a")
    context = EvalContext(ResourceIndex([network]))
    context.resource = network

    assert node.evaluate(network, context) is False


# --- Every built-in rule that looks up a type of another service --------------------------------------

def _walk(node: Node | None) -> Iterator[Node]:
    if node is None:
        return
    yield node
    for child in getattr(node, "children", ()):
        yield from _walk(child)
    yield from _walk(getattr(node, "child", None))
    yield from _walk(getattr(node, "where", None))


def cross_service_lookups(rules: Sequence[Rule]) -> dict[str, set[str]]:
    """Return, per rule id, the services of the types its `related` and `count` nodes look up outside its own."""
    found: dict[str, set[str]] = {}
    for rule in rules:
        for root in (rule.fail_if, rule.require_one, rule.applies_if):
            for node in _walk(root):
                if isinstance(node, RelatedNode | CountNode):
                    service = service_of_type(rule.provider, node.type_name)
                    assert service is not None, f"{rule.id}: no service collects {node.type_name}"
                    if service != rule.service:
                        found.setdefault(rule.id, set()).add(service)
    return found


CROSS_SERVICE = cross_service_lookups(list(RULES.values()))

# AWS rules have no case files: these trails, buckets and log groups are their cases.
AWS_CASES = {
    "trail-bucket-and-group": (_trail(), (_bucket(), _log_group())),
    "trail-bucket-logging": (_trail(), (_bucket(logging_to="access-logs"), _log_group())),
    "trail-alone": (_trail(), ()),
}


def rule_cases(rule: Rule) -> list[RuleCase]:
    """Return the data-driven cases of a rule, or for AWS rules the trails above."""
    if rule.provider != "aws":
        return [case for case in load_cases(rule.provider) if case.rule_id == rule.id]
    return [RuleCase(provider="aws", rule_id=rule.id, status=None, description=label, resource=trail, others=others,
                     message="", source=f"AWS_CASES[{label}]") for label, (trail, others) in AWS_CASES.items()]


def _status(rule: Rule, case: RuleCase, resources: list[Resource], coverage: list[Coverage]) -> Status | None:
    findings = [finding for finding in Engine([rule]).evaluate(resources, coverage) if finding.rule_id == rule.id]
    if rule.scope != "resource":
        (finding,) = findings
        return finding.status
    assert case.resource is not None
    matches = [finding for finding in findings if finding.resource_id == case.resource.id]
    return matches[0].status if matches else None


def _message(rule: Rule, resources: list[Resource], coverage: list[Coverage]) -> str:
    return " ".join(finding.message for finding in Engine([rule]).evaluate(resources, coverage)
                    if finding.rule_id == rule.id)


def test_cross_service_rules_are_known() -> None:
    # The rules this module guards; a new rule that looks up another service's type joins them by itself.
    assert {"gcp-dns-network-query-logging", "gcp-logging-alert-network-changes", "aws-cloudtrail-bucket-not-public",
            "azure-databricks-subnet-nsg", "gcp-logging-audit-logs-all-services"} <= set(CROSS_SERVICE)


@pytest.mark.parametrize("rule_id", sorted(CROSS_SERVICE))
def test_unread_service_never_decides(rule_id: str) -> None:
    """Without the looked-up service, the rule is ERROR where the lookup matters, and unchanged elsewhere.

    For each case of the rule, the resources of the dropped service are removed, as a scan that did not
    read it would have none. A PASS or FAIL must then not depend on the lookup: the rule gives the same
    status when the service was read and has no such resource, and when the case's resources are there.
    """
    rule = RULES[rule_id]
    cases = rule_cases(rule)
    assert cases, f"{rule_id} has no case to run"
    services = known_services(rule.provider) or {}

    for dropped in sorted(CROSS_SERVICE[rule_id]):
        unknown = 0
        for case in cases:
            everything = ([case.resource] if case.resource else []) + list(case.others)
            kept = [resource for resource in everything
                    if service_of_type(rule.provider, resource.type) != dropped]
            accounts = sorted({resource.account for resource in everything})
            covered = [Coverage(provider=rule.provider, account=account, region="global", service=service)
                       for account in accounts for service in services]
            unread = [unit for unit in covered if unit.service != dropped]

            without = _status(rule, case, kept, unread)
            if without is Status.ERROR:
                if f"{dropped} service was not scanned" in _message(rule, kept, unread):
                    unknown += 1
                continue
            assert without == _status(rule, case, kept, covered), (
                f"{case.source}: {without} without {dropped}, but absence decides otherwise")
            assert without == _status(rule, case, everything, covered), (
                f"{case.source}: {without} without {dropped}, but its resources decide otherwise")
        assert unknown, f"{rule_id}: no case reached a lookup of the {dropped} service's types"
