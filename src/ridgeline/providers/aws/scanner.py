"""Collection of one AWS account: regions and services fanned out over a thread pool.

The unit of work is (account, region, service); global services (IAM, S3) run once per account. Units
run concurrently, and collectors fan their per-resource calls out on a second pool. A unit that waits
for its details therefore never takes a thread that those detail calls need, which rules out deadlock.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from types import TracebackType

from botocore.exceptions import BotoCoreError, ClientError

from ridgeline.model.resource import Resource
from ridgeline.model.scan import Completeness, Coverage
from ridgeline.providers.aws.calls import ApiCall, CallFailed, api_calls
from ridgeline.providers.aws.collector import CollectorSpec
from ridgeline.providers.aws.collectors import ALL_OF_TYPE, all_collectors, refresh_functions
from ridgeline.providers.aws.session import AwsSession
from ridgeline.providers.aws.unit import UnitContext

logger = logging.getLogger(__name__)

# Calls the scanner itself makes before any collector runs.
SCANNER_CALLS = (*api_calls("sts", "GetCallerIdentity"), *api_calls("ec2", "DescribeRegions"))


_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")


class ScanSetupError(RuntimeError):
    """The scan cannot start (no credentials, unknown service, ...); the message gives the next step."""


@dataclass(slots=True)
class AwsScanOptions:
    """Options of a scan: credentials, regions, services and concurrency."""

    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    regions: Sequence[str] | None = None
    """Regions to scan; None means every region enabled for the account."""

    services: Sequence[str] | None = None
    """Collector services to run; None means all."""

    unit_workers: int = 8
    detail_workers: int = 32


@dataclass(slots=True)
class Collection:
    """Everything one collection produced."""

    provider: str
    accounts: list[str]
    regions: list[str]
    resources: list[Resource] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    api_calls: int = 0
    duration_s: float = 0.0


ProgressCallback = Callable[[str, Coverage], None]
"""Called as `callback(event, coverage)` with event "planned" or "done" for each unit."""


def select_collectors(services: Sequence[str] | None) -> list[CollectorSpec]:
    """Return the collectors for `services` (all when None); raise ScanSetupError on an unknown name."""
    collectors = all_collectors()
    if not services:
        return collectors
    by_name = {collector.service: collector for collector in collectors}
    unknown = [name for name in services if name not in by_name]
    if unknown:
        raise ScanSetupError(f"unknown service(s) {', '.join(unknown)}; available: {', '.join(sorted(by_name))}")
    return [by_name[name] for name in dict.fromkeys(services)]


def declared_calls() -> list[ApiCall]:
    """Return every call any part of an AWS scan may make."""
    calls = list(SCANNER_CALLS)
    for collector in all_collectors():
        calls.extend(collector.calls)
    return calls


def open_session(options: AwsScanOptions) -> AwsSession:
    """Create the session of `options` (profile, role); raise ScanSetupError when credentials cannot be set up."""
    if options.role_arn and not _ROLE_ARN.fullmatch(options.role_arn):
        raise ScanSetupError(f"invalid --role-arn {options.role_arn!r}: expected arn:aws:iam::ACCOUNT_ID:role/NAME")
    try:
        return AwsSession(profile=options.profile, role_arn=options.role_arn, external_id=options.external_id)
    except BotoCoreError as error:
        raise ScanSetupError(f"cannot set up AWS credentials: {_one_line(error)}") from error


def identify_account(session: AwsSession, options: AwsScanOptions) -> tuple[str, str, list[str]]:
    """Return the account id, the partition and the regions to scan; raise ScanSetupError when they are unknown."""
    account, partition = _identify(session, options.role_arn)
    enabled = _enabled_regions(session, account, required=not options.regions)
    regions = list(options.regions) if options.regions else list(enabled or [])
    unknown = [region for region in regions if enabled is not None and region not in enabled]
    if unknown:
        raise ScanSetupError(f"region(s) {', '.join(unknown)} are not enabled for account {account} (or do not "
                             f"exist); enabled: {', '.join(enabled or [])}")
    return account, partition, regions


def collect_aws(options: AwsScanOptions, progress: ProgressCallback | None = None,
                session: AwsSession | None = None) -> Collection:
    """Collect one account: identify it, choose regions, run every (region, service) unit."""
    started = time.monotonic()
    collectors = select_collectors(options.services)
    if session is None:
        session = open_session(options)
    calls_before = session.recorder.total
    account, partition, regions = identify_account(session, options)
    logger.info("scanning account %s in %d region(s) for %d service(s)", account, len(regions), len(collectors))

    plan: list[tuple[CollectorSpec, str]] = []
    for collector in collectors:
        for region in ["global"] if collector.global_service else regions:
            plan.append((collector, region))

    collection = Collection(provider="aws", accounts=[account], regions=regions)
    with ThreadPoolExecutor(options.detail_workers, thread_name_prefix="detail") as detail_pool, \
            ThreadPoolExecutor(options.unit_workers, thread_name_prefix="unit") as unit_pool:
        futures = {}
        for collector, region in plan:
            unit = UnitContext(session, account=account, partition=partition, region=region,
                               service=collector.service, declared=(*collector.calls, *SCANNER_CALLS),
                               detail_pool=detail_pool, regions=set(regions))
            if progress:
                progress("planned", unit.coverage)
            futures[unit_pool.submit(_run_unit, collector, unit)] = unit
        for future in as_completed(futures):
            unit = futures[future]
            coverage = future.result()
            collection.resources.extend(unit.resources)
            collection.coverage.append(coverage)
            if progress:
                progress("done", coverage)

    collection.coverage.sort(key=lambda unit: (unit.account, unit.service, unit.region))
    # A session shared with earlier work (the watcher's) has counted its calls already.
    collection.api_calls = session.recorder.total - calls_before
    collection.duration_s = time.monotonic() - started
    return collection


@dataclass(slots=True)
class RefreshRequest:
    """Resources of one unit (service, region) to collect again: native ids by resource type."""

    service: str
    region: str
    """The unit's region: "global" for global services (IAM, S3)."""

    targets: dict[str, list[str]]
    """Resource type to native ids (bucket names, sg-... ids, ...); ["*"] means every resource of the type."""


