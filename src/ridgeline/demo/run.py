"""`ridgeline demo`: an emulated AWS account scanned like a real one, and bundled Azure and GCP exports.

The AWS part runs moto's server and scans it over HTTP. Azure and GCP have no local emulator that
serves Resource Manager or Cloud Asset Inventory requests, so their part imports bundled inventory
exports, as `ridgeline scan file` does. The same rules judge them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ridgeline.demo.emulator import EmulatorUnavailable, emulator_environment, running_emulator
from ridgeline.demo.exports import export_files
from ridgeline.demo.seed import DEMO_REGIONS, seed_demo_account
from ridgeline.imports.report import ImportReport
from ridgeline.providers.aws.scanner import Collection

logger = logging.getLogger(__name__)

DemoUnavailable = EmulatorUnavailable

CLOUDS = ("aws", "azure", "gcp")
"""The clouds of the demo, in the order it judges them."""

NOT_EMULATED = ("accessanalyzer",)
"""Services moto 5.2.5 does not implement; the demo leaves them out unless asked (they would be ERROR)."""


@dataclass(frozen=True, slots=True)
class DemoEnvironment:
    """The running demo account."""

    endpoint: str
    regions: list[str]
    banner: str


@contextmanager
def demo_environment() -> Iterator[DemoEnvironment]:
    """Start the emulator, seed the demo account and point boto3 at it until the block ends."""
    with running_emulator() as emulator, emulator_environment(emulator.endpoint):
        counts = seed_demo_account(emulator.endpoint)
        banner = (
            f"Demo: emulated AWS account 123456789012 at {emulator.endpoint} (moto), seeded with "
            f"{sum(counts.values())} resources across {', '.join(DEMO_REGIONS)}; the emulator adds default VPCs, "
            "security groups and network ACLs of its own. Nothing leaves this machine. Not emulated, so not "
            f"scanned unless named in --services: {', '.join(NOT_EMULATED)}."
        )
        yield DemoEnvironment(endpoint=emulator.endpoint, regions=list(DEMO_REGIONS), banner=banner)


@dataclass(slots=True)
class BundledCloud:
    """The imported demo inventory of one cloud."""

    provider: str
    files: list[str] = field(default_factory=list)
    collection: Collection | None = None
    """None when no bundled file contains a resource of the chosen services."""

    report: ImportReport = field(default_factory=ImportReport)

    @property
    def banner(self) -> str:
        """Return the line that introduces this part of the demo."""
        export_kind = {"azure": "Azure Resource Manager", "gcp": "Cloud Asset Inventory"}[self.provider]
        if self.collection is None:
            return f"Demo: no bundled {export_kind} export contains resources of the chosen services; skipped."
        accounts = ", ".join(self.collection.accounts)
        return (f"Demo: {len(self.collection.resources)} resources of {accounts} from {len(self.files)} bundled "
                f"{export_kind} export(s), judged like `ridgeline scan file`. Nothing leaves this machine.")


def import_bundled(provider: str, services: Sequence[str] | None = None) -> BundledCloud:
    """Import the bundled exports of `provider`, keeping only `services` (all when None)."""
    from ridgeline.imports.collection import import_files

    bundled = BundledCloud(provider, files=[str(path) for path in export_files(provider)])
    if not bundled.files:
        return bundled
    result = import_files(bundled.files)
    bundled.report = result.report
    for collection in result.collections:
        if collection.provider == provider:
            bundled.collection = _only_services(collection, services) if services else collection
    return bundled


def _only_services(collection: Collection, services: Sequence[str]) -> Collection | None:
    chosen = set(services)
    coverage = [unit for unit in collection.coverage if unit.service in chosen]
    if not coverage:
        return None
    types = {type_name for unit in coverage for type_name in (*unit.resource_counts, *unit.failed_types)}
    resources = [resource for resource in collection.resources if resource.type in types]
    return Collection(provider=collection.provider, accounts=sorted({unit.account for unit in coverage}),
                      regions=sorted({resource.region for resource in resources if resource.region != "global"}),
                      resources=resources, coverage=coverage, duration_s=collection.duration_s)
