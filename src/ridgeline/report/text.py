"""Safe rendering of attacker-controlled text (resource names, tags, policy text).

Anyone allowed to create resources chooses their names and tags, so a name can contain terminal escape
sequences, Rich markup or shell metacharacters. Every renderer passes such values through these helpers.
"""

from __future__ import annotations

import re
import shlex

from rich.markup import escape as rich_escape

from ridgeline.model.finding import Finding
from ridgeline.rules.model import Remediation, fill_template, template_names

# C0 control characters (newline and tab included: a name must not start a fake line of output), DEL,
# C1 controls, and the Unicode bidirectional overrides that can reorder text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_MULTILINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(value: object, *, multiline: bool = False) -> str:
    """Return `value` as text safe for a terminal and for Rich markup: control characters are shown escaped.

    With `multiline`, newlines are kept (for rule text such as Terraform snippets); names never need them.
    """
    return rich_escape(escape_controls(value, multiline=multiline))


def escape_controls(value: object, *, multiline: bool = False) -> str:
    """Return `value` as text whose control characters are shown escaped ("\\x1b"), for plain terminal output.

    With `multiline`, newlines are kept. Unlike `terminal_safe`, Rich markup is left alone, for text that
    does not go through Rich, such as log lines.
    """
    pattern = _CONTROL_MULTILINE if multiline else _CONTROL
    return pattern.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))


CLI_NAMES = {"aws": "AWS CLI", "azure": "Azure CLI", "gcp": "Google Cloud CLI"}
"""The command-line tool that runs a rule's `remediation.cli`, by the rule's provider."""


def cli_name(provider: str) -> str:
    """Return the heading for a rule's CLI command: the provider's command-line tool, or "CLI"."""
    return CLI_NAMES.get(provider, "CLI")


def placeholder_values(finding: Finding) -> dict[str, str]:
    """Return the values that fill `${name}`-style placeholders for a finding."""
    return {
        "name": finding.resource_name,
        "id": finding.resource_id,
        "short_id": short_id(finding.resource_id),
        "account": finding.account,
        "region": finding.region,
        "type": finding.resource_type,
    }


def render_remediation(remediation: Remediation, finding: Finding) -> dict[str, str]:
    """Fill a rule's remediation for one finding; values in the CLI command are shell-quoted."""
    values = placeholder_values(finding)
    cli = remediation.cli_for(finding.resource_type)
    # Only the values the command uses are quoted: reports fill this for every finding of a large scan.
    quoted = {key: shlex.quote(values[key]) for key in template_names(cli) if key in values}
    return {
        "text": fill_template(remediation.text, values),
        "cli": fill_template(cli, quoted),
        "terraform": remediation.terraform,
    }


def short_id(resource_id: str) -> str:
    """Return the last segment of an ARN-like id ("sg-0123" of "arn:aws:ec2:...:security-group/sg-0123")."""
    return resource_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
