"""CloudTrail records to the resources they change, on the record shapes CloudTrail documents."""

from __future__ import annotations

import json

import pytest

from ridgeline.watch.aws import CloudTrailParser, values_at
from ridgeline.watch.aws_mappings import EVENT_MAP, event_specs
from ridgeline.watch.events import ALL, MalformedEvent, ReceivedMessage, Target
from tests.watch.conftest import ACCOUNT, cloudtrail_event

PARSER = CloudTrailParser(ACCOUNT, ["us-east-1", "eu-west-1"])


def parse(body: str) -> list[Target]:
    result = PARSER(ReceivedMessage(message_id="m-1", body=body, receipt=None))
    assert result.unknown is None, result.unknown
    assert result.skipped is None, result.skipped
    return [target for event in result.events for target in event.targets]


def target(type_name: str, key: str, region: str = "us-east-1", delete: bool = False) -> Target:
    return Target(provider="aws", account=ACCOUNT, region=region, type=type_name, key=key, delete=delete)


CASES = [
    ("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "logs"}, None,
     [target("AWS::S3::Bucket", "logs")]),
    ("s3.amazonaws.com", "DeleteBucket", {"bucketName": "logs"}, None,
     [target("AWS::S3::Bucket", "logs", delete=True)]),
    ("s3.amazonaws.com", "PutPublicAccessBlock", {"bucketName": "logs"}, None,
     [target("AWS::S3::Bucket", "logs")]),
    ("s3.amazonaws.com", "PutPublicAccessBlock", {"PublicAccessBlockConfiguration": {}}, None,
     [target("AWS::S3::AccountPublicAccessBlock", ACCOUNT, region="global")]),
    ("s3.amazonaws.com", "PutAccountPublicAccessBlock", {}, None,
     [target("AWS::S3::AccountPublicAccessBlock", ACCOUNT, region="global")]),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": "sg-0a1b"}, None,
     [target("AWS::EC2::SecurityGroup", "sg-0a1b")]),
    ("ec2.amazonaws.com", "CreateSecurityGroup", {"groupName": "web"}, {"_return": True, "groupId": "sg-9"},
     [target("AWS::EC2::SecurityGroup", "sg-9")]),
    ("ec2.amazonaws.com", "DeleteSecurityGroup", {"groupId": "sg-9"}, None,
     [target("AWS::EC2::SecurityGroup", "sg-9", delete=True)]),
    ("ec2.amazonaws.com", "ModifySecurityGroupRules",
     {"ModifySecurityGroupRulesRequest": {"GroupId": "sg-7", "SecurityGroupRule": {"tag": 1}}}, None,
     [target("AWS::EC2::SecurityGroup", "sg-7")]),
    ("ec2.amazonaws.com", "RunInstances", {"instanceType": "t3.micro"},
     {"instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}},
     [target("AWS::EC2::Instance", "i-1"), target("AWS::EC2::Instance", "i-2")]),
    ("ec2.amazonaws.com", "TerminateInstances", {"instancesSet": {"items": [{"instanceId": "i-1"}]}}, None,
     [target("AWS::EC2::Instance", "i-1", delete=True)]),
    ("ec2.amazonaws.com", "ModifySnapshotAttribute",
     {"snapshotId": "snap-1", "attributeType": "CREATE_VOLUME_PERMISSION"}, None,
     [target("AWS::EC2::Snapshot", "snap-1")]),
    ("ec2.amazonaws.com", "EnableEbsEncryptionByDefault", {}, {"ebsEncryptionByDefault": True},
     [target("AWS::EC2::EbsDefaultEncryption", ALL)]),
    ("ec2.amazonaws.com", "CreateFlowLogs", {"CreateFlowLogsRequest": {"ResourceId": {"content": "vpc-1"}}}, None,
     [target("AWS::EC2::VPC", ALL)]),
    ("ec2.amazonaws.com", "CreateTags",
     {"resourcesSet": {"items": [{"resourceId": "sg-1"}, {"resourceId": "vol-2"}, {"resourceId": "ami-3"}]}}, None,
     [target("AWS::EC2::SecurityGroup", "sg-1"), target("AWS::EC2::Volume", "vol-2")]),
    ("iam.amazonaws.com", "CreateAccessKey", {"userName": "alice"}, None,
     [target("AWS::IAM::User", "alice", region="global")]),
    ("iam.amazonaws.com", "CreateAccessKey", {}, None,
     [target("AWS::IAM::User", "deployer", region="global")]),
    ("iam.amazonaws.com", "DeleteUser", {"userName": "alice"}, None,
     [target("AWS::IAM::User", "alice", region="global", delete=True)]),
    ("iam.amazonaws.com", "AddUserToGroup", {"userName": "alice", "groupName": "admins"}, None,
     [target("AWS::IAM::User", "alice", region="global"), target("AWS::IAM::Group", "admins", region="global")]),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy", {"roleName": "ci"}, None,
     [target("AWS::IAM::Role", "ci", region="global")]),
    ("iam.amazonaws.com", "CreatePolicyVersion", {"policyArn": "arn:aws:iam::123456789012:policy/p"}, None,
     [target("AWS::IAM::Policy", "arn:aws:iam::123456789012:policy/p", region="global")]),
    ("rds.amazonaws.com", "ModifyDBInstance", {"dBInstanceIdentifier": "db1", "publiclyAccessible": True}, None,
     [target("AWS::RDS::DBInstance", "db1")]),
    ("rds.amazonaws.com", "ModifyDBSnapshotAttribute",
     {"dBSnapshotIdentifier": "snap1", "attributeName": "restore", "valuesToAdd": ["all"]}, None,
     [target("AWS::RDS::DBSnapshot", "snap1")]),
    ("rds.amazonaws.com", "AddTagsToResource", {"resourceName": "arn:aws:rds:us-east-1:123456789012:db:db1"}, None,
     [target("AWS::RDS::DBInstance", "arn:aws:rds:us-east-1:123456789012:db:db1")]),
    ("kms.amazonaws.com", "DisableKeyRotation", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}, None,
     [target("AWS::KMS::Key", "1234abcd-12ab-34cd-56ef-1234567890ab")]),
    ("kms.amazonaws.com", "CreateKey", {"keyUsage": "ENCRYPT_DECRYPT"}, {"keyMetadata": {"keyId": "k-1"}},
     [target("AWS::KMS::Key", "k-1")]),
    ("cloudtrail.amazonaws.com", "StopLogging", {"name": "main"}, None,
     [target("AWS::CloudTrail::Trail", "main")]),
    ("cloudtrail.amazonaws.com", "DeleteTrail", {"name": "main"}, None,
     [target("AWS::CloudTrail::Trail", "main", delete=True)]),
    ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", {"functionName": "api"}, None,
     [target("AWS::Lambda::Function", "api")]),
    ("lambda.amazonaws.com", "AddPermission20150331v2", {"functionName": "api", "principal": "*"}, None,
     [target("AWS::Lambda::Function", "api")]),
    ("lambda.amazonaws.com", "DeleteFunction20150331", {"functionName": "api"}, None,
     [target("AWS::Lambda::Function", "api", delete=True)]),
    ("elasticfilesystem.amazonaws.com", "CreateFileSystem", {"encrypted": False}, {"fileSystemId": "fs-1"},
     [target("AWS::EFS::FileSystem", "fs-1")]),
    ("config.amazonaws.com", "StopConfigurationRecorder", {"configurationRecorderName": "default"}, None,
     [target("AWS::Config::ConfigurationRecorder", ALL)]),
]


