"""Functions that rule conditions of any provider can call.

Plain operators (`equals`, `in`) judge an absent value as not matching, which suits settings whose absence
means their default. The functions here serve settings that have no default, where absence must make the
rule unknown (ERROR) rather than PASS or FAIL.
"""

from __future__ import annotations

from typing import Any

from ridgeline.rules.functions import Outcome, check_function


@check_function("known_value_in", path_args=("value",), literal_args=("values",), required=("value", "values"))
def known_value_in(value: Any, values: list[Any]) -> Outcome:
    """True when the value is one of `values`; unknown when the value is absent."""
    if not isinstance(values, list):
        return Outcome(None, "known_value_in needs a list of values")
    if value is None:
        return Outcome(None, "the value is missing, and this field has no documented default")
    return Outcome(value in values, f"the value is {value!r}")
