"""Azure Resource Graph: the subscriptions a credential can see, and the inventory of the catalogue's types.

Queries go through `ResourceGraphClient.resources` with the objectArray result format, which returns one
JSON object per row, shaped like the ARM resource. Pages of 1000 rows are followed through `$skipToken`.
A request covers at most 1000 subscriptions, because the Resource Graph REST API accepts no more. The
tables and types the inventory queries are declared in declarations.py (`TABLE_TYPES`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import AzureError
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

from ridgeline.providers.azure.calls import GRAPH_QUERY, AzureCallFailed, classify
from ridgeline.providers.azure.clients import AzureClients

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
"""Rows per page; 1000 is the maximum `$top` of Resource Graph."""

SUBSCRIPTIONS_PER_REQUEST = 1000

MAX_PAGES = 10_000

# The query only reads, so the SDK's retry policy may repeat its POST on 429 and 5xx like a GET (by default
# it retries a POST only when the response carries Retry-After, or on 500, 503 and 504).
_RETRY_METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription visible to the credential."""

    id: str
    """Subscription id in lower case."""

    name: str
    tenant_id: str
    state: str


def inventory_query(table: str, types: Sequence[str]) -> str:
    """Return the KQL query of `table` for `types` (Resource Graph stores types in lower case)."""
    names = ", ".join(f"'{type_name.lower()}'" for type_name in types)
    return f"{table}\n| where type in~ ({names})\n| order by id asc"


def by_id_query(table: str, types: Sequence[str], ids: Sequence[str]) -> str:
    """Return the KQL query of `table` for the resources of `types` whose id is one of `ids` (any case)."""
    names = ", ".join(f"'{type_name.lower()}'" for type_name in types)
    wanted = ", ".join(kql_string(resource_id) for resource_id in ids)
    return f"{table}\n| where type in~ ({names})\n| where id in~ ({wanted})\n| order by id asc"


def kql_string(value: str) -> str:
    """Return `value` as a single-quoted KQL string literal; ids come from events, so quotes are escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


SUBSCRIPTIONS_QUERY = "resourcecontainers\n| where type =~ 'microsoft.resources/subscriptions'\n| order by id asc"


def list_subscriptions(clients: AzureClients, management_group: str | None = None) -> list[Subscription]:
    """Return the subscriptions the credential can see, or those under `management_group`."""
    rows = run_query(clients, SUBSCRIPTIONS_QUERY, subscriptions=None,
                     management_groups=[management_group] if management_group else None)
    found: dict[str, Subscription] = {}
    for row in rows:
        subscription = str(row.get("subscriptionId") or "").lower()
        if not subscription:
            continue
        properties = row.get("properties")
        state = properties.get("state") if isinstance(properties, dict) else None
        found[subscription] = Subscription(id=subscription, name=str(row.get("name") or ""),
                                           tenant_id=str(row.get("tenantId") or ""),
                                           state=str(state or ""))
    return sorted(found.values(), key=lambda item: item.id)


def batches(subscriptions: Sequence[str], size: int | None = None) -> Iterator[list[str]]:
    """Yield the subscriptions in slices of at most `size` (default SUBSCRIPTIONS_PER_REQUEST)."""
    size = size or SUBSCRIPTIONS_PER_REQUEST
    for start in range(0, len(subscriptions), size):
        yield list(subscriptions[start:start + size])


def run_query(clients: AzureClients, text: str, *, subscriptions: Sequence[str] | None,
              management_groups: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return every row of one query over one scope, following `$skipToken`; raise AzureCallFailed on failure.

    A result that Resource Graph truncated without a `$skipToken` is a failure, never a short inventory.
    """
    rows: list[dict[str, Any]] = []
    skip_token: str | None = None
    for _page in range(MAX_PAGES):
        request = QueryRequest(
            query=text,
            subscriptions=list(subscriptions) if subscriptions else None,
            management_groups=list(management_groups) if management_groups else None,
            options=QueryRequestOptions(skip_token=skip_token, top=PAGE_SIZE, result_format="objectArray"),
        )
        clients.recorder.record(GRAPH_QUERY)
        try:
            response = clients.graph.resources(request, retry_on_methods=_RETRY_METHODS)
        except AzureError as error:
            raise classify(GRAPH_QUERY, error) from error

        data = response.data
        if not isinstance(data, list):
            raise AzureCallFailed(GRAPH_QUERY, "UnexpectedResponse",
                                  "the query result is not an object array (resultFormat objectArray)")
        rows.extend(row for row in data if isinstance(row, dict))
        skip_token = response.skip_token
        if not skip_token:
            if str(response.result_truncated).lower() == "true":
                raise AzureCallFailed(GRAPH_QUERY, "ResultTruncated",
                                      f"Resource Graph truncated the result after {len(rows)} row(s) "
                                      "and returned no $skipToken")
            return rows
    raise AzureCallFailed(GRAPH_QUERY, "TooManyPages", f"more than {MAX_PAGES} pages")
