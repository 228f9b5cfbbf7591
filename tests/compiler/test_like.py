"""`like` runs in time linear in the text (counted in characters scanned, not wall time) and
answers as Cedar does, escaped stars included."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import compile_policies
from governance.compiler.literals import unescape_pattern
from governance.compiler.wildcards import matches, split
from tests.compiler.reference import cedar_answer, compiled_answer


class CountingText(str):
    """A string that counts the characters its searches scan (each from its start offset)."""

    scanned = 0

    def find(self, sub: str, start: int = 0, end: int | None = None) -> int:  # type: ignore[override]
        found = super().find(sub, start, end)
        stop = len(self) if end is None else end
        self.scanned += (found + len(sub) if found >= 0 else stop) - start
        return found

    def startswith(self, prefix: str, *args: object) -> bool:  # type: ignore[override]
        self.scanned += len(prefix)  # type: ignore[arg-type]
        return super().startswith(prefix)  # type: ignore[arg-type]

    def endswith(self, suffix: str, *args: object) -> bool:  # type: ignore[override]
        self.scanned += len(suffix)  # type: ignore[arg-type]
        return super().endswith(suffix)  # type: ignore[arg-type]


def scanned(text: str, pattern: str) -> tuple[bool, int]:
    parts = split(unescape_pattern(pattern))
    assert parts is not None
    counting = CountingText(text)
    return matches(counting, *parts), counting.scanned


# the shapes that made the regex matcher backtrack: many wildcards, a failing tail or middle
HOSTILE = [
    ("*a*a*a*a*a*a*b", "a"),
    ("*a*a*a*a*a*a*", "b"),
    ("a*a*a*a*a*a*ab", "a"),
    ("*password*secret*token*", "password secret tok"),
    ("*a*b*c*d*", "abc"),
]


@pytest.mark.parametrize(("pattern", "unit"), HOSTILE)
def test_like_scans_each_character_at_most_once(pattern: str, unit: str) -> None:
    counts = []
    for repeat in (1_000, 2_000, 4_000, 8_000):
        text = unit * repeat
        _, steps = scanned(text, pattern)
        assert steps <= len(text) + len(pattern)
        counts.append(steps)
    for smaller, larger in itertools.pairwise(counts):
        assert larger <= 2 * smaller + len(pattern)  # doubling the text at most doubles the work


def test_a_hundred_kilobyte_ticket_against_a_guardrail_pattern() -> None:
    ticket = ("lorem ipsum password " * 5_000)[:100_000]
    compiled = compile_policies(
        'forbid(principal, action, resource) when { context.body like "*password*secret*" };'
    )
    assert "_like(" in compiled.policies[0].source  # the linear matcher, not a regex
    _, steps = scanned(ticket, "*password*secret*")
    assert steps <= len(ticket) + 20


def brute_force(text: str, pattern: tuple[str | None, ...]) -> bool:
    """Textbook dynamic programming over (text, pattern) positions: the reference."""
    reachable = {0}
    for elem in pattern:
        if elem is None:
            start = min(reachable, default=len(text) + 1)
            reachable = set(range(start, len(text) + 1))
        else:
            reachable = {i + 1 for i in reachable if i < len(text) and text[i] == elem}
    return len(text) in reachable


PIECES = ["a", "b", "*", "\\*", "\\x2a", "\\u{2a}", "é", "\\0", "ab", "**"]
patterns = st.lists(st.sampled_from(PIECES), max_size=7).map("".join)
texts = st.text(alphabet="ab*é\0", max_size=12)


@given(texts, patterns)
def test_matcher_agrees_with_the_textbook_definition(text: str, pattern: str) -> None:
    elements = unescape_pattern(pattern)
    parts = split(elements)
    if parts is not None:
        assert matches(text, *parts) == brute_force(text, elements)


@given(st.lists(st.tuples(texts, patterns), min_size=1, max_size=4))
def test_like_matches_cedarpy(cases: list[tuple[str, str]]) -> None:
    policies = "\n".join(
        f'permit(principal, action, resource) when {{ context.s{i} like "{pattern}" }};'
        for i, (_, pattern) in enumerate(cases)
    )
    context = {f"s{i}": text for i, (text, _) in enumerate(cases)}
    request = {
        "principal": {"type": "User", "id": "u"},
        "action": {"type": "Action", "id": "a"},
        "resource": {"type": "Doc", "id": "d"},
        "context": context,
    }
    expected = cedar_answer(request, policies, [])
    assert compiled_answer(compile_policies(policies), request, []) == expected
