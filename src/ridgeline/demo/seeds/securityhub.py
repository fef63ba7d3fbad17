"""Demo Security Hub: enabled in eu-west-1 and left off in us-east-1."""

from __future__ import annotations

from ridgeline.demo.emulator import emulator_client


def seed(endpoint: str) -> int:
    """Enable Security Hub in eu-west-1 only; return how many hubs."""
    emulator_client(endpoint, "securityhub", "eu-west-1").enable_security_hub(EnableDefaultStandards=False)
    return 1
