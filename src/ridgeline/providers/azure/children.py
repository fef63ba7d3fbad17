"""The child and extension resources of catalog.py's `Child` entries: one ARM request per parent and key.

Each entry of `CHILD_REQUESTS` (declarations.py) names the request that fills `supplementary[key]` of a
parent resource. A request that fails leaves the key out and records
`Resource.errors["supplementaryConfiguration.<key>"]`, so rules reading it report ERROR; nothing is ever
stored as an empty value in place of a failed read.
"""

from __future__ import annotations

import logging
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.azure.calls import AzureCallFailed
from ridgeline.providers.azure.catalog import BY_NAME, LIST, SINGLE, TYPES_BY_LOWER_NAME, Child
from ridgeline.providers.azure.clients import ArmReader, arm_path
from ridgeline.providers.azure.declarations import CHILD_REQUESTS, ChildRequest

logger = logging.getLogger(__name__)

NOT_READ_REASON = "not read by the live scan: no request is defined for this child resource"


def read_children(arm: ArmReader, resource: Resource) -> list[tuple[str, AzureCallFailed]]:
    """Fill `resource.supplementary` with each child its catalogue entry lists; return the failed (path, failure)s.

    Children a parent of its kind cannot have are skipped. A child without a request is recorded in
    `resource.errors` (a catalogue line added without a request) and logged, but is not a call failure.
    """
    entry = TYPES_BY_LOWER_NAME.get(resource.type.lower())
    if entry is None:
        return []
    failures: list[tuple[str, AzureCallFailed]] = []
    kind = str(resource.configuration.get("kind") or "").lower()
    for key, child in entry.supplementary.items():
        path = f"supplementaryConfiguration.{key}"
        request = CHILD_REQUESTS.get((entry.name, key))
        if request is None:
            logger.warning("subscription %s: %s of %s is %s", resource.account, key, resource.id, NOT_READ_REASON)
            resource.errors[path] = NOT_READ_REASON
            continue
        if kind in request.skip_kinds:
            resource.errors[path] = f"not applicable: a {entry.name} of kind {resource.configuration.get('kind')} " \
                                    f"has no {key}"
            continue
        try:
            resource.supplementary[key] = read_child(arm, resource.id, child, request)
        except AzureCallFailed as failure:
            failures.append((path, failure))
    return failures


def read_child(arm: ArmReader, parent_id: str, child: Child, request: ChildRequest) -> Any:
    """Return one child in the catalogue's shape: the document, a list, or a mapping by `name`."""
    try:
        path = arm_path(parent_id) + request.suffix
    except ValueError as error:
        raise AzureCallFailed(request.call, "InvalidResourceId", str(error), resource_id=parent_id) from error
    if child.shape == SINGLE:
        return arm.get(request.call, path, resource_id=parent_id)
    items = arm.list(request.call, path, resource_id=parent_id)
    if child.shape == LIST:
        return items
    if child.shape == BY_NAME:
        return {str(item.get("name")): item for item in items if isinstance(item, dict)}
    raise ValueError(f"unknown child shape {child.shape!r} of {child.type}")
