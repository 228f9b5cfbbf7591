"""The reference evaluator: every slice is a pre-parsed cedarpy PolicySet (Cedar's own semantics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governance.access import Outcome, Resource
from governance.cedar_bridge import CedarEntities, CedarSlice, pst
from governance.entities import principal_entity, uid
from governance.request import AccessRequest
from governance.slices import SliceKey


class ReferenceEvaluator:
    """Evaluates each (action, domain) slice with cedarpy; waivers get their own reduced slice."""

    def __init__(
        self, slices: Mapping[SliceKey, Sequence[pst.Template]], entities: list[dict[str, Any]]
    ) -> None:
        self._templates = {key: tuple(templates) for key, templates in slices.items()}
        self._slices = {key: CedarSlice(templates) for key, templates in self._templates.items()}
        self._reduced: dict[tuple[SliceKey, frozenset[str]], CedarSlice] = {}
        self.entities = CedarEntities(entities)

    def bind(self, request: AccessRequest) -> _BoundReference:
        return _BoundReference(self, request)

    def fallback_policies(self) -> frozenset[str]:
        return frozenset()

    def slice_for(self, key: SliceKey, removed: frozenset[str]) -> CedarSlice:
        if not removed:
            return self._slices[key]
        cached = self._reduced.get((key, removed))
        if cached is None:
            kept = [t for t in self._templates[key] if t.id not in removed]
            cached = self._reduced.setdefault((key, removed), CedarSlice(kept))
        return cached


class _BoundReference:
    __slots__ = ("_action", "_context", "_entities", "_evaluator", "_principal")

    def __init__(self, evaluator: ReferenceEvaluator, request: AccessRequest) -> None:
        self._evaluator = evaluator
        self._entities = evaluator.entities.with_request_entities([principal_entity(request)])
        self._principal = uid(request.principal_type, request.principal)
        self._action = uid("Action", request.action)
        self._context = dict(request.context)

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
        requests = [
            {
                "principal": self._principal,
                "action": self._action,
                "resource": uid(*r),
                "context": self._context,
            }
            for r in resources
        ]
        outcomes = self._evaluator.slice_for(key, removed).authorize_many(requests, self._entities)
        return [Outcome(o.allowed, o.reasons, o.errored, o.error_messages) for o in outcomes]
