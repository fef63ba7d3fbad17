"""The floor for a scan's wall time: the same API calls, issued by plain boto3 clients, nothing else.

`record` runs a Ridgeline collection once and writes every call it made (client, region, operation,
parameters) to a JSON file. `replay` issues exactly those calls on a thread pool of the same size as
the scanner's detail pool, with no parsing, rules or storage, and prints the wall time. The ratio of
a scan's time to the replay's time is the scanner's overhead.

    python benchmarks/bare_calls.py record --regions us-east-1 --services s3,ec2 --out calls.json
    python benchmarks/bare_calls.py replay --calls calls.json --workers 32
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from ridgeline.providers.aws.calls import CallRecorder
from ridgeline.providers.aws.scanner import AwsScanOptions, collect_aws
from ridgeline.providers.aws.session import AwsSession, strip_account_host_prefix


def record(regions: list[str], services: list[str], out: Path) -> int:
    """Collect once with a recording session and write the calls made."""
    recorder = CallRecorder(keep_calls=True)
    collect_aws(AwsScanOptions(regions=regions, services=services), session=AwsSession(recorder=recorder))
    calls = [{"client": c.client, "region": c.region, "operation": c.operation, "parameters": c.parameters}
             for c in recorder.calls]
    out.write_text(json.dumps(calls, default=str))
    print(json.dumps({"recorded_calls": len(calls)}))
    return 0


def replay(calls_file: Path, workers: int) -> int:
    """Issue the recorded calls concurrently and print the wall time."""
    calls = json.loads(calls_file.read_text())
    config = Config(retries={"mode": "adaptive", "max_attempts": 10}, max_pool_connections=workers * 2)
    session = boto3.Session()
    clients: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def client_for(name: str, region: str) -> Any:
        with lock:
            if (name, region) not in clients:
                client = session.client(name, region_name=region, config=config)  # type: ignore[call-overload]
                if name == "s3control":
                    client.meta.events.register("before-sign.s3-control", strip_account_host_prefix)
                clients[(name, region)] = client
            return clients[(name, region)]

    # Clients are created before timing starts, as the scanner's are reused across calls.
    for call in calls:
        client_for(call["client"], call["region"])

    errors = 0

    def issue(call: dict[str, Any]) -> None:
        nonlocal errors
        client = client_for(call["client"], call["region"])
        try:
            getattr(client, xform_name(call["operation"]))(**call["parameters"])
        except ClientError:
            # "Not configured" errors (NoSuchBucketPolicy, ...) are part of the work a scan does.
            with lock:
                errors += 1

    started = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(issue, calls))
    wall = time.monotonic() - started
    print(json.dumps({"calls": len(calls), "workers": workers, "wall_s": round(wall, 3),
                      "client_errors": errors}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="collect once and write the calls made")
    recording.add_argument("--regions", default="us-east-1")
    recording.add_argument("--services", default="s3,ec2")
    recording.add_argument("--out", type=Path, required=True)
    replaying = commands.add_parser("replay", help="issue recorded calls and time them")
    replaying.add_argument("--calls", type=Path, required=True)
    replaying.add_argument("--workers", type=int, default=32, help="threads; the scanner's detail pool has 32")
    arguments = parser.parse_args(argv)
    if arguments.command == "record":
        return record(arguments.regions.split(","), arguments.services.split(","), arguments.out)
    return replay(arguments.calls, arguments.workers)


if __name__ == "__main__":
    sys.exit(main())
