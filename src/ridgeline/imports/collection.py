"""Turn imported inventory files into collections the engine can judge, one per provider, with honest coverage.

An export contains only what its tool exported. For every service that has at least one resource in the
files, the resource types of that service missing from the files are marked as not collected, so their
rules report ERROR ("not in the imported files") instead of passing or staying silent. Services with no
resource at all in the files are left out, as if not scanned.

`import_files` recognises each file's format by its content (AWS Config, Cloud Asset Inventory, Azure
Resource Graph or Resource Manager JSON), so one call takes a mix of providers.
"""

from __future__ import annotations

import logging
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from ridgeline.imports.aws_config import SUPPLEMENTARY_PATH, Deletion, iter_located_items, iter_located_records
from ridgeline.imports.azure_arm import iter_azure_files
from ridgeline.imports.detect import Detection, Format, detect_format
from ridgeline.imports.gcp_cai import iter_gcp_cai_files
from ridgeline.imports.report import ImportIssue, ImportReport, Positions
from ridgeline.imports.sources import STDIN, InputFile, iter_input_files
from ridgeline.model.resource import Resource
from ridgeline.model.scan import CallError, Completeness, Coverage
from ridgeline.providers.aws.collectors import all_collectors
from ridgeline.providers.aws.scanner import Collection
from ridgeline.providers.azure import catalog as azure_catalog
from ridgeline.providers.gcp import catalog as gcp_catalog

logger = logging.getLogger(__name__)

MISSING_TYPE_REASON = "not in the imported files (the recorder may not record this type)"
NOT_RECORDED_REASON = "not recorded in the imported configuration item; a live scan reads it"
INCOMPLETE_ITEM_REASON = ("not in the imported configuration item, although AWS Config records it for every "
                          "resource of this type: the item is incomplete")
INCOMPLETE_FIELD_REASONS = {
    "aws": "the item has no {fields}, which AWS Config records for every {type}; the item is incomplete",
    "gcp": "the asset has no {fields}, which the service's API returns for every {type}; the asset is incomplete",
}
"""The reason, by provider, given for each ALWAYS_RETURNED_CONFIGURATION field that an imported item lacks."""
CATALOGUE_MISSING_TYPE_REASON = "not in the imported files (the export or query may not include this type)"
NO_IAM_POLICIES_REASON = ("the imported files hold no IAM policy at all; export with --content-type=iam-policy "
                          "too and import both")
GCP_NOT_IMPORTED_REASON = "not in the imported files; a live scan reads it"

PROVIDER_ORDER = ("aws", "azure", "gcp")

FOLDER_FILE_SKIPPED = "file in a folder not named .json, .jsonl or .ndjson (gzipped or not)"
"""The `ImportReport.skipped` key of files that reading a folder left out."""

OLDER_VERSION_SKIPPED = "older configuration item of a resource in a history file (the newest is judged)"
"""The `ImportReport.skipped` key of the earlier versions in an AWS Config history file."""

EMPTY_FILE_SKIPPED = "file holding an empty JSON array (nothing to import)"
"""The `ImportReport.skipped` key of files such as the `[]` that `az resource list` prints when nothing matches."""

PROJECT_ASSET_TYPE = "cloudresourcemanager.googleapis.com/Project"

