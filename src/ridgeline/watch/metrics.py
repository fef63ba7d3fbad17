"""Prometheus metrics of the watcher, in a registry of its own, served over HTTP on request."""

from __future__ import annotations

import logging
from typing import Any

try:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
except ImportError:  # pragma: no cover - the watch extra is missing
    CollectorRegistry = None  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
"""Seconds; the 5 s bucket is the end-to-end target."""


class MetricsUnavailable(RuntimeError):
    """prometheus_client is not installed; the message gives the install command."""


class WatchMetrics:
    """The watcher's counters, gauges and latency histogram."""

    def __init__(self) -> None:
        if CollectorRegistry is None:
            raise MetricsUnavailable("metrics need prometheus_client: pip install 'ridgeline[watch]'")
        self.registry = CollectorRegistry()
        registry = self.registry

        # Messages and their outcomes.
        self.received = Counter("ridgeline_watch_events_received", "Messages taken from the event source.",
                                registry=registry)
        self.processed = Counter("ridgeline_watch_events_processed",
                                 "Messages whose changes were stored, then deleted from the source.",
                                 registry=registry)
        self.failed = Counter("ridgeline_watch_events_failed", "Messages that could not be processed, by reason.",
                              ["reason"], registry=registry)
        self.unknown = Counter("ridgeline_watch_events_unknown",
                               "Well-formed events that change nothing Ridgeline collects.", registry=registry)
        self.skipped = Counter("ridgeline_watch_events_skipped",
                               "Events left out on purpose (failed calls, other accounts or regions), by reason.",
                               ["reason"], registry=registry)
        self.coalesced = Counter("ridgeline_watch_events_coalesced",
                                 "Resource changes merged into a change of the same resource already pending.",
                                 registry=registry)

        # Timing and health.
        self.latency = Histogram("ridgeline_watch_event_latency_seconds",
                                 "From the event entering the source to its findings being stored.",
                                 buckets=LATENCY_BUCKETS, registry=registry)
        self.source_up = Gauge("ridgeline_watch_source_up", "1 when the last call to the event source worked.",
                               registry=registry)
        self.lag = Gauge("ridgeline_watch_lag_seconds",
                         "Age of the oldest message in the last batch when its processing started.", registry=registry)
        self.last_full_scan = Gauge("ridgeline_watch_last_full_scan_timestamp_seconds",
                                    "When the last successful full scan finished (Unix time).", registry=registry)
        self.lease_held = Gauge("ridgeline_watch_lease_held",
                                "1 while the watcher of a provider holds its lease; 0 in standby or after a loss.",
                                ["provider"], registry=registry)

        # Work done.
        self.full_scans = Counter("ridgeline_watch_full_scans", "Full scans run, by outcome.", ["outcome"],
                                  registry=registry)
        self.increments = Counter("ridgeline_watch_increments", "Increments stored.", registry=registry)
        self.recollected = Counter("ridgeline_watch_resources_recollected", "Resources collected again.",
                                   registry=registry)
        self.notifications = Counter("ridgeline_watch_notifications", "Notifications submitted, by event.",
                                     ["event"], registry=registry)

        self._server: Any = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics on `host`:`port` (0 picks a free port); return the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        bound = int(server.server_address[1])
        logger.info("metrics served on http://%s:%d/metrics", host, bound)
        return bound

    def close(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Return a sample's value (0 when absent), such as "ridgeline_watch_events_received_total"."""
        value = self.registry.get_sample_value(name, labels or {})
        return 0.0 if value is None else float(value)
