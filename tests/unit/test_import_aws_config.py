"""Import of AWS Config exports: real sample files, every supported shape, malformed input and rules on the result."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports import ImportReport, iter_aws_config_items
from ridgeline.model.redaction import REDACTED
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Coverage
from ridgeline.rules.engine import Engine
from ridgeline.rules.model import Rule
from tests.conftest import SHARED_SAMPLES

AWS_SAMPLES = SHARED_SAMPLES / "aws"
needs_samples = pytest.mark.skipif(not AWS_SAMPLES.is_dir(), reason=f"sample exports not present at {AWS_SAMPLES}")


def import_all(source: Path | str) -> tuple[list[Resource], ImportReport]:
    report = ImportReport()
    return list(iter_aws_config_items(source, report)), report


def ci_item(**overrides: Any) -> dict[str, Any]:
    """A configuration item in the delivered (snapshot) shape."""
    item: dict[str, Any] = {
        "configurationItemVersion": "1.3",
        "configurationItemCaptureTime": "2024-05-01T10:00:00.000Z",
        "configurationItemStatus": "OK",
        "awsAccountId": "111122223333",
        "resourceType": "AWS::S3::Bucket",
        "resourceId": "logs-bucket",
        "resourceName": "logs-bucket",
        "ARN": "arn:aws:s3:::logs-bucket",
        "awsRegion": "eu-west-1",
        "tags": {"team": "platform"},
        "relationships": [],
        "configuration": {"name": "logs-bucket"},
        "supplementaryConfiguration": {"BucketVersioningConfiguration": {"status": "Enabled"}},
    }
    item.update(overrides)
    return item


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# Real exports ----------------------------------------------------------------------------------------

@needs_samples
def test_every_sample_file_imports() -> None:
    for path in sorted(AWS_SAMPLES.rglob("*.json")):
        resources, report = import_all(path)
        described = [issue.describe() for issue in report.errors]
        assert resources or report.errors, f"{path} gave neither resources nor errors"
        for issue in report.errors:
            assert issue.file == str(path)
        if path.parent.name == "rdk-example-ci":
            assert described == [], path
            assert len(resources) == 1, path


@needs_samples
def test_sample_folder_counts() -> None:
    resources, report = import_all(AWS_SAMPLES)

    assert len(resources) == 25
    assert report.imported["AWS::EC2::SecurityGroup"] == 3
    assert report.imported["AWS::EKS::Cluster"] == 2
    assert report.skipped == {}
    # 13 advanced query results that select no resourceType, and one ListDiscoveredResources file.
    assert len(report.errors) == 14
    assert all(resource.provider == "aws" for resource in resources)
    assert all(resource.source.startswith("file:" + str(AWS_SAMPLES)) for resource in resources)


@needs_samples
def test_delivered_shape_bucket() -> None:
    path = AWS_SAMPLES / "rdk-example-ci" / "AWS_S3_Bucket.json"
    (bucket,), _ = import_all(path)

    assert bucket.type == "AWS::S3::Bucket"
    assert bucket.id == "arn:aws:s3:::mborch-test-bucket-config-item"
    assert bucket.name == "mborch-test-bucket-config-item"
    assert bucket.account == "934654633380"
    assert bucket.region == "us-east-1"
    assert bucket.source == f"file:{path}"
    assert bucket.collected_at == "2019-02-12T07:29:16.288Z"
    assert bucket.supplementary["BucketVersioningConfiguration"]["status"] == "Enabled"
    assert isinstance(bucket.supplementary["AccessControlList"], str)
    assert bucket.supplementary["BucketPolicy"]["policyText"].startswith('{"Version":"2012-10-17"')


@needs_samples
def test_api_shape_history_security_group() -> None:
    path = AWS_SAMPLES / "custodian-placebo" / "test_sg_config_diff.config.GetResourceConfigHistory_1.json"
    resources, report = import_all(path)

    assert report.errors == []
    assert len(resources) == 2
    group = resources[0]
    assert group.type == "AWS::EC2::SecurityGroup"
    assert group.id == "arn:aws:ec2:us-east-1:644160558196:security-group/sg-a38ed1de"
    assert group.account == "644160558196"
    assert group.region == "us-east-1"
    assert group.tags == {"NetworkLocation": "DMZ", "App": "blue-moon"}
    assert group.configuration["groupId"] == "sg-a38ed1de"
    assert group.configuration["ipPermissions"][0]["fromPort"] == 8080
    assert group.relationships == [{"resourceType": "AWS::EC2::VPC", "resourceId": "vpc-72885e14",
                                    "relationshipName": "Is contained in Vpc"}]
    assert group.collected_at == "2016-12-11T06:04:03.800Z"


@needs_samples
def test_account_block_uses_resource_id() -> None:
    (block,), _ = import_all(AWS_SAMPLES / "rdk-example-ci" / "AWS_S3_AccountPublicAccessBlock.json")

    assert block.id == "123456789012"
    assert block.region == "us-east-1"
    assert block.configuration["blockPublicAcls"] is True


@needs_samples
def test_lambda_array_file() -> None:
    (function,), _ = import_all(AWS_SAMPLES / "rdk-example-ci" / "AWS_LAMBDA_FUNCTION.json")

    assert function.type == "AWS::Lambda::Function"
    assert function.id == "arn:aws:lambda:us-east-1:823362693882:function:test-function"
    assert function.tags == {"test": "value"}
    assert function.configuration["functionName"] == "test-function"


@needs_samples
def test_query_without_type_names_item() -> None:
    path = AWS_SAMPLES / "custodian-placebo" / "test_sns_config.config.SelectResourceConfig_1.json"
    resources, report = import_all(path)

    assert resources == []
    assert [issue.location for issue in report.errors] == ["item 0", "item 1"]
    assert "missing resourceType" in report.errors[0].message


@needs_samples
def test_builtin_rules_on_samples(builtin_rules: list[Rule]) -> None:
    resources, _ = import_all(AWS_SAMPLES)
    types = {resource.type for resource in resources}
    services = {rule.service for rule in builtin_rules
                if rule.provider == "aws" and set(rule.resource_types) & types}
    scopes = {(resource.account, resource.region) for resource in resources}
    coverage = [Coverage(provider="aws", account=account, region=region, service=service)
                for account, region in sorted(scopes) for service in sorted(services)]

    findings = Engine(builtin_rules).evaluate(resources, coverage)

    judged = {finding.resource_id for finding in findings}
    assert "arn:aws:s3:::mborch-test-bucket-config-item" in judged
    assert "arn:aws:ec2:us-east-1:644160558196:security-group/sg-a38ed1de" in judged
    assert "s3" in services


# Shapes built here ----------------------------------------------------------------------------------

def test_snapshot_file_gzipped(tmp_path: Path) -> None:
    snapshot = {"fileVersion": "1.0", "configSnapshotId": "abc",
                "configurationItems": [ci_item(), ci_item(resourceId="data", resourceName="data",
                                                          ARN="arn:aws:s3:::data", tags={})]}
    path = tmp_path / "111122223333_Config_eu-west-1_ConfigSnapshot_x.json.gz"
    path.write_bytes(gzip.compress(json.dumps(snapshot).encode()))

    resources, report = import_all(path)

    assert report.errors == []
    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket", "arn:aws:s3:::data"]
    assert resources[0].account == "111122223333"
    assert resources[0].region == "eu-west-1"
    assert resources[0].tags == {"team": "platform"}


def test_gzip_detected_without_suffix(tmp_path: Path) -> None:
    path = tmp_path / "renamed.json"
    path.write_bytes(gzip.compress(json.dumps(ci_item()).encode()))

    resources, report = import_all(path)

    assert report.errors == []
    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket"]


def test_api_item_strings_decoded(tmp_path: Path) -> None:
    item = {
        "version": "1.3", "accountId": "111122223333", "configurationItemStatus": "OK",
        "configurationItemCaptureTime": 1714557600.0,
        "arn": "arn:aws:kms:eu-west-1:111122223333:key/k1", "resourceType": "AWS::KMS::Key",
        "resourceId": "k1", "awsRegion": "eu-west-1",
        "configuration": json.dumps({"keyId": "k1", "keyManager": "CUSTOMER"}),
        "supplementaryConfiguration": {"KeyRotationStatus": "true", "Policy": '{"Version":"2012-10-17"}'},
        "relationships": [{"resourceType": "AWS::KMS::Alias", "resourceId": "a1", "name": "Is attached to"}],
    }
    (key,), report = import_all(write_json(tmp_path / "history.json", {"configurationItems": [item]}))

    assert report.errors == []
    assert key.configuration == {"keyId": "k1", "keyManager": "CUSTOMER"}
    assert key.supplementary["KeyRotationStatus"] is True
    assert key.supplementary["Policy"] == '{"Version":"2012-10-17"}'
    assert key.relationships[0]["relationshipName"] == "Is attached to"
    assert key.collected_at == "2024-05-01T10:00:00.000Z"
    assert key.name == "k1"


def test_query_results_with_tag_list(tmp_path: Path) -> None:
    result = {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": "sg-1", "accountId": "111122223333",
              "awsRegion": "eu-west-1", "arn": "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1",
              "tags": [{"key": "env", "value": "prod"}], "configuration": {"groupId": "sg-1"}}
    document = {"Results": [json.dumps(result)], "QueryInfo": {"SelectFields": []}}

    (group,), report = import_all(write_json(tmp_path / "query.json", document))

    assert report.errors == []
    assert group.tags == {"env": "prod"}
    assert group.configuration == {"groupId": "sg-1"}


def test_deleted_items_counted(tmp_path: Path) -> None:
    items = [ci_item(), ci_item(configurationItemStatus="ResourceDeleted"),
             ci_item(configurationItemStatus="ResourceNotRecorded"), ci_item(configurationItemStatus="ResourceDeleted")]

    resources, report = import_all(write_json(tmp_path / "items.json", items))

    assert len(resources) == 1
    assert report.skipped == {"ResourceDeleted": 2, "ResourceNotRecorded": 1}
    assert report.errors == []


def test_secrets_redacted(tmp_path: Path) -> None:
    item = ci_item(resourceType="AWS::RDS::DBInstance", ARN="arn:aws:rds:eu-west-1:111122223333:db:main",
                   configuration={"dBInstanceIdentifier": "main", "masterUserPassword": "hunter2"})

    (database,), _ = import_all(write_json(tmp_path / "db.json", item))

    assert database.configuration["masterUserPassword"] == REDACTED


def test_lambda_environment_redacted(tmp_path: Path) -> None:
    configuration = json.dumps({"functionName": "f", "environment": {"variables": {"DB_URL": "postgres://u:p@h"}}})
    item = ci_item(resourceType="AWS::Lambda::Function", ARN="arn:aws:lambda:eu-west-1:111122223333:function:f",
                   configuration=configuration)

    (function,), _ = import_all(write_json(tmp_path / "function.json", item))

    assert function.configuration["environment"]["variables"] == {"DB_URL": REDACTED}


def test_json_lines_streams(tmp_path: Path) -> None:
    lines = [json.dumps(ci_item()), "", "{not json", json.dumps(ci_item(ARN="arn:aws:s3:::second"))]
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ImportReport()
    stream = iter_aws_config_items(path, report)
    first = next(stream)

    # The first item arrives before the bad line is read.
    assert first.id == "arn:aws:s3:::logs-bucket"
    assert report.errors == []
    rest = list(stream)
    assert [resource.id for resource in rest] == ["arn:aws:s3:::second"]
    assert [(issue.location, issue.message.split(":")[0]) for issue in report.errors] == [("line 3", "invalid JSON")]


def test_folder_reads_json_only(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", ci_item())
    nested = tmp_path / "eu-west-1"
    nested.mkdir()
    (nested / "b.json.gz").write_bytes(gzip.compress(json.dumps(ci_item(ARN="arn:aws:s3:::b")).encode()))
    (tmp_path / "README.txt").write_text("not an export", encoding="utf-8")

    resources, report = import_all(tmp_path)

    assert report.errors == []
    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket", "arn:aws:s3:::b"]
    assert resources[1].source == f"file:{nested / 'b.json.gz'}"


def test_stdin_gzip_read() -> None:
    script = ("from ridgeline.imports import ImportReport, iter_aws_config_items\n"
              "report = ImportReport()\n"
              "for resource in iter_aws_config_items('-', report):\n"
              "    print(resource.id, resource.source)\n"
              "print(len(report.errors))\n")
    completed = subprocess.run([sys.executable, "-c", script], input=gzip.compress(json.dumps(ci_item()).encode()),
                               capture_output=True, check=True, timeout=60)

    assert completed.stdout.decode().splitlines() == ["arn:aws:s3:::logs-bucket file:<stdin>", "0"]


def test_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        import_all(tmp_path / "absent.json")


# Malformed input ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("item", "location", "message"), [
    ({"resourceId": "x", "awsRegion": "eu-west-1"}, "item 1", "missing resourceType"),
    ("{broken", "item 1", "query result is not valid JSON"),
    (42, "item 1", "expected a configuration item object, found a number"),
    (ci_item(ARN=None, resourceId=None), "item 1", "has neither arn nor resourceId"),
    (ci_item(awsAccountId=None), "item 1", "missing accountId"),
    (ci_item(awsRegion=None), "item 1", "missing awsRegion"),
])
def test_bad_item_keeps_others(tmp_path: Path, item: Any, location: str, message: str) -> None:
    path = write_json(tmp_path / "snapshot.json",
                      {"configurationItems": [ci_item(), item, ci_item(ARN="arn:aws:s3:::third")]})

    resources, report = import_all(path)

    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket", "arn:aws:s3:::third"]
    assert len(report.errors) == 1
    assert report.errors[0].file == str(path)
    assert report.errors[0].location == location
    assert message in report.errors[0].message
    assert report.errors[0].describe().startswith(f"{path}, {location}: ")


def test_configuration_not_json_marks_error(tmp_path: Path) -> None:
    items = [ci_item(configuration="{not json"), ci_item(ARN="arn:aws:s3:::second")]

    resources, report = import_all(write_json(tmp_path / "items.json", items))

    # The item stays, with its configuration marked unknown, so rules report ERROR instead of PASS.
    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket", "arn:aws:s3:::second"]
    assert resources[0].configuration == {}
    assert resources[0].errors["configuration"].startswith("is not valid JSON")
    assert len(report.errors) == 1
    assert report.errors[0].location == "item 0"
    assert "configuration is not valid JSON" in report.errors[0].message


def test_unknown_configuration_gives_rule_error(tmp_path: Path, builtin_rules: list[Rule]) -> None:
    item = ci_item(resourceType="AWS::EC2::SecurityGroup",
                   ARN="arn:aws:ec2:eu-west-1:111122223333:security-group/sg-1", configuration="{not json")
    resources, _ = import_all(write_json(tmp_path / "sg.json", item))
    coverage = [Coverage(provider="aws", account="111122223333", region="eu-west-1", service="ec2")]

    findings = [finding for finding in Engine(builtin_rules).evaluate(resources, coverage)
                if finding.resource_id == resources[0].id]

    assert findings
    assert {finding.status.value for finding in findings} == {"ERROR"}


@pytest.mark.parametrize(("content", "message"), [
    (b'"just a string"', "expected a JSON object or array"),
    (b'{"something": "else"}', "not an AWS Config export"),
    (b'{"configurationItems": {}}', "configurationItems must be a JSON array"),
    (b'{"resourceIdentifiers": []}', "ListDiscoveredResources"),
    (b"\x1f\x8b not really gzip", "could not read the file"),
])
def test_bad_file_named(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "a_bad.json"
    bad.write_bytes(content)
    write_json(tmp_path / "b_good.json", ci_item())

    resources, report = import_all(tmp_path)

    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket"]
    assert len(report.errors) == 1
    assert report.errors[0].file == str(bad)
    assert report.errors[0].location == ""
    assert message in report.errors[0].message


def test_invalid_json_named_at_line_and_item(tmp_path: Path) -> None:
    bad = tmp_path / "a_bad.json"
    bad.write_bytes(b'{"configurationItems": [')
    write_json(tmp_path / "b_good.json", ci_item())

    resources, report = import_all(tmp_path)

    assert [resource.id for resource in resources] == ["arn:aws:s3:::logs-bucket"]
    assert [(issue.file, issue.location) for issue in report.errors] == [(str(bad), "line 1, item 0")]
    assert report.errors[0].message.startswith("invalid JSON")
