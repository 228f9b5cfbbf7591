"""Access combining (SPEC 3.3): the decision is a pure function of what the policies said.

Any satisfied forbid denies (forbidden); otherwise any satisfied permit allows (permitted);
otherwise deny (not permitted). Errored policies are skipped and reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from governance.decision import Access, Kind, PolicyError, PolicyRef
from governance.request import AccessRequest
from governance.slices import SliceKey

Resource = tuple[str, str]  # (entity type, entity id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an evaluator reports for one resource, in Cedar's terms."""

    allowed: bool
    reasons: tuple[str, ...]  # satisfied forbids when denied, satisfied permits when allowed
    errored: tuple[str, ...]
    messages: tuple[str, ...] = ()

    @property
    def kind(self) -> Kind:
        if self.allowed:
            return "permitted"
        return "forbidden" if self.reasons else "not_permitted"


class AccessEvaluator(Protocol):
    """Evaluates one slice for a request over several resources (the product, then columns).

    `removed` holds guardrails lifted by an active waiver: they take no part at all.
    """

    def authorize(
        self,
        key: SliceKey,
        request: AccessRequest,
        resources: Sequence[Resource],
        removed: frozenset[str],
    ) -> list[Outcome]: ...

    def fallback_policies(self) -> frozenset[str]:
        """Policies this evaluator hands to cedarpy because it cannot run them itself."""
        ...


def to_access(outcome: Outcome, refs: Mapping[str, PolicyRef], waivers: tuple[str, ...]) -> Access:
    errors = tuple(
        PolicyError(policy, message)
        for policy, message in zip(
            outcome.errored, outcome.messages or ("",) * len(outcome.errored), strict=False
        )
    )
    return Access(
        outcome.kind, tuple(refs[r] for r in outcome.reasons if r in refs), errors, waivers
    )
