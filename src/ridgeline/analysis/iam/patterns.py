"""IAM wildcard matching for Action, NotAction, Resource and NotResource values.

An IAM pattern uses ``*`` for any run of characters (also an empty one) and ``?`` for exactly one
character. Every other character is literal. Besides matching one name against a pattern, the policy
analyses need set questions such as "is some action matched by ``s3:Get*`` but by no Deny pattern",
which :func:`exists_string` answers exactly by walking all patterns as automata over one alphabet.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["PatternSet", "exists_string", "wildcard_match"]


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))

    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool) -> bool:
    """Return whether `value` matches the IAM wildcard `pattern` as a whole."""
    return _compile(pattern, ignore_case).fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class PatternSet:
    """A set of strings: those matching any of `patterns`, or every other string when `negated`.

    A statement's Action list is a plain set and its NotAction list a negated one.
    """

    patterns: tuple[str, ...]
    negated: bool = False

    def contains(self, value: str, *, ignore_case: bool) -> bool:
        """Return whether `value` belongs to the set."""
        matched = any(wildcard_match(pattern, value, ignore_case=ignore_case) for pattern in self.patterns)
        return matched != self.negated


# An automaton state is one position in one pattern: (pattern index, character index).
_State = frozenset[tuple[int, int]]

# Stands for every character that appears literally in none of the patterns. Such characters behave
# alike in every pattern, so one representative is enough to explore them.
_OTHER_CHARACTER = ""


def _closure(patterns: Sequence[str], states: set[tuple[int, int]]) -> _State:
    # A "*" may match the empty string, so a position before "*" also stands for the position after it.
    pending = list(states)
    closed = set(states)
    while pending:
        index, position = pending.pop()
        pattern = patterns[index]
        if position < len(pattern) and pattern[position] == "*":
            following = (index, position + 1)
            if following not in closed:
                closed.add(following)
                pending.append(following)
    return frozenset(closed)


def _step(patterns: Sequence[str], state: _State, symbol: str) -> _State:
    advanced: set[tuple[int, int]] = set()
    for index, position in state:
        pattern = patterns[index]
        if position >= len(pattern):
            continue
        char = pattern[position]
        if char == "*":
            advanced.add((index, position))
        elif char == "?" or char == symbol:
            advanced.add((index, position + 1))
    return _closure(patterns, advanced)


def _accepts(patterns: Sequence[str], state: _State) -> bool:
    return any(position == len(patterns[index]) for index, position in state)


def exists_string(
    required: Sequence[PatternSet],
    forbidden: Sequence[PatternSet] = (),
    *,
    ignore_case: bool,
) -> bool:
    """Return whether some non-empty string is in every `required` set and in none of `forbidden`.

    The search runs the subset construction of all sets in lockstep, so it is exact for any mix of
    plain and negated sets. Its cost grows with the product of the sets' reachable states, which
    stays small for the short patterns found in policies.
    """
    sets = [*required, *forbidden]
    expected = [True] * len(required) + [False] * len(forbidden)
    if ignore_case:
        pattern_lists = [tuple(pattern.lower() for pattern in item.patterns) for item in sets]
    else:
        pattern_lists = [item.patterns for item in sets]

    alphabet = {char for patterns in pattern_lists for pattern in patterns for char in pattern}
    alphabet -= {"*", "?"}
    symbols = [*sorted(alphabet), _OTHER_CHARACTER]

    def is_member(position: int, state: _State) -> bool:
        return _accepts(pattern_lists[position], state) != sets[position].negated

    def is_dead(states: tuple[_State, ...]) -> bool:
        # A set with no live automaton state keeps its membership for every longer string, so the
        # search below this point can never satisfy a set that needs the opposite membership.
        for position, state in enumerate(states):
            if not state and (not sets[position].negated) == expected[position]:
                return True
        return False

    start = tuple(_closure(patterns, {(index, 0) for index in range(len(patterns))}) for patterns in pattern_lists)
    seen = {start}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for symbol in symbols:
            following = tuple(_step(pattern_lists[position], state, symbol) for position, state in enumerate(current))
            # Membership is checked before the seen test: the start state is seen without having been
            # checked, because it stands for the empty string, which is no action or resource name.
            memberships = [is_member(position, state) for position, state in enumerate(following)]
            if memberships == expected:
                return True
            if following in seen or is_dead(following):
                continue
            seen.add(following)
            queue.append(following)
    return False
