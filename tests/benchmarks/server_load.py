"""`make bench-server`: drive `govern serve` with wrk; print requests/s, evaluations/s, p50/p99.

python -m tests.benchmarks.server_load [--workers 1 2] [--duration 10] [--connections 16]
                                       [--code CHECKOUT ...] [--rounds N]

A real server process (decision logging on, to a temporary folder) on 127.0.0.1; wrk, the
load generator, runs beside it with a Lua script (tests/benchmarks/wrk/post_json.lua) that
posts one body over and over: a single evaluation, a batch of 100 mixed evaluations, and a
batch of 100 with the subject and context as request-level defaults (one item per product).
Both share this machine's cores with the server, so the numbers are a floor.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("wrk") / "post_json.lua"
BATCH = 100


def personas() -> list[dict[str, object]]:
    import yaml

    fixtures = yaml.safe_load((ROOT / "policies/fixtures.yaml").read_text())
    return [
        {"type": p.get("type", "User"), "id": p["id"], "properties": p.get("properties", {})}
        for p in fixtures["principals"].values()
    ]


PRODUCTS = (
    "people.employees",
    "sales.orders",
    "sales.customers",
    "finance.ledger",
    "marketing.web_sessions",
)
PURPOSES = ("hr_administration", "analytics", "reporting", "marketing")


def single_body() -> dict[str, object]:
    dave = next(p for p in personas() if p["id"] == "dave")
    return {
        "subject": dave,
        "action": {"name": "read"},
        "resource": {"type": "DataProduct", "id": "people.employees"},
        "context": {"purpose": "hr_administration"},
    }


def batch_body() -> dict[str, object]:
    mix = itertools.cycle(itertools.product(personas(), PRODUCTS, PURPOSES))
    items = [
        {
            "subject": subject,
            "resource": {"type": "DataProduct", "id": product},
            "context": {"purpose": purpose},
        }
        for subject, product, purpose in itertools.islice(mix, BATCH)
    ]
    return {"action": {"name": "read"}, "evaluations": items}


def shared_batch_body() -> dict[str, object]:
    """The common batch: one subject and context as request-level defaults, an item per
    product (what a catalog page asks for one user)."""
    dave = next(p for p in personas() if p["id"] == "dave")
    products = itertools.islice(itertools.cycle(PRODUCTS), BATCH)
    return {
        "subject": dave,
        "action": {"name": "read"},
        "context": {"purpose": "hr_administration"},
        "evaluations": [{"resource": {"type": "DataProduct", "id": p}} for p in products],
    }


@dataclass(frozen=True)
class Row:
    scenario: str
    code: str
    log: bool
    workers: int
    per_request: int  # evaluations per request: 1, or the batch size
    requests_per_s: float
    decisions_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float  # the server's CPU time (all its processes and threads) per evaluation


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    workers: int, log_dir: Path | None, code: Path = ROOT
) -> tuple[subprocess.Popen[bytes], str]:
    """`govern serve` from the checkout at `code` (this one by default), on this checkout's
    policies, so that two versions of the server can be compared in one run."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(code)}
    logging = [] if log_dir is None else ["--log", str(log_dir)]
    process = subprocess.Popen(
        [sys.executable, "-m", "governance", "serve", "--policies", str(ROOT / "policies"),
         "--port", str(port), "--workers", str(workers), *logging],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(process.communicate()[1].decode())
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` and its descendants (uvicorn's worker processes),
    from /proc: on a shared machine the rates measure the neighbours too, CPU time much less."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                children.setdefault(int(_stat(int(entry))[1]), []).append(int(entry))
            except OSError:  # gone meanwhile
                continue
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = _stat(current)
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += children.get(current, [])
    return total


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def wrk(url: str, body: Path, duration: int, connections: int, threads: int) -> dict[str, int]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
               "-s", str(SCRIPT), url, "--", str(body)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith('{"requests"'))
    return dict(orjson.loads(line))


def measure(
    workers: int, log: bool, args: argparse.Namespace, folder: Path, code: Path = ROOT
) -> list[Row]:
    logs = folder / f"logs-{workers}-{time.monotonic_ns()}"
    process, url = serve(workers, logs if log else None, code)
    rows = []
    try:
        for scenario, path, body, per_request, connections in [
            ("single evaluation", "/access/v1/evaluation", single_body(), 1, args.connections),
            (
                f"batch of {BATCH}",
                "/access/v1/evaluations",
                batch_body(),
                BATCH,
                args.batch_connections,
            ),
            (
                f"batch of {BATCH}, one subject",
                "/access/v1/evaluations",
                shared_batch_body(),
                BATCH,
                args.batch_connections,
            ),
        ]:
            body_file = folder / f"{scenario.replace(' ', '_').replace(',', '')}.json"
            body_file.write_bytes(orjson.dumps(body))
            wrk(url + path, body_file, 2, connections, args.threads)  # warm-up
            cpu_before = cpu_seconds(process.pid)
            result = wrk(url + path, body_file, args.duration, connections, args.threads)
            cpu = (cpu_seconds(process.pid) - cpu_before) / (result["requests"] * per_request)
            seconds = result["duration_us"] / 1e6
            rate = result["requests"] / seconds
            rows.append(Row(
                scenario, code.name, log, workers, per_request, rate, rate * per_request, result["p50_us"] / 1000,
                result["p99_us"] / 1000, result["non_2xx"] + result["socket_errors"], cpu * 1e6,
            ))  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | code | decision log | workers | requests/s | evaluations/s | p50 ms | p99 ms | errors | server CPU µs/evaluation |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    order = list(dict.fromkeys(r.scenario for r in rows))
    # Side by side: each scenario's runs together, the checkouts compared next to each other.
    for r in sorted(rows, key=lambda r: (order.index(r.scenario), not r.log, r.workers)):
        lines.append(
            f"| {r.scenario} | {r.code} | {'on' if r.log else 'off'} | {r.workers} | {r.requests_per_s:,.0f} | {r.decisions_per_s:,.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | {r.cpu_us:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=16, help="for single evaluations")
    parser.add_argument("--batch-connections", type=int, default=4, help="for batches")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--also-without-log", action="store_true", help="repeat every run with logging off"
    )
    parser.add_argument(
        "--code",
        type=Path,
        nargs="+",
        default=[ROOT],
        help="checkouts whose server to run, alternately (same-run comparisons)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole set")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (make bench-server installs it: apt-get install -y wrk)")
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="govern-bench-") as tmp:
        for _ in range(args.rounds):
            for log in (True, False) if args.also_without_log else (True,):
                for workers in args.workers:
                    for code in args.code:
                        rows += measure(workers, log, args, Path(tmp), code.resolve())
    print(
        f"govern serve under wrk, {os.cpu_count()} cores shared with wrk; "
        f"{args.connections} connections for singles, {args.batch_connections} for batches"
    )
    print(table(rows))
    print(f"load average during the run: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for line in verdicts(rows):
        print(line)
    return 0


SINGLE_TARGET = (5_000, 10.0)  # evaluations/s, p99 ms (issue 14, decision logging on)
BATCH_TARGET = 50_000  # evaluations/s through the batch endpoint


def verdicts(rows: list[Row]) -> list[str]:
    """Per checkout, the best logged run of each kind against the targets."""
    lines = []
    for code in dict.fromkeys(r.code for r in rows):
        logged = [r for r in rows if r.code == code and r.log]
        singles = [r for r in logged if r.per_request == 1]
        batches = [r for r in logged if r.per_request > 1]
        if singles:
            rate, p99 = SINGLE_TARGET
            met = [r for r in singles if r.decisions_per_s >= rate and r.p99_ms <= p99]
            best = max(met or singles, key=lambda r: r.decisions_per_s)
            lines.append(
                f"{code}: single evaluations ≥ {rate:,}/s at p99 ≤ {p99:g} ms: "
                f"{'met' if met else 'not met'} (best {best.decisions_per_s:,.0f}/s, "
                f"p99 {best.p99_ms:.2f} ms, {best.workers} workers)"
            )
        if batches:
            best = max(batches, key=lambda r: r.decisions_per_s)
            lines.append(
                f"{code}: batches ≥ {BATCH_TARGET:,} evaluations/s: "
                f"{'met' if best.decisions_per_s >= BATCH_TARGET else 'not met'} "
                f"(best {best.decisions_per_s:,.0f}/s, {best.scenario}, {best.workers} workers)"
            )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
