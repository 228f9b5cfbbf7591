"""The compiled evaluator: each slice's policies as indexed Python functions (Cedar's semantics).

A slice holding any policy the compiler cannot handle is evaluated by cedarpy instead, whole and
transparently, so correctness never depends on the compiler's coverage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governance.access import Outcome, Resource
from governance.cedar_bridge import pst
from governance.compiler import (
    CompiledPolicy,
    Entity,
    EntityStore,
    EntityUID,
    PolicyIndex,
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
    def __init__(self, slices: Mapping[SliceKey, Sequence[pst.Template]], entities: list[dict[str, Any]]) -> None:
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

    def fallback_policies(self) -> frozenset[str]:
        return self._fallback_ids

    def authorize(
        self, key: SliceKey, request: AccessRequest, resources: Sequence[Resource], removed: frozenset[str]
    ) -> list[Outcome]:
        index = self._indexes.get(key)
        if index is None:
            assert self._fallback is not None, f"no slice {key}"
            return self._fallback.authorize(key, request, resources, removed)
        principal = EntityUID(request.principal_type, request.principal)
        parents = [EntityUID("Group", g) for g in request.groups]
        store = self._store.overlay([Entity(principal, read_record(request.attributes), parents)])
        action, context = EntityUID("Action", request.action), read_record(request.context)
        return [
            _outcome(evaluate(index, Request(principal, action, EntityUID(*resource), context), store), removed)
            for resource in resources
        ]


def _compile_all(slices: Mapping[SliceKey, Sequence[pst.Template]]) -> tuple[dict[str, CompiledPolicy], dict[str, str]]:
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
