"""Tests for Azure database settings: flexible server parameters and SQL auditing retention."""

from __future__ import annotations

from typing import Any

import pytest

from ridgeline.analysis.azure_databases import audit_retention_shortfall, parameter_value, parameter_violation


def parameters(**values: str) -> dict[str, Any]:
    """Build server parameters keyed by name, as the catalogue stores `configurations`."""
    return {name.replace("__", "."): {"name": name.replace("__", "."),
                                      "type": "Microsoft.DBforMySQL/flexibleServers/configurations",
                                      "properties": {"value": value, "source": "user-override"}}
            for name, value in values.items()}


# --- Reading a parameter --------------------------------------------------------------------------


def test_parameter_value_by_name() -> None:
    assert parameter_value(parameters(tls_version="TLSv1.2"), "tls_version") == "TLSv1.2"


def test_parameter_value_dotted_name() -> None:
    assert parameter_value(parameters(connection_throttle__enable="on"), "connection_throttle.enable") == "on"


def test_parameter_value_key_case() -> None:
    assert parameter_value({"Log_Checkpoints": {"properties": {"value": "on"}}}, "log_checkpoints") == "on"


def test_parameter_value_from_list() -> None:
    listed = list(parameters(audit_log_enabled="ON", tls_version="TLSv1.2").values())

    assert parameter_value(listed, "audit_log_enabled") == "ON"


def test_parameter_value_number() -> None:
    assert parameter_value({"logfiles.retention_days": {"properties": {"value": 7}}}, "logfiles.retention_days") == "7"


@pytest.mark.parametrize(
    ("configurations", "message"),
    [
        pytest.param(parameters(tls_version="TLSv1.2"), "is not in the collected parameters", id="missing"),
        pytest.param("ON", "expected a mapping or list", id="text"),
        pytest.param(None, "expected a mapping or list", id="none"),
        pytest.param({"audit_log_enabled": "ON"}, "expected an object", id="bare-value"),
        pytest.param({"audit_log_enabled": {"properties": {}}}, "has no value", id="no-value"),
        pytest.param({"audit_log_enabled": {"properties": {"value": True}}}, "has no value", id="boolean"),
    ],
)
def test_parameter_value_unknown(configurations: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parameter_value(configurations, "audit_log_enabled")


# --- Judging a parameter --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "allowed", "separator", "violates"),
    [
        pytest.param("on", ["on"], None, False, id="on"),
        pytest.param("ON", ["on"], None, False, id="upper-case"),
        pytest.param(" on ", ["on"], None, False, id="spaces"),
        pytest.param("off", ["on"], None, True, id="off"),
        pytest.param("", ["on"], None, True, id="empty"),
        pytest.param("TLSv1.2,TLSv1.3", ["TLSv1.2", "TLSv1.3"], ",", False, id="list-allowed"),
        pytest.param("TLSv1.2", ["TLSv1.2", "TLSv1.3"], ",", False, id="list-single"),
        pytest.param("TLSv1.1,TLSv1.2", ["TLSv1.2", "TLSv1.3"], ",", True, id="list-with-old"),
        pytest.param("TLSv1", ["TLSv1.2", "TLSv1.3"], ",", True, id="list-tls1"),
        pytest.param(",", ["TLSv1.2"], ",", True, id="list-empty"),
        pytest.param("TLSv1.2,TLSv1.3", ["TLSv1.2", "TLSv1.3"], None, True, id="list-not-split"),
    ],
)
def test_parameter_allowed(value: str, allowed: list[str], separator: str | None, violates: bool) -> None:
    violation = parameter_violation(parameters(p=value), "p", allowed=allowed, separator=separator)

    assert (violation is not None) is violates


@pytest.mark.parametrize(
    ("value", "violates"),
    [
        pytest.param("CONNECTION", False, id="only"),
        pytest.param("DDL,connection,DML", False, id="among-others"),
        pytest.param("DDL,DML", True, id="absent"),
        pytest.param("CONNECTION_V2", True, id="prefix-only"),
    ],
)
def test_parameter_required(value: str, violates: bool) -> None:
    violation = parameter_violation(parameters(audit_log_events=value), "audit_log_events", required=["CONNECTION"],
                                    separator=",")

    assert (violation is not None) is violates


@pytest.mark.parametrize(("value", "violates"), [("3", True), ("4", False), ("7", False), (" 7 ", False)])
def test_parameter_minimum(value: str, violates: bool) -> None:
    violation = parameter_violation(parameters(retention=value), "retention", minimum=4)

    assert (violation is not None) is violates


def test_parameter_violation_reason() -> None:
    violation = parameter_violation(parameters(tls_version="TLSv1.1,TLSv1.2"), "tls_version",
                                    allowed=["TLSv1.2", "TLSv1.3"], separator=",")

    assert violation == "tls_version is 'TLSv1.1,TLSv1.2'; allowed: TLSv1.2, TLSv1.3"


def test_parameter_minimum_not_number() -> None:
    with pytest.raises(ValueError, match="expected a number"):
        parameter_violation(parameters(retention="three"), "retention", minimum=4)


@pytest.mark.parametrize(
    "constraints",
    [
        pytest.param({}, id="none"),
        pytest.param({"allowed": ["on"], "minimum": 1}, id="two"),
    ],
)
def test_parameter_violation_needs_one_constraint(constraints: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        parameter_violation(parameters(p="on"), "p", **constraints)


# --- SQL auditing retention -----------------------------------------------------------------------

STORAGE = "https://staudit.blob.core.windows.net/"


@pytest.mark.parametrize(
    ("properties", "short"),
    [
        pytest.param({"state": "Enabled", "storageEndpoint": STORAGE, "retentionDays": 30}, True, id="30-days"),
        pytest.param({"state": "Enabled", "storageEndpoint": STORAGE, "retentionDays": 90}, True, id="90-days"),
        pytest.param({"state": "Enabled", "storageEndpoint": STORAGE, "retentionDays": 91}, False, id="91-days"),
        pytest.param({"state": "Enabled", "storageEndpoint": STORAGE, "retentionDays": 0}, False, id="forever"),
        pytest.param({"state": "enabled", "storageEndpoint": STORAGE, "retentionDays": 365,
                      "isAzureMonitorTargetEnabled": True}, False, id="storage-and-workspace"),
        pytest.param({"state": "Disabled", "storageEndpoint": STORAGE, "retentionDays": 365}, True, id="off"),
        pytest.param({}, True, id="not-configured"),
    ],
)
def test_audit_retention(properties: dict[str, Any], short: bool) -> None:
    assert (audit_retention_shortfall(properties, 90) is not None) is short


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        pytest.param({"state": "Enabled", "storageEndpoint": "", "isAzureMonitorTargetEnabled": True},
                     "Log Analytics or Event Hubs only", id="workspace-only"),
        pytest.param({"state": "Enabled"}, "names no storage account", id="no-destination"),
        pytest.param({"state": "Enabled", "storageEndpoint": STORAGE}, "retentionDays None", id="days-missing"),
        pytest.param({"state": "Enabled", "storageEndpoint": STORAGE, "retentionDays": "30"}, "retentionDays '30'",
                     id="days-text"),
        pytest.param("Enabled", "expected an object", id="not-object"),
    ],
)
def test_audit_retention_unknown(properties: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        audit_retention_shortfall(properties, 90)
