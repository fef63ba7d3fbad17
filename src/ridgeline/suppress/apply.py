"""Apply suppressions to the findings of a scan: matching FAIL findings become MUTED."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.suppress.model import Suppression, SuppressionReport

logger = logging.getLogger(__name__)


def muted_reason(suppression: Suppression) -> str:
    """Return the text stored in a muted finding: the reason, the suppression's label and its ticket."""
    origin = f"suppression {suppression.label}"
    if suppression.ticket:
        origin += f", ticket {suppression.ticket}"
    return f"{suppression.reason} ({origin})"


def apply_suppressions(findings: Sequence[Finding], resources: Sequence[Resource],
                       suppressions: Sequence[Suppression], *, today: date) -> SuppressionReport:
    """Mute the FAIL findings that an active suppression matches, in place; return what was done.

    Only FAIL findings are muted: a PASS needs no suppression, and an ERROR means that the rule could
    not look, so muting it would hide a gap in the scan. `today` (UTC) decides which suppressions expired.
    """
    active = [suppression for suppression in suppressions if suppression.active_on(today)]
    expired = [suppression for suppression in suppressions if not suppression.active_on(today)]
    for suppression in expired:
        logger.info("suppression %s expired on %s and no longer applies", suppression.label, suppression.expires)

    # Findings do not carry tags, so tag matchers read them from the resource with the finding's id.
    tags_by_resource = {resource.id: resource.tags for resource in resources} if any(s.tags for s in active) else {}

    matched = [0] * len(active)
    muted = 0
    for finding in findings:
        if finding.status is not Status.FAIL:
            continue
        tags = tags_by_resource.get(finding.resource_id, {})
        first: Suppression | None = None
        for position, suppression in enumerate(active):
            if suppression.matches(finding, tags):
                matched[position] += 1
                first = first or suppression
        if first is not None:
            finding.status = Status.MUTED
            finding.muted_reason = muted_reason(first)
            muted += 1

    unused = [suppression for suppression, count in zip(active, matched, strict=True) if count == 0]
    logger.info("suppressions: %d finding(s) muted, %d expired, %d unused", muted, len(expired), len(unused))
    return SuppressionReport(
        muted=muted,
        matched={suppression.label: count for suppression, count in zip(active, matched, strict=True)},
        expired=expired,
        unused=unused,
    )
