"""The live scan and the importer agree on recorded Cloud Asset Inventory exports served as ListAssets responses.

Each export line (snake_case, as `gcloud asset export` writes it) is turned into the camelCase asset of
the REST API, with the current asset type name, and served under one organization. The live scan then
reads it through the real client, and every envelope it builds must equal the importer's envelope of
the same asset: the same configuration, IAM policy, type, name, region and labels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.gcp_cai import LEGACY_ASSET_TYPES, iter_gcp_cai_assets
from ridgeline.providers.gcp import catalog
from ridgeline.providers.gcp.scanner import IAM_POLICY_TYPES
from tests.gcp.conftest import GcpScanner

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "cspm-samples" / "gcp"
ORGANIZATION = "organizations/111222333"
SKIP_REASON = f"the shared Cloud Asset Inventory samples are not at {SAMPLES}"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def camel_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel(str(key)): camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def rest_asset(line: dict[str, Any]) -> dict[str, Any]:
    """Return an export line as ListAssets returns the asset: camelCase keys, except inside resource.data."""
    converted: dict[str, Any] = {}
    for key, value in line.items():
        if key == "resource":
            converted["resource"] = {camel(str(name)): item if name == "data" else camel_keys(item)
                                     for name, item in value.items()}
        elif key != "ancestry_path":
            converted[camel(key)] = camel_keys(value)
    converted["assetType"] = LEGACY_ASSET_TYPES.get(converted["assetType"], converted["assetType"])
    return converted


def export_lines(path: Path) -> list[dict[str, Any]]:
    text = path.read_text()
    if path.suffix == ".json":
        return list(json.loads(text))
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sample_files(folder: str) -> list[Path]:
    return sorted(path for path in (SAMPLES / folder).iterdir() if re.search(r"\.jsonl?$", path.name))


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=SKIP_REASON)
@pytest.mark.parametrize(("folder", "minimum"), [("forseti", 60), ("professional-services", 2),
                                                 ("policy-library", 20)])
def test_live_scan_matches_import(gcp_scan: GcpScanner, folder: str, minimum: int) -> None:
    files = sample_files(folder)
    assets = [rest_asset(line) for path in files for line in export_lines(path)]
    gcp_scan.fake.assets_by_parent[ORGANIZATION] = assets

    collection = gcp_scan.scan(organization=ORGANIZATION.removeprefix("organizations/"), page_size=25)
    imported = {resource.id: resource for resource in iter_gcp_cai_assets(files)}

    assert len(collection.resources) >= minimum
    for live in collection.resources:
        expected = imported[live.id]
        assert live.type == expected.type, live.id
        assert live.type in catalog.TYPES_BY_NAME, live.id
        assert live.name == expected.name, live.id
        assert live.region == expected.region, live.id
        assert live.configuration == expected.configuration, live.id
        assert live.tags == expected.tags, live.id
        if "iamPolicy" in expected.supplementary:
            assert live.supplementary["iamPolicy"] == expected.supplementary["iamPolicy"], live.id
        elif live.type in IAM_POLICY_TYPES:
            assert live.supplementary["iamPolicy"] == {}, live.id
        else:
            assert "iamPolicy" not in live.supplementary, live.id
        assert live.errors == {}, live.id


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=SKIP_REASON)
def test_sample_listing_pages_and_types(gcp_scan: GcpScanner) -> None:
    files = sample_files("forseti")
    assets = [rest_asset(line) for path in files for line in export_lines(path)]
    gcp_scan.fake.assets_by_parent[ORGANIZATION] = assets

    collection = gcp_scan.scan(organization="111222333", page_size=10)

    wanted = {asset["name"] for asset in assets if "resource" in asset and asset["assetType"] in catalog.TYPES_BY_NAME}
    assert {resource.id for resource in collection.resources} == wanted
    pages = gcp_scan.fake.asset_requests(ORGANIZATION, "RESOURCE")
    assert len(pages) == -(-len(wanted) // 10)