# Supplementary settings that Ridgeline's live collectors read with extra calls and that a
# configuration item may lack. When absent from an imported item they are unknown, not empty, so the
# rules reading them report ERROR instead of a false FAIL (a trail without TrailStatus is not "stopped").
LIVE_ONLY_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::CloudTrail::Trail": ("TrailStatus",),
    "AWS::EC2::Snapshot": ("CreateVolumePermissions",),
    "AWS::EC2::VPC": ("FlowLogs",),
    # Ridgeline's own type for GetAccountPasswordPolicy, which AWS Config does not record: only an item
    # written by hand or by Ridgeline can hold it.
    "AWS::IAM::AccountPasswordPolicy": ("PasswordPolicyExists",),
    "AWS::IAM::User": ("CredentialReport",),
    "AWS::KMS::Key": ("KeyRotationStatus",),
    "AWS::Lambda::Function": ("FunctionUrlConfigs",),
    # A log group item contains DescribeLogGroups' fields. The CloudWatch alarm rules read its metric filters,
    # their alarms and the alarms' topic subscriptions, which the live collector reads with further calls.
    "AWS::Logs::LogGroup": ("MetricAlarms", "MetricFilters", "TopicSubscriptions"),
    "AWS::RDS::DBSnapshot": ("RestoreAttributes",),
    "AWS::RDS::DBClusterSnapshot": ("RestoreAttributes",),
    "AWS::S3::Bucket": ("BucketOwnershipControls",),
}

# Supplementary settings that AWS Config records in every item of the type, with null values when unset
# (a bucket without a policy has BucketPolicy {"policyText": null}, one without logging has
# BucketLoggingConfiguration {"destinationBucketName": null}), or that every resource has (each bucket has
# an ACL, each KMS key exactly one key policy). An item lacking one is incomplete, not a sign of no setting.
ALWAYS_RECORDED_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::KMS::Key": ("Policy",),
    "AWS::S3::Bucket": ("AccessControlList", "BucketLoggingConfiguration", "BucketPolicy",
                        "BucketVersioningConfiguration"),
}

# Supplementary settings that AWS Config records only when they are set: an item without one has none
# (a function without a resource policy, a bucket without its own public access block).
RECORDED_WHEN_SET_PATHS: dict[str, tuple[str, ...]] = {
    "AWS::Lambda::Function": ("Policy",),
    "AWS::S3::Bucket": ("PublicAccessBlockConfiguration", "ServerSideEncryptionConfiguration"),
}

# Configuration fields that rules read and that the provider's API returns for every resource of the type,
# so every AWS Config item (Cloud Asset Inventory asset) of the type has them, keyed by the field's name in
# `configuration`. An imported item lacking one (or holding null) was cut down, by an advanced query that
# selected single fields or by hand, so the field is unknown rather than unset: rules reading it report
# ERROR. Not listed: fields absent while unset (a trail's kmsKeyId), and fields that the API gained after
# AWS Config began to record the type (RDS deletionProtection, KMS keySpec, a trail's
# hasCustomEventSelectors), because real items recorded before then lack them. Fields are marked on
# imported items only, never on live scans.
ALWAYS_RETURNED_CONFIGURATION: dict[str, tuple[str, ...]] = {
    # DescribeTrails: S3BucketName, which CreateTrail requires.
    "AWS::CloudTrail::Trail": ("s3BucketName",),
    # DescribeInstances: the instance's security groups (GroupSet), an empty list when it has none.
    "AWS::EC2::Instance": ("securityGroups",),
    # DescribeNetworkAcls: Entries, never empty because every network ACL has its two default deny entries.
    "AWS::EC2::NetworkAcl": ("entries",),
    # DescribeSecurityGroups: GroupName and both rule lists, empty lists when the group has no rules.
    "AWS::EC2::SecurityGroup": ("groupName", "ipPermissions", "ipPermissionsEgress"),
    # DescribeVolumes: Encrypted, true or false.
    "AWS::EC2::Volume": ("encrypted",),
    # GetAccountAuthorizationDetails: each entity's attached and inline policy lists (empty lists when
    # none), a role's trust policy and a managed policy's versions.
    "AWS::IAM::Group": ("attachedManagedPolicies", "groupPolicyList"),
    "AWS::IAM::Policy": ("policyVersionList",),
    "AWS::IAM::Role": ("assumeRolePolicyDocument", "attachedManagedPolicies", "rolePolicyList"),
    "AWS::IAM::User": ("attachedManagedPolicies", "userPolicyList"),
    # DescribeKey: KeyManager, KeyState and Origin (AWS_KMS, EXTERNAL, ...) of every key.
    "AWS::KMS::Key": ("keyManager", "keyState", "origin"),
    # DescribeDBClusters: Engine, and StorageEncrypted (Boolean, not BooleanOptional, in the RDS service model).
    "AWS::RDS::DBCluster": ("engine", "storageEncrypted"),
    # DescribeDBClusterSnapshots: StorageEncrypted (Boolean in the RDS service model).
    "AWS::RDS::DBClusterSnapshot": ("storageEncrypted",),
    # DescribeDBInstances: Engine, and members typed Boolean or Integer (not the Optional types) in the RDS
    # service model. An item that AWS Config recorded in 2016, while its instance was being created, has them.
    "AWS::RDS::DBInstance": ("autoMinorVersionUpgrade", "backupRetentionPeriod", "engine", "multiAZ",
                             "publiclyAccessible", "storageEncrypted"),
    # DescribeDBSnapshots: Encrypted (Boolean in the RDS service model).
    "AWS::RDS::DBSnapshot": ("encrypted",),
    # GetPublicAccessBlock (S3 Control): all four settings, false for those not turned on.
    "AWS::S3::AccountPublicAccessBlock": ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"),
    # Cloud SQL Admin API instances.get: databaseVersion, fixed at creation, and settings (the tier and
    # every setting). NOTE: a source representation instance (ON_PREMISES_INSTANCE) may come without
    # settings. No rule judges those, but their import would still warn.
    "sqladmin.googleapis.com/Instance": ("databaseVersion", "settings"),
}


