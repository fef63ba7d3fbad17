"""Targeted refresh of single resources against moto: the same envelopes as a full scan, and deletions seen."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pytest

from ridgeline.history.diff import diff_values
from ridgeline.model.resource import Resource
from ridgeline.providers.aws.scanner import (
    AwsRefresher,
    AwsScanOptions,
    RefreshOutcome,
    RefreshRequest,
    collect_aws,
    identify_account,
    open_session,
)
from tests.conftest import AwsAccount, restricted_user_keys, set_moto_auth

REGION = "us-east-1"
VOLATILE_PATHS = ("sizeInBytes.timestamp", "latestRestorableTime", "Time", "time")
"""Values moto sets to the time of each call (sizes, restore points, trail delivery times)."""


@pytest.fixture
def refresher(aws: AwsAccount) -> Iterator[AwsRefresher]:
    options = AwsScanOptions(regions=[REGION])
    session = open_session(options)
    account, partition, regions = identify_account(session, options)
    with AwsRefresher(session, account=account, partition=partition, regions=regions) as running:
        yield running


def refresh(refresher: AwsRefresher, service: str, type_name: str, *ids: str,
            region: str = REGION) -> RefreshOutcome:
    [outcome] = refresher.refresh([RefreshRequest(service=service, region=region, targets={type_name: list(ids)})])
    assert outcome.failure is None, outcome.failure
    return outcome


def full_scan(service: str) -> dict[str, Resource]:
    collection = collect_aws(AwsScanOptions(regions=[REGION], services=[service]))
    return {resource.id: resource for resource in collection.resources}


def differences(refreshed: Resource, scanned: Resource) -> list[str]:
    """Return the envelope paths where a refreshed resource differs from the same resource in a full scan."""
    before, after = scanned.to_dict(), refreshed.to_dict()
    for document in (before, after):
        document.pop("collected_at")
    return [f"{change.path}: {change.old!r} -> {change.new!r}" for change in diff_values(before, after)
            if not change.path.endswith(VOLATILE_PATHS)]


def test_bucket_refresh_matches_full_scan(aws: AwsAccount, refresher: AwsRefresher) -> None:
    s3 = aws.client("s3")
    for name in ("data", "data-archive"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})

    outcome = refresh(refresher, "s3", "AWS::S3::Bucket", "data")
    assert not outcome.whole_unit
    assert [resource.id for resource in outcome.resources] == ["arn:aws:s3:::data"]
    scanned = full_scan("s3")["arn:aws:s3:::data"]
    assert differences(outcome.resources[0], scanned) == []

    s3.delete_bucket(Bucket="data")
    outcome = refresh(refresher, "s3", "AWS::S3::Bucket", "data")
    assert outcome.resources == []
    assert outcome.gone == [("AWS::S3::Bucket", "arn:aws:s3:::data")]


def test_account_block_refresh(aws: AwsAccount, refresher: AwsRefresher) -> None:
    outcome = refresh(refresher, "s3", "AWS::S3::AccountPublicAccessBlock", aws.account_id, region="global")
    assert [resource.type for resource in outcome.resources] == ["AWS::S3::AccountPublicAccessBlock"]


def test_security_group_refresh_and_delete(aws: AwsAccount, refresher: AwsRefresher) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])

    outcome = refresh(refresher, "ec2", "AWS::EC2::SecurityGroup", group)
    [resource] = outcome.resources
    assert differences(resource, full_scan("ec2")[resource.id]) == []

    ec2.delete_security_group(GroupId=group)
    outcome = refresh(refresher, "ec2", "AWS::EC2::SecurityGroup", group)
    assert outcome.gone == [("AWS::EC2::SecurityGroup", resource.id)]


def test_ec2_types_by_id(aws: AwsAccount, refresher: AwsRefresher) -> None:
    ec2 = aws.client("ec2")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission",
                                  OperationType="add", GroupNames=["all"])
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    scanned = full_scan("ec2")

    for type_name, key in (("AWS::EC2::Volume", volume), ("AWS::EC2::Snapshot", snapshot),
                           ("AWS::EC2::Instance", instance), ("AWS::EC2::VPC", vpc)):
        [resource] = refresh(refresher, "ec2", type_name, key).resources
        assert differences(resource, scanned[resource.id]) == [], type_name
    [default] = refresh(refresher, "ec2", "AWS::EC2::EbsDefaultEncryption", "*").resources
    assert default.type == "AWS::EC2::EbsDefaultEncryption"

    ec2.terminate_instances(InstanceIds=[instance])
    outcome = refresh(refresher, "ec2", "AWS::EC2::Instance", instance)
    assert outcome.gone == [("AWS::EC2::Instance", f"arn:aws:ec2:{REGION}:{aws.account_id}:instance/{instance}")]


def test_rds_instance_and_snapshot(aws: AwsAccount, refresher: AwsRefresher) -> None:
    rds = aws.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="db1", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="admin", MasterUserPassword="password123", AllocatedStorage=20)
    rds.create_db_snapshot(DBSnapshotIdentifier="snap1", DBInstanceIdentifier="db1")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="snap1", AttributeName="restore", ValuesToAdd=["all"])
    scanned = full_scan("rds")

    [instance] = refresh(refresher, "rds", "AWS::RDS::DBInstance", "db1").resources
    assert differences(instance, scanned[instance.id]) == []
    [snapshot] = refresh(refresher, "rds", "AWS::RDS::DBSnapshot", "snap1").resources
    assert snapshot.supplementary["RestoreAttributes"] == ["all"]
    assert differences(snapshot, scanned[snapshot.id]) == []

    outcome = refresh(refresher, "rds", "AWS::RDS::DBInstance", "gone-db")
    assert outcome.gone == [("AWS::RDS::DBInstance", f"arn:aws:rds:{REGION}:{aws.account_id}:db:gone-db")]


def test_kms_key_by_id_and_alias(aws: AwsAccount, refresher: AwsRefresher) -> None:
    kms = aws.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyId"])
    scanned = full_scan("kms")

    [by_id] = refresh(refresher, "kms", "AWS::KMS::Key", key["KeyId"]).resources
    assert by_id.supplementary["KeyRotationStatus"] is True
    assert differences(by_id, scanned[key["Arn"]]) == []
    [by_alias] = refresh(refresher, "kms", "AWS::KMS::Key", "alias/app").resources
    assert by_alias.id == key["Arn"]


def test_trail_refresh_and_delete(aws: AwsAccount, refresher: AwsRefresher) -> None:
    aws.client("s3").create_bucket(Bucket="trail-logs")
    cloudtrail = aws.client("cloudtrail")
    trail = cloudtrail.create_trail(Name="main", S3BucketName="trail-logs")["TrailARN"]
    cloudtrail.start_logging(Name="main")
    scanned = full_scan("cloudtrail")

    [resource] = refresh(refresher, "cloudtrail", "AWS::CloudTrail::Trail", "main").resources
    assert differences(resource, scanned[trail]) == []
    cloudtrail.delete_trail(Name="main")
    assert refresh(refresher, "cloudtrail", "AWS::CloudTrail::Trail", "main").gone == [
        ("AWS::CloudTrail::Trail", trail)]


def test_lambda_function_refresh(aws: AwsAccount, refresher: AwsRefresher) -> None:
    role = aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    client = aws.client("lambda")
    client.create_function(FunctionName="api", Runtime="python3.12", Role=role, Handler="handler.handler",
                           Code={"ZipFile": archive.getvalue()})
    client.add_permission(FunctionName="api", StatementId="public", Action="lambda:InvokeFunction", Principal="*")

    [resource] = refresh(refresher, "lambda", "AWS::Lambda::Function", "api").resources
    assert "public" in resource.supplementary["Policy"]
    client.delete_function(FunctionName="api")
    assert refresh(refresher, "lambda", "AWS::Lambda::Function", "api").gone == [
        ("AWS::Lambda::Function", resource.id)]


def test_file_system_refresh(aws: AwsAccount, refresher: AwsRefresher) -> None:
    efs = aws.client("efs")
    file_system = efs.create_file_system(CreationToken="fs", Encrypted=False)["FileSystemId"]
    scanned = full_scan("efs")
    [resource] = refresh(refresher, "efs", "AWS::EFS::FileSystem", file_system).resources
    assert differences(resource, scanned[resource.id]) == []
    efs.delete_file_system(FileSystemId=file_system)
    assert refresh(refresher, "efs", "AWS::EFS::FileSystem", file_system).gone == [
        ("AWS::EFS::FileSystem", resource.id)]


def test_service_without_refresh_collects_whole_unit(aws: AwsAccount, refresher: AwsRefresher) -> None:
    aws.client("iam").create_user(UserName="alice")
    assert not refresher.has_targeted_refresh("iam")
    outcome = refresh(refresher, "iam", "AWS::IAM::User", "alice", region="global")
    assert outcome.whole_unit
    assert "arn:aws:iam::123456789012:user/alice" in {resource.id for resource in outcome.resources}
    assert "AWS::IAM::AccountPasswordPolicy" in {resource.type for resource in outcome.resources}


def test_refresh_failure_is_reported(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    group = aws.client("ec2").create_security_group(GroupName="web", Description="web")["GroupId"]
    for name, value in restricted_user_keys(aws, ["ec2:DescribeSecurityGroups"]).items():
        monkeypatch.setenv(name, value)
    set_moto_auth(aws.endpoint, "0")
    try:
        options = AwsScanOptions(regions=[REGION])
        session = open_session(options)
        with AwsRefresher(session, account=aws.account_id, partition="aws", regions=[REGION]) as denied:
            [outcome] = denied.refresh([RefreshRequest(service="ec2", region=REGION,
                                                       targets={"AWS::EC2::SecurityGroup": [group]})])
    finally:
        set_moto_auth(aws.endpoint, "inf")
    assert outcome.failure is not None
    assert "ec2:DescribeSecurityGroups" in outcome.failure
    assert outcome.resources == []
    assert outcome.gone == []
