"""Reading `.cedar` files into identified, located policies (`layer/id`, file:line, @reason)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from governance.cedar_bridge import parse_policies, pst, with_id
from governance.errors import Location, Problem

POLICY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# Cedar's parser recurses per bracket and overflows the C stack (SIGSEGV) near a thousand levels;
# no real policy nests more than a handful, so the text is refused before it reaches the parser.
MAX_NESTING = 64
KNOWN_ANNOTATIONS = frozenset({"id", "reason", "waivable"})


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """One Cedar policy as a user wrote it, with everything a decision needs to name it."""

    full_id: str  # `layer/id`: the id cedarpy and the compiler report it by
    layer: str
    local_id: str
    effect: str
    template: pst.Template
    location: Location
    reason: str
    waivable: bool
    text: str


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


def nesting_problem(text: str, display: str, code: str) -> Problem | None:
    """A located problem when Cedar text nests deeper than its parser can safely take."""
    where = too_deep(text)
    if where is None:
        return None
    message = f"nesting deeper than {MAX_NESTING} levels of brackets"
    return Problem(Location(display, *where), code, message)


def _skip_string(text: str, i: int) -> int:
    i += 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _statement(text: str, start: int, end: int) -> Statement:
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return Statement(line, column, text[start:end])


def read_policies(
    text: str, display: str, layer: str, problems: list[Problem]
) -> list[SourcePolicy]:
    """Every policy in one file, identified as `layer/id`; problems get the policy's line."""
    deep = nesting_problem(text, display, "cedar-syntax")
    if deep is not None:
        problems.append(deep)
        return []
    statements = split_statements(text)
    try:
        policy_set = parse_policies(text)
    except ValueError:
        _report_syntax_errors(statements, display, problems)
        return []
    if policy_set.templates:
        # Templates need links this tree never makes; dropping them silently would also shift
        # every other policy's text and line, so the whole file is refused at the template.
        message = "Cedar templates (`?principal`, `?resource`) are not supported"
        places = [
            Location(display, s.line, s.column)
            for s in statements
            if "?principal" in s.text or "?resource" in s.text
        ] or [Location(display, 1, 1)]
        problems.extend(Problem(place, "cedar-template", message) for place in places)
        return []
    parsed = list(policy_set.static_policies.values())
    if len(parsed) != len(statements):
        # A statement the splitter could not isolate: keep the policies, locate the file only.
        statements = [Statement(0, 0, "")] * len(parsed)
    return [
        policy
        for template, statement in zip(parsed, statements, strict=True)
        if (policy := _identify(template, statement, display, layer, problems))
    ]


def _report_syntax_errors(
    statements: list[Statement], display: str, problems: list[Problem]
) -> None:
    found = False
    for statement in statements:
        try:
            parse_policies(statement.text)
        except ValueError as exc:
            found = True
            location = Location(display, statement.line, statement.column)
            problems.append(Problem(location, "cedar-syntax", _one_line(str(exc))))
    if not found:  # the file fails only as a whole (e.g. an unterminated string)
        problems.append(
            Problem(Location(display, 1, 1), "cedar-syntax", "invalid Cedar policy text")
        )


def _identify(
    template: pst.Template, statement: Statement, display: str, layer: str, problems: list[Problem]
) -> SourcePolicy | None:
    location = Location(display, statement.line, statement.column)
    local_id = template.annotations.get("id")
    if local_id is None:
        problems.append(Problem(location, "missing-id", 'policy has no @id("...") annotation'))
        return None
    if not POLICY_ID.match(local_id):
        message = f"@id `{local_id}` must be letters, digits, `_`, `-` or `.`"
        problems.append(Problem(location, "bad-id", message))
        return None
    for name in sorted(set(template.annotations) - KNOWN_ANNOTATIONS):
        message = f"unknown annotation @{name} (known: @id, @reason, @waivable)"
        problems.append(Problem(location, "unknown-annotation", message, "warning"))
    waivable = template.annotations.get("waivable", "false")
    if waivable not in ("true", "false"):
        message = f'@waivable must be "true" or "false", not `{waivable}`'
        problems.append(Problem(location, "bad-annotation", message))
        return None
    full_id = f"{layer}/{local_id}"
    return SourcePolicy(
        full_id=full_id,
        layer=layer,
        local_id=local_id,
        effect=template.effect,
        template=with_id(template, full_id),
        location=location,
        reason=template.annotations.get("reason", ""),
        waivable=waivable == "true",
        text=statement.text,
    )


def _one_line(message: str) -> str:
    return " ".join(message.split())