@dataclass(slots=True)
class ImportResult:
    """The collections of one import, one per provider present in the files, and the shared report."""

    collections: list[Collection] = field(default_factory=list)
    report: ImportReport = field(default_factory=ImportReport)
    formats: dict[str, Format] = field(default_factory=dict)
    """File label -> the format it was read as; files of unknown format are in `report.errors`."""


# Mixed inputs ---------------------------------------------------------------------------------------

def import_files(sources: Iterable[str | Path]) -> ImportResult:
    """Read inventory files of any supported format from files, folders or "-" into one collection per provider.

    Each file's format is recognised from its content. A file of unknown format is an error of the
    report, and the other files are still read. Raises FileNotFoundError when a source does not exist,
    before any file is read.
    """
    started = time.monotonic()
    result = ImportResult()
    report = result.report
    left_out: list[str] = []
    files = [input_file for source in sources for input_file in iter_input_files(source, left_out)]

    for _ in left_out:
        report.count(report.skipped, FOLDER_FILE_SKIPPED)
    with readable_twice(files) as readable:
        by_format = detect_formats(readable, result)
        unreadable_files = list(report.errors)
        resources: dict[str, list[Resource]] = {}
        issues: dict[str, list[ImportIssue]] = {}
        if by_format[Format.AWS_CONFIG]:
            first = len(report.errors)
            resources["aws"] = read_aws(by_format[Format.AWS_CONFIG], report)
            issues["aws"] = report.errors[first:]
        if by_format[Format.AZURE]:
            first = len(report.errors)
            resources["azure"] = list(iter_azure_files([item for item, _ in by_format[Format.AZURE]], report))
            issues["azure"] = report.errors[first:]
        if by_format[Format.GCP_CAI]:
            first = len(report.errors)
            gcp = list(iter_gcp_cai_files([item for item, _ in by_format[Format.GCP_CAI]], report))
            name_gcp_projects_by_id(gcp)
            mark_gcp_not_imported(gcp, report)
            resources["gcp"] = gcp
            issues["gcp"] = report.errors[first:]

    duration = time.monotonic() - started
    for provider in PROVIDER_ORDER:
        if resources.get(provider):
            collection = build_collection(provider, resources[provider], report)
            collection.duration_s = duration
            mark_unread_items(collection, [*unreadable_files, *issues.get(provider, [])])
            result.collections.append(collection)
    return result


