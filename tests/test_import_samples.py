"""Every export file of the shared sample folder goes through `import_files` without a crash.

The folder contains AWS Config items, Cloud Asset Inventory exports and fixtures, and recorded Azure
responses. Recorded HTTP exchanges (VCR cassettes, REST specification examples) wrap their response
bodies, so the Azure tests take the bodies out first, as a user would save `az rest` output. Errors
are allowed only where a file is not an inventory, or where an item truly lacks what the envelope needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ridgeline.imports.collection import ImportResult, import_files
from ridgeline.imports.detect import Format
from ridgeline.model.resource import Resource

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "cspm-samples"

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(),
                                reason=f"the shared sample folder {SAMPLES} is absent from this checkout")

EXPORT_SUFFIXES = (".json", ".jsonl")


def sample_files(*parts: str) -> list[Path]:
    folder = SAMPLES.joinpath(*parts)
    return sorted(path for path in folder.rglob("*") if path.is_file() and path.name.endswith(EXPORT_SUFFIXES))


def resources_of(result: ImportResult) -> list[Resource]:
    return [resource for collection in result.collections for resource in collection.resources]


def messages(result: ImportResult) -> list[str]:
    return [issue.message for issue in result.report.errors]


def test_sample_folder_has_files() -> None:
    # A renamed or emptied folder would make the other tests pass without reading anything.
    assert len(sample_files("aws")) >= 30
    assert len(sample_files("gcp")) >= 15
    assert len(sample_files("azure")) >= 8


# AWS Config ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", sample_files("aws", "rdk-example-ci"), ids=lambda path: path.name)
def test_aws_config_item(path: Path) -> None:
    result = import_files([path])

    assert messages(result) == []
    assert result.formats == {str(path): Format.AWS_CONFIG}
    (resource,) = resources_of(result)
    assert resource.provider == "aws"
    assert resource.account
    assert resource.region
    assert resource.type.startswith("AWS::")


@pytest.mark.parametrize("path", sample_files("aws", "custodian-placebo"), ids=lambda path: path.name)
def test_aws_config_api_response(path: Path) -> None:
    result = import_files([path])

    assert result.formats == {str(path): Format.AWS_CONFIG}
    if "ListDiscoveredResources" in path.name:
        # Resource identifiers only: not an inventory of configurations.
        assert resources_of(result) == []
        assert len(messages(result)) == 1
        assert "resource identifiers" in messages(result)[0]
    elif "GetResourceConfigHistory" in path.name:
        assert messages(result) == []
        assert resources_of(result)
    else:
        # Advanced queries return what they select; items without resourceType cannot become resources.
        assert resources_of(result) or messages(result)
        assert all("missing resourceType" in message for message in messages(result))


# Cloud Asset Inventory ----------------------------------------------------------------------------------

# Organisations, folders, billing accounts and organisation roles have no project, so the import keeps
# them under the account "unknown" and warns about each one. Nothing is unreadable, so no error.
NO_PROJECT = "no project found"


NO_DATA_NOTICE = "assets without resource data, whose rules reading their settings report ERROR"


def warnings(result: ImportResult) -> list[str]:
    return [issue.message for issue in result.report.warnings]


def test_cai_forseti_dumps_merge() -> None:
    paths = sample_files("gcp", "forseti")
    result = import_files(paths)

    assert set(result.formats.values()) == {Format.GCP_CAI}
    assert len(result.formats) == len(paths)
    resources = resources_of(result)
    assert len(resources) > 50
    assert messages(result) == []
    # Assets outside any project, and the fixtures that hold only a policy (counted in one notice).
    assert all(NO_PROJECT in message or message.startswith(NO_DATA_NOTICE) for message in warnings(result))
    with_policy = [resource for resource in resources if "iamPolicy" in resource.supplementary]
    assert with_policy, "the IAM policy dump merges into the resources"
    # With IAM content in the files, an asset without a policy has none set: no unknown policy.
    assert all("supplementaryConfiguration.iamPolicy" not in resource.errors for resource in resources)


@pytest.mark.parametrize("path", sample_files("gcp", "policy-library") + sample_files("gcp", "professional-services"),
                         ids=lambda path: path.name)
def test_cai_fixture(path: Path) -> None:
    result = import_files([path])

    assert result.formats == {str(path): Format.GCP_CAI}
    resources = resources_of(result)
    assert resources
    assert all(resource.provider == "gcp" for resource in resources)
    assert messages(result) == []
    # Assets outside any project, and the fixtures that hold only a policy (counted in one notice).
    assert all(NO_PROJECT in message or message.startswith(NO_DATA_NOTICE) for message in warnings(result))


@pytest.mark.parametrize("path", sample_files("gcp", "custodian-flights"), ids=lambda path: path.name)
def test_recorded_gcp_api_responses_are_not_inventories(path: Path) -> None:
    # Recorded REST exchanges of the storage and compute APIs, not Cloud Asset Inventory exports.
    result = import_files([path])

    assert resources_of(result) == []
    assert len(messages(result)) == 1
    assert messages(result)[0].startswith("unknown format")


# Azure --------------------------------------------------------------------------------------------------

def cassette_bodies(path: Path) -> list[Any]:
    """Return the response bodies of a VCR cassette, decoded whether recorded as JSON or as text."""
    bodies = []
    for interaction in json.loads(path.read_text())["interactions"]:
        body = interaction["response"]["body"]
        bodies.append(body["data"] if "data" in body else json.loads(body["string"]))
    return bodies


def write_bodies(folder: Path, stem: str, bodies: list[Any]) -> list[Path]:
    paths = []
    for index, body in enumerate(bodies):
        path = folder / f"{stem}.{index}.json"
        path.write_text(json.dumps(body, indent=2))
        paths.append(path)
    return paths


@pytest.mark.parametrize("path", sample_files("azure"), ids=lambda path: path.name)
def test_recorded_exchanges_as_given_are_not_inventories(path: Path) -> None:
    result = import_files([path])

    assert resources_of(result) == []
    assert len(messages(result)) == 1
    assert messages(result)[0].startswith("unknown format")


@pytest.mark.parametrize("path", sample_files("azure", "custodian-cassettes"), ids=lambda path: path.name)
def test_cassette_bodies(tmp_path: Path, path: Path) -> None:
    bodies = cassette_bodies(path)
    files = write_bodies(tmp_path, path.stem, bodies)

    result = import_files(files)

    # The Resource Graph cassettes keep one row of their tables with the recorded count, as a file whose rows
    # were removed: the import reports each such result as incomplete.
    shortened = [body for body in bodies if isinstance(body, dict) and isinstance(body.get("data"), dict)
                 and len(body["data"]["rows"]) < body["count"]]
    assert [message.split(":")[0] for message in messages(result)] == (
        ["the Resource Graph result is incomplete"] * len(shortened))
    assert set(result.formats.values()) == {Format.AZURE}
    resources = resources_of(result)
    assert resources
    for resource in resources:
        assert resource.provider == "azure"
        assert resource.account == "ea42f556-5106-4743-99b0-c129bfa71a47"
        assert resource.region != "global"
        assert " " not in resource.region


def test_resource_graph_table_matches_arm_list(tmp_path: Path) -> None:
    # Each cassette recorded the same resources through an ARM list and a Resource Graph table query.
    for path in sample_files("azure", "custodian-cassettes"):
        if not path.name.startswith("ResourceGraphSource"):
            continue
        arm_body, graph_body = cassette_bodies(path)
        arm = resources_of(import_files(write_bodies(tmp_path, f"{path.stem}-arm", [arm_body])))
        graph = resources_of(import_files(write_bodies(tmp_path, f"{path.stem}-graph", [graph_body])))

        assert [(r.id.lower(), r.type, r.name, r.region, r.account) for r in arm] == [
            (r.id.lower(), r.type, r.name, r.region, r.account) for r in graph], path.name


def test_sql_firewall_rules_fold_into_server(tmp_path: Path) -> None:
    path = SAMPLES / "azure" / "custodian-cassettes" / "SqlServerTest.firewall.json"
    files = write_bodies(tmp_path, path.stem, cassette_bodies(path))

    (server,) = resources_of(import_files(files))

    assert server.type == "Microsoft.Sql/servers"
    rules = server.supplementary["firewallRules"]
    assert {rule["name"] for rule in rules} >= {"AllowAllWindowsAzureIps"}
    assert "supplementaryConfiguration.firewallRules" not in server.errors
    assert "supplementaryConfiguration.auditingSettings" in server.errors


@pytest.mark.parametrize("path", sample_files("azure", "rest-api-specs"), ids=lambda path: path.name)
def test_rest_specification_examples(tmp_path: Path, path: Path) -> None:
    body = json.loads(path.read_text())["responses"]["200"]["body"]
    result = import_files(write_bodies(tmp_path, path.stem, [body]))

    resources = resources_of(result)
    if path.name == "ResourcesPropertiesQuery.json":
        # A `summarize` query returns counts, not resources: every row lacks id and type.
        assert resources == []
        assert messages(result)
        assert all("missing type" in message for message in messages(result))
        return
    assert messages(result) == []
    types = sorted(resource.type for resource in resources)
    if path.name == "ResourcesBasicQuery.json":
        # Resource Graph writes types in lower case; catalogued types get the catalogue's casing back.
        assert types == ["Microsoft.Network/publicIPAddresses", "Microsoft.Network/virtualNetworks",
                         "microsoft.network/networkinterfaces"]
    else:
        assert types == ["Microsoft.Storage/storageAccounts"]
        (account,) = resources
        assert set(account.errors) == {"supplementaryConfiguration.blobServices",
                                       "supplementaryConfiguration.fileServices"}
