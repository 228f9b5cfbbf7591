"""The fused bucketing of a request's candidates answers exactly as calling each policy does."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import EntityStore, compile_policies
from governance.compiler import authorize as authorize_module
from governance.errors import CompileError
from tests.compiler.strategies import entity_lists, policies, requests


def answer(result: Any) -> tuple[object, ...]:
    return (result.decision, result.buckets, result.reasons, result.errors)


@given(
    st.lists(policies(depth=2), min_size=1, max_size=12),
    entity_lists(),
    st.lists(requests(), min_size=1, max_size=5),
)
def test_fused_and_per_policy_answers_are_identical(
    texts: list[str], entities: list[Any], reqs: list[dict[str, Any]]
) -> None:
    compiled = compile_policies("\n".join(texts))
    try:
        store = EntityStore.from_json(entities)
    except ValueError:
        return
    with mock.patch.object(authorize_module, "_FUSE_AFTER", 1):  # fuse on the first request
        for raw in reqs:
            for indexed in (True, False):  # unindexed: every policy is a candidate
                fused = compiled.authorize(raw, store, indexed=indexed)
                alone = compiled.authorize(raw, store, indexed=indexed, fused=False)
                assert answer(fused) == answer(alone)  # the buckets in the same order too


_ERRORS = """
permit (principal, action, resource) when { principal.missing == 1 };
forbid (principal, action, resource) when { context.n > 2 };
permit (principal, action, resource) when { context.n + 1 == 3 };
forbid (principal, action, resource) when { resource.flag };
"""
_REQUEST = {
    "principal": {"type": "User", "id": "u"},
    "action": {"type": "Action", "id": "read"},
    "resource": {"type": "Doc", "id": "d"},
    "context": {"n": 2},
}


def test_a_fused_set_reports_each_error_and_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authorize_module, "_FUSE_AFTER", 1)
    compiled = compile_policies(_ERRORS)
    store = EntityStore.from_json([{"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": []}])
    result = compiled.authorize(_REQUEST, store)
    assert result.decision == "Allow"
    assert result.buckets == ((), ("policy2",), ("policy0", "policy3"))
    assert [f is not None for f in compiled._fused.values()] == [True], "the set was fused"
    context = {**_REQUEST, "context": {"n": 5}}
    assert compiled.authorize(context, store).buckets == (
        ("policy1",),
        (),
        ("policy0", "policy3"),
    )


def test_a_set_that_cannot_be_fused_runs_policy_by_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise CompileError("too big to fuse")

    monkeypatch.setattr(authorize_module, "fuse_buckets", refuse)
    monkeypatch.setattr(authorize_module, "_FUSE_AFTER", 1)
    compiled = compile_policies(_ERRORS)
    store = EntityStore.from_json([])
    result = compiled.authorize(_REQUEST, store)
    assert list(compiled._fused.values()) == [None]
    assert result.buckets == ((), ("policy2",), ("policy0", "policy3"))


def test_the_fused_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authorize_module, "_MAX_FUSED", 2)
    monkeypatch.setattr(authorize_module, "_FUSE_AFTER", 1)
    lines = [
        f'permit (principal, action == Action::"a{n}", resource) when {{ context.n == {n} }};'
        for n in range(5)
    ] + ["forbid (principal, action, resource) when { context.n < 0 };"] * 4
    compiled = compile_policies("\n".join(lines))
    store = EntityStore.from_json([])
    for n in range(5):
        request = {**_REQUEST, "action": {"type": "Action", "id": f"a{n}"}, "context": {"n": n}}
        assert compiled.authorize(request, store).reasons == {f"policy{n}"}
        assert len(compiled._fused) <= 2


def test_a_tuple_is_fused_once_it_is_seen_often() -> None:
    compiled = compile_policies(_ERRORS)
    store = EntityStore.from_json([])
    expected = ((), ("policy2",), ("policy0", "policy3"))
    for _ in range(authorize_module._FUSE_AFTER - 1):
        assert compiled.authorize(_REQUEST, store).buckets == expected
    assert not compiled._fused, "not compiled for a tuple seen rarely"
    assert compiled.authorize(_REQUEST, store).buckets == expected
    assert [f is not None for f in compiled._fused.values()] == [True]
    assert not compiled._sightings
