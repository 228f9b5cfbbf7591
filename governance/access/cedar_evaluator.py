"""The reference evaluator: every slice is a pre-parsed cedarpy PolicySet (Cedar's own semantics).

Entities are sliced like policies: a domain's handle holds its own Domain, products and columns,
the actions, and any entity its slices' policies name. A request adds its principal to that one
small handle, so the cost does not grow with the size of the whole catalog. Each target's plan
is a `CedarPlan`: the slice, evaluated by cedarpy on that resource.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from governance.access.answer import Access, Buckets, OnForbidError, PolicyRef, combine
from governance.access.catalog_entities import Catalog, principal_entity, uid
from governance.access.evaluator import (
    BoundRequest,
    CedarRequest,
    Plan,
    PlanKey,
    Resource,
    Reuse,
)
from governance.access.request import AccessRequest
from governance.access.slices import SliceKey
from governance.cedar_bridge import CedarEntities, CedarSlice, pst
from governance.compiler.values import EntityUID
from governance.errors import RequestError

Json = dict[str, Any]


class CedarSlices:
    """Each (action, domain) slice as a pre-parsed cedarpy PolicySet, and each domain's
    entities; waivers get their own reduced slice, parsed on first use. On reload, the
    slices and entities of the `keep` domains are taken from `previous` as they are."""

    def __init__(
        self,
        slices: Mapping[SliceKey, Sequence[pst.Template]],
        entities: list[Json],
        refs: Mapping[str, PolicyRef],
        on_forbid_error: OnForbidError = "deny",
        previous: CedarSlices | None = None,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        self.refs = refs
        self.on_forbid_error: OnForbidError = on_forbid_error
        self._templates = {key: tuple(templates) for key, templates in slices.items()}
        if previous is None:
            keep = frozenset()
        self._slices: dict[SliceKey, CedarSlice] = {
            key: previous._slices[key] if previous and key[1] in keep else CedarSlice(templates)
            for key, templates in self._templates.items()
        }
        self._reduced: dict[tuple[SliceKey, frozenset[str]], CedarSlice] = {}
        fresh = {key: t for key, t in self._templates.items() if key[1] not in keep}
        self._entities = _entities_by_domain(fresh, entities)
        if previous is not None:
            self._entities.update((d, previous._entities[d]) for d in keep)
        self.domains = frozenset(domain for _, domain in self._templates)

    def __contains__(self, key: object) -> bool:
        return key in self._slices

    def plan(self, key: SliceKey, resource: Resource) -> CedarPlan:
        return CedarPlan(self, key, resource)

    def policy_ids(self, key: SliceKey) -> tuple[str, ...]:
        return tuple(t.id for t in self._templates[key])

    def bind(self, request: AccessRequest, domain: str) -> CedarRequest:
        """The request for cedarpy, its principal added to the domain's entities (once per
        request: adding costs tens of microseconds)."""
        entities = self._entities[domain].with_request_entities([principal_entity(request)])
        principal = uid(request.principal_type, request.principal)
        return CedarRequest(
            principal, uid("Action", request.action), dict(request.context), entities
        )

    def slice_for(self, key: SliceKey, removed: frozenset[str]) -> CedarSlice:
        if not removed:
            return self._slices[key]
        cached = self._reduced.get((key, removed))
        if cached is None:
            kept = [t for t in self._templates[key] if t.id not in removed]
            cached = self._reduced.setdefault((key, removed), CedarSlice(kept))
        return cached


class CedarPlan:
    """One slice on one resource, evaluated by cedarpy (Cedar's own semantics): the plan of
    every target of the reference evaluator, and of the compiled evaluator's fallback slices."""

    __slots__ = ("_key", "_resource", "_slices")

    def __init__(self, slices: CedarSlices, key: SliceKey, resource: Resource) -> None:
        self._slices, self._key, self._resource = slices, key, uid(*resource)

    @property
    def policy_ids(self) -> tuple[str, ...]:
        return self._slices.policy_ids(self._key)

    def evaluate(self, request: BoundRequest, removed: Mapping[str, str]) -> Access:
        cedar = request.cedar
        if cedar is None:  # a binding bug, never a silent deny
            raise RuntimeError(f"request bound without cedarpy entities for {self._key}")
        query = [{
            "principal": cedar.principal, "action": cedar.action, "resource": self._resource,
            "context": cedar.context,
        }]  # fmt: skip
        slices, key = self._slices, self._key
        [outcome] = slices.slice_for(key, frozenset(removed)).authorize_many(query, cedar.entities)
        _refuse_unbuilt(outcome)
        # With waivers, the whole slice too: which waived guardrails would have fired.
        whole = None
        if removed:
            [whole] = slices.slice_for(key, frozenset()).authorize_many(query, cedar.entities)
        buckets = _buckets(outcome, whole, removed, slices.refs)
        return combine(buckets, removed, slices.on_forbid_error)


class ReferenceEvaluator:
    """Every target's plan is a cedarpy slice (`CedarPlan`)."""

    def __init__(
        self,
        slices: Mapping[SliceKey, Sequence[pst.Template]],
        catalog: Catalog,
        refs: Mapping[str, PolicyRef],
        on_forbid_error: OnForbidError = "deny",
        reuse: Reuse | None = None,
    ) -> None:
        previous = reuse.previous if reuse and type(reuse.previous) is ReferenceEvaluator else None
        self._slices: CedarSlices = CedarSlices(
            slices, catalog.entities(), refs, on_forbid_error,
            previous._slices if previous else None, reuse.slices if reuse else frozenset(),
        )  # fmt: skip

    def plans(self, targets: Iterable[PlanKey]) -> dict[PlanKey, Plan]:
        return {(key, resource): self._slices.plan(key, resource) for key, resource in targets}

    def bind(self, request: AccessRequest, domain: str, plain: bool = False) -> BoundRequest:
        # No compiled plan reads this request: only its cedarpy form is filled in.
        principal = EntityUID(request.principal_type, request.principal)
        return BoundRequest(principal, cedar=self._slices.bind(request, domain))

    def fallback_policies(self) -> frozenset[str]:
        return frozenset()

    def fallback_reasons(self) -> Mapping[str, str]:
        return {}


def _entities_by_domain(
    templates: Mapping[SliceKey, Sequence[pst.Template]], entities: list[Json]
) -> dict[str, CedarEntities]:
    if not templates:  # a compiled evaluator with nothing left to cedarpy
        return {}
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
