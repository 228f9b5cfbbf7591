"""Which decisions a log keeps: only denies, a fraction of allows, some domains."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from governance.decision import Decision


@dataclass(frozen=True, slots=True)
class Sampling:
    """Denies are kept unless `only_denies` is off and a domain filter excludes them; allows are
    kept with probability `allow_fraction`. Refusals (no domain) always pass the domain filter:
    an unreadable request is exactly what an auditor wants to see."""

    only_denies: bool = False
    allow_fraction: float = 1.0
    domains: frozenset[str] | None = None  # None keeps every domain
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.allow_fraction <= 1.0:
            raise ValueError(f"allow_fraction must be within [0, 1], got {self.allow_fraction}")
        object.__setattr__(self, "_random", random.Random(self.seed))

    @property
    def keeps_everything(self) -> bool:
        return not self.only_denies and self.allow_fraction >= 1.0 and self.domains is None

    def keeps(self, decision: Decision) -> bool:
        if self.domains is not None:
            domain = domain_of(decision)
            if domain is not None and domain not in self.domains:
                return False
        if not decision.access.allowed:
            return True
        if self.only_denies:
            return False
        return self.allow_fraction >= 1.0 or self._random.random() < self.allow_fraction


def domain_of(decision: Decision) -> str | None:
    """The owning domain is the one non-global layer a decision's revisions name."""
    for layer in decision.revisions:
        if layer != "global":
            return layer
    return None
