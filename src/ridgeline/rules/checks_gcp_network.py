"""GCP exposure functions that rule conditions can call: firewall rules and policies, buckets, BigQuery datasets.

Each function adapts an analysis module to the rule language and returns an Outcome. Input the
analysis cannot parse makes the outcome unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ridgeline.analysis.gcp_public import PublicAccess, bucket_public_access, dataset_public_access
from ridgeline.analysis.network import gcp as firewall_analysis
from ridgeline.analysis.network.ports import IdentityMemo
from ridgeline.model.resource import Resource
from ridgeline.rules.functions import Outcome, check_function

if TYPE_CHECKING:
    from ridgeline.rules.conditions import ScanLookup


FOLDER_TYPE = "cloudresourcemanager.googleapis.com/Folder"
ORGANIZATION_TYPE = "cloudresourcemanager.googleapis.com/Organization"
FIREWALL_POLICY_TYPE = "compute.googleapis.com/FirewallPolicy"
_CONTAINER_PREFIX = "//cloudresourcemanager.googleapis.com/"


@check_function("gcp.firewall_internet_ports", path_args=("firewall",),
                literal_args=("ports", "protocols", "peers", "subject", "lookup"), required=("firewall", "ports"),
                lookup_types=(FOLDER_TYPE, ORGANIZATION_TYPE, FIREWALL_POLICY_TYPE))
def firewall_internet_ports(firewall: Any, ports: list[int], protocols: list[str] | None = None,
                            peers: Sequence[Resource] | None = None, subject: Resource | None = None,
                            lookup: ScanLookup | None = None) -> Outcome:
    """True when this VPC firewall rule admits 0.0.0.0/0 or ::/0 to any of the ports past the policies and denies.

    `protocols` defaults to ["tcp"], and an entry on protocol "all" matches every protocol. Disabled,
    egress and deny rules admit nothing, and neither do sources given only as tags or service accounts.
    The engine passes the project's firewall rules as `peers`. Deny rules among them that apply to all
    of the rule's targets, with the same or a lower priority number, hide the traffic they deny. A
    peer that cannot be read makes the outcome unknown only if it might hide everything the rule
    admits. Without peers, as in a direct call, the rule is judged on its own.

    Hierarchical firewall policies of the organisation and folders above the project (from `lookup`) are
    evaluated first: their deny rules hide the traffic they drop. When a folder or organisation above the
    project is not in the scan (a project-level export), the rule is judged without the hierarchy, and a
    finding notes that policies above may still deny the traffic: the rule itself is what CIS asks to fix.
    """
    if firewall is None:
        return Outcome(None, "the firewall rule has no configuration")

    levels, missing = _hierarchy_of(subject, lookup)
    verdicts: list[firewall_analysis.RuleVerdict] = []
    try:
        for protocol in protocols or ["tcp"]:
            # A generator, because the analysis reads the peers only when the rule itself opens the ports,
            # and most rules of a project do not.
            others = _other_deny_candidates(peers, subject)
            if levels is None:
                verdicts.append(firewall_analysis.rule_exposures_after_denies(firewall, others, ports, protocol))
            else:
                verdicts.append(firewall_analysis.rule_exposures_after_hierarchy(firewall, others, levels, ports,
                                                                                 protocol))
    except ValueError as error:
        return Outcome(None, str(error))

    # One protocol that is open for certain decides. Otherwise one that may be open leaves it unknown.
    certain = _descriptions(verdict for verdict in verdicts if verdict.exposed)
    if certain:
        if missing:
            certain.append(f"{', '.join(missing)} above the project not in the scan: their hierarchical firewall "
                           "policies were not examined and might deny this traffic")
        return Outcome(True, "; ".join(certain))
    undecided = [verdict for verdict in verdicts if verdict.exposed is None]
    if undecided:
        reasons = list(dict.fromkeys(reason for verdict in undecided for reason in verdict.unresolved))
        return Outcome(None, f"{'; '.join(_descriptions(undecided))} stays open unless a firewall rule that "
                             f"could not be read denies it: {'; '.join(reasons)}")
    hidden_by = list(dict.fromkeys(label for verdict in verdicts for label in verdict.hidden_by))
    if hidden_by:
        # The PASS gives the reason: a rule that admits the internet is hidden by the hierarchy, not closed.
        return Outcome(False, f"the traffic this rule admits is denied first by hierarchical firewall policy "
                              f"rule(s) {', '.join(hidden_by)}")
    return Outcome(False, "")


@check_function("gcp.firewall_policy_internet_ports", path_args=("policy",), literal_args=("ports", "protocols"),
                required=("policy", "ports"))
def firewall_policy_internet_ports(policy: Any, ports: list[int] | Mapping[str, list[int]],
                                   protocols: list[str] | None = None) -> Outcome:
    """True when an allow rule of a hierarchical firewall policy admits 0.0.0.0/0 or ::/0 to any of the ports.

    `ports` is either a list, asked for each of `protocols` (default ["tcp"]), or a mapping from protocol
    to its ports, such as {tcp: [22, 3389], udp: [3389]}. One call with the mapping reports every
    port a rule opens, where an `any` of several calls would stop at the first. Disabled, egress, deny
    and goto_next rules admit nothing, and a rule whose traffic earlier rules of the same policy take in
    full admits nothing either (see policy_internet_exposures).
    """
    if policy is None:
        return Outcome(None, "the firewall policy has no configuration")
    if isinstance(ports, Mapping):
        if protocols is not None:
            return Outcome(None, "ports maps protocols to ports, so protocols must not be given as well")
        wanted = [(str(protocol), protocol_ports) for protocol, protocol_ports in ports.items()]
    else:
        wanted = [(protocol, ports) for protocol in protocols or ["tcp"]]

    try:
        exposures = [exposure for protocol, protocol_ports in wanted
                     for exposure in firewall_analysis.policy_internet_exposures(policy, protocol_ports, protocol)]
    except ValueError as error:
        return Outcome(None, str(error))
    described = firewall_analysis.describe_policy_exposures(exposures)
    return Outcome(bool(described), "; ".join(described))


def _hierarchy_of(subject: Resource | None, lookup: ScanLookup | None,
                  ) -> tuple[list[firewall_analysis.HierarchyLevel] | None, list[str]]:
    """Return the hierarchy levels above the subject's project, or None and the folders/organisation missing.

    None without a `lookup` (a direct call) or without ancestors (an export made before Cloud Asset
    Inventory listed them): the rule is then judged on its own network, as before hierarchical policies.
    """
    if subject is None or lookup is None:
        return None, []
    ancestors = subject.supplementary.get("ancestors")
    if not isinstance(ancestors, list):
        return None, []
    nodes = [str(node) for node in ancestors if str(node).startswith(("folders/", "organizations/"))]
    policies = lookup.of_type(FIREWALL_POLICY_TYPE)
    present = {resource.id.removeprefix(_CONTAINER_PREFIX): resource
               for type_name in (FOLDER_TYPE, ORGANIZATION_TYPE) for resource in lookup.of_type(type_name)}
    # An export filtered to some asset types may hold a folder's or the organisation's firewall policies
    # without the node itself: the policies attached to it are then known all the same.
    for policy in policies:
        for target in _attachment_targets(policy):
            present.setdefault(target, policy)
    missing = [node for node in nodes if node not in present]
    if missing:
        return None, missing
    # A node whose listing of firewall policies failed (a container scan cut short) may have policies that
    # the scan lacks, so its level is unknown rather than empty.
    unlisted = {node: reason for node in nodes if (reason := lookup.unlisted_in(FIREWALL_POLICY_TYPE, node))}
    return firewall_hierarchy_levels([str(node) for node in ancestors], present, policies, unlisted=unlisted), []


def _attachment_targets(policy: Resource) -> list[str]:
    """Return the nodes a policy is attached to, or none when its configuration cannot be read."""
    if "configuration" in policy.errors or not policy.configuration:
        return []
    try:
        return list(firewall_analysis.parse_firewall_policy(policy.configuration).attachment_targets)
    except ValueError:
        return []


def firewall_hierarchy_levels(ancestors: Sequence[str], present: Mapping[str, Resource],
                              policies: Iterable[Resource], *, unlisted: Mapping[str, str] | None = None,
                              ) -> list[firewall_analysis.HierarchyLevel]:
    """Return the hierarchy levels above a project, organization first, with the firewall policies attached to each.

    `ancestors` are the project's Cloud Asset Inventory ancestors, nearest first. `present` maps each
    folder and organization of the scan ("folders/456") to its resource, and `policies` are the
    compute.googleapis.com/FirewallPolicy resources of the scan. A level is unknown when its node is not
    in the scan, when its policies could not be listed (`unlisted` maps such nodes to the reason), or when a policy's
    configuration could not be read, because such a policy may be attached to it.
    """
    readable: list[tuple[Resource, frozenset[str]]] = []
    unreadable: list[str] = []
    for policy in policies:
        if "configuration" in policy.errors or not policy.configuration:
            unreadable.append(policy.name or policy.id)
            continue
        try:
            targets = firewall_analysis.parse_firewall_policy(policy.configuration).attachment_targets
        except ValueError:
            unreadable.append(policy.name or policy.id)
            continue
        readable.append((policy, frozenset(targets)))

    levels: list[firewall_analysis.HierarchyLevel] = []
    nodes = [ancestor for ancestor in ancestors if ancestor.startswith(("folders/", "organizations/"))]
    for node in reversed(nodes):
        if node not in present:
            levels.append(firewall_analysis.HierarchyLevel(
                node, None, f"{node} is not in the scan, so its hierarchical firewall policies are unknown"))
        elif unlisted and node in unlisted:
            levels.append(firewall_analysis.HierarchyLevel(
                node, None, f"the hierarchical firewall policies of {node} could not be listed ({unlisted[node]}), "
                            "so they are unknown"))
        elif unreadable:
            levels.append(firewall_analysis.HierarchyLevel(
                node, None, f"firewall policy {', '.join(unreadable)} could not be read and may be attached to {node}"))
        else:
            attached = tuple(policy.configuration for policy, targets in readable if node in targets)
            levels.append(firewall_analysis.HierarchyLevel(node, attached))
    return levels


def _deny_candidates(peers: Sequence[Resource]) -> list[tuple[Resource, firewall_analysis.PeerRule]]:
    """Return the peers that might deny traffic: every firewall rule of the project but the plain allow rules."""
    candidates = []
    for peer in peers:
        rule = _peer_rule(peer)
        if not firewall_analysis.peer_never_denies(rule):
            candidates.append((peer, rule))
    return candidates


# The engine passes every firewall rule of a project the same list of peers (the project's group in its
# index), so the deny candidates are found once per project. Finding them per judged rule would cost the
# square of the project's size.
_DENY_CANDIDATES = IdentityMemo(_deny_candidates, size=256)


def _other_deny_candidates(peers: Sequence[Resource] | None, subject: Resource | None,
                           ) -> Iterator[firewall_analysis.PeerRule]:
    # A generator function, so the candidates are looked up only when the analysis reads them.
    for peer, rule in _DENY_CANDIDATES(peers) if peers else ():
        if peer is not subject:
            yield rule


def _peer_rule(peer: Resource) -> firewall_analysis.PeerRule:
    """Describe a peer firewall rule for the analysis, with the fields that its collection could not read."""
    label = peer.name or peer.id
    if not peer.errors:
        return firewall_analysis.PeerRule(data=peer.configuration or None, label=label)

    unreadable: set[str] = set()
    for path in peer.errors:
        if path == "configuration":
            unreadable.add(firewall_analysis.WHOLE_RECORD)
        elif path.startswith("configuration."):
            # "configuration.sourceRanges[0]" makes the whole top-level field unknown.
            unreadable.add(re.split(r"[.\[]", path.removeprefix("configuration."), maxsplit=1)[0])
    return firewall_analysis.PeerRule(data=peer.configuration or None, unreadable=frozenset(unreadable), label=label)


def _descriptions(verdicts: Iterable[firewall_analysis.RuleVerdict]) -> list[str]:
    return list(dict.fromkeys(exposure.describe() for verdict in verdicts for exposure in verdict.exposures))


@check_function("gcp.storage_bucket_public",
                path_args=("iam_policy", "iam_configuration", "acl", "default_object_acl"),
                required=("iam_policy", "iam_configuration"))
def storage_bucket_public(iam_policy: Any, iam_configuration: Any, acl: Any = None,
                          default_object_acl: Any = None) -> Outcome:
    """True when a bucket grants access to allUsers or allAuthenticatedUsers through IAM or ACLs."""
    try:
        return _outcome(bucket_public_access(iam_policy, iam_configuration, acl, default_object_acl))
    except ValueError as error:
        return Outcome(None, str(error))


@check_function("gcp.bigquery_dataset_public", path_args=("access", "iam_policy"),
                unknown_as_none=("access", "iam_policy"))
def bigquery_dataset_public(access: Any, iam_policy: Any) -> Outcome:
    """True when a dataset grants access to allUsers or allAuthenticatedUsers (access list or IAM policy)."""
    try:
        return _outcome(dataset_public_access(access, iam_policy))
    except ValueError as error:
        return Outcome(None, str(error))


def _outcome(result: PublicAccess) -> Outcome:
    return Outcome(result.public, result.detail)
