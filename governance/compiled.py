"""The compiled evaluator: each slice's policies as Python functions (Cedar's semantics), with a
candidate list per catalog resource.

A slice holding any policy the compiler cannot handle is evaluated by cedarpy instead, whole and
transparently, so correctness never depends on the compiler's coverage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governance.access import BoundRequest, Outcome, Resource
from governance.cedar_bridge import pst
from governance.compiler import (
    CompiledPolicy,
    Entity,
    EntityStore,
    EntityUID,
    Record,
    compile_policy,
)
from governance.compiler.authorize import bucket
from governance.compiler.jsonvalues import read_record
from governance.errors import CompileError
from governance.prefilter import ResourceFilter, candidates_for
from governance.reference import ReferenceEvaluator
from governance.request import AccessRequest
from governance.slices import SliceKey

Candidates = tuple[CompiledPolicy, ...]


class CompiledEvaluator:
    def __init__(
        self, slices: Mapping[SliceKey, Sequence[pst.Template]], entities: list[dict[str, Any]]
    ) -> None:
        self._store = EntityStore.from_json(entities)
        compiled, failed = _compile_all(slices)
        self._fallback_ids = frozenset(failed)
        self._slices: dict[SliceKey, Candidates] = {}
        fallback: dict[SliceKey, Sequence[pst.Template]] = {}
        for key, templates in slices.items():
            if any(t.id in failed for t in templates):
                fallback[key] = templates
            else:
                self._slices[key] = tuple(compiled[t.id] for t in templates)
        self._fallback = ReferenceEvaluator(fallback, entities) if fallback else None
        self._filters = {
            policy_id: ResourceFilter(policy) for policy_id, policy in compiled.items()
        }
        # (slice, resource) -> the policies that can apply there. Filled on first use, always with
        # the same value, so concurrent readers need no lock.
        self._candidates: dict[tuple[SliceKey, EntityUID], Candidates] = {}
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
        action = EntityUID("Action", request.action)
        bound = _BoundCompiled(self, store, principal, action, cedar_record(request.context))
        if self._fallback is None:
            return bound
        return _WithFallback(bound, self._fallback.bind(request), self._slices)

    def candidates(self, key: SliceKey, resource: EntityUID) -> Candidates:
        found = self._candidates.get((key, resource))
        if found is None:
            found = candidates_for(self._slices[key], self._filters, resource, self._store)
            self._candidates[(key, resource)] = found
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
    __slots__ = ("_action", "_context", "_evaluator", "_principal", "_store")

    def __init__(
        self, evaluator: CompiledEvaluator, store: _RequestStore, principal: EntityUID,
        action: EntityUID, context: Record,
    ) -> None:  # fmt: skip
        self._evaluator, self._store = evaluator, store
        self._principal, self._action, self._context = principal, action, context

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
        candidates = self._evaluator.candidates
        return [
            self._evaluate(candidates(key, resource), resource, removed) for resource in resources
        ]

    def _evaluate(
        self, policies: Candidates, resource: EntityUID, removed: frozenset[str]
    ) -> Outcome:
        if removed:
            policies = tuple(p for p in policies if p.id not in removed)
        forbids, permits, errored = bucket(
            policies, self._principal, self._action, resource, self._context, self._store
        )
        if forbids:
            return Outcome(False, forbids, errored)
        return Outcome(bool(permits), permits, errored)


class _WithFallback:
    """Slices holding a policy the compiler left to cedarpy go to the reference evaluator."""

    __slots__ = ("_compiled", "_reference", "_slices")

    def __init__(
        self, compiled: BoundRequest, reference: BoundRequest, slices: Mapping[SliceKey, object]
    ) -> None:
        self._compiled, self._reference, self._slices = compiled, reference, slices

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
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
