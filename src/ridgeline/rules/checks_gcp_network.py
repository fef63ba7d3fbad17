"""GCP exposure functions that rule conditions can call: firewall rules, buckets and BigQuery datasets.

Each function adapts an analysis module to the rule language and returns an Outcome. Input the
analysis cannot parse makes the outcome unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ridgeline.analysis.gcp_public import PublicAccess, bucket_public_access, dataset_public_access
from ridgeline.analysis.network import gcp as firewall_analysis
from ridgeline.model.resource import Resource
from ridgeline.rules.functions import Outcome, check_function


@check_function("gcp.firewall_internet_ports", path_args=("firewall",),
                literal_args=("ports", "protocols", "peers", "subject"), required=("firewall", "ports"))
def firewall_internet_ports(firewall: Any, ports: list[int], protocols: list[str] | None = None,
                            peers: Sequence[Resource] | None = None, subject: Resource | None = None) -> Outcome:
    """True when this VPC firewall rule admits 0.0.0.0/0 or ::/0 to any of the ports past the deny rules of its network.

    `protocols` defaults to ["tcp"], and an entry on protocol "all" matches every protocol. Disabled,
    egress and deny rules admit nothing, and neither do sources given only as tags or service accounts.
    The engine passes the project's firewall rules as `peers`. Deny rules among them that apply to all
    of the rule's targets, with the same or a lower priority number, hide the traffic they deny. A
    peer that cannot be read makes the outcome unknown only if it might hide everything the rule
    admits. Without peers, as in a direct call, the rule is judged on its own.
    """
    if firewall is None:
        return Outcome(None, "the firewall rule has no configuration")

    verdicts: list[firewall_analysis.RuleVerdict] = []
    try:
        for protocol in protocols or ["tcp"]:
            # A generator, because the analysis reads the peers only when the rule itself opens the ports,
            # and most rules of a project do not.
            others = (_peer_rule(peer) for peer in peers or () if peer is not subject)
            verdicts.append(firewall_analysis.rule_exposures_after_denies(firewall, others, ports, protocol))
    except ValueError as error:
        return Outcome(None, str(error))

    # One protocol that is open for certain decides. Otherwise one that may be open leaves it unknown.
    certain = _descriptions(verdict for verdict in verdicts if verdict.exposed)
    if certain:
        return Outcome(True, "; ".join(certain))
    undecided = [verdict for verdict in verdicts if verdict.exposed is None]
    if undecided:
        reasons = list(dict.fromkeys(reason for verdict in undecided for reason in verdict.unresolved))
        return Outcome(None, f"{'; '.join(_descriptions(undecided))} stays open unless a firewall rule that "
                             f"could not be read denies it: {'; '.join(reasons)}")
    return Outcome(False, "")


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


@check_function("gcp.bigquery_dataset_public", path_args=("access", "iam_policy"))
def bigquery_dataset_public(access: Any, iam_policy: Any) -> Outcome:
    """True when a dataset grants access to allUsers or allAuthenticatedUsers (access list or IAM policy)."""
    try:
        return _outcome(dataset_public_access(access, iam_policy))
    except ValueError as error:
        return Outcome(None, str(error))


def _outcome(result: PublicAccess) -> Outcome:
    return Outcome(result.public, result.detail)
