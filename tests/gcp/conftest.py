"""Fixtures of the GCP scan tests: the local server, anonymous credentials and scan helpers.

The credentials are the one thing replaced (AnonymousCredentials), because Google's token service cannot
run here. Everything else is the real AssetServiceClient with its REST transport and google-auth's
AuthorizedSession, talking HTTP to the local server. No test may reach a metadata server: the probes
google-auth makes for it raise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth.compute_engine import _metadata
from google.auth.credentials import AnonymousCredentials

from ridgeline.providers.aws.scanner import Collection
from ridgeline.providers.gcp.calls import CallRecorder
from ridgeline.providers.gcp.clients import API_ENDPOINT_ENVS, ENDPOINT_ENV, GcpEndpoints, RetrySettings
from ridgeline.providers.gcp.credentials import GcpCredentials
from ridgeline.providers.gcp.scanner import GcpScanOptions, collect_gcp
from tests.gcp.fake_gcp import FakeGcp, running_fake_gcp
from tests.gcp.organization import populate


def anonymous() -> AnonymousCredentials:
    """Return credentials that send no token, the stand-in for Google's token service."""
    return AnonymousCredentials()  # type: ignore[no-untyped-call]


FAST_RETRY = RetrySettings(initial_s=0.01, maximum_s=0.05, multiplier=2.0, deadline_s=5.0)


@pytest.fixture(autouse=True)
def isolated_google_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide every real credential source and fail any test that would probe the metadata server."""
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a test tried to contact the GCE metadata server")

    monkeypatch.setattr(_metadata, "is_on_gce", refuse)
    monkeypatch.setattr(_metadata, "ping", refuse)
    monkeypatch.setattr(_metadata, "get", refuse)
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT",
                 "GCE_METADATA_HOST", "GCE_METADATA_IP", ENDPOINT_ENV, *API_ENDPOINT_ENVS.values()):
        monkeypatch.delenv(name, raising=False)
    empty_config = tmp_path / "gcloud-config"
    empty_config.mkdir()
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(empty_config))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_gcp() -> Iterator[FakeGcp]:
    """The test server filled with the test organization."""
    with running_fake_gcp() as fake:
        populate(fake)
        yield fake


class GcpScanner:
    """Runs collect_gcp against the fake server with anonymous credentials and fast retries."""

    def __init__(self, fake: FakeGcp) -> None:
        self.fake = fake
        self.recorder = CallRecorder()

    def scan(self, **options: Any) -> Collection:
        options.setdefault("workers", 4)
        options.setdefault("retry", FAST_RETRY)
        endpoints = GcpEndpoints(cloudasset=self.fake.base_url, essentialcontacts=self.fake.base_url,
                                 resourcemanager=self.fake.base_url)
        return collect_gcp(GcpScanOptions(endpoints=endpoints, **options),
                           credentials=GcpCredentials(anonymous()), recorder=self.recorder)


@pytest.fixture
def gcp_scan(fake_gcp: FakeGcp) -> GcpScanner:
    return GcpScanner(fake_gcp)
