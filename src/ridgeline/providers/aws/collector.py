"""The declaration every AWS collector module exports: its service, calls, resource types and collect function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ridgeline.providers.aws.calls import ApiCall
from ridgeline.providers.aws.unit import UnitContext


@dataclass(frozen=True, slots=True)
class CollectorSpec:
    """One collector: run once per account (global services) or once per account and region."""

    service: str
    """Name users pass to `--services` and that rules name in `service`."""

    global_service: bool
    calls: tuple[ApiCall, ...]
    resource_types: tuple[str, ...]
    collect: Callable[[UnitContext], None]
    description: str = ""
