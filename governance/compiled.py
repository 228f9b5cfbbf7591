"""The compiled evaluator: each slice's policies as Python functions (Cedar's semantics), with a
candidate list per catalog resource.

A slice holding any policy the compiler cannot handle is evaluated by cedarpy instead, whole and
transparently, so correctness never depends on the compiler's coverage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governance.access import BoundRequest, Resource
from governance.cedar_bridge import pst
from governance.compiler import (
    CompiledPolicy,
    Entity,
    EntityStore,
    EntityUID,
    Record,
    compile_policy,
)
from governance.compiler.jsonvalues import read_record
from governance.compiler.partial import KnownStore
from governance.decision import Access, PolicyRef
from governance.entities import CATALOG_TYPES
from governance.errors import CompileError
from governance.plans import Plan, Planner
from governance.reference import ReferenceEvaluator
from governance.request import AccessRequest
from governance.slices import SliceKey


class CompiledEvaluator:
    def __init__(
        self,
        slices: Mapping[SliceKey, Sequence[pst.Template]],
        entities: list[dict[str, Any]],
        refs: Mapping[str, PolicyRef],
    ) -> None:
        self._store = EntityStore.from_json(entities)
        compiled, failed = _compile_all(slices)
        self._fallback_ids = frozenset(failed)
        self._slices: dict[SliceKey, tuple[CompiledPolicy, ...]] = {}
        fallback: dict[SliceKey, Sequence[pst.Template]] = {}
        for key, templates in slices.items():
            if any(t.id in failed for t in templates):
                fallback[key] = templates
            else:
                self._slices[key] = tuple(compiled[t.id] for t in templates)
        self._fallback = ReferenceEvaluator(fallback, entities, refs) if fallback else None
        # Catalog entities never change between requests; a principal never has their types.
        self._planner = Planner(KnownStore(self._store, CATALOG_TYPES), refs)
        # (slice, resource) -> its plan. Filled on first use, always with an equivalent plan,
        # so concurrent readers need no lock.
        self._plans: dict[tuple[SliceKey, EntityUID], Plan] = {}
        # Groups only need their own ancestors looked up when the catalog nests them.
        self._nested_groups = any(
            e["uid"]["type"] == "Group" and e.get("parents") for e in entities
        )

    def fallback_policies(self) -> frozenset[str]:
        return self._fallback_ids

    def bind(self, request: AccessRequest) -> BoundRequest:
        principal = EntityUID(request.principal_type, request.principal)
        groups = [EntityUID("Group", g) for g in request.groups]
        entity = Entity(principal, cedar_record(request.attributes), groups)
        if self._nested_groups:
            entity.ancestors = entity.ancestors.union(*map(self._store.ancestors, groups))
        store = _RequestStore(self._store, entity)
        bound = _BoundCompiled(self, store, principal, cedar_record(request.context))
        if self._fallback is None:
            return bound
        return _WithFallback(bound, self._fallback.bind(request), self._slices)

    def plan(self, key: SliceKey, resource: EntityUID) -> Plan:
        found = self._plans.get((key, resource))
        if found is None:
            action = EntityUID("Action", key[0])
            found = self._planner.plan(self._slices[key], action, resource)
            self._plans[(key, resource)] = found
        return found


class _RequestStore:
    """The catalog store plus the request's principal: one comparison instead of a dict layer."""

    __slots__ = ("_base_get", "_entity", "_uid")

    def __init__(self, base: EntityStore, principal: Entity) -> None:
        self._base_get, self._entity, self._uid = base.get, principal, principal.uid

    def get(self, uid: EntityUID) -> Entity | None:
        return self._entity if uid == self._uid else self._base_get(uid)

    def ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        entity = self._entity if uid == self._uid else self._base_get(uid)
        return entity.ancestors if entity is not None else frozenset()


class _BoundCompiled:
    """One request's principal and context; each distinct plan is evaluated once per request."""

    __slots__ = ("_context", "_evaluated", "_evaluator", "_principal", "_store")

    def __init__(
        self, evaluator: CompiledEvaluator, store: _RequestStore, principal: EntityUID,
        context: Record,
    ) -> None:  # fmt: skip
        self._evaluator, self._store = evaluator, store
        self._principal, self._context = principal, context
        self._evaluated: dict[Plan, Access] = {}

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Access]:
        plan_for, evaluated = self._evaluator.plan, self._evaluated
        accesses = []
        for resource in resources:
            plan = plan_for(key, resource)
            access = evaluated.get(plan)
            if access is None:
                access = plan.evaluate(self._principal, self._context, self._store, removed)
                evaluated[plan] = access
            accesses.append(access)
        return accesses


class _WithFallback:
    """Slices holding a policy the compiler left to cedarpy go to the reference evaluator."""

    __slots__ = ("_compiled", "_reference", "_slices")

    def __init__(
        self, compiled: BoundRequest, reference: BoundRequest, slices: Mapping[SliceKey, object]
    ) -> None:
        self._compiled, self._reference, self._slices = compiled, reference, slices

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Access]:
        chosen = self._compiled if key in self._slices else self._reference
        return chosen.authorize(key, resources, removed)


_PLAIN = frozenset({str, int, bool})


def cedar_record(values: Mapping[str, Any]) -> Record:
    """Request values as a Cedar record; strings, longs and booleans pass through untouched."""
    if _PLAIN.issuperset(map(type, values.values())):
        return Record(values)
    return read_record(values)


def _compile_all(
    slices: Mapping[SliceKey, Sequence[pst.Template]],
) -> tuple[dict[str, CompiledPolicy], dict[str, str]]:
    """Compile each distinct policy once (slices share the global layer's)."""
    compiled: dict[str, CompiledPolicy] = {}
    failed: dict[str, str] = {}
    for templates in slices.values():
        for template in templates:
            if template.id in compiled or template.id in failed:
                continue
            try:
                compiled[template.id] = compile_policy(template, template.id)
            except CompileError as exc:
                failed[template.id] = str(exc)
    return compiled, failed
