"""The Lambda collector against moto's server: AWS Config shapes, API calls, and secrets kept out of storage."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ridgeline.model.redaction import REDACTED
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.collectors.awslambda import function_configuration
from ridgeline.providers.aws.scanner import AwsScanOptions, Collection, collect_aws
from ridgeline.providers.aws.session import AwsSession
from ridgeline.report import renderers, write_reports
from ridgeline.store.database import Store
from tests.aws.test_lambda_rules import create_function, lambda_role
from tests.conftest import AwsAccount

ACCOUNT = "123456789012"
SECRET = "pw-7f3a9c-must-never-leave"


def _collect(regions: list[str], recorder: CallRecorder | None = None) -> Collection:
    return collect_aws(AwsScanOptions(regions=regions, services=["lambda"]),
                       session=AwsSession(recorder=recorder))


def test_function_keeps_aws_config_shape(aws: AwsAccount) -> None:
    role = lambda_role(aws)
    arn = create_function(aws, role, "orders", Tags={"team": "payments"},
                          VpcConfig={"SubnetIds": ["subnet-0a1b"], "SecurityGroupIds": ["sg-0c2d"]},
                          Environment={"Variables": {"TABLE_NAME": "orders"}})
    client = aws.client("lambda")
    client.add_permission(FunctionName="orders", StatementId="FromBucket", Action="lambda:InvokeFunction",
                          Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::event-bucket")
    client.create_function_url_config(FunctionName="orders", AuthType="AWS_IAM")

    collection = _collect(["us-east-1"])

    [function] = collection.resources
    assert function.type == "AWS::Lambda::Function"
    assert function.id == arn
    assert function.name == "orders"
    assert function.configuration["functionName"] == "orders"
    assert function.configuration["runtime"] == "python3.12"
    assert function.configuration["vpcConfig"]["securityGroupIds"] == ["sg-0c2d"]
    assert function.configuration["environment"]["variables"] == {"TABLE_NAME": REDACTED}
    assert json.loads(function.supplementary["Policy"])["Statement"][0]["Sid"] == "FromBucket"
    [url] = function.supplementary["FunctionUrlConfigs"]
    assert url["authType"] == "AWS_IAM"
    assert function.tags == {"team": "payments"}
    assert {"resourceType": "AWS::IAM::Role", "resourceName": "function-role",
            "relationshipName": "Is associated with "} in function.relationships
    assert {"resourceType": "AWS::EC2::Subnet", "resourceId": "subnet-0a1b",
            "relationshipName": "Is contained in "} in function.relationships
    assert function.errors == {}


def test_function_without_policy_or_url(aws: AwsAccount) -> None:
    create_function(aws, lambda_role(aws), "plain")

    collection = _collect(["us-east-1"])

    [function] = collection.resources
    assert function.supplementary == {"Policy": None, "FunctionUrlConfigs": []}
    assert "environment" not in function.configuration
    assert function.errors == {}


def test_calls_per_function_are_made_once(aws: AwsAccount) -> None:
    role = lambda_role(aws)
    for name in ("first", "second"):
        create_function(aws, role, name)
    create_function(aws, role, "european", region="eu-west-1")
    client = aws.client("lambda")
    client.publish_version(FunctionName="first")
    client.create_alias(FunctionName="first", Name="live", FunctionVersion="1")
    recorder = CallRecorder()

    collection = _collect(["us-east-1", "eu-west-1"], recorder)

    assert sorted(resource.name for resource in collection.resources) == ["european", "first", "second"]
    counts = recorder.counts
    assert counts[("lambda", "ListFunctions")] == 2
    assert counts[("lambda", "GetPolicy")] == 3
    assert counts[("lambda", "ListAliases")] == 3
    assert counts[("lambda", "ListTags")] == 3
    # One URL lookup per function, plus one for the alias "live".
    assert counts[("lambda", "GetFunctionUrlConfig")] == 4


def test_environment_variable_names_keep_their_spelling() -> None:
    configuration = function_configuration({
        "FunctionName": "orders",
        "Environment": {"Variables": {"DB_PASSWORD": "x", "table": "y"}, "Error": {"ErrorCode": "E"}},
    })

    assert configuration["functionName"] == "orders"
    assert configuration["environment"]["variables"] == {"DB_PASSWORD": "x", "table": "y"}
    assert configuration["environment"]["error"] == {"errorCode": "E"}


def test_secrets_absent_from_storage_and_reports(aws: AwsAccount, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    create_function(aws, lambda_role(aws), "with-secrets", runtime="python3.8",
                    Environment={"Variables": {"DB_PASSWORD": SECRET, "UPSTREAM_URL": f"https://u:{SECRET}@host"}})
    caplog.set_level(logging.DEBUG, logger="ridgeline")
    database = tmp_path / "ridgeline.db"
    store = Store(f"sqlite:///{database}")

    collection = _collect(["us-east-1"])
    result = evaluate_collection(collection, aws.rules, store=store)
    reports = write_reports(result, list(renderers()), tmp_path / "reports")

    [function] = collection.resources
    assert function.configuration["environment"]["variables"] == {"DB_PASSWORD": REDACTED, "UPSTREAM_URL": REDACTED}
    [stored] = store.load_resources(result.scan.id)
    assert stored.configuration["environment"]["variables"] == {"DB_PASSWORD": REDACTED, "UPSTREAM_URL": REDACTED}
    assert SECRET.encode() not in database.read_bytes()
    assert reports
    for report in reports:
        assert SECRET.encode() not in report.read_bytes(), report.name
    # Only Ridgeline's own messages: botocore's DEBUG log prints whole response bodies.
    ridgeline_messages = [record.getMessage() for record in caplog.records if record.name.startswith("ridgeline")]
    assert ridgeline_messages
    assert not [message for message in ridgeline_messages if SECRET in message]
    # The scan still judged the function, so the secret was absent because it was redacted, not skipped.
    judged = [finding.resource_name for finding in result.findings
              if finding.rule_id == "aws-lambda-deprecated-runtime"]
    assert judged == ["with-secrets"]
