"""moto's server on a free loopback port, inside this process: the emulated AWS account of the demo
and of the tests. Nothing here ever talks to real AWS."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEMO_ACCOUNT = "123456789012"
"""moto's default account id."""

# Credentials moto accepts; they are not secrets and only ever reach the loopback emulator.
EMULATOR_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Variables that could send the demo to a real account or change its behaviour; removed while it runs.
_CLEARED = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")


class EmulatorUnavailable(RuntimeError):
    """Raised when moto is not installed; the message gives the install command."""


@dataclass(frozen=True, slots=True)
class Emulator:
    """A running emulator."""

    endpoint: str
    port: int


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_emulator() -> Iterator[Emulator]:
    """Start moto's server on 127.0.0.1 and a free port; stop it on exit."""
    # moto would otherwise load about 1,300 public AMIs whose snapshots look account-owned.
    with tempfile.TemporaryDirectory(prefix="ridgeline-moto-") as folder:
        amis = Path(folder) / "amis.json"
        amis.write_text("[]")
        os.environ["MOTO_AMIS_PATH"] = str(amis)
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as error:
            raise EmulatorUnavailable(
                "the emulator needs moto's server: pip install 'ridgeline[demo]' (or 'moto[server]')"
            ) from error

        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        # werkzeug logs every request at INFO, which would drown the scan's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logger.info("emulator listening on http://127.0.0.1:%d", port)
        endpoint = f"http://127.0.0.1:{port}"
        # moto keeps its state in process-wide backends; start from an empty account even when an
        # earlier emulator in this process left resources behind.
        reset_emulator(endpoint)
        try:
            yield Emulator(endpoint=endpoint, port=port)
        finally:
            server.stop()
            logger.info("emulator on port %d stopped", port)


@contextmanager
def emulator_environment(endpoint: str) -> Iterator[None]:
    """Point boto3 at the emulator with dummy credentials, restoring the environment afterwards."""
    saved = {key: os.environ.get(key) for key in (*EMULATOR_ENVIRONMENT, *_CLEARED, "AWS_ENDPOINT_URL",
                                                  "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
    try:
        for key in _CLEARED:
            os.environ.pop(key, None)
        os.environ.update(EMULATOR_ENVIRONMENT)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        # Ignore the user's shared config and credentials files so no real profile can be picked up.
        os.environ["AWS_CONFIG_FILE"] = os.devnull
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def reset_emulator(endpoint: str) -> None:
    """Delete every resource in the emulator (moto's reset API)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def emulator_client(endpoint: str, service: str, region: str = "us-east-1") -> Any:
    """Return a boto3 client bound to the emulator (for seeding and tests)."""
    import boto3

    from ridgeline.providers.aws.session import strip_account_host_prefix

    client = boto3.client(service, region_name=region, endpoint_url=endpoint,  # type: ignore[call-overload]
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    if service == "s3control":
        client.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
    return client
