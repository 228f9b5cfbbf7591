"""Stalls: how long deciding threads wait while a full reload of the 10,000-policy organisation
runs, and the collector's pauses in steady state while 100,000 decisions stay alive (as a
backed-up log queue holds them). `make bench` reports the longest gap and p99.9 beside them."""

from __future__ import annotations

import gc
import shutil
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from governance import Engine
from tests.treebuilder import request

SIZE = "10000"
THREADS = 2
BUFFER = 100_000


@pytest.fixture(scope="module")
def engine(orgs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("stalls") / "tree"
    shutil.copytree(orgs[SIZE], root)
    return Engine.from_path(root)


def _request(engine: Engine) -> dict[str, Any]:
    view = engine.snapshot.products["d007.p0"]
    return request(product=view.product.id, groups=["d007-g1"], clearance=2, columns="*")


class _Gaps:
    """The time between consecutive decisions of one thread, each with when it ended."""

    def __init__(self) -> None:
        self.ends: list[int] = []
        self.gaps: list[int] = []

    def between(self, start: int, end: int) -> list[int]:
        return [g for t, g in zip(self.ends, self.gaps, strict=True) if start <= t <= end]


def _decide(engine: Engine, payload: dict[str, Any], stop: threading.Event, gaps: _Gaps) -> None:
    clock, decide = time.perf_counter_ns, engine.decide
    ends, lengths = gaps.ends, gaps.gaps
    last = clock()
    while not stop.is_set():
        decide(payload)
        now = clock()
        ends.append(now)
        lengths.append(now - last)
        last = now


def _figures(gaps: list[int]) -> dict[str, float]:
    ordered = sorted(gaps)
    return {
        "decisions": len(ordered),
        "longest_gap_ms": round(ordered[-1] / 1e6, 2),
        "p999_gap_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.999))] / 1e6, 3),
    }


@pytest.fixture
def collections() -> Iterator[list[tuple[int, int]]]:
    """(generation, nanoseconds) of every collection while the test runs."""
    found: list[tuple[int, int]] = []
    started = [0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            found.append((info["generation"], time.perf_counter_ns() - started[0]))

    gc.callbacks.append(watch)
    try:
        yield found
    finally:
        gc.callbacks.remove(watch)


def test_steady_state_collections(
    benchmark: Any, engine: Engine, collections: list[tuple[int, int]]
) -> None:
    """One thread deciding while the last 100,000 decisions stay alive: the collector's
    longest pause and the longest gap between decisions."""
    payload = _request(engine)
    buffer: deque[Any] = deque(maxlen=BUFFER)
    gaps: list[int] = []

    def run() -> None:
        clock, decide, keep = time.perf_counter_ns, engine.decide, buffer.append
        last = clock()
        for _ in range(3 * BUFFER):
            keep(decide(payload))
            now = clock()
            gaps.append(now - last)
            last = now

    benchmark.group = "stalls"
    benchmark.pedantic(run, rounds=1, iterations=1)
    full = [ns for generation, ns in collections if generation == 2]
    benchmark.extra_info.update(
        policies=int(SIZE), case=f"steady state, {BUFFER:,} decisions alive", **_figures(gaps),
        longest_collection_ms=round(max((ns for _, ns in collections), default=0) / 1e6, 2),
        full_collections=len(full),
    )  # fmt: skip


def test_decisions_during_a_full_reload(benchmark: Any, engine: Engine) -> None:
    """Two threads deciding while the whole 10,000-policy organisation reloads (a global
    policy changed, so nothing carries over): the longest gap between decisions and p99.9."""
    root = engine.snapshot.tree.root
    (root / "global" / "access" / "extra.cedar").write_text(
        '@id("extra")\npermit(principal in Group::"g-extra", action, resource);\n'
    )
    payload = _request(engine)
    stop, gaps = threading.Event(), [_Gaps() for _ in range(THREADS)]
    threads = [
        threading.Thread(target=_decide, args=(engine, payload, stop, g), daemon=True) for g in gaps
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    window: list[int] = []

    def reload() -> None:
        window.append(time.perf_counter_ns())
        engine.reload(root)
        window.append(time.perf_counter_ns())

    benchmark.group = "stalls"
    try:
        benchmark.pedantic(reload, rounds=1, iterations=1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert engine.snapshot.rebuilt is None
    during = [gap for g in gaps for gap in g.between(window[0], window[1])]
    benchmark.extra_info.update(
        policies=int(SIZE), case=f"full reload, {THREADS} threads deciding", **_figures(during)
    )
