"""CPU time per request of the full decision and of the research `authorize`, for comparing
two checkouts on a shared machine: run it in each, alternated, and keep the lowest of each.

    PYTHONPATH=$PWD python -m tests.benchmarks.cpu_sample

Prints, in µs: decide mixed and allowed at 100 and at 1,000 policies, then `authorize` and the
hand-written function at 10, 100 and 1,000 policies. Each is the first quartile of 150 samples
of 64 requests, timed with `time.process_time_ns` (the other sessions on the machine disturb
CPU time less than wall time). The workloads are the benchmarks' own generators and requests.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from governance import Engine
from tests.benchmarks.test_engine_bench import _requests
from tests.benchmarks.test_research_bench import Workload
from tests.orggen import large_org, write_org


def cpu_us(call: Callable[[Any], Any], items: list[Any], samples: int = 150) -> float:
    """The first quartile of the samples' CPU time per item."""
    times = []
    for _ in range(samples):
        start = time.process_time_ns()
        for item in items:
            call(item)
        times.append((time.process_time_ns() - start) / len(items))
    times.sort()
    return times[len(times) // 4] / 1000


def main() -> None:
    found: list[float] = []
    with tempfile.TemporaryDirectory() as root:
        for policies in (100, 1000):
            path = write_org(Path(root, str(policies)), large_org(policies // 10, policies))
            engine = Engine.from_path(path)
            mixed = _requests(engine)
            chosen = _requests(engine, count=4000, seed=5)
            allowed = [r for r in chosen if engine.decide(r).allowed][:64]
            found += [cpu_us(engine.decide, mixed), cpu_us(engine.decide, allowed)]
    for size in (10, 100, 1000):
        work = Workload(size)
        requests = work.requests
        for request in requests:  # the first reading of each type name is the slow one
            work.compiled.authorize(request, work.store)
        found.append(cpu_us(lambda r, w=work: w.compiled.authorize(r, w.store), requests))
        found.append(cpu_us(work.hand, requests))
    print(" ".join(f"{value:.3f}" for value in found))


if __name__ == "__main__":
    main()