def detect_formats(files: Iterable[InputFile], result: ImportResult) -> dict[Format, list[tuple[InputFile, Detection]]]:
    """Return the files by format, recording each file's format in `result` and unknown formats as errors."""
    by_format: dict[Format, list[tuple[InputFile, Detection]]] = defaultdict(list)
    for input_file in files:
        detection = _detect(input_file, result.report)
        if detection is None:
            continue
        if detection.empty:
            # No provider's inventory: the file cannot make any provider's coverage partial.
            result.report.count(result.report.skipped, EMPTY_FILE_SKIPPED)
            continue
        if detection.format is None:
            result.report.add_error(input_file.label, detection.location, detection.reason)
            continue
        result.formats[input_file.label] = detection.format
        by_format[detection.format].append((input_file, detection))
    return by_format


def _detect(input_file: InputFile, report: ImportReport) -> Detection | None:
    try:
        return detect_format(input_file)
    except (OSError, EOFError, UnicodeDecodeError) as error:
        # OSError covers unreadable files and corrupt gzip data (gzip.BadGzipFile).
        report.add_error(input_file.label, "", f"could not read the file: {error}")
        return None


def read_aws(files: Sequence[tuple[InputFile, Detection]], report: ImportReport) -> list[Resource]:
    """Read AWS Config files; of a resource given more than once, the newest configuration item is judged.

    A resource whose newest item records its deletion is left out, so that no older item of it is judged.
    """
    newest: dict[tuple[str, str, str, str], Resource | Deletion] = {}
    # Where each kept item was read, to name it when another copy differs: one integer per resource.
    positions = Positions()
    kept_at: dict[tuple[str, str, str, str], int] = {}
    for input_file, detection in files:
        label = input_file.label
        for location, record in iter_located_records(input_file, report, json_lines=detection.json_lines or None):
            key = (record.type, record.account, record.region, record.id)
            position = positions.add(label, location)
            earlier = newest.get(key)
            if earlier is not None:
                record, position = _newest_item(_Copy(earlier, kept_at[key]), _Copy(record, position),
                                                positions, report)
            newest[key] = record
            kept_at[key] = position

    # The deletion items are counted under their status already, when they are read.
    resources: list[Resource] = []
    for key, record in newest.items():
        if isinstance(record, Deletion):
            logger.info("import: %s (account %s, region %s) is left out because its newest configuration item, "
                        "captured at %s, is %s", record.id, record.account, record.region,
                        record.collected_at or "an unknown time", record.status)
            continue
        # After the duplicates are dropped, so that the report counts each missing setting once per resource.
        position = kept_at[key]
        mark_unrecorded(record, report, at=(positions.file(position), positions.location(position)))
        resources.append(record)
    return resources


def _content(resource: Resource) -> dict[str, Any]:
    """Return the content of a resource, without where and when it was read."""
    document = resource.to_dict()
    document.pop("source", None)
    document.pop("collected_at", None)
    return document


CAPTURE_TIME = "configurationItemCaptureTime"


class _Copy(NamedTuple):
    """One copy of a resource given more than once, and its position in the import's `Positions`."""

    resource: Resource | Deletion
    position: int


def _newest_item(earlier: _Copy, later: _Copy, positions: Positions, report: ImportReport) -> _Copy:
    """Return the copy of a resource to judge: the one captured last, else the one read last.

    A copy with a capture time wins over one without. A deletion item takes part by the same rules, and when it
    wins the resource is left out. Copies with other content are reported, and the older versions in a history
    file are counted as left out.
    """
    earlier_newer = later.resource.collected_at < earlier.resource.collected_at
    judged, other = (earlier, later) if earlier_newer else (later, earlier)
    judged_time, other_time = judged.resource.collected_at, other.resource.collected_at
    if earlier.resource.source == later.resource.source and judged_time and other_time and judged_time != other_time:
        # A history file: the versions of a resource over time, of which the newest is its state now. A version
        # whose content equals the newest (only its capture time differs) is an older version all the same.
        # A deletion item is counted under its status when it is read, so it is not counted again here.
        if isinstance(other.resource, Resource):
            report.count(report.skipped, OLDER_VERSION_SKIPPED)
        return judged
    earlier_resource, later_resource = earlier.resource, later.resource
    if isinstance(earlier_resource, Deletion) or isinstance(later_resource, Deletion):
        # A deletion is no copy to compare or to judge: it decides only whether the resource exists.
        return judged
    if _content(earlier_resource) == _content(later_resource):
        return earlier

    report.add_duplicate(positions.file(later.position), positions.location(later.position), later.resource.id,
                         other=positions.describe(earlier.position), judged=positions.describe(judged.position),
                         reason=_capture_reason(judged_time, other_time))
    return judged


