"""The evaluator interface: access to catalog resources, combined by one function.

Both evaluators (the compiled one and the cedarpy reference) answer with an `Access` built by
`governance.access.answer.combine` (see docs/combining.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from governance.access.answer import Access
from governance.access.request import AccessRequest
from governance.access.slices import SliceKey
from governance.compiler.values import EntityUID

Resource = EntityUID  # (entity type, entity id), built once per product and column at load


class BoundRequest(Protocol):
    """A request's principal, action and context, prepared once for all its resources."""

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: Mapping[str, str]
    ) -> list[Access]:
        """Evaluate one slice for each resource; `removed` guardrails (waived guardrail ->
        waiver) take no part, and the answer names the waivers whose guardrail would fire."""
        ...

    def authorize_one(
        self, key: SliceKey, resource: Resource, removed: Mapping[str, str]
    ) -> Access:
        """`authorize` for a single resource (the product itself, on every request)."""
        ...


class AccessEvaluator(Protocol):
    """Evaluates (action, domain) slices: the reference (cedarpy) and compiled implementations."""

    def bind(self, request: AccessRequest) -> BoundRequest: ...

    def prepare(self, targets: Iterable[tuple[SliceKey, Resource]]) -> None:
        """Build ahead what deciding on these targets needs, so that the first request after a
        load or reload is as fast as any other."""
        ...

    def fallback_policies(self) -> frozenset[str]:
        """Policies this evaluator hands to cedarpy because it cannot run them itself."""
        ...
