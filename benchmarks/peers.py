"""Run one peer scanner (Prowler, ScoutSuite or Cloud Custodian) against an emulator and measure it.

Each peer runs from its own virtual environment under --peers-dir (default /work/peers), on s3 and
ec2 in us-east-1, with dummy credentials and AWS_ENDPOINT_URL set to the emulator. The script prints
one JSON line with the wall time, the peak resident set size, the exit code and a rough count of
findings. The counts are not comparable across tools, because each tool counts findings differently.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

logger = logging.getLogger(__name__)

REGION = "us-east-1"
TOOLS = ("prowler", "scoutsuite", "custodian")
DEFAULT_PEERS_DIR = Path("/work/peers")
DEFAULT_TIMEOUT_S = 15 * 60
POLICY_FILE = Path(__file__).resolve().parent / "custodian-policies.yml"
TIME_BINARY = Path("/usr/bin/time")
SAMPLE_INTERVAL_S = 0.5

# Distribution name of each peer, for reading its installed version.
DISTRIBUTIONS = {"prowler": "prowler", "scoutsuite": "scoutsuite", "custodian": "c7n"}

# An unreachable loopback port used as HTTP(S) proxy: a request that a peer sends anywhere but the
# emulator fails at once on this machine instead of leaving it.
BLACKHOLE_PROXY = "http://127.0.0.1:9"

# Prefixes of the t0 resources that benchmarks/seed.py creates, for per-resource detection counts.
T0_RESOURCE_PATTERN = re.compile(r"rl-t0-[a-z0-9-]+")


@dataclass
class RunResult:
    """Measurements of one peer run, printed as one JSON line."""

    tool: str
    version: str
    label: str
    endpoint: str
    wall_s: float
    peak_rss_mb: float | None
    tree_peak_rss_mb: float
    exit_code: int | None
    timed_out: bool
    findings: int | None
    t0_flagged: dict[str, int]
    s3control_redirect: bool
    command: list[str]
    out_dir: str
    notes: list[str] = field(default_factory=list)


def peer_command(tool: str, venv: Path, report_dir: Path) -> list[str]:
    """Return the argument list that runs ``tool`` on s3 and ec2 in us-east-1."""
    if tool == "prowler":
        return [
            str(venv / "bin" / "prowler"), "aws",
            "--region", REGION,
            "--service", "s3", "ec2",
            "--output-directory", str(report_dir),
            "--output-formats", "csv", "json-ocsf",
            # Open ports on security groups that no instance uses are reported only with this flag.
            "--scan-unused-services",
            # moto returns HTTP 500 for operations it does not implement, and botocore retries them
            # with back-off. One attempt halved the t0 run (20 s against 41 s) with the same findings.
            "--aws-retries-max-attempts", "1",
            "--no-banner",
        ]  # fmt: skip
    if tool == "scoutsuite":
        return [
            str(venv / "bin" / "scout"), "aws",
            "--no-browser", "--force",
            "--regions", REGION,
            "--services", "s3", "ec2",
            "--report-dir", str(report_dir),
        ]  # fmt: skip
    if tool == "custodian":
        # A cache file of its own per run, so no run reads resources cached by an earlier one.
        return [
            str(venv / "bin" / "custodian"), "run",
            "--output-dir", str(report_dir),
            "--region", REGION,
            "--cache", str(report_dir.parent / "c7n.cache"),
            str(POLICY_FILE),
        ]  # fmt: skip
    raise ValueError(f"unknown tool {tool!r}; expected one of {', '.join(TOOLS)}")


def peer_environment(endpoint: str, s3control_endpoint: str | None) -> dict[str, str]:
    """Return the environment for a peer: dummy credentials, the emulator endpoint and no real AWS config."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            # No profile or credentials file of the machine may reach the peer.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # Never ask the instance metadata service for credentials or a region.
            "AWS_EC2_METADATA_DISABLED": "true",
            "HTTP_PROXY": BLACKHOLE_PROXY,
            "HTTPS_PROXY": BLACKHOLE_PROXY,
            "http_proxy": BLACKHOLE_PROXY,
            "https_proxy": BLACKHOLE_PROXY,
            "NO_PROXY": "127.0.0.1,localhost,.localhost",
            "no_proxy": "127.0.0.1,localhost,.localhost",
        }
    )
    if s3control_endpoint is not None:
        env["AWS_ENDPOINT_URL_S3_CONTROL"] = s3control_endpoint
    return env


def emulated_account_id(endpoint: str) -> str:
    """Return the account id that the emulator reports through STS GetCallerIdentity."""
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return str(sts.get_caller_identity()["Account"])


