"""EFS: file systems, as DescribeFileSystems returns them.

File systems become `AWS::EFS::FileSystem` items whose `configuration` is the DescribeFileSystems entry
with camelCase keys (`fileSystemId`, `encrypted`, `kmsKeyId`, ...) and whose tags come from the entry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import arn, config_shape, tag_dict
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

FILE_SYSTEM = "AWS::EFS::FileSystem"

CALLS = api_calls("efs", "DescribeFileSystems=elasticfilesystem:DescribeFileSystems")


def collect(unit: UnitContext) -> None:
    """Collect the region's EFS file systems."""
    efs = unit.client("efs")
    try:
        file_systems = unit.paginate(efs, "DescribeFileSystems", "FileSystems")
    except CallFailed as failure:
        unit.fail_type(FILE_SYSTEM, failure)
        return

    for file_system in file_systems:
        unit.add(file_system_resource(unit, file_system))


def refresh(unit: UnitContext, targets: Mapping[str, Sequence[str]]) -> None:
    """Re-collect the named file systems of the region (fs-... ids)."""
    wanted = list(dict.fromkeys(targets.get(FILE_SYSTEM, ())))
    if "*" in wanted:
        collect(unit)
        return

    efs = unit.client("efs")
    for file_system_id in wanted:
        response = unit.call(efs, "DescribeFileSystems", missing=("FileSystemNotFound",), resource_id=file_system_id,
                             FileSystemId=file_system_id)
        file_systems = (response or {}).get("FileSystems", [])
        if not file_systems:
            unit.mark_gone(FILE_SYSTEM, arn(unit.partition, "elasticfilesystem", unit.region, unit.account,
                                            f"file-system/{file_system_id}"))
            continue
        unit.add(file_system_resource(unit, file_systems[0]))


def file_system_resource(unit: UnitContext, file_system: dict[str, Any]) -> Resource:
    """Build the `AWS::EFS::FileSystem` item of one DescribeFileSystems entry."""
    file_system_id = file_system["FileSystemId"]
    file_system_arn = file_system.get("FileSystemArn") or arn(
        unit.partition, "elasticfilesystem", unit.region, unit.account, f"file-system/{file_system_id}")
    configuration = config_shape(file_system)
    # The Name tag is repeated as Name in the entry; the tags themselves go to the envelope.
    configuration.pop("tags", None)
    return unit.new_resource(FILE_SYSTEM, file_system_arn, file_system.get("Name") or file_system_id,
                             configuration=configuration, tags=tag_dict(file_system.get("Tags")))


COLLECTOR = CollectorSpec(
    service="efs",
    global_service=False,
    calls=CALLS,
    resource_types=(FILE_SYSTEM,),
    collect=collect,
    description="EFS file systems",
)
