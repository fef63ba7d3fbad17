"""GCP exposure functions that rule conditions can call: firewall rules, buckets and BigQuery datasets.

Each function adapts an analysis module to the rule language and returns an Outcome. Input the
analysis cannot parse makes the outcome unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis.gcp_public import PublicAccess, bucket_public_access, dataset_public_access
from ridgeline.analysis.network import gcp as firewall_analysis
from ridgeline.rules.functions import Outcome, check_function


@check_function("gcp.firewall_internet_ports", path_args=("firewall",), literal_args=("ports", "protocols"),
                required=("firewall", "ports"))
def firewall_internet_ports(firewall: Any, ports: list[int], protocols: list[str] | None = None) -> Outcome:
    """True when this VPC firewall rule, on its own, admits 0.0.0.0/0 or ::/0 to any of the ports.

    `protocols` defaults to ["tcp"], and an entry on protocol "all" matches every protocol. Disabled,
    egress and deny rules admit nothing, and neither do sources given only as tags or service accounts.
    """
    if firewall is None:
        return Outcome(None, "the firewall rule has no configuration")

    found: list[str] = []
    try:
        for protocol in protocols or ["tcp"]:
            for exposure in firewall_analysis.rule_internet_exposures(firewall, ports=ports, protocol=protocol):
                text = exposure.describe()
                if text not in found:
                    found.append(text)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(found), "; ".join(found))


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
