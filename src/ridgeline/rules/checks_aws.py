"""AWS analysis functions that rule conditions can call (`check: aws.NAME`).

Each function adapts an analysis module to the rule language: it takes values found at envelope paths
and literal arguments, and returns an Outcome. Unparseable input makes the outcome unknown (ERROR),
never a silent pass.
"""

from __future__ import annotations

from typing import Any

from ridgeline.analysis.iam import policy as iam_policy
from ridgeline.analysis.network import aws as network
from ridgeline.analysis.storage import AclParseError, denies_insecure_transport, public_acl_grants
from ridgeline.rules.functions import Outcome, check_function


def _parse(document: Any) -> iam_policy.PolicyDocument | None:
    return iam_policy.parse_policy(document)


def _verdict(verdict: iam_policy.Verdict) -> Outcome:
    return Outcome(verdict.matched, verdict.detail)


@check_function("aws.policy_public", path_args=("policy",), literal_args=("actions",))
def policy_public(policy: Any, actions: list[str] | None = None) -> Outcome:
    """True when a resource policy grants access to anyone, with no condition that pins it down."""
    try:
        return _verdict(iam_policy.public_access(_parse(policy), actions=actions))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_cross_account", path_args=("policy",), literal_args=("subject", "trusted_accounts"))
def policy_cross_account(policy: Any, subject: Any, trusted_accounts: list[str] | None = None) -> Outcome:
    """True when a resource or trust policy grants access to principals of another account."""
    try:
        return _verdict(iam_policy.cross_account_access(_parse(policy), owner_account=subject.account,
                                                         trusted_accounts=trusted_accounts or ()))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_admin", path_args=("policy",))
def policy_admin(policy: Any) -> Outcome:
    """True when a policy allows every action on every resource (also through NotAction)."""
    try:
        return _verdict(iam_policy.allows_admin(_parse(policy)))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_service_wildcard", path_args=("policy",), literal_args=("service",),
                required=("policy",))
def policy_service_wildcard(policy: Any, service: str | None = None) -> Outcome:
    """True when a policy allows a whole service ("s3:*") on every resource."""
    try:
        return _verdict(iam_policy.allows_service_wildcard(_parse(policy), service))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.policy_allows_actions", path_args=("policy",), literal_args=("actions",),
                required=("policy", "actions"))
def policy_allows_actions(policy: Any, actions: list[str]) -> Outcome:
    """True when a policy allows any of the named actions on every resource."""
    try:
        return _verdict(iam_policy.allows_actions(_parse(policy), actions))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")


@check_function("aws.s3_acl_public", path_args=("acl",), literal_args=("permissions",), required=("acl",))
def s3_acl_public(acl: Any, permissions: list[str] | None = None) -> Outcome:
    """True when an S3 ACL grants a permission to everyone or to any AWS account."""
    try:
        grants = public_acl_grants(acl, permissions)
    except AclParseError as error:
        return Outcome(None, str(error))
    return Outcome(bool(grants), "ACL grants " + ", ".join(grants) if grants else "")


@check_function("aws.s3_policy_denies_insecure_transport", path_args=("policy",))
def s3_policy_denies_insecure_transport(policy: Any) -> Outcome:
    """True when a bucket policy denies requests made without TLS."""
    try:
        denied, detail = denies_insecure_transport(_parse(policy))
    except iam_policy.PolicyParseError as error:
        return Outcome(None, f"invalid policy document: {error}")
    return Outcome(denied, detail)


@check_function("aws.sg_world_exposure", path_args=("configuration",), literal_args=("ports", "protocol"),
                required=("configuration",))
def sg_world_exposure(configuration: Any, ports: list[int] | None = None, protocol: str = "tcp") -> Outcome:
    """True when a security group admits 0.0.0.0/0 or ::/0 to any of `ports` (any port when omitted)."""
    exposures = network.sg_world_exposures(configuration or {}, ports=ports, protocol=protocol)
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


@check_function("aws.sg_allows_all_traffic", path_args=("configuration",), literal_args=("direction",),
                required=("configuration",))
def sg_allows_all_traffic(configuration: Any, direction: str = "ingress") -> Outcome:
    """True when a security group has a rule for every protocol from or to anywhere."""
    exposures = network.sg_allows_all_traffic(configuration or {}, direction=direction)
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


@check_function("aws.nacl_world_allows", path_args=("configuration",), literal_args=("ports", "protocol"),
                required=("configuration", "ports"))
def nacl_world_allows(configuration: Any, ports: list[int], protocol: str = "tcp") -> Outcome:
    """True when a network ACL lets 0.0.0.0/0 or ::/0 in on any of `ports`, after rule ordering."""
    exposures = network.nacl_world_allows(configuration or {}, ports=ports, protocol=protocol)
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


# EC2 and VPC. Malformed security groups and network ACLs make the outcome unknown, never a pass.


@check_function("aws.sg_world_ports", path_args=("configuration",),
                literal_args=("ports", "databases", "protocols"), required=("configuration",))
def sg_world_ports(configuration: Any, ports: list[int] | None = None, databases: list[str] | str | None = None,
                   protocols: list[str] | None = None) -> Outcome:
    """True when a security group admits 0.0.0.0/0 or ::/0 to any of the ports, naming each port reached.

    `databases` adds the default ports of the named services of DATABASE_PORTS ("all" for every one).
    `protocols` defaults to ["tcp"], and rules on all protocols match every protocol.
    """
    try:
        labels = _port_labels(ports, databases)
        reached: dict[tuple[int, str], list[str]] = {}
        for protocol in protocols or ["tcp"]:
            for port, label in labels.items():
                for exposure in network.sg_world_exposures(configuration or {}, ports=[port], protocol=protocol):
                    key = (exposure.rule_index, exposure.describe())
                    reached.setdefault(key, []).append(f"{network.normalise_protocol(protocol)} {port}{label}")
    except ValueError as error:
        return Outcome(None, str(error))

    details = [f"ipPermissions[{index}] {rule} reaches {', '.join(targets)}"
               for (index, rule), targets in sorted(reached.items())]
    return Outcome(bool(details), "; ".join(details))


def _port_labels(ports: list[int] | None, databases: list[str] | str | None) -> dict[int, str]:
    """Map each requested port to a label naming its database (" (mysql)"), or "" for plain ports."""
    labels = {port: "" for port in ports or []}

    names = list(network.DATABASE_PORTS) if databases == "all" else list(databases or [])
    for name in names:
        if name not in network.DATABASE_PORTS:
            known = ", ".join(network.DATABASE_PORTS)
            raise ValueError(f"unknown database {name!r}; expected 'all' or some of: {known}")
        for port in network.DATABASE_PORTS[name]:
            labels.setdefault(port, f" ({name})")

    if not labels:
        raise ValueError("aws.sg_world_ports needs 'ports' or 'databases'")
    return labels


@check_function("aws.nacl_world_ports", path_args=("configuration",), literal_args=("ports", "protocols"),
                required=("configuration", "ports"))
def nacl_world_ports(configuration: Any, ports: list[int], protocols: list[str] | None = None) -> Outcome:
    """True when a network ACL lets 0.0.0.0/0 or ::/0 in on any of the ports, after rule ordering.

    `protocols` defaults to ["tcp"]. The detail names the allowing rule number for each port.
    """
    details = []
    try:
        for protocol in protocols or ["tcp"]:
            for exposure in network.nacl_world_allows(configuration or {}, ports=ports, protocol=protocol):
                details.append(f"rule {exposure.rule_index} allows {exposure.describe()}")
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(details), "; ".join(details))
