"""Lambda rules against moto's server: a failing function and a passing twin for each rule."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, finding_for, status_of

ACCOUNT = "123456789012"


def lambda_role(aws: AwsAccount) -> str:
    """Create an execution role that Lambda can assume, which moto requires, and return its ARN."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = aws.client("iam").create_role(RoleName="function-role", AssumeRolePolicyDocument=json.dumps(trust))
    return str(role["Role"]["Arn"])


def create_function(aws: AwsAccount, role: str, name: str, runtime: str = "python3.12", region: str = "us-east-1",
                    **settings: Any) -> str:
    """Create a function with a one-line handler and return its ARN."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("index.py", "def handler(event, context):\n    return event\n")
    response = aws.client("lambda", region).create_function(
        FunctionName=name, Runtime=runtime, Role=role, Handler="index.handler",
        Code={"ZipFile": archive.getvalue()}, **settings)
    return str(response["FunctionArn"])


def test_function_policy_public(aws: AwsAccount) -> None:
    client = aws.client("lambda")
    role = lambda_role(aws)
    public_arn = create_function(aws, role, "public-invoke")
    client.add_permission(FunctionName="public-invoke", StatementId="Anyone", Action="lambda:InvokeFunction",
                          Principal="*")
    create_function(aws, role, "bucket-events")
    client.add_permission(FunctionName="bucket-events", StatementId="FromBucket", Action="lambda:InvokeFunction",
                          Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::event-bucket",
                          SourceAccount=ACCOUNT)
    create_function(aws, role, "account-only")
    client.add_permission(FunctionName="account-only", StatementId="OwnAccount", Action="lambda:InvokeFunction",
                          Principal="*", SourceAccount=ACCOUNT)
    create_function(aws, role, "no-policy")

    result = aws.scan(["lambda"])

    failing = finding_for(result, "aws-lambda-function-policy-public", "public-invoke")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::Lambda::Function"
    assert failing.resource_id == public_arn
    assert "Anyone" in failing.evidence["aws.policy_public"]
    for name in ("bucket-events", "account-only", "no-policy"):
        assert status_of(result, "aws-lambda-function-policy-public", name) is Status.PASS, name


def test_function_url_auth_none(aws: AwsAccount) -> None:
    client = aws.client("lambda")
    role = lambda_role(aws)
    create_function(aws, role, "open-url")
    client.create_function_url_config(FunctionName="open-url", AuthType="NONE")
    create_function(aws, role, "iam-url")
    client.create_function_url_config(FunctionName="iam-url", AuthType="AWS_IAM")
    create_function(aws, role, "no-url")

    result = aws.scan(["lambda"])

    failing = finding_for(result, "aws-lambda-function-url-auth", "open-url")
    assert failing.status is Status.FAIL
    [url] = failing.evidence["supplementaryConfiguration.FunctionUrlConfigs (matching items)"]
    assert url["authType"] == "NONE"
    assert url["functionUrl"].startswith("https://")
    assert status_of(result, "aws-lambda-function-url-auth", "iam-url") is Status.PASS
    assert status_of(result, "aws-lambda-function-url-auth", "no-url") is Status.PASS


@pytest.mark.parametrize(("runtime", "expected"), [
    ("python3.8", Status.FAIL),
    ("nodejs16.x", Status.FAIL),
    ("go1.x", Status.FAIL),
    ("python3.12", Status.PASS),
    ("nodejs22.x", Status.PASS),
    ("provided.al2023", Status.PASS),
])
def test_deprecated_runtime(aws: AwsAccount, runtime: str, expected: Status) -> None:
    create_function(aws, lambda_role(aws), "function", runtime=runtime)

    result = aws.scan(["lambda"])

    finding = finding_for(result, "aws-lambda-deprecated-runtime", "function")
    assert finding.status is expected
    if expected is Status.FAIL:
        assert finding.evidence["configuration.runtime"] == runtime
