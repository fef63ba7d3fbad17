"""tools/sync_framework_rules.py rewrites only `rules:` lists, keeping order, style and everything else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "tools" / "sync_framework_rules.py"
_SPEC = importlib.util.spec_from_file_location("sync_framework_rules", _PATH)
assert _SPEC is not None
assert _SPEC.loader is not None
sync = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(sync)

TEXT = '''# comment stays
requirements:
  - id: "1.1"
    title: One
    automated: true
    rules: [old-rule, kept-rule]
  - id: "1.2"
    title: Two
    automated: true
    rules:
      - block-rule
  - id: "1.3"
    title: Three
    automated: false
    rules: []
'''


def test_lists_follow_claims_keeping_order_and_style() -> None:
    claimed = {"1.1": ["new-rule", "kept-rule"], "1.2": ["block-rule", "second-rule"]}

    result = sync.sync_text(TEXT, claimed)

    assert "# comment stays" in result
    assert "    rules: [kept-rule, new-rule]" in result
    assert "    rules:\n      - block-rule\n      - second-rule\n  - id: \"1.3\"" in result
    assert result.endswith("    rules: []\n")


def test_unchanged_text_is_returned_as_is() -> None:
    claimed = {"1.1": ["old-rule", "kept-rule"], "1.2": ["block-rule"]}

    assert sync.sync_text(TEXT, claimed) == TEXT
