"""CloudTrail: trails with their logging status, event selectors and tags.

Trails become `AWS::CloudTrail::Trail` configuration items: `configuration` is the DescribeTrails entry
in AWS Config's camelCase, and `supplementaryConfiguration` contains the GetTrailStatus output
(`TrailStatus`) and the GetEventSelectors output (`EventSelectors`, `AdvancedEventSelectors`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

TRAIL = "AWS::CloudTrail::Trail"

CALLS = api_calls("cloudtrail", "DescribeTrails", "GetTrailStatus", "GetEventSelectors", "ListTags")


def collect(unit: UnitContext) -> None:
    """Collect the trails whose home region is this unit's region (see `collected_here`)."""
    cloudtrail = unit.client("cloudtrail")
    try:
        # Shadow trails are included because an organization trail reaches a member account only as a
        # shadow trail; `collected_here` keeps every trail in one unit.
        response = unit.call(cloudtrail, "DescribeTrails", includeShadowTrails=True) or {}
    except CallFailed as failure:
        unit.fail_type(TRAIL, failure)
        return

    trails = [trail for trail in response.get("trailList", []) if collected_here(unit, trail)]
    for resource in unit.map(lambda trail: _collect_trail(unit, trail), trails):
        unit.add(resource)


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named trails (name or ARN) whose home region is this unit's region."""
    wanted = list(dict.fromkeys(targets.get(TRAIL, ())))
    if "*" in wanted:
        collect(unit)
        return

    cloudtrail = unit.client("cloudtrail")
    response = unit.call(cloudtrail, "DescribeTrails", trailNameList=wanted, includeShadowTrails=True) or {}
    trails = response.get("trailList", [])
    for name in wanted:
        trail = next((item for item in trails if name in (item.get("Name"), item.get("TrailARN"))), None)
        if trail is None:
            trail_arn = name if name.startswith("arn:") else (
                f"arn:{unit.partition}:cloudtrail:{unit.region}:{unit.account}:trail/{name}")
            unit.mark_gone(TRAIL, trail_arn)
        elif collected_here(unit, trail):
            unit.add(_collect_trail(unit, trail))


def collected_here(unit: UnitContext, trail: dict[str, Any]) -> bool:
    """Tell whether this unit collects `trail`, so each trail is collected once per scan.

    A trail belongs to the unit of its home region. A multi-region or organization trail whose home
    region is not scanned is still visible as a shadow trail, and it records events of the scanned
    regions too, so the alphabetically first scanned region collects it.
    """
    home = trail.get("HomeRegion") or unit.region
    if home == unit.region:
        return True
    if unit.regions and home not in unit.regions:
        return unit.region == min(unit.regions)
    return False


def _collect_trail(unit: UnitContext, trail: dict[str, Any]) -> Resource:
    trail_arn = trail["TrailARN"]
    home = trail.get("HomeRegion") or unit.region
    resource = unit.new_resource(TRAIL, trail_arn, trail.get("Name", trail_arn.rsplit("/", 1)[-1]), region=home,
                                 configuration=config_shape(trail))

    # Detail calls go to the home region and name the trail by ARN, the form that also reaches a shadow
    # trail. NOTE: not checked against a real member account: if AWS denies these calls for an
    # organization trail owned by the management account, that trail's status and selector rules are ERROR.
    cloudtrail = unit.client("cloudtrail", home)
    for paths, reader in _DETAILS:
        try:
            reader(unit, cloudtrail, trail_arn, resource)
        except CallFailed as failure:
            failure.resource_id = trail_arn
            unit.detail_failed(resource, paths[0], failure)
            # One failed call, one coverage error: the call's other paths share its reason.
            for path in paths[1:]:
                resource.errors[path] = resource.errors[paths[0]]
    return resource


def _read_status(unit: UnitContext, cloudtrail: Any, trail_arn: str, resource: Resource) -> None:
    response = unit.call(cloudtrail, "GetTrailStatus", Name=trail_arn) or {}
    resource.supplementary["TrailStatus"] = config_shape(response)


def _read_event_selectors(unit: UnitContext, cloudtrail: Any, trail_arn: str, resource: Resource) -> None:
    # NOTE: AWS returns the default selector (all read and write management events) for a trail that
    # never had selectors put. moto 5.2 returns two empty lists instead, which rules read as "nothing recorded".
    response = unit.call(cloudtrail, "GetEventSelectors", TrailName=trail_arn) or {}
    resource.supplementary["EventSelectors"] = config_shape(response.get("EventSelectors") or [])
    resource.supplementary["AdvancedEventSelectors"] = config_shape(response.get("AdvancedEventSelectors") or [])


def _read_tags(unit: UnitContext, cloudtrail: Any, trail_arn: str, resource: Resource) -> None:
    response = unit.call(cloudtrail, "ListTags", ResourceIdList=[trail_arn]) or {}
    for entry in response.get("ResourceTagList", []):
        if entry.get("ResourceId") == trail_arn:
            resource.tags = tag_dict(entry.get("TagsList"))


# (envelope paths that become unknown when the call fails, reader)
_DETAILS = (
    (("supplementaryConfiguration.TrailStatus",), _read_status),
    (("supplementaryConfiguration.EventSelectors", "supplementaryConfiguration.AdvancedEventSelectors"),
     _read_event_selectors),
    (("tags",), _read_tags),
)

COLLECTOR = CollectorSpec(
    service="cloudtrail",
    global_service=False,
    calls=CALLS,
    resource_types=(TRAIL,),
    collect=collect,
    description="CloudTrail trails with their status and event selectors",
)
