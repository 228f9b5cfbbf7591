"""Cedar's ``like``: wildcard matching in time linear in the text, never a backtracking regex.

A pattern is literal pieces separated by wildcards: ``head * middle_1 * ... * tail``. The text
matches when it starts with ``head``, ends with ``tail`` (without overlapping it), and holds
each middle piece in order in between. Taking the leftmost occurrence of each middle piece is
always right (a later one only leaves less room for the rest), so the search never steps back:
each character of the text is scanned by at most one ``str.find``, which is what Cedar's own
matcher achieves by backtracking only to the last wildcard.
"""

from __future__ import annotations

from collections.abc import Sequence


def pieces(pattern: Sequence[str | None]) -> list[str | None]:
    """The pattern's elements (characters, None for a wildcard) as literal pieces and single
    wildcards: ``a b * * c`` becomes ``["ab", None, "c"]``."""
    out: list[str | None] = []
    for elem in pattern:
        if elem is None:
            if not out or out[-1] is not None:
                out.append(None)
        elif out and out[-1] is not None:
            out[-1] += elem
        else:
            out.append(elem)
    return out


def split(pattern: Sequence[str | None]) -> tuple[str, tuple[str, ...], str] | None:
    """``(head, middles, tail)`` of a pattern with at least one wildcard, else None."""
    parts = pieces(pattern)
    if None not in parts:
        return None
    head = parts[0] if parts[0] is not None else ""
    tail = parts[-1] if parts[-1] is not None else ""
    inner = parts[1:-1] if parts[0] is not None else parts[1:]
    if parts[-1] is not None:
        inner = inner[:-1]
    middles = tuple(p for p in inner if p is not None)
    return head, middles, tail


def matches(text: str, head: str, middles: tuple[str, ...], tail: str) -> bool:
    """Does `text` match ``head * middles[0] * ... * tail``?"""
    end = len(text) - len(tail)
    if end < len(head) or not text.startswith(head) or not text.endswith(tail):
        return False
    position = len(head)
    for middle in middles:
        found = text.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return True
