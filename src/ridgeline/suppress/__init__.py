"""Suppressions: accepted FAIL findings, each with a mandatory reason and an optional expiry.

A suppression file lists which findings to mute, by rule, account, region, resource and tags. A scan
turns the FAIL findings they match into MUTED ones and reports the expired and the unused suppressions.
`ridgeline.suppress.terminal` prints that report; it is not imported here because the report package
imports the pipeline, which imports this package.
"""

from ridgeline.suppress.apply import apply_suppressions, muted_reason
from ridgeline.suppress.loader import SuppressionErrors, load_suppressions
from ridgeline.suppress.model import Pattern, Suppression, SuppressionReport

__all__ = [
    "Pattern",
    "Suppression",
    "SuppressionErrors",
    "SuppressionReport",
    "apply_suppressions",
    "load_suppressions",
    "muted_reason",
]
