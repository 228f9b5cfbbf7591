"""Cedar's string literals and names, by Cedar's grammar: unescaping, rendering, checking.

One unescape function serves schema text, policy text and entity uid text. It follows
Cedar's rules (those of Rust string literals, which Cedar inherits): ``\\n \\r \\t \\\\ \\0
\\' \\"``, ``\\xHH`` up to ``7F``, ``\\u{...}`` with one to six hex digits (``_`` allowed
after the first) naming a scalar value, and ``\\*`` only inside ``like`` patterns. Any other
escape, a lone backslash, a raw carriage return or a raw ``"`` is refused.

:func:`escape_debug` is the inverse Cedar uses to print and to normalise (Rust's
``str::escape_debug``, with the Unicode tables of the Rust release cedarpy was built with).
"""

from __future__ import annotations

import re
from bisect import bisect_right

from governance.compiler.rust_printable import GRAPHEME_EXTEND_PRINTABLE, NOT_PRINTABLE


class UnescapeError(ValueError):
    """A string literal Cedar refuses; ``offset`` is where in the literal's body."""

    def __init__(self, body: str, offset: int, reason: str) -> None:
        super().__init__(f"invalid escape at offset {offset} of `{body}`: {reason}")
        self.offset = offset


_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}
_HEX = frozenset("0123456789abcdefABCDEF")
_MAX_UNICODE_DIGITS = 6
WILDCARD = None
"""Stands for ``*`` in an unescaped ``like`` pattern; a literal star is the string ``"*"``."""


def unescape(body: str) -> str:
    """The value of a Cedar string literal whose text between the quotes is `body`."""
    if "\\" not in body and '"' not in body and "\r" not in body:
        return body
    return "".join(char for char, _ in _scan(body, pattern=False))


def unescape_pattern(body: str) -> tuple[str | None, ...]:
    """A ``like`` pattern's elements: characters, and :data:`WILDCARD` for each wildcard.

    As in Cedar, any ``*`` the unescaping yields (raw, ``\\x2a`` or ``\\u{2a}``) is a
    wildcard; only ``\\*`` is a literal star."""
    return tuple(
        WILDCARD if char == "*" and not escaped_star else char
        for char, escaped_star in _scan(body, pattern=True)
    )


def _scan(body: str, pattern: bool) -> list[tuple[str, bool]]:
    """Each character of the literal's value, and whether it came from ``\\*``."""
    out: list[tuple[str, bool]] = []
    position, end = 0, len(body)
    while position < end:
        char = body[position]
        if char == '"':
            raise UnescapeError(body, position, 'a `"` must be escaped')
        if char == "\r":
            raise UnescapeError(body, position, "a bare carriage return must be escaped")
        if char != "\\":
            out.append((char, False))
            position += 1
            continue
        if position + 1 >= end:
            raise UnescapeError(body, position, "a lone backslash")
        kind = body[position + 1]
        if kind in _SIMPLE:
            out.append((_SIMPLE[kind], False))
            position += 2
        elif kind == "*" and pattern:
            out.append(("*", True))
            position += 2
        elif kind == "x":
            out.append((_hex_escape(body, position), False))
            position += 4
        elif kind == "u":
            value, position = _unicode_escape(body, position)
            out.append((value, False))
        else:
            raise UnescapeError(body, position, f"unknown escape `\\{kind}`")
    return out


def _hex_escape(body: str, start: int) -> str:
    digits = body[start + 2 : start + 4]
    if len(digits) < 2 or not _HEX.issuperset(digits):
        raise UnescapeError(body, start, "`\\x` needs two hex digits")
    value = int(digits, 16)
    if value > 0x7F:
        raise UnescapeError(body, start, "`\\x` escapes stop at `\\x7F`")
    return chr(value)


def _unicode_escape(body: str, start: int) -> tuple[str, int]:
    """The character of the ``\\u{...}`` escape at `start`, and the offset after it."""
    position = start + 2
    if position >= len(body) or body[position] != "{":
        raise UnescapeError(body, start, "`\\u` needs braces: `\\u{...}`")
    close = body.find("}", position)
    inner = body[position + 1 : close] if close >= 0 else body[position + 1 :]
    if inner.startswith("_"):
        raise UnescapeError(body, start, "a unicode escape starts with a digit")
    if close >= 0 and not inner:
        raise UnescapeError(body, start, "an empty unicode escape")
    bad = next((i for i, c in enumerate(inner) if c != "_" and c not in _HEX), None)
    if bad is not None:
        raise UnescapeError(body, start, f"`{inner[bad]}` in a unicode escape")
    if close < 0:
        raise UnescapeError(body, start, "an unclosed unicode escape")
    digits = inner.replace("_", "")
    if len(digits) > _MAX_UNICODE_DIGITS:
        raise UnescapeError(body, start, "more than six digits in a unicode escape")
    value = int(digits, 16)
    if value > 0x10FFFF:
        raise UnescapeError(body, start, "a unicode escape beyond 10FFFF")
    if 0xD800 <= value < 0xE000:
        raise UnescapeError(body, start, "a unicode escape naming a lone surrogate")
    return chr(value), close + 1


# --- rendering (Rust's escape_debug) -----------------------------------------------------

_RENDERED = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\"}
_RENDERED |= {'"': '\\"', "'": "\\'"}
_PLAIN = re.compile(r"[ !#-&(-\[\]-~]*")  # printable ASCII but `"`, `'` and `\`


def escape_debug(text: str) -> str:
    """`text` as Cedar prints it between quotes (Rust's ``str::escape_debug``)."""
    if _PLAIN.fullmatch(text):
        return text
    return "".join(_render(char, index == 0) for index, char in enumerate(text))


def _render(char: str, first: bool) -> str:
    simple = _RENDERED.get(char)
    if simple is not None:
        return simple
    point = ord(char)
    if _in(NOT_PRINTABLE, point) or 0xD800 <= point < 0xE000:
        return f"\\u{{{point:x}}}"
    if first and _in(GRAPHEME_EXTEND_PRINTABLE, point):
        return f"\\u{{{point:x}}}"
    return char


def _in(table: tuple[int, ...], point: int) -> bool:
    return bisect_right(table, point) % 2 == 1


# --- names ------------------------------------------------------------------------------

_IDENT = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
RESERVED = frozenset({"true", "false", "if", "then", "else", "in", "is", "like", "has"})
"""Identifiers Cedar refuses as names (``__cedar`` is refused as any part of a path)."""


def name_problem(text: str) -> str | None:
    """Why `text` is not a Cedar name (``Ident`` or ``Ns::Ident``), or None when it is."""
    for part in text.split("::"):
        if not _IDENT.fullmatch(part):
            return f"`{text}` is not a Cedar name"
        if part in RESERVED:
            return f"`{part}` is a reserved identifier"
        if part == "__cedar":
            return f"`{text}` uses the reserved namespace `__cedar`"
    return None
