"""AWS Config's spelling of some resource types, rewritten into the envelope spelling of a live scan.

Live collectors lower the first letter of every key of the Describe output (`DBClusterIdentifier` becomes
`dBClusterIdentifier`), and the built-in rules read that spelling. AWS Config spells some types otherwise:
for a few older types it lowers a leading run of capitals (`dbclusterIdentifier`), and it records newer
types in the CloudFormation registry's PascalCase (`Encrypted`), sometimes without a field that the
Describe API returns. `AWS_CONFIG_SHAPES` lists those differences per type, as data, and
`apply_envelope_spelling` applies them to an imported item, so that the rules judge it as a live scan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.shape import config_shape
from ridgeline.rules.paths import ROOTS, paths_overlap, split_path

logger = logging.getLogger(__name__)

NOT_RECORDED_REASON = "not recorded in AWS Config's configuration item of this type; a live scan reads it"
"""The reason given for an envelope path that has no counterpart in AWS Config's item of the type."""


class ShapeError(ValueError):
    """A value that AWS Config recorded in a shape that a conversion cannot read."""


@dataclass(frozen=True, slots=True)
class Rename:
    """One field as AWS Config spells it, and where the live envelope has it."""

    source: str
    """Dotted path in the imported item (`configuration.Encrypted`)."""

    target: str
    """Dotted path in the envelope (`configuration.encrypted`), which may lie under the other root."""

    convert: Callable[[Any], Any] | None = None
    """Function that turns the recorded value into the envelope's, raising ShapeError on a shape it cannot read."""


@dataclass(frozen=True, slots=True)
class ConfigShape:
    """The differences between AWS Config's item of one type and the live collector's envelope."""

    renames: tuple[Rename, ...] = ()
    """Fields to move from AWS Config's spelling to the envelope's, applied in order."""

    not_recorded: tuple[str, ...] = ()
    """Envelope paths without a counterpart in AWS Config's item: unknown when an item lacks them."""


def restore_values(attributes: Any) -> list[str]:
    """Return the values of the `restore` attribute of DB(Cluster)SnapshotAttributes: account ids or "all".

    This is what the RDS collector stores as `RestoreAttributes` from DescribeDBSnapshotAttributes.
    """
    if not isinstance(attributes, list):
        raise ShapeError(f"expected a list of snapshot attributes, found {type(attributes).__name__}")
    values: list[str] = []
    for attribute in attributes:
        if not isinstance(attribute, Mapping):
            raise ShapeError(f"expected a snapshot attribute object, found {type(attribute).__name__}")
        if attribute.get("attributeName") != "restore":
            continue
        recorded = attribute.get("attributeValues") or []
        if not isinstance(recorded, list):
            raise ShapeError(f"expected a list of attributeValues, found {type(recorded).__name__}")
        values.extend(str(value) for value in recorded)
    return values


def renamed_item_keys(names: Mapping[str, str]) -> Callable[[Any], Any]:
    """Return a conversion that renames keys of each object in a list (`names`: recorded -> envelope)."""

    def convert(items: Any) -> Any:
        if not isinstance(items, list):
            raise ShapeError(f"expected a list, found {type(items).__name__}")
        return [{names.get(key, key): value for key, value in item.items()} if isinstance(item, Mapping) else item
                for item in items]

    return convert


def _first_letter_lowered(*names: str) -> tuple[Rename, ...]:
    """Return renames of configuration fields whose envelope name only lowers the first letter."""
    return tuple(Rename(f"configuration.{name}", f"configuration.{name[:1].lower()}{name[1:]}") for name in names)


