"""Demo Lambda functions: one anyone can invoke, one with an unauthenticated function URL, one on a
deprecated runtime with a secret in its environment (which the scan redacts), and a secured twin."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from ridgeline.demo.emulator import DEMO_ACCOUNT, emulator_client

_HANDLER = "def handler(event, context):\n    return {'statusCode': 200}\n"


def seed(endpoint: str) -> int:
    """Create the demo functions and their execution role, and return how many resources."""
    role = _execution_role(endpoint)
    us = emulator_client(endpoint, "lambda")
    eu = emulator_client(endpoint, "lambda", "eu-west-1")

    _function(us, "demo-public-invoke", role)
    us.add_permission(FunctionName="demo-public-invoke", StatementId="AnyoneCanInvoke",
                      Action="lambda:InvokeFunction", Principal="*")

    _function(us, "demo-open-url", role)
    us.create_function_url_config(FunctionName="demo-open-url", AuthType="NONE")

    # The value looks like a secret on purpose: the scan must store and report only its name.
    _function(us, "demo-legacy-runtime", role, runtime="python3.8",
              Environment={"Variables": {"DB_PASSWORD": "demo-secret-never-shown", "STAGE": "demo"}})

    _function(eu, "demo-secure-function", role)
    # Only S3 events of the secured data bucket in this region (created by the s3 seed) may invoke it.
    eu.add_permission(FunctionName="demo-secure-function", StatementId="FromSecureDataBucket",
                      Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
                      SourceArn="arn:aws:s3:::demo-secure-data", SourceAccount=DEMO_ACCOUNT)
    eu.create_function_url_config(FunctionName="demo-secure-function", AuthType="AWS_IAM")
    return 5


def _execution_role(endpoint: str) -> str:
    # moto, like Lambda, accepts only an existing role that Lambda may assume.
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "lambda.amazonaws.com"}}]}
    iam = emulator_client(endpoint, "iam")
    response = iam.create_role(RoleName="demo-lambda-execution", AssumeRolePolicyDocument=json.dumps(trust),
                               Description="Execution role of the demo Lambda functions")
    return str(response["Role"]["Arn"])


def _function(client: Any, name: str, role: str, runtime: str = "python3.12", **settings: Any) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("index.py", _HANDLER)
    client.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler="index.handler",
                           Code={"ZipFile": archive.getvalue()}, Tags={"demo": name}, **settings)
