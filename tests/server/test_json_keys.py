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


def _render_raw(node: object, escape: list[bool]) -> str:
    """As `_render`, but non-ASCII written as it is and each colon inside a string written
    as a colon or as `\\u003a` (as `escape` says, in turn): both ways a colon can be spelled."""
    if isinstance(node, tuple) and node and node[0] == "obj":
        items = (f"{_text(k, escape)}:{_render_raw(v, escape)}" for k, v in node[1])
        return "{" + ",".join(items) + "}"
    if isinstance(node, tuple) and node and node[0] == "arr":
        return "[" + ",".join(_render_raw(v, escape) for v in node[1]) + "]"
    return _text(node, escape) if isinstance(node, str) else json.dumps(node)


def _text(value: str, escape: list[bool]) -> str:
    parts = json.dumps(value, ensure_ascii=False).split(":")
    shown = parts[0]
    for part in parts[1:]:
        shown += ("\\u003a" if escape and escape.pop() else ":") + part
    return shown


@settings(max_examples=400, deadline=None)
@given(_TREES, st.lists(st.booleans()))
def test_a_repeat_is_found_exactly_however_colons_are_written(
    tree: object, escape: list[bool]
) -> None:
    """Bodies with and without `\\u` escapes: the re-encoding count and the string pass agree
    with a parser that sees every pair."""
    text = _render_raw(tree, escape)
    body = text.encode()
    assert repeated_key(body, orjson.loads(body)) == _has_repeat(text)


def test_a_body_nested_deeper_than_orjson_writes_is_still_checked() -> None:
    deep = b'{"a": 1, "a": ' + b"[" * 300 + b"]" * 300 + b"}"
    assert repeated_key(deep, orjson.loads(deep))
    once = b'{"a": ' + b"[" * 300 + b"]" * 300 + b"}"
    assert not repeated_key(once, orjson.loads(once))
