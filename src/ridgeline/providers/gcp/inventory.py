"""Cloud Asset Inventory listings: ListAssets through the client library's REST transport, as camelCase JSON.

One listing is one (parent, content type) pair: RESOURCE gives each asset's `resource.data`, IAM_POLICY the
IAM policy set on each asset that has one. The assets come back as protobuf messages and are turned into
the JSON form of the REST API, which is the form `gcloud asset list --format=json` prints and the importer
reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.cloud import asset_v1
from google.protobuf.json_format import MessageToDict, ParseError  # type: ignore[import-untyped]

from ridgeline.providers.gcp.calls import LIST_IAM_POLICIES, LIST_RESOURCES, CallRecorder, GcpCall
from ridgeline.providers.gcp.clients import MAX_PAGES, RetrySettings
from ridgeline.providers.gcp.errors import GcpCallFailed, classify

logger = logging.getLogger(__name__)

CONTENT_TYPES: dict[GcpCall, int] = {
    LIST_RESOURCES: asset_v1.ContentType.RESOURCE,
    LIST_IAM_POLICIES: asset_v1.ContentType.IAM_POLICY,
}

_MAX_EXACT_FLOAT = 2**53
"""Integers up to this size survive the double that protobuf's Struct stores every JSON number in."""


@dataclass(slots=True)
class Listing:
    """The assets of one ListAssets listing, and why it stopped early if it did."""

    assets: list[dict[str, Any]] = field(default_factory=list)
    failure: GcpCallFailed | None = None
    """Set when a page could not be read; `assets` then contains the pages read before it."""


def asset_client(credentials: Credentials, endpoint: str) -> asset_v1.AssetServiceClient:
    """Return an AssetServiceClient with the REST transport bound to `endpoint` (scheme and host)."""
    # The REST transport keeps the scheme of api_endpoint, so http://127.0.0.1:PORT reaches a local server.
    return asset_v1.AssetServiceClient(credentials=credentials, transport="rest",
                                       client_options=ClientOptions(api_endpoint=endpoint))


def list_assets(client: asset_v1.AssetServiceClient, call: GcpCall, parent: str, asset_types: Sequence[str], *,
                page_size: int, retry: RetrySettings, timeout_s: float, recorder: CallRecorder) -> Listing:
    """List the assets of `asset_types` under `parent` ("projects/ID", "folders/N", "organizations/N").

    `call` selects the content type (RESOURCE or IAM_POLICY).

    Every page is retried on throttling and server errors by `retry`. A page that still fails ends the
    listing, and the failure is returned with the assets read before it.
    """
    request = asset_v1.ListAssetsRequest(parent=parent, asset_types=list(asset_types),
                                         content_type=CONTENT_TYPES[call], page_size=page_size)
    listing = Listing()
    pages = 0
    try:
        pager = client.list_assets(request=request, retry=retry.policy(call, parent), timeout=timeout_s)
        for page in pager.pages:
            pages += 1
            recorder.record(call)
            listing.assets.extend(asset_to_dict(asset) for asset in page.assets)
            if pages >= MAX_PAGES and page.next_page_token:
                raise ValueError(f"more than {MAX_PAGES} pages")
    except (api_exceptions.GoogleAPICallError, api_exceptions.RetryError, auth_exceptions.GoogleAuthError,
            requests.RequestException, ParseError, ValueError) as error:
        listing.failure = classify(call, error, parent)
        logger.warning("%s: %s stopped after %d page(s): %s", parent, call.name, pages, listing.failure.describe())
        return listing

    logger.debug("%s: %s returned %d asset(s) in %d page(s)", parent, call.name, len(listing.assets), pages)
    return listing


def asset_to_dict(asset: asset_v1.Asset) -> dict[str, Any]:
    """Return an asset in the camelCase JSON form of the REST API (`assetType`, `resource.data`, `iamPolicy`)."""
    document: dict[str, Any] = MessageToDict(asset_v1.Asset.pb(asset))
    resource = document.get("resource")
    if isinstance(resource, dict) and "data" in resource:
        resource["data"] = whole_numbers(resource["data"])
    return document


def whole_numbers(value: Any) -> Any:
    """Return `value` with whole floats turned back into ints.

    `resource.data` is a protobuf Struct, which stores every JSON number as a double, so the API's 443 comes
    back as 443.0. Google's APIs write 64-bit integers as strings, so no exact integer is lost here.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) <= _MAX_EXACT_FLOAT:
        return int(value)
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    return value
