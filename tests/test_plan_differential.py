"""Differential test of the code that runs: fused plans built by the planner (partial
evaluation to one action and resource, then one fused function) answer exactly as the same
policies evaluated one by one, over the compiler's full strategies (every construct,
extension calls, `like`, records, tags, errors), with waivers and both `on_forbid_error` rules,
with and without the principal index (which must never change an answer)."""

from __future__ import annotations

from typing import Any

import cedarpy
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from governance.access.answer import Access, Buckets, PolicyRef, combine
from governance.access.evaluator import BoundRequest
from governance.access.plans import Planner
from governance.access.principal_index import INDEX_FROM
from governance.compiler import (
    Entity,
    EntityStore,
    EntityUID,
    EvaluationError,
    Record,
    compile_policy,
)
from governance.compiler.jsonvalues import read_record
from governance.compiler.partial import KnownStore
from governance.errors import CompileError, Location
from tests.compiler.strategies import ACTIONS, DOCS, GROUPS, entity_lists, json_records, policy_sets

# What the planner may fold ahead: the resource (a Doc or Group) and the action; principals
# are Users, never of a known type, as a request's principal never has a catalog type.
KNOWN = frozenset({"Doc", "Group", "Action"})
principals = st.sampled_from(["alice", "bob", "carol", "ghost"]).map(lambda i: EntityUID("User", i))
resources = st.sampled_from([("Doc", d) for d in DOCS] + [("Group", g) for g in GROUPS]).map(
    lambda r: EntityUID(*r)
)
actions = st.sampled_from(ACTIONS).map(lambda a: EntityUID("Action", a))


def _compiled(text: str) -> list[Any]:
    parsed = cedarpy.policies_to_pst(text)
    try:
        return [compile_policy(t, pid) for pid, t in parsed.static_policies.items()]
    except CompileError:
        assume(False)
        raise


def _one_by_one(
    policies: list[Any], refs: dict[str, PolicyRef], request: tuple[Any, ...]
) -> Buckets:
    satisfied, errored = [], []
    for policy in policies:
        try:
            if policy.function(*request):
                satisfied.append(refs[policy.id])
        except EvaluationError as error:
            errored.append((refs[policy.id], str(error)))
    return Buckets(satisfied, errored)


def _bound(principal: EntityUID, record: Record, store: EntityStore) -> BoundRequest:
    """The principal bound as the engine binds one: its own entity (the store's, tags and
    all, when the entities hold it) serving as the store the plan reads."""
    found = store.get(principal) or Entity(principal)
    bound = BoundRequest(principal, found.attrs, found.ancestors, record, store.get)
    bound.tags = found.tags
    return bound


def _shape(access: Access) -> tuple[Any, ...]:
    return (
        access.kind,
        {p.id for p in access.policies},
        {e.policy for e in access.errors},
        set(access.waivers),
    )


@pytest.mark.parametrize("index_from", [INDEX_FROM, 1])  # 1: every plan indexed by principal
@pytest.mark.parametrize("on_forbid_error", ["deny", "skip"])
@settings(max_examples=150, deadline=None)
@given(
    text=policy_sets(max_policies=5, typed=True),
    entities=entity_lists(),
    principal=principals,
    action=actions,
    resource=resources,
    context=json_records,
    waive=st.sets(st.integers(0, 4), max_size=2),
)
def test_fused_plans_answer_as_the_policies_one_by_one(
    index_from: int,
    on_forbid_error: Any,
    text: str,
    entities: list[Any],
    principal: EntityUID,
    action: EntityUID,
    resource: EntityUID,
    context: dict[str, Any],
    waive: set[int],
) -> None:
    policies = _compiled(text)
    try:
        store = EntityStore.from_json(entities)
        record = read_record(context)
    except ValueError:
        assume(False)
        raise
    refs = {p.id: PolicyRef(p.id, "global", p.effect, Location("t"), "") for p in policies}
    removed = {f"policy{i}": f"waiver{i}" for i in waive if f"policy{i}" in refs}
    planner = Planner(KnownStore(store, KNOWN), refs, on_forbid_error, index_from)
    plan = planner.plan(policies, action, resource)
    # The engine binds every principal: one the entities lack is bound with no attributes
    # and no groups, and the policies one by one see it so too.
    bound = _bound(principal, record, store)
    seen = store if store.get(principal) is not None else store.overlay([Entity(principal)])
    planned = plan.evaluate(bound, removed)
    expected = combine(
        _one_by_one(policies, refs, (principal, action, resource, record, seen)),
        removed,
        on_forbid_error,
    )
    assert _shape(planned) == _shape(expected)
    # A plan is shared: asking again gives the same plan and the same answer.
    assert planner.plan(policies, action, resource) is plan
    assert _shape(plan.evaluate(bound, removed)) == _shape(expected)
