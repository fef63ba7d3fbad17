"""Whether a scan collected what a finding depends on completely: the test before calling a finding resolved."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from ridgeline.model.scan import ACCOUNT_SCOPE_TYPE, Completeness, Coverage


class CoverageIndex:
    """The coverage units of one scan, looked up by (account, region, service)."""

    def __init__(self, coverage: Sequence[Coverage], rule_services: Mapping[str, str],
                 scanned_regions: Sequence[str]) -> None:
        self._rule_services = rule_services
        self._scanned_regions = set(scanned_regions)
        self._units: dict[tuple[str, str, str], list[Coverage]] = defaultdict(list)
        self._by_service: dict[tuple[str, str], list[Coverage]] = defaultdict(list)
        for unit in coverage:
            self._units[(unit.account, unit.region, unit.service)].append(unit)
            self._by_service[(unit.account, unit.service)].append(unit)

    def incomplete_reason(self, rule_id: str, account: str, region: str, resource_type: str = "") -> str | None:
        """Return why the finding's (account, region, service) was not collected completely, or None if it was."""
        service = self._rule_services.get(rule_id)
        if service is None:
            return f"rule {rule_id} is not loaded, so its service is unknown"

        units = self._units.get((account, region, service), [])
        if not units and (region == "global" or region in self._scanned_regions):
            # A global service (S3) collects resources of every scanned region in its one "global" unit,
            # but skips buckets in regions outside the scan, which must not look deleted.
            units = self._units.get((account, "global", service), [])
        # An account-scope finding (region "global") of a regional service depends on every region's unit.
        if not units and resource_type == ACCOUNT_SCOPE_TYPE:
            units = self._by_service.get((account, service), [])
        if not units:
            return f"{service} was not scanned in account {account}, region {region}"

        for unit in units:
            if unit.status is not Completeness.COMPLETE:
                return f"{service} in account {account}, region {unit.region} was collected {unit.status.value}"
        return None
