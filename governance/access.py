"""Access combining (SPEC 3.3): the decision is a pure function of what the policies said.

Any satisfied forbid denies (forbidden); otherwise any satisfied permit allows (permitted);
otherwise deny (not permitted). Errored policies are skipped and reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from governance.compiler.values import EntityUID
from governance.decision import Access, Kind, PolicyError, PolicyRef
from governance.request import AccessRequest
from governance.slices import SliceKey

Resource = EntityUID  # (entity type, entity id), built once per product and column at load


class Outcome(NamedTuple):
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


class BoundRequest(Protocol):
    """A request's principal, action and context, prepared once for all its resources."""

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
        """Evaluate one slice for each resource; `removed` guardrails (waived) take no part."""
        ...


class AccessEvaluator(Protocol):
    """Evaluates (action, domain) slices: the reference (cedarpy) and compiled implementations."""

    def bind(self, request: AccessRequest) -> BoundRequest: ...

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
