"""Partial evaluation: a policy specialised to a known action and resource behaves exactly like
the original on every request for them (satisfied, not satisfied, or errored).

The differential test mirrors the engine: the store partial evaluation reads holds only the
entities of the "known" types (the catalog), while requests run against the full store (the
catalog plus the request's principal).
"""

from __future__ import annotations

from typing import Any

import cedarpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import EntityStore, EvaluationError, compile_policy
from governance.compiler.authorize import Request
from governance.compiler.compile import CompiledPolicy
from governance.compiler.partial import KnownStore, specialise
from governance.compiler.values import EntityUID
from tests.compiler.strategies import entity_lists, policy_sets, requests

# Closed under parenthood, as the catalog is: a known entity's ancestors are known too.
KNOWN_TYPES = [
    frozenset({"Action"}),
    frozenset({"Action", "Group"}),
    frozenset({"Action", "Group", "Doc"}),
    frozenset({"Action", "Group", "Doc", "User"}),
]


def outcome(policy: CompiledPolicy | None, request: Request, store: EntityStore) -> str:
    if policy is None:
        return "not satisfied"
    try:
        satisfied = policy.function(
            request.principal, request.action, request.resource, request.context, store
        )
    except EvaluationError:
        return "error"
    return "satisfied" if satisfied else "not satisfied"


def residual_policy(
    text: str, request: Request, entities: list[Any], known: frozenset[str]
) -> list[tuple[CompiledPolicy, CompiledPolicy | None]]:
    catalog = EntityStore.from_json([e for e in entities if e["uid"]["type"] in known])
    store = KnownStore(catalog, known)
    pairs = []
    for policy_id, template in cedarpy.policies_to_pst(text).static_policies.items():
        residual = specialise(template, request.action, request.resource, store)
        pairs.append((
            compile_policy(template, policy_id),
            None if residual is None else compile_policy(residual, policy_id),
        ))  # fmt: skip
    return pairs


@given(
    policy_sets(max_policies=5, typed=True),
    entity_lists(),
    st.lists(requests(), min_size=1, max_size=3),
    st.sampled_from(KNOWN_TYPES),
)
def test_residual_policies_behave_as_the_originals(
    text: str, entities: list[Any], reqs: list[dict[str, Any]], known: frozenset[str]
) -> None:
    try:
        store = EntityStore.from_json(entities)
    except ValueError:
        return  # an entity list Cedar refuses as a whole
    for raw in reqs:
        try:
            request = Request.from_json(raw)
        except ValueError:
            continue
        for original, residual in residual_policy(text, request, entities, known):
            expected = outcome(original, request, store)
            assert outcome(residual, request, store) == expected, (original.source, residual)


@pytest.mark.slow
@given(
    policy_sets(max_policies=6, depth=4, typed=True),
    entity_lists(),
    requests(),
    st.sampled_from(KNOWN_TYPES),
)
def test_residual_policies_behave_as_the_originals_thoroughly(
    text: str, entities: list[Any], raw: dict[str, Any], known: frozenset[str]
) -> None:
    test_residual_policies_behave_as_the_originals.hypothesis.inner_test(  # type: ignore[attr-defined]
        text, entities, [raw], known
    )


DOC = EntityUID("Doc", "d1")
READ = EntityUID("Action", "read")
CATALOG = [
    {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"level": 3, "labels": ["pii"]}, "parents": []},
    {"uid": {"type": "Action", "id": "read"}, "attrs": {}, "parents": []},
]


def residual_text(policy: str) -> Any:
    template = cedarpy.policies_to_pst(policy).static_policies["policy0"]
    store = KnownStore(EntityStore.from_json(CATALOG), frozenset({"Doc", "Action"}))
    return specialise(template, READ, DOC, store)


def test_known_resource_conditions_fold_away() -> None:
    residual = residual_text(
        'permit(principal, action == Action::"read", resource is Doc) when '
        '{ resource.level >= 2 && resource.labels.contains("pii") && principal.clearance > 2 };'
    )
    assert residual is not None
    assert len(residual.clauses) == 1
    assert "resource" not in repr(residual.clauses[0]) and "Doc" not in repr(residual.clauses[0])
    assert isinstance(residual.action, cedarpy.pst.ScopeAny)
    assert isinstance(residual.resource, cedarpy.pst.ScopeAny)


@pytest.mark.parametrize(
    "policy",
    [
        'permit(principal, action == Action::"write", resource);',
        "permit(principal, action, resource is User);",
        "permit(principal, action, resource) when { resource.level > 5 };",
        'permit(principal, action, resource) unless { resource.labels.contains("pii") };',
        "permit(principal, action, resource) when { principal has x } when { resource.level > 5 };",
        # `principal.x` cannot error once `principal has x` held
        'permit(principal, action, resource) when { principal has x && principal.x == "y" '
        "&& resource.level > 5 };",
    ],
)
def test_policies_that_can_never_apply_are_dropped(policy: str) -> None:
    assert residual_text(policy) is None


@pytest.mark.parametrize(
    "policy",
    [
        # the error of the first clause must still surface, so the policy stays
        "permit(principal, action, resource) when { principal.x } when { resource.level > 5 };",
        'permit(principal, action, resource) when { principal.x == "y" && resource.level > 5 };',
        # reading a missing attribute errors at request time, as Cedar reports it
        "permit(principal, action, resource) when { resource.missing == 1 };",
        # the principal may be any user: its data is never read ahead
        'permit(principal, action, resource) when { User::"u".level > 1 };',
    ],
)
def test_what_may_error_or_depends_on_the_request_stays(policy: str) -> None:
    assert residual_text(policy) is not None