@dataclass(slots=True)
class RefreshOutcome:
    """The result of a refresh for one request."""

    request: RefreshRequest
    coverage: Coverage
    resources: list[Resource] = field(default_factory=list)
    gone: list[tuple[str, str]] = field(default_factory=list)
    """(type, id) of requested resources that no longer exist."""

    whole_unit: bool = False
    """True when the service has no targeted refresh, so the whole unit was collected again."""

    failure: str | None = None
    """The reason the requested resources could not be collected, or None when they were."""


class AwsRefresher:
    """Collects chosen resources of one account again, on thread pools kept for the watcher's lifetime."""

    def __init__(self, session: AwsSession, *, account: str, partition: str, regions: Sequence[str],
                 unit_workers: int = 8, detail_workers: int = 32) -> None:
        self.session = session
        self.account = account
        self.partition = partition
        self.regions = list(regions)
        self._collectors = {collector.service: collector for collector in all_collectors()}
        self._refresh = refresh_functions()
        self._detail_pool = ThreadPoolExecutor(detail_workers, thread_name_prefix="refresh-detail")
        self._unit_pool = ThreadPoolExecutor(unit_workers, thread_name_prefix="refresh-unit")

    def has_targeted_refresh(self, service: str) -> bool:
        """Tell whether `service` can collect single resources; otherwise its whole unit is collected."""
        return service in self._refresh

    def refresh(self, requests: Sequence[RefreshRequest]) -> list[RefreshOutcome]:
        """Run the requests concurrently and return their outcomes in the same order."""
        futures = [self._unit_pool.submit(self._run, request) for request in requests]
        return [future.result() for future in futures]

    def close(self) -> None:
        """Stop the thread pools."""
        self._unit_pool.shutdown(wait=True)
        self._detail_pool.shutdown(wait=True)

    def __enter__(self) -> AwsRefresher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _run(self, request: RefreshRequest) -> RefreshOutcome:
        collector = self._collectors.get(request.service)
        if collector is None:
            raise ScanSetupError(f"unknown service {request.service} in a refresh request")
        unit = UnitContext(self.session, account=self.account, partition=self.partition, region=request.region,
                           service=collector.service, declared=(*collector.calls, *SCANNER_CALLS),
                           detail_pool=self._detail_pool, regions=set(self.regions))
        refresh = self._refresh.get(request.service)
        outcome = RefreshOutcome(request=request, coverage=unit.coverage, whole_unit=refresh is None)

        if refresh is None:
            coverage = _run_unit(collector, unit)
            if coverage.status is Completeness.FAILED:
                outcome.failure = "; ".join(error.describe() for error in coverage.errors[:3]) or "collection failed"
        else:
            try:
                refresh(unit, {type_name: ids or [ALL_OF_TYPE] for type_name, ids in request.targets.items()})
            except CallFailed as failure:
                unit.coverage.status = Completeness.FAILED
                unit.coverage.errors.append(failure.to_error())
                outcome.failure = failure.describe()
                logger.warning("account %s region %s service %s: refresh failed: %s", self.account, request.region,
                               request.service, failure.describe())
            unit.finish(())
            failed_types = [name for name in request.targets if name in unit.coverage.failed_types]
            if failed_types and outcome.failure is None:
                outcome.failure = "; ".join(unit.coverage.failed_types[name] for name in failed_types)

        outcome.resources = [] if outcome.failure and not outcome.whole_unit else list(unit.resources)
        outcome.gone = [] if outcome.failure else list(unit.gone)
        return outcome


