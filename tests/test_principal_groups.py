"""Binding only the groups a domain's policies name never changes an answer: over the
compiler's full strategies, and end to end against cedarpy with principals in many groups."""

from __future__ import annotations

from typing import Any

import cedarpy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from governance.access.evaluator import BoundRequest
from governance.access.principal_groups import GROUP, groups_named
from governance.access.request import from_authzen
from governance.compiler import EntityStore, EntityUID, EvaluationError, compile_policy
from governance.compiler.jsonvalues import read_record
from governance.errors import CompileError
from tests.compiler.strategies import ACTIONS, DOCS, GROUPS, entity_lists, json_records, policy_sets
from tests.treebuilder import TreeBuilder, request

principals = st.sampled_from(["alice", "bob", "ghost"]).map(lambda i: EntityUID("User", i))
resources = st.sampled_from([("Doc", d) for d in DOCS] + [("Group", g) for g in GROUPS]).map(
    lambda r: EntityUID(*r)
)
actions = st.sampled_from(ACTIONS).map(lambda a: EntityUID("Action", a))
group_sets = st.frozensets(st.sampled_from([*GROUPS, "unnamed-1", "unnamed-2"]), max_size=5)


def _answers(policies: list[Any], bound: BoundRequest, request: tuple[Any, ...]) -> list[Any]:
    answers = []
    for policy in policies:
        try:
            answers.append(policy.function(*request[:3], bound.context, bound))
        except EvaluationError as error:
            answers.append(type(error))
    return answers


@settings(max_examples=100, deadline=None)
@given(
    text=policy_sets(max_policies=4, typed=True),
    entities=entity_lists(),
    principal=principals,
    action=actions,
    resource=resources,
    context=json_records,
    groups=group_sets,
)
def test_binding_the_named_groups_answers_as_binding_all(
    text: str,
    entities: list[Any],
    principal: EntityUID,
    action: EntityUID,
    resource: EntityUID,
    context: dict[str, Any],
    groups: frozenset[str],
) -> None:
    templates = list(cedarpy.policies_to_pst(text).static_policies.values())
    try:
        policies = [compile_policy(t, t.id) for t in templates]
        store = EntityStore.from_json(entities)
        record = read_record(context)
    except (CompileError, ValueError):
        assume(False)
        raise
    tested = groups_named(templates)
    assume(tested is not None)
    assert tested is not None
    every = frozenset(EntityUID(GROUP, g) for g in groups)
    named = frozenset(EntityUID(GROUP, g) for g in tested & groups)
    full = BoundRequest(principal, groups=every, context=record, catalog_get=store.get)
    cut = BoundRequest(principal, groups=named, context=record, catalog_get=store.get)
    request = (principal, action, resource)
    assert _answers(policies, cut, request) == _answers(policies, full, request)


def test_an_in_against_a_computed_value_keeps_every_group() -> None:
    literal, computed = cedarpy.policies_to_pst(
        'permit (principal in Group::"a", action, resource) when { principal in [Group::"b"] };\n'
        "permit (principal, action, resource) when { principal in resource.owners };"
    ).static_policies.values()
    assert groups_named([literal]) == {"a", "b"}
    assert groups_named([literal, computed]) is None


POLICIES = """\
@id("a-reads")
permit (principal in Group::"a", action == Action::"read", resource);

@id("b-or-c-writes")
permit (principal, action == Action::"write", resource)
when { principal in [Group::"b", Group::"c"] };

@id("not-x-no-export")
forbid (principal, action == Action::"export", resource)
unless { principal in Group::"x" };

@id("exporters")
permit (principal is User in Group::"e", action == Action::"export", resource);
"""
# A domain whose policy tests `in` against a computed value keeps every group of the request.
COMPUTED = """\
@id("self")
permit (principal, action == Action::"read", resource) when { principal in principal };
"""


def test_principals_in_many_groups_decide_as_cedarpy_does(tmp_path: Any) -> None:
    tree = TreeBuilder(tmp_path)
    tree.product("sales.orders", ["order_id"])
    tree.product("hr.people", ["person_id"])
    tree.cedar("sales", POLICIES)
    tree.cedar("hr", POLICIES + COMPUTED)
    compiled, reference = tree.engine(evaluator="compiled"), tree.engine()
    padding = [f"unit-{i}" for i in range(2000)]
    memberships = [[], ["a"], ["b", "x"], ["c", "e", "x"], ["e"], ["x", "a"]]
    for groups in memberships:
        for action in ["read", "write", "export"]:
            for product in ["sales.orders", "hr.people"]:
                asked = request("alice", action, product, groups=padding + groups)
                typed = from_authzen(asked)
                typed = typed._replace(groups=frozenset(typed.groups))
                expected = reference.decide(asked)
                for decision in (compiled.decide(asked), compiled.decide(typed)):
                    assert not decision.refusal
                    assert decision.allowed == expected.allowed, (groups, action, product)
                    assert _ids(decision) == _ids(expected)


def _ids(decision: Any) -> set[str]:
    return {p.id for p in decision.access.policies}
