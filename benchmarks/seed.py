"""Seed an emulated AWS account in us-east-1 with buckets and security groups for scanner benchmarks.

Every run creates the t0 base: 3 buckets and 3 security groups carrying ten deliberate
misconfigurations (listed in T0_MISCONFIGURATIONS). ``--buckets N`` and ``--security-groups N`` add
N generated resources each: every other bucket is public (alternately by ACL and by bucket policy)
and every other security group allows tcp/22 from 0.0.0.0/0. Resource names are fixed, so seed a
fresh emulator: seeding the same one twice fails on the first existing name.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
from botocore.config import Config

logger = logging.getLogger(__name__)

REGION = "us-east-1"
WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"
T0_PREFIX = "rl-t0"
GENERATED_BUCKET_PREFIX = "rl-bench"
GENERATED_GROUP_PREFIX = "rl-bench-sg"
LOG_PREFIX = "access-logs/"

Spec = TypeVar("Spec")

# Seeded into the t0 base, as (resource name, misconfiguration). A scanner's detections on seeded
# resources are compared against this list.
T0_MISCONFIGURATIONS: tuple[tuple[str, str], ...] = (
    (f"{T0_PREFIX}-public-acl", "bucket ACL grants READ to AllUsers (public-read)"),
    (f"{T0_PREFIX}-public-acl", "no default encryption"),
    (f"{T0_PREFIX}-public-acl", "versioning not enabled"),
    (f"{T0_PREFIX}-public-acl", "server access logging not enabled"),
    (f"{T0_PREFIX}-public-policy", "bucket policy allows s3:GetObject to Principal *"),
    (f"{T0_PREFIX}-public-policy", "bucket policy does not deny requests without TLS"),
    (f"{T0_PREFIX}-ssh-world", "ingress tcp/22 from 0.0.0.0/0"),
    (f"{T0_PREFIX}-ssh-world", "ingress tcp/22 from ::/0"),
    (f"{T0_PREFIX}-rdp-world", "ingress tcp/3389 from 0.0.0.0/0"),
    (f"{T0_PREFIX}-all-traffic", "ingress on all protocols and ports from 0.0.0.0/0"),
)


@dataclass(frozen=True)
class BucketSpec:
    """One bucket to create and the settings to apply to it."""

    name: str
    public_acl: bool = False
    public_policy: bool = False
    tls_only_policy: bool = False
    versioning: bool = False
    encryption: bool = False
    logging_to_self: bool = False
    block_public_access: bool = False


@dataclass(frozen=True)
class GroupSpec:
    """One security group in the default VPC and its ingress rules."""

    name: str
    ingress: tuple[dict[str, Any], ...]


def _tcp_rule(port: int, cidr_v4: str | None = None, cidr_v6: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr_v4 is not None:
        rule["IpRanges"] = [{"CidrIp": cidr_v4}]
    if cidr_v6 is not None:
        rule["Ipv6Ranges"] = [{"CidrIpv6": cidr_v6}]
    return rule


def t0_buckets() -> list[BucketSpec]:
    """Return the three t0 buckets: two misconfigured and one hardened control."""
    return [
        BucketSpec(name=f"{T0_PREFIX}-public-acl", public_acl=True),
        BucketSpec(name=f"{T0_PREFIX}-public-policy", public_policy=True, versioning=True, encryption=True),
        BucketSpec(
            name=f"{T0_PREFIX}-control",
            tls_only_policy=True,
            versioning=True,
            encryption=True,
            logging_to_self=True,
            block_public_access=True,
        ),
    ]


def t0_groups() -> list[GroupSpec]:
    """Return the three t0 security groups, each open to the world in a different way."""
    return [
        GroupSpec(f"{T0_PREFIX}-ssh-world", (_tcp_rule(22, WORLD_V4, WORLD_V6),)),
        GroupSpec(f"{T0_PREFIX}-rdp-world", (_tcp_rule(3389, WORLD_V4),)),
        GroupSpec(f"{T0_PREFIX}-all-traffic", ({"IpProtocol": "-1", "IpRanges": [{"CidrIp": WORLD_V4}]},)),
    ]


def generated_buckets(count: int) -> list[BucketSpec]:
    """Return ``count`` buckets: even indexes public (ACL and policy in turn), some versioned or encrypted."""
    specs = []
    for index in range(count):
        public = index % 2 == 0
        specs.append(
            BucketSpec(
                name=f"{GENERATED_BUCKET_PREFIX}-{index:05d}",
                public_acl=public and index % 4 == 0,
                public_policy=public and index % 4 == 2,
                versioning=index % 3 == 0,
                encryption=index % 5 == 0,
            )
        )
    return specs


def generated_groups(count: int) -> list[GroupSpec]:
    """Return ``count`` groups: even indexes allow tcp/22 from the world, odd ones tcp/443 from 10.0.0.0/8."""
    specs = []
    for index in range(count):
        if index % 2 == 0:
            rule = _tcp_rule(22, WORLD_V4)
        else:
            rule = _tcp_rule(443, "10.0.0.0/8")
        specs.append(GroupSpec(f"{GENERATED_GROUP_PREFIX}-{index:05d}", (rule,)))
    return specs


def _public_read_statement(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "PublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }


def _log_delivery_statement(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "AllowAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/{LOG_PREFIX}*",
    }


def _deny_insecure_transport_statement(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(spec: BucketSpec) -> str | None:
    """Return the bucket policy document for ``spec``, or None when it needs no policy."""
    statements = []

    # NOTE: the log-delivery statement must come first. moto 5.2.5 checks PutBucketLogging by reading
    # the target bucket's statements in order and fails with HTTP 500 on the first one whose
    # Principal is the string "*", unless an earlier statement already granted log delivery.
    if spec.logging_to_self:
        statements.append(_log_delivery_statement(spec.name))
    if spec.public_policy:
        statements.append(_public_read_statement(spec.name))
    if spec.tls_only_policy:
        statements.append(_deny_insecure_transport_statement(spec.name))

    if not statements:
        return None
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def create_bucket(s3: Any, spec: BucketSpec) -> BucketSpec:
    """Create one bucket in us-east-1 and apply the settings of ``spec``."""
    # us-east-1 takes no LocationConstraint.
    s3.create_bucket(Bucket=spec.name)

    if spec.public_acl:
        s3.put_bucket_acl(Bucket=spec.name, ACL="public-read")
    policy = bucket_policy(spec)
    if policy is not None:
        s3.put_bucket_policy(Bucket=spec.name, Policy=policy)
    if spec.versioning:
        s3.put_bucket_versioning(Bucket=spec.name, VersioningConfiguration={"Status": "Enabled"})
    if spec.encryption:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        s3.put_bucket_encryption(Bucket=spec.name, ServerSideEncryptionConfiguration={"Rules": [rule]})
    if spec.logging_to_self:
        target = {"TargetBucket": spec.name, "TargetPrefix": LOG_PREFIX}
        s3.put_bucket_logging(Bucket=spec.name, BucketLoggingStatus={"LoggingEnabled": target})
    if spec.block_public_access:
        block_all = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        s3.put_public_access_block(Bucket=spec.name, PublicAccessBlockConfiguration=block_all)
    return spec


def create_group(ec2: Any, vpc_id: str, spec: GroupSpec) -> GroupSpec:
    """Create one security group in ``vpc_id`` and authorize its ingress rules."""
    response = ec2.create_security_group(GroupName=spec.name, Description=f"benchmark group {spec.name}", VpcId=vpc_id)
    ec2.authorize_security_group_ingress(GroupId=response["GroupId"], IpPermissions=list(spec.ingress))
    return spec


def default_vpc_id(ec2: Any) -> str:
    """Return the id of the region's default VPC, which moto creates with the region's EC2 backend."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise RuntimeError(f"no default VPC found in {REGION}; the emulator should create one")
    return str(vpcs[0]["VpcId"])


