"""What one load keeps for the next: each file's parsed result under its path and sha256."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from governance.errors import Problem

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry:
    stamp: Hashable  # what the value was computed from: a file's sha256, or a tuple of digests
    value: Any
    problems: tuple[Problem, ...]  # what computing it reported, reported again on reuse


class FileMemo:
    """Results of one load by key (a file and what was made of it, or a check of a layer), each
    with the stamp of its inputs. The next load reuses a result only under an equal stamp, and
    only when it names files the same way (`names`: problems carry file names).

    A memo keeps the previous load's entries only while its own load runs (`seal`), so a chain
    of reloads never keeps more than the last tree's results alive."""

    def __init__(self, names: tuple[str, str], previous: FileMemo | None = None) -> None:
        self.names = names
        same_names = previous is not None and previous.names == names
        self._earlier: dict[Hashable, _Entry] = previous._entries if same_names else {}  # type: ignore[union-attr]
        self._entries: dict[Hashable, _Entry] = {}
        self.reused = 0  # results taken from the previous load (tests and benchmarks read it)

    def get(
        self,
        key: Hashable,
        stamp: Hashable,
        problems: list[Problem],
        compute: Callable[[list[Problem]], T],
    ) -> T:
        """`compute(found)` once per stamp: an earlier result under the same key and stamp is
        taken, with the problems it reported; otherwise it is computed and kept."""
        earlier = self._earlier.get(key)
        if earlier is not None and earlier.stamp == stamp:
            self._entries[key] = earlier
            self.reused += 1
            problems.extend(earlier.problems)
            value: T = earlier.value
            return value
        found: list[Problem] = []
        value = compute(found)
        self._entries[key] = _Entry(stamp, value, tuple(found))
        problems.extend(found)
        return value

    def seal(self) -> None:
        """The load is done: forget the previous load's entries."""
        self._earlier = {}
