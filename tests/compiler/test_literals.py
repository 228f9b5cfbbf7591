"""Cedar string literals, names and uid text, against cedarpy: the same text is accepted or
refused, and accepted text means the same string."""

from __future__ import annotations

import json
import re

import cedarpy
import pytest
from cedarpy import pst
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import EntityStore, Schema, compile_policies, load_schema
from governance.compiler.jsonvalues import parse_uid_text
from governance.compiler.literals import (
    WILDCARD,
    UnescapeError,
    escape_debug,
    name_problem,
    unescape,
    unescape_pattern,
)
from governance.compiler.values import EntityUID
from tests.compiler.rust_escapes import probe

# Pieces of literal bodies: valid and invalid escapes, raw NUL, quotes, CR and non-ASCII.
ESCAPES = [
    *["\\n", "\\r", "\\t", "\\\\", "\\0", "\\'", '\\"', "\\*", "\\x41", "\\x7f", "\\x7F"],
    *["\\x80", "\\xff", "\\x4", "\\x", "\\xg1", "\\u{61}", "\\u{6_1}", "\\u{_61}", "\\u{}"],
    *["\\u{110000}", "\\u{10FFFF}", "\\u{d800}", "\\u{dfff}", "\\u{1F600}", "\\u{0000061}"],
    *["\\u{000061}", "\\u{0_0_0_0_6_1}", "\\u{00_0_0_0_061}", "\\u0061", "\\u{61", "\\u{6g}"],
    *["\\u", "\\N{LATIN SMALL LETTER A}", "\\141", "\\a", "\\b", "\\v", "\\f", "\\U00000061"],
    *["\\", "\\ ", "\\*\\*", "\\u{2a}", "\\x2a", "\\u{2A}"],
]
RAW = ["a", "*", "\0", "'", "\r", "\n", "\t", " ", "é", "😀", "\u200b", "\u0301", "\x7f", "/"]
bodies = st.lists(st.sampled_from(ESCAPES + RAW), max_size=6).map("".join)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=8) | st.lists(
    st.sampled_from([*RAW, '"', "\\", "\u034f", "\u115f", "\U000e0100", "\u09be"]), max_size=5
).map("".join)


def cedar_literal(body: str) -> pst.Clause | Exception:
    """How cedarpy reads `body` as a string literal and as a pattern (or why it refuses)."""
    text = f'permit(principal, action, resource) when {{ context.a == "{body}" }};'
    try:
        return cedarpy.policies_to_pst(text).static_policies["policy0"].clauses[0]
    except ValueError as error:
        return error


@given(bodies)
def test_unescape_matches_cedar_string_literals(body: str) -> None:
    expected = cedar_literal(body)
    if isinstance(expected, Exception):
        with pytest.raises(UnescapeError):
            unescape(body)
    else:
        assert isinstance(expected.expr, pst.BinaryOp)
        assert unescape(body) == expected.expr.right.value


@given(bodies)
def test_unescape_pattern_matches_cedar_like_patterns(body: str) -> None:
    text = f'permit(principal, action, resource) when {{ context.a like "{body}" }};'
    try:
        clause = cedarpy.policies_to_pst(text).static_policies["policy0"].clauses[0]
    except ValueError:
        with pytest.raises(UnescapeError):
            unescape_pattern(body)
        return
    assert isinstance(clause.expr, pst.Like)
    expected = tuple(
        WILDCARD if isinstance(e, pst.Wildcard) else e.value for e in clause.expr.pattern
    )
    assert unescape_pattern(body) == expected


def test_unescape_examples() -> None:
    assert unescape(r"a\0b\'\"\u{1F600}\x7f\u{6_1}") == "a\0b'\"😀\x7fa"
    assert unescape_pattern(r"a\*b*\x2a") == ("a", "*", "b", WILDCARD, WILDCARD)
    for bad in [r"\*", r"\x80", r"\u{61", r"\u0061", r"\N{X}", "\\", "\r", '"', r"\u{d800}"]:
        with pytest.raises(UnescapeError):
            unescape(bad)


_RENDERED_NAME = re.compile(r'^  (?:"((?:[^"\\]|\\.)*)"|([_a-zA-Z0-9-]+)): ', re.M)


