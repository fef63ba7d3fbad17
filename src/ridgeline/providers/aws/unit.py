"""The collection unit: one (account, region, service), with everything a collector needs.

Collectors call the API through `UnitContext.call` and `paginate`, which classify failures once:
a known "does not exist" code returns None, every other failure raises `CallFailed`. A collector
decides what a failure costs: a failed listing fails the resource type (`fail_type`), a failed detail
call marks one path of one resource unknown (`Resource.errors`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ridgeline.model.redaction import redact
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.calls import ApiCall, CallFailed, classify, error_code
from ridgeline.providers.aws.session import AwsSession, utc_now

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class UnitContext:
    """State and helpers of one collection unit."""

    def __init__(
        self,
        session: AwsSession,
        *,
        account: str,
        partition: str,
        region: str,
        service: str,
        declared: Iterable[ApiCall],
        detail_pool: Executor | None = None,
        regions: set[str] | None = None,
    ) -> None:
        self.session = session
        self.account = account
        self.partition = partition
        self.region = region
        self.service = service
        self.declared = {(call.client, call.operation): call for call in declared}
        self.detail_pool = detail_pool
        self.regions = regions
        """Regions the user asked for; global collectors skip resources elsewhere. None means all."""
        self.resources: list[Resource] = []
        self.gone: list[tuple[str, str]] = []
        """(type, id) of resources that a refresh looked up and found deleted."""
        self.coverage = Coverage(provider="aws", account=account, region=region, service=service)
        self.collected_at = utc_now()
        self._started = time.monotonic()

    def client(self, name: str, region: str | None = None) -> Any:
        """Return a client for this unit's region (or `region`)."""
        return self.session.client(name, region or self.region)

    def _declared(self, client_name: str, operation: str) -> ApiCall:
        call = self.declared.get((client_name, operation))
        if call is None:
            # A programming error: every call must be declared so the permission policy stays complete.
            raise RuntimeError(f"collector {self.service} calls undeclared operation {client_name}:{operation}")
        return call

    def call(
        self,
        client: Any,
        operation: str,
        *,
        missing: Iterable[str] = (),
        resource_id: str = "",
        **parameters: Any,
    ) -> dict[str, Any] | None:
        """Call `operation`; return None when the error code is one of `missing`, raise CallFailed otherwise."""
        client_name = client.meta.service_model.service_name
        call = self._declared(client_name, operation)
        method = getattr(client, xform_name(operation))
        try:
            response: dict[str, Any] = method(**parameters)
        except ClientError as error:
            if error_code(error) in missing:
                return None
            raise classify(call, error, resource_id) from error
        except (BotoCoreError, ResponseParserError) as error:
            raise classify(call, error, resource_id) from error
        response.pop("ResponseMetadata", None)
        return response

    def paginate(self, client: Any, operation: str, key: str, **parameters: Any) -> list[Any]:
        """Return every item under `key` across all pages of `operation`."""
        client_name = client.meta.service_model.service_name
        call = self._declared(client_name, operation)
        items: list[Any] = []
        try:
            for page in client.get_paginator(xform_name(operation)).paginate(**parameters):
                items.extend(page.get(key, []))
        except ClientError as error:
            raise classify(call, error) from error
        except (BotoCoreError, ResponseParserError) as error:
            raise classify(call, error) from error
        return items

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Apply `function` to items concurrently on the detail pool (in order); serially without one."""
        if self.detail_pool is None:
            return map(function, items)
        return self.detail_pool.map(function, items)

    def add(self, resource: Resource) -> None:
        """Record a collected resource (secrets redacted)."""
        redact(resource)
        self.resources.append(resource)
        counts = self.coverage.resource_counts
        counts[resource.type] = counts.get(resource.type, 0) + 1

    def mark_gone(self, type_name: str, resource_id: str) -> None:
        """Record that a refresh found the resource deleted, so its findings resolve."""
        self.gone.append((type_name, resource_id))
        logger.debug("account %s region %s: %s %s no longer exists", self.account, self.region, type_name,
                     resource_id)

    def new_resource(self, type_name: str, resource_id: str, name: str, *, region: str | None = None,
                     configuration: dict[str, Any] | None = None, supplementary: dict[str, Any] | None = None,
                     tags: dict[str, str] | None = None, relationships: list[dict[str, Any]] | None = None) -> Resource:
        """Create a resource of this unit's account (not yet added)."""
        return Resource(
            provider="aws",
            account=self.account,
            region=region or self.region,
            type=type_name,
            id=resource_id,
            name=name,
            configuration=configuration or {},
            supplementary=supplementary or {},
            tags=tags or {},
            relationships=relationships or [],
            collected_at=self.collected_at,
        )

    def detail_failed(self, resource: Resource, path: str, failure: CallFailed) -> None:
        """Mark `path` of `resource` unknown because a detail call failed; the unit becomes partial."""
        failure.resource_id = failure.resource_id or resource.id
        resource.errors[path] = f"{failure.code} on {failure.call.action}: {failure.message}"
        self.coverage.errors.append(failure.to_error())
        if self.coverage.status is Completeness.COMPLETE:
            self.coverage.status = Completeness.PARTIAL
        logger.warning("account %s region %s: %s", self.account, self.region, failure.describe())

    def fail_type(self, type_name: str, failure: CallFailed) -> None:
        """Record that resources of `type_name` could not be listed in this unit."""
        self.coverage.failed_types[type_name] = failure.describe()
        self.coverage.errors.append(failure.to_error())
        if self.coverage.status is Completeness.COMPLETE:
            self.coverage.status = Completeness.PARTIAL
        logger.warning("account %s region %s: cannot list %s: %s", self.account, self.region, type_name,
                       failure.describe())

    def finish(self, resource_types: Iterable[str]) -> Coverage:
        """Close the unit: FAILED when every type it should produce failed, and the duration."""
        types = set(resource_types)
        if types and types <= set(self.coverage.failed_types):
            self.coverage.status = Completeness.FAILED
        self.coverage.duration_s = time.monotonic() - self._started
        return self.coverage

