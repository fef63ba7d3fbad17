"""`fill_template` fills rule messages and commands exactly as `string.Template.safe_substitute` would."""

from __future__ import annotations

import random
import string

import pytest

from ridgeline.rules.model import fill_template

_PIECES = ["$", "$$", "${name}", "$name", "${id}", "$id", "x", "{", "}", "${", "$ ", "${bad", "$1", "a b",
           "$region", "${unknown}", "$unknown", "é"]
_VALUES = {"name": "N$me ${id}", "id": "I", "region": "R"}


@pytest.mark.parametrize("seed", range(5))
def test_same_as_safe_substitute(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(2000):
        template = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8)))

        assert fill_template(template, _VALUES) == string.Template(template).safe_substitute(_VALUES), template


def test_values_are_not_filled_again() -> None:
    # A resource name is attacker-controlled: a placeholder inside it stays text.
    assert fill_template("${name} is public", {"name": "${id}", "id": "x"}) == "${id} is public"
