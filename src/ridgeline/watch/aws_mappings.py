"""Which resources each CloudTrail management event changes: data, one table per event source.

A `TargetSpec` gives the place in the CloudTrail record where the changed resource's id is. Paths are dotted keys
in the record, where `[]` steps into every item of a list (`responseElements.instancesSet.items[].instanceId`).
The first path that yields a value gives the ids. A spec with no path names every resource of its type
in the event's region, for events whose record does not name the resource (flow logs name only the flow
log id) and for settings with one value per region or account. A type written as "by:NAME" is resolved
from each id by the resolver NAME in `TYPE_RESOLVERS` (tags are put on many EC2 resource types).

Events that change nothing Ridgeline collects (reads, data events, services without a collector) are
absent on purpose and count as unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ridgeline.providers.aws.collectors import (
    accessanalyzer,
    account,
    awslambda,
    cloudtrail,
    config,
    ec2,
    efs,
    iam,
    kms,
    monitoring,
    rds,
    s3,
    securityhub,
)


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """The location of one kind of changed resource's id in a CloudTrail record."""

    type: str
    paths: tuple[str, ...] = ()
    delete: bool = False
    """The event deleted the resource, so it is forgotten without being looked up."""

    fallback: bool = False
    """Used only when no earlier spec of the event found an id."""


def _on(type_name: str, *paths: str, delete: bool = False, fallback: bool = False) -> TargetSpec:
    return TargetSpec(type_name, paths, delete, fallback)


def _events(names: Iterable[str], *specs: TargetSpec) -> dict[str, tuple[TargetSpec, ...]]:
    return dict.fromkeys(names, specs)


_BUCKET = "requestParameters.bucketName"
_USER = ("requestParameters.userName", "userIdentity.userName")
"""Access key and MFA calls without a user name act on the calling user."""

_EC2_BY_ID = "by:ec2-id"
_RDS_BY_ARN = "by:rds-arn"

TYPE_RESOLVERS: dict[str, tuple[tuple[re.Pattern[str], str], ...]] = {
    _EC2_BY_ID: (
        (re.compile(r"^sg-"), ec2.SECURITY_GROUP),
        (re.compile(r"^i-"), ec2.INSTANCE),
        (re.compile(r"^vol-"), ec2.VOLUME),
        (re.compile(r"^snap-"), ec2.SNAPSHOT),
        (re.compile(r"^vpc-"), ec2.VPC),
        (re.compile(r"^acl-"), ec2.NETWORK_ACL),
    ),
    _RDS_BY_ARN: (
        (re.compile(r"^arn:[^:]+:rds:[^:]*:[^:]*:db:"), rds.DB_INSTANCE),
        (re.compile(r"^arn:[^:]+:rds:[^:]*:[^:]*:cluster:"), rds.DB_CLUSTER),
        (re.compile(r"^arn:[^:]+:rds:[^:]*:[^:]*:snapshot:"), rds.DB_SNAPSHOT),
        (re.compile(r"^arn:[^:]+:rds:[^:]*:[^:]*:cluster-snapshot:"), rds.DB_CLUSTER_SNAPSHOT),
    ),
}
"""Resolvers for "by:NAME" types: the first pattern that matches an id gives its type; other ids are ignored."""

S3 = {
    **_events(("CreateBucket", "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl", "PutBucketPublicAccessBlock",
               "DeleteBucketPublicAccessBlock", "PutBucketEncryption", "DeleteBucketEncryption",
               "PutBucketVersioning", "PutBucketLogging", "PutBucketOwnershipControls",
               "DeleteBucketOwnershipControls", "PutBucketTagging", "DeleteBucketTagging"),
              _on(s3.BUCKET, _BUCKET)),
    # The API names of the bucket-level calls; with no bucket they are the account-level settings.
    **_events(("PutPublicAccessBlock", "DeletePublicAccessBlock"),
              _on(s3.BUCKET, _BUCKET), _on(s3.ACCOUNT_PUBLIC_ACCESS_BLOCK, "recipientAccountId", fallback=True)),
    **_events(("PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock"),
              _on(s3.ACCOUNT_PUBLIC_ACCESS_BLOCK, "recipientAccountId")),
    "DeleteBucket": (_on(s3.BUCKET, _BUCKET, delete=True),),
}

