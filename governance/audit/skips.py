"""Lines a reader could not use: counted, and the first few located, so nothing is skipped silently."""

from __future__ import annotations

from dataclasses import dataclass, field

_EXAMPLES = 20


@dataclass(slots=True)
class Skips:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, where: str) -> None:
        self.count += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append(where)

    def merge(self, other: Skips) -> None:
        self.count += other.count
        room = _EXAMPLES - len(self.examples)
        self.examples += other.examples[:room]