def _run_unit(collector: CollectorSpec, unit: UnitContext) -> Coverage:
    try:
        collector.collect(unit)
    except CallFailed as failure:
        # A collector lets a failure escape only when nothing of the unit could be read.
        unit.coverage.status = Completeness.FAILED
        unit.coverage.errors.append(failure.to_error())
        for type_name in collector.resource_types:
            unit.coverage.failed_types.setdefault(type_name, failure.describe())
        logger.warning("account %s region %s service %s failed: %s", unit.account, unit.region, unit.service,
                       failure.describe())
    coverage = unit.finish(collector.resource_types)
    logger.info("account %s region %s service %s: %s, %d resource(s) in %.1fs", unit.account, unit.region,
                unit.service, coverage.status.value, len(unit.resources), coverage.duration_s)
    return coverage


def _identify(session: AwsSession, role_arn: str | None) -> tuple[str, str]:
    sts = session.client("sts")
    call = SCANNER_CALLS[0]
    try:
        identity = sts.get_caller_identity()
    except (ClientError, BotoCoreError) as error:
        if role_arn:
            raise ScanSetupError(
                f"cannot assume role {role_arn} ({_one_line(error)}). Check that the role exists, that its trust "
                "policy allows your identity, and the --external-id it expects."
            ) from error
        raise ScanSetupError(
            f"cannot identify the AWS account ({call.action} failed: {_one_line(error)}). Configure credentials "
            "(aws configure, aws sso login, AWS_PROFILE or --profile) and try again."
        ) from error
    arn = identity["Arn"]
    return identity["Account"], arn.split(":")[1]


def _one_line(error: BaseException) -> str:
    """Return an exception's text on one line (botocore messages can span several)."""
    return " ".join(str(error).split())


def _enabled_regions(session: AwsSession, account: str, *, required: bool) -> list[str] | None:
    """Return the regions enabled for the account; None when they cannot be listed and are not required."""
    ec2 = session.client("ec2")
    try:
        response = ec2.describe_regions(AllRegions=False)
    except (ClientError, BotoCoreError) as error:
        if not required:
            logger.warning("account %s: cannot list enabled regions (%s); scanning the regions given as they are",
                           account, _one_line(error))
            return None
        raise ScanSetupError(
            f"cannot list the regions enabled for account {account} (ec2:DescribeRegions failed: "
            f"{_one_line(error)}); "
            "grant ec2:DescribeRegions or pass --regions"
        ) from error
    return sorted(region["RegionName"] for region in response.get("Regions", []))