EC2 = {
    **_events(("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
               "RevokeSecurityGroupEgress", "UpdateSecurityGroupRuleDescriptionsIngress",
               "UpdateSecurityGroupRuleDescriptionsEgress"),
              _on(ec2.SECURITY_GROUP, "requestParameters.groupId",
                  "responseElements.securityGroupRuleSet.items[].groupId")),
    "CreateSecurityGroup": (_on(ec2.SECURITY_GROUP, "responseElements.groupId"),),
    "DeleteSecurityGroup": (_on(ec2.SECURITY_GROUP, "requestParameters.groupId", delete=True),),
    "ModifySecurityGroupRules": (_on(ec2.SECURITY_GROUP, "requestParameters.ModifySecurityGroupRulesRequest.GroupId"),),
    **_events(("CreateTags", "DeleteTags"), _on(_EC2_BY_ID, "requestParameters.resourcesSet.items[].resourceId")),
    "RunInstances": (_on(ec2.INSTANCE, "responseElements.instancesSet.items[].instanceId"),),
    "TerminateInstances": (_on(ec2.INSTANCE, "requestParameters.instancesSet.items[].instanceId", delete=True),),
    **_events(("StartInstances", "StopInstances"),
              _on(ec2.INSTANCE, "requestParameters.instancesSet.items[].instanceId")),
    "ModifyInstanceAttribute": (_on(ec2.INSTANCE, "requestParameters.instanceId"),),
    "ModifyInstanceMetadataOptions": (
        _on(ec2.INSTANCE, "requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId"),),
    "AssociateIamInstanceProfile": (
        _on(ec2.INSTANCE, "requestParameters.AssociateIamInstanceProfileRequest.InstanceId"),),
    # These name the association, not the instance.
    **_events(("ReplaceIamInstanceProfileAssociation", "DisassociateIamInstanceProfile"), _on(ec2.INSTANCE)),
    "CreateVolume": (_on(ec2.VOLUME, "responseElements.volumeId"),),
    "DeleteVolume": (_on(ec2.VOLUME, "requestParameters.volumeId", delete=True),),
    **_events(("AttachVolume", "DetachVolume"),
              _on(ec2.VOLUME, "requestParameters.volumeId"), _on(ec2.INSTANCE, "requestParameters.instanceId")),
    "ModifyVolume": (_on(ec2.VOLUME, "requestParameters.ModifyVolumeRequest.VolumeId"),),
    **_events(("CreateSnapshot", "CopySnapshot"), _on(ec2.SNAPSHOT, "responseElements.snapshotId")),
    "DeleteSnapshot": (_on(ec2.SNAPSHOT, "requestParameters.snapshotId", delete=True),),
    **_events(("ModifySnapshotAttribute", "ResetSnapshotAttribute"), _on(ec2.SNAPSHOT, "requestParameters.snapshotId")),
    **_events(("EnableEbsEncryptionByDefault", "DisableEbsEncryptionByDefault", "ModifyEbsDefaultKmsKeyId",
               "ResetEbsDefaultKmsKeyId"), _on(ec2.EBS_DEFAULT_ENCRYPTION)),
    "CreateVpc": (_on(ec2.VPC, "responseElements.vpc.vpcId"),),
    "DeleteVpc": (_on(ec2.VPC, "requestParameters.vpcId", delete=True),),
    # Flow log events name the flow log, not the VPC it watches.
    **_events(("CreateFlowLogs", "DeleteFlowLogs"), _on(ec2.VPC)),
    "CreateNetworkAcl": (_on(ec2.NETWORK_ACL, "responseElements.networkAcl.networkAclId"),),
    "DeleteNetworkAcl": (_on(ec2.NETWORK_ACL, "requestParameters.networkAclId", delete=True),),
    **_events(("CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry"),
              _on(ec2.NETWORK_ACL, "requestParameters.networkAclId")),
    "ReplaceNetworkAclAssociation": (_on(ec2.NETWORK_ACL),),
}

