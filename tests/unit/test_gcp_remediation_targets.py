"""Check that GCP remediation commands address the resource and the member that a finding shows.

The commands are filled as the reports fill them and run in bash with `gcloud` replaced by a function
that prints its arguments, so the tests check the arguments gcloud would receive.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from ridgeline.report.text import short_id
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.rules.model import Rule, fill_template

RULES = {rule.id: rule for rule in load_builtin_rules()}

KEY_ID = "//cloudkms.googleapis.com/projects/app-prod/locations/us/keyRings/ring-a/cryptoKeys/key-a"
KEY_NAME = "projects/app-prod/locations/us/keyRings/ring-a/cryptoKeys/key-a"


def gcloud_arguments(rule: Rule, resource_type: str, resource_id: str, name: str, tmp_path: Path,
                     variables: str = "") -> list[str]:
    """Return the arguments gcloud receives from the rule's command for a resource, one per list item."""
    values = {"id": resource_id, "name": name, "short_id": short_id(resource_id), "account": "app-prod",
              "region": "us", "type": resource_type}
    command = fill_template(rule.remediation.cli_for(resource_type),
                            {key: shlex.quote(value) for key, value in values.items()})
    script = tmp_path / "run.sh"
    script.write_text(f"gcloud() {{ printf '%s\\n' \"$@\"; }}\n{variables}\n{command}\n", encoding="utf-8")
    completed = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True)
    return completed.stdout.splitlines()


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers"])
@pytest.mark.parametrize(("rule_id", "resource_type", "resource_id", "name", "target"), [
    ("gcp-iam-org-public-binding", "cloudresourcemanager.googleapis.com/Organization",
     "//cloudresourcemanager.googleapis.com/organizations/100", "example.com", "100"),
    ("gcp-iam-org-public-binding", "cloudresourcemanager.googleapis.com/Folder",
     "//cloudresourcemanager.googleapis.com/folders/200", "shared", "200"),
    ("gcp-kms-key-not-public", "cloudkms.googleapis.com/CryptoKey", KEY_ID, "key-a", KEY_NAME),
    ("gcp-kms-key-not-public", "cloudkms.googleapis.com/KeyRing",
     "//cloudkms.googleapis.com/projects/app-prod/locations/us/keyRings/ring-a", "ring-a", "ring-a"),
    ("gcp-storage-bucket-not-public", "storage.googleapis.com/Bucket", "//storage.googleapis.com/pub-data",
     "pub-data", "gs://pub-data"),
])
def test_public_grant_command_uses_member_variable(
        rule_id: str, resource_type: str, resource_id: str, name: str, target: str, member: str,
        tmp_path: Path) -> None:
    # Organizations and folders are named by their display name, but gcloud wants their number.
    arguments = gcloud_arguments(RULES[rule_id], resource_type, resource_id, name, tmp_path,
                                 f"MEMBER={member}\nROLE=roles/viewer")

    assert f"--member={member}" in arguments
    assert "--role=roles/viewer" in arguments
    assert arguments[arguments.index("remove-iam-policy-binding") + 1] == target


def test_public_grant_text_explains_member_variable() -> None:
    for rule_id in ("gcp-iam-org-public-binding", "gcp-kms-key-not-public", "gcp-storage-bucket-not-public"):
        text = " ".join(RULES[rule_id].remediation.text.split())
        assert "set MEMBER to the member shown in the evidence, allUsers or allAuthenticatedUsers" in text, rule_id


def test_kms_rotation_command_passes_full_key_name(tmp_path: Path) -> None:
    arguments = gcloud_arguments(RULES["gcp-kms-key-rotation-90-days"], "cloudkms.googleapis.com/CryptoKey",
                                 KEY_ID, "key-a", tmp_path)

    assert arguments[:4] == ["kms", "keys", "update", KEY_NAME]


def test_firewall_policy_command_passes_policy_number(tmp_path: Path) -> None:
    arguments = gcloud_arguments(RULES["gcp-compute-firewall-policy-internet-admin-ports"],
                                 "compute.googleapis.com/FirewallPolicy",
                                 "//compute.googleapis.com/locations/global/firewallPolicies/123456789012",
                                 "org-baseline", tmp_path, "PRIORITY=1000")

    assert arguments[:5] == ["compute", "firewall-policies", "rules", "update", "1000"]
    assert "--firewall-policy=123456789012" in arguments


def test_commands_hard_code_no_public_member() -> None:
    for rule in RULES.values():
        for command in (rule.remediation.cli, *rule.remediation.cli_by_type.values()):
            assert "--member=allUsers" not in command, rule.id
            assert "--member=allAuthenticatedUsers" not in command, rule.id
