"""The compiled evaluator: each slice's policies compiled to Python (Cedar's semantics) and
specialised, per catalog resource, into a plan (see `governance.access.plans`).

A request is bound once: one object serves as the principal's entity and as the store the
policies read (the catalog plus that principal), and each distinct plan is evaluated once.

A slice holding any policy the compiler cannot handle is evaluated by cedarpy instead, whole and
transparently, so correctness never depends on the compiler's coverage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any, cast

from governance.access.answer import Access, OnForbidError, PolicyRef
from governance.access.catalog_entities import CATALOG_TYPES
from governance.access.cedar_evaluator import ReferenceEvaluator
from governance.access.evaluator import BoundRequest, Resource
from governance.access.plans import Plan, Planner
from governance.access.request import AccessRequest, PlainValues
from governance.access.slices import SliceKey
from governance.cedar_bridge import pst
from governance.compiler import (
    CompiledPolicy,
    Entity,
    EntityStore,
    EntityUID,
    Record,
    compile_policy,
)
from governance.compiler.entities import NO_TAGS
from governance.compiler.jsonvalues import read_record
from governance.compiler.partial import KnownStore
from governance.errors import CompileError


class CompiledEvaluator:
    def __init__(
        self,
        slices: Mapping[SliceKey, Sequence[pst.Template]],
        entities: list[dict[str, Any]],
        refs: Mapping[str, PolicyRef],
        on_forbid_error: OnForbidError = "deny",
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
        self._fallback = (
            ReferenceEvaluator(fallback, entities, refs, on_forbid_error) if fallback else None
        )
        # Catalog entities never change between requests; a principal never has their types.
        self._planner = Planner(KnownStore(self._store, CATALOG_TYPES), refs, on_forbid_error)
        # (slice, resource) -> its plan: filled by `prepare` when the snapshot is built, and on
        # first use for anything else, always with an equivalent plan, so readers need no lock.
        self._plans: dict[tuple[SliceKey, EntityUID], Plan] = {}
        # Groups only need their own ancestors looked up when the catalog nests them.
        self._nested_groups = any(
            e["uid"]["type"] == "Group" and e.get("parents") for e in entities
        )

    def fallback_policies(self) -> frozenset[str]:
        return self._fallback_ids

    def bind(self, request: AccessRequest) -> BoundRequest:
        principal: EntityUID = _new_uid(EntityUID, (request.principal_type, request.principal))
        # Group uids are only ever tested for membership, so plain (type, id) tuples serve:
        # they hash and compare exactly as EntityUIDs do, and cost no constructor call.
        groups = cast(frozenset[EntityUID], frozenset(zip(repeat("Group"), request.groups)))
        if self._nested_groups:
            groups = groups.union(*map(self._store.ancestors, groups))
        attributes, context = request.attributes, request.context
        if type(attributes) is not PlainValues:
            attributes = _attributes(attributes)
        bound = _BoundCompiled(
            self._plans, self.plan, self._store.get, principal, attributes, groups,
            Record(context) if type(context) is PlainValues else cedar_record(context),
        )  # fmt: skip
        if self._fallback is None:
            return bound
        return _WithFallback(bound, self._fallback.bind(request), self._slices)

    def prepare(self, targets: Iterable[tuple[SliceKey, Resource]]) -> None:
        for key, resource in targets:
            if key in self._slices:
                self.plan(key, resource)

    def plan(self, key: SliceKey, resource: EntityUID) -> Plan:
        found = self._plans.get((key, resource))
        if found is None:
            action = EntityUID("Action", key[0])
            found = self._planner.plan(self._slices[key], action, resource)
            self._plans[(key, resource)] = found
        return found


class _BoundCompiled(Entity):
    """One request as its policies see it: the principal's entity (this object itself) and
    the store they read (the catalog plus this principal). One object instead of two, built
    on every request. Each distinct plan is evaluated once per request."""

    __slots__ = ("_base_get", "_context", "_evaluated", "_plan", "_plans")

    def __init__(
        self,
        plans: Mapping[tuple[SliceKey, EntityUID], Plan],
        plan: Callable[[SliceKey, EntityUID], Plan],
        base_get: Callable[[EntityUID], Entity | None],
        uid: EntityUID,
        attrs: Mapping[str, object],
        ancestors: frozenset[EntityUID],
        context: Record,
    ) -> None:
        # `ancestors` come closed (the groups), so no `parents` are kept to close them from.
        self.uid, self.attrs, self.ancestors, self.parents = uid, attrs, ancestors, ()
        self.tags = NO_TAGS
        # The prepared plans, read directly; `plan` builds one for anything else.
        self._plans, self._plan, self._base_get, self._context = plans, plan, base_get, context
        self._evaluated: dict[Plan, Access] | None = None  # built once a second plan runs

    def get(self, uid: EntityUID) -> Entity | None:
        return self if uid == self.uid else self._base_get(uid)

    def authorize_one(
        self, key: SliceKey, resource: Resource, removed: Mapping[str, str]
    ) -> Access:
        plan = self._plans.get((key, resource)) or self._plan(key, resource)
        access = plan.evaluate(self.uid, self._context, self, removed)
        self._evaluated = {plan: access}
        return access

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: Mapping[str, str]
    ) -> list[Access]:
        plans, plan_for = self._plans, self._plan
        evaluated = self._evaluated if self._evaluated is not None else {}
        accesses = []
        for resource in resources:
            plan = plans.get((key, resource)) or plan_for(key, resource)
            access = evaluated.get(plan)
            if access is None:
                access = plan.evaluate(self.uid, self._context, self, removed)
                evaluated[plan] = access
            accesses.append(access)
        self._evaluated = evaluated
        return accesses


class _WithFallback:
    """Slices holding a policy the compiler left to cedarpy go to the reference evaluator."""

    __slots__ = ("_compiled", "_reference", "_slices")

    def __init__(
        self, compiled: BoundRequest, reference: BoundRequest, slices: Mapping[SliceKey, object]
    ) -> None:
        self._compiled, self._reference, self._slices = compiled, reference, slices

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: Mapping[str, str]
    ) -> list[Access]:
        chosen = self._compiled if key in self._slices else self._reference
        return chosen.authorize(key, resources, removed)

    def authorize_one(
        self, key: SliceKey, resource: Resource, removed: Mapping[str, str]
    ) -> Access:
        chosen = self._compiled if key in self._slices else self._reference
        return chosen.authorize_one(key, resource, removed)


_PLAIN = frozenset({str, int, bool})
_new_uid = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


def cedar_record(values: Mapping[str, Any]) -> Record:
    """Request values as a Cedar record; strings, longs and booleans pass through untouched."""
    if _PLAIN.issuperset(map(type, values.values())):
        return Record(values)
    return read_record(values)


def _attributes(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """The principal's attributes: policies only look them up by name, so plain values need
    no copy into a Record (sets and records among them are read as Cedar values)."""
    if _PLAIN.issuperset(map(type, values.values())):
        return values
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
