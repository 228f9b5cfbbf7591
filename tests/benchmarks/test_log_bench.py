"""Decision-log benchmarks: caller-side cost, writer throughput, logged vs unlogged decisions (same run)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from governance import Engine
from governance.logs import BackgroundLog, FileSink, RecordBuilder
from governance.logs.encode import RecordEncoder
from tests.benchmarks.conftest import EXAMPLE
from tests.benchmarks.test_engine_bench import _requests


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path(EXAMPLE)


class _NullSink:
    def write(self, records: list[dict[str, Any]]) -> None:
        return None

    def close(self) -> None:
        return None


def test_caller_enqueue(benchmark: Any, engine: Engine) -> None:
    """What a logged decision adds on the caller's thread: the enqueue alone."""
    decision = engine.decide(_requests(engine, 1)[0])
    log = BackgroundLog(_NullSink(), capacity=10_000_000, when_full="drop")
    benchmark.group = "log:caller"
    benchmark(log.log, decision)
    log.close()


def test_writer_records(benchmark: Any, engine: Engine, tmp_path: Path) -> None:
    """Writer cost per record: build, encode, chain-hash and write a batch of 2,048."""
    decisions = [engine.decide(r) for r in _requests(engine, 2048)]
    builder, sink = RecordBuilder({"app": "bench"}), FileSink(tmp_path, max_bytes=1 << 30)
    benchmark.group = "log:writer"
    benchmark.extra_info["records"] = len(decisions)
    benchmark(lambda: sink.write([builder.build(d) for d in decisions]))
    sink.close()


def test_writer_encoded(benchmark: Any, engine: Engine, tmp_path: Path) -> None:
    """The same batch on the writer's byte path (what BackgroundLog does without masking)."""
    decisions = [engine.decide(r) for r in _requests(engine, 2048)]
    encoder, sink = RecordEncoder({"app": "bench"}), FileSink(tmp_path, max_bytes=1 << 30)
    benchmark.group = "log:writer"
    benchmark.extra_info["records"] = len(decisions)
    benchmark(lambda: sink.write_encoded([encoder.encode(d) for d in decisions]))
    sink.close()


@pytest.mark.parametrize("logged", [False, True], ids=["unlogged", "logged"])
def test_decide_throughput(benchmark: Any, engine: Engine, tmp_path: Path, logged: bool) -> None:
    """1,000 decisions, with the log closed (flushed) inside the timing when logged."""
    requests = _requests(engine)
    cycle = itertools.cycle(requests)
    batch = [next(cycle) for _ in range(1000)]
    benchmark.group = "log:throughput"
    benchmark.extra_info["evaluator"] = "logged" if logged else "unlogged"

    def run() -> None:
        log = (
            BackgroundLog(FileSink(tmp_path / str(id(batch)), max_bytes=1 << 30))
            if logged
            else None
        )
        target = Engine(engine.snapshot, log=log)
        for request in batch:
            target.decide(request)
        if log is not None:
            log.close()

    benchmark.pedantic(run, rounds=5, iterations=1)
