"""Demo EFS file systems: an unencrypted one in us-east-1 and an encrypted twin in eu-west-1."""

from __future__ import annotations

from ridgeline.demo.emulator import emulator_client


def seed(endpoint: str) -> int:
    """Create the demo file systems and return how many."""
    emulator_client(endpoint, "efs").create_file_system(
        CreationToken="demo-unencrypted-efs", Encrypted=False, Tags=[{"Key": "Name", "Value": "demo-unencrypted-efs"}])
    emulator_client(endpoint, "efs", "eu-west-1").create_file_system(
        CreationToken="demo-secure-efs", Encrypted=True, Tags=[{"Key": "Name", "Value": "demo-secure-efs"}])
    return 2
