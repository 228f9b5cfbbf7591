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
    inner: tuple[tuple[Hashable, _Entry], ...] = ()  # the results computing it used, kept with it


class FileMemo:
    """Results of one load by key (a file and what was made of it, or a check of a layer), each
    with the stamp of its inputs. The next load reuses a result only under an equal stamp, and
    only when it names files the same way (`names`, the root and the prefix names are shown
    with: problems carry file names). Keys hold what they depend on: a file is keyed by its
    shown name, so a load below another root that shows it alike may take its result too; a
    whole layer by its folder's path.

    A memo keeps the previous load's entries only while its own load runs (`seal`), so a chain
    of reloads never keeps more than the last tree's results alive."""

    def __init__(self, names: tuple[str, str], previous: FileMemo | None = None) -> None:
        self.names = names
        same_names = previous is not None and previous.names[1] == names[1]
        self._earlier: dict[Hashable, _Entry] = previous._entries if same_names else {}  # type: ignore[union-attr]
        self._entries: dict[Hashable, _Entry] = {}
        self._computing: list[list[Hashable]] = []  # keys used by each result being computed
        self.reused = 0  # results taken from the previous load (tests and benchmarks read it)

    def get(
        self,
        key: Hashable,
        stamp: Hashable,
        problems: list[Problem],
        compute: Callable[[list[Problem]], T],
    ) -> T:
        """`compute(found)` once per stamp: an earlier result under the same key and stamp is
        taken, with the problems it reported; otherwise it is computed and kept.

        Results `compute` itself gets from the memo (a layer's files) are kept with it: taking
        the outer result again keeps them too, for a later load to reuse one by one."""
        if self._computing:
            self._computing[-1].append(key)
        earlier = self._earlier.get(key)
        if earlier is not None and earlier.stamp == stamp:
            self._keep(key, earlier)
            self.reused += 1
            problems.extend(earlier.problems)
            value: T = earlier.value
            return value
        found: list[Problem] = []
        self._computing.append([])
        try:
            value = compute(found)
        finally:
            inner = tuple(self._computing.pop())
        entries = self._entries
        self._entries[key] = _Entry(
            stamp, value, tuple(found), tuple((k, entries[k]) for k in inner)
        )
        problems.extend(found)
        return value

    def _keep(self, key: Hashable, entry: _Entry) -> None:
        self._entries[key] = entry
        if entry.inner:
            self._entries.update(entry.inner)
            for inner_key, inner in entry.inner:
                if inner.inner:
                    self._keep(inner_key, inner)

    def seal(self) -> None:
        """The load is done: forget the previous load's entries."""
        self._earlier = {}
