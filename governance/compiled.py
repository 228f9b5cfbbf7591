"""The compiled evaluator: each slice's policies as indexed Python functions (Cedar's semantics).

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
    PolicyIndex,
    Record,
    Request,
    compile_policy,
    evaluate,
)
from governance.compiler.jsonvalues import read_record
from governance.errors import CompileError
from governance.reference import ReferenceEvaluator
from governance.request import AccessRequest
from governance.slices import SliceKey


class CompiledEvaluator:
    def __init__(
        self, slices: Mapping[SliceKey, Sequence[pst.Template]], entities: list[dict[str, Any]]
    ) -> None:
        self._store = EntityStore.from_json(entities)
        compiled, failed = _compile_all(slices)
        self._fallback_ids = frozenset(failed)
        self._indexes: dict[SliceKey, PolicyIndex] = {}
        fallback: dict[SliceKey, Sequence[pst.Template]] = {}
        for key, templates in slices.items():
            if any(t.id in failed for t in templates):
                fallback[key] = templates
            else:
                self._indexes[key] = PolicyIndex([compiled[t.id] for t in templates])
        self._fallback = ReferenceEvaluator(fallback, entities) if fallback else None
        # Groups only need their own ancestors looked up when the catalog nests them.
        self._nested_groups = any(e["uid"]["type"] == "Group" and e.get("parents") for e in entities)

    def fallback_policies(self) -> frozenset[str]:
        return self._fallback_ids

    def bind(self, request: AccessRequest) -> BoundRequest:
        principal = EntityUID(request.principal_type, request.principal)
        groups = [EntityUID("Group", g) for g in request.groups]
        entity = Entity(principal, cedar_record(request.attributes), groups)
        if self._nested_groups:
            entity.ancestors = entity.ancestors.union(*map(self._store.ancestors, groups))
        store = _RequestStore(self._store, entity)
        bound = _BoundCompiled(
            self._indexes,
            store,
            principal,
            EntityUID("Action", request.action),
            cedar_record(request.context),
        )
        if self._fallback is None:
            return bound
        return _WithFallback(bound, self._fallback.bind(request), self._indexes)


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
    __slots__ = ("_action", "_context", "_indexes", "_principal", "_store")

    def __init__(
        self, indexes: Mapping[SliceKey, PolicyIndex], store: _RequestStore, principal: EntityUID,
        action: EntityUID, context: Record,
    ) -> None:  # fmt: skip
        self._indexes, self._store = indexes, store
        self._principal, self._action, self._context = principal, action, context

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
        index, store, principal, action, context = (
            self._indexes[key],
            self._store,
            self._principal,
            self._action,
            self._context,
        )
        return [
            _outcome(evaluate(index, Request(principal, action, resource, context), store), removed)
            for resource in resources
        ]


class _WithFallback:
    """Slices holding a policy the compiler left to cedarpy go to the reference evaluator."""

    __slots__ = ("_compiled", "_indexes", "_reference")

    def __init__(
        self,
        compiled: BoundRequest,
        reference: BoundRequest,
        indexes: Mapping[SliceKey, PolicyIndex],
    ) -> None:
        self._compiled, self._reference, self._indexes = compiled, reference, indexes

    def authorize(
        self, key: SliceKey, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
        chosen = self._compiled if key in self._indexes else self._reference
        return chosen.authorize(key, resources, removed)


def cedar_record(values: Mapping[str, Any]) -> Record:
    """Request values as a Cedar record; strings, longs and booleans pass through untouched."""
    if _PLAIN.issuperset(map(type, values.values())):
        return Record(values)
    return read_record(values)


_PLAIN = frozenset({str, int, bool})


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


def _outcome(buckets: Any, removed: frozenset[str]) -> Outcome:
    forbids, permits, errored = buckets
    if removed:
        forbids = tuple(f for f in forbids if f not in removed)
        errored = tuple(e for e in errored if e not in removed)
    if forbids:
        return Outcome(False, forbids, errored)
    return Outcome(bool(permits), permits, errored)
