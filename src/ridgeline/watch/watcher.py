"""The watcher: full scans on a schedule and, between them, change events applied as they arrive.

Two threads share the work. The receiving thread takes messages from the event source, parses them,
and queues their changes in the `Coalescer`. The applying thread (the caller of `run`) runs the full
scans and applies the queued changes in batches. For each batch it collects the named resources again
and evaluates only the rules they affect. Then it stores an increment, moves the findings through their
life cycle and submits notifications. A message is deleted from the source only after its changes are
stored, so a crash or a kill at any point loses no event: the source hands an undeleted message out
again after its lease.

With a dispatcher that has the store, the notifications are written to the store's outbox in the
transaction that saves the life-cycle states. Each start first queues what an earlier run left
undelivered, so a crash loses no notification either.

With a `WatcherLease`, the watcher first takes the lease of its provider and scope (see
`ridgeline.watch.lease`), so that a second watcher of the same scope on the same database does not run
beside it, and it stops when another watcher takes the lease over.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import SQLAlchemyError

from ridgeline.history.lifecycle import LifecycleUpdate, PartialScope, plan_lifecycle, save_lifecycle
from ridgeline.history.snapshot import IncrementInfo, increment_info, increments_of, load_snapshot
from ridgeline.model.finding import Finding, Status
from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.notify import Dispatcher, Event, Notification
from ridgeline.pipeline import evaluate_collection
from ridgeline.providers.aws.scanner import RefreshOutcome, RefreshRequest, ScanSetupError
from ridgeline.rules.model import Rule
from ridgeline.store.database import OutboxRow, Store, StoredScan
from ridgeline.store.leases import LeaseRecord
from ridgeline.suppress import Suppression, apply_suppressions
from ridgeline.watch.backends import Backend, ImportOutcome
from ridgeline.watch.coalesce import Batch, Coalescer, PendingMessage
from ridgeline.watch.events import ALL, EventSource, MalformedEvent, Parser, ReceivedMessage, SourceUnavailable
from ridgeline.watch.increment import Evaluation, IncrementalEvaluator
from ridgeline.watch.lease import LeaseHeld, WatcherLease
from ridgeline.watch.metrics import WatchMetrics
from ridgeline.watch.state import Base, LiveState, resource_key

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class WatchSettings:
    """Timing and limits of the watcher."""

    full_scan_interval: float = 24 * 3600.0
    """Seconds between the starts of two full scans."""

    initial_scan: bool = True
    """Run a full scan at start; without it, the watcher starts from the store's latest snapshot."""

    coalesce_window: float = 1.0
    """Seconds a change waits for more changes of the same resource before it is applied."""

    max_messages: int = 10
    receive_wait: float = 5.0
    """Seconds one receive call waits for messages; it also bounds how long a shutdown waits for the receiver."""

    max_pending: int = 1000
    """Messages held before the receiver stops taking more."""

    retry_delay: float = 30.0
    """Seconds before a message whose resources could not be collected is handed out again."""

    max_receives: int = 5
    """Receives after which such a message is deleted and counted as failed; the next full scan covers it."""

    source_backoff_max: float = 60.0
    """Maximum wait, in seconds, between two attempts to reach an event source that is down."""

    failed_scan_retry: float = 300.0
    """Seconds before a full scan that failed is tried again (or the interval, if shorter)."""

    shutdown_timeout: float = 30.0
    """Seconds a shutdown waits for the receiver and the notifiers."""


@dataclass(slots=True)
class IncrementResult:
    """The outcome of one batch, for logs and tests."""

    scan: StoredScan | None = None
    update: LifecycleUpdate | None = None
    recollected: int = 0
    gone: int = 0
    failed_units: list[str] = field(default_factory=list)


