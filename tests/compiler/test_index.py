"""The index prunes candidates but never changes an answer (compared with its unindexed twin)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import (
    AllPolicies,
    Entity,
    EntityStore,
    EntityUID,
    PolicyIndex,
    Request,
    compile_policies,
    evaluate,
)
from tests.compiler.strategies import entity_lists, policies, requests


def as_sets(buckets: Any) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(bucket) for bucket in buckets)


@given(
    st.lists(policies(depth=1, typed=True), min_size=1, max_size=25),
    entity_lists(),
    st.lists(requests(), min_size=1, max_size=5),
)
def test_index_never_changes_an_answer(
    texts: list[str], entities: list[Any], reqs: list[dict[str, Any]]
) -> None:
    compiled = compile_policies("\n".join(texts))
    try:
        store = EntityStore.from_json(entities)
    except ValueError:
        return
    index, everything = PolicyIndex(compiled.policies), AllPolicies(compiled.policies)
    for raw in reqs:
        request = Request.from_json(raw)
        candidates = index.candidates(request.principal, request.action, request.resource, store)
        assert len({p.id for p in candidates}) == len(candidates), "no duplicates"
        assert as_sets(evaluate(index, request, store)) == as_sets(
            evaluate(everything, request, store)
        )


def test_candidates_stay_few_as_policies_grow() -> None:
    lines = []
    for domain in range(100):
        for n in range(10):
            lines.append(
                f'permit(principal in Group::"g{n}", action == Action::"read", '
                f'resource in Domain::"d{domain}");'
            )
    lines.append('forbid(principal, action == Action::"export", resource);')
    lines.append("forbid(principal, action, resource is Secret);")
    compiled = compile_policies("\n".join(lines))
    product = EntityUID("Product", "p")
    store = EntityStore([Entity(product, parents=[EntityUID("Domain", "d7")])]).overlay(
        [Entity(EntityUID("User", "u"), parents=[EntityUID("Group", "g3")])]
    )
    request = Request(EntityUID("User", "u"), EntityUID("Action", "read"), product)
    candidates = compiled.index.candidates(
        request.principal, request.action, request.resource, store
    )
    # 1,002 policies; only the one naming the request's domain, group and action is a candidate
    assert [p.id for p in candidates] == ["policy73"]
    buckets = evaluate(compiled.index, request, store)
    assert buckets.satisfied_permits == ("policy73",)
    assert as_sets(buckets) == as_sets(evaluate(compiled.unindexed, request, store))
