"""Seeds the demo account: at least one misconfiguration for every rule, and secured twins.

Each service has a module in `ridgeline.demo.seeds` with a `seed(endpoint) -> int` function returning
the number of resources it created. Names say what is wrong ("demo-public-policy") or right
("demo-secure-...") so findings are easy to match with their cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ridgeline.demo.seeds import s3

logger = logging.getLogger(__name__)

DEMO_REGIONS = ("us-east-1", "eu-west-1")

SEEDERS: dict[str, Callable[[str], int]] = {
    "s3": s3.seed,
}


def seed_demo_account(endpoint: str) -> dict[str, int]:
    """Create the demo resources through the emulator's API; return the count per service."""
    counts = {}
    for service, seed in SEEDERS.items():
        counts[service] = seed(endpoint)
        logger.info("demo: seeded %d %s resource(s)", counts[service], service)
    return counts
