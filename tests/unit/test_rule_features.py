"""Rule features: applies_if, per-type remediation commands, known services and types, short ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.report.text import render_remediation, short_id
from ridgeline.rules.conditions import EvalContext, compile_condition
from ridgeline.rules.engine import Engine, ResourceIndex
from ridgeline.rules.errors import RuleError
from ridgeline.rules.loader import RuleErrors, RuleFileErrors, build_rule, load_rule_files
from ridgeline.rules.model import Rule
from ridgeline.rules.yamlsource import load_yaml_text


def _rule(**overrides: Any) -> Rule:
    data: dict[str, Any] = {
        "id": "acme-db-encrypted", "title": "Databases are encrypted", "severity": "high",
        "category": "encryption", "provider": "aws", "service": "rds",
        "resource_types": ["AWS::RDS::DBInstance"], "description": "d", "risk": "r",
        "remediation": {"text": "Encrypt ${name}.", "cli": "aws rds describe-db-instances"},
        "fail_if": {"path": "configuration.storageEncrypted", "not_equals": True},
    }
    data.update(overrides)
    return build_rule(load_yaml_text(yaml.safe_dump(data)), {}, "features.yaml")


def _instance(name: str, **configuration: Any) -> Resource:
    return Resource(provider="aws", account="111122223333", region="us-east-1", type="AWS::RDS::DBInstance",
                    id=f"arn:aws:rds:us-east-1:111122223333:db:{name}", name=name, configuration=configuration)


def _evaluate(rule: Rule, resources: list[Resource]) -> list[Finding]:
    coverage = [Coverage(provider="aws", account="111122223333", region="us-east-1", service="rds")]
    return Engine([rule]).evaluate(resources, coverage)


def test_applies_if_false_gives_no_finding() -> None:
    rule = _rule(applies_if={"path": "configuration.dBClusterIdentifier", "exists": False})
    member = _instance("member", dBClusterIdentifier="cluster-1", storageEncrypted=False)
    standalone = _instance("standalone", storageEncrypted=False)

    findings = _evaluate(rule, [member, standalone])

    assert [(f.resource_name, f.status) for f in findings] == [("standalone", Status.FAIL)]


def test_applies_if_unknown_is_error() -> None:
    rule = _rule(applies_if={"path": "configuration.dBClusterIdentifier", "exists": False})
    unknown = _instance("unknown", storageEncrypted=False)
    unknown.errors["configuration.dBClusterIdentifier"] = "AccessDenied on rds:DescribeDBInstances: no"

    findings = _evaluate(rule, [unknown])

    assert [f.status for f in findings] == [Status.ERROR]
    assert "AccessDenied" in findings[0].message


def test_applies_if_rejected_on_scope_rules() -> None:
    with pytest.raises(RuleErrors) as raised:
        _rule(scope="account", fail_if=None, require_one={"path": "configuration.x", "equals": 1},
              applies_if={"path": "configuration.y", "equals": 1})
    assert any(error.field == "applies_if" for error in raised.value.errors)


def test_cli_by_type_picks_the_resource_type() -> None:
    rule = _rule(resource_types=["AWS::IAM::User", "AWS::IAM::Group"], service="iam",
                 remediation={"text": "Detach it.", "cli": {
                     "AWS::IAM::User": "aws iam detach-user-policy --user-name ${name} --policy-arn ARN",
                     "AWS::IAM::Group": "aws iam detach-group-policy --group-name ${name} --policy-arn ARN"}})
    group = Finding(rule_id=rule.id, status=Status.FAIL, severity=Severity.HIGH, category="iam", provider="aws",
                    account="1", region="global", resource_id="arn:aws:iam::1:group/admins",
                    resource_type="AWS::IAM::Group", resource_name="admins", message="m")

    rendered = render_remediation(rule.remediation, group)

    assert rendered["cli"] == "aws iam detach-group-policy --group-name admins --policy-arn ARN"


def test_unknown_placeholder_in_typed_cli_is_reported() -> None:
    with pytest.raises(RuleErrors) as raised:
        _rule(remediation={"text": "t", "cli": {"AWS::RDS::DBInstance": "aws rds x --id ${nme}"}})
    assert "unknown placeholder ${nme}" in str(raised.value)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("service", "lamda", "unknown service 'lamda'"),
    ("resource_types", ["AWS::RDS::DBInstanse"], "collects no resource type 'AWS::RDS::DBInstanse'"),
])
def test_typos_in_service_and_type_are_errors(tmp_path: Path, field: str, value: Any, message: str) -> None:
    rule = {"id": "acme-x", "title": "T", "severity": "low", "category": "iam", "provider": "aws",
            "service": "rds", "resource_types": ["AWS::RDS::DBInstance"], "description": "d", "risk": "r",
            "remediation": "fix", "fail_if": {"path": "configuration.a", "equals": 1}, field: value}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({"rules": [rule]}))

    with pytest.raises(RuleFileErrors) as raised:
        load_rule_files([path])

    assert message in str(raised.value)


def test_short_id_takes_last_segment() -> None:
    assert short_id("arn:aws:ec2:us-east-1:1:security-group/sg-0123") == "sg-0123"
    assert short_id("arn:aws:kms:us-east-1:1:key/abcd") == "abcd"
    assert short_id("arn:aws:s3:::bucket") == "bucket"
    assert short_id("123456789012") == "123456789012"


def _azure(type_name: str, resource_id: str, **configuration: object) -> Resource:
    return Resource(provider="azure", account="sub-1", region="global", type=type_name, id=resource_id,
                    name=resource_id.rsplit("/", 1)[-1], configuration=dict(configuration))


def test_related_parent_finds_the_nearest_ancestor_ignoring_case() -> None:
    account = _azure("Microsoft.Storage/storageAccounts",
                     "/subscriptions/sub-1/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/st1",
                     properties={"allowBlobPublicAccess": True})
    container = _azure("Microsoft.Storage/storageAccounts/blobServices/containers",
                       "/subscriptions/sub-1/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st1"
                       "/blobServices/default/containers/c1")
    orphan = _azure("Microsoft.Storage/storageAccounts/blobServices/containers",
                    "/subscriptions/sub-1/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/st2"
                    "/blobServices/default/containers/c2")
    index = ResourceIndex([account, container, orphan])
    node = compile_condition({"related": {"type": "Microsoft.Storage/storageAccounts", "match": "parent"},
                              "where": {"path": "configuration.properties.allowBlobPublicAccess", "equals": True}})

    context = EvalContext(index)
    context.resource = container
    assert node.evaluate(container, context) is True
    context = EvalContext(index)
    context.resource = orphan
    assert node.evaluate(orphan, context) is None
    assert "was not collected" in context.reasons[0]


def test_count_bounds_and_undecided_candidates() -> None:
    def assignment(number: int, role: str) -> Resource:
        return _azure("Microsoft.Authorization/roleAssignments", f"/subscriptions/sub-1/ra/{number}",
                      properties={"roleDefinitionId": role})

    def owners_between_two_and_three(resources: list[Resource]) -> bool | None:
        node = compile_condition({"count": {"type": "Microsoft.Authorization/roleAssignments", "match": "account"},
                                  "where": {"path": "configuration.properties.roleDefinitionId", "equals": "owner"},
                                  "gte": 2, "lte": 3})
        context = EvalContext(ResourceIndex(resources))
        context.resource = resources[0]
        return node.evaluate(resources[0], context)

    assert owners_between_two_and_three([assignment(1, "owner")]) is False
    assert owners_between_two_and_three([assignment(1, "owner"), assignment(2, "owner")]) is True
    assert owners_between_two_and_three([assignment(n, "owner") for n in range(4)]) is False
    assert owners_between_two_and_three([assignment(1, "owner"), assignment(2, "reader")]) is False

    unreadable = assignment(3, "owner")
    unreadable.errors["configuration.properties.roleDefinitionId"] = "AuthorizationFailed"
    # One owner known, one unknown: the count is 1 or 2, so the result is unknown.
    assert owners_between_two_and_three([assignment(1, "owner"), unreadable]) is None
    # Three owners known, one unknown: 3 or 4, unknown as well; two known and one unknown: 2 or 3, True.
    assert owners_between_two_and_three([assignment(1, "owner"), assignment(2, "owner"), unreadable]) is True


def test_count_needs_a_bound() -> None:
    with pytest.raises(RuleError, match="at least one bound"):
        compile_condition({"count": {"type": "T", "match": "account"}, "where": {"path": "name", "equals": "x"}})


def test_check_function_receives_peers() -> None:
    from ridgeline.rules.functions import Outcome, check_function

    @check_function("test.has_peer_named", literal_args=("peers", "subject", "peer_name"), required=("peer_name",))
    def has_peer_named(peers: list[Resource], subject: Resource, peer_name: str) -> Outcome:
        names = sorted(peer.name for peer in peers if peer is not subject)
        return Outcome(peer_name in names, ", ".join(names))

    first = _azure("T", "/subscriptions/sub-1/x/first")
    second = _azure("T", "/subscriptions/sub-1/x/second")
    elsewhere = Resource(provider="azure", account="sub-2", region="global", type="T",
                         id="/subscriptions/sub-2/x/third", name="third")
    node = compile_condition({"check": "test.has_peer_named", "args": {"peer_name": "second"}})
    context = EvalContext(ResourceIndex([first, second, elsewhere]))
    context.resource = first

    assert node.evaluate(first, context) is True
    other_account = compile_condition({"check": "test.has_peer_named", "args": {"peer_name": "third"}})
    assert other_account.evaluate(first, context) is False
    with pytest.raises(RuleError, match="takes no argument 'peers'"):
        compile_condition({"check": "test.has_peer_named", "args": {"peer_name": "x", "peers": []}})


def test_related_account_matches_any_resource() -> None:
    def policy(number: int, watched: object) -> Resource:
        return Resource(provider="gcp", account="p1", region="global", type="monitoring.googleapis.com/AlertPolicy",
                        id=f"//monitoring.googleapis.com/projects/p1/alertPolicies/{number}", name=str(number),
                        configuration={"watched": watched})

    subject = Resource(provider="gcp", account="p1", region="global", type="logging.googleapis.com/LogMetric",
                       id="//logging.googleapis.com/projects/p1/metrics/m", name="m")
    node = compile_condition({"related": {"type": "monitoring.googleapis.com/AlertPolicy", "match": "account"},
                              "where": {"path": "configuration.watched", "equals": True}})

    def holds(*policies: Resource) -> bool | None:
        context = EvalContext(ResourceIndex([subject, *policies]))
        context.resource = subject
        return node.evaluate(subject, context)

    assert holds(policy(1, False), policy(2, True)) is True
    assert holds(policy(1, False), policy(2, False)) is False
    unreadable = policy(3, True)
    unreadable.errors["configuration.watched"] = "PERMISSION_DENIED"
    assert holds(policy(1, False), unreadable) is None
    assert holds(unreadable, policy(2, True)) is True
    assert holds() is None


def test_azure_ids_match_without_regard_to_case() -> None:
    policy = _azure("Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
                    "/subscriptions/sub-1/resourceGroups/RG-Net/providers/Microsoft.Network/"
                    "ApplicationGatewayWebApplicationFirewallPolicies/waf1", properties={"mode": "Prevention"})
    gateway = _azure("Microsoft.Network/applicationGateways", "/subscriptions/sub-1/x/appgw",
                     properties={"firewallPolicy": {"id": policy.id.lower()}})
    node = compile_condition({
        "related": {"type": policy.type, "match": {"id_from": "configuration.properties.firewallPolicy.id"}},
        "where": {"path": "configuration.properties.mode", "equals": "Prevention"}})
    context = EvalContext(ResourceIndex([policy, gateway]))
    context.resource = gateway

    assert node.evaluate(gateway, context) is True


def test_related_unlisted_type_is_unknown() -> None:
    watcher_type = "Microsoft.Network/networkWatchers"
    network = _azure("Microsoft.Network/virtualNetworks", "/subscriptions/sub-1/x/vnet1")
    rule_yaml = {"related": {"type": watcher_type, "match": "account"}, "missing": False,
                 "where": {"path": "name", "exists": True}}
    node = compile_condition(rule_yaml)

    listed = EvalContext(ResourceIndex([network]))
    listed.resource = network
    assert node.evaluate(network, listed) is False

    index = ResourceIndex([network])
    index.unlisted[("sub-1", watcher_type)] = "AuthorizationFailed"
    unlisted = EvalContext(index)
    unlisted.resource = network
    assert node.evaluate(network, unlisted) is None
    assert "could not be listed: AuthorizationFailed" in unlisted.reasons[0]


def test_engine_marks_types_of_failed_units_as_unlisted() -> None:
    from ridgeline.model.scan import Completeness

    network = _azure("Microsoft.Network/virtualNetworks", "/subscriptions/sub-1/x/vnet1")
    index = ResourceIndex([network])
    coverage = [Coverage(provider="azure", account="sub-1", region="global", service="network",
                         failed_types={"Microsoft.Network/networkWatchers": "HTTP 403"}),
                Coverage(provider="azure", account="sub-1", region="global", service="keyvault",
                         status=Completeness.FAILED)]

    Engine([]).evaluate([network], coverage, index=index)

    assert index.unlisted[("sub-1", "Microsoft.Network/networkWatchers")] == "HTTP 403"
    assert ("sub-1", "Microsoft.KeyVault/vaults") in index.unlisted
