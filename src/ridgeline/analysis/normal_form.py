"""Coverage between filters in disjunctive normal form, shared by CloudWatch Logs and Cloud Logging filters.

A normal form is a set of conjunctions (sets of terms); an entry matches it when it satisfies every term
of one conjunction. Each filter language supplies its own `implies(known, required)` test between terms.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TypeVar

Term = TypeVar("Term")


def form_covers(filter_form: Iterable[Collection[Term]], event_form: Iterable[Collection[Term]],
                implies: Callable[[Term, Term], bool]) -> bool:
    """Return True when every entry that matches `event_form` also matches `filter_form`.

    Each conjunction of the event form must imply some conjunction of the filter form: every term that
    conjunction of the filter requires follows from a term the event conjunction already fixes.
    """
    filter_conjunctions = list(filter_form)
    return all(
        any(all(any(implies(known, required) for known in event_terms) for required in filter_terms)
            for filter_terms in filter_conjunctions)
        for event_terms in event_form
    )
