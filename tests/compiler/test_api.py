"""The engine-facing API: exports, compile_policy, buckets and the fallback contract."""

from __future__ import annotations

import cedarpy
import pytest

import governance.compiler as compiler
from governance.compiler import (
    Buckets,
    CedarSet,
    EntityStore,
    EntityUID,
    EvaluationError,
    Record,
    Request,
    cedar_eq,
    compile_policies,
    compile_policy,
    decide,
)
from governance.errors import CompileError, GovernanceError


def test_exported_members() -> None:
    exported = set(compiler.__all__)
    assert {
        "compile_policies",
        "EntityStore",
        "CompiledPolicySet",
        "AuthorizationResult",
        "compile_policy",
        "PolicyIndex",
        "evaluate",
        "Request",
        "Buckets",
        "EvaluationError",
    } <= exported
    assert all(hasattr(compiler, name) for name in exported)
    assert issubclass(EvaluationError, GovernanceError)


def template(text: str) -> cedarpy.pst.Template:
    return cedarpy.policies_to_pst(text).static_policies["policy0"]


def test_compile_policy_gives_a_function_that_returns_or_raises() -> None:
    policy = compile_policy(
        template("forbid(principal, action, resource) when { principal.level > 2 };"), "p"
    )
    assert (policy.id, policy.effect) == ("p", "forbid")
    user = EntityUID("User", "u")
    store = EntityStore([compiler.Entity(user, Record(level=3))])
    args = (EntityUID("Action", "a"), EntityUID("Doc", "d"), Record())
    assert policy.evaluate(user, *args, store) is True
    with pytest.raises(EvaluationError):
        policy.evaluate(EntityUID("User", "ghost"), *args, store)


def test_same_shape_policies_share_code() -> None:
    first = compile_policy(template('permit(principal == User::"a", action, resource);'), "x")
    second = compile_policy(template('permit(principal == User::"b", action, resource);'), "y")
    assert first.function.__code__ is second.function.__code__
    assert first.function is not second.function


def test_templates_are_not_compiled() -> None:
    with pytest.raises(CompileError):
        compile_policy(
            cedarpy.policies_to_pst("permit(principal == ?principal, action, resource);").templates[
                "policy0"
            ],
            "t",
        )


def test_too_deep_nesting_falls_back() -> None:
    condition = "true"
    for _ in range(65):
        condition = f"if principal.flag then {condition} else false"
    template = cedarpy.policies_to_pst(
        f"permit(principal, action, resource) when {{ {condition} }};"
    ).static_policies["policy0"]
    with pytest.raises(CompileError):
        compile_policy(template, "deep")
    # the standalone API leaves that policy to cedarpy (see test_fallback.py)
    compiled = compile_policies(f"permit(principal, action, resource) when {{ {condition} }};")
    assert "nesting too deep" in compiled.fallback_reasons["policy0"]


def test_decision_is_a_pure_function_of_buckets() -> None:
    assert decide(Buckets((), (), ("p1",))).decision == "Deny"
    allowed = decide(Buckets((), ("p2",), ("p1",)))
    assert (allowed.decision, allowed.reasons, allowed.errors) == ("Allow", {"p2"}, {"p1"})
    denied = decide(Buckets(("p3",), ("p2",), ()))
    assert (denied.decision, denied.reasons) == ("Deny", {"p3"})


def test_request_from_json_accepts_cedarpy_forms() -> None:
    request = Request.from_json(
        {
            "principal": 'User::"a"',
            "action": {"__entity": {"type": "Action", "id": "r"}},
            "resource": {"type": "Doc", "id": "d"},
            "context": '{"ip": {"__extn": {"fn": "ip", "arg": "::1"}}, "n": [1, true]}',
        }
    )
    assert request.principal == EntityUID("User", "a")
    assert request.action == EntityUID("Action", "r")
    assert request.context["n"] == CedarSet.of([True, 1])


def test_cedar_equality_keeps_bool_and_long_apart() -> None:
    assert not cedar_eq(True, 1)
    assert len(CedarSet.of([1, True, 0, False])) == 4
    assert Record(a=True) != Record(a=1)
    assert CedarSet.of([Record(a=True)]) != CedarSet.of([Record(a=1)])
    assert cedar_eq(CedarSet.of([1, 2]), CedarSet.of([2, 1]))