def s3control_wrapper(endpoint: str, account_id: str, work_dir: Path) -> tuple[list[str], str] | None:
    """Return a command prefix and endpoint that let s3control calls reach the emulator, or None.

    botocore puts the account id in front of the endpoint host for s3control, and
    ``ACCOUNT.127.0.0.1`` cannot resolve. The prefix runs the peer in a private mount namespace whose
    /etc/hosts maps ``ACCOUNT.localhost`` to 127.0.0.1, so the host file of the machine stays unchanged.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        logger.warning("unshare -m failed (%s); s3control calls will not reach the emulator", probe.stderr)
        return None

    port = urlsplit(endpoint).port
    hosts_file = work_dir / "hosts"
    original = Path("/etc/hosts").read_text(encoding="utf-8")
    hosts_file.write_text(f"{original.rstrip()}\n127.0.0.1 {account_id}.localhost\n", encoding="utf-8")
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return [unshare, "-m", "sh", "-c", script, str(hosts_file)], f"http://localhost:{port}"


def _process_tree_rss_bytes(root_pid: int) -> int:
    """Return the summed resident set size of ``root_pid`` and its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        # The command name is in brackets and may contain spaces, so fields are read after it.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))

    page_size = os.sysconf("SC_PAGE_SIZE")
    total = 0
    pending = [root_pid]
    while pending:
        pid = pending.pop()
        try:
            resident_pages = int(Path(f"/proc/{pid}/statm").read_text(encoding="utf-8").split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident_pages * page_size
        pending.extend(children.get(pid, []))
    return total


def _terminate_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the process group that ``process`` leads: SIGTERM, then SIGKILL after 10 seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


def run_measured(
    command: list[str], env: dict[str, str], out_dir: Path, timeout_s: float
) -> tuple[float, int | None, bool, int]:
    """Run ``command`` and return wall seconds, exit code, whether it timed out and peak tree RSS in bytes."""
    stdout_path = out_dir / "stdout.log"
    stderr_path = out_dir / "stderr.log"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(
            command, env=env, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, start_new_session=True
        )
        peak_tree_rss = 0
        timed_out = False
        while process.poll() is None:
            peak_tree_rss = max(peak_tree_rss, _process_tree_rss_bytes(process.pid))
            if time.monotonic() - started > timeout_s:
                logger.error("%s timed out after %.0f s; stopping process group %d", command[0], timeout_s, process.pid)
                timed_out = True
                _terminate_group(process)
                break
            time.sleep(SAMPLE_INTERVAL_S)
        wall_s = time.monotonic() - started
    return wall_s, process.returncode, timed_out, peak_tree_rss


def parse_time_report(path: Path) -> float | None:
    """Return the maximum resident set size in MB from a ``/usr/bin/time -v`` report, if present."""
    if not path.exists():
        return None
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text(encoding="utf-8"))
    return round(int(match.group(1)) / 1024, 1) if match else None


def _count_t0_mentions(flagged_texts: list[str]) -> dict[str, int]:
    """Count, per t0 resource name, the flagged texts that mention it."""
    counts: dict[str, int] = {}
    for text in flagged_texts:
        for name in set(T0_RESOURCE_PATTERN.findall(text)):
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))


def _prowler_findings(report_dir: Path) -> tuple[int, list[str]]:
    """Count FAIL findings in Prowler's OCSF JSON output."""
    reports = sorted(report_dir.glob("*.ocsf.json"))
    if not reports:
        raise FileNotFoundError(f"no *.ocsf.json report in {report_dir}")
    findings: list[dict[str, Any]] = json.loads(reports[-1].read_text(encoding="utf-8"))
    failed = [finding for finding in findings if finding.get("status_code") == "FAIL"]
    # Security group findings name the group id as resource and give the group name only in the
    # status detail, so both are searched for t0 names.
    texts = []
    for finding in failed:
        resource_names = " ".join(str(resource.get("name", "")) for resource in finding.get("resources", []))
        texts.append(f"{resource_names} {finding.get('status_detail', '')}")
    return len(failed), texts


def _scoutsuite_findings(report_dir: Path) -> tuple[int, list[str]]:
    """Count flagged items over all ScoutSuite rules in its results file."""
    results = sorted((report_dir / "scoutsuite-results").glob("scoutsuite_results_*.js"))
    if not results:
        raise FileNotFoundError(f"no scoutsuite_results_*.js in {report_dir / 'scoutsuite-results'}")
    # The file is JavaScript: an assignment line, then the JSON document.
    text = results[-1].read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text[text.index("\n") + 1 :])

    total = 0
    flagged_texts = []
    services: dict[str, Any] = document.get("services", {})
    for service in services.values():
        for rule in service.get("findings", {}).values():
            total += int(rule.get("flagged_items", 0))
            flagged_texts.extend(_scoutsuite_item_names(document, rule.get("items", [])))
    return total, flagged_texts


def _scoutsuite_item_names(document: dict[str, Any], items: list[str]) -> list[str]:
    """Resolve ScoutSuite item paths (dotted paths into the results) to the names of the flagged resources."""
    names = []
    for item in items:
        node: Any = document.get("services", {})
        # A path runs through the resource (a dict with a name) down to one of its fields, so the
        # last named dict on the way is the flagged resource.
        name = item
        for part in item.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                name = node["name"]
        names.append(name)
    return names


