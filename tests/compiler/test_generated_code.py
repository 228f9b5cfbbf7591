"""Generated code is built structurally: user text never rewrites it, and it stays in its namespace."""

from __future__ import annotations

import pytest

from governance.compiler import compile_policies
from governance.compiler.compile import check_generated
from governance.compiler.fused import compile_fused
from tests.compiler.reference import cedar_answer, compiled_answer

ENTITIES = [
    {
        "uid": {"type": "User", "id": "u"},
        "attrs": {"S.get(P)": "yes", "S.get(R)": "no"},
        "parents": [],
    },
    {"uid": {"type": "Doc", "id": "d"}, "attrs": {"S.get(R)": "yes"}, "parents": []},
]
REQUEST = {
    "principal": 'User::"u"',
    "action": 'Action::"read"',
    "resource": 'Doc::"d"',
    "context": {},
}


@pytest.mark.parametrize(
    "policy",
    [
        'permit(principal, action, resource) when { principal["S.get(P)"] == "yes" };',
        'permit(principal, action, resource) when { resource["S.get(R)"] == "yes" };',
        'permit(principal, action, resource) when { principal has "S.get(P)" && resource has "S.get(R)" };',
        'forbid(principal, action, resource) when { principal["S.get(R)"] == "yes" };\n'
        'permit(principal, action, resource) when { "S.get(P)" like "S.get(*)" };',
    ],
)
def test_attribute_names_that_look_like_generated_code_agree_with_cedar(policy: str) -> None:
    compiled = compiled_answer(compile_policies(policy), REQUEST, ENTITIES)
    assert compiled == cedar_answer(REQUEST, policy, ENTITIES)


def test_the_hoisting_regression_is_allowed() -> None:
    policy = 'permit(principal, action, resource) when { principal["S.get(P)"] == "yes" };'
    assert compiled_answer(compile_policies(policy), REQUEST, ENTITIES).decision == "Allow"


@pytest.mark.parametrize(
    "source",
    [
        "def factory():\n    def policy(P, A, R, C, S):\n        import os\n    return policy\n",
        "def factory():\n    def policy(P, A, R, C, S):\n        return open\n    return policy\n",
        "def factory():\n    def policy(P, A, R, C, S):\n        for x in P: pass\n    return policy\n",
        "def factory():\n    def policy(P, A, R, C, S):\n        while P: pass\n    return policy\n",
        "def factory():\n    def policy(P, A, R, C, S):\n        return [t1 for t1 in P]\n    return policy\n",
    ],
)
def test_code_outside_the_namespace_or_with_loops_is_refused(source: str) -> None:
    with pytest.raises(AssertionError):
        check_generated(source)


def test_fused_plans_pass_the_check() -> None:
    policies = compile_policies(
        'permit(principal, action, resource) when { principal["S.get(P)"] == "yes" };\n'
        'forbid(principal in Group::"g", action, resource) when { resource.x > 1 };'
    )
    assert compile_fused([p.template for p in policies.policies]) is not None