def _capture_reason(judged_time: str, other_time: str) -> str:
    """Return why the copy captured at `judged_time` is judged rather than the one captured at `other_time`."""
    if judged_time and other_time and judged_time != other_time:
        return f"its {CAPTURE_TIME} is newer ({judged_time}, against {other_time})"
    if judged_time and judged_time == other_time:
        return f"it is read later, and both copies have {CAPTURE_TIME} {judged_time}"
    if judged_time:
        return f"only it has a {CAPTURE_TIME} ({judged_time})"
    return f"it is read later, and neither copy has a {CAPTURE_TIME}"


@contextmanager
def readable_twice(files: list[InputFile]) -> Iterator[list[InputFile]]:
    """Save standard input to a temporary file, because its format is recognised before it is imported."""
    if not any(input_file.name == STDIN and not input_file.path for input_file in files):
        yield files
        return
    with tempfile.TemporaryDirectory(prefix="ridgeline-stdin-") as folder:
        copy = Path(folder) / "stdin"
        with copy.open("wb") as target:
            shutil.copyfileobj(sys.stdin.buffer, target)
        yield [InputFile(STDIN, path=str(copy)) if item.name == STDIN else item for item in files]


def build_collection(provider: str, resources: list[Resource], report: ImportReport) -> Collection:
    """Return the collection of one provider's imported resources, with its coverage units."""
    if provider == "aws":
        coverage = import_coverage(resources)
    elif provider == "azure":
        coverage = catalogue_coverage("azure", resources, azure_catalog.services(), azure_catalog.service_of)
    else:
        coverage = catalogue_coverage("gcp", resources, gcp_catalog.services(), gcp_catalog.service_of)
    mark_incomplete(coverage, report.incomplete)

    return Collection(
        provider=provider,
        accounts=sorted({resource.account for resource in resources}),
        regions=sorted({resource.region for resource in resources if resource.region != "global"}),
        resources=resources,
        coverage=coverage,
    )


# AWS Config -----------------------------------------------------------------------------------------

def import_aws_config(sources: Iterable[str | Path]) -> tuple[Collection, ImportReport]:
    """Read AWS Config exports from files, folders or "-" and return them as one collection."""
    started = time.monotonic()
    report = ImportReport()
    resources: list[Resource] = []
    for source in sources:
        for input_file in iter_input_files(source):
            for location, resource in iter_located_items(input_file, report):
                mark_unrecorded(resource, report, at=(input_file.label, location))
                resources.append(resource)

    collection = build_collection("aws", resources, report)
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


