"""Benchmark a Ridgeline scan of an emulated account of N buckets and N security groups.

For each N, on a fresh emulator (moto's server in this process; the scanner runs in its own):
seed the account, time `ridgeline scan aws` (wall time, peak RSS, API calls), time the bare replay
of the same calls (`bare_calls.py`), and, with --peers, run Prowler, ScoutSuite and Custodian on the
same account in the same run. Prints one JSON line per measurement and writes them to --results.

    python benchmarks/ridgeline_bench.py --sizes 100,1000 --peers --results benchmarks/results/run.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator import Emulator
from peers import TIME_BINARY, parse_time_report, peer_environment, run_measured, run_peer
from seed import seed

from ridgeline.demo.emulator import reset_emulator

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
RIDGELINE = REPO / ".venv" / "bin" / "ridgeline"
SERVICES = "s3,ec2"
REGION = "us-east-1"
TIMEOUT_S = 15 * 60

logger = logging.getLogger("ridgeline_bench")


def measure_ridgeline(endpoint: str, work: Path) -> dict[str, Any]:
    """Run one scan as a separate process and return its figures."""
    out = work / "ridgeline"
    out.mkdir(parents=True, exist_ok=True)
    time_file = out / "time.txt"
    command = [str(TIME_BINARY), "-v", "-o", str(time_file), str(RIDGELINE), "scan", "aws", "--regions", REGION,
               "--services", SERVICES, "--no-store", "--output-format", "json", "--output-dir", str(out / "report")]
    wall, code, timed_out, _ = run_measured(command, peer_environment(endpoint, None), out, TIMEOUT_S)
    report = json.loads(next((out / "report").glob("*.json")).read_text())
    return {
        "tool": "ridgeline",
        "wall_s": round(wall, 2),
        "peak_rss_mb": parse_time_report(time_file),
        "exit_code": code,
        "timed_out": timed_out,
        "api_calls": report["scan"]["api_calls"],
        "resources": report["summary"]["resources"],
        "findings": report["summary"]["findings"],
    }


def measure_bare_calls(endpoint: str, work: Path, workers: int) -> dict[str, Any]:
    """Record the calls of a scan (untimed), then time their bare replay in a separate process."""
    calls = work / "calls.json"
    environment = peer_environment(endpoint, None)
    record = [str(PYTHON), str(REPO / "benchmarks" / "bare_calls.py"), "record", "--regions", REGION,
              "--services", SERVICES, "--out", str(calls)]
    run_measured(record, environment, _folder(work / "record"), TIMEOUT_S)
    out = _folder(work / "replay")
    replay = [str(PYTHON), str(REPO / "benchmarks" / "bare_calls.py"), "replay", "--calls", str(calls),
              "--workers", str(workers)]
    wall, code, _, _ = run_measured(replay, environment, out, TIMEOUT_S)
    printed = json.loads((out / "stdout.log").read_text().strip().splitlines()[-1])
    return {"tool": "bare-calls", "wall_s": printed["wall_s"], "process_wall_s": round(wall, 2),
            "api_calls": printed["calls"], "workers": workers, "exit_code": code}


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_size(size: int, peers: bool, peers_dir: Path, work_root: Path) -> list[dict[str, Any]]:
    """Measure everything for one N on a fresh emulator."""
    results = []
    with Emulator() as emulator:
        # moto's backends are process-wide: an earlier size's resources would still be there.
        reset_emulator(emulator.endpoint)
        counts = seed(emulator.endpoint, size, size)
        logger.info("N=%d seeded: %s", size, counts)
        work = _folder(work_root / f"n{size}")
        results.append({"n": size, **measure_ridgeline(emulator.endpoint, work)})
        results.append({"n": size, **measure_bare_calls(emulator.endpoint, work, workers=32)})
        if peers:
            for tool in ("custodian", "scoutsuite", "prowler"):
                peer = run_peer(tool, emulator.endpoint, _folder(work / tool), peers_dir, f"n{size}", TIMEOUT_S)
                results.append({"n": size, **_peer_fields(peer)})
    return results


def _peer_fields(peer: Any) -> dict[str, Any]:
    data = dataclasses.asdict(peer)
    keep = ("tool", "version", "wall_s", "peak_rss_mb", "exit_code", "timed_out", "findings")
    return {key: data[key] for key in keep if key in data}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="comma-separated N (buckets and groups each)")
    parser.add_argument("--peers", action="store_true", help="also run Prowler, ScoutSuite and Custodian")
    parser.add_argument("--peers-dir", type=Path, default=Path("/work/peers"), help="folder of the peer venvs")
    parser.add_argument("--results", type=Path, help="append the JSON lines to this file")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    with tempfile.TemporaryDirectory(prefix="ridgeline-bench-") as folder:
        for size in (int(value) for value in arguments.sizes.split(",")):
            for result in run_size(size, arguments.peers, arguments.peers_dir, Path(folder)):
                line = json.dumps(result)
                print(line, flush=True)
                if arguments.results:
                    arguments.results.parent.mkdir(parents=True, exist_ok=True)
                    with arguments.results.open("a") as stream:
                        stream.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
