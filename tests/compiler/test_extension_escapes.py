"""Every Cedar 4 extension function in a JSON `__extn` escape (constructors or not), their
wrong types and counts, `__expr`, and cedarpy's `unknown(...)`: the compiled side reads and
answers exactly as cedarpy does, in entity data and in the context."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import compile_policies
from governance.compiler.extensions import FUNCTIONS
from tests.compiler.reference import cedar_answer, compiled_answer
from tests.compiler.strategies import EXTN_CALLS, EXTN_INVALID, UNKNOWNS, _x

CEDAR_4_FUNCTIONS = {
    *["decimal", "ip", "datetime", "duration", "lessThan", "lessThanOrEqual", "greaterThan"],
    *["greaterThanOrEqual", "isIpv4", "isIpv6", "isLoopback", "isMulticast", "isInRange"],
    *["offset", "durationSince", "toDate", "toTime", "toMilliseconds", "toSeconds"],
    *["toMinutes", "toHours", "toDays", "unknown"],
}

ARGS = [
    "1.5", "10.1.2.3", "2024-01-01", "1h", 1, True, _x("decimal", "1.5"), _x("ip", "10.1.2.3"),
    _x("ip", "10.0.0.0/8"), _x("datetime", "2024-01-01"), _x("duration", "1h"), [1], {"a": 1},
]  # fmt: skip


@st.composite
def escapes(draw: st.DrawFn) -> Any:
    """Any function, any argument count and types, `arg` or `args`, sometimes extra keys."""
    fn = draw(st.sampled_from([*sorted(CEDAR_4_FUNCTIONS), "nosuch", "ipaddr"]))
    args = draw(st.lists(st.sampled_from(ARGS), max_size=3))
    inner: dict[str, Any] = {"fn": fn}
    if len(args) == 1 and draw(st.booleans()):
        inner["arg"] = args[0]
    else:
        inner["args"] = args
    value: dict[str, Any] = {"__extn": inner}
    # (cedarpy's entity reader takes an `unknown` with extra keys as unknown, its context
    # reader as a record: the one divergence left, see docs/compiler-fidelity.md)
    if draw(st.integers(0, 4)) == 0 and fn != "unknown":
        value["extra"] = 1
    return value


values = st.one_of(
    escapes(),
    st.sampled_from(EXTN_CALLS + EXTN_INVALID + UNKNOWNS),
    st.sampled_from([{"__expr": "1"}, {"__expr": 1}, {"__expr": "1", "y": 2}, {"__expr": [1]}]),
)
CHECKS = [
    "principal.x == principal.x",
    "principal.x == true",
    "principal.x == 1",
    "principal has x",
    "context.y == context.y",
    "context.y == false",
    "principal.x == context.y",
]
POLICIES = "\n".join(f"permit(principal, action, resource) when {{ {c} }};" for c in CHECKS)
COMPILED = compile_policies(POLICIES)


def test_every_cedar_4_function_can_be_called_in_an_escape() -> None:
    assert set(FUNCTIONS) == CEDAR_4_FUNCTIONS


@given(values, values)
def test_escapes_are_read_as_cedarpy_reads_them(attribute: Any, context: Any) -> None:
    entities = [{"uid": {"type": "U", "id": "u"}, "attrs": {"x": attribute}, "parents": []}]
    request = {
        "principal": {"type": "U", "id": "u"},
        "action": {"type": "Action", "id": "a"},
        "resource": {"type": "R", "id": "r"},
        "context": {"y": context},
    }
    expected = cedar_answer(request, POLICIES, entities)
    assert compiled_answer(COMPILED, request, entities) == expected
