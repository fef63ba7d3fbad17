"""Fixtures of the Azure scan tests: the local HTTPS server, a fixed-token credential and scan helpers.

The credential is the one thing replaced: Entra ID cannot run here. Everything else (ResourceGraphClient,
the ARM pipeline, retries, TLS verification) is the real SDK talking to the local server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import DefaultAzureCredential

from ridgeline.providers.aws.scanner import Collection
from ridgeline.providers.azure.calls import CallRecorder
from ridgeline.providers.azure.scanner import AzureScanOptions, collect_azure
from tests.azure.fake_arm import FAKE_TOKEN, FakeAzure, running_fake_azure, write_self_signed_certificate
from tests.azure.tenant import populate


class FakeCredential:
    """A TokenCredential that returns a fixed token and remembers the scopes and tenants asked for."""

    def __init__(self) -> None:
        self.requests: list[tuple[tuple[str, ...], str | None]] = []

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  enable_cae: bool = False, **kwargs: Any) -> AccessToken:
        self.requests.append((scopes, tenant_id))
        return AccessToken(FAKE_TOKEN, int(time.time()) + 3600)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made once per session."""
    return write_self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def no_real_azure_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that would ask DefaultAzureCredential for a token (it would reach Entra ID or IMDS)."""
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a test asked DefaultAzureCredential for a token")

    monkeypatch.setattr(DefaultAzureCredential, "get_token", refuse)
    monkeypatch.setattr(DefaultAzureCredential, "get_token_info", refuse, raising=False)
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE",
                 "IDENTITY_ENDPOINT", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_azure(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    """The HTTPS test server filled with the test tenant; the SDK trusts its certificate and reaches it directly."""
    cert, key = tls_files
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with running_fake_azure(cert, key) as fake:
        populate(fake)
        yield fake


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


class AzureScanner:
    """Runs collect_azure against the fake server with the fake credential."""

    def __init__(self, fake: FakeAzure, credential: FakeCredential) -> None:
        self.fake = fake
        self.credential = credential
        self.recorder = CallRecorder()

    def scan(self, **options: Any) -> Collection:
        options.setdefault("workers", 4)
        options.setdefault("graph_endpoint", self.fake.base_url)
        return collect_azure(AzureScanOptions(endpoint=self.fake.base_url, **options), credential=self.credential,
                             recorder=self.recorder)


@pytest.fixture
def azure_scan(fake_azure: FakeAzure, credential: FakeCredential) -> AzureScanner:
    return AzureScanner(fake_azure, credential)
