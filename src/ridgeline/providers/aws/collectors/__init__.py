"""The AWS collectors: each module of this package that defines `COLLECTOR` is one service.

A module may also define `refresh(unit, targets)`, which re-collects only the named resources of one
unit: `targets` maps a resource type to native ids (bucket names, group ids, ...), or to ["*"] for every
resource of that type in the unit. It adds what it finds with `unit.add`, records with `unit.mark_gone`
what no longer exists, and raises `CallFailed` when it cannot tell. Services without `refresh` are
re-collected whole.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType

from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.unit import UnitContext

RefreshFunction = Callable[[UnitContext, Mapping[str, Sequence[str]]], None]

ALL_OF_TYPE = "*"
"""Target id meaning every resource of the type in the unit (or the unit's one resource of a singleton type)."""


def _modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]


def all_collectors() -> list[CollectorSpec]:
    """Return every AWS collector, sorted by service name."""
    collectors = []
    for module in _modules():
        spec = getattr(module, "COLLECTOR", None)
        if isinstance(spec, CollectorSpec):
            collectors.append(spec)
    return sorted(collectors, key=lambda collector: collector.service)


def refresh_functions() -> dict[str, RefreshFunction]:
    """Return the targeted refresh function of each service that has one, by service name."""
    functions: dict[str, RefreshFunction] = {}
    for module in _modules():
        spec = getattr(module, "COLLECTOR", None)
        refresh = getattr(module, "refresh", None)
        if isinstance(spec, CollectorSpec) and callable(refresh):
            functions[spec.service] = refresh
    return functions