def mark_unrecorded(resource: Resource, report: ImportReport | None = None, *,
                    at: tuple[str, str] | None = None) -> None:
    """Mark the settings an imported item lacks as unknown, counting the supplementary ones in `report`.

    Those are the live-only settings (LIVE_ONLY_PATHS), those that AWS Config records for every
    resource of the type (ALWAYS_RECORDED_PATHS) and the configuration fields of ALWAYS_RETURNED_CONFIGURATION,
    which `mark_incomplete_configuration` reports as warnings. An item without any
    `supplementaryConfiguration` already has the whole field marked unknown by the importer: all of the
    type's supplementary settings count as missing then. `at` is the item's (file, location), for the warnings.
    """
    mark_incomplete_configuration(resource, report, at=at)

    if SUPPLEMENTARY_PATH in resource.errors:
        if report is not None:
            for key in _supplementary_keys(resource.type):
                report.count(report.not_imported, f"{resource.type} {key}")
        return

    for paths, reason in ((LIVE_ONLY_PATHS, NOT_RECORDED_REASON), (ALWAYS_RECORDED_PATHS, INCOMPLETE_ITEM_REASON)):
        for key in paths.get(resource.type, ()):
            if key not in resource.supplementary:
                resource.errors.setdefault(f"{SUPPLEMENTARY_PATH}.{key}", reason)
                if report is not None:
                    report.count(report.not_imported, f"{resource.type} {key}")


def mark_incomplete_configuration(resource: Resource, report: ImportReport | None = None, *,
                                  at: tuple[str, str] | None = None) -> None:
    """Mark the ALWAYS_RETURNED_CONFIGURATION fields that an imported item lacks (or has as null) as unknown.

    Each incomplete item is a warning of `report`, naming the resource and the fields, because real exports
    never lack them: the item was cut down or made by hand. The warning is at `at`, the item's (file,
    location) such as ("snapshot.json", "item 3"), or else in the file named by the resource's `source`.
    """
    if "configuration" in resource.errors:
        # The importer marked the whole configuration unknown already (missing, null or invalid).
        return
    missing = [key for key in ALWAYS_RETURNED_CONFIGURATION.get(resource.type, ())
               if resource.configuration.get(key) is None]
    if not missing:
        return

    for key in missing:
        resource.errors.setdefault(f"configuration.{key}", _incomplete_reason(resource.provider, resource.type, key))

    if report is not None:
        fields = ", ".join(f"configuration.{key}" for key in missing)
        reason = INCOMPLETE_FIELD_REASONS[resource.provider].format(fields=fields, type=resource.type)
        readers = "it" if len(missing) == 1 else "them"
        file, location = at if at is not None else (resource.source.removeprefix("file:"), "")
        report.add_warning(file, location, f"{resource.id}: {reason}, so the rules reading {readers} report ERROR")


@lru_cache(maxsize=256)
def _incomplete_reason(provider: str, type_name: str, key: str) -> str:
    # One string per field of a type, shared by every resource that lacks it.
    return INCOMPLETE_FIELD_REASONS[provider].format(fields=f"configuration.{key}", type=type_name)


def _supplementary_keys(type_name: str) -> tuple[str, ...]:
    """Return the supplementary keys of a type that rules read, as the tables above name them."""
    return tuple(sorted({*LIVE_ONLY_PATHS.get(type_name, ()), *ALWAYS_RECORDED_PATHS.get(type_name, ()),
                         *RECORDED_WHEN_SET_PATHS.get(type_name, ())}))


# Azure and GCP --------------------------------------------------------------------------------------

def catalogue_coverage(provider: str, resources: Iterable[Resource], services: Mapping[str, Sequence[str]],
                       service_of: Callable[[str], str | None]) -> list[Coverage]:
    """Return one complete unit per (account, service) present in the resources, in the region "global".

    Azure and GCP services are read per subscription or project, not per region, so each unit covers
    the account. Catalogue types of a present service that the files lack are in `failed_types`.
    """
    counts: dict[tuple[str, str], int] = {}
    for resource in resources:
        key = (resource.account, resource.type)
        counts[key] = counts.get(key, 0) + 1
    return catalogue_coverage_of_counts(provider, counts, services, service_of)


