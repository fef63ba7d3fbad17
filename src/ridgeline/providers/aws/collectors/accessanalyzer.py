"""IAM Access Analyzer: the analyzers of each region, from ListAnalyzers.

Analyzers become `AWS::AccessAnalyzer::Analyzer` items whose `configuration` is the ListAnalyzers entry
(`arn`, `name`, `type`, `status`, `createdAt`, ...) and whose tags come from the entry's tag map.
"""

from __future__ import annotations

import logging
from typing import Any

from ridgeline.model.resource import Resource
from ridgeline.providers.aws.calls import CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.shape import config_shape
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

ANALYZER = "AWS::AccessAnalyzer::Analyzer"

CALLS = api_calls("accessanalyzer", "ListAnalyzers=access-analyzer:ListAnalyzers")


def collect(unit: UnitContext) -> None:
    """Collect the region's analyzers of every type."""
    client = unit.client("accessanalyzer")
    try:
        analyzers = unit.paginate(client, "ListAnalyzers", "analyzers")
    except CallFailed as failure:
        if _is_html_page(failure):
            # The endpoint is not an Access Analyzer endpoint (moto 5.2 has no Access Analyzer and returns
            # HTTP 500 with an HTML error page), so the analyzers are unknown, never "none".
            failure.message = (f"the endpoint responded with HTTP {failure.code} with an HTML page instead of an "
                               "Access Analyzer response; it does not implement Access Analyzer")
        unit.fail_type(ANALYZER, failure)
        return

    for analyzer in analyzers:
        unit.add(analyzer_resource(unit, analyzer))


def _is_html_page(failure: CallFailed) -> bool:
    return failure.message.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


def analyzer_resource(unit: UnitContext, analyzer: dict[str, Any]) -> Resource:
    """Build the `AWS::AccessAnalyzer::Analyzer` item of one ListAnalyzers entry."""
    # Tag keys are the user's own, so they stay out of the camelCase conversion.
    tags = analyzer.get("tags") or {}
    configuration = config_shape({key: value for key, value in analyzer.items() if key != "tags"})
    return unit.new_resource(ANALYZER, analyzer["arn"], analyzer.get("name") or analyzer["arn"].rsplit("/", 1)[-1],
                             configuration=configuration, tags={str(k): str(v) for k, v in tags.items()})


COLLECTOR = CollectorSpec(
    service="accessanalyzer",
    global_service=False,
    calls=CALLS,
    resource_types=(ANALYZER,),
    collect=collect,
    description="IAM Access Analyzer analyzers per region",
)