IAM = {
    **_events(("CreateUser", "UpdateUser", "TagUser", "UntagUser", "AttachUserPolicy", "DetachUserPolicy",
               "PutUserPolicy", "DeleteUserPolicy", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey",
               "CreateLoginProfile", "UpdateLoginProfile", "DeleteLoginProfile", "EnableMFADevice",
               "DeactivateMFADevice", "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary"),
              _on(iam.USER, *_USER)),
    **_events(("AddUserToGroup", "RemoveUserFromGroup"),
              _on(iam.USER, "requestParameters.userName"), _on(iam.GROUP, "requestParameters.groupName")),
    "DeleteUser": (_on(iam.USER, "requestParameters.userName", delete=True),),
    **_events(("CreateGroup", "AttachGroupPolicy", "DetachGroupPolicy", "PutGroupPolicy", "DeleteGroupPolicy"),
              _on(iam.GROUP, "requestParameters.groupName")),
    "DeleteGroup": (_on(iam.GROUP, "requestParameters.groupName", delete=True),),
    **_events(("CreateRole", "UpdateRole", "UpdateAssumeRolePolicy", "AttachRolePolicy", "DetachRolePolicy",
               "PutRolePolicy", "DeleteRolePolicy", "TagRole", "UntagRole", "PutRolePermissionsBoundary",
               "DeleteRolePermissionsBoundary"), _on(iam.ROLE, "requestParameters.roleName")),
    "DeleteRole": (_on(iam.ROLE, "requestParameters.roleName", delete=True),),
    "CreatePolicy": (_on(iam.POLICY, "responseElements.policy.arn"),),
    **_events(("CreatePolicyVersion", "DeletePolicyVersion", "SetDefaultPolicyVersion", "TagPolicy", "UntagPolicy"),
              _on(iam.POLICY, "requestParameters.policyArn")),
    "DeletePolicy": (_on(iam.POLICY, "requestParameters.policyArn", delete=True),),
    **_events(("UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"), _on(iam.PASSWORD_POLICY)),
    **_events(("CreateVirtualMFADevice", "DeleteVirtualMFADevice"), _on(iam.ROOT_USER)),
    **_events(("UploadServerCertificate", "UpdateServerCertificate"),
              _on(iam.SERVER_CERTIFICATE, "requestParameters.serverCertificateName")),
    "DeleteServerCertificate": (_on(iam.SERVER_CERTIFICATE, "requestParameters.serverCertificateName", delete=True),),
}

RDS = {
    **_events(("CreateDBInstance", "ModifyDBInstance", "RebootDBInstance", "StartDBInstance", "StopDBInstance",
               "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime", "CreateDBInstanceReadReplica"),
              _on(rds.DB_INSTANCE, "requestParameters.dBInstanceIdentifier",
                  "requestParameters.targetDBInstanceIdentifier")),
    "DeleteDBInstance": (_on(rds.DB_INSTANCE, "requestParameters.dBInstanceIdentifier", delete=True),),
    **_events(("CreateDBCluster", "ModifyDBCluster", "StartDBCluster", "StopDBCluster",
               "RestoreDBClusterFromSnapshot"), _on(rds.DB_CLUSTER, "requestParameters.dBClusterIdentifier")),
    "DeleteDBCluster": (_on(rds.DB_CLUSTER, "requestParameters.dBClusterIdentifier", delete=True),),
    **_events(("CreateDBSnapshot", "ModifyDBSnapshotAttribute", "ModifyDBSnapshot"),
              _on(rds.DB_SNAPSHOT, "requestParameters.dBSnapshotIdentifier")),
    "CopyDBSnapshot": (_on(rds.DB_SNAPSHOT, "requestParameters.targetDBSnapshotIdentifier"),),
    "DeleteDBSnapshot": (_on(rds.DB_SNAPSHOT, "requestParameters.dBSnapshotIdentifier", delete=True),),
    **_events(("CreateDBClusterSnapshot", "ModifyDBClusterSnapshotAttribute"),
              _on(rds.DB_CLUSTER_SNAPSHOT, "requestParameters.dBClusterSnapshotIdentifier")),
    "CopyDBClusterSnapshot": (_on(rds.DB_CLUSTER_SNAPSHOT, "requestParameters.targetDBClusterSnapshotIdentifier"),),
    "DeleteDBClusterSnapshot": (
        _on(rds.DB_CLUSTER_SNAPSHOT, "requestParameters.dBClusterSnapshotIdentifier", delete=True),),
    **_events(("AddTagsToResource", "RemoveTagsFromResource"), _on(_RDS_BY_ARN, "requestParameters.resourceName")),
}

KMS = {
    "CreateKey": (_on(kms.KEY, "responseElements.keyMetadata.keyId"),),
    **_events(("EnableKeyRotation", "DisableKeyRotation", "PutKeyPolicy", "ScheduleKeyDeletion", "CancelKeyDeletion",
               "EnableKey", "DisableKey", "TagResource", "UntagResource", "UpdateKeyDescription"),
              _on(kms.KEY, "requestParameters.keyId")),
}

CLOUDTRAIL = {
    "CreateTrail": (_on(cloudtrail.TRAIL, "responseElements.trailARN", "requestParameters.name"),),
    **_events(("UpdateTrail", "StartLogging", "StopLogging", "PutEventSelectors", "PutInsightSelectors"),
              _on(cloudtrail.TRAIL, "requestParameters.name", "requestParameters.trailName")),
    **_events(("AddTags", "RemoveTags"), _on(cloudtrail.TRAIL, "requestParameters.resourceId")),
    "DeleteTrail": (_on(cloudtrail.TRAIL, "requestParameters.name", delete=True),),
}

