"""Make each built-in framework file list the rules whose `compliance` blocks claim its requirements.

Rule files are where a mapping is decided; the framework files repeat it so that a reader of one
framework finds every rule behind a requirement. Run this after adding or changing `compliance` blocks:

    .venv/bin/python tools/sync_framework_rules.py          # rewrite the files
    .venv/bin/python tools/sync_framework_rules.py --check  # exit 1 when a file is out of date

Listed rules that no longer claim the requirement are removed; the order of the remaining ones is kept
and new ones are appended. Only the `rules:` entries change; comments and everything else stay.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

from ridgeline.rules.loader import load_builtin_rules

FRAMEWORKS = Path(__file__).resolve().parents[1] / "src" / "ridgeline" / "compliance" / "frameworks"
_REQUIREMENT = re.compile(r'^  - id: "?([^"\s]+)"?\s*$')
_RULES_FLOW = re.compile(r"^    rules: \[(.*)\]\s*$")
_RULES_BLOCK = "    rules:"
_BLOCK_ITEM = re.compile(r"^      - (\S+)\s*$")
_FLOW_WIDTH = 116


def claims_by_framework() -> dict[str, dict[str, list[str]]]:
    """Return framework id -> requirement id -> the rules claiming it, in rule load order."""
    claims: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for rule in load_builtin_rules():
        for framework_id, requirement_ids in rule.compliance.items():
            for requirement_id in requirement_ids:
                claims[framework_id][requirement_id].append(rule.id)
    return claims


def sync_text(text: str, claimed: dict[str, list[str]]) -> str:
    """Return the framework file text with every requirement's `rules:` matching `claimed`."""
    lines = text.splitlines()
    output: list[str] = []
    requirement: str | None = None
    position = 0
    while position < len(lines):
        line = lines[position]
        match = _REQUIREMENT.match(line)
        if match:
            requirement = match.group(1)
        flow = _RULES_FLOW.match(line)
        if requirement is not None and (flow or line.rstrip() == _RULES_BLOCK):
            listed: list[str] = []
            if flow:
                listed = [item.strip() for item in flow.group(1).split(",") if item.strip()]
                position += 1
            else:
                position += 1
                while position < len(lines) and (item := _BLOCK_ITEM.match(lines[position])):
                    listed.append(item.group(1))
                    position += 1
            wanted = claimed.get(requirement, [])
            rules = [rule for rule in listed if rule in wanted] + [rule for rule in wanted if rule not in listed]
            output.extend(_render(rules, block=not flow))
            requirement = None
            continue
        output.append(line)
        position += 1
    return "\n".join(output) + "\n"


def _render(rules: list[str], *, block: bool) -> list[str]:
    # A list keeps the style it had, unless a flow list grows too long for one line.
    flow = f"    rules: [{', '.join(rules)}]"
    if not rules or (not block and len(flow) <= _FLOW_WIDTH):
        return [flow]
    return [_RULES_BLOCK, *(f"      - {rule}" for rule in rules)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report out-of-date files instead of rewriting")
    arguments = parser.parse_args()

    claims = claims_by_framework()
    stale = []
    for path in sorted(FRAMEWORKS.glob("*.yaml")):
        framework_id = path.stem
        text = path.read_text(encoding="utf-8")
        synced = sync_text(text, claims.get(framework_id, {}))
        if synced != text:
            stale.append(path.name)
            if not arguments.check:
                path.write_text(synced, encoding="utf-8")
    verb = "out of date" if arguments.check else "updated"
    print(f"{len(stale)} framework file(s) {verb}: {', '.join(stale) or 'none'}")
    return 1 if arguments.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
