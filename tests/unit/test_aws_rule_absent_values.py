"""AWS rules on items that leave a value out: an absent value decides a verdict only where the API documents it.

DescribeDBClusters may leave MultiAZ out (BooleanOptional in the RDS service model), so a cluster item
without it is unknown. An EFS file system with a KMS key is encrypted, whether or not the item says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import import_files
from ridgeline.model.finding import Finding, Status
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules

ACCOUNT = "111122223333"
REGION = "eu-west-1"


def item(resource_type: str, resource_id: str, arn: str, configuration: dict[str, Any]) -> dict[str, Any]:
    return {"configurationItemVersion": "1.3", "configurationItemStatus": "OK", "awsAccountId": ACCOUNT,
            "configurationItemCaptureTime": "2026-11-01T10:00:00.000Z", "resourceType": resource_type,
            "resourceId": resource_id, "resourceName": resource_id, "ARN": arn, "awsRegion": REGION, "tags": {},
            "relationships": [], "configuration": configuration, "supplementaryConfiguration": {}}


def finding_of(tmp_path: Path, rule_id: str, resource: dict[str, Any]) -> Finding:
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"configurationItems": [resource]}), encoding="utf-8")
    result = import_files([path])
    (collection,) = result.collections
    rules = [rule for rule in load_builtin_rules() if rule.id == rule_id]
    # The other types of the rule's service are not in the file, which the coverage findings report.
    (finding,) = [finding for finding in Engine(rules).evaluate(collection.resources, collection.coverage)
                  if finding.resource_id == resource["ARN"]]
    return finding


CLUSTER_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders"


def cluster(**fields: Any) -> dict[str, Any]:
    # AWS Config's spelling of DescribeDBClusters fields (a leading "DB" lowered whole).
    return item("AWS::RDS::DBCluster", "cluster-ABC", CLUSTER_ARN,
                {"dbclusterIdentifier": "orders", "engine": "aurora-postgresql", "storageEncrypted": True, **fields})


@pytest.mark.parametrize(("fields", "expected"), [
    ({"multiAZ": True}, Status.PASS),
    ({"multiAZ": False}, Status.FAIL),
    ({}, Status.ERROR),
    ({"multiAZ": None}, Status.ERROR),
])
def test_cluster_multi_az(tmp_path: Path, fields: dict[str, Any], expected: Status) -> None:
    finding = finding_of(tmp_path, "aws-rds-multi-az", cluster(**fields))

    assert finding.status is expected, finding.message


def test_cluster_without_multi_az_names_field(tmp_path: Path) -> None:
    finding = finding_of(tmp_path, "aws-rds-multi-az", cluster())

    assert "the value is missing" in finding.message


FILE_SYSTEM_ARN = f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/fs-0a1b"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"Encrypted": True, "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"}, Status.PASS),
    ({"KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"}, Status.PASS),
    ({"Encrypted": False}, Status.FAIL),
    ({"Encrypted": False, "KmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"}, Status.FAIL),
    ({}, Status.FAIL),
])
def test_file_system_encryption(tmp_path: Path, fields: dict[str, Any], expected: Status) -> None:
    # AWS Config records file systems in the CloudFormation spelling, where an unset Encrypted means false.
    resource = item("AWS::EFS::FileSystem", "fs-0a1b", FILE_SYSTEM_ARN,
                    {"FileSystemId": "fs-0a1b", "Arn": FILE_SYSTEM_ARN, **fields})

    finding = finding_of(tmp_path, "aws-efs-file-system-encrypted", resource)

    assert finding.status is expected, finding.message
