"""Registry of analysis functions that rule conditions call with `check: NAME`.

Hard semantics (is this policy public? which ports does this group open to the internet?) live in the
tested modules under `ridgeline.analysis`; this registry is the thin, typed door rules go through.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple


class Outcome(NamedTuple):
    """Result of an analysis function: True/False, or None when it cannot decide, and why."""

    matched: bool | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CheckFunction:
    """A function rules may call, with the arguments it takes."""

    name: str
    func: Callable[..., Outcome]
    path_args: tuple[str, ...]
    """Arguments that rules give as envelope paths; the engine passes the values found there."""

    literal_args: tuple[str, ...]
    """Arguments that rules give as literal values (numbers, lists of ports, names).

    The engine fills in three names instead. `subject` is the resource judged. `peers` is every resource
    of its type in its account, for semantics that span resources, such as firewall rules of one
    network. `lookup` is a `ScanLookup` over the resources of `lookup_types` in the whole scan."""

    required: tuple[str, ...]
    description: str

    lookup_types: tuple[str, ...] = ()
    """The resource types the function reads through `lookup`, in any account (the folders, organisation
    and firewall policies above a GCP project). Streaming evaluation keeps them until the end."""

    unknown_as_none: tuple[str, ...] = ()
    """Path arguments that the function can do without. When such a path is unknown (in the resource's
    `errors`), the function gets None for it and must treat None as not collected, so the check as a whole
    stays known. This suits a setting shown two ways, where either one decides, such as a BigQuery
    dataset's access list and IAM policy."""


_REGISTRY: dict[str, CheckFunction] = {}


def check_function(
    name: str,
    *,
    path_args: tuple[str, ...] = (),
    literal_args: tuple[str, ...] = (),
    required: tuple[str, ...] | None = None,
    lookup_types: tuple[str, ...] = (),
    unknown_as_none: tuple[str, ...] = (),
) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Register `func` under `name` for use in rule conditions."""
    if lookup_types and "lookup" not in literal_args:
        raise ValueError(f"check function {name!r} declares lookup_types but takes no `lookup` argument")

    def register(func: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if name in _REGISTRY:
            raise ValueError(f"check function {name!r} is registered twice")
        doc = (func.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = CheckFunction(
            name=name,
            func=func,
            path_args=path_args,
            literal_args=literal_args,
            required=path_args if required is None else required,
            description=doc[0] if doc else "",
            lookup_types=lookup_types,
            unknown_as_none=unknown_as_none,
        )
        return func

    return register


def get_check_function(name: str) -> CheckFunction | None:
    """Return the registered function called `name`, loading the built-in ones first."""
    _load_builtin_functions()
    return _REGISTRY.get(name)


def all_check_functions() -> list[CheckFunction]:
    """Return every registered function, sorted by name."""
    _load_builtin_functions()
    return sorted(_REGISTRY.values(), key=lambda function: function.name)


_loaded = False


def _load_builtin_functions() -> None:
    # Imported lazily so that importing the engine does not pull in every analysis module; the modules
    # register their functions when imported, once.
    global _loaded
    if _loaded:
        return
    _loaded = True
    # Every module named `checks_*` in this package registers functions: one module per provider area.
    import importlib
    import pkgutil

    import ridgeline.rules as package

    for module in sorted(info.name for info in pkgutil.iter_modules(package.__path__)):
        if module.startswith("checks_"):
            importlib.import_module(f"ridgeline.rules.{module}")
