"""Security Hub: whether the region's hub is enabled, from DescribeHub.

An enabled hub becomes one `AWS::SecurityHub::Hub` item whose `configuration` is the DescribeHub output
in camelCase (`hubArn`, `subscribedAt`, `autoEnableControls`, `controlFindingGenerator`). A region where
Security Hub is not enabled yields no item.
"""

from __future__ import annotations

import logging

from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

HUB = "AWS::SecurityHub::Hub"

CALLS = api_calls("securityhub", "DescribeHub")

# DescribeHub returns InvalidAccessException ("Account ... is not subscribed to AWS Security Hub") in a
# region where Security Hub is not enabled.
_NOT_ENABLED = ("InvalidAccessException",)


def collect(unit: UnitContext) -> None:
    """Collect the region's hub, if Security Hub is enabled there."""
    securityhub = unit.client("securityhub")
    try:
        response = unit.call(securityhub, "DescribeHub", missing=_NOT_ENABLED)
    except CallFailed as failure:
        unit.fail_type(HUB, failure)
        return

    if response is None or not response.get("HubArn"):
        logger.debug("account %s region %s: Security Hub is not enabled", unit.account, unit.region)
        return
    # Tag keys are the user's own, so they stay out of the camelCase conversion.
    tags = response.get("Tags") or {}
    configuration = config_shape({key: value for key, value in response.items() if key != "Tags"})
    unit.add(unit.new_resource(HUB, response["HubArn"], response["HubArn"].rsplit("/", 1)[-1],
                               configuration=configuration, tags={str(k): str(v) for k, v in tags.items()}))


COLLECTOR = CollectorSpec(
    service="securityhub",
    global_service=False,
    calls=CALLS,
    resource_types=(HUB,),
    collect=collect,
    description="Security Hub enablement per region",
)
