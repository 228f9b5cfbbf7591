"""`decide_many` beside a loop over `decide`, in the same run: mixed traffic, and one principal
asking about every product (what a batch shares)."""

from __future__ import annotations

from typing import Any

import pytest

from governance import Engine
from tests.benchmarks.conftest import EXAMPLE
from tests.benchmarks.test_engine_bench import _requests


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path(EXAMPLE)


def _one_principal(engine: Engine) -> list[dict[str, Any]]:
    base = _requests(engine, 1)[0]
    return [
        {**base, "resource": {"type": "DataProduct", "id": product}}
        for product in sorted(engine.snapshot.products) * 4
    ]


@pytest.mark.parametrize("way", ["loop", "decide_many"])
@pytest.mark.parametrize("traffic", ["mixed", "one-principal"])
def test_batch(benchmark: Any, engine: Engine, traffic: str, way: str) -> None:
    requests = _requests(engine, 100) if traffic == "mixed" else _one_principal(engine)
    benchmark.group = f"batch:{traffic}"
    benchmark.extra_info["evaluator"] = way
    benchmark.extra_info["requests"] = len(requests)
    if way == "loop":
        benchmark(lambda: [engine.decide(r) for r in requests])
    else:
        benchmark(engine.decide_many, requests)
