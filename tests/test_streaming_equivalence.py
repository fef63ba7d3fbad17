"""Streamed evaluation of imported files gives the findings of importing them whole and evaluating after.

`ridgeline scan file --no-store` evaluates each resource as soon as its importer has finished it
(`ridgeline.pipeline.evaluate_files`). These tests compare it with the whole-import path
(`import_files`, then `evaluate_collection`) on mixed exports of a few thousand resources made by the
scale benchmark's generators, in several file orders and with inputs that force the fallback.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from ridgeline.cli import main
from ridgeline.imports.collection import import_files
from ridgeline.imports.evaluate import import_and_evaluate
from ridgeline.imports.streaming import StreamingEvaluation
from ridgeline.model.finding import Finding
from ridgeline.model.resource import Resource
from ridgeline.pipeline import ScanResult, evaluate_collection, evaluate_files
from ridgeline.providers.gcp import catalog as gcp_catalog
from ridgeline.rules.engine import Engine
from ridgeline.rules.loader import load_builtin_rules
from ridgeline.store.database import Store

REPO = Path(__file__).resolve().parents[1]
RESOURCES = 3000
SEED = 7


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_scale", REPO / "benchmarks" / "import_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    generator = _generator()
    work = tmp_path_factory.mktemp("exports")
    return {provider: generator.ensure_export(work, provider, RESOURCES, SEED)[1] for provider in ("gcp", "azure")}


@pytest.fixture(scope="module")
def rules() -> list[Any]:
    return load_builtin_rules()


def _finding_key(finding: Finding) -> tuple[str, ...]:
    return (finding.id, finding.status.value, finding.rule_id, finding.severity.value, finding.category,
            finding.provider, finding.account, finding.region, finding.resource_id, finding.resource_type,
            finding.resource_name, finding.message, json.dumps(finding.evidence, sort_keys=True, default=str),
            finding.muted_reason)


def _compare(files: Sequence[Path], rules: list[Any]) -> dict[str, bool]:
    """Assert that both paths give the same findings, coverage and report; return which providers streamed."""
    sources = [str(path) for path in files]
    whole = import_files(sources)
    expected: list[ScanResult] = [evaluate_collection(collection, rules, store=None)
                                  for collection in whole.collections]
    streamed = evaluate_files(sources, rules)

    assert [result.scan.provider for result in streamed.results] == [result.scan.provider for result in expected]
    for before, after in zip(expected, streamed.results, strict=True):
        assert sorted(map(_finding_key, after.findings)) == sorted(map(_finding_key, before.findings))
        assert [(f.id, f.status) for f in after.findings] == [(f.id, f.status) for f in before.findings]
        assert after.collection.coverage == before.collection.coverage
        assert after.collection.accounts == before.collection.accounts
        assert after.collection.regions == before.collection.regions
        assert len(after.collection.resources) == len(before.collection.resources)
        assert after.scan.complete == before.scan.complete

    report, streamed_report = whole.report, streamed.imported.report
    assert streamed_report.imported == report.imported
    assert streamed_report.not_imported == report.not_imported
    assert streamed_report.skipped == report.skipped
    assert streamed_report.folded == report.folded
    assert streamed_report.incomplete == report.incomplete
    assert sorted(map(str, streamed_report.errors)) == sorted(map(str, report.errors))
    return streamed.streamed


def test_gcp_export_streams_same_findings(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    assert _compare(exports["gcp"], rules) == {"gcp": True}


def test_gcp_policy_file_first_same_findings(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    assert _compare(list(reversed(exports["gcp"])), rules) == {"gcp": True}


def test_gcp_without_policies_same_findings(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    # No IAM policy at all makes every policy unknown, which is known only at the end of the import.
    resources_only = [path for path in exports["gcp"] if path.name == "resources.json"]

    assert _compare(resources_only, rules) == {"gcp": True}


def test_azure_export_streams_same_findings(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    assert _compare(exports["azure"], rules) == {"azure": True}


def test_azure_children_first_same_findings(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    assert _compare(list(reversed(exports["azure"])), rules) == {"azure": True}


def test_mixed_providers_same_findings(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    mixed = [*exports["azure"][:2], *exports["gcp"], *exports["azure"][2:]]

    assert _compare(mixed, rules) == {"azure": True, "gcp": True}


def test_azure_page_twice_reads_whole(exports: dict[str, list[Path]], rules: list[Any], tmp_path: Path) -> None:
    # The same page under another name repeats every id: the later item replaces the earlier one, which
    # streaming cannot undo, so the Azure files are imported whole.
    copy = tmp_path / "page-again.json"
    shutil.copy(exports["azure"][1], copy)

    assert _compare([*exports["azure"], copy], rules) == {"azure": False}


def test_gcp_policy_after_resource_reads_whole(exports: dict[str, list[Path]], rules: list[Any],
                                               tmp_path: Path) -> None:
    # A policy line after the resource content of its asset, in a file that starts with resources.
    resources = next(path for path in exports["gcp"] if path.name == "resources.json")
    first = json.loads(resources.read_text().splitlines()[0])
    late_policy = {"name": first["name"], "asset_type": first["asset_type"],
                   "iam_policy": {"bindings": [{"role": "roles/viewer", "members": ["allUsers"]}]}}
    mixed = tmp_path / "mixed.json"
    mixed.write_text(resources.read_text() + json.dumps(late_policy) + "\n")

    assert _compare([mixed], rules) == {"gcp": False}


def test_gzip_policy_file_streams(exports: dict[str, list[Path]], rules: list[Any], tmp_path: Path) -> None:
    packed = tmp_path / "iam_policy.json.gz"
    policy = next(path for path in exports["gcp"] if path.name == "iam_policy.json")
    packed.write_bytes(gzip.compress(policy.read_bytes()))
    resources = next(path for path in exports["gcp"] if path.name == "resources.json")

    assert _compare([resources, packed], rules) == {"gcp": True}


def test_streaming_keeps_only_lookup_targets(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    engine = Engine(rules)
    evaluation = StreamingEvaluation(engine, "gcp", service_of=gcp_catalog.service_of)
    disk = Resource(provider="gcp", account="p", region="us-central1", type="compute.googleapis.com/Disk",
                    id="//compute.googleapis.com/projects/p/zones/us-central1-a/disks/d", name="d",
                    configuration={"name": "d", "diskEncryptionKey": {"sha256": "x"}}, tags={"critical": "true"})
    bucket = Resource(provider="gcp", account="p", region="us", type="storage.googleapis.com/Bucket",
                      id="//storage.googleapis.com/b", name="b",
                      configuration={"name": "b", "retentionPolicy": {"isLocked": True}, "acl": [{"x": 1}]})

    evaluation.add(disk, order=0)
    evaluation.add(bucket, order=1)

    assert evaluation.held == 1
    assert [finding.resource_id for finding in evaluation.findings if finding.resource_id == disk.id]
    kept = evaluation._held[0][1]
    assert kept.id == bucket.id
    assert kept.configuration["retentionPolicy"] == {"isLocked": True}
    assert "acl" not in kept.configuration


def test_bodiless_resources_keep_counts(exports: dict[str, list[Path]], rules: list[Any]) -> None:
    evaluated = import_and_evaluate([str(path) for path in exports["azure"]], Engine(rules))

    resources = evaluated.result.collections[0].resources
    assert len(resources) == sum(evaluated.result.report.imported.values())
    assert all(resource.configuration == {} for resource in resources)


def test_scan_file_no_store_cli(exports: dict[str, list[Path]], tmp_path: Path) -> None:
    output = tmp_path / "out"
    arguments = ["scan", "file", *map(str, exports["gcp"]), "--no-store", "--output-dir", str(output)]

    result = CliRunner().invoke(main, arguments)

    assert result.exit_code == 0, result.output
    report = json.loads(next(output.glob("ridgeline-gcp-*.json")).read_text())
    assert report["summary"]["resources"] == RESOURCES
    whole = import_files([str(path) for path in exports["gcp"]])
    expected = evaluate_collection(whole.collections[0], load_builtin_rules(), store=None)
    assert sorted(finding["id"] for finding in report["findings"]) == sorted(f.id for f in expected.findings)


def _documents(resources: Sequence[Resource]) -> list[str]:
    return sorted(json.dumps(resource.to_dict(), sort_keys=True, default=str) for resource in resources)


@pytest.mark.parametrize("case", ["gcp", "gcp-resources-only", "azure", "mixed"])
def test_stored_streamed_scan_saves_whole_resources(exports: dict[str, list[Path]], rules: list[Any],
                                                    tmp_path: Path, case: str) -> None:
    # A stored `scan file` streams too: the resources it saves must be those of the whole import, with
    # the facts known only at the end (project ids for numbers, unknown IAM policies) applied.
    files = {"gcp": exports["gcp"], "azure": exports["azure"], "mixed": [*exports["azure"], *exports["gcp"]],
             "gcp-resources-only": [path for path in exports["gcp"] if path.name == "resources.json"]}[case]
    sources = [str(path) for path in files]
    store = Store(f"sqlite:///{tmp_path / 'scans.db'}")

    streamed = evaluate_files(sources, rules, store=store)
    whole = import_files(sources)

    assert all(streamed.streamed.values())
    by_provider = {collection.provider: collection for collection in whole.collections}
    for result in streamed.results:
        stored = store.load_resources(result.scan.id)
        assert _documents(stored) == _documents(by_provider[result.scan.provider].resources)
        assert len(store.load_findings(result.scan.id)) == len(result.findings)


def test_scan_file_stored_cli(exports: dict[str, list[Path]], tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'scans.db'}"
    arguments = ["scan", "file", *map(str, exports["azure"]), "--database", database,
                 "--output-dir", str(tmp_path / "out")]

    result = CliRunner().invoke(main, arguments)

    assert result.exit_code == 0, result.output
    [scan] = Store(database).list_scans()
    # Child resources (blob services, diagnostic settings) are folded into their parents.
    whole = import_files([str(path) for path in exports["azure"]])
    assert len(Store(database).load_resources(scan.id)) == len(whole.collections[0].resources)
