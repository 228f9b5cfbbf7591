"""`compile_policies` refuses text Cedar rejects with a located CompileError (a
GovernanceError), never a bare ValueError; the location is the statement that fails."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.compiler import compile_policies
from governance.errors import CompileError, GovernanceError, Location

GOOD = "permit (principal, action, resource) when { principal.level >= 2 };"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("permit (principal, action, resource) when { x };", 1, 1, "invalid variable: x"),
        (f"{GOOD}\n\n  forbid (principal, action, resource) when {{ 1 + }};", 3, 3, "`}`"),
        (f'{GOOD}\n// a comment; with a semicolon\n@id("a;b")\npermit (principal, action,);', 3, 1, ""),
        ("garbage", 1, 1, ""),
        ("permit (principal, action, resource) when { " + "(" * 70 + "true" + ")" * 70 + " };",
         1, 108, "nesting deeper than 64"),
    ],
)  # fmt: skip
def test_parse_errors_are_located_compile_errors(text, line, column, message):
    with pytest.raises(CompileError) as raised:
        compile_policies(text)
    error = raised.value
    assert isinstance(error, GovernanceError) and not isinstance(error, ValueError)
    assert error.location == Location("<policies>", line, column)
    assert str(error).startswith(f"<policies>:{line}:{column}: ")
    assert message in str(error)


def test_a_schema_cedar_rejects_is_a_located_compile_error():
    with pytest.raises(CompileError) as raised:
        compile_policies(GOOD, schema="entity ;")
    assert raised.value.location == Location("<schema>")


def test_unsupported_constructs_stay_unlocated():
    condition = "true"
    for _ in range(65):
        condition = f"if principal.flag then {condition} else false"
    with pytest.raises(CompileError) as raised:
        compile_policies(f"permit(principal, action, resource) when {{ {condition} }};")
    assert raised.value.location is None


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet='permitforbid(principal,action,resource)when{}"; \n&|!=<>.1x', max_size=80))
def test_any_text_compiles_or_raises_a_compile_error(text):
    try:
        compile_policies(text)
    except CompileError as error:
        if error.location is not None:
            assert error.location.line >= 1 and error.location.column >= 1
