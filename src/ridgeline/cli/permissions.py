"""`ridgeline permissions`: the least-privilege policy a scan needs."""

from __future__ import annotations

import click
import orjson


@click.group()
def permissions() -> None:
    """Print the least-privilege policy a scan needs."""


@permissions.command("aws")
def permissions_aws() -> None:
    """Print the IAM policy (JSON) that grants exactly the read-only calls an AWS scan makes."""
    from ridgeline.providers.aws.permissions import scan_policy

    click.echo(orjson.dumps(scan_policy(), option=orjson.OPT_INDENT_2).decode())