def _run_all(function: Callable[[Spec], Spec], specs: Iterable[Spec], workers: int) -> list[Spec]:
    """Apply ``function`` to every spec on a thread pool and re-raise the first failure."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, specs))


def seed(endpoint: str, bucket_count: int, group_count: int, workers: int = 16) -> dict[str, int]:
    """Create the t0 base plus the generated resources at ``endpoint`` and return counts by kind."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    config = Config(max_pool_connections=workers, retries={"max_attempts": 3, "mode": "standard"})
    s3 = session.client("s3", endpoint_url=endpoint, config=config)
    ec2 = session.client("ec2", endpoint_url=endpoint, config=config)

    buckets = t0_buckets() + generated_buckets(bucket_count)
    vpc_id = default_vpc_id(ec2)
    groups = t0_groups() + generated_groups(group_count)

    logger.info("creating %d buckets and %d security groups at %s", len(buckets), len(groups), endpoint)
    created_buckets = _run_all(lambda spec: create_bucket(s3, spec), buckets, workers)
    created_groups = _run_all(lambda spec: create_group(ec2, vpc_id, spec), groups, workers)

    counts: Counter[str] = Counter()
    counts["buckets"] = len(created_buckets)
    counts["buckets_public_acl"] = sum(spec.public_acl for spec in created_buckets)
    counts["buckets_public_policy"] = sum(spec.public_policy for spec in created_buckets)
    counts["buckets_versioned"] = sum(spec.versioning for spec in created_buckets)
    counts["buckets_encrypted"] = sum(spec.encryption for spec in created_buckets)
    counts["security_groups"] = len(created_groups)
    counts["security_groups_world_ssh"] = sum(
        any(rule.get("FromPort") == 22 and rule.get("IpRanges") == [{"CidrIp": WORLD_V4}] for rule in spec.ingress)
        for spec in created_groups
    )
    counts["t0_misconfigurations"] = len(T0_MISCONFIGURATIONS)

    # Counts read back from the emulator, which include the default VPC's own security group.
    counts["listed_buckets"] = len(s3.list_buckets()["Buckets"])
    paginator = ec2.get_paginator("describe_security_groups")
    counts["listed_security_groups"] = sum(len(page["SecurityGroups"]) for page in paginator.paginate())
    return dict(counts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", required=True, help="emulator URL, such as http://127.0.0.1:5000")
    parser.add_argument("--buckets", type=int, default=0, help="generated buckets on top of the t0 base")
    parser.add_argument(
        "--security-groups", type=int, default=0, help="generated security groups on top of the t0 base"
    )
    parser.add_argument("--workers", type=int, default=16, help="threads issuing API calls")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.buckets < 0 or args.security_groups < 0:
        parser.error("--buckets and --security-groups must be 0 or more")
    counts = seed(args.endpoint, args.buckets, args.security_groups, args.workers)
    print(json.dumps(counts, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