# Sources: the property lists of the awslabs/aws-config-resource-schema repository
# (config/properties/resource-types/<type>.properties.json), which name the fields that advanced queries
# can search, in AWS Config's spelling. A type whose rule fields AWS Config spells as the live envelope does
# has no entry. These are trails, EC2 instances, security groups, network ACLs, VPCs and volumes, IAM
# users, groups, roles and policies, KMS keys, Lambda functions, RDS DB instances, S3 buckets and the
# account's public access block.
AWS_CONFIG_SHAPES: dict[str, ConfigShape] = {
    # CloudFormation spelling: AnalyzerName, Arn, Type, ArchiveRules (kept as recorded, because ListAnalyzers
    # has no archive rules), and no status. ListAnalyzers returns the status (ACTIVE, CREATING, DISABLED,
    # FAILED), so an imported analyzer is not known to be active.
    "AWS::AccessAnalyzer::Analyzer": ConfigShape(
        renames=(
            Rename("configuration.AnalyzerName", "configuration.name"),
            Rename("configuration.Arn", "configuration.arn"),
            Rename("configuration.Type", "configuration.type"),
        ),
        not_recorded=("configuration.status",),
    ),
    # CloudFormation spelling: Name, RoleARN, RecordingGroup, RecordingMode, and a Recording flag that the
    # live collector keeps in the DescribeConfigurationRecorderStatus entry. That entry's lastStatus (a
    # failing recorder) has no counterpart in the item.
    "AWS::Config::ConfigurationRecorder": ConfigShape(
        renames=(
            Rename("configuration.Name", "configuration.name"),
            Rename("configuration.RoleARN", "configuration.roleARN"),
            Rename("configuration.RecordingGroup", "configuration.recordingGroup", config_shape),
            Rename("configuration.RecordingMode", "configuration.recordingMode", config_shape),
            Rename("configuration.Recording", "supplementaryConfiguration.ConfigurationRecorderStatus.recording"),
        ),
        not_recorded=("supplementaryConfiguration.ConfigurationRecorderStatus.recording",
                      "supplementaryConfiguration.ConfigurationRecorderStatus.lastStatus"),
    ),
    # CloudFormation spelling. DescribeFileSystems names the ARN FileSystemArn.
    "AWS::EFS::FileSystem": ConfigShape(
        renames=(
            Rename("configuration.Arn", "configuration.fileSystemArn"),
            *_first_letter_lowered("Encrypted", "FileSystemId", "KmsKeyId", "PerformanceMode",
                                    "ProvisionedThroughputInMibps", "ThroughputMode"),
        ),
    ),
    # CloudFormation spelling: Arn, Path, ServerCertificateName, and no expiration date, which
    # ListServerCertificates returns.
    "AWS::IAM::ServerCertificate": ConfigShape(
        renames=_first_letter_lowered("Arn", "Path", "ServerCertificateName"),
        not_recorded=("configuration.expiration",),
    ),
    # A leading "DB" or "IAM" is lowered whole (dbclusterIdentifier, iamdatabaseAuthenticationEnabled).
    "AWS::RDS::DBCluster": ConfigShape(
        renames=(
            Rename("configuration.dbclusterArn", "configuration.dBClusterArn"),
            Rename("configuration.dbclusterIdentifier", "configuration.dBClusterIdentifier"),
            Rename("configuration.dbclusterMembers", "configuration.dBClusterMembers", renamed_item_keys({
                "dbinstanceIdentifier": "dBInstanceIdentifier",
                "dbclusterParameterGroupStatus": "dBClusterParameterGroupStatus"})),
            Rename("configuration.dbclusterParameterGroup", "configuration.dBClusterParameterGroup"),
            Rename("configuration.dbsubnetGroup", "configuration.dBSubnetGroup"),
            Rename("configuration.iamdatabaseAuthenticationEnabled", "configuration.iAMDatabaseAuthenticationEnabled"),
        ),
    ),
    # Spelled as for clusters. The snapshot attributes are recorded whole (attributeName, attributeValues),
    # while the live collector keeps the values of the `restore` attribute only.
    "AWS::RDS::DBClusterSnapshot": ConfigShape(
        renames=(
            Rename("configuration.dbclusterIdentifier", "configuration.dBClusterIdentifier"),
            Rename("configuration.dbclusterSnapshotArn", "configuration.dBClusterSnapshotArn"),
            Rename("configuration.dbclusterSnapshotIdentifier", "configuration.dBClusterSnapshotIdentifier"),
            Rename("configuration.iamdatabaseAuthenticationEnabled", "configuration.iAMDatabaseAuthenticationEnabled"),
            Rename("supplementaryConfiguration.DBClusterSnapshotAttributes",
                   "supplementaryConfiguration.RestoreAttributes", restore_values),
        ),
    ),
    # The snapshot attributes as for cluster snapshots.
    "AWS::RDS::DBSnapshot": ConfigShape(
        renames=(
            Rename("supplementaryConfiguration.DBSnapshotAttributes", "supplementaryConfiguration.RestoreAttributes",
                   restore_values),
        ),
    ),
}


