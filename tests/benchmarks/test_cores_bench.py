"""More cores: the same 2,000 decisions in this process and in pre-forked worker processes
sharing the loaded snapshot copy-on-write (see docs/serialisation.md), in the same run."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from typing import Any

import pytest

from governance import Engine
from tests.benchmarks.conftest import EXAMPLE
from tests.benchmarks.test_engine_bench import _requests

# Set before forking: the children inherit the loaded engine and the traffic, so a task is
# only its slice's bounds (what a worker fed from a socket would pay no pickling for either).
_ENGINE: Engine | None = None
_TRAFFIC: list[dict[str, Any]] = []
_REQUESTS = 2000


def _decide_part(bounds: tuple[int, int]) -> int:
    assert _ENGINE is not None
    requests = _TRAFFIC[bounds[0] : bounds[1]]
    return sum(len(d.to_json()) for d in _ENGINE.decide_many(requests))


@pytest.fixture(scope="module")
def requests() -> list[dict[str, Any]]:
    global _ENGINE
    _ENGINE = Engine.from_path(EXAMPLE)
    sample = _requests(_ENGINE, 200)
    _TRAFFIC[:] = [sample[i % len(sample)] for i in range(_REQUESTS)]
    return _TRAFFIC


@pytest.fixture(scope="module")
def pool(requests: list[dict[str, Any]]) -> Iterator[Any]:
    if "fork" not in mp.get_all_start_methods():
        pytest.skip("pre-forked workers need the fork start method")
    with mp.get_context("fork").Pool(processes=2) as workers:
        workers.map(_decide_part, [(0, len(requests))] * 2)  # started and warm
        yield workers


@pytest.mark.parametrize("processes", [1, 2])
def test_processes(
    benchmark: Any, requests: list[dict[str, Any]], pool: Any, processes: int
) -> None:
    benchmark.group = "cores"
    benchmark.extra_info["evaluator"] = f"{processes} process{'es' if processes > 1 else ''}"
    benchmark.extra_info["cpus"] = os.cpu_count()
    if processes == 1:
        benchmark(_decide_part, (0, len(requests)))
    else:
        half = len(requests) // 2
        benchmark(pool.map, _decide_part, [(0, half), (half, len(requests))])
