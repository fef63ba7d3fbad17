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


@permissions.command("azure")
@click.option("--assignable-scope", "scopes", multiple=True, metavar="SCOPE",
              help="Scope the role may be assigned at, e.g. /subscriptions/ID or "
                   "/providers/Microsoft.Management/managementGroups/ID (repeatable) [default: a placeholder].")
def permissions_azure(scopes: tuple[str, ...]) -> None:
    """Print the custom role (JSON for `az role definition create`) with exactly the read actions an Azure scan uses."""
    # The role is derived from declarations that import no Azure SDK, so this works without the azure extra.
    from ridgeline.providers.azure.permissions import BUILTIN_NOTE, scan_role

    click.echo(orjson.dumps(scan_role(scopes), option=orjson.OPT_INDENT_2).decode())
    click.echo(BUILTIN_NOTE, err=True)


@permissions.command("gcp")
def permissions_gcp() -> None:
    """Print the custom IAM role (JSON for `gcloud iam roles create --file`) with the permissions a GCP scan uses."""
    from ridgeline.providers.gcp.permissions import PREDEFINED_NOTE, scan_role

    click.echo(orjson.dumps(scan_role(), option=orjson.OPT_INDENT_2).decode())
    click.echo(PREDEFINED_NOTE, err=True)
