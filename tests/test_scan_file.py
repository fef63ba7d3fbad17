"""`ridgeline scan file`: AWS Config exports judged by the same rules, with honest coverage."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.imports.collection import MISSING_TYPE_REASON, import_aws_config

ACCOUNT = "111122223333"


def _item(resource_type: str, resource_id: str, configuration: dict[str, object],
          supplementary: dict[str, object] | None = None, region: str = "us-east-1") -> dict[str, object]:
    return {"configurationItemVersion": "1.3", "awsAccountId": ACCOUNT, "configurationItemStatus": "OK",
            "resourceType": resource_type, "resourceId": resource_id, "resourceName": resource_id,
            "ARN": f"arn:aws:test:{region}:{ACCOUNT}:{resource_id}", "awsRegion": region, "tags": {},
            "relationships": [], "configuration": configuration,
            "supplementaryConfiguration": supplementary or {}}


def _snapshot(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_bytes(gzip.compress(json.dumps({"fileVersion": "1.0", "configurationItems": items}).encode()))
    return path


def test_missing_types_and_live_only_settings_are_not_assessed(tmp_path: Path) -> None:
    trail = _item("AWS::CloudTrail::Trail", "trail", {"name": "trail", "isMultiRegionTrail": True,
                                                      "logFileValidationEnabled": False, "s3BucketName": "logs"})
    volume = _item("AWS::EC2::Volume", "vol-1", {"volumeId": "vol-1", "encrypted": False})
    snapshot = _snapshot(tmp_path / "snapshot.json.gz", [trail, volume])

    collection, report = import_aws_config([snapshot])

    assert report.errors == []
    trail_resource = next(r for r in collection.resources if r.type == "AWS::CloudTrail::Trail")
    assert "supplementaryConfiguration.TrailStatus" in trail_resource.errors
    ec2_unit = next(unit for unit in collection.coverage if unit.service == "ec2")
    assert ec2_unit.failed_types["AWS::EC2::SecurityGroup"] == MISSING_TYPE_REASON
    assert "AWS::EC2::Volume" not in ec2_unit.failed_types


def test_scan_file_judges_an_export(tmp_path: Path) -> None:
    volume = _item("AWS::EC2::Volume", "vol-1", {"volumeId": "vol-1", "encrypted": False})
    trail = _item("AWS::CloudTrail::Trail", "trail", {"name": "trail", "isMultiRegionTrail": True,
                                                      "logFileValidationEnabled": False, "s3BucketName": "logs"})
    snapshot = _snapshot(tmp_path / "snapshot.json.gz", [volume, trail])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    result = CliRunner().invoke(main, ["scan", "file", str(snapshot), str(broken), "--no-store",
                                       "-o", str(tmp_path / "out"), "-f", "json"])

    assert result.exit_code == 0, result.output
    assert "broken.json" in result.output
    report = json.loads(next((tmp_path / "out").glob("*.json")).read_text())
    by_rule = {}
    for finding in report["findings"]:
        by_rule.setdefault(finding["rule_id"], []).append(finding)
    assert [f["status"] for f in by_rule["aws-ec2-volume-encrypted"]] == ["FAIL"]
    assert [f["status"] for f in by_rule["aws-cloudtrail-log-file-validation"]] == ["FAIL"]
    # Settings a configuration item does not hold are not assessed, never a false FAIL or PASS.
    assert {f["status"] for f in by_rule["aws-cloudtrail-multi-region-trail"]} == {"ERROR"}
    # A type the export lacks makes its rules ERROR instead of silence.
    assert {f["status"] for f in by_rule["aws-ec2-sg-admin-ports-open"]} == {"ERROR"}
    assert "s3" not in {unit["service"] for unit in report["collection"]}


def test_scan_file_without_importable_items_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"configurationItems": []}))

    result = CliRunner().invoke(main, ["scan", "file", str(empty), "--no-store", "-o", str(tmp_path / "out")])

    assert result.exit_code == 2
    assert "no resource could be imported" in result.output
