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


def _translate(pattern: str) -> str:
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return "".join(parts)


@lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(_translate(pattern), flags)


@lru_cache(maxsize=1024)
def _compile_any(patterns: tuple[str, ...], ignore_case: bool) -> re.Pattern[str]:
    # One alternation per pattern list, so testing a name against a long Action list is one match.
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("|".join(f"(?:{_translate(pattern)})" for pattern in patterns), flags)


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
        matched = bool(self.patterns) and _compile_any(self.patterns, ignore_case).fullmatch(value) is not None
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

    The result is exact for any mix of plain and negated sets. Plain sets are first split into single
    patterns, then the subset construction of all sets runs in lockstep. Its cost grows with the
    product of the sets' reachable states, which stays small for the short patterns found in policies.
    """
    # Analyses ask the same question for each principal of a statement, so results are cached.
    return _exists_string(tuple(required), tuple(forbidden), ignore_case)


def _is_universal(item: PatternSet) -> bool:
    return not item.negated and any(set(pattern) == {"*"} for pattern in item.patterns)


def _is_literal(pattern: str) -> bool:
    return "*" not in pattern and "?" not in pattern


@lru_cache(maxsize=4096)
def _exists_string(required: tuple[PatternSet, ...], forbidden: tuple[PatternSet, ...], ignore_case: bool) -> bool:
    # Every non-empty string is in a "*" set, so such a set adds no constraint while another remains.
    narrowing = tuple(item for item in required if not _is_universal(item))
    if narrowing != required and (narrowing or forbidden):
        required = narrowing or required[:1]

    # A string is in a plain set when it matches one of its patterns, so the question splits into one
    # small search per pattern instead of one search over the product of all of them.
    for position, item in enumerate(required):
        if item.negated or len(item.patterns) < 2:
            continue
        return any(
            _exists_string(
                (*required[:position], PatternSet((pattern,)), *required[position + 1 :]), forbidden, ignore_case
            )
            for pattern in item.patterns
        )

    for item in required:
        if item.negated or len(item.patterns) != 1:
            continue
        anchor = item.patterns[0]

        # A pattern without wildcards is one string, which can be tested directly.
        if _is_literal(anchor):
            return (
                bool(anchor)
                and all(other.contains(anchor, ignore_case=ignore_case) for other in required)
                and not any(other.contains(anchor, ignore_case=ignore_case) for other in forbidden)
            )

        # Every candidate matches `anchor`, so patterns of other sets that cannot overlap it never
        # decide a membership and can be left out of the search.
        required = tuple(_keep_overlapping(other, anchor, ignore_case) for other in required)
        forbidden = tuple(_keep_overlapping(other, anchor, ignore_case) for other in forbidden)
        break

    return _search(required, forbidden, ignore_case)


def _literal_ends(pattern: str) -> tuple[str, str]:
    """Return the literal text before the first wildcard and after the last one."""
    positions = [index for index, char in enumerate(pattern) if char in "*?"]
    if not positions:
        return pattern, pattern
    return pattern[: positions[0]], pattern[positions[-1] + 1 :]


def _keep_overlapping(item: PatternSet, anchor: str, ignore_case: bool) -> PatternSet:
    # Two patterns can share a string only if their literal starts agree and their literal ends agree,
    # so this keeps every overlapping pattern and drops most others (for example other services).
    if ignore_case:
        anchor = anchor.lower()
    anchor_start, anchor_end = _literal_ends(anchor)

    kept: list[str] = []
    for pattern in item.patterns:
        start, end = _literal_ends(pattern.lower() if ignore_case else pattern)
        if not (start.startswith(anchor_start) or anchor_start.startswith(start)):
            continue
        if not (end.endswith(anchor_end) or anchor_end.endswith(end)):
            continue
        kept.append(pattern)
    return PatternSet(tuple(kept), negated=item.negated)


def _search(required: tuple[PatternSet, ...], forbidden: tuple[PatternSet, ...], ignore_case: bool) -> bool:
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
