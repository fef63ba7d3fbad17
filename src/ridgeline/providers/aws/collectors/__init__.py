"""The AWS collectors: each module of this package that defines `COLLECTOR` is one service."""

from __future__ import annotations

import importlib
import pkgutil

from ridgeline.providers.aws.collector import CollectorSpec


def all_collectors() -> list[CollectorSpec]:
    """Return every AWS collector, sorted by service name."""
    collectors = []
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        spec = getattr(module, "COLLECTOR", None)
        if isinstance(spec, CollectorSpec):
            collectors.append(spec)
    return sorted(collectors, key=lambda collector: collector.service)
