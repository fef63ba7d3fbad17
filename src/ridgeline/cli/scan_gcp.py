"""`ridgeline scan gcp`: collect GCP projects through Cloud Asset Inventory, then evaluate and report."""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.console import Console

from ridgeline.cli.common import output_options
from ridgeline.cli.scan import run_scan
from ridgeline.model.scan import Completeness
from ridgeline.providers.aws.scanner import Collection, ScanSetupError
from ridgeline.report.text import terminal_safe

_FAILURES_SHOWN = 10


@click.command("gcp")
@click.option("--project", "projects", multiple=True, metavar="ID",
              help="Project id (or number) to scan (repeatable, or comma-separated) [default: the project of the "
                   "Application Default Credentials].")
@click.option("--organization", metavar="ID",
              help="Scan everything under this organization (its number), not with --project or --folder.")
@click.option("--folder", metavar="ID",
              help="Scan everything under this folder (its number), not with --project or --organization.")
@click.option("--impersonate-service-account", metavar="EMAIL",
              help="Scan as this service account, with tokens the signed-in identity requests for it.")
@output_options
def gcp(projects: tuple[str, ...], organization: str | None, folder: str | None,
        impersonate_service_account: str | None, **report_options: Any) -> None:
    """Scan GCP projects through Cloud Asset Inventory and a few read-only API calls.

    Credentials are Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS (a service account
    key or workload identity federation file), `gcloud auth application-default login`, or the
    service account attached to the VM, GKE workload, Cloud Run service or function. RIDGELINE_GCP_ENDPOINT
    points the scan at another endpoint.
    """
    chosen = [item.strip() for value in projects for item in value.split(",") if item.strip()]

    def collect(errors: Console) -> Collection:
        try:
            from ridgeline.providers.gcp.scanner import GcpScanOptions, collect_gcp, is_container
        except ImportError as error:
            raise ScanSetupError(f"the GCP scan needs the gcp extra ({error.name} is missing): "
                                 "pip install 'ridgeline[gcp]'") from error

        _quiet_sdk_logging()
        options = GcpScanOptions(projects=chosen, organization=organization, folder=folder,
                                 impersonate_service_account=impersonate_service_account)
        with errors.status("Collecting GCP assets") as status:
            def report(done: int, total: int) -> None:
                status.update(f"Reading supplementary settings: {done}/{total}")

            collection = collect_gcp(options, progress=report)
        incomplete = sum(1 for unit in collection.coverage if unit.status is not Completeness.COMPLETE)
        projects = sum(1 for account in collection.accounts if not is_container(account))
        errors.print(f"Collected {len(collection.resources)} resource(s) from {projects} "
                     f"project(s) with {collection.api_calls} request(s); {incomplete} of "
                     f"{len(collection.coverage)} unit(s) incomplete.")
        _print_failures(collection, errors)
        return collection

    # The scope is stored with the scan, so `ridgeline report` and `diff` show what was scanned.
    run_scan(collect, scan_options={"projects": chosen, "organization": organization, "folder": folder,
                                    "impersonate_service_account": impersonate_service_account},
             **report_options)


def _print_failures(collection: Collection, errors: Console) -> None:
    # A listing failure marks every type of the project failed with one reason, so it is shown once per project.
    failures = dict.fromkeys((unit.account, reason) for unit in collection.coverage
                             for reason in unit.failed_types.values())
    for account, reason in list(failures)[:_FAILURES_SHOWN]:
        errors.print(f"[yellow]not collected:[/yellow] {terminal_safe(account)}: {terminal_safe(reason)}",
                     soft_wrap=True)
    if len(failures) > _FAILURES_SHOWN:
        errors.print(f"[yellow]not collected:[/yellow] ... and {len(failures) - _FAILURES_SHOWN} more")


def _quiet_sdk_logging() -> None:
    # google-auth warns about each credential source it could not use (the metadata server among them).
    # The scan reports a missing credential itself, so those stay quiet unless debug output was requested.
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("google.auth").setLevel(logging.ERROR)
        logging.getLogger("google.api_core").setLevel(logging.WARNING)
