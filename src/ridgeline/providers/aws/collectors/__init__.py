"""The AWS collectors, one module per service, listed explicitly so imports have no side effects."""

from __future__ import annotations

from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.collectors import s3


def all_collectors() -> list[CollectorSpec]:
    """Return every AWS collector, in a stable order."""
    return [s3.COLLECTOR]
