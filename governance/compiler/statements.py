"""Cedar policy text as statements: split outside comments and strings, each located by the
line and column it starts on; the nesting guard; and parsing that locates what Cedar rejects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cedarpy
from cedarpy import pst

from governance.errors import CompileError, Location

# Cedar's parser recurses per bracket and overflows the C stack (SIGSEGV) near a thousand levels;
# no real policy nests more than a handful, so the text is refused before it reaches the parser.
MAX_NESTING = 64


@dataclass(frozen=True, slots=True)
class Statement:
    line: int
    column: int
    text: str


def _significant(text: str) -> Iterator[tuple[int, str]]:
    """Each character outside comments, with its index; a string literal is one `"`."""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "/" and text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        yield i, char
        i = _skip_string(text, i) if char == '"' else i + 1


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
    depth = 0
    for i, char in _significant(text):
        if char in "([{":
            depth += 1
            if depth > MAX_NESTING:
                statement = _statement(text, i, i)
                return statement.line, statement.column
        elif char in ")]}":
            depth -= 1
    return None


def _skip_string(text: str, i: int) -> int:
    i += 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _statement(text: str, start: int, end: int) -> Statement:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return Statement(line, column, text[start:end])


def parse_located(text: str, source: str = "<policies>") -> pst.PolicySet:
    """Cedar text as typed nodes; text Cedar rejects (or nesting its parser cannot take) is a
    CompileError located at the statement that fails, never a bare ValueError."""
    deep = too_deep(text)
    if deep is not None:
        message = f"nesting deeper than {MAX_NESTING} levels of brackets"
        raise CompileError(message, Location(source, *deep))
    try:
        return cedarpy.policies_to_pst(text)
    except ValueError as whole:
        message, where = _first_failure(text, str(whole))
        raise CompileError(message, Location(source, *where)) from None


def _first_failure(text: str, message: str) -> tuple[str, tuple[int, int]]:
    """Cedar's messages carry no position: the first statement refused on its own locates
    the error (and its own message is the more precise one)."""
    for statement in split_statements(text):
        try:
            cedarpy.policies_to_pst(statement.text)
        except ValueError as error:
            return str(error), (statement.line, statement.column)
    return message, (1, 1)
