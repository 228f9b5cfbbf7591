"""The request path of `govern serve` in process: time it, or profile it with cProfile.

python -m tests.benchmarks.server_profile [--requests 3000] [--batch-requests 60] [--no-log]
                                          [--profile single|batch] [--rounds 5]

Drives the ASGI app `govern serve` builds (`governance/server/runtime.py`) through its ASGI
interface on one event loop, with no sockets and no HTTP parsing: what remains is govern's
own cost per request (reading the body, deciding, answering, logging). With logging on, the
decision log writes hash-chained files to a temporary folder, and each round's time includes
draining the log's queue, so the writer thread's share is counted too. The same bodies as
`make bench-server` (tests/benchmarks/server_load.py). Best of `--rounds`, in CPU µs per request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from governance.server.runtime import ServeOptions, build_app
from tests.benchmarks.server_load import BATCH, ROOT, batch_body, single_body


def scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "scheme": "http",
        "server": ("127.0.0.1", 8181),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"127.0.0.1:8181"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }


async def drive(app: Any, path: str, body: bytes, count: int) -> None:
    request = scope(path, body)
    message = {"type": "http.request", "body": body, "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            statuses.append(event["status"])

    for _ in range(count):
        await app(request, receive, send)
    if any(s != 200 for s in statuses):
        raise SystemExit(f"non-200 answers: {sorted(set(statuses))}")


def run_round(
    log: bool,
    path: str,
    body: bytes,
    count: int,
    folder: Path,
    profiler: cProfile.Profile | None = None,
) -> float:
    """CPU µs per request, of every thread of the process (the log's writer included, its
    queue drained before the clock stops). CPU time rather than wall time: on a shared
    machine, wall time mostly measures the other processes."""
    options = ServeOptions(
        policies=str(ROOT / "policies"),
        log=str(folder / f"log-{time.perf_counter_ns()}") if log else None,
    )
    app = build_app(options, None)
    asyncio.run(drive(app, path, body, 50))  # warm caches
    started = time.process_time()
    if profiler is not None:
        profiler.enable()  # the request path only: not the load, not the writer thread
    asyncio.run(drive(app, path, body, count))
    if profiler is not None:
        profiler.disable()
    asyncio.run(shutdown(app))  # flushes the decision log
    return (time.process_time() - started) / count * 1e6


async def shutdown(app: Any) -> None:
    events = iter([{"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(event: dict[str, Any]) -> None:
        pass

    await app({"type": "lifespan"}, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--batch-requests", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-log", action="store_true")
    parser.add_argument("--profile", choices=("single", "batch"))
    args = parser.parse_args()
    scenarios = {
        "single": ("/access/v1/evaluation", orjson.dumps(single_body()), args.requests, 1),
        "batch": ("/access/v1/evaluations", orjson.dumps(batch_body()), args.batch_requests, BATCH),
    }
    with tempfile.TemporaryDirectory(prefix="govern-profile-") as temp:
        folder = Path(temp)
        if args.profile:
            path, body, count, _ = scenarios[args.profile]
            profiler = cProfile.Profile()
            run_round(not args.no_log, path, body, count, folder, profiler)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
            return
        for name, (path, body, count, per_request) in scenarios.items():
            best = min(
                run_round(not args.no_log, path, body, count, folder) for _ in range(args.rounds)
            )
            print(
                f"{name:>6}: {best:9.1f} CPU µs/request  {best / per_request:7.1f} µs/decision  "
                f"(log {'off' if args.no_log else 'on'}, best of {args.rounds})"
            )


if __name__ == "__main__":
    main()
