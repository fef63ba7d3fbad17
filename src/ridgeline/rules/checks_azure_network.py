"""Azure network analysis functions that rule conditions can call (`check: azure.NAME`).

Each function adapts an analysis module to the rule language: it takes the values found at
envelope paths and literal arguments, and returns an Outcome. Malformed input makes the
outcome unknown (ERROR), never a silent pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ridgeline.analysis.network import azure as nsg_analysis
from ridgeline.analysis.network import azure_services
from ridgeline.rules.functions import Outcome, check_function


@check_function("azure.nsg_internet_exposure", path_args=("configuration",), literal_args=("ports", "protocols"),
                required=("configuration",))
def nsg_internet_exposure(configuration: Any, ports: list[int] | None = None,
                          protocols: list[str] | None = None) -> Outcome:
    """True when an NSG lets internet sources reach any of `ports` (any port when omitted), after priorities.

    `protocols` defaults to ["tcp"], and rules on protocol "*" match every protocol. Internet
    sources are "*", "Any", the Internet service tag, 0.0.0.0/0 and ::/0. A Deny rule of higher
    priority hides a later Allow, and the default rules come last.
    """
    if not isinstance(configuration, Mapping) or not (
        isinstance(configuration.get("properties"), Mapping) or "securityRules" in configuration
    ):
        return Outcome(None, "the NSG has no properties with security rules")

    exposures: list[nsg_analysis.Exposure] = []
    try:
        for protocol in protocols or ["tcp"]:
            exposures += nsg_analysis.nsg_internet_exposures(configuration, ports=ports, protocol=protocol)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(exposures), "; ".join(exposure.describe() for exposure in exposures))


@check_function("azure.flow_log_retention_short", path_args=("properties",), literal_args=("minimum_days",),
                required=("properties", "minimum_days"))
def flow_log_retention_short(properties: Any, minimum_days: int) -> Outcome:
    """True when a flow log is off or its retention policy deletes records before `minimum_days`."""
    if properties is None:
        return Outcome(None, "the flow log has no properties")
    try:
        shortfall = azure_services.flow_log_retention_shortfall(properties, minimum_days)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(shortfall is not None, shortfall or "")


@check_function("azure.appgw_tls_below", path_args=("properties",), literal_args=("minimum",),
                required=("properties",))
def appgw_tls_below(properties: Any, minimum: str = "TLSv1_2") -> Outcome:
    """True when the TLS policy of an Application Gateway, or of one of its SSL profiles, accepts a
    protocol older than `minimum` (TLSv1_0, TLSv1_1, TLSv1_2 or TLSv1_3)."""
    if properties is None:
        return Outcome(None, "the Application Gateway has no properties")
    try:
        floor = azure_services.tls_version_rank(minimum)
        below = [policy for policy in azure_services.gateway_tls_minimums(properties)
                 if azure_services.tls_version_rank(policy.minimum) < floor]
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(below), "; ".join(policy.describe() for policy in below))


@check_function("azure.firewall_rules_admit_internet", path_args=("rules",), required=("rules",))
def firewall_rules_admit_internet(rules: Any) -> Outcome:
    """True when the IP firewall rules of a database server together admit every internet address."""
    if rules is None:
        return Outcome(None, "the firewall rules were not collected")
    try:
        names = azure_services.internet_wide_firewall_rules(rules)
    except ValueError as error:
        return Outcome(None, str(error))
    return Outcome(bool(names), "rules admitting every internet address: " + ", ".join(names) if names else "")
