"""Property tests of `decide`: arbitrary JSON and hostile Python values never raise and are never
allowed unless Cedar, given the schema, allows them too; schema-conforming requests get the same
answer from both evaluators and from cedarpy given the schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance import Decision, Engine
from tests.test_differential import (
    EVALUATORS,
    EXAMPLE,
    CedarOracle,
    _assert_same,
    _engine,
    example_requests,
)

SCHEMA = (EXAMPLE / "schema.cedarschema").read_text()
ENGINES = {name: Engine.from_path(EXAMPLE, evaluator=name) for name in EVALUATORS}
ORACLE = CedarOracle(ENGINES["reference"], schema=SCHEMA)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63 - 2)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
    | st.sampled_from(["User", "Group", "sales.orders", "read", "analytics", "*", "", "2"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip

# Where a value lands in an otherwise well-formed request.
PLACES = [
    ("subject",), ("subject", "type"), ("subject", "id"), ("subject", "properties"),
    ("subject", "properties", "groups"), ("subject", "properties", "clearance"),
    ("subject", "properties", "employment"), ("subject", "properties", "department"),
    ("subject", "properties", "region"), ("action",), ("action", "name"), ("resource",),
    ("resource", "type"), ("resource", "id"), ("resource", "properties"),
    ("resource", "properties", "columns"), ("context",), ("context", "purpose"),
    ("context", "ticket"), ("context", "region"),
]  # fmt: skip


def _put(request: dict[str, Any], place: tuple[str, ...], value: Any) -> dict[str, Any]:
    target: Any = request
    for key in place[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[place[-1]] = value
    return request


def _allowed_requests() -> list[dict[str, Any]]:
    """Requests of the example organisation that are allowed: mutating one of these is where
    a mistyped value could turn into a grant."""
    engine = ENGINES["compiled"]
    personas = engine.snapshot.tree.fixtures.principals
    found = []
    for persona in personas.values():
        for product in sorted(engine.snapshot.products):
            for purpose in ("analytics", "hr_administration", "audit", "reporting"):
                request = {
                    "subject": {"type": persona.type, "id": persona.id,
                                "properties": copy.deepcopy(dict(persona.properties))},
                    "action": {"name": "read"},
                    "resource": {"type": "DataProduct", "id": product},
                    "context": {"purpose": purpose},
                }  # fmt: skip
                if engine.decide(request).allowed:
                    found.append(request)
    return found


ALLOWED = _allowed_requests()


@st.composite
def mutated_requests(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(values)  # the whole request is the value
    base = draw(st.sampled_from(ALLOWED)) if draw(st.booleans()) else draw(example_requests())
    request = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(PLACES))
        typed = TYPED.get(place[-1]) if draw(st.booleans()) else None
        request = _put(request, place, draw(values if typed is None else typed))
    return request


# Values of the declared type (or near it), so that mutated requests are often still allowed
# and the oracle has grants to judge: 64-bit bounds, any text, group lists.
_LONG = st.integers(-(2**63), 2**63 - 1) | st.sampled_from([2**63, -(2**63) - 1, 10**30])
TYPED: dict[str, st.SearchStrategy[Any]] = {
    "clearance": _LONG | st.integers(0, 3),
    "department": st.text(max_size=6), "employment": st.sampled_from(["employee", "contractor"]),
    "region": st.text(max_size=4), "purpose": st.sampled_from(["analytics", "audit", "x", ""]),
    "ticket": st.text(max_size=6),
    "groups": st.lists(st.sampled_from(["sales-analysts", "data-stewards", "hr-partners", ""]),
                       max_size=3),
    "columns": st.lists(st.sampled_from(["order_id", "email", "nope", ""]), max_size=3)
    | st.just("*"),
}  # fmt: skip


# --- hostile Python values ------------------------------------------------------------------------


class Explosive:
    """Raises from every protocol a reader might touch."""

    def _boom(self, *_: Any) -> Any:
        raise RuntimeError("boom")

    __eq__ = __hash__ = __str__ = __iter__ = __len__ = __bool__ = _boom  # type: ignore[assignment]
    __getitem__ = __contains__ = __lt__ = _boom

    def __repr__(self) -> str:  # hypothesis must be able to show a failing example
        return "Explosive()"


class RaisingMapping(Mapping[str, Any]):
    def __init__(self, data: dict[str, Any], fail: str) -> None:
        self.data, self.fail = data, fail

    def __getitem__(self, key: str) -> Any:
        if self.fail == "getitem":
            raise KeyError("no")
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        if self.fail == "iter":
            raise RuntimeError("no")
        return iter(self.data)

    def __len__(self) -> int:
        if self.fail == "len":
            raise OverflowError("no")
        return len(self.data)

    def __repr__(self) -> str:
        if self.fail == "repr":
            raise RuntimeError("no repr")
        return f"RaisingMapping({self.data!r}, {self.fail!r})"


class SneakyStr(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


def _self_containing() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["x"] = loop
    return loop


def _deep_list(n: int) -> list[Any]:
    top: list[Any] = []
    for _ in range(n):
        top = [top]
    return top


HOSTILE = st.one_of(
    JSON,
    st.builds(Explosive),
    st.builds(RaisingMapping, st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
              st.sampled_from(["getitem", "iter", "len"])),
    st.builds(SneakyStr, st.sampled_from(["User", "read", "sales.orders", "x"])),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 10**400, b"bytes", 1j,
                     frozenset({"sales-analysts"}), ("sales-analysts",), {"sales-analysts"},
                     object(), type, print, Ellipsis, NotImplemented]),
    st.builds(_self_containing),
    st.builds(_deep_list, st.sampled_from([100, 2000, 20000])),
)  # fmt: skip


# --- the oracle ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """`value` as exact JSON (mappings as objects, lists and tuples as arrays), or raises: the
    Python API takes any Mapping, but only what reads as plain JSON could ever be allowed."""

    def convert(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {key: convert(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [convert(inner) for inner in item]
        return item

    return json.loads(json.dumps(convert(value), allow_nan=False))


def cedar_allows(request: Any) -> bool:
    """Cedar's answer with the schema, on the request read the AuthZEN way, independently of
    the engine. Every attribute goes to Cedar: one the schema does not declare makes it refuse
    the request, as the engine does (docs/SEMANTICS.md §8)."""
    # Only the parts a Cedar request is made of must read as plain JSON; the rest (resource
    # properties besides `columns`) the engine ignores and may hold anything.
    subject = request["subject"]
    properties = subject.get("properties") or {}
    groups = _plain(properties.get("groups", []))
    attrs = {k: _plain(v) for k, v in properties.items() if k != "groups"}
    context = {k: _plain(v) for k, v in (request.get("context") or {}).items()}
    product_id, action = _plain(request["resource"]["id"]), _plain(request["action"]["name"])
    principal = {"type": _plain(subject.get("type", "User")), "id": _plain(subject["id"])}
    policy_set, _ = ORACLE.sets[ORACLE.products[product_id].domain]
    entity = {"uid": principal, "attrs": attrs,
              "parents": [{"type": "Group", "id": g} for g in groups]}  # fmt: skip
    groups_entities = [{"uid": {"type": "Group", "id": g}, "attrs": {}, "parents": []}
                       for g in groups]  # fmt: skip
    result = cedarpy.is_authorized(
        {"principal": principal, "action": {"type": "Action", "id": action},
         "resource": {"type": "DataProduct", "id": product_id}, "context": context},
        policy_set, json.dumps([*ORACLE.entities, entity, *groups_entities]), schema=SCHEMA,
    )  # fmt: skip
    return result.decision == cedarpy.Decision.Allow


def _judge(request: Any) -> None:
    for engine in ENGINES.values():
        decision = engine.decide(request)  # must return, whatever the value
        assert isinstance(decision, Decision)
        json.dumps(decision.to_dict(), allow_nan=False)  # strict JSON, never NaN
        if decision.refusal:
            assert not decision.allowed and decision.access.kind != "permitted"
            assert decision.masks == () and decision.reason_code
        if decision.allowed:
            assert cedar_allows(request), decision.reason


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(mutated_requests(JSON))
def test_arbitrary_json_never_raises_and_is_allowed_only_when_cedar_with_the_schema_allows(
    request: Any,
) -> None:
    _judge(request)


@SETTINGS
@given(mutated_requests(HOSTILE))
def test_hostile_python_values_never_raise_and_are_never_allowed_unless_plain_json(
    request: Any,
) -> None:
    _judge(request)


@pytest.mark.parametrize(
    "value",
    [{"clearance": "3"}, {"clearance": 3.0}, {"clearance": True}, {"employment": ["employee"]},
     {"region": {"eu": True}}, {"clearance": 2**70}],
)  # fmt: skip
def test_a_mistyped_declared_attribute_is_never_allowed(value: dict[str, Any]) -> None:
    request = {
        "subject": {"type": "User", "id": "frank",
                    "properties": {"groups": ["data-stewards"], "clearance": 3, **value}},
        "action": {"name": "read"}, "resource": {"type": "DataProduct", "id": "sales.orders"},
        "context": {"purpose": "audit"},
    }  # fmt: skip
    for engine in ENGINES.values():
        assert engine.decide(request).refusal


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize("place", PLACES, ids=[".".join(p) for p in PLACES])
def test_values_whose_repr_raises_never_raise_anywhere(place: tuple[str, ...]) -> None:
    # kept out of hypothesis, which must repr a failing example to report it
    for value in (BadRepr(), RaisingMapping({"a": 1}, "repr")):
        _judge(_put(copy.deepcopy(ALLOWED[0]), place, value))


# --- three ways: both evaluators and cedarpy with the schema -------------------------------------

SKIP_ENGINES = {name: _engine(EXAMPLE, name) for name in EVALUATORS}
SKIP_ORACLE = CedarOracle(SKIP_ENGINES["reference"], schema=SCHEMA)


@settings(max_examples=100, deadline=None)
@given(request=example_requests())
def test_conforming_requests_agree_on_both_evaluators_and_cedar_with_the_schema(
    request: dict[str, Any],
) -> None:
    for engine in SKIP_ENGINES.values():
        _assert_same(engine, SKIP_ORACLE, request)  # each evaluator against Cedar with schema
    compiled, reference = (_canonical(SKIP_ENGINES[n].decide(request)) for n in EVALUATORS)
    assert compiled == reference


def _canonical(decision: Decision) -> dict[str, Any]:
    """The decision without what differs by run (ids, times) or by evaluator by design: the
    order in which several satisfied policies are listed, and so the one the sentence names."""
    answer = decision.to_dict()
    for key in ("decision_id", "duration_us", "evaluated_at", "reason"):
        answer.pop(key)
    answer["access"]["policies"].sort(key=lambda p: p["id"])
    answer["access"]["errors"].sort(key=lambda e: e["policy"])
    for mask in answer["masks"]:
        mask["policies"].sort(key=lambda p: p["id"])
    return answer
