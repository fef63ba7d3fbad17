"""Seeds the demo account: at least one misconfiguration for every rule, and secured twins.

Each module of `ridgeline.demo.seeds` has a `seed(endpoint) -> int` function that creates its service's
resources through the emulator's API and returns how many it created. Names tell what is wrong
("demo-public-policy") or right ("demo-secure-...") so findings are easy to match with their cause.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

from ridgeline.demo import seeds

logger = logging.getLogger(__name__)

DEMO_REGIONS = ("us-east-1", "eu-west-1")


def seed_demo_account(endpoint: str) -> dict[str, int]:
    """Create the demo resources through the emulator's API; return the count per seed module."""
    counts = {}
    for module_info in sorted(pkgutil.iter_modules(seeds.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{seeds.__name__}.{module_info.name}")
        counts[module_info.name] = module.seed(endpoint)
        logger.info("demo: seeded %d %s resource(s)", counts[module_info.name], module_info.name)
    return counts