def catalogue_coverage_of_counts(provider: str, counts: Mapping[tuple[str, str], int],
                                 services: Mapping[str, Sequence[str]],
                                 service_of: Callable[[str], str | None]) -> list[Coverage]:
    """Return the units of `catalogue_coverage` from the number of resources per (account, type)."""
    units: dict[tuple[str, str], Coverage] = {}
    for (account, type_name), count in counts.items():
        service = service_of(type_name)
        if service is None:
            continue
        unit = units.get((account, service))
        if unit is None:
            unit = units[(account, service)] = Coverage(provider=provider, account=account, region="global",
                                                        service=service)
        unit.resource_counts[type_name] = unit.resource_counts.get(type_name, 0) + count

    for (account, service), unit in units.items():
        expected = gcp_catalog.expected_types(service, account) if provider == "gcp" else services[service]
        for type_name in expected:
            if type_name not in unit.resource_counts:
                unit.failed_types[type_name] = CATALOGUE_MISSING_TYPE_REASON
    return sorted(units.values(), key=lambda unit: (unit.account, unit.service))


def mark_unread_items(collection: Collection, issues: Sequence[ImportIssue]) -> None:
    """Make every unit of `collection` partial when files or items of the import could not be read.

    The resources an unreadable item held are missing from the scan, and which account they belonged to
    is unknown. No unit of the provider may count as complete, because a finding must not be resolved
    only because a corrupt line dropped its resource. Files of unknown format count for every provider.
    A collection without units (every resource of a type outside the catalogue) gets one partial unit
    per account, service "import", because a scan without units would read as complete.
    """
    if not issues:
        return
    reason = (f"{len(issues)} file(s) or item(s) of the import could not be read, so resources they held may "
              f"be missing (first: {issues[0].describe()})")
    if not collection.coverage:
        collection.coverage = [Coverage(provider=collection.provider, account=account, region="global",
                                        service=UNREAD_ITEMS_SERVICE)
                               for account in collection.accounts or [UNREAD_ITEMS_ACCOUNT]]
    for unit in collection.coverage:
        if unit.status is Completeness.COMPLETE:
            unit.status = Completeness.PARTIAL
        unit.errors.append(CallError(call="import", code="UnreadableItems", message=reason))


UNREAD_ITEMS_SERVICE = "import"
"""The service of the partial unit that `mark_unread_items` adds to a collection without units."""

UNREAD_ITEMS_ACCOUNT = "unknown"
"""Its account when the collection names none."""


def mark_incomplete(coverage: Iterable[Coverage], incomplete: Mapping[tuple[str, str], str]) -> None:
    """Make the units of accounts whose inventory the files hold only in part `partial`, with the reason."""
    for unit in coverage:
        reason = incomplete.get((unit.provider, unit.account))
        if reason is not None:
            unit.status = Completeness.PARTIAL
            unit.errors.append(CallError(call="import", code="IncompleteInventory", message=reason))


class ProjectIds:
    """Project number -> project id, learnt from the resources of an import as they come.

    Two kinds of resources tell: a project asset (`projectNumber` in its data, the id as its account),
    which decides, the last one read winning; and an asset whose name contains the project id
    (//compute.googleapis.com/projects/my-project/...) while its closest ancestor is projects/NUMBER.
    An export without the project asset still groups the project's resources under one account that way.
    """

    def __init__(self) -> None:
        self._from_projects: dict[str, tuple[Any, str]] = {}
        self._from_names: dict[str, str | None] = {}
        """Number -> id, or None when names gave two different ids for one number (then nothing is renamed)."""

    def note(self, resource: Resource, order: Any) -> None:
        """Learn from one resource; `order` is its place in the import (the later project asset wins)."""
        # Compare the type first, because only project assets need `projectNumber`.
        number = resource.configuration.get("projectNumber") if resource.type == PROJECT_ASSET_TYPE else None
        if number is not None and resource.account != str(number):
            known = self._from_projects.get(str(number))
            if known is None or known[0] < order:
                self._from_projects[str(number)] = (order, resource.account)
            return

        hint = _project_hint(resource)
        if hint is not None:
            number_text, project_id = hint
            earlier = self._from_names.get(number_text, project_id)
            if earlier != project_id:
                logger.warning("import: assets of project number %s name two project ids (%s, %s); their "
                               "account stays the number", number_text, earlier, project_id)
            self._from_names[number_text] = project_id if earlier == project_id else None

    def mapping(self) -> dict[str, str]:
        """Return number -> id: the project assets', else the one that asset names agree on."""
        merged = {number: project_id for number, project_id in self._from_names.items() if project_id is not None}
        merged.update({number: project_id for number, (_, project_id) in self._from_projects.items()})
        return merged


