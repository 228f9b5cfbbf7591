"""Benchmarks of the compiled Cedar evaluator, side by side with a hand-written function and
cedarpy (pre-parsed handles), plus compile time for 10,000 policies.

Run: ``pytest tests/benchmarks/test_compiler_bench.py --benchmark-only``.
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy
import pytest

from governance.compiler import (
    Entity,
    EntityStore,
    EntityUID,
    Record,
    Request,
    compile_policies,
    evaluate,
)

POLICY = """permit(principal in Group::"analysts", action == Action::"read", resource)
when { resource.sensitivity <= 2 };"""
ENTITIES: list[dict[str, Any]] = [
    {
        "uid": {"type": "User", "id": "alice"},
        "attrs": {},
        "parents": [{"type": "Group", "id": "analysts"}],
    },
    {"uid": {"type": "Group", "id": "analysts"}, "attrs": {}, "parents": []},
    {"uid": {"type": "DataProduct", "id": "orders"}, "attrs": {"sensitivity": 1}, "parents": []},
]
REQUEST = {
    "principal": {"type": "User", "id": "alice"},
    "action": {"type": "Action", "id": "read"},
    "resource": {"type": "DataProduct", "id": "orders"},
    "context": {},
}
ANALYSTS = EntityUID("Group", "analysts")
READ = EntityUID("Action", "read")


def hand_written(
    principal: EntityUID, action: EntityUID, resource: EntityUID, store: EntityStore
) -> bool:
    """The same policy written by hand against the same store: the floor to compare with."""
    if action != READ:
        return False
    if principal != ANALYSTS:
        entity = store.get(principal)
        if entity is None or ANALYSTS not in entity.ancestors:
            return False
    product = store.get(resource)
    if product is None:
        raise LookupError(resource)
    sensitivity = product.attrs["sensitivity"]
    if type(sensitivity) is not int:
        raise TypeError(sensitivity)
    return sensitivity <= 2


@pytest.fixture(scope="module")
def compiled() -> Any:
    return compile_policies(POLICY)


@pytest.fixture(scope="module")
def store() -> EntityStore:
    return EntityStore.from_json(ENTITIES)


@pytest.mark.benchmark(group="single-policy")
def test_compiled_authorize(benchmark: Any, compiled: Any, store: EntityStore) -> None:
    result = benchmark(compiled.authorize, REQUEST, store)
    assert result.decision == "Allow"


@pytest.mark.benchmark(group="single-policy")
def test_compiled_evaluate(benchmark: Any, compiled: Any, store: EntityStore) -> None:
    request = Request.from_json(REQUEST)
    buckets = benchmark(evaluate, compiled.index, request, store)
    assert buckets.satisfied_permits == ("policy0",)


@pytest.mark.benchmark(group="single-policy")
def test_compiled_evaluate_with_overlay(benchmark: Any, compiled: Any, store: EntityStore) -> None:
    """The engine's shape: the principal arrives with the request, in an overlay."""
    base = EntityStore(e for e in store if e.uid.type != "User")  # type: ignore[attr-defined]
    alice = EntityUID("User", "alice")

    def decide() -> Any:
        overlay = base.overlay([Entity(alice, Record(), (ANALYSTS,))])
        return evaluate(
            compiled.index, Request(alice, READ, EntityUID("DataProduct", "orders")), overlay
        )

    assert benchmark(decide).satisfied_permits == ("policy0",)


@pytest.mark.benchmark(group="single-policy")
def test_hand_written_function(benchmark: Any, store: EntityStore) -> None:
    request = Request.from_json(REQUEST)
    assert benchmark(hand_written, request.principal, request.action, request.resource, store)


@pytest.mark.benchmark(group="single-policy")
def test_cedarpy_preparsed(benchmark: Any) -> None:
    policies = cedarpy.PolicySet.from_str(POLICY)
    entities = cedarpy.Entities.from_json_str(json.dumps(ENTITIES))
    result = benchmark(cedarpy.is_authorized, REQUEST, policies, entities)
    assert result.allowed


def generated_policies(count: int) -> str:
    shapes = [
        'permit(principal in Group::"g{n}", action == Action::"read", resource in Domain::"d{d}")'
        " when {{ resource.sensitivity <= {s} }};",
        'forbid(principal, action in [Action::"export", Action::"share"], resource == '
        'DataProduct::"p{n}") unless {{ principal.clearance >= {s} && context.purpose like "a*" }};',
        'permit(principal == User::"u{n}", action, resource is Column) when {{ '
        'resource.labels.contains("pii") || ip(context.ip).isInRange(ip("10.0.0.0/8")) }};',
    ]
    return "\n".join(shapes[i % len(shapes)].format(n=i, d=i % 100, s=i % 4) for i in range(count))


@pytest.mark.benchmark(group="compile")
def test_compile_10000_policies(benchmark: Any) -> None:
    text = generated_policies(10_000)
    compiled = benchmark.pedantic(compile_policies, args=(text,), rounds=3, iterations=1)
    assert len(compiled) == 10_000


SCALING_ENTITIES: list[dict[str, Any]] = [
    {
        "uid": {"type": "User", "id": "u7"},
        "attrs": {"clearance": 2},
        "parents": [{"type": "Group", "id": "g3"}],
    },
    {
        "uid": {"type": "DataProduct", "id": "p1"},
        "attrs": {"sensitivity": 1},
        "parents": [{"type": "Domain", "id": "d3"}],
    },
]
SCALING_REQUEST = {
    "principal": {"type": "User", "id": "u7"},
    "action": {"type": "Action", "id": "read"},
    "resource": {"type": "DataProduct", "id": "p1"},
    "context": {"purpose": "analytics", "ip": "10.1.1.1"},
}


@pytest.mark.parametrize("count", [10, 1_000, 10_000])
@pytest.mark.benchmark(group="scaling")
def test_evaluate_scales_flat(benchmark: Any, count: int) -> None:
    compiled = compile_policies(generated_policies(count))
    store = EntityStore.from_json(SCALING_ENTITIES)
    request = Request.from_json(SCALING_REQUEST)
    buckets = benchmark(evaluate, compiled.index, request, store)
    assert buckets.satisfied_permits == (("policy3",) if count > 3 else ())


@pytest.mark.benchmark(group="scaling")
def test_cedarpy_preparsed_1000_policies(benchmark: Any) -> None:
    policies = cedarpy.PolicySet.from_str(generated_policies(1_000))
    entities = cedarpy.Entities.from_json_str(json.dumps(SCALING_ENTITIES))
    result = benchmark(cedarpy.is_authorized, SCALING_REQUEST, policies, entities)
    assert result.diagnostics.reasons == ["policy3"]
