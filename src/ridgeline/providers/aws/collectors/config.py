"""AWS Config: the configuration recorders of each region, with their status and delivery channels.

Recorders become `AWS::Config::ConfigurationRecorder` items: `configuration` is the
DescribeConfigurationRecorders entry, and `supplementaryConfiguration` contains the recorder's
DescribeConfigurationRecorderStatus entry (`ConfigurationRecorderStatus`) and the region's delivery
channels (`DeliveryChannels`).
"""

from __future__ import annotations

import logging
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import arn, config_shape
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

RECORDER = "AWS::Config::ConfigurationRecorder"

CALLS = api_calls(
    "config",
    "DescribeConfigurationRecorders",
    "DescribeConfigurationRecorderStatus",
    "DescribeDeliveryChannels",
)

_STATUS_PATH = "supplementaryConfiguration.ConfigurationRecorderStatus"
_CHANNELS_PATH = "supplementaryConfiguration.DeliveryChannels"


def collect(unit: UnitContext) -> None:
    """Collect the region's configuration recorders; a region without one yields no resource."""
    config = unit.client("config")
    try:
        response = unit.call(config, "DescribeConfigurationRecorders") or {}
    except CallFailed as failure:
        unit.fail_type(RECORDER, failure)
        return

    recorders = [_recorder_resource(unit, recorder) for recorder in response.get("ConfigurationRecorders", [])]
    if not recorders:
        logger.debug("account %s region %s: no configuration recorder", unit.account, unit.region)
        return

    _read_status(unit, config, recorders)
    _read_delivery_channels(unit, config, recorders)
    for resource in recorders:
        unit.add(resource)


def _recorder_resource(unit: UnitContext, recorder: dict[str, Any]) -> Resource:
    name = recorder.get("name", "default")
    # NOTE: older API versions and moto 5.2 return no ARN. The ARN built here lacks the random suffix
    # that AWS adds to recorder ARNs, so it is stable per account, region and name but not the real ARN.
    recorder_arn = recorder.get("arn") or arn(unit.partition, "config", unit.region, unit.account,
                                              f"configuration-recorder/{name}")
    return unit.new_resource(RECORDER, recorder_arn, name, configuration=config_shape(recorder))


def _read_status(unit: UnitContext, config: Any, recorders: list[Resource]) -> None:
    """Attach each recorder's status; one call returns the status of every recorder of the region."""
    try:
        response = unit.call(config, "DescribeConfigurationRecorderStatus") or {}
    except CallFailed as failure:
        _details_failed(unit, recorders, _STATUS_PATH, failure)
        return

    statuses = response.get("ConfigurationRecordersStatus", [])
    for resource in recorders:
        status = next((entry for entry in statuses if _same_recorder(entry, resource)), None)
        if status is None:
            logger.warning("account %s region %s: configuration recorder %s has no status; treating it as "
                           "not recording", unit.account, unit.region, resource.name)
            status = {"name": resource.name, "recording": False}
        resource.supplementary["ConfigurationRecorderStatus"] = config_shape(status)


def _same_recorder(status: dict[str, Any], resource: Resource) -> bool:
    if status.get("arn") and resource.configuration.get("arn"):
        return bool(status["arn"] == resource.configuration["arn"])
    return bool(status.get("name") == resource.name)


def _read_delivery_channels(unit: UnitContext, config: Any, recorders: list[Resource]) -> None:
    try:
        response = unit.call(config, "DescribeDeliveryChannels") or {}
    except CallFailed as failure:
        _details_failed(unit, recorders, _CHANNELS_PATH, failure)
        return
    for resource in recorders:
        # config_shape builds a new list each time, so no two envelopes share one mutable value.
        resource.supplementary["DeliveryChannels"] = config_shape(response.get("DeliveryChannels", []))


def _details_failed(unit: UnitContext, recorders: list[Resource], path: str, failure: CallFailed) -> None:
    # A region-wide call failed: record it once in coverage, and mark the path unknown on every recorder.
    unit.detail_failed(recorders[0], path, failure)
    for resource in recorders[1:]:
        resource.errors[path] = recorders[0].errors[path]


COLLECTOR = CollectorSpec(
    service="config",
    global_service=False,
    calls=CALLS,
    resource_types=(RECORDER,),
    collect=collect,
    description="AWS Config configuration recorders with their status",
)