def cedar_rendering(text: str) -> str:
    """How cedarpy prints `text` as a quoted schema attribute name."""
    schema = {"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {}}}}}}
    schema[""]["entityTypes"]["U"]["shape"]["attributes"] = {f"{text}-": {"type": "Long"}}
    schema[""]["actions"] = {}
    rendered = str(cedarpy.Schema.from_json_str(json.dumps(schema)))
    match = _RENDERED_NAME.search(rendered)
    assert match, rendered
    return match.group(1) if match.group(1) is not None else match.group(2)


@given(texts)
def test_escape_debug_matches_cedar_rendering(text: str) -> None:
    expected = cedar_rendering(text)
    if expected == f"{text}-":  # printed bare: an identifier
        assert escape_debug(f"{text}-") == f"{text}-"
    else:
        assert escape_debug(f"{text}-") == expected
    assert unescape(escape_debug(text)) == text


@pytest.mark.slow
def test_escape_tables_match_cedarpy_on_every_code_point() -> None:
    later, first = probe()
    later_set, first_set = set(later), set(first)
    for point in range(0x110000):
        if 0xD800 <= point < 0xE000 or chr(point) in "\0\t\r\n\\\"'":
            continue
        char = chr(point)
        assert (escape_debug(f"-{char}") != f"-{char}") == (point in later_set), hex(point)
        assert (escape_debug(char) != char) == (point in first_set), hex(point)


# --- names and uid text ------------------------------------------------------------------

NAME_PARTS = ["User", "A", "_", "a1", "if", "true", "has", "__cedar", "__x", "1A", "é", " ", ""]
names = st.lists(st.sampled_from(NAME_PARTS), min_size=1, max_size=3).map("::".join)


def cedar_accepts_uid(principal: object) -> bool:
    request = {"principal": principal, "action": 'Action::"a"', "resource": 'R::"r"'}
    result = cedarpy.is_authorized(
        {**request, "context": {}}, "permit(principal, action, resource);", []
    )
    return result.decision.value != "NoDecision"


@given(names)
def test_type_names_follow_cedar(name: str) -> None:
    accepted = cedar_accepts_uid({"type": name, "id": "x"})
    assert (name_problem(name) is None) == accepted


uid_texts = st.one_of(
    st.tuples(names, bodies).map(lambda t: f'{t[0]}::"{t[1]}"'),
    st.tuples(st.sampled_from(["User", "A::B"]), texts).map(
        lambda t: f'{t[0]}::"{escape_debug(t[1])}"'
    ),
    st.tuples(
        st.sampled_from(['User::"admin"', 'User::"a\\u{200b}"', 'A::B::"x"']),
        st.sampled_from([" {}", "{} ", "{}//c", "{}\n", "({})", "{}\0"]),
    ).map(lambda t: t[1].format(t[0])),
    st.sampled_from(['User :: "x"', 'User::"x"::"y"', 'User::""', '::"x"', "User::", '"x"']),
)


@given(uid_texts)
def test_uid_text_is_accepted_exactly_when_cedar_accepts_it(text: str) -> None:
    accepted = cedar_accepts_uid(text)
    if not accepted:
        with pytest.raises(ValueError):
            parse_uid_text(text)
        return
    uid = parse_uid_text(text)
    assert str(uid) == text  # accepted text is always the normalised form


def test_uid_text_examples() -> None:
    assert parse_uid_text('User::"admin"') == EntityUID("User", "admin")
    assert parse_uid_text('A::B::"\\0\\"\\u{200b}"') == EntityUID("A::B", '\0"\u200b')
    for text in ['User::"\\141dmin"', 'User::"\\x61dmin"', 'User::"\\u0061dmin"']:
        with pytest.raises(ValueError):
            parse_uid_text(text)
    for text in ['User::"\\u{61}dmin"', 'User::"\\N{LATIN SMALL LETTER A}dmin"']:
        with pytest.raises(ValueError):
            parse_uid_text(text)
    for text in ['User::"admin" ', 'if::"x"', 'A::__cedar::"x"', 'User::"a\\u{d800}"']:
        with pytest.raises(ValueError):
            parse_uid_text(text)


# --- escape-heavy names in schema, entities and context ----------------------------------

WEIRD = ["a\0b", 'q"x', "c'd", "😀", "\u200b", "é", "a\\b", "\u0301x", "t\tn\n", "*"]


def test_schema_names_with_escapes_are_read() -> None:
    attributes = {name: {"type": "Long"} for name in WEIRD}
    source = {"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": attributes}}}}}
    source[""]["actions"] = {'a"\0': {}}
    schema = load_schema(source)
    assert isinstance(schema, Schema)
    assert set(schema.entities["U"].attributes.attributes) == set(WEIRD)
    assert EntityUID("Action", 'a"\0') in schema.actions
    store = EntityStore.from_json(
        [{"uid": {"type": "U", "id": "u"}, "attrs": dict.fromkeys(WEIRD, 1), "parents": []}],
        schema=source,
    )
    assert store.get(EntityUID("U", "u")) is not None


@given(
    st.lists(st.sampled_from(WEIRD), min_size=1, max_size=3, unique=True),
    st.sampled_from(WEIRD),
    st.sampled_from(WEIRD),
    st.booleans(),
)
def test_escape_heavy_identifiers_match_cedarpy(
    names: list[str], ident: str, value: str, with_schema: bool
) -> None:
    attributes = {name: {"type": "String"} for name in names}
    shape = {"type": "Record", "attributes": attributes}
    context = {"type": "Record", "attributes": {names[0]: {"type": "String"}}}
    applies = {"principalTypes": ["U"], "resourceTypes": ["U"], "context": context}
    schema = {
        "": {"entityTypes": {"U": {"shape": shape}}, "actions": {"a": {"appliesTo": applies}}}
    }
    quoted = [escape_debug(name) for name in names]
    policies = "\n".join(
        [
            f'permit(principal == U::"{escape_debug(ident)}", action, resource) when '
            f'{{ principal["{quoted[0]}"] == "{escape_debug(value)}" }};',
            f'forbid(principal, action, resource) when {{ context["{quoted[0]}"] like '
            f'"*{escape_debug(value).replace("*", chr(92) + "*")}" }};',
            f'permit(principal, action, resource) when {{ principal has "{quoted[-1]}" }};',
        ]
    )
    entities = [
        {"uid": {"type": "U", "id": ident}, "attrs": dict.fromkeys(names, value), "parents": []}
    ]
    request = {
        "principal": f'U::"{escape_debug(ident)}"',
        "action": {"type": "Action", "id": "a"},
        "resource": {"type": "U", "id": ident},
        "context": {names[0]: value + "!"},
    }
    from tests.compiler.reference import cedar_answer, compiled_answer

    chosen = schema if with_schema else None
    expected = cedar_answer(request, policies, entities, chosen)
    assert compiled_answer(compile_policies(policies, chosen), request, entities, chosen) == (
        expected
    )
