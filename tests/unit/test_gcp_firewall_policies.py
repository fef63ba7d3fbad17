"""Hierarchical firewall policies: what their allow rules admit from the internet, and which VPC firewall
rule exposures their deny rules take away before the VPC rules see the traffic."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.network.gcp import (
    HierarchyLevel,
    hierarchy_denial,
    parse_firewall_policy,
    parse_firewall_rule,
    policy_internet_exposures,
    rule_exposures_after_denies,
    rule_exposures_after_hierarchy,
)
from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.rules.checks_gcp_network import firewall_hierarchy_levels, firewall_policy_internet_ports
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules

NETWORK = "https://www.googleapis.com/compute/v1/projects/app-prod/global/networks/prod-vpc"
OTHER_NETWORK = "https://www.googleapis.com/compute/v1/projects/app-prod/global/networks/batch-vpc"
ORG = "organizations/789"
FOLDER = "folders/456"


def policy_rule(priority: int, action: str, sources: list[str] | None = None, ports: list[str] | None = None,
                protocol: str = "tcp", **extra: Any) -> dict[str, Any]:
    """Return an ingress firewall policy rule in the Compute Engine API shape."""
    config: dict[str, Any] = {"ipProtocol": protocol}
    if ports is not None:
        config["ports"] = ports
    match: dict[str, Any] = {"srcIpRanges": sources if sources is not None else ["0.0.0.0/0"],
                             "layer4Configs": [config]}
    match.update(extra.pop("match", {}))
    return {"priority": priority, "action": action, "direction": "INGRESS", "match": match, **extra}


def policy(*rules: dict[str, Any], name: str = "org-baseline", attached: str = ORG) -> dict[str, Any]:
    return {"shortName": name, "parent": ORG, "associations": [{"name": "a", "attachmentTarget": attached}],
            "rules": list(rules)}


def vpc_rule(**fields: Any) -> dict[str, Any]:
    """Return a VPC firewall rule that admits SSH from every IPv4 address to the whole network."""
    return {"name": "allow-ssh", "network": NETWORK, "direction": "INGRESS", "priority": 1000,
            "sourceRanges": ["0.0.0.0/0"], "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}], **fields}


# Policy exposures ------------------------------------------------------------------------------------

EXPOSURE_CASES = [
    # (case id, rules, ports, protocol, described exposures)
    ("ssh from anywhere", [policy_rule(1000, "allow", ports=["22"])], [22], "tcp",
     ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 1000)"]),
    ("port range", [policy_rule(5, "allow", ports=["20-30", "3389"])], [22, 3389], "tcp",
     ["tcp 20-30 from 0.0.0.0/0 (firewall policy org-baseline rule 5)",
      "tcp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 5)"]),
    ("every protocol from IPv6", [policy_rule(5, "allow", ["::/0"], protocol="all")], [22], "tcp",
     ["all traffic from ::/0 (firewall policy org-baseline rule 5)"]),
    ("every tcp port", [policy_rule(5, "allow")], [3389], "tcp",
     ["tcp all ports from 0.0.0.0/0 (firewall policy org-baseline rule 5)"]),
    ("inspection admits what passes", [policy_rule(5, "apply_security_profile_group", ports=["22"])], [22], "tcp",
     ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 5)"]),
    ("targets named", [policy_rule(5, "allow", ports=["22"], targetResources=[NETWORK],
                                   targetServiceAccounts=["vm@app-prod.iam.gserviceaccount.com"])], [22], "tcp",
     ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 5, targets networks prod-vpc; service accounts "
      "vm@app-prod.iam.gserviceaccount.com)"]),
    ("private source", [policy_rule(5, "allow", ["10.0.0.0/8"], ports=["22"])], [22], "tcp", []),
    ("other port", [policy_rule(5, "allow", ports=["443"])], [22], "tcp", []),
    ("udp rule, tcp question", [policy_rule(5, "allow", ports=["3389"], protocol="udp")], [3389], "tcp", []),
    ("udp question", [policy_rule(5, "allow", ports=["3389"], protocol="udp")], [3389], "udp",
     ["udp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 5)"]),
    ("deny", [policy_rule(5, "deny", ports=["22"])], [22], "tcp", []),
    ("goto_next", [policy_rule(5, "goto_next", ports=["22"])], [22], "tcp", []),
    ("disabled", [policy_rule(5, "allow", ports=["22"], disabled=True)], [22], "tcp", []),
    ("egress", [{"priority": 5, "action": "allow", "direction": "EGRESS",
                 "match": {"destIpRanges": ["0.0.0.0/0"], "layer4Configs": [{"ipProtocol": "tcp"}]}}],
     [22], "tcp", []),
    ("vpc networks only", [policy_rule(5, "allow", ports=["22"], match={"srcNetworkType": "VPC_NETWORKS"})],
     [22], "tcp", []),
    ("internet network type", [policy_rule(5, "allow", ports=["22"], match={"srcNetworkType": "INTERNET"})],
     [22], "tcp", ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 5)"]),
    ("earlier deny takes it", [policy_rule(200, "allow", ports=["22"]), policy_rule(100, "deny", ports=["22"])],
     [22], "tcp", []),
    ("earlier goto_next takes it", [policy_rule(100, "goto_next", protocol="all"), policy_rule(200, "allow")],
     [22], "tcp", []),
    ("earlier rules split the space",
     [policy_rule(1, "deny", ["0.0.0.0/1"]), policy_rule(2, "goto_next", ["128.0.0.0/1"]),
      policy_rule(3, "allow", ports=["22"])], [22], "tcp", []),
    ("earlier rule takes part of the space",
     [policy_rule(1, "deny", ["0.0.0.0/1"]), policy_rule(3, "allow", ports=["22"])],
     [22], "tcp", ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 3)"]),
    ("earlier rule for one network only", [policy_rule(1, "deny", ports=["22"], targetResources=[OTHER_NETWORK]),
                                           policy_rule(3, "allow", ports=["22"])], [22], "tcp",
     ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 3)"]),
    ("earlier rule covers the allow rule's network", [policy_rule(1, "deny", ports=["22"], targetResources=[NETWORK]),
                                                      policy_rule(3, "allow", ports=["22"], targetResources=[NETWORK])],
     [22], "tcp", []),
    ("earlier rule on another port", [policy_rule(1, "deny", ports=["23"]), policy_rule(3, "allow", ports=["22"])],
     [22], "tcp", ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 3)"]),
    ("later deny does not help", [policy_rule(3, "allow", ports=["22"]), policy_rule(4, "deny", ports=["22"])],
     [22], "tcp", ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 3)"]),
    ("string priority", [policy_rule(3, "allow", ports=["22"]) | {"priority": "3"}], [22], "tcp",
     ["tcp 22 from 0.0.0.0/0 (firewall policy org-baseline rule 3)"]),
]


@pytest.mark.parametrize(("rules", "ports", "protocol", "expected"), [case[1:] for case in EXPOSURE_CASES],
                         ids=[case[0] for case in EXPOSURE_CASES])
def test_policy_internet_exposures(rules: list[dict[str, Any]], ports: list[int], protocol: str,
                                   expected: list[str]) -> None:
    found = [exposure.describe() for exposure in policy_internet_exposures(policy(*rules), ports, protocol)]
    assert found == expected


MALFORMED = [
    ("rules not a list", {"rules": {"priority": 1}}, "invalid rules"),
    ("priority missing", {"rules": [{"action": "allow", "direction": "INGRESS"}]}, "invalid rule priority None"),
    ("priority too large", {"rules": [{"priority": 2**31, "action": "allow"}]}, "outside 0 to 2147483647"),
    ("action missing", {"rules": [{"priority": 1, "direction": "INGRESS"}]}, "invalid action None"),
    ("no layer 4 configs", {"rules": [{"priority": 1, "action": "allow", "match": {"srcIpRanges": ["0.0.0.0/0"]}}]},
     "expected a non-empty list of layer4Configs"),
    ("bad CIDR", {"rules": [policy_rule(1, "allow", ["everywhere"])]}, "invalid CIDR 'everywhere'"),
    ("bad port", {"rules": [policy_rule(1, "allow", ports=["ssh"])]}, "invalid port 'ssh'"),
    ("association without target", {"associations": [{"name": "a"}]}, "invalid association"),
]


@pytest.mark.parametrize(("raw", "message"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_malformed_policy_raises(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="firewall policy") as raised:
        policy_internet_exposures({"shortName": "p", **raw}, [22])
    assert message in str(raised.value)


def test_disabled_and_egress_rules_are_not_parsed_further() -> None:
    parsed = parse_firewall_policy(policy({"priority": 9, "action": "allow", "direction": "EGRESS", "match": "?"},
                                          {"priority": 8, "action": "allow", "disabled": True}))
    assert [(rule.priority, rule.matches_incoming()) for rule in parsed.rules] == [(8, False), (9, False)]
    assert parsed.attachment_targets == (ORG,)


def test_policy_check_function() -> None:
    outcome = firewall_policy_internet_ports(policy(policy_rule(7, "allow", ports=["3389"], protocol="udp")),
                                             [3389], ["tcp", "udp"])
    assert outcome == (True, "udp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 7)")
    assert firewall_policy_internet_ports(policy(policy_rule(7, "deny")), [22]).matched is False
    assert firewall_policy_internet_ports(None, [22]).matched is None
    assert firewall_policy_internet_ports({"rules": "x"}, [22]).matched is None


ADMIN_PORTS = {"tcp": [22, 3389], "udp": [3389]}


@pytest.mark.parametrize(("rules", "expected"), [
    # One rule that opens both admin ports is reported once, with both.
    ([policy_rule(1000, "allow", ports=["22", "3389"])],
     "tcp 22, 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 1000)"),
    ([policy_rule(1000, "allow", ports=["22"], match={"layer4Configs": [{"ipProtocol": "tcp", "ports": ["22"]},
                                                                        {"ipProtocol": "udp", "ports": ["3389"]}]})],
     "tcp 22 and udp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 1000)"),
    ([policy_rule(5, "allow", ["0.0.0.0/0", "::/0"], ports=["3389"])],
     "tcp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 5); "
     "tcp 3389 from ::/0 (firewall policy org-baseline rule 5)"),
    ([policy_rule(5, "allow", protocol="all")], "all traffic from 0.0.0.0/0 (firewall policy org-baseline rule 5)"),
    ([policy_rule(5, "allow", ports=["20-30"]), policy_rule(6, "allow", ports=["3389"], protocol="udp")],
     "tcp 20-30 from 0.0.0.0/0 (firewall policy org-baseline rule 5); "
     "udp 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 6)"),
])
def test_policy_check_reports_every_admin_port(rules: list[dict[str, Any]], expected: str) -> None:
    assert firewall_policy_internet_ports(policy(*rules), ADMIN_PORTS) == (True, expected)


def test_policy_check_refuses_ports_by_protocol_with_protocols() -> None:
    outcome = firewall_policy_internet_ports(policy(policy_rule(5, "allow")), ADMIN_PORTS, ["tcp"])
    assert outcome.matched is None
    assert "protocols must not be given" in outcome.detail


def test_builtin_policy_rule_evidence_names_ssh_and_rdp() -> None:
    rule = next(item for item in load_builtin_rules() if item.id == "gcp-compute-firewall-policy-internet-admin-ports")
    resource = Resource(provider="gcp", account=ORG, region="global", type="compute.googleapis.com/FirewallPolicy",
                        id="//compute.googleapis.com/locations/global/firewallPolicies/555", name="org-baseline",
                        configuration=policy(policy_rule(1000, "allow", ports=["22", "3389"])))

    engine = Engine([rule])
    finding = engine.evaluate_resource(rule, resource, engine.build_index([resource], []))

    assert finding is not None

    assert finding.status is Status.FAIL
    assert finding.evidence["gcp.firewall_policy_internet_ports"] == (
        "tcp 22, 3389 from 0.0.0.0/0 (firewall policy org-baseline rule 1000)")


# Hierarchy ---------------------------------------------------------------------------------------------

def deny_ssh(priority: int = 100, **extra: Any) -> dict[str, Any]:
    return policy_rule(priority, "deny", ["0.0.0.0/0", "::/0"], ports=["22"], **extra)


HIERARCHY_CASES = [
    # (case id, levels, exposed, hidden_by or unresolved text)
    ("no levels", [], True, ""),
    ("no policy attached", [HierarchyLevel(ORG, ()), HierarchyLevel(FOLDER, ())], True, ""),
    ("organization denies", [HierarchyLevel(ORG, (policy(deny_ssh()),)), HierarchyLevel(FOLDER, ())], False,
     "firewall policy org-baseline rule 100"),
    ("folder denies", [HierarchyLevel(ORG, ()), HierarchyLevel(FOLDER, (policy(deny_ssh(), name="prod"),))], False,
     "firewall policy prod rule 100"),
    ("organization goto_next, folder denies",
     [HierarchyLevel(ORG, (policy(policy_rule(10, "goto_next", protocol="all")),)),
      HierarchyLevel(FOLDER, (policy(deny_ssh(), name="prod"),))], False, "firewall policy prod rule 100"),
    ("goto_next does not deny", [HierarchyLevel(ORG, (policy(policy_rule(10, "goto_next", ports=["22"])),))], True, ""),
    ("organization allows first, folder deny never sees it",
     [HierarchyLevel(ORG, (policy(policy_rule(10, "allow", ports=["22"])),)),
      HierarchyLevel(FOLDER, (policy(deny_ssh(), name="prod"),))], True, ""),
    ("allow before deny in one policy", [HierarchyLevel(ORG, (policy(policy_rule(10, "allow", ports=["22"]),
                                                                     deny_ssh(20)),))], True, ""),
    ("deny before allow in one policy", [HierarchyLevel(ORG, (policy(deny_ssh(10),
                                                                     policy_rule(20, "allow", ports=["22"])),))],
     False, "rule 10"),
    ("deny of half the space", [HierarchyLevel(ORG, (policy(policy_rule(10, "deny", ["0.0.0.0/1"], ports=["22"])),))],
     True, ""),
    ("two levels deny one half each",
     [HierarchyLevel(ORG, (policy(policy_rule(10, "deny", ["0.0.0.0/1"], ports=["22"])),)),
      HierarchyLevel(FOLDER, (policy(policy_rule(10, "deny", ["128.0.0.0/1"], ports=["22"]), name="prod"),))],
     False, "firewall policy prod rule 10"),
    ("deny for another network", [HierarchyLevel(ORG, (policy(deny_ssh(targetResources=[OTHER_NETWORK])),))], True, ""),
    ("deny for the rule's network", [HierarchyLevel(ORG, (policy(deny_ssh(targetResources=[NETWORK])),))], False,
     "rule 100"),
    ("deny for some service accounts", [HierarchyLevel(ORG, (policy(deny_ssh(
        targetServiceAccounts=["web@app-prod.iam.gserviceaccount.com"])),))], True, ""),
    ("deny for secure tags", [HierarchyLevel(ORG, (policy(deny_ssh(
        targetSecureTags=[{"name": "tagValues/1", "state": "EFFECTIVE"}])),))], True, ""),
    ("deny on another port", [HierarchyLevel(ORG, (policy(policy_rule(10, "deny", ports=["23"])),))], True, ""),
    ("disabled deny", [HierarchyLevel(ORG, (policy(deny_ssh(disabled=True)),))], True, ""),
    ("allow with a domain source before the deny",
     [HierarchyLevel(ORG, (policy(policy_rule(5, "allow", [], ports=["22"], match={"srcFqdns": ["example.com"]}),
                                  deny_ssh(10)),))], True, ""),
    ("organization not in the scan", [HierarchyLevel(ORG, None, "organizations/789 is not in the scan"),
                                      HierarchyLevel(FOLDER, ())], None, "organizations/789 is not in the scan"),
    ("known deny above an unknown folder", [HierarchyLevel(ORG, (policy(deny_ssh()),)),
                                            HierarchyLevel(FOLDER, None, "folders/456 is not in the scan")],
     False, "rule 100"),
]


@pytest.mark.parametrize(("levels", "exposed", "text"), [case[1:] for case in HIERARCHY_CASES],
                         ids=[case[0] for case in HIERARCHY_CASES])
def test_rule_exposures_after_hierarchy(levels: list[HierarchyLevel], exposed: bool | None, text: str) -> None:
    verdict = rule_exposures_after_hierarchy(vpc_rule(), [], levels, [22])

    assert verdict.exposed is exposed
    if exposed is False:
        assert any(text in label for label in verdict.hidden_by)
    elif exposed is None:
        assert text in verdict.unresolved
    else:
        assert verdict.exposures


def test_hierarchy_and_vpc_denies_combine() -> None:
    # The organization denies the lower half of the IPv4 space, a VPC deny rule the upper half.
    levels = [HierarchyLevel(ORG, (policy(policy_rule(10, "deny", ["0.0.0.0/1"], ports=["22"])),))]
    vpc_deny = {"name": "deny-upper", "network": NETWORK, "priority": 900, "sourceRanges": ["128.0.0.0/1"],
                "denied": [{"IPProtocol": "tcp"}]}

    assert rule_exposures_after_denies(vpc_rule(), [vpc_deny], [22]).exposed is True
    verdict = rule_exposures_after_hierarchy(vpc_rule(), [vpc_deny], levels, [22])
    assert verdict.exposed is False
    assert verdict.hidden_by == ("firewall policy org-baseline rule 10",)


def test_hierarchy_denial_is_per_ip_version() -> None:
    levels = [HierarchyLevel(ORG, (policy(policy_rule(10, "deny", ["0.0.0.0/0"], ports=["22"])),))]
    rule = parse_firewall_rule(vpc_rule(sourceRanges=["0.0.0.0/0", "::/0"]))

    assert [str(network) for network in hierarchy_denial(levels, rule, "tcp", 22, 4).ranges] == ["0.0.0.0/0"]
    assert hierarchy_denial(levels, rule, "tcp", 22, 6).ranges == ()
    verdict = rule_exposures_after_hierarchy(vpc_rule(sourceRanges=["0.0.0.0/0", "::/0"]), [], levels, [22])
    assert verdict.exposed is True
    assert [exposure.source for exposure in verdict.exposures] == ["::/0"]


def test_rule_that_opens_nothing_needs_no_hierarchy() -> None:
    unknown = [HierarchyLevel(ORG, None, "not read")]
    assert rule_exposures_after_hierarchy(vpc_rule(sourceRanges=["10.0.0.0/8"]), [], unknown, [22]).exposed is False


# Levels from the resources of a scan ---------------------------------------------------------------

def policy_resource(raw: dict[str, Any], number: str, errors: dict[str, str] | None = None) -> Resource:
    return Resource(provider="gcp", account=ORG, region="global", type="compute.googleapis.com/FirewallPolicy",
                    id=f"//compute.googleapis.com/locations/global/firewallPolicies/{number}", name=number,
                    configuration=raw, errors=errors or {})


def node(name: str) -> Resource:
    kind = "Organization" if name.startswith("organizations/") else "Folder"
    return Resource(provider="gcp", account=name, region="global", type=f"cloudresourcemanager.googleapis.com/{kind}",
                    id=f"//cloudresourcemanager.googleapis.com/{name}", name=name.rsplit("/", 1)[-1])


ANCESTORS = ["projects/1001", FOLDER, ORG]


def test_levels_run_from_the_organization_down() -> None:
    org_policy = policy(deny_ssh(), attached=ORG)
    folder_policy = policy(policy_rule(1, "goto_next"), name="prod", attached=FOLDER)
    levels = firewall_hierarchy_levels(ANCESTORS, {ORG: node(ORG), FOLDER: node(FOLDER)},
                                       [policy_resource(org_policy, "1"), policy_resource(folder_policy, "2")])

    assert [(level.node, level.policies) for level in levels] == [(ORG, (org_policy,)), (FOLDER, (folder_policy,))]


def test_levels_unknown_when_not_in_scan_or_unreadable() -> None:
    missing = firewall_hierarchy_levels(ANCESTORS, {FOLDER: node(FOLDER)}, [])
    assert [(level.node, level.policies is None) for level in missing] == [(ORG, True), (FOLDER, False)]
    assert "organizations/789 is not in the scan" in missing[0].unknown_reason

    unreadable = firewall_hierarchy_levels(ANCESTORS, {ORG: node(ORG), FOLDER: node(FOLDER)},
                                           [policy_resource({}, "3", {"configuration": "denied"})])
    assert all(level.policies is None for level in unreadable)
    assert "firewall policy 3 could not be read" in unreadable[0].unknown_reason

    not_listed = firewall_hierarchy_levels(ANCESTORS, {ORG: node(ORG), FOLDER: node(FOLDER)}, [],
                                           unlisted={ORG: "PERMISSION_DENIED"})
    assert [(level.node, level.policies is None) for level in not_listed] == [(ORG, True), (FOLDER, False)]
    assert "policies of organizations/789 could not be listed (PERMISSION_DENIED)" in not_listed[0].unknown_reason
