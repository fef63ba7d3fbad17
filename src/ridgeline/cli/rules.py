"""`ridgeline rules`: list, show and validate rules, and list the check functions."""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from ridgeline.cli.common import EXIT_SETUP
from ridgeline.report.text import terminal_safe
from ridgeline.rules.loader import (
    RuleFileErrors,
    builtin_rule_files,
    expand_rule_paths,
    load_builtin_rules,
    load_rule_files,
)


@click.group()
def rules() -> None:
    """List, show and validate rules."""


@rules.command("list")
@click.option("--provider", help="Only rules of this provider (aws, azure, gcp).")
@click.option("--service", help="Only rules of this service (s3, iam, ec2, ...).")
@click.option("--category", help="Only rules of this category.")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_list(provider: str | None, service: str | None, category: str | None, output: str) -> None:
    """List the built-in rules."""
    selected = [rule for rule in load_builtin_rules()
                if (provider is None or rule.provider == provider)
                and (service is None or rule.service == service)
                and (category is None or rule.category == category)]
    if not selected:
        Console(stderr=True).print("[red]error:[/red] no rule matches these filters; "
                                   "`ridgeline rules list` without options shows every rule")
        raise SystemExit(EXIT_SETUP)
    if output == "json":
        click.echo(orjson.dumps([rule.to_dict() for rule in selected], option=orjson.OPT_INDENT_2).decode())
        return
    console = Console()
    ordered = sorted(selected, key=lambda r: (r.provider, r.service, r.id))
    if console.is_terminal and console.width >= 140:
        table = Table(title=f"{len(selected)} rules")
        table.add_column("Id", no_wrap=True)
        table.add_column("Severity", no_wrap=True)
        table.add_column("Category", no_wrap=True)
        table.add_column("Service", no_wrap=True)
        table.add_column("Title", overflow="fold")
        for rule in ordered:
            table.add_row(rule.id, rule.severity.value, rule.category, rule.service, terminal_safe(rule.title))
        console.print(table)
        return

    # Narrow terminals and pipes: two lines per rule, soft-wrapped, so no column is cut and a pipe gets
    # whole lines whatever width Rich assumes for it.
    console.print(f"[bold]{len(selected)} rules[/bold]")
    for rule in ordered:
        console.print(f"[bold]{rule.id}[/bold]  {rule.severity.value}, {rule.category}, {rule.service}",
                      soft_wrap=True)
        console.print(f"    {terminal_safe(rule.title)}", style="dim", soft_wrap=True)


@rules.command("show")
@click.argument("rule_id")
def rules_show(rule_id: str) -> None:
    """Show everything about one rule."""
    by_id = {rule.id: rule for rule in load_builtin_rules()}
    rule = by_id.get(rule_id)
    if rule is None:
        close = [known for known in by_id if rule_id in known][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else " `ridgeline rules list` shows every rule."
        Console(stderr=True).print(f"[red]error:[/red] no rule {terminal_safe(rule_id)!r}.{hint}")
        raise SystemExit(EXIT_SETUP)
    console = Console()

    def text(value: str) -> str:
        # Rule files may be an organisation's own: escape markup, keep their line breaks.
        return terminal_safe(value, multiline=True)

    console.print(f"[bold]{rule.id}[/bold]: {text(rule.title)}")
    console.print(f"severity {rule.severity.value}, category {rule.category}, {rule.provider} {rule.service}, "
                  f"resources {', '.join(rule.resource_types)}, scope {rule.scope}")
    console.print(f"\n[bold]Description[/bold]\n{text(rule.description)}\n\n[bold]Risk[/bold]\n{text(rule.risk)}")
    console.print(f"\n[bold]Remediation[/bold]\n{text(show_template(rule.remediation.text))}")
    # Commands and code are soft-wrapped: a line break Rich inserted would break a copied command.
    if rule.remediation.cli:
        console.print(f"\n[bold]CLI[/bold]\n{text(show_template(rule.remediation.cli))}", soft_wrap=True)
    for type_name, command in rule.remediation.cli_by_type.items():
        console.print(f"\n[bold]CLI for {text(type_name)}[/bold]\n{text(show_template(command))}", soft_wrap=True)
    if rule.remediation.terraform:
        console.print(f"\n[bold]Terraform[/bold]\n{text(rule.remediation.terraform)}", soft_wrap=True)
    if rule.compliance:
        mapped = "; ".join(f"{framework}: {', '.join(ids)}" for framework, ids in rule.compliance.items())
        console.print(f"\n[bold]Compliance[/bold]\n{text(mapped)}")
    if rule.references:
        console.print("\n[bold]References[/bold]\n" + text("\n".join(rule.references)))
    console.print(f"\n[dim]Defined in {terminal_safe(rule.source)}. Placeholders such as ${{name}} are filled in "
                  "per finding in reports.[/dim]")


def show_template(template: str) -> str:
    """Return a message or command template as a reader should see it: `$$` is a literal `$`."""
    return string.Template(template).safe_substitute({})


@rules.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def rules_validate(paths: tuple[Path, ...]) -> None:
    """Check rule files for errors (reported with file, line and field)."""
    files = expand_rule_paths(paths)
    # Custom rules may not reuse built-in ids. When a contributor validates the built-in files
    # themselves, each rule must not be reported as a duplicate of itself.
    builtin_files = {path.resolve() for path in builtin_rule_files()}
    reserved = [] if all(path.resolve() in builtin_files for path in files) else [
        rule.id for rule in load_builtin_rules()]
    try:
        loaded = load_rule_files(files, known_ids=reserved)
    except RuleFileErrors as error:
        for problem in error.errors:
            click.echo(problem.describe(), err=True)
        click.echo(f"{len(error.errors)} error(s)", err=True)
        raise SystemExit(1) from None
    click.echo(f"{len(loaded)} rule(s) valid")


@rules.command("functions")
def rules_functions() -> None:
    """List the analysis functions rule conditions can call with `check:`."""
    from ridgeline.rules.functions import all_check_functions

    console = Console()
    functions = all_check_functions()
    if console.is_terminal and console.width >= 140:
        table = Table(title="Check functions")
        table.add_column("Name", no_wrap=True)
        table.add_column("Path arguments")
        table.add_column("Other arguments")
        table.add_column("Description")
        for function in functions:
            table.add_row(function.name, ", ".join(function.path_args), _other_arguments(function.literal_args),
                          function.description)
        console.print(table)
        return

    # Narrow terminals and pipes: one block per function, soft-wrapped, so no name or argument is cut.
    console.print(f"[bold]{len(functions)} check functions[/bold]")
    for function in functions:
        console.print(f"[bold]{function.name}[/bold]", soft_wrap=True)
        console.print(f"    path arguments: {', '.join(function.path_args) or 'none'}; "
                      f"other arguments: {_other_arguments(function.literal_args) or 'none'}", soft_wrap=True)
        console.print(f"    {terminal_safe(function.description)}", style="dim", soft_wrap=True)


def _other_arguments(literal_args: Sequence[str]) -> str:
    return ", ".join(argument for argument in literal_args if argument != "subject")


