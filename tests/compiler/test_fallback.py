"""Policies cedarpy's typed AST cannot hold, or the compiler cannot compile, are evaluated by
cedarpy inside the standalone API: every answer is still Cedar's, and each such policy says
why it is not compiled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import EntityStore, EntityUID, Record, compile_policies
from governance.compiler.extensions import parse_datetime, parse_decimal, parse_ip
from governance.errors import CompileError, Location
from governance.tools.check import CheckOptions, run_check
from tests.compiler.reference import cedar_answer, compiled_answer
from tests.compiler.strategies import entity_lists, policies, requests
from tests.treebuilder import TreeBuilder, column

DEEP = "true"
for _ in range(65):
    DEEP = f"if principal.flag then {DEEP} else false"

# Text Cedar accepts and evaluates, but cedarpy's typed AST refuses (wrong arity), or the
# compiler refuses (nesting deeper than Python's parser takes).
AWKWARD = [
    'permit(principal, action, resource) when { duration("a", "") == duration("1h") };',
    'forbid(principal, action, resource) when { ip("1.2.3.4").isInRange(ip("1.2.3.4"), 1) };',
    'forbid(principal, action, resource) when { decimal("1.0", "2.0") == decimal("1.0") };',
    "permit(principal, action, resource) when { principal.ip.isIpv4(1) };",
    'forbid(principal, action, resource) when { datetime() == datetime("2024-01-01") };',
    f"permit(principal, action, resource) when {{ {DEEP} }};",
    f"forbid(principal, action, resource) unless {{ {DEEP} }};",
]


@given(
    st.lists(st.one_of(policies(typed=True), st.sampled_from(AWKWARD)), min_size=1, max_size=5),
    entity_lists(),
    requests(),
)
def test_sets_with_policies_left_to_cedarpy_match_cedarpy(
    texts: list[str], entities: list[Any], request: dict[str, Any]
) -> None:
    text = "\n".join(texts)
    compiled = compile_policies(text)
    awkward = {f"policy{i}" for i, t in enumerate(texts) if t in AWKWARD}
    assert set(compiled.fallback_reasons) == awkward
    expected = cedar_answer(request, text, entities)
    assert compiled_answer(compiled, request, entities) == expected
    assert compiled_answer(compiled, request, entities, indexed=False) == expected


def test_each_fallback_policy_says_why() -> None:
    compiled = compile_policies(
        "\n".join(["permit(principal, action, resource);", *AWKWARD[:2], AWKWARD[5]])
    )
    reasons = compiled.fallback_reasons
    assert "expects 1 argument(s), got 2" in reasons["policy1"]
    assert "expects 2 argument(s), got 3" in reasons["policy2"]
    assert "nesting too deep" in reasons["policy3"]
    assert [p.id for p in compiled.policies] == ["policy0"]


def test_text_cedar_rejects_is_a_located_compile_error() -> None:
    text = f"{AWKWARD[0]}\n\npermit(principal, action, resource) when {{ nosuch(1) }};"
    with pytest.raises(CompileError) as raised:
        compile_policies(text)
    assert raised.value.location == Location("<policies>", 3, 1)
    assert "nosuch" in str(raised.value)


def test_values_reach_cedarpy_unchanged() -> None:
    """Every kind of value in the store and the context, read by a fallback policy."""
    policy = (
        "permit(principal, action, resource) when { "
        'context.when == datetime("1969-12-31T23:59:59.999Z") && context.d == decimal("-1.5") '
        '&& principal.ip == ip("10.1.2.3/8") && principal.v6 == ip("::1") '
        '&& principal.s.contains({a: [User::"x\\0"]}) && principal.p == duration("-1ms") '
        '&& duration("a", "") == duration("1h") };'
    )
    store = EntityStore.from_json(
        [
            {
                "uid": {"type": "User", "id": "u"},
                "attrs": {
                    "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3/8"}},
                    "v6": {"__extn": {"fn": "ip", "arg": "::1"}},
                    "s": [{"a": [{"__entity": {"type": "User", "id": "x\0"}}]}],
                    "p": {"__extn": {"fn": "duration", "arg": "-1ms"}},
                },
                "parents": [],
            }
        ]
    )
    context = Record(when=parse_datetime("1969-12-31T23:59:59.999Z"), d=parse_decimal("-1.5"))
    compiled = compile_policies(policy)
    uid = EntityUID("User", "u")
    from governance.compiler import Request

    result = compiled.authorize(Request(uid, EntityUID("Action", "a"), uid, context), store)
    assert result.errors == {"policy0"}  # the wrong-arity call errors only after the rest held
    assert parse_ip("::1") == store.get(uid).attrs["v6"]  # type: ignore[union-attr]


def test_govern_check_says_why_a_policy_runs_on_cedarpy(tmp_path: Any) -> None:
    tree = TreeBuilder(tmp_path)
    tree.product("sales.orders", ["order_id", column("email", "confidential")])
    deep = DEEP.replace("principal.flag", "true")  # the tree's schema has no `flag`
    tree.cedar("sales", f'@id("deep")\npermit (principal, action, resource) when {{ {deep} }};\n')
    report = run_check(tree.root, CheckOptions(today=dt.date(2026, 6, 1)))
    fallback = [p for p in report.problems if p.code == "compiler-fallback"]
    assert len(fallback) == 1
    assert "`sales/deep`" in fallback[0].message
    assert "nesting too deep" in fallback[0].message
