"""Repeated keys in a JSON body: found exactly (against a parser that sees every pair), refused over HTTP."""

from __future__ import annotations

import json

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.server.json_keys import repeated_key


def _has_repeat(text: str) -> bool:
    found = False

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal found
        keys = [k for k, _ in items]
        found |= len(set(keys)) != len(keys)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found


# Keys and strings full of what the count must not be fooled by: colons, quotes, escapes.
_TEXT = st.text(alphabet=st.sampled_from(["a", "b", ":", '"', "\\", " ", "é", "\n"]), max_size=4)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), _TEXT)


def _render(node: object) -> str:
    """JSON text of a tree whose objects are lists of pairs (so keys may repeat)."""
    if isinstance(node, tuple) and node and node[0] == "obj":
        return "{" + ", ".join(f"{json.dumps(k)} : {_render(v)}" for k, v in node[1]) + "}"
    if isinstance(node, tuple) and node and node[0] == "arr":
        return "[" + ",".join(_render(v) for v in node[1]) + "]"
    return json.dumps(node)


_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.tuples(st.just("obj"), st.lists(st.tuples(_TEXT, inner), max_size=4)),
        st.tuples(st.just("arr"), st.lists(inner, max_size=4)),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_TREES)
def test_a_repeat_is_found_exactly(tree: object) -> None:
    text = _render(tree)
    body = text.encode()
    assert repeated_key(body, orjson.loads(body)) == _has_repeat(text)


def test_the_examples() -> None:
    double = b'{"resource": {"columns": ["base_salary"], "columns": ["employee_id"]}}'
    assert repeated_key(double, orjson.loads(double))
    colons = b'{"id": "User::\\"a:b\\"", "at": "12:00:00", "n": {"x": "y:"}}'
    assert not repeated_key(colons, orjson.loads(colons))
    assert not repeated_key(b'[{"a": 1}, {"a": 2}]', [{"a": 1}, {"a": 2}])


def test_a_body_repeating_a_key_is_400(server) -> None:
    body = (
        b'{"subject": {"type": "User", "id": "dave", "properties": {"groups": ["hr-partners"], '
        b'"clearance": 2, "employment": "employee"}}, "action": {"name": "read"}, '
        b'"resource": {"type": "DataProduct", "id": "people.employees", "properties": '
        b'{"columns": ["base_salary"], "columns": ["employee_id"]}}, '
        b'"context": {"purpose": "hr_administration"}}'
    )
    response = server.post(
        "/access/v1/evaluation", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "repeats a key" in response.json()["error"]
    once = body.replace(b'"columns": ["employee_id"]', b'"other": 1').replace(b', "other": 1', b"")
    accepted = server.post(
        "/access/v1/evaluation", content=once, headers={"content-type": "application/json"}
    )
    assert accepted.status_code == 200
