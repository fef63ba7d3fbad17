"""`ridgeline watch aws|azure|gcp|file`: a long-running process that keeps findings current."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console

from ridgeline.cli.common import EXIT_SETUP, load_rules, split_list
from ridgeline.model.finding import Severity
from ridgeline.notify import Dispatcher, EmailNotifier, Notifier, SlackNotifier, StdoutNotifier, WebhookNotifier
from ridgeline.providers.aws.scanner import AwsScanOptions, ScanSetupError
from ridgeline.report.text import terminal_safe
from ridgeline.store.database import Store, default_database_url
from ridgeline.suppress import SuppressionErrors, load_suppressions

logger = logging.getLogger(__name__)

EXIT_LEASE_HELD = 4
"""Exit code when another live watcher of the same provider and scope holds the lease, at start or later."""

_DURATION = re.compile(r"^\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> float:
    """Parse "90", "90s", "15m", "24h" or "1d" into seconds."""
    match = _DURATION.match(value)
    if match is None:
        raise click.BadParameter(f"invalid duration {value!r}: expected a number with an optional unit s, m, h or "
                                 "d, such as 30s, 15m or 24h")
    return float(match.group("value")) * _UNIT_SECONDS[match.group("unit")]


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise click.BadParameter(f"invalid duration {value!r}: expected more than 0")
    return seconds


def _lease_duration(_ctx: click.Context, _param: click.Parameter, value: str) -> float:
    seconds = parse_duration(value)
    if seconds < 1:
        raise click.BadParameter(f"invalid lease duration {value!r}: expected 1s or more")
    return seconds


def common_options(function: Any) -> Any:
    """Options every `watch` subcommand shares: schedule, notifiers, metrics, store and rules."""
    options = [
        click.option("--full-scan-interval", default="24h", show_default=True, callback=_duration,
                     help="Time between full scans: a number of seconds or 30m, 24h, 1d."),
        click.option("--no-initial-scan", is_flag=True,
                     help="Start from the newest stored snapshot instead of a full scan (a full scan runs anyway "
                          "when the store has none)."),
        click.option("--coalesce-window", default="1s", show_default=True, callback=_duration,
                     help="How long a change waits for further changes of the same resource."),
        click.option("--notify-severity", type=click.Choice([s.value for s in Severity], case_sensitive=False),
                     default="high", show_default=True,
                     help="Notify new, reopened and resolved findings of this severity or higher."),
        click.option("--webhook", "webhook_urls", multiple=True,
                     help="POST notifications as JSON to this URL (repeatable). Delivery is at least once: a copy "
                          "sent again has the same notification_id, so de-duplicate on it."),
        click.option("--webhook-secret-header", default=None,
                     help="Header that carries RIDGELINE_WEBHOOK_SECRET to the webhook, such as X-Ridgeline-Token."),
        click.option("--slack-webhook", "slack_urls", multiple=True,
                     help="Slack incoming webhook URL (repeatable); better passed as RIDGELINE_SLACK_WEBHOOK.",
                     envvar="RIDGELINE_SLACK_WEBHOOK"),
        click.option("--smtp-host", default=None, help="Send notifications by e-mail through this SMTP server."),
        click.option("--smtp-port", default=587, show_default=True, type=click.IntRange(1, 65535)),
        click.option("--smtp-from", default=None, help="Sender address of the e-mails."),
        click.option("--smtp-to", "smtp_to", multiple=True, help="Recipient address (repeatable)."),
        click.option("--smtp-starttls/--smtp-no-starttls", default=True, show_default=True),
        click.option("--smtp-user", default=None,
                     help="SMTP login; the password is read from RIDGELINE_SMTP_PASSWORD."),
        click.option("--stdout-json", is_flag=True, help="Write notifications to standard output as JSON lines."),
        click.option("--notification-retention", default="30d", show_default=True, callback=_duration,
                     help="How long delivered notifications stay in the store's outbox (notification_outbox) "
                          "before they are deleted; pending and failed ones are kept."),
        click.option("--metrics-port", default=None, type=click.IntRange(0, 65535),
                     help="Serve Prometheus metrics on this port (0 picks a free one and logs it)."),
        click.option("--metrics-host", default="127.0.0.1", show_default=True,
                     help="Address the metrics server listens on."),
        click.option("--lease-duration", default="60s", show_default=True, callback=_lease_duration,
                     help="How long the watcher's lease and its claims on undelivered notifications last without "
                          "a heartbeat (one every quarter of it). A watcher silent for this long is taken as gone, "
                          "and another watcher of the same scope takes its lease and notifications over."),
        click.option("--standby", is_flag=True,
                     help=f"When another live watcher of the same provider and scope uses the database, wait and "
                          f"take over when it stops, instead of exiting with code {EXIT_LEASE_HELD}."),
        click.option("--take-over-lease", is_flag=True,
                     help="Take the lease at start even though its holder has not let it expire; only for a holder "
                          "that is gone (killed, host lost). A holder that still runs stops at its next heartbeat."),
        click.option("--database", default=None,
                     help="SQLAlchemy URL of the store [default: RIDGELINE_DATABASE_URL or "
                          "~/.local/share/ridgeline/ridgeline.db]."),
        click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
                     help="Extra rule file or folder (repeatable)."),
        click.option("--suppressions", "suppressions_path",
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="YAML file of suppressions: FAIL findings it matches become MUTED."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group()
def watch() -> None:
    """Keep findings current: full scans on a schedule, and change events applied as they arrive.

    New, reopened and resolved findings go to the notifiers, at least once: a notification sent again
    after a crash or a failed attempt carries the same notification_id, which receivers can de-duplicate
    on. SIGTERM or SIGINT stops taking events, stores what is in flight, hands unapplied events back to
    the queue and exits. One watcher works on a provider and scope of one database: a second one of the
    same scope exits with code 4 (or waits, with --standby). See docs/monitoring.md.
    """
    # A long-running service logs its starts, stops and counts by default; -v adds details.
    ridgeline_logger = logging.getLogger("ridgeline")
    if ridgeline_logger.getEffectiveLevel() > logging.INFO:
        ridgeline_logger.setLevel(logging.INFO)


@watch.command("aws")
@click.option("--queue-url", default=None,
              help="SQS queue that EventBridge fills with CloudTrail management events; without it, only the "
                   "full scans run.")
@click.option("--visibility-timeout", default=300, show_default=True, type=click.IntRange(1, 43200),
              help="Seconds a taken message stays hidden from other readers before SQS hands it out again.")
@click.option("--wait-time", default=5, show_default=True, type=click.IntRange(0, 20),
              help="Seconds one receive waits for messages (also the longest wait at shutdown).")
@click.option("--profile", help="AWS shared-config profile (default: the standard credential chain).")
@click.option("--role-arn", help="Assume this IAM role for the scans.")
@click.option("--external-id", help="External id for --role-arn.")
@click.option("--regions", help="Comma-separated regions [default: every region enabled for the account].")
@click.option("--services", help="Comma-separated services [default: all].")
@common_options
def watch_aws(queue_url: str | None, visibility_timeout: int, wait_time: int, profile: str | None,
              role_arn: str | None, external_id: str | None, regions: str | None, services: str | None,
              **options: Any) -> None:
    """Watch an AWS account, with CloudTrail events from an SQS queue (see docs/monitoring.md)."""
    from ridgeline.watch.aws import CloudTrailParser, SqsSource
    from ridgeline.watch.backends import AwsBackend

    scan_options = AwsScanOptions(profile=profile, role_arn=role_arn, external_id=external_id,
                                  regions=split_list(regions), services=split_list(services))
    errors = Console(stderr=True)
    try:
        backend = AwsBackend(scan_options)
    except ScanSetupError as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None

    source = parser = None
    if queue_url:
        source = SqsSource(queue_url, session=backend.session.session, visibility_timeout=visibility_timeout,
                           wait_time=wait_time)
        parser = CloudTrailParser(backend.accounts[0], backend.regions)
    scope = _scope(f"account {backend.accounts[0]}", regions=split_list(regions), services=split_list(services))
    _run(backend, source, parser, scope=scope, receive_wait=float(wait_time), errors=errors, **options)


@watch.command("file")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--poll-interval", default="5s", show_default=True, callback=_duration,
              help="How often the folder is checked for changed files.")
@click.option("--quiet-period", default="30s", show_default=True, callback=_duration,
              help="How long the folder must see no change before changed files are read; files that arrive "
                   "within it (the RESOURCE and IAM_POLICY files of one export, Resource Graph pages) are read "
                   "together.")
@common_options
def watch_file(folder: Path, poll_interval: float, quiet_period: float, **options: Any) -> None:
    """Watch a folder of inventory exports: AWS Config, Cloud Asset Inventory, Azure Resource Graph and ARM JSON.

    The folder contains what `ridgeline scan file FOLDER` reads. Each provider found in it at start gets a
    watcher, which stores one scan per provider. When files change, the provider's files are imported
    again and the difference is applied as an increment. A resource missing from a completely read
    account, service and type is gone. A read with errors, or of a file still being written, resolves
    no finding. See docs/monitoring.md.
    """
    from ridgeline.watch.files import build_folder_watch

    parts = build_folder_watch(folder, poll_interval=poll_interval, quiet_period=quiet_period)
    if not parts:
        Console(stderr=True).print(f"[red]error:[/red] {terminal_safe(folder)} contains no export file of a known "
                                   "format (.json, .jsonl or .ndjson, gzipped or not)", soft_wrap=True)
        raise SystemExit(EXIT_SETUP)
    _run_all(parts, scope=f"folder {folder.resolve()}", receive_wait=poll_interval, errors=Console(stderr=True),
             **options)


@watch.command("azure")
@click.option("--queue-url", default=None,
              help="Storage queue that Event Grid fills with resource events: "
                   "https://ACCOUNT.queue.core.windows.net/QUEUE, with a SAS token as query or, without one, "
                   "Microsoft Entra credentials; without it, only the full scans run.")
@click.option("--visibility-timeout", default=300, show_default=True, type=click.IntRange(1, 604800),
              help="Seconds a taken message stays hidden before the queue hands it out again.")
@click.option("--wait-time", default=5, show_default=True, type=click.IntRange(0, 60),
              help="Seconds one receive polls an empty queue (also the longest wait at shutdown).")
@click.option("--subscription", "subscriptions", multiple=True, metavar="ID",
              help="Subscription id to watch (repeatable) [default: every subscription the credential can read].")
@click.option("--management-group", metavar="ID", help="Watch every subscription under this management group.")
@click.option("--tenant", metavar="ID", help="Entra ID tenant to request tokens for [default: the credential's].")
@common_options
def watch_azure(queue_url: str | None, visibility_timeout: int, wait_time: int, subscriptions: tuple[str, ...],
                management_group: str | None, tenant: str | None, **options: Any) -> None:
    """Watch Azure subscriptions, with Activity Log events from Event Grid on a Storage queue.

    Each event's resource is read again alone, through Resource Graph by id and its child reads. Events
    for a whole resource group collect that subscription again.
    """
    try:
        from ridgeline.providers.azure.scanner import AzureScanOptions
    except ImportError as error:
        # terminal_safe keeps Rich from reading "[azure]" in the hint as a markup tag and dropping it.
        hint = f"watching Azure needs the azure extra ({error.name} is missing): pip install 'ridgeline[azure]'"
        Console(stderr=True).print(f"[red]error:[/red] {terminal_safe(hint)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    from ridgeline.watch.azure import EventGridParser, StorageQueueSource
    from ridgeline.watch.backends import AzureBackend

    chosen = [item.strip() for value in subscriptions for item in value.split(",") if item.strip()]
    backend = AzureBackend(AzureScanOptions(subscriptions=chosen, management_group=management_group, tenant=tenant))
    source = parser = None
    if queue_url:
        try:
            source = StorageQueueSource(queue_url, visibility_timeout=visibility_timeout)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--queue-url") from None
        parser = EventGridParser(chosen or None)
    if chosen:
        target = f"subscriptions {','.join(sorted({item.lower() for item in chosen}))}"
    elif management_group:
        target = f"management group {management_group}"
    else:
        target = "every subscription of the credential"
    scope = _scope(target, tenant=[tenant] if tenant else None)
    _run(backend, source, parser, scope=scope, receive_wait=float(wait_time), errors=Console(stderr=True), **options)


@watch.command("gcp")
@click.option("--subscription", "pubsub_subscription", default=None, metavar="PATH",
              help="Pub/Sub subscription of a Cloud Asset Inventory feed: projects/PROJECT/subscriptions/NAME; "
                   "without it, only the full scans run.")
@click.option("--ack-deadline", default=300, show_default=True, type=click.IntRange(10, 600),
              help="Seconds a taken message stays hidden before Pub/Sub delivers it again.")
@click.option("--project", "projects", multiple=True, metavar="ID",
              help="Project id (or number) to watch (repeatable) [default: the project of the credentials].")
@click.option("--organization", metavar="ID", help="Watch everything under this organization (its number).")
@click.option("--folder", metavar="ID", help="Watch everything under this folder (its number).")
@click.option("--impersonate-service-account", metavar="EMAIL", help="Scan as this service account.")
@common_options
def watch_gcp(pubsub_subscription: str | None, ack_deadline: int, projects: tuple[str, ...],
              organization: str | None, folder: str | None, impersonate_service_account: str | None,
              **options: Any) -> None:
    """Watch GCP projects, with Cloud Asset Inventory feed messages from Pub/Sub.

    Feed messages carry the new state of each asset, so nothing is collected again between full scans.
    """
    try:
        from ridgeline.providers.gcp.scanner import GcpScanOptions
    except ImportError as error:
        # terminal_safe keeps Rich from reading "[gcp]" in the hint as a markup tag and dropping it.
        hint = f"watching GCP needs the gcp extra ({error.name} is missing): pip install 'ridgeline[gcp]'"
        Console(stderr=True).print(f"[red]error:[/red] {terminal_safe(hint)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    from ridgeline.watch.backends import GcpBackend
    from ridgeline.watch.gcp import AssetFeedParser, PubSubSource

    chosen = [item.strip() for value in projects for item in value.split(",") if item.strip()]
    backend = GcpBackend(GcpScanOptions(projects=chosen, organization=organization, folder=folder,
                                        impersonate_service_account=impersonate_service_account))
    source = parser = None
    if pubsub_subscription:
        try:
            source = PubSubSource(pubsub_subscription, ack_deadline=ack_deadline)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--subscription") from None
        parser = AssetFeedParser()
    if chosen:
        scope = f"projects {','.join(sorted(set(chosen)))}"
    elif organization:
        scope = f"organization {organization}"
    elif folder:
        scope = f"folder {folder}"
    else:
        scope = "project of the credential"
    _run(backend, source, parser, scope=scope, receive_wait=5.0, errors=Console(stderr=True), **options)


def _scope(target: str, **filters: Sequence[str] | None) -> str:
    """Return the lease scope of a watcher: its target, then each given filter with its sorted values."""
    parts = [target]
    for name, values in filters.items():
        if values:
            parts.append(f"{name} {','.join(sorted(set(values)))}")
    return "; ".join(parts)


def build_notifiers(*, webhook_urls: Sequence[str], webhook_secret_header: str | None, slack_urls: Sequence[str],
                    smtp_host: str | None, smtp_port: int, smtp_from: str | None, smtp_to: Sequence[str],
                    smtp_starttls: bool, smtp_user: str | None, stdout_json: bool) -> list[Notifier]:
    """Build the notifiers the options ask for; raise click.UsageError on an incomplete option set."""
    notifiers: list[Notifier] = []
    secret = os.environ.get("RIDGELINE_WEBHOOK_SECRET")
    if webhook_secret_header and not secret:
        raise click.UsageError("--webhook-secret-header needs the secret in RIDGELINE_WEBHOOK_SECRET")
    for position, url in enumerate(webhook_urls, start=1):
        try:
            notifiers.append(WebhookNotifier(url, name=f"webhook-{position}", secret_header=webhook_secret_header,
                                             secret=secret if webhook_secret_header else None))
        except ValueError as error:
            raise click.UsageError(f"--webhook: {error}") from None
    for position, url in enumerate(slack_urls, start=1):
        try:
            notifiers.append(SlackNotifier(url, name=f"slack-{position}"))
        except ValueError as error:
            raise click.UsageError(f"--slack-webhook: {error}") from None
    if smtp_host:
        if not smtp_from or not smtp_to:
            raise click.UsageError("--smtp-host needs --smtp-from and at least one --smtp-to")
        password = os.environ.get("RIDGELINE_SMTP_PASSWORD")
        if smtp_user and password is None:
            raise click.UsageError("--smtp-user needs the password in RIDGELINE_SMTP_PASSWORD")
        notifiers.append(EmailNotifier(smtp_host, smtp_port, smtp_from, list(smtp_to), starttls=smtp_starttls,
                                       username=smtp_user, password=password if smtp_user else None))
    if stdout_json:
        notifiers.append(StdoutNotifier())
    return notifiers


def _run(backend: Any, source: Any, parser: Callable[..., Any] | None, *, receive_wait: float, errors: Console,
         **options: Any) -> None:
    _run_all([(backend, source, parser)], receive_wait=receive_wait, errors=errors, **options)


def _run_all(parts: Sequence[tuple[Any, Any, Callable[..., Any] | None]], *, scope: str, receive_wait: float,
             errors: Console, full_scan_interval: float, no_initial_scan: bool, coalesce_window: float,
             notify_severity: str, metrics_port: int | None, metrics_host: str, database: str | None,
             rule_paths: Sequence[Path], suppressions_path: Path | None, notification_retention: float,
             lease_duration: float, standby: bool, take_over_lease: bool, **notifier_options: Any) -> None:
    """Run one watcher per (backend, source, parser), side by side, sharing the store, rules and metrics.

    Each watcher takes the lease of its provider and `scope`, with an instance id of its own.
    """
    from ridgeline.store.leases import new_instance_id
    from ridgeline.watch.files import run_watchers
    from ridgeline.watch.lease import WatcherLease
    from ridgeline.watch.metrics import MetricsUnavailable, WatchMetrics
    from ridgeline.watch.watcher import Watcher, WatchSettings

    rules = load_rules(rule_paths)
    try:
        suppressions = load_suppressions(suppressions_path, [r.id for r in rules]) if suppressions_path else None
    except SuppressionErrors as error:
        errors.print(f"[red]Invalid suppressions:[/red]\n{terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None
    try:
        metrics = WatchMetrics()
    except MetricsUnavailable as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}", soft_wrap=True)
        raise SystemExit(EXIT_SETUP) from None

    notifiers = build_notifiers(**notifier_options)
    store = Store(database or default_database_url())
    settings = WatchSettings(full_scan_interval=full_scan_interval, initial_scan=not no_initial_scan,
                             coalesce_window=coalesce_window, receive_wait=receive_wait)
    watchers = []
    for backend, source, parser in parts:
        # The lease and the outbox claims carry one instance id, so that a watcher which takes the lease over
        # also takes the claims of the instance it replaces.
        instance_id = new_instance_id()
        lease = WatcherLease(store, backend.provider, scope, instance_id=instance_id, duration=lease_duration,
                             standby=standby, take_over=take_over_lease)
        # The dispatcher shares the watcher's store: notifications go through its outbox, so a crash loses
        # none. Each watcher closes its own dispatcher when it stops.
        dispatcher = Dispatcher(notifiers, min_severity=Severity.parse(notify_severity), store=store,
                                retention=timedelta(seconds=notification_retention),
                                claim_lease=timedelta(seconds=lease_duration),
                                instance_id=instance_id) if notifiers else None
        watchers.append(Watcher(backend, store, rules, source=source, parser=parser, dispatcher=dispatcher,
                                metrics=metrics, suppressions=suppressions, settings=settings, lease=lease))

    if metrics_port is not None:
        try:
            metrics.serve(metrics_port, metrics_host)
        except OSError as error:
            errors.print(f"[red]error:[/red] cannot serve metrics on {terminal_safe(metrics_host)}:{metrics_port}: "
                         f"{terminal_safe(error)}")
            raise SystemExit(EXIT_SETUP) from None

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s: finishing the work in flight", signal.Signals(signum).name)
        for watcher in watchers:
            watcher.stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    try:
        run_watchers(watchers)
    except ScanSetupError as error:
        errors.print(f"[red]error:[/red] {terminal_safe(error)}")
        raise SystemExit(EXIT_SETUP) from None
    finally:
        metrics.close()
        store.engine.dispose()
    _exit_on_lease_conflict(watchers, errors)


def _exit_on_lease_conflict(watchers: Sequence[Any], errors: Console) -> None:
    """Exit with EXIT_LEASE_HELD when a watcher did not get its lease at start or lost it while running."""
    for watcher in watchers:
        if watcher.lease_refused is not None:
            errors.print(f"[red]error:[/red] {terminal_safe(watcher.lease_refused)}", soft_wrap=True)
            raise SystemExit(EXIT_LEASE_HELD)
        if watcher.lease_lost:
            lease = watcher.lease
            holder = lease.lost_to.describe() if lease.lost_to is not None else "another watcher"
            errors.print(f"[red]error:[/red] stopped because {terminal_safe(holder)} took over the lease of "
                         f"{terminal_safe(lease.provider)} scope {terminal_safe(repr(lease.scope))}", soft_wrap=True)
            raise SystemExit(EXIT_LEASE_HELD)