def _custodian_findings(report_dir: Path) -> tuple[int, list[str]]:
    """Count matched resources over all Custodian policies."""
    total = 0
    names: list[str] = []
    for resources_file in sorted(report_dir.glob("*/resources.json")):
        resources: list[dict[str, Any]] = json.loads(resources_file.read_text(encoding="utf-8"))
        total += len(resources)
        # Buckets carry Name, security groups GroupName.
        names.extend(str(resource.get("Name") or resource.get("GroupName") or "") for resource in resources)
    return total, names


FINDING_PARSERS = {
    "prowler": _prowler_findings,
    "scoutsuite": _scoutsuite_findings,
    "custodian": _custodian_findings,
}


def installed_version(venv: Path, tool: str) -> str:
    """Return the installed version of the peer's distribution in ``venv``."""
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({DISTRIBUTIONS[tool]!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return probe.stdout.strip()


def run_peer(tool: str, endpoint: str, out_dir: Path, peers_dir: Path, label: str, timeout_s: float) -> RunResult:
    """Run one peer against ``endpoint``, writing its report and logs under ``out_dir``."""
    venv = peers_dir / tool
    if not (venv / "bin" / "python").exists():
        raise FileNotFoundError(f"no virtual environment for {tool} at {venv}; install the peer there first")
    version = installed_version(venv, tool)

    # Start from an empty directory: leftovers from an earlier run would be counted as findings.
    if out_dir.exists():
        shutil.rmtree(out_dir)
    report_dir = out_dir / "report"
    report_dir.mkdir(parents=True)

    notes = []
    account_id = emulated_account_id(endpoint)
    wrapper = s3control_wrapper(endpoint, account_id, out_dir)
    prefix: list[str] = []
    s3control_endpoint = None
    if wrapper is None:
        notes.append("s3control redirect unavailable: account-level Block Public Access is not reachable")
    else:
        prefix, s3control_endpoint = wrapper

    command = peer_command(tool, venv, report_dir)
    time_report = out_dir / "time.txt"
    measured = prefix
    if TIME_BINARY.exists():
        measured = [*prefix, str(TIME_BINARY), "-v", "-o", str(time_report)]
    else:
        notes.append("/usr/bin/time missing: peak_rss_mb is the sampled process tree only")

    env = peer_environment(endpoint, s3control_endpoint)
    logger.info("running %s %s against %s, output in %s", tool, version, endpoint, out_dir)
    wall_s, exit_code, timed_out, tree_peak = run_measured([*measured, *command], env, out_dir, timeout_s)

    findings: int | None = None
    t0_flagged: dict[str, int] = {}
    try:
        findings, flagged_texts = FINDING_PARSERS[tool](report_dir)
        t0_flagged = _count_t0_mentions(flagged_texts)
    except (FileNotFoundError, json.JSONDecodeError, ValueError) as error:
        logger.warning("could not count %s findings in %s: %s", tool, report_dir, error)
        notes.append(f"findings not counted: {error}")

    tree_peak_mb = round(tree_peak / 2**20, 1)
    return RunResult(
        tool=tool,
        version=version,
        label=label,
        endpoint=endpoint,
        wall_s=round(wall_s, 2),
        peak_rss_mb=parse_time_report(time_report) if TIME_BINARY.exists() else tree_peak_mb,
        tree_peak_rss_mb=tree_peak_mb,
        exit_code=exit_code,
        timed_out=timed_out,
        findings=findings,
        t0_flagged=t0_flagged,
        s3control_redirect=wrapper is not None,
        command=command,
        out_dir=str(out_dir),
        notes=notes,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", required=True, help="emulator URL, such as http://127.0.0.1:5000")
    parser.add_argument("--tool", required=True, choices=TOOLS)
    parser.add_argument("--out", required=True, type=Path, help="directory for the report and logs; emptied first")
    parser.add_argument("--peers-dir", type=Path, default=DEFAULT_PEERS_DIR, help="folder of the peer venvs")
    parser.add_argument("--label", default="", help="free-form run label copied into the result, such as t1")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds before the peer is stopped")
    parser.add_argument("--result-file", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    endpoint_host = urlsplit(args.endpoint).hostname
    if endpoint_host not in ("127.0.0.1", "localhost"):
        parser.error(f"--endpoint must be on 127.0.0.1 or localhost, got {args.endpoint}")

    result = run_peer(args.tool, args.endpoint, args.out.resolve(), args.peers_dir, args.label, args.timeout)
    line = json.dumps(asdict(result), sort_keys=True)
    print(line)
    if args.result_file is not None:
        args.result_file.parent.mkdir(parents=True, exist_ok=True)
        args.result_file.write_text(line + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
