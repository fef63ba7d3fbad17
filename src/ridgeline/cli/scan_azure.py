"""`ridgeline scan azure`: collect Azure subscriptions through Resource Graph and ARM, then evaluate and report."""

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


@click.command("azure")
@click.option("--subscription", "subscriptions", multiple=True, metavar="ID",
              help="Subscription id to scan (repeatable, or comma-separated) [default: every subscription the "
                   "credential can read].")
@click.option("--management-group", metavar="ID",
              help="Scan every subscription under this management group (not with --subscription).")
@click.option("--tenant", metavar="ID", help="Entra ID tenant to request tokens for [default: the credential's].")
@output_options
def azure(subscriptions: tuple[str, ...], management_group: str | None, tenant: str | None,
          **report_options: Any) -> None:
    """Scan Azure subscriptions through Resource Graph and read-only Resource Manager calls.

    Credentials come from DefaultAzureCredential: AZURE_* environment variables, workload identity,
    managed identity, Azure CLI (`az login`), Azure PowerShell or Azure Developer CLI.
    RIDGELINE_AZURE_ENDPOINT points the scan at another Resource Manager endpoint.
    """
    chosen = [item.strip() for value in subscriptions for item in value.split(",") if item.strip()]

    def collect(errors: Console) -> Collection:
        try:
            from ridgeline.providers.azure.scanner import AzureScanOptions, collect_azure
        except ImportError as error:
            raise ScanSetupError(f"the Azure scan needs the azure extra ({error.name} is missing): "
                                 "pip install 'ridgeline[azure]'") from error

        _quiet_sdk_logging()
        options = AzureScanOptions(subscriptions=chosen, management_group=management_group, tenant=tenant)
        with errors.status("Collecting Azure resources") as status:
            def report(done: int, total: int) -> None:
                status.update(f"Reading resource settings: {done}/{total}")

            collection = collect_azure(options, progress=report)
        incomplete = sum(1 for unit in collection.coverage if unit.status is not Completeness.COMPLETE)
        errors.print(f"Collected {len(collection.resources)} resource(s) from {len(collection.accounts)} "
                     f"subscription(s) with {collection.api_calls} request(s); {incomplete} of "
                     f"{len(collection.coverage)} unit(s) incomplete.")
        failed_types = [(unit.account, type_name, reason) for unit in collection.coverage
                        for type_name, reason in unit.failed_types.items()]
        for account, type_name, reason in failed_types[:_FAILURES_SHOWN]:
            errors.print(f"[yellow]not collected:[/yellow] {terminal_safe(type_name)} in subscription "
                         f"{terminal_safe(account)}: {terminal_safe(reason)}", soft_wrap=True)
        if len(failed_types) > _FAILURES_SHOWN:
            errors.print(f"[yellow]not collected:[/yellow] ... and {len(failed_types) - _FAILURES_SHOWN} more")
        return collection

    # The scope is stored with the scan, so `ridgeline report` and `diff` show what was scanned.
    run_scan(collect, scan_options={"subscriptions": chosen, "management_group": management_group, "tenant": tenant},
             **report_options)


def _quiet_sdk_logging() -> None:
    # The Azure SDK logs every request at INFO, and DefaultAzureCredential warns about each credential it
    # tried. The scan reports failures itself, so both stay quiet unless the user requested debug output.
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("azure").setLevel(logging.WARNING)
        logging.getLogger("azure.identity").setLevel(logging.ERROR)