class Watcher:
    """Keeps one provider account's findings current; see the module documentation."""

    def __init__(self, backend: Backend, store: Store, rules: Sequence[Rule], *, source: EventSource | None = None,
                 parser: Parser | None = None, dispatcher: Dispatcher | None = None,
                 metrics: WatchMetrics | None = None, suppressions: Sequence[Suppression] | None = None,
                 settings: WatchSettings | None = None, lease: WatcherLease | None = None) -> None:
        if (source is None) != (parser is None):
            raise ValueError("an event source needs a parser, and a parser needs a source")
        if dispatcher is not None and dispatcher.store is not None and dispatcher.store.url != store.url:
            # The outbox rows are written with the states through `store` and marked through the dispatcher's.
            raise ValueError("the dispatcher's store must be the watcher's store")
        if (lease is not None and dispatcher is not None and dispatcher.store is not None
                and dispatcher.instance_id != lease.instance_id):
            # A successor that takes the lease over takes the outbox claims of the same instance id.
            raise ValueError("the dispatcher and the lease must have the same instance id")
        self.backend = backend
        self.store = store
        self.rules = list(rules)
        self.rules_by_id = {rule.id: rule for rule in self.rules}
        self.source = source
        self.parser = parser
        self.dispatcher = dispatcher
        self.metrics = metrics or WatchMetrics()
        self.suppressions = list(suppressions) if suppressions is not None else None
        self.settings = settings or WatchSettings()
        self.lease = lease
        self.lease_refused: LeaseHeld | None = None
        """Set when another live watcher held the lease at start; `run` then returns without watching."""
        self.lease_lost = False
        """Set when another watcher took the lease over while this one ran; `run` then returns."""
        self.evaluator = IncrementalEvaluator(self.rules)
        self.coalescer = Coalescer()
        self.state: LiveState | None = None
        self.ready = threading.Event()
        """Set once the watcher has its starting state and takes events."""
        self._stop = threading.Event()
        self._scanning = threading.Event()
        """Set during a full scan: the receiver takes no messages, so none waits (and is received again) meanwhile."""
        self._receiver: threading.Thread | None = None
        self._started_at = datetime.now(UTC)
        self._outbox_recovered = False

    # Life of the watcher

    def stop(self) -> None:
        """Ask the watcher to stop; `run` returns once in-flight work is stored and pending messages released."""
        self._stop.set()

    def run(self) -> None:
        """Watch until `stop` is called: full scans on schedule, change events in between."""
        settings = self.settings
        logger.info("watcher starting for %s account(s) %s: full scan every %.0f s, source %s",
                    self.backend.provider, ",".join(self.backend.accounts) or "(from the first scan)",
                    settings.full_scan_interval, self.source.name if self.source else "none")
        next_scan = time.monotonic()
        self._started_at = datetime.now(UTC)
        try:
            if self.lease is not None and not self._take_lease():
                return
            # Notifications an earlier run stored but did not deliver go first, before any new work.
            self._outbox_housekeeping()
            if settings.initial_scan or not self._load_state():
                next_scan = self._scheduled_scan(initial=True)
            else:
                next_scan = time.monotonic() + settings.full_scan_interval
            self.ready.set()

            if self.source is not None:
                self._receiver = threading.Thread(target=self._receive_loop, name="ridgeline-receive", daemon=True)
                self._receiver.start()

            while not self._stop.is_set():
                wait = max(0.0, next_scan - time.monotonic())
                batch = self.coalescer.take(settings.coalesce_window, min(wait, 5.0), self._stop)
                if batch is not None:
                    self.apply(batch)
                if not self._stop.is_set() and time.monotonic() >= next_scan:
                    next_scan = self._scheduled_scan(initial=False)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        logger.info("watcher stopping")
        if self._receiver is not None:
            self._receiver.join(self.settings.shutdown_timeout + self.settings.receive_wait)
        # Changes taken but not applied go back to the source at once, for this or another watcher.
        pending = self.coalescer.drain()
        for item in pending.messages:
            self._release(item, 0)
        if pending.messages:
            logger.info("released %d message(s) that were not applied", len(pending.messages))
        if self.dispatcher is not None:
            self.dispatcher.close(self.settings.shutdown_timeout)
        if self.source is not None:
            self.source.close()
        self.backend.close()
        # After the dispatcher released its outbox claims, so that a successor finds both free.
        if self.lease is not None:
            self.lease.release()
            self.metrics.lease_held.labels(provider=self.backend.provider).set(0)
        logger.info("watcher stopped: %d message(s) received, %d processed, %d unknown, %d coalesced",
                    self.metrics.value("ridgeline_watch_events_received_total"),
                    self.metrics.value("ridgeline_watch_events_processed_total"),
                    self.metrics.value("ridgeline_watch_events_unknown_total"),
                    self.metrics.value("ridgeline_watch_events_coalesced_total"))

    def _take_lease(self) -> bool:
        """Take the watcher lease and start its heartbeat. Return False when a stop came first or the lease is taken.

        When another live watcher has the lease and this one is not a standby, `lease_refused` names the holder.
        """
        assert self.lease is not None
        self.metrics.lease_held.labels(provider=self.backend.provider).set(0)
        try:
            acquired = self.lease.acquire(self._stop)
        except LeaseHeld as error:
            logger.error("not watching: the lease of %s scope %r is held by live instance %s",
                         self.lease.provider, self.lease.scope, error.holder.instance_id)
            self.lease_refused = error
            return False
        if not acquired:
            return False
        self.metrics.lease_held.labels(provider=self.backend.provider).set(1)
        self.lease.start_heartbeat(self._on_lease_lost)
        return True

    def _on_lease_lost(self, _holder: LeaseRecord | None) -> None:
        self.lease_lost = True
        self.metrics.lease_held.labels(provider=self.backend.provider).set(0)
        self.stop()

    # Full scans

    def _scheduled_scan(self, *, initial: bool) -> float:
        """Run a full scan; return the monotonic time of the next one."""
        settings = self.settings
        self._scanning.set()
        try:
            self.full_scan()
        except (ScanSetupError, BotoCoreError, ClientError, SQLAlchemyError, OSError) as error:
            if initial and self.state is None and isinstance(error, ScanSetupError):
                # A setup error before anything was watched (no credentials, a wrong subscription id) is
                # a configuration to fix, not an outage to wait out.
                raise
            # A failed scan (credentials expired, the store unreachable) must not end a long-running
            # watcher; it is logged and tried again.
            self.metrics.full_scans.labels(outcome="failed").inc()
            retry = min(settings.failed_scan_retry, settings.full_scan_interval)
            logger.exception("full scan failed (%s: %s); next attempt in %.0f s", type(error).__name__, error, retry)
            if initial and self.state is None and not self._load_state():
                logger.error("no stored snapshot to start from either: change events wait for the next full scan")
            return time.monotonic() + retry
        finally:
            self._scanning.clear()
        self.metrics.full_scans.labels(outcome="complete").inc()
        # The outbox is tidied once per full scan, which keeps that work off the path of events.
        self._outbox_housekeeping()
        return time.monotonic() + settings.full_scan_interval

    def full_scan(self) -> StoredScan:
        """Collect everything, store it as a full scan, update the life cycle and start the state from it."""
        started = time.monotonic()
        logger.info("full scan starting")
        collection = self.backend.full_scan()
        result = evaluate_collection(collection, self.rules, store=self.store,
                                     options={"watch": {"mode": "full"}, "regions": collection.regions},
                                     suppressions=self.suppressions)
        update = self._update_lifecycle(result.scan, result.findings, collection.coverage, None, {})
        self.state = LiveState(collection.provider, collection.accounts, collection.regions, collection.resources,
                               collection.coverage, Base(result.scan.id))
        self.metrics.last_full_scan.set(time.time())
        logger.info("full scan %s stored: %d resource(s), %d finding(s), %d API call(s) in %.1f s; %d new, %d "
                    "reopened, %d resolved", result.scan.id, len(collection.resources), len(result.findings),
                    collection.api_calls, time.monotonic() - started, len(update.new), len(update.reopened),
                    len(update.resolved))
        return result.scan

    def _load_state(self) -> bool:
        """Start from the newest stored snapshot of the watched accounts; return False when there is none."""
        accounts = set(self.backend.accounts)
        for newest in self.store.list_scans(limit=200):
            if newest.provider != self.backend.provider or not accounts & set(newest.accounts):
                continue
            # Scan times have whole seconds, so the last increment is the one with the highest sequence.
            info = increment_info(newest)
            base_scan = self.store.get_scan(info.base_scan_id) if info is not None else newest
            chain = increments_of(self.store, base_scan) if base_scan is not None else []
            scan = chain[-1][0] if chain else newest
            try:
                snapshot = load_snapshot(self.store, scan.id)
            except KeyError as error:
                logger.warning("stored scan %s cannot be put together (missing scan %s); trying an older one",
                               scan.id, error)
                continue
            info = increment_info(scan)
            base = Base(info.base_scan_id, info.sequence) if info is not None else Base(scan.id)
            self.state = LiveState(scan.provider, scan.accounts, scan.regions, snapshot.resources, snapshot.coverage,
                                   base)
            logger.info("starting from stored snapshot %s (base %s, %d increment(s)): %d resource(s)", scan.id,
                        base.scan_id, base.sequence, len(self.state))
            return True
        logger.info("no stored snapshot of %s account(s) %s to start from", self.backend.provider,
                    ",".join(sorted(accounts)))
        return False

    # Receiving

    def _receive_loop(self) -> None:
        assert self.source is not None and self.parser is not None
        source, settings, metrics = self.source, self.settings, self.metrics
        failures = 0
        metrics.source_up.set(1)
        while not self._stop.is_set():
            if self._scanning.is_set() or len(self.coalescer) >= settings.max_pending:
                self._stop.wait(0.2)
                continue
            try:
                messages = source.receive(settings.max_messages, settings.receive_wait)
            except SourceUnavailable as error:
                failures += 1
                metrics.source_up.set(0)
                delay = min(settings.source_backoff_max, 2 ** min(failures - 1, 10)) * (0.5 + random.random() / 2)
                if failures == 1 or failures % 10 == 0:
                    logger.warning("event source %s is down (%d failed attempt(s)): %s; full scans go on, "
                                   "retrying in %.1f s", source.name, failures, error, delay)
                self._stop.wait(delay)
                continue
            if failures:
                logger.info("event source %s is back after %d failed attempt(s)", source.name, failures)
                failures = 0
            metrics.source_up.set(1)

            if self._stop.is_set():
                # Taken after the stop was asked: hand them back at once.
                for message in messages:
                    self._release(PendingMessage(message, [], time.time()), 0)
                if messages:
                    logger.info("released %d message(s) taken while stopping", len(messages))
                continue
            for message in messages:
                self._take(message)

    def _take(self, message: ReceivedMessage) -> None:
        assert self.source is not None and self.parser is not None
        self.metrics.received.inc()
        try:
            parsed = self.parser(message)
        except MalformedEvent as error:
            self.metrics.failed.labels(reason="malformed").inc()
            logger.warning("message %s from %s is malformed and is deleted: %s", message.message_id,
                           self.source.name, error)
            self._delete(message)
            return
        if parsed.unknown is not None:
            self.metrics.unknown.inc()
            logger.info("message %s: event %s changes nothing Ridgeline collects; deleted", message.message_id,
                        parsed.unknown)
            self._delete(message)
            return
        if parsed.skipped is not None or not parsed.events:
            self.metrics.skipped.labels(reason=parsed.skipped or "empty").inc()
            logger.debug("message %s skipped: %s", message.message_id, parsed.skipped or "no change")
            self._delete(message)
            return
        merged = self.coalescer.add(message, parsed.events)
        if merged:
            self.metrics.coalesced.inc(merged)

    def _delete(self, message: ReceivedMessage) -> None:
        assert self.source is not None
        try:
            self.source.delete(message)
        except SourceUnavailable as error:
            # Not deleted: the source hands it out again later, and applying it again changes nothing.
            logger.warning("%s; the message will be processed again", error)

    def _release(self, pending: PendingMessage, delay: float) -> None:
        if self.source is None:
            return
        try:
            self.source.release(pending.message, delay)
        except SourceUnavailable as error:
            logger.warning("%s; the message comes back when its lease ends", error)

    # Applying changes

    def apply(self, batch: Batch) -> IncrementResult:
        """Apply a batch of changes: collect, evaluate, store, update the life cycle, notify, then delete."""
        try:
            return self._apply(batch)
        except (SQLAlchemyError, OSError) as error:
            # Nothing was deleted from the source, so the messages come back and are applied again.
            self.metrics.failed.labels(reason="store").inc(len(batch.messages))
            logger.error("storing %d message(s) failed (%s: %s); they will be retried", len(batch.messages),
                         type(error).__name__, error)
            for item in batch.messages:
                self._release(item, self.settings.retry_delay)
            return IncrementResult()

    def _apply(self, batch: Batch) -> IncrementResult:
        result = IncrementResult()
        if self.state is None:
            # No starting state yet (the first full scan failed): the messages wait for a later attempt.
            for item in batch.messages:
                self._release(item, self.settings.retry_delay)
            return result

        started = time.monotonic()
        oldest = batch.oldest
        if oldest is not None:
            self.metrics.lag.set(max(0.0, time.time() - oldest))
        if not self.backend.supports_refresh and any(not target.delete for target in batch.targets.values()):
            return self._rescan(batch)
        calls_before = self.backend.api_calls
        state = self.state

        requests, gone = self._plan(batch)
        outcomes = self.backend.refresh(list(requests.values())) if requests else []
        failed_units: set[tuple[str, str]] = set()
        recollected, whole_units, touched, relisted = self._collect_outcomes(outcomes, gone, failed_units, result)
        for resource in batch.resources.values():
            previous = state.with_id(resource.id)
            carried = self.backend.carried(resource, previous[0] if previous else None)
            recollected[resource_key(carried)] = carried
        if batch.replaced_sources:
            # A file imported again: resources it contained before and no longer contains are gone.
            fresh = {resource.id for resource in batch.resources.values()}
            for resource in state.resources.values():
                if resource.source in batch.replaced_sources and resource.id not in fresh:
                    gone[resource.id] = resource

        # A deleted parent takes its children with it (a storage account's containers, a vault's keys): they
        # are gone too, although no event names them.
        for resource_id in list(gone):
            for child in state.descendants(resource_id):
                gone.setdefault(child.id, child)
        for resource_id in gone:
            state.remove_id(resource_id)
        for resource in recollected.values():
            state.upsert(resource)
        changed_types = {resource.type for resource in recollected.values()} | {r.type for r in gone.values()}
        accounts = {resource.account for resource in (*recollected.values(), *gone.values())}
        # A unit read for the first time, or whose listings failed differently than before, changes the lookups
        # of its service's types in its account, even where none of its resources changed.
        for unit in relisted:
            changed_types.update(self.backend.service_types(unit.service))
            accounts.add(unit.account)
        evaluation = self.evaluator.evaluate(state, list(recollected.values()), changed_types, accounts, whole_units,
                                             list(gone.values()))
        if self.suppressions is not None:
            apply_suppressions(evaluation.findings, list(evaluation.resources.values()), self.suppressions,
                               today=datetime.now(UTC).date())

        if recollected or gone or evaluation.findings:
            result.scan, result.update = self._store_increment(state, batch, evaluation, recollected, gone,
                                                               touched, whole_units, outcomes,
                                                               self.backend.api_calls - calls_before, started)
        result.recollected, result.gone = len(recollected), len(gone)

        self._finish_messages(batch, failed_units)
        logger.info("applied %d message(s) (%d change(s) merged): %d resource(s) collected again, %d deleted, "
                    "%d finding(s) evaluated; %s; %.2f s", len(batch.messages), batch.coalesced, len(recollected),
                    len(gone), len(evaluation.findings), _describe_update(result.update),
                    time.monotonic() - started)
        return result

    def _rescan(self, batch: Batch) -> IncrementResult:
        """Apply a batch through a full scan, for a provider that cannot collect single resources again."""
        logger.info("%d message(s) name %d resource(s); %s resources cannot be collected one by one, so a full "
                    "scan runs", len(batch.messages), len(batch.targets), self.backend.provider)
        self._scanning.set()
        try:
            scan = self.full_scan()
        except (ScanSetupError, BotoCoreError, ClientError, SQLAlchemyError, OSError) as error:
            self.metrics.failed.labels(reason="collection").inc(len(batch.messages))
            logger.error("full scan for %d message(s) failed (%s: %s); they will be retried", len(batch.messages),
                         type(error).__name__, error)
            for item in batch.messages:
                self._release(item, self.settings.retry_delay)
            return IncrementResult()
        finally:
            self._scanning.clear()
        self.metrics.full_scans.labels(outcome="complete").inc()
        self._finish_messages(batch, set())
        return IncrementResult(scan=scan)

    def _plan(self, batch: Batch) -> tuple[dict[tuple[str, str], RefreshRequest], dict[str, Resource]]:
        """Turn the batch's targets into refresh requests and known deletions."""
        assert self.state is not None
        requests: dict[tuple[str, str], RefreshRequest] = {}
        gone: dict[str, Resource] = {}
        for target in batch.targets.values():
            if target.delete and not self.backend.supports_refresh:
                # The key of an Azure or GCP event is the resource id, so the deletion resolves the
                # findings of that id even when the state lacks the resource.
                known = self.state.with_id(target.key)
                for resource in known:
                    gone[resource.id] = resource
                if not known:
                    gone[target.key] = Resource(provider=target.provider, account=target.account,
                                                region=target.region or "global", type=target.type, id=target.key,
                                                name=target.key.rstrip("/").rsplit("/", 1)[-1])
                continue
            unit = self.backend.unit_of(target.type, target.region)
            if unit is None:
                logger.warning("no watched collector for %s %s in account %s; skipped", target.type, target.key,
                               target.account)
                continue
            if target.delete and target.key != ALL:
                known = self.state.find(target.account, target.type, target.key)
                if known:
                    for resource in known:
                        gone[resource.id] = resource
                    continue
                # Not in the state: the refresh looks it up and records it as gone if it no longer exists.
            request = requests.setdefault(unit, RefreshRequest(service=unit[0], region=unit[1], targets={}))
            ids = request.targets.setdefault(target.type, [])
            if target.key == ALL:
                ids[:] = [ALL]
            elif ALL not in ids and target.key not in ids:
                ids.append(target.key)
        return requests, gone

    def _collect_outcomes(self, outcomes: Sequence[RefreshOutcome], gone: dict[str, Resource],
                          failed: set[tuple[str, str]],
                          result: IncrementResult) -> tuple[dict[tuple[str, str, str, str], Resource], list[Coverage],
                                                            list[Coverage], list[Coverage]]:
        """Sort the refresh outcomes: fill `gone` and `failed`, and put the units read whole in the state.

        Returns the resources collected again, the units collected whole, the units collected at all, and the
        units that change what lookups of their types conclude (see `LiveState.replace_units`).
        """
        assert self.state is not None
        state = self.state
        recollected: dict[tuple[str, str, str, str], Resource] = {}
        whole_units: list[Coverage] = []
        touched: list[Coverage] = []
        read_units: list[Coverage] = []
        for outcome in outcomes:
            request = outcome.request
            if outcome.failure is not None:
                failed.add((request.service, request.region))
                result.failed_units.append(f"{request.service}/{request.region}")
                self.metrics.failed.labels(reason="collection").inc()
                logger.warning("account %s region %s service %s could not be collected again: %s; the event "
                               "will be retried", state.accounts[0] if state.accounts else "?", request.region,
                               request.service, outcome.failure)
                continue
            touched.append(outcome.coverage)
            if outcome.whole_unit:
                whole_units.append(outcome.coverage)
                fresh = {resource.id for resource in outcome.resources}
                region = None if request.region == "global" else request.region
                for resource in state.of_types(outcome.coverage.account, self.backend.service_types(request.service),
                                               region):
                    if resource.id not in fresh and resource.type not in outcome.coverage.failed_types:
                        gone[resource.id] = resource
            if outcome.whole_unit or isinstance(outcome, ImportOutcome):
                # The unit was read whole: collected again, or imported again from every file of a folder. A
                # targeted refresh read only the resources it names, so the unit of the last full scan stays.
                read_units.append(outcome.coverage)
            for resource in outcome.resources:
                recollected[resource_key(resource)] = resource
            for type_name, resource_id in outcome.gone:
                known = [resource for resource in state.find(outcome.coverage.account, type_name, resource_id)
                         if resource.id.casefold() == resource_id.casefold()]
                gone[resource_id] = known[0] if known else Resource(
                    provider=state.provider, account=outcome.coverage.account, region=request.region,
                    type=type_name, id=resource_id, name=resource_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        relisted = state.replace_units(read_units) if read_units else []
        self.metrics.recollected.inc(len(recollected))
        return recollected, whole_units, touched, relisted

    def _store_increment(self, state: LiveState, batch: Batch, evaluation: Evaluation,
                         recollected: dict[tuple[str, str, str, str], Resource], gone: dict[str, Resource],
                         touched: list[Coverage], whole_units: list[Coverage], outcomes: Sequence[RefreshOutcome],
                         api_calls: int, started: float) -> tuple[StoredScan, LifecycleUpdate]:
        finished = datetime.now(UTC)
        duration = time.monotonic() - started
        state.base.sequence += 1
        info = IncrementInfo(
            base_scan_id=state.base.scan_id, sequence=state.base.sequence,
            recollected=tuple(sorted({resource.id for resource in recollected.values()})),
            removed=tuple(sorted(gone)),
            whole_units=tuple((unit.service, unit.region) for unit in whole_units))
        events = sorted({event.name for item in batch.messages for event in item.events})
        scan = StoredScan(
            id=str(uuid.uuid4()), provider=state.provider,
            started_at=(finished - timedelta(seconds=duration)).isoformat(timespec="microseconds"),
            finished_at=finished.isoformat(timespec="microseconds"), accounts=state.accounts, regions=state.regions,
            complete=all(unit.status is Completeness.COMPLETE for unit in touched), api_calls=api_calls,
            duration_s=round(duration, 3), options=info.to_options(events=events[:50], messages=len(batch.messages)))
        self.store.save_scan(scan, touched, list(recollected.values()), evaluation.findings)

        # The life cycle judges completeness by the units collected now, and by the state for the others.
        coverage = dict(state.coverage)
        for outcome in outcomes:
            if outcome.failure is None:
                unit = outcome.coverage
                coverage[(unit.account, unit.region, unit.service)] = unit
        update = self._update_lifecycle(scan, evaluation.findings, list(coverage.values()),
                                        PartialScope(assessed=frozenset(evaluation.assessed), gone=frozenset(gone)),
                                        gone)
        self.metrics.increments.inc()
        return scan, update

    def _finish_messages(self, batch: Batch, failed_units: set[tuple[str, str]]) -> None:
        """Delete the messages whose changes were stored; hand the others out again later."""
        now = time.time()
        for item in batch.messages:
            if failed_units and self._touches(item, failed_units):
                if item.message.receive_count >= self.settings.max_receives:
                    self.metrics.failed.labels(reason="gave-up").inc()
                    logger.error("message %s failed %d time(s) and is deleted; the next full scan covers its "
                                 "resources", item.message.message_id, item.message.receive_count)
                    self._delete(item.message)
                else:
                    self._release(item, self.settings.retry_delay)
                continue
            self._delete(item.message)
            entered = item.message.sent_at or item.received_at
            self.metrics.latency.observe(max(0.0, now - entered))
            self.metrics.processed.inc()

    def _touches(self, item: PendingMessage, failed_units: set[tuple[str, str]]) -> bool:
        for event in item.events:
            for target in event.targets:
                unit = self.backend.unit_of(target.type, target.region)
                if unit is not None and unit in failed_units:
                    return True
        return False

    # Life cycle and notifications

    def _update_lifecycle(self, scan: StoredScan, findings: Sequence[Finding], coverage: Sequence[Coverage],
                          partial: PartialScope | None, gone: dict[str, Resource]) -> LifecycleUpdate:
        """Move the findings through their life cycle, store the states with their outbox rows, then notify."""
        update = plan_lifecycle(self.store, scan, findings, coverage, self.rules, partial=partial)
        notifications = self._notifications(scan, update, {finding.id: finding for finding in findings}, gone)

        # With a durable dispatcher the notifications are stored with the states, so that a crash after
        # this transaction still delivers them at the next start.
        dispatcher = self.dispatcher
        outbox: list[OutboxRow] = []
        if dispatcher is not None and dispatcher.store is not None:
            outbox = dispatcher.outbox_rows(notifications)
        save_lifecycle(self.store, scan, update, outbox)

        if dispatcher is not None and notifications:
            submitted = dispatcher.submit(notifications)
            for item in notifications:
                if dispatcher.accepts(item):
                    self.metrics.notifications.labels(event=item.event).inc()
            logger.debug("scan %s: submitted %d of %d notification(s), %d outbox row(s)", scan.id, submitted,
                         len(notifications), len(outbox))
        return update

    def _outbox_housekeeping(self) -> None:
        """Queue the notifications an earlier run left undelivered, then delete old delivered ones.

        Queueing runs once per run. When the store cannot be read, it is tried again after each full scan.
        """
        if self.dispatcher is None:
            return
        if not self._outbox_recovered:
            # Claims of the watcher whose lease this one took over are taken at once, without waiting for them
            # to expire: that watcher is gone, or stops at its next heartbeat.
            previous = self.lease.taken_over if self.lease is not None else None
            try:
                self.dispatcher.recover(self.backend.provider, self.backend.accounts,
                                        taking_over_from=previous.instance_id if previous is not None else None)
            except SQLAlchemyError as error:
                logger.error("reading the notification outbox of %s account(s) %s failed (%s: %s); tried again "
                             "after the next full scan", self.backend.provider,
                             ",".join(self.backend.accounts) or "(all)", type(error).__name__, error)
            else:
                self._outbox_recovered = True
        self.dispatcher.prune()

    def _notifications(self, scan: StoredScan, update: LifecycleUpdate, findings: dict[str, Finding],
                       gone: dict[str, Resource]) -> list[Notification]:
        """Return the notifications of the update's new, reopened and resolved findings."""
        if self.dispatcher is None:
            return []
        when = _parse_time(scan.finished_at)
        notifications: list[Notification] = []
        changes: tuple[tuple[Event, list[str]], ...] = (("new", update.new), ("reopened", update.reopened))
        for event, ids in changes:
            for finding_id in ids:
                finding = findings.get(finding_id)
                if finding is not None:
                    notifications.append(self._notification(event, finding, when, scan.id))
        for finding_id in update.resolved:
            finding = findings.get(finding_id) or self._deleted_finding(update, finding_id, gone)
            if finding is not None:
                notifications.append(self._notification("resolved", finding, when, scan.id))
        return notifications

    def _notification(self, event: Event, finding: Finding, when: datetime, scan_id: str) -> Notification:
        rule = self.rules_by_id.get(finding.rule_id)
        title = rule.title if rule else finding.rule_id
        return Notification(event=event, finding=finding, rule_title=title, when=when, scan_id=scan_id)

    def _deleted_finding(self, update: LifecycleUpdate, finding_id: str, gone: dict[str, Resource]) -> Finding | None:
        state = update.states.get(finding_id)
        rule = self.rules_by_id.get(state.rule_id) if state is not None else None
        if state is None or rule is None:
            return None
        resource = gone.get(state.resource_id)
        return Finding(rule_id=rule.id, status=Status.PASS, severity=rule.severity, category=rule.category,
                       provider=state.provider, account=state.account, region=state.region,
                       resource_id=state.resource_id, resource_type=resource.type if resource else "",
                       resource_name=resource.name if resource else state.resource_id,
                       message="The resource was deleted.")


def _parse_time(text: str) -> datetime:
    """Return a stored scan time as a datetime in UTC. Scans store ISO 8601 times with an offset."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        logger.warning("scan time %r is not ISO 8601; notifications take the current time", text)
        return datetime.now(UTC)
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _describe_update(update: LifecycleUpdate | None) -> str:
    if update is None:
        return "nothing stored"
    return (f"{len(update.new)} new, {len(update.reopened)} reopened, {len(update.resolved)} resolved, "
            f"{len(update.kept_open)} kept open")
