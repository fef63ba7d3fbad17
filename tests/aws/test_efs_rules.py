"""EFS collector and rules against moto's server: an unencrypted file system and an encrypted twin."""

from __future__ import annotations

from ridgeline.model.finding import Status
from tests.conftest import AwsAccount, finding_for, status_of

ACCOUNT = AwsAccount.account_id


def test_collector_records_file_system_shape_and_tags(aws: AwsAccount) -> None:
    efs = aws.client("efs", "eu-west-1")
    created = efs.create_file_system(CreationToken="shared", Encrypted=True,
                                     Tags=[{"Key": "Name", "Value": "shared"}, {"Key": "team", "Value": "data"}])

    result = aws.scan(["efs"], regions=["us-east-1", "eu-west-1"])

    [resource] = result.collection.resources
    assert resource.type == "AWS::EFS::FileSystem"
    assert resource.id == f"arn:aws:elasticfilesystem:eu-west-1:{ACCOUNT}:file-system/{created['FileSystemId']}"
    assert resource.name == "shared"
    assert resource.region == "eu-west-1"
    assert resource.configuration["fileSystemId"] == created["FileSystemId"]
    assert resource.configuration["encrypted"] is True
    assert resource.configuration["creationTime"].endswith("Z")
    assert "tags" not in resource.configuration
    assert resource.tags == {"Name": "shared", "team": "data"}
    assert [unit.region for unit in result.collection.coverage] == ["eu-west-1", "us-east-1"]


def test_unencrypted_file_system_fails_and_encrypted_passes(aws: AwsAccount) -> None:
    efs = aws.client("efs")
    efs.create_file_system(CreationToken="plain", Encrypted=False, Tags=[{"Key": "Name", "Value": "plain"}])
    efs.create_file_system(CreationToken="sealed", Encrypted=True, Tags=[{"Key": "Name", "Value": "sealed"}])

    result = aws.scan(["efs"])

    failing = finding_for(result, "aws-efs-file-system-encrypted", "plain")
    assert failing.status is Status.FAIL
    assert failing.resource_type == "AWS::EFS::FileSystem"
    assert failing.resource_id.startswith(f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/fs-")
    assert failing.evidence["configuration.encrypted"] is False
    assert failing.message == "EFS file system plain does not encrypt its data at rest."
    assert status_of(result, "aws-efs-file-system-encrypted", "sealed") is Status.PASS
