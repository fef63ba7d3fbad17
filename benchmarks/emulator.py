"""Start moto's server on 127.0.0.1 for benchmarks, configured so peer scanners see a realistic account.

Use it as a context manager (``with Emulator() as emulator: emulator.endpoint``) or from the shell:
``python benchmarks/emulator.py --port 0`` prints the endpoint URL on one line and serves until
interrupted (SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"

# The DescribeRegions filters that the patch below evaluates, mapped to the attribute of moto's
# Region object that contains the value.
_REGION_FILTER_ATTRIBUTES = {
    "region-name": "name",
    "endpoint": "endpoint",
    "opt-in-status": "opt_in_status",
}


def _prepare_empty_ami_catalog() -> Path:
    """Write an empty AMI catalog and point MOTO_AMIS_PATH at it.

    moto 5.2.5 otherwise loads about 1,300 public AMIs whose snapshots appear to be owned by the
    emulated account, and every scanner reports them as unencrypted snapshots. moto reads the
    variable when ``moto.ec2.models.amis`` is first imported, so this must run before that import.
    """
    handle, name = tempfile.mkstemp(prefix="moto-amis-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as catalog:
        catalog.write("[]")
    os.environ["MOTO_AMIS_PATH"] = name
    return Path(name)


def _check_ami_catalog_is_empty() -> None:
    """Raise if moto was imported earlier in this process with its default AMI catalog."""
    from moto.ec2.models import amis

    if amis.AMIS:
        raise RuntimeError(
            f"moto loaded {len(amis.AMIS)} default AMIs because it was imported before MOTO_AMIS_PATH "
            "was set; start the emulator before importing moto in this process, or set "
            "MOTO_AMIS_PATH to a file containing [] in the environment"
        )


def _region_matches(region: Any, filters: dict[str, list[str]]) -> bool:
    for name, values in filters.items():
        attribute = _REGION_FILTER_ATTRIBUTES.get(name)
        if attribute is None:
            # An unknown filter name is ignored, as moto does for every filter today.
            logger.warning("DescribeRegions filter %s is not emulated; ignoring it", name)
            continue
        if getattr(region, attribute) not in values:
            return False
    return True


def patch_describe_regions_filters() -> None:
    """Make moto's DescribeRegions apply its Filters (region-name, endpoint, opt-in-status).

    moto 5.2.5 ignores the Filters of DescribeRegions. ScoutSuite 5.14.0 requests the regions whose
    opt-in-status is not-opted-in and drops them from its scan, so against an unpatched moto it drops
    every region and reports nothing for EC2 and the other regional services.
    The patch changes moto's response class in the current process only, so it takes effect only for a
    server that runs in this process (as ThreadedMotoServer does); nothing is written to disk.
    """
    from moto.core.responses import ActionResult
    from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions

    if getattr(AvailabilityZonesAndRegions.describe_regions, "_benchmark_patch", False):
        return

    def describe_regions(self: Any) -> ActionResult:
        self.error_on_dryrun()
        region_names = self._get_param("RegionNames", [])
        regions = self.ec2_backend.describe_regions(region_names)

        filters = self._filters_from_querystring()
        selected = [region for region in regions if _region_matches(region, filters)]
        return ActionResult({"Regions": selected})

    patched: Callable[[Any], ActionResult] = describe_regions
    patched._benchmark_patch = True  # type: ignore[attr-defined]
    AvailabilityZonesAndRegions.describe_regions = patched  # type: ignore[method-assign,assignment]
    logger.info("patched moto DescribeRegions to apply Filters")


class Emulator:
    """moto's threaded server on 127.0.0.1, with an empty AMI catalog and, optionally, the
    DescribeRegions filter patch."""

    def __init__(self, port: int = 0, *, patch_regions: bool = True) -> None:
        self._requested_port = port
        self._patch_regions = patch_regions
        self._server: Any = None
        self._ami_catalog: Path | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """URL of the running server, such as ``http://127.0.0.1:40123``."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return f"http://{HOST}:{self.port}"

    def start(self) -> str:
        """Start the server and return its endpoint URL."""
        self._ami_catalog = _prepare_empty_ami_catalog()

        # Imports run here, after MOTO_AMIS_PATH is set, because moto reads it at import time.
        from moto.server import ThreadedMotoServer

        _check_ami_catalog_is_empty()
        if self._patch_regions:
            patch_describe_regions_filters()

        # Werkzeug logs every request at INFO, which at thousands of requests costs CPU that the
        # scanner under test shares.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        self._server = ThreadedMotoServer(ip_address=HOST, port=self._requested_port, verbose=False)
        self._server.start()
        _, self.port = self._server.get_host_and_port()
        logger.info("moto server listening on %s", self.endpoint)
        return self.endpoint

    def stop(self) -> None:
        """Stop the server and delete the AMI catalog file."""
        if self._server is not None:
            self._server.stop()
            logger.info("moto server on port %d stopped", self.port)
            self._server = None
        if self._ami_catalog is not None:
            self._ami_catalog.unlink(missing_ok=True)
            self._ami_catalog = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free port")
    parser.add_argument(
        "--no-region-filter-patch",
        action="store_true",
        help="serve moto's DescribeRegions unchanged, which ignores Filters",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    with Emulator(args.port, patch_regions=not args.no_region_filter_patch) as emulator:
        print(emulator.endpoint, flush=True)
        stop_requested.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
