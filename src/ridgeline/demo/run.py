"""`ridgeline demo`: an emulated, deliberately misconfigured AWS account, scanned like a real one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ridgeline.demo.emulator import EmulatorUnavailable, emulator_environment, running_emulator
from ridgeline.demo.seed import DEMO_REGIONS, seed_demo_account

logger = logging.getLogger(__name__)

DemoUnavailable = EmulatorUnavailable

NOT_EMULATED = ("accessanalyzer",)
"""Services moto 5.2.5 does not implement; the demo leaves them out unless asked (they would be ERROR)."""


@dataclass(frozen=True, slots=True)
class DemoEnvironment:
    """The running demo account."""

    endpoint: str
    regions: list[str]
    banner: str


@contextmanager
def demo_environment() -> Iterator[DemoEnvironment]:
    """Start the emulator, seed the demo account and point boto3 at it until the block ends."""
    with running_emulator() as emulator, emulator_environment(emulator.endpoint):
        counts = seed_demo_account(emulator.endpoint)
        banner = (
            f"Demo: emulated AWS account 123456789012 at {emulator.endpoint} (moto), seeded with "
            f"{sum(counts.values())} resources across {', '.join(DEMO_REGIONS)}; the emulator adds default VPCs, "
            "security groups and network ACLs of its own. Nothing leaves this machine. Not emulated, so not "
            f"scanned unless named in --services: {', '.join(NOT_EMULATED)}."
        )
        yield DemoEnvironment(endpoint=emulator.endpoint, regions=list(DEMO_REGIONS), banner=banner)
