"""Cedar policy text as statements: split outside comments and strings, each located by the
line and column it starts on; the nesting guard; and parsing that locates what Cedar rejects."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cedarpy
from cedarpy import pst

from governance.errors import CompileError, Location

# Cedar's parser recurses per bracket and overflows the C stack (SIGSEGV) near a thousand levels;
# no real policy nests more than a handful, so the text is refused before it reaches the parser.
MAX_NESTING = 64
# It recurses as deep per link of a chain without brackets (`a && b && ...`, `+`, `x.a.b...`,
# `has a.b...`, `.contains(..).contains(..)`, nested `if`: SIGSEGV near 1,400 links; its own limit
# of 100 levels is checked only after). A statement's depth is at most its count of operators and
# keywords, so a statement with more than MAX_OPERATORS of them is refused unparsed.
MAX_OPERATORS = 500
# What can nest: a comment or string (skipped whole), a bracket, `;`, an operator or keyword.
_NESTING = re.compile(
    r'//[^\n]*|"(?:[^"\\]|\\.)*"?|[()\[\]{};]|&&|\|\||[=!<>]=|[<>+*.!-]'
    r"|\b(?:if|then|else|in|has|like|is)\b",
    re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Statement:
    line: int
    column: int
    text: str


# One token per match: a comment, a whole string literal (unterminated: to the end), a bracket
# or `;`, a run of other significant characters, or a lone `/`. Whitespace matches nothing.
_TOKEN = re.compile(r'//[^\n]*|"(?:[^"\\]|\\.)*"?|[()\[\]{};/]|[^\s/"()\[\]{};]+', re.DOTALL)


def _significant(text: str) -> Iterator[tuple[int, str]]:
    """The first character and index of each token outside comments; a string literal is one
    `"`. Matching whole tokens, not characters, keeps scanning large files cheap."""
    for match in _TOKEN.finditer(text):
        char = text[match.start()]
        if char == "/" and match.end() - match.start() > 1:
            continue  # a comment
        yield match.start(), char


def split_statements(text: str) -> list[Statement]:
    """Split Cedar text into top-level statements (annotations included), skipping comments
    and strings, so each parsed policy can be given the line it starts on."""
    statements: list[Statement] = []
    depth, start = 0, -1
    for i, char in _significant(text):
        if start < 0 and not char.isspace():
            start = i
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ";" and depth <= 0:
            statements.append(_statement(text, start, i + 1))
            start, depth = -1, 0
    if start >= 0:
        statements.append(_statement(text, start, len(text)))
    return statements


def too_deep(text: str) -> tuple[int, int] | None:
    """The (line, column) where bracket nesting first exceeds MAX_NESTING, skipping comments
    and strings; None when the text stays within the limit."""
    failure = nesting_failure(text)
    return None if failure is None else (failure[0], failure[1])


def nesting_failure(text: str, *, schema: bool = False) -> tuple[int, int, str] | None:
    """(line, column, message) where Cedar text first nests deeper than its parser can take:
    brackets (in a schema also `Set<...>`) past MAX_NESTING, or a statement of more than
    MAX_OPERATORS operators and keywords; comments and strings are skipped. None when safe."""
    depth, operators = 0, 0
    for match in _NESTING.finditer(text):  # identifiers and spaces never match: skipped in C
        char = match.group()[0]
        if char == '"' or char == "/":  # a string or a comment
            continue
        if char in "([{" or (schema and char == "<"):
            depth += 1
            if depth > MAX_NESTING:
                message = f"nesting deeper than {MAX_NESTING} levels of brackets"
                return (*_line_column(text, match.start()), message)
        elif char in ")]}" or (schema and char == ">"):
            depth -= 1
        elif char == ";":
            if depth <= 0:
                depth, operators = 0, 0
        else:
            operators += 1
            if operators > MAX_OPERATORS:
                message = (
                    f"more than {MAX_OPERATORS} operators in one statement "
                    "(Cedar's parser cannot take chains that long)"
                )
                return (*_line_column(text, match.start()), message)
    return None


def _line_column(text: str, index: int) -> tuple[int, int]:
    where = _statement(text, index, index)
    return where.line, where.column


def _statement(text: str, start: int, end: int) -> Statement:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return Statement(line, column, text[start:end])


def parse_located(text: str, source: str = "<policies>") -> pst.PolicySet:
    """Cedar text as typed nodes; text Cedar rejects (or nesting its parser cannot take) is a
    CompileError located at the statement that fails, never a bare ValueError."""
    _refuse_deep(text, source)
    try:
        return cedarpy.policies_to_pst(text)
    except ValueError as whole:
        message, where = _first_failure(text, str(whole), cedarpy.policies_to_pst)
        raise CompileError(message, Location(source, *where)) from None


def parse_accepted(text: str, source: str = "<policies>") -> pst.PolicySet | str:
    """Cedar text as typed nodes or, when cedarpy's typed AST cannot hold a policy Cedar
    accepts (a wrong-arity extension call, which Cedar evaluates to an error), the text's JSON
    (EST) form. Only text Cedar itself rejects is a located CompileError."""
    _refuse_deep(text, source)
    try:
        return cedarpy.policies_to_pst(text)
    except ValueError:
        pass
    try:
        return cedarpy.policies_to_json_str(text)
    except ValueError as whole:
        message, where = _first_failure(text, str(whole), cedarpy.policies_to_json_str)
        raise CompileError(message, Location(source, *where)) from None


def _refuse_deep(text: str, source: str, *, schema: bool = False) -> None:
    failure = nesting_failure(text, schema=schema)
    if failure is not None:
        line, column, message = failure
        raise CompileError(message, Location(source, line, column))


def _first_failure(
    text: str, message: str, parse: Callable[[str], object]
) -> tuple[str, tuple[int, int]]:
    """Cedar's messages carry no position: the first statement refused on its own locates
    the error (and its own message is the more precise one)."""
    for statement in split_statements(text):
        try:
            parse(statement.text)
        except ValueError as error:
            return str(error), (statement.line, statement.column)
    return message, (1, 1)
