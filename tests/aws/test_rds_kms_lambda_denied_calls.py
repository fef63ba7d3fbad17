"""Denied RDS, KMS and Lambda calls make ERROR findings for the rules that need the data, never PASS."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ridgeline.model.finding import Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness
from ridgeline.pipeline import ScanResult, evaluate_collection
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.rules.engine import Engine, ResourceIndex
from tests.conftest import AwsAccount, findings_of, restricted_user_keys, set_moto_auth, status_of

ACCOUNT = "123456789012"

Scanner = Callable[[str, list[str]], ScanResult]


@pytest.fixture
def scan_denied(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scanner]:
    """Scan one service as a user allowed everything except the given actions."""

    def scan(service: str, denied_actions: list[str]) -> ScanResult:
        for name, value in restricted_user_keys(aws, denied_actions).items():
            monkeypatch.setenv(name, value)
        set_moto_auth(aws.endpoint, "0")
        collection = collect_aws(AwsScanOptions(regions=["us-east-1"], services=[service]))
        return evaluate_collection(collection, aws.rules, store=None)

    try:
        yield scan
    finally:
        set_moto_auth(aws.endpoint, "inf")


def test_denied_snapshot_attributes_error(aws: AwsAccount, scan_denied: Scanner) -> None:
    rds = aws.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="db", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="dbadmin", MasterUserPassword="not-a-real-password", AllocatedStorage=20)
    rds.create_db_snapshot(DBSnapshotIdentifier="snapshot", DBInstanceIdentifier="db")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="snapshot", AttributeName="restore", ValuesToAdd=["all"])

    result = scan_denied("rds", ["rds:DescribeDBSnapshotAttributes", "rds:DescribeDBClusters"])

    public = findings_of(result, "aws-rds-snapshot-public")
    assert [finding.status for finding in public] == [Status.ERROR]
    assert "rds:DescribeDBSnapshotAttributes" in public[0].message
    assert status_of(result, "aws-rds-snapshot-shared", "snapshot") is Status.ERROR
    # Rules that read only what was collected are still judged.
    assert status_of(result, "aws-rds-snapshot-encrypted", "snapshot") is Status.FAIL
    assert status_of(result, "aws-rds-storage-encrypted", "db") is Status.FAIL
    # Clusters could not be listed: their rules are ERROR for the region instead of silent.
    [unit] = result.collection.coverage
    assert unit.status is Completeness.PARTIAL
    assert "AWS::RDS::DBCluster" in unit.failed_types
    scope_errors = [finding for finding in findings_of(result, "aws-rds-deletion-protection")
                    if finding.status is Status.ERROR]
    assert scope_errors
    assert "rds:DescribeDBClusters" in scope_errors[0].message


def test_denied_key_details_error(aws: AwsAccount, scan_denied: Scanner) -> None:
    kms = aws.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]

    result = scan_denied("kms", ["kms:GetKeyRotationStatus", "kms:GetKeyPolicy"])

    rotation = findings_of(result, "aws-kms-key-rotation")
    assert [finding.status for finding in rotation] == [Status.ERROR]
    assert "kms:GetKeyRotationStatus" in rotation[0].message
    assert status_of(result, "aws-kms-key-policy-public", key) is Status.ERROR
    assert status_of(result, "aws-kms-key-pending-deletion", key) is Status.PASS


def test_denied_describe_key_errors_all_rules(aws: AwsAccount, scan_denied: Scanner) -> None:
    key = aws.client("kms").create_key()["KeyMetadata"]["KeyId"]

    result = scan_denied("kms", ["kms:DescribeKey"])

    for rule_id in ("aws-kms-key-rotation", "aws-kms-key-policy-public", "aws-kms-key-pending-deletion"):
        findings = findings_of(result, rule_id)
        assert [finding.status for finding in findings] == [Status.ERROR], rule_id
        assert findings[0].resource_name == key
        assert "kms:DescribeKey" in findings[0].message


def test_unread_function_policy_errors(aws: AwsAccount) -> None:
    # moto 5.2's IAM enforcement rejects every Lambda request with SignatureDoesNotMatch, even for a user
    # allowed everything, so the denied calls are written into a hand-built function the way the
    # collector records them.
    function = Resource(
        provider="aws", account=ACCOUNT, region="us-east-1", type="AWS::Lambda::Function",
        id=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:legacy", name="legacy",
        configuration={"functionName": "legacy", "runtime": "python3.8"},
        supplementary={},
        errors={
            "supplementaryConfiguration.Policy": "AccessDeniedException on lambda:GetPolicy: denied",
            "supplementaryConfiguration.FunctionUrlConfigs":
                "AccessDeniedException on lambda:GetFunctionUrlConfig: denied",
        },
    )
    engine = Engine(aws.rules)
    index = ResourceIndex([function])
    findings = {rule_id: engine.evaluate_resource(engine.rules_by_id[rule_id], function, index)
                for rule_id in ("aws-lambda-function-policy-public", "aws-lambda-function-url-auth",
                                "aws-lambda-deprecated-runtime")}

    assert findings["aws-lambda-function-policy-public"].status is Status.ERROR
    assert "lambda:GetPolicy" in findings["aws-lambda-function-policy-public"].message
    assert findings["aws-lambda-function-url-auth"].status is Status.ERROR
    assert "lambda:GetFunctionUrlConfig" in findings["aws-lambda-function-url-auth"].message
    # The runtime was read, so its rule is still judged.
    assert findings["aws-lambda-deprecated-runtime"].status is Status.FAIL
