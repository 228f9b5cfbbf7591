"""Decision serialisation: `to_json` beside `to_dict` and `json.dumps(to_dict())`, on the example
organisation and on a 1,000-column product, in the same run (and `decide` for scale)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from governance import Decision, Engine
from tests.benchmarks.conftest import EXAMPLE
from tests.benchmarks.test_engine_bench import _cycle, _requests
from tests.test_decision_json import wide_tree
from tests.treebuilder import request

WAYS: dict[str, Callable[[Decision], Any]] = {
    "to_json": lambda d: d.to_json(),
    "to_dict": lambda d: d.to_dict(),
    "json.dumps(to_dict)": lambda d: json.dumps(d.to_dict()),
}


@pytest.fixture(scope="module")
def example() -> tuple[Engine, list[dict[str, Any]]]:
    engine = Engine.from_path(EXAMPLE)
    return engine, _requests(engine, 256)


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, list[dict[str, Any]]]:
    """Requests naming four columns of a 1,000-column product, one of them masked."""
    engine = wide_tree(tmp_path_factory.mktemp("wide")).engine(evaluator="compiled")
    requests = [
        request(f"u{i}", product="sales.wide", clearance=i % 4,
                columns=[f"c{(i * 7 + k) % 1000:04d}" for k in range(4)])
        for i in range(256)
    ]  # fmt: skip
    return engine, requests


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("org", ["example", "wide"])
def test_serialise(benchmark: Any, request: pytest.FixtureRequest, org: str, way: str) -> None:
    engine, requests = request.getfixturevalue(org)
    decisions = [engine.decide(r) for r in requests]
    for d in decisions:
        d.to_json()  # the product's fragments are encoded on first use, once per snapshot
    benchmark.group = f"serialise:{org}"
    benchmark.extra_info["evaluator"] = way
    benchmark.extra_info["bytes"] = sum(len(d.to_json()) for d in decisions) // len(decisions)
    benchmark(_cycle(WAYS[way], decisions))


@pytest.mark.parametrize("org", ["example", "wide"])
def test_serialise_decide(benchmark: Any, request: pytest.FixtureRequest, org: str) -> None:
    """The decision itself, for scale: serialising should cost a fraction of deciding."""
    engine, requests = request.getfixturevalue(org)
    benchmark.group = f"serialise:{org}"
    benchmark.extra_info["evaluator"] = "decide"
    benchmark(_cycle(engine.decide, requests))


def test_wide_line_is_request_sized(wide: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, requests = wide
    decision = engine.decide(requests[1])
    assert len(decision.to_json()) < 4096 < len(json.dumps(decision.to_dict(all_columns=True)))