_PROJECT_ID_IN_NAME = re.compile(r"^//[^/]+/projects/([^/]+)/")


def _project_hint(resource: Resource) -> tuple[str, str] | None:
    """Return (number, id) when the asset's closest ancestor is projects/NUMBER and its name contains an id."""
    ancestors = resource.supplementary.get("ancestors")
    if not isinstance(ancestors, list) or not ancestors or not isinstance(ancestors[0], str):
        return None
    closest = ancestors[0]
    if not closest.startswith("projects/"):
        return None
    number = closest[len("projects/"):]
    if not number.isdigit():
        return None
    match = _PROJECT_ID_IN_NAME.match(resource.id)
    if match is None:
        return None
    # Some services name the project by number (Service Usage, API keys): that teaches nothing.
    project_id = match.group(1)
    return None if project_id.isdigit() else (number, project_id)


def name_gcp_projects_by_id(resources: Sequence[Resource]) -> None:
    """Give resources whose account is a project number the project id, when the files name both.

    Assets without `projectId` in their data get the project number from their ancestors, so without
    this one project would be two accounts, and an account-scope rule would see half of it in each.
    """
    projects = ProjectIds()
    for position, resource in enumerate(resources):
        projects.note(resource, position)
    ids_by_number = projects.mapping()
    for resource in resources:
        project_id = ids_by_number.get(resource.account)
        if project_id is not None:
            logger.debug("import: %s belongs to project %s (number %s)", resource.id, project_id, resource.account)
            resource.account = project_id


def mark_gcp_not_imported(resources: Sequence[Resource], report: ImportReport) -> None:
    """Mark the supplementary settings that a Cloud Asset Inventory export lacks as unknown.

    The catalogue's settings of further API calls (essential contacts) are never in an export. The IAM
    policy is unknown when no asset of the import has one, because the export then left IAM_POLICY
    content out. When some assets have one, an asset without one has no policy set.
    """
    # NOTE: an IAM export filtered to some asset types leaves the policies of the other types looking unset.
    any_policy = any("iamPolicy" in resource.supplementary for resource in resources)
    for resource in resources:
        mark_gcp_not_exported(resource, report)
        if not any_policy:
            mark_gcp_policy_unknown(resource, report)


def mark_gcp_not_exported(resource: Resource, report: ImportReport) -> None:
    """Mark what the export of `resource` lacks as unknown.

    Those are the catalogue's supplementary settings of further API calls, counted in `report`, and the
    fields of ALWAYS_RETURNED_CONFIGURATION, which `mark_incomplete_configuration` reports as warnings.
    """
    mark_incomplete_configuration(resource, report)

    entry = gcp_catalog.TYPES_BY_NAME.get(resource.type)
    for key in entry.supplementary if entry is not None else ():
        if key not in resource.supplementary:
            resource.errors[f"supplementaryConfiguration.{key}"] = GCP_NOT_IMPORTED_REASON
            report.count(report.not_imported, f"{resource.type} {key}")


def mark_gcp_policy_unknown(resource: Resource, report: ImportReport | None) -> None:
    """Mark the IAM policy of `resource` as unknown, for an import that contains no IAM policy at all.

    Counts it in `report` when the type is catalogued (None when the caller counts it otherwise).
    """
    resource.errors["supplementaryConfiguration.iamPolicy"] = NO_IAM_POLICIES_REASON
    if report is not None and resource.type in gcp_catalog.TYPES_BY_NAME:
        report.count(report.not_imported, f"{resource.type} iamPolicy")
