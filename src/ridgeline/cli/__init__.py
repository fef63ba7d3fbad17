"""The `ridgeline` command line: the main group and its logging; commands live in sibling modules."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ridgeline import __version__
from ridgeline.cli import compliance, diff, permissions, report, rules, scan, scan_azure, scan_gcp, watch
from ridgeline.cli.common import EXIT_GATE, EXIT_SETUP
from ridgeline.report.text import escape_controls
from ridgeline.store.database import StoreUnavailable


class _Main(click.Group):
    """The main group: a database that cannot be opened ends any command with a message, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreUnavailable as error:
            click.echo(f"error: {escape_controls(error)}", err=True)
            ctx.exit(EXIT_SETUP)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ridgeline")
@click.option("-v", "--verbose", count=True, help="Log more: -v for progress details, -vv for debugging.")
def main(verbose: int) -> None:
    """Ridgeline: find the misconfigurations that expose your cloud.

    Scans cloud accounts through the providers' read-only APIs, evaluates posture rules (CIS
    Foundations and more) and reports findings with evidence and the exact remediation.

    \b
    Start with:  ridgeline demo          (deliberately misconfigured AWS, Azure and GCP resources)
    Then:        ridgeline scan aws      (your account, with the standard AWS credential chain)
                 ridgeline scan azure    (your subscriptions, with Azure's default credential chain)
                 ridgeline scan gcp      (your projects, with Application Default Credentials)
                 ridgeline scan file     (AWS Config, Azure Resource Graph or Resource Manager, and
                                          GCP Cloud Asset Inventory exports)
    """
    level = logging.WARNING - 10 * verbose
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_TerminalSafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=[handler])
    # botocore logs every retry at INFO and whole API responses at DEBUG, and responses can hold secrets
    # (Lambda environment variables, for one): never let it go below INFO, and keep it at WARNING unless
    # debugging.
    logging.getLogger("botocore").setLevel(logging.WARNING if verbose < 2 else logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.WARNING)



class _TerminalSafeFormatter(logging.Formatter):
    """A log formatter that shows control characters escaped, as the rest of the terminal output does.

    Messages name resources, files and keys, which the scanned accounts and files control: an escape
    sequence there could rewrite the terminal, and a newline could forge a log line.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return escape_controls(super().formatException(ei), multiline=True)

    def formatStack(self, stack_info: str) -> str:
        return escape_controls(super().formatStack(stack_info), multiline=True)


# Each command lives in its own module; they import only shared helpers, never this module.
scan.scan.add_command(scan_azure.azure)
scan.scan.add_command(scan_gcp.gcp)
main.add_command(scan.scan)
main.add_command(scan.demo)
main.add_command(rules.rules)
main.add_command(permissions.permissions)
main.add_command(compliance.compliance)
main.add_command(compliance.frameworks)
main.add_command(report.report)
main.add_command(diff.diff)
main.add_command(watch.watch)

__all__ = ["EXIT_GATE", "EXIT_SETUP", "main"]
