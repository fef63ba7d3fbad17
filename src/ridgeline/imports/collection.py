"""Turn imported AWS Config items into a Collection the engine can judge, with honest coverage.

An export contains only what the recorder recorded. For every service that has at least one resource in
the files, the resource types of that service missing from the files are marked as not collected, so
their rules report ERROR ("not in the imported files") instead of passing or staying silent.
Services with no resource at all in the files are left out, as if not scanned.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ridgeline.imports.aws_config import ImportReport, iter_aws_config_items
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.collectors import all_collectors
from ridgeline.providers.aws.scanner import Collection

MISSING_TYPE_REASON = "not in the imported files (the recorder may not record this type)"
NOT_RECORDED_REASON = "not recorded in the imported configuration item; a live scan reads it"

# Supplementary settings that Ridgeline's live collectors read with extra calls and that a
# configuration item may lack. When absent from an imported item they are unknown, not empty, so the
# rules reading them report ERROR instead of a false FAIL (a trail without TrailStatus is not "stopped").
LIVE_ONLY_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::CloudTrail::Trail": ("TrailStatus",),
    "AWS::EC2::VPC": ("FlowLogs",),
    "AWS::IAM::User": ("CredentialReport",),
    "AWS::KMS::Key": ("KeyRotationStatus",),
    "AWS::Lambda::Function": ("FunctionUrlConfigs",),
    "AWS::RDS::DBSnapshot": ("RestoreAttributes",),
    "AWS::RDS::DBClusterSnapshot": ("RestoreAttributes",),
    "AWS::S3::Bucket": ("BucketOwnershipControls",),
}


def import_aws_config(sources: Iterable[str | Path]) -> tuple[Collection, ImportReport]:
    """Read AWS Config exports from files, folders or "-" and return them as one collection."""
    started = time.monotonic()
    report = ImportReport()
    resources: list[Resource] = []
    for source in sources:
        for resource in iter_aws_config_items(source, report):
            mark_unrecorded(resource)
            resources.append(resource)

    collection = Collection(
        provider="aws",
        accounts=sorted({resource.account for resource in resources}),
        regions=sorted({resource.region for resource in resources if resource.region != "global"}),
        resources=resources,
        coverage=import_coverage(resources),
    )
    collection.duration_s = time.monotonic() - started
    return collection, report


def import_coverage(resources: Iterable[Resource]) -> list[Coverage]:
    """Return one complete coverage unit per (account, region, service) present in the resources."""
    service_of: dict[str, tuple[str, bool]] = {}
    types_of: dict[str, tuple[str, ...]] = {}
    for collector in all_collectors():
        types_of[collector.service] = collector.resource_types
        for type_name in collector.resource_types:
            service_of[type_name] = (collector.service, collector.global_service)

    units: dict[tuple[str, str, str], Coverage] = {}
    present: dict[tuple[str, str], set[str]] = defaultdict(set)
    for resource in resources:
        known = service_of.get(resource.type)
        if known is None:
            continue
        service, global_service = known
        region = "global" if global_service else resource.region
        key = (resource.account, region, service)
        unit = units.setdefault(key, Coverage(provider="aws", account=resource.account, region=region,
                                              service=service, status=Completeness.COMPLETE))
        unit.resource_counts[resource.type] = unit.resource_counts.get(resource.type, 0) + 1
        present[(resource.account, service)].add(resource.type)

    for (account, _region, service), unit in units.items():
        for type_name in types_of[service]:
            if type_name not in present[(account, service)]:
                unit.failed_types[type_name] = MISSING_TYPE_REASON
    return sorted(units.values(), key=lambda unit: (unit.account, unit.service, unit.region))


def mark_unrecorded(resource: Resource) -> None:
    """Mark the live-only settings an imported item lacks as unknown (see LIVE_ONLY_PATHS)."""
    for key in LIVE_ONLY_PATHS.get(resource.type, ()):
        if key not in resource.supplementary:
            resource.errors.setdefault(f"supplementaryConfiguration.{key}", NOT_RECORDED_REASON)