@pytest.mark.parametrize(("source", "name", "request_parameters", "response", "expected"), CASES,
                         ids=[f"{case[1]}-{index}" for index, case in enumerate(CASES)])
def test_event_names_map_to_targets(source: str, name: str, request_parameters: dict[str, object],
                                    response: dict[str, object] | None, expected: list[Target]) -> None:
    assert parse(cloudtrail_event(source, name, request_parameters, response)) == expected


def test_every_mapped_type_is_collected() -> None:
    from ridgeline.watch.aws import type_services
    from ridgeline.watch.aws_mappings import TYPE_RESOLVERS

    collected = set(type_services())
    for source, table in EVENT_MAP.items():
        for name, specs in table.items():
            for spec in specs:
                assert spec.type in collected or spec.type in TYPE_RESOLVERS, f"{source} {name}: {spec.type}"


def test_failed_call_is_skipped() -> None:
    body = cloudtrail_event("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "b"}, error_code="AccessDenied")
    assert PARSER(ReceivedMessage("m", body, None)).skipped == "failed-call"


def test_other_account_is_skipped() -> None:
    body = cloudtrail_event("s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "b"}, account="210987654321")
    assert PARSER(ReceivedMessage("m", body, None)).skipped == "other-account"


def test_unwatched_region_is_skipped() -> None:
    body = cloudtrail_event("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": "sg-1"},
                            region="ap-south-1")
    assert PARSER(ReceivedMessage("m", body, None)).skipped == "other-region"


def test_global_service_ignores_event_region() -> None:
    body = cloudtrail_event("iam.amazonaws.com", "CreateUser", {"userName": "bob"}, region="ap-south-1")
    assert parse(body) == [target("AWS::IAM::User", "bob", region="global")]


def test_unknown_event_is_reported() -> None:
    body = cloudtrail_event("s3.amazonaws.com", "GetBucketPolicy", {"bucketName": "b"})
    assert PARSER(ReceivedMessage("m", body, None)).unknown == "s3.amazonaws.com GetBucketPolicy"
    body = cloudtrail_event("dynamodb.amazonaws.com", "CreateTable", {"tableName": "t"})
    assert PARSER(ReceivedMessage("m", body, None)).unknown == "dynamodb.amazonaws.com CreateTable"


def test_sns_wrapped_event_is_read() -> None:
    inner = cloudtrail_event("s3.amazonaws.com", "PutBucketAcl", {"bucketName": "b"})
    body = json.dumps({"Type": "Notification", "MessageId": "n-1", "Message": inner})
    assert parse(body) == [target("AWS::S3::Bucket", "b")]


def test_bare_cloudtrail_record_is_read() -> None:
    record = json.loads(cloudtrail_event("s3.amazonaws.com", "PutBucketAcl", {"bucketName": "b"}))["detail"]
    assert parse(json.dumps(record)) == [target("AWS::S3::Bucket", "b")]


def test_missing_id_is_skipped() -> None:
    body = cloudtrail_event("s3.amazonaws.com", "PutBucketPolicy", {})
    assert PARSER(ReceivedMessage("m", body, None)).skipped == "no-resource-id"


@pytest.mark.parametrize("body", ["", "{", "null", "[]", '{"a": 1}', '{"detail-type": "AWS API Call via CloudTrail"}',
                                  '{"detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "X"}}'])
def test_malformed_bodies_raise(body: str) -> None:
    with pytest.raises(MalformedEvent):
        PARSER(ReceivedMessage("m", body, None))


def test_values_at_steps_into_lists() -> None:
    record = {"a": {"items": [{"id": "x"}, {"id": "y"}, {"other": 1}]}, "b": 5}
    assert values_at(record, "a.items[].id") == ["x", "y"]
    assert values_at(record, "b") == ["5"]
    assert values_at(record, "a.missing[].id") == []


def test_api_version_suffix_is_removed() -> None:
    assert event_specs("lambda.amazonaws.com", "CreateFunction20150331") == event_specs(
        "lambda.amazonaws.com", "CreateFunction")
    assert event_specs("lambda.amazonaws.com", "Invoke") is None


def test_lambda_qualifiers_are_removed() -> None:
    from ridgeline.providers.aws.collectors.awslambda import unqualified

    arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    assert unqualified("api") == "api"
    assert unqualified("api:prod") == "api"
    assert unqualified(arn) == arn
    assert unqualified(arn + ":7") == arn
