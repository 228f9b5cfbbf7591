"""The reference evaluator: every slice is a pre-parsed cedarpy PolicySet (Cedar's own semantics).

Entities are sliced like policies: a domain's handle holds its own Domain, products and columns,
the actions, and any entity its slices' policies name. A request adds its principal to that one
small handle, so the cost does not grow with the size of the whole catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from governance.access.answer import Access, Buckets, OnForbidError, PolicyRef, combine
from governance.access.catalog_entities import principal_entity, uid
from governance.access.evaluator import Resource
from governance.access.request import AccessRequest
from governance.access.slices import SliceKey
from governance.cedar_bridge import CedarEntities, CedarSlice, pst
from governance.errors import RequestError

Json = dict[str, Any]


class ReferenceEvaluator:
    """Evaluates each (action, domain) slice with cedarpy; waivers get their own reduced slice."""

    def __init__(
        self,
        slices: Mapping[SliceKey, Sequence[pst.Template]],
        entities: list[Json],
        refs: Mapping[str, PolicyRef],
        on_forbid_error: OnForbidError = "deny",
    ) -> None:
        self.refs = refs
        self.on_forbid_error: OnForbidError = on_forbid_error
        self._templates = {key: tuple(templates) for key, templates in slices.items()}
        self._slices = {key: CedarSlice(templates) for key, templates in self._templates.items()}
        self._reduced: dict[tuple[SliceKey, frozenset[str]], CedarSlice] = {}
        self._entities = _entities_by_domain(self._templates, entities)

    def bind(self, request: AccessRequest) -> _BoundReference:
        return _BoundReference(self, request)

    def fallback_policies(self) -> frozenset[str]:
        return frozenset()

    def prepare(self, targets: Iterable[tuple[SliceKey, Resource]]) -> None:
        """Nothing to build: every slice is parsed when the evaluator is made."""

    def entities(self, domain: str) -> CedarEntities:
        return self._entities[domain]

    def slice_for(self, key: SliceKey, removed: frozenset[str]) -> CedarSlice:
        if not removed:
            return self._slices[key]
        cached = self._reduced.get((key, removed))
        if cached is None:
            kept = [t for t in self._templates[key] if t.id not in removed]
            cached = self._reduced.setdefault((key, removed), CedarSlice(kept))
        return cached


def _entities_by_domain(
    templates: Mapping[SliceKey, Sequence[pst.Template]], entities: list[Json]
) -> dict[str, CedarEntities]:
    by_uid = {(e["uid"]["type"], e["uid"]["id"]): e for e in entities}
    owned: dict[str, list[Json]] = defaultdict(list)
    shared: list[Json] = []
    for entity in entities:
        kind = entity["uid"]["type"]
        if kind == "Domain":
            owned[entity["uid"]["id"]].append(entity)
        elif kind in ("DataProduct", "Column"):
            owned[entity["attrs"]["domain"]].append(entity)
        elif kind == "Action":
            shared.append(entity)
    named: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for (_, domain), slice_templates in templates.items():
        named[domain] |= {(str(u.type), u.id) for u in pst.entity_uids(tuple(slice_templates))}
    handles = {}
    for domain in {d for _, d in templates}:
        mine = {(e["uid"]["type"], e["uid"]["id"]) for e in owned[domain]}
        extra = [
            by_uid[u] for u in sorted(named[domain] - mine) if u in by_uid and u[0] != "Action"
        ]
        handles[domain] = CedarEntities([*owned[domain], *extra, *shared])
    return handles


class _BoundReference:
    __slots__ = (
        "_action",
        "_context",
        "_entities",
        "_evaluator",
        "_principal",
        "_principal_entity",
    )

    def __init__(self, evaluator: ReferenceEvaluator, request: AccessRequest) -> None:
        self._evaluator = evaluator
        self._principal_entity = principal_entity(request)
        self._entities: tuple[str, Any] | None = None  # (domain, handle with the principal added)
        self._principal = uid(request.principal_type, request.principal)
        self._action = uid("Action", request.action)
        self._context = dict(request.context)

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: Mapping[str, str]
    ) -> list[Access]:
        requests = [
            {
                "principal": self._principal,
                "action": self._action,
                "resource": uid(*r),
                "context": self._context,
            }
            for r in resources
        ]
        evaluator, handle = self._evaluator, self._handle(key[1])
        outcomes = evaluator.slice_for(key, frozenset(removed)).authorize_many(requests, handle)
        # With waivers, the whole slice too: which waived guardrails would have fired.
        whole = (
            evaluator.slice_for(key, frozenset()).authorize_many(requests, handle)
            if removed
            else [None] * len(outcomes)
        )
        for o in outcomes:
            _refuse_unbuilt(o)
        return [
            combine(_buckets(o, w, removed, evaluator.refs), removed, evaluator.on_forbid_error)
            for o, w in zip(outcomes, whole, strict=True)
        ]

    def authorize_one(
        self, key: SliceKey, resource: Resource, removed: Mapping[str, str]
    ) -> Access:
        [access] = self.authorize(key, (resource,), removed)
        return access

    def _handle(self, domain: str) -> Any:
        if self._entities is None or self._entities[0] != domain:
            handle = self._evaluator.entities(domain).with_request_entities(
                [self._principal_entity]
            )
            self._entities = (domain, handle)
        return self._entities[1]


def _buckets(
    outcome: Any, whole: Any, removed: Mapping[str, str], refs: Mapping[str, PolicyRef]
) -> Buckets:
    """Cedar's answer as buckets: `reasons` are the satisfied forbids when denied and the
    satisfied permits when allowed (either way, what decides); `whole`, the answer of the
    slice with its waived guardrails, adds those that were satisfied or errored."""
    satisfied = [refs[r] for r in outcome.reasons if r in refs]
    errored = [
        (refs[p], m) for p, m in zip(outcome.errored, outcome.error_messages, strict=True)
        if p in refs
    ]  # fmt: skip
    if whole is not None:
        satisfied += [refs[r] for r in whole.reasons if r in removed and r in refs]
        errored += [
            (refs[p], m)
            for p, m in zip(whole.errored, whole.error_messages, strict=True)
            if p in removed and p in refs
        ]
    return Buckets(satisfied, errored)


def _refuse_unbuilt(outcome: Any) -> None:
    """cedarpy answers a request it could not build (too deep, malformed) with no decision and
    an error but no errored policy: that is a refusal with cedarpy's reason, never a deny."""
    if outcome.allowed or outcome.reasons or outcome.errored:
        return
    for message in outcome.error_messages:
        if message.startswith("failed to"):
            raise RequestError(f"cedarpy could not build this request: {message}")
