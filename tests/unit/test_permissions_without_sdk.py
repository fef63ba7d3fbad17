"""`ridgeline permissions azure` and `permissions gcp` work without the cloud SDKs, and print the same role.

A child Python process makes every `azure` and `google` import fail, as on an installation without the
azure and gcp extras, then runs the CLI. There the permissions commands must print exactly what they
print in this process, where the SDKs are installed. The scan commands must still stop with their
one-line "needs the extra" error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ridgeline.cli import main

# Runs in the child process before the CLI. Python queries the finders on sys.meta_path in order, so a finder
# placed first rejects an SDK import before the installed package can be found.
_WITHOUT_SDKS = """
import sys

BLOCKED = ("azure", "google")


class BlockCloudSdks:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name.partition(".")[0])
        return None


# A .pth file of site-packages may have imported a namespace package (google) already: forget it.
for loaded in [name for name in sys.modules if name.partition(".")[0] in BLOCKED]:
    del sys.modules[loaded]
sys.meta_path.insert(0, BlockCloudSdks())

from ridgeline.cli import main

main(sys.argv[1:], prog_name="ridgeline")
"""

_SUBSCRIPTION_SCOPE = "/subscriptions/00000000-0000-0000-0000-000000000001"


def run_without_sdks(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `ridgeline ARGUMENTS` in a child process in which no azure or google module can be imported."""
    return subprocess.run([sys.executable, "-c", _WITHOUT_SDKS, *arguments], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize(("arguments", "sdk_module"), [
    (["permissions", "azure"], "azure.mgmt.resourcegraph"),
    (["permissions", "azure", "--assignable-scope", _SUBSCRIPTION_SCOPE], "azure.mgmt.resourcegraph"),
    (["permissions", "gcp"], "google.cloud.asset_v1"),
])
def test_permissions_same_without_sdks(arguments: list[str], sdk_module: str, tmp_path: Path) -> None:
    # The expected output comes from this process, which has the SDK (the case is skipped when it does not).
    pytest.importorskip(sdk_module)
    expected = CliRunner().invoke(main, arguments)
    assert expected.exit_code == 0, expected.output

    child = run_without_sdks(arguments, tmp_path)

    assert child.returncode == 0, child.stderr
    assert child.stdout == expected.stdout
    assert child.stderr == expected.stderr


@pytest.mark.parametrize(("provider", "message"), [
    ("azure", "error: the Azure scan needs the azure extra (azure is missing): pip install 'ridgeline[azure]'"),
    ("gcp", "error: the GCP scan needs the gcp extra (google is missing): pip install 'ridgeline[gcp]'"),
])
def test_scan_without_sdks_names_extra(provider: str, message: str, tmp_path: Path) -> None:
    # A scan cannot import its collectors without the SDK, so this also shows that the child process has none.
    child = run_without_sdks(["scan", provider, "--no-store"], tmp_path)

    assert child.returncode == 2, child.stderr
    assert child.stdout == ""
    assert child.stderr.splitlines() == [message]