def apply_envelope_spelling(resource: Resource, shapes: Mapping[str, ConfigShape] = AWS_CONFIG_SHAPES) -> None:
    """Rewrite an imported AWS Config item of a type in `shapes` into the live envelope's spelling, in place.

    Each renamed field moves (the recorded spelling is not kept), unless the envelope spelling is already
    present, which then wins. A value that a conversion cannot read stays where it was, and its target
    path becomes unknown. Paths of `not_recorded` that the item lacks become unknown in `resource.errors`.
    Call it after the item's own errors are reported: a field that AWS Config does not record is a gap of
    the export, not an error of the item.
    """
    shape = shapes.get(resource.type)
    if shape is None:
        return

    for rename in shape.renames:
        _move(resource, rename)

    # A configuration that is missing or invalid is reported as such already, which explains every gap.
    if "configuration" in resource.errors:
        return
    # NOTE: these marks are not counted under "Not in the files" of the import report, which counts only the
    # settings of ridgeline.imports.collection's tables.
    for path in shape.not_recorded:
        if _read(resource, path) is _ABSENT and not _covered(resource, path):
            resource.errors[path] = NOT_RECORDED_REASON


_ABSENT = object()


def _move(resource: Resource, rename: Rename) -> None:
    source_root, source_keys = _root_and_keys(resource, rename.source)
    parent = _parent(source_root, source_keys)
    if parent is None or source_keys[-1] not in parent:
        return
    if _read(resource, rename.target) is not _ABSENT:
        return

    value = parent[source_keys[-1]]
    if rename.convert is not None and value is not None:
        try:
            value = rename.convert(value)
        except ShapeError as error:
            logger.warning("import: %s %s: %s has an unexpected shape (%s), so the rules reading %s report ERROR",
                           resource.type, resource.id, rename.source, error, rename.target)
            resource.errors.setdefault(rename.target, f"AWS Config recorded {rename.source} in an unexpected "
                                                      f"shape: {error}")
            return

    del parent[source_keys[-1]]
    target_root, target_keys = _root_and_keys(resource, rename.target)
    container = target_root
    for key in target_keys[:-1]:
        child = container.get(key)
        if not isinstance(child, dict):
            child = container[key] = {}
        container = child
    container[target_keys[-1]] = value


def _root_and_keys(resource: Resource, path: str) -> tuple[dict[str, Any], list[str]]:
    """Return the envelope mapping a path starts in (configuration or supplementary) and the keys below it."""
    root, *keys = (str(key) for key in split_path(path))
    mapping = getattr(resource, ROOTS[root])
    if not isinstance(mapping, dict) or not keys:
        raise ValueError(f"{path!r} does not lead into configuration or supplementaryConfiguration")
    return mapping, keys


def _parent(root: dict[str, Any], keys: list[str]) -> dict[str, Any] | None:
    container: Any = root
    for key in keys[:-1]:
        container = container.get(key) if isinstance(container, dict) else None
    return container if isinstance(container, dict) else None


def _read(resource: Resource, path: str) -> Any:
    root, keys = _root_and_keys(resource, path)
    parent = _parent(root, keys)
    if parent is None or parent.get(keys[-1]) is None:
        return _ABSENT
    return parent[keys[-1]]


def _covered(resource: Resource, path: str) -> bool:
    return any(error_path == "*" or paths_overlap(error_path, path) for error_path in resource.errors)
