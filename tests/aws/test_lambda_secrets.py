"""The Lambda environment-secrets rule against moto's server: names decide, values never leave."""

from __future__ import annotations

import io
import json
import zipfile

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, finding_for, status_of


def _archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _function(aws: AwsAccount, name: str, variables: dict[str, str]) -> None:
    iam = aws.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    aws.client("lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                                         Code={"ZipFile": _archive()}, Environment={"Variables": variables})


def test_secret_named_variable_fails_and_reference_passes(aws: AwsAccount) -> None:
    _function(aws, "leaky", {"DB_PASSWORD": "hunter2-plaintext", "STAGE": "prod"})
    _function(aws, "tidy", {"DB_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
                            "STAGE": "prod"})

    result = aws.scan(["lambda"])

    failing = finding_for(result, "aws-lambda-environment-secrets", "leaky")
    assert failing.status is Status.FAIL
    assert "DB_PASSWORD" in failing.evidence["aws.secret_like_variables"]
    assert "hunter2" not in json.dumps(failing.evidence)
    assert status_of(result, "aws-lambda-environment-secrets", "tidy") is Status.PASS
    leaky = next(r for r in result.collection.resources if r.name == "leaky")
    assert "hunter2" not in json.dumps(leaky.to_dict())
