"""Generated code: hoisted lookups are emitted structurally, and instantiation refuses code
that reads foreign names or loops."""

from __future__ import annotations

import ast

import cedarpy
import pytest

from governance.compiler import EntityStore, EntityUID, Record, compile_policies
from governance.compiler.compile import generate_source, verify_generated
from governance.compiler.fused import BodyCache, compile_fused
from governance.compiler.runtime import NAMESPACE
from governance.errors import CompileError
from tests.compiler.reference import cedar_answer, compiled_answer

REQUEST = {
    "principal": {"type": "User", "id": "a"},
    "action": {"type": "Action", "id": "r"},
    "resource": {"type": "Doc", "id": "d"},
    "context": {},
}
USER_STRINGS = ["S.get(P)", "S.get(R)", "eP", "e", "t1", "K0", 'S.get(P)"', "\\"]


@pytest.mark.parametrize("text", USER_STRINGS)
def test_user_strings_that_look_like_generated_code_match_cedarpy(text: str) -> None:
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    policies = (
        f'permit(principal, action, resource) when {{ principal["{quoted}"] == "yes" }};\n'
        f'permit(principal, action, resource) when {{ resource has "{quoted}" }};\n'
        f'forbid(principal, action, resource) when {{ principal["{quoted}"] == "{quoted}" }};'
    )
    entities = [
        {"uid": {"type": "User", "id": "a"}, "attrs": {text: "yes"}, "parents": []},
        {"uid": {"type": "Doc", "id": "d"}, "attrs": {text: 1}, "parents": []},
    ]
    expected = cedar_answer(REQUEST, policies, entities)
    assert expected.decision == "Allow"
    assert compiled_answer(compile_policies(policies), REQUEST, entities) == expected


def test_fused_bodies_keep_user_strings() -> None:
    text = 'permit(principal, action, resource) when { principal["S.get(P)"] == "yes" };'
    fused = compile_fused([cedarpy.policies_to_pst(text).static_policies["policy0"]])
    store = EntityStore.from_json(
        [{"uid": {"type": "User", "id": "a"}, "attrs": {"S.get(P)": "yes"}, "parents": []}]
    )

    hits, errors = fused(
        EntityUID("User", "a"), EntityUID("Action", "r"), EntityUID("Doc", "d"), Record(), store
    )
    assert (hits, errors) == ([0], None)


def test_lookups_are_hoisted_once_past_the_scope() -> None:
    template = cedarpy.policies_to_pst(
        'permit(principal in Group::"g", action, resource) '
        "when { principal.a == 1 && principal.b == 2 && resource.c == 3 };"
    ).static_policies["policy0"]
    source, _ = generate_source(template)
    assert source.count("S.get(P)") == 2  # the scope test, then the hoisted binding
    assert source.count("S.get(R)") == 1
    assert source.index("eP = S.get(P)") > source.index("e = S.get(P)")


def _verify(source: str, loops: int = 0) -> None:
    verify_generated(ast.parse(source), dict(NAMESPACE), loops)


@pytest.mark.parametrize(
    "body",
    [
        "return open",
        "return __import__",
        "for x in C: pass",
        "while t1: break",
        "return [x for x in C]",
        "return (lambda: 1)()",
        "return P.__class__",
        "_fail = 1",
        "import os",
    ],
)
def test_instantiation_refuses_code_outside_the_generated_subset(body: str) -> None:
    source = (
        f"def factory(K0):\n    def policy(P, A, R, C, S):\n        {body}\n    return policy\n"
    )
    with pytest.raises(CompileError):
        _verify(source)


def test_fused_wrappers_are_the_only_loops() -> None:
    body = "        while True:\n            break\n"
    source = f"def factory():\n    def fused(P, A, R, C, S):\n{body}    return fused\n"
    _verify(source, loops=1)
    with pytest.raises(CompileError):
        _verify(source, loops=0)


def _fused_sources(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[object]]]:
    """Every (source, constants) compile_fused instantiates from now on."""
    import governance.compiler.fused as fused

    seen: list[tuple[str, list[object]]] = []
    real = fused.instantiate

    def spy(source: str, constants: list[object], name: str, loops: int = 0) -> object:
        seen.append((source, list(constants)))
        return real(source, constants, name, loops)

    monkeypatch.setattr(fused, "instantiate", spy)
    return seen


def test_cached_bodies_place_their_constants_at_each_plans_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body generated once and reused in plans where it stands after other bodies (and
    part positions) gives the very source and constants a fresh generation gives; user
    strings that look like constant names (`K0`, a NUL) stay strings."""
    texts = [
        'permit(principal in Group::"g", action, resource) when { principal["K0"] == "K1" };',
        'forbid(principal, action, resource) when { principal.a == "\\0" && resource.b > 2 };',
        "permit(principal, action, resource);",
    ]
    templates = [cedarpy.policies_to_pst(t).static_policies["policy0"] for t in texts]
    plans = [
        ([templates[0]], None),
        ([templates[1], templates[0]], [4, 7]),
        ([templates[2], templates[1], templates[0]], None),
        ([templates[0], templates[2]], [1, 2]),
    ]
    seen = _fused_sources(monkeypatch)
    for chosen, positions in plans:
        compile_fused(chosen, positions)
    fresh = list(seen)
    seen.clear()
    cache: BodyCache = {}
    for chosen, positions in plans:
        compile_fused(chosen, positions, cache)
    assert len(cache) == len(templates)
    assert [(s, repr(k)) for s, k in seen] == [(s, repr(k)) for s, k in fresh]
