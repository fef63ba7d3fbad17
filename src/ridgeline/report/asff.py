"""AWS Security Finding Format (ASFF) output, for import into AWS Security Hub with BatchImportFindings.

The file is a JSON list of findings. BatchImportFindings takes at most 100 findings per call, so
importers split the list (docs/output-formats.md shows how). Only AWS findings are written: ASFF needs
a 12-digit AWS account id, and Security Hub rejects anything else.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from ridgeline import __version__
from ridgeline.model.finding import Finding, Severity, Status
from ridgeline.model.scan import ACCOUNT_SCOPE_TYPE, REGION_SCOPE_TYPE
from ridgeline.pipeline import ScanResult
from ridgeline.report.text import render_remediation
from ridgeline.rules.model import Rule

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "2018-10-08"

# Length limits of AwsSecurityFinding fields, from the Security Hub API reference (the botocore
# service model for securityhub 2018-10-26 carries the same figures in its documentation).
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_RESOURCE_REGION = 16
MAX_PRODUCT_FIELD_VALUE = 2048
MAX_RELATED_REQUIREMENTS = 32

_SEVERITY_LABEL = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFORMATIONAL: "INFORMATIONAL",
}
# A muted finding still fails the check: the suppression lives in the workflow status.
_COMPLIANCE_STATUS = {
    Status.PASS: "PASSED",
    Status.FAIL: "FAILED",
    Status.MUTED: "FAILED",
    Status.ERROR: "NOT_AVAILABLE",
}

# CloudFormation type to the ASFF resource type Security Hub supports; anything else is "Other".
RESOURCE_TYPES = {
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::S3::AccountPublicAccessBlock": "AwsS3AccountPublicAccessBlock",
    "AWS::S3::Object": "AwsS3Object",
    "AWS::EC2::SecurityGroup": "AwsEc2SecurityGroup",
    "AWS::EC2::Instance": "AwsEc2Instance",
    "AWS::EC2::Volume": "AwsEc2Volume",
    "AWS::EC2::VPC": "AwsEc2Vpc",
    "AWS::EC2::NetworkAcl": "AwsEc2NetworkAcl",
    "AWS::EC2::Subnet": "AwsEc2Subnet",
    "AWS::IAM::User": "AwsIamUser",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::Group": "AwsIamGroup",
    "AWS::IAM::Policy": "AwsIamPolicy",
    "AWS::IAM::AccessKey": "AwsIamAccessKey",
    "AWS::KMS::Key": "AwsKmsKey",
    "AWS::Lambda::Function": "AwsLambdaFunction",
    "AWS::RDS::DBInstance": "AwsRdsDbInstance",
    "AWS::RDS::DBCluster": "AwsRdsDbCluster",
    "AWS::RDS::DBSnapshot": "AwsRdsDbSnapshot",
    "AWS::RDS::DBClusterSnapshot": "AwsRdsDbClusterSnapshot",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    ACCOUNT_SCOPE_TYPE: "AwsAccount",
}

# Framework id prefix to the "Industry and Regulatory Standards" classifier Security Hub uses.
# NOTE: these names were not checked against a live Security Hub. Other frameworks use their Ridgeline
# id as the classifier.
_STANDARD_CLASSIFIERS = (
    ("cis-aws", "CIS AWS Foundations Benchmark"),
    ("aws-fsbp", "AWS-Foundational-Security-Best-Practices"),
    ("pci", "PCI-DSS"),
)
_CATEGORY_TYPES = {
    "storage-exposure": "Data Exposure",
    "iam": "Identity and Access Management",
    "network-exposure": "Network Reachability",
    "encryption": "Encryption",
    "logging-monitoring": "Logging and Monitoring",
    "data-protection": "Data Protection",
}
_BEST_PRACTICES = "Software and Configuration Checks/AWS Security Best Practices"
_STANDARDS = "Software and Configuration Checks/Industry and Regulatory Standards"


def partition_of(region: str, resource_id: str = "") -> str:
    """Return the AWS partition of an ARN, or of a region name when the id is not an ARN."""
    if resource_id.startswith("arn:"):
        return resource_id.split(":")[1]
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def home_region(result: ScanResult) -> str:
    """Return the region that global findings (IAM, S3 account settings) are imported into."""
    return result.scan.regions[0] if result.scan.regions else "us-east-1"


def finding_region(finding: Finding, result: ScanResult) -> str:
    """Return the Security Hub region of a finding: its own, or the home region for global resources."""
    if finding.region and finding.region != "global":
        return finding.region
    return home_region(result)


def timestamp(value: str) -> str:
    """Return an ISO 8601 time in UTC with a Z suffix, the form the Security Hub examples use."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def truncate(text: str, limit: int) -> str:
    """Return `text` cut to `limit` characters, ending with an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int) -> str:
    """Return `text` with runs of whitespace (newlines included) collapsed to one space, then truncated.

    The API reference gives text fields the pattern `.*\\S.*`, which any non-empty result matches.
    An empty result (blank input) is left for the caller to replace.
    """
    return truncate(" ".join(text.split()), limit)


def finding_types(finding: Finding, rule: Rule | None) -> list[str]:
    """Return the ASFF types (namespace/category/classifier) of a finding."""
    types = [f"{_BEST_PRACTICES}/{_CATEGORY_TYPES.get(finding.category, finding.category)}"]
    for framework in rule.compliance if rule else {}:
        classifier = next((name for prefix, name in _STANDARD_CLASSIFIERS if framework.startswith(prefix)),
                          framework)
        entry = f"{_STANDARDS}/{classifier}"
        if entry not in types:
            types.append(entry)
    return types


def asff_resource(finding: Finding, region: str) -> dict[str, Any]:
    """Return the ASFF resource object of a finding."""
    resource_type = RESOURCE_TYPES.get(finding.resource_type, "Other")
    resource_id = finding.resource_id
    if finding.resource_type == ACCOUNT_SCOPE_TYPE:
        resource_id = f"AWS::::Account:{finding.account}"
    elif finding.resource_type == REGION_SCOPE_TYPE:
        # A region-scope finding is about the account in that region.
        resource_type, resource_id = "AwsAccount", f"AWS::::Account:{finding.account}"
    resource: dict[str, Any] = {
        "Type": resource_type,
        "Id": resource_id,
        "Partition": partition_of(region, finding.resource_id),
        "Region": truncate(region, MAX_RESOURCE_REGION),
    }
    if resource_type == "Other":
        # Keep the provider's own type and the name, which "Other" would otherwise lose.
        resource["Details"] = {"Other": {
            "ResourceType": truncate(finding.resource_type, 1024),
            "ResourceName": truncate(finding.resource_name, 1024),
        }}
    return resource


def finding_document(finding: Finding, result: ScanResult) -> dict[str, Any]:
    """Return one finding in ASFF."""
    rule = result.rules.get(finding.rule_id)
    region = finding_region(finding, result)
    partition = partition_of(region, finding.resource_id)
    updated = timestamp(result.scan.finished_at)
    title = rule.title if rule else finding.rule_id
    description = f"{finding.message} {rule.description}" if rule else finding.message

    document: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        # Stable across scans (the finding id hashes rule, resource and region), so a later import
        # updates the same Security Hub finding instead of adding a duplicate.
        "Id": f"ridgeline/{finding.account}/{finding.id}",
        "ProductArn": f"arn:{partition}:securityhub:{region}:{finding.account}:product/{finding.account}/default",
        "GeneratorId": finding.rule_id,
        "AwsAccountId": finding.account,
        "Types": finding_types(finding, rule),
        # NOTE: the store keeps no first-seen time per finding yet, so CreatedAt is this scan's time.
        "CreatedAt": updated,
        "UpdatedAt": updated,
        "LastObservedAt": updated,
        "Severity": {"Label": _SEVERITY_LABEL[finding.severity], "Original": finding.severity.value},
        "Title": one_line(title, MAX_TITLE) or finding.rule_id,
        "Description": one_line(description, MAX_DESCRIPTION) or one_line(title, MAX_DESCRIPTION) or finding.rule_id,
        "Resources": [asff_resource(finding, region)],
        "Compliance": {"Status": _COMPLIANCE_STATUS[finding.status]},
        "Workflow": {"Status": _workflow_status(finding.status)},
        "RecordState": "ACTIVE",
        "ProductFields": _product_fields(finding, result),
    }

    if rule is not None:
        remediation = render_remediation(rule.remediation, finding)
        recommendation: dict[str, str] = {
            "Text": one_line(remediation["text"], MAX_RECOMMENDATION) or one_line(title, MAX_RECOMMENDATION)}
        if rule.references:
            recommendation["Url"] = rule.references[0]
        document["Remediation"] = {"Recommendation": recommendation}
        requirements = [f"{framework} {requirement}" for framework, ids in rule.compliance.items()
                        for requirement in ids]
        if requirements:
            document["Compliance"]["RelatedRequirements"] = requirements[:MAX_RELATED_REQUIREMENTS]
    return document


def _workflow_status(status: Status) -> str:
    if status is Status.MUTED:
        return "SUPPRESSED"
    if status is Status.PASS:
        return "RESOLVED"
    return "NEW"


def _product_fields(finding: Finding, result: ScanResult) -> dict[str, str]:
    fields = {
        "ridgeline/Version": __version__,
        "ridgeline/ScanId": result.scan.id,
        "ridgeline/FindingId": finding.id,
        "ridgeline/Status": finding.status.value,
        "ridgeline/Category": finding.category,
        "ridgeline/ResourceType": finding.resource_type,
        "ridgeline/ResourceName": finding.resource_name,
    }
    if finding.muted_reason:
        fields["ridgeline/MutedReason"] = finding.muted_reason
    return {key: truncate(value, MAX_PRODUCT_FIELD_VALUE) for key, value in fields.items() if value.strip()}


def render(result: ScanResult) -> bytes:
    """Return the AWS findings of a scan as an ASFF JSON list."""
    findings = [finding for finding in result.findings if finding.provider == "aws"]
    skipped = len(result.findings) - len(findings)
    if skipped:
        logger.warning("scan %s: %d non-AWS finding(s) left out of the ASFF report", result.scan.id, skipped)
    documents = [finding_document(finding, result) for finding in findings]
    return orjson.dumps(documents, option=orjson.OPT_INDENT_2)
