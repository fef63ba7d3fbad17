"""AWS credentials and clients: the standard boto3 chain, optional role assumption, tuned clients.

Credentials come from boto3's chain (environment, shared config and profiles, SSO, container and
instance roles); `--role-arn` assumes a role on top of them with auto-refreshing credentials. Endpoints
follow boto3's own `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` variables, so a scan can be
pointed at an emulator without Ridgeline-specific settings.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import DeferredRefreshableCredentials

from ridgeline import __version__
from ridgeline.providers.aws.calls import CallRecorder

logger = logging.getLogger(__name__)

_ROLE_SESSION_NAME = "ridgeline-scan"


class AwsSession:
    """Creates and caches boto3 clients for one AWS account; safe to share between threads."""

    def __init__(
        self,
        *,
        profile: str | None = None,
        role_arn: str | None = None,
        external_id: str | None = None,
        default_region: str | None = None,
        max_attempts: int = 10,
        max_pool_connections: int = 64,
        recorder: CallRecorder | None = None,
    ) -> None:
        base = boto3.Session(profile_name=profile)
        self.default_region = default_region or base.region_name or "us-east-1"
        self.recorder = recorder or CallRecorder()
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            max_pool_connections=max_pool_connections,
            user_agent_extra=f"ridgeline/{__version__}",
            connect_timeout=10,
            read_timeout=60,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.session = self._assume(base, role_arn, external_id) if role_arn else base

    def _assume(self, base: boto3.Session, role_arn: str, external_id: str | None) -> boto3.Session:
        sts = base.client("sts", region_name=self.default_region, config=self._config)

        def refresh() -> dict[str, str]:
            parameters: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": _ROLE_SESSION_NAME}
            if external_id:
                parameters["ExternalId"] = external_id
            logger.info("assuming role %s", role_arn)
            credentials = sts.assume_role(**parameters)["Credentials"]
            return {
                "access_key": credentials["AccessKeyId"],
                "secret_key": credentials["SecretAccessKey"],
                "token": credentials["SessionToken"],
                "expiry_time": credentials["Expiration"].astimezone(UTC).isoformat(),
            }

        botocore_session = botocore.session.get_session()
        botocore_session._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
            refresh_using=refresh, method="sts-assume-role"
        )
        return boto3.Session(botocore_session=botocore_session, region_name=self.default_region)

    def client(self, name: str, region: str | None = None) -> Any:
        """Return a cached client of service `name` in `region` (the default region when None)."""
        region = region if region and region != "global" else self.default_region
        key = (name, region)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._create(name, region)
                self._clients[key] = client
        return client

    def _create(self, name: str, region: str) -> Any:
        config = self._config
        client = self.session.client(name, region_name=region, config=config)  # type: ignore[call-overload]
        if name == "s3control" and _custom_endpoint("s3control"):
            # botocore's endpoint rules prefix the account id to the s3control host ("123456789012.HOST"),
            # which cannot resolve for an emulator on a plain host name or IP. The account id also travels
            # in the x-amz-account-id header, so sending to the endpoint as configured loses nothing.
            client.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
        self.recorder.attach(client, name)
        return client


def _custom_endpoint(service: str) -> str | None:
    """Return the endpoint that boto3's standard variables set for `service`, or None."""
    specific = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
    if service == "s3control":
        specific = "AWS_ENDPOINT_URL_S3_CONTROL"
    return os.environ.get(specific) or os.environ.get("AWS_ENDPOINT_URL")


def utc_now() -> str:
    """Return the current time in ISO 8601 with a Z suffix, as AWS Config writes capture times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def strip_account_host_prefix(request: Any, **_: Any) -> None:
    """Send an s3control request to the configured endpoint host instead of ACCOUNT.HOST."""
    account = request.headers.get("x-amz-account-id")
    if not account:
        return
    if isinstance(account, bytes):
        account = account.decode()
    prefix = f"//{account}."
    if prefix in request.url:
        request.url = request.url.replace(prefix, "//", 1)