LAMBDA = {
    **_events(("CreateFunction", "UpdateFunctionConfiguration", "UpdateFunctionCode", "AddPermission",
               "RemovePermission", "CreateFunctionUrlConfig", "UpdateFunctionUrlConfig", "DeleteFunctionUrlConfig",
               "CreateAlias", "UpdateAlias", "DeleteAlias", "PublishVersion"),
              _on(awslambda.FUNCTION, "requestParameters.functionName")),
    **_events(("TagResource", "UntagResource"), _on(awslambda.FUNCTION, "requestParameters.resource")),
    "DeleteFunction": (_on(awslambda.FUNCTION, "requestParameters.functionName", delete=True),),
}

EFS = {
    "CreateFileSystem": (_on(efs.FILE_SYSTEM, "responseElements.fileSystemId"),),
    **_events(("UpdateFileSystem", "PutFileSystemPolicy", "DeleteFileSystemPolicy", "PutBackupPolicy",
               "PutLifecycleConfiguration", "CreateTags", "DeleteTags"),
              _on(efs.FILE_SYSTEM, "requestParameters.fileSystemId")),
    **_events(("TagResource", "UntagResource"), _on(efs.FILE_SYSTEM, "requestParameters.resourceId")),
    "DeleteFileSystem": (_on(efs.FILE_SYSTEM, "requestParameters.fileSystemId", delete=True),),
}

CONFIG = _events(("PutConfigurationRecorder", "DeleteConfigurationRecorder", "StartConfigurationRecorder",
                  "StopConfigurationRecorder", "PutDeliveryChannel", "DeleteDeliveryChannel"), _on(config.RECORDER))

OTHER_REGIONAL = {
    "access-analyzer.amazonaws.com": _events(("CreateAnalyzer", "DeleteAnalyzer"), _on(accessanalyzer.ANALYZER)),
    "securityhub.amazonaws.com": _events(("EnableSecurityHub", "DisableSecurityHub"), _on(securityhub.HUB)),
    "account.amazonaws.com": _events(("PutAlternateContact", "DeleteAlternateContact"),
                                     _on(account.ALTERNATE_CONTACT)),
    "logs.amazonaws.com": _events(("CreateLogGroup", "DeleteLogGroup", "PutMetricFilter", "DeleteMetricFilter",
                                   "PutRetentionPolicy"), _on(monitoring.LOG_GROUP)),
    "monitoring.amazonaws.com": _events(("PutMetricAlarm", "DeleteAlarms"), _on(monitoring.LOG_GROUP)),
    "sns.amazonaws.com": _events(("Subscribe", "Unsubscribe", "DeleteTopic"), _on(monitoring.LOG_GROUP)),
}

EVENT_MAP: dict[str, dict[str, tuple[TargetSpec, ...]]] = {
    "s3.amazonaws.com": S3,
    "ec2.amazonaws.com": EC2,
    "iam.amazonaws.com": IAM,
    "rds.amazonaws.com": RDS,
    "kms.amazonaws.com": KMS,
    "cloudtrail.amazonaws.com": CLOUDTRAIL,
    "lambda.amazonaws.com": LAMBDA,
    "elasticfilesystem.amazonaws.com": EFS,
    "config.amazonaws.com": CONFIG,
    **OTHER_REGIONAL,
}
"""eventSource to eventName to the resources the event changes."""

_API_VERSION_SUFFIX = re.compile(r"^(?P<name>[A-Za-z]+?)(?:\d{8}(?:v\d+)?)$")


def event_specs(event_source: str, event_name: str) -> tuple[TargetSpec, ...] | None:
    """Return the specs of an event, or None when it is not mapped.

    Lambda records carry the API version in the name ("UpdateFunctionConfiguration20150331v2"), which
    is removed before the lookup.
    """
    table = EVENT_MAP.get(event_source)
    if table is None:
        return None
    specs = table.get(event_name)
    if specs is None:
        match = _API_VERSION_SUFFIX.match(event_name)
        if match:
            specs = table.get(match.group("name"))
    return specs


def resolve_type(type_name: str, resource_id: str) -> str | None:
    """Return the resource type of `resource_id` for a "by:NAME" type, the type itself otherwise."""
    resolver = TYPE_RESOLVERS.get(type_name)
    if resolver is None:
        return type_name
    for pattern, resolved in resolver:
        if pattern.search(resource_id):
            return resolved
    return None
