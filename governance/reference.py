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
        self._entities = CedarEntities(entities)

    def authorize(
        self,
        key: SliceKey,
        request: AccessRequest,
        resources: Sequence[Resource],
        removed: frozenset[str],
    ) -> list[Outcome]:
        cedar_slice = self._slice(key, removed)
        entities = self._entities.with_request_entities([principal_entity(request)])
        principal, action = (
            uid(request.principal_type, request.principal),
            uid("Action", request.action),
        )
        context = dict(request.context)
        requests = [
            {
                "principal": principal,
                "action": action,
                "resource": uid(*resource),
                "context": context,
            }
            for resource in resources
        ]
        return [
            Outcome(o.allowed, o.reasons, o.errored, o.error_messages)
            for o in cedar_slice.authorize_many(requests, entities)
        ]

    def fallback_policies(self) -> frozenset[str]:
        return frozenset()

    def _slice(self, key: SliceKey, removed: frozenset[str]) -> CedarSlice:
        if not removed:
            return self._slices[key]
        cached = self._reduced.get((key, removed))
        if cached is None:
            kept = [t for t in self._templates[key] if t.id not in removed]
            cached = self._reduced.setdefault((key, removed), CedarSlice(kept))
        return cached
