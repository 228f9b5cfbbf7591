"""Hostile request values are refused, never raised or allowed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from governance.engine import Engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_path("policies")


def _request(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "subject": {"type": "User", "id": "a", "properties": {"groups": []}},
        "action": {"name": "read"},
        "resource": {"type": "DataProduct", "id": "sales.orders"},
    }
    base.update(over)
    return base


class _BadRepr(dict[str, Any]):
    def __repr__(self) -> str:
        raise RuntimeError("no")


def _deep(n: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    cur = top
    for _ in range(n):
        cur["x"] = {}
        cur = cur["x"]
    return top


@pytest.mark.parametrize(
    "request_",
    [
        _request(context=[]),
        _request(context=0),
        _request(context=""),
        _request(context=False),
        _request(context={"v": float("nan")}),
        _request(context={"v": float("inf")}),
        _request(context=_deep(200)),
        _request(context=_deep(5000)),
        _request(subject={"type": "Bad Type!", "id": "a"}),
        _BadRepr(_request(context={"v": float("nan")})),
    ],
)
def test_hostile_requests_are_refused_as_strict_json(engine: Engine, request_: Any) -> None:
    decision = engine.decide(request_)
    assert decision.access.kind != "permitted"
    json.dumps(decision.to_dict(), allow_nan=False, default=str)


def test_naive_clock_is_rejected_when_the_engine_is_built() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        Engine.from_path("policies", clock=lambda: dt.datetime(2026, 1, 1))
