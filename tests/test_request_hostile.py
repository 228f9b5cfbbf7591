"""Hostile request values are refused, never raised or allowed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from governance.access.request import AccessRequest
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


_PERMITTED = dict(  # a typed request that is allowed with `base_salary` masked
    principal="dave",
    action="read",
    product="people.employees",
    groups=("hr-partners",),
    attributes={"clearance": 3},
    context={"purpose": "hr_administration"},
)


@pytest.mark.parametrize(
    "over",
    [
        {"principal": None},  # an unauthenticated session's user: was decided, and allowed
        {"principal": ""},
        {"principal": 5},
        {"action": None},
        {"product": b"people.employees"},
        {"attributes": None},  # was an internal error whose decision could not be serialised
        {"context": []},
        {"context": {"purpose": "hr_administration", "x": float("nan")}},  # to_dict held NaN
        {"columns": (1,)},
        {"columns": "base_salary"},
    ],
    ids=repr,
)
def test_a_malformed_typed_request_is_refused_as_strict_json(engine: Engine, over: Any) -> None:
    decision = engine.decide(AccessRequest(**{**_PERMITTED, **over}))
    assert decision.reason_code == "bad_request", decision.reason
    json.dumps(decision.to_dict(), allow_nan=False)
    json.loads(decision.to_json())


def test_columns_given_as_an_iterator_are_never_left_unmasked(engine: Engine) -> None:
    # The column check used the iterator up: no column was left to mask, and base_salary read.
    decision = engine.decide(AccessRequest(**_PERMITTED, columns=iter(["base_salary"])))
    assert decision.reason_code == "bad_request" and not decision.allowed
    for columns in (["base_salary"], {"base_salary"}, frozenset({"base_salary"})):
        decision = engine.decide(AccessRequest(**_PERMITTED, columns=columns))  # type: ignore[arg-type]
        assert decision.allowed and [m.column for m in decision.masks] == ["base_salary"]
