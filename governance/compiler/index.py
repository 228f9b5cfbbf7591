"""Candidate selection: which compiled policies can apply to a request, by their scope.

:class:`PolicyIndex` files every policy under one key taken from its most selective scope
constraint: the resource entity of ``resource ==``/``in``, else the principal entity, else
the action entities, else the resource or principal type of ``is``, else "any". A request
probes the keys it can match (its resource and the resource's ancestors, and so on), so the
cost tracks the number of plausible policies, not the size of the policy set. Candidates are
a superset of the applicable policies: each compiled function still checks its full scope.

:class:`AllPolicies` is the unindexed twin with the same interface; tests compare the two to
show the index never changes an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cedarpy import pst

from governance.compiler.compile import CompiledPolicy, entity_uid, type_name
from governance.compiler.entities import NO_ANCESTORS, Store
from governance.compiler.values import EntityUID


class PolicySource(Protocol):
    """Gives the policies to evaluate for a request."""

    def candidates(
        self, principal: EntityUID, action: EntityUID, resource: EntityUID, store: Store
    ) -> Sequence[CompiledPolicy]: ...


class AllPolicies:
    """Every policy, every time: the reference the index is tested against."""

    __slots__ = ("policies",)

    def __init__(self, policies: Sequence[CompiledPolicy]) -> None:
        self.policies = tuple(policies)

    def candidates(
        self, principal: EntityUID, action: EntityUID, resource: EntityUID, store: Store
    ) -> Sequence[CompiledPolicy]:
        return self.policies


_Table = dict[EntityUID, list[CompiledPolicy]]


def _scope_entities(constraint: object) -> tuple[EntityUID, ...]:
    match constraint:
        case (
            pst.ScopeEq(entity=pst.EntityUid() as uid) | pst.ScopeIn(entity=pst.EntityUid() as uid)
        ):
            return (entity_uid(uid),)
        case pst.ScopeIsIn(entity=pst.EntityUid() as uid) | pst.ActionEq(entity=uid):
            return (entity_uid(uid),)
        case pst.ActionIn(entities):
            return tuple(entity_uid(uid) for uid in entities)
    return ()


def _scope_type(constraint: object) -> str | None:
    if isinstance(constraint, pst.ScopeIs):
        return type_name(constraint.entity_type)
    return None


class PolicyIndex:
    """Policies filed by scope, for constant-cost candidate lookup."""

    __slots__ = (
        "_any",
        "_by_action",
        "_by_principal",
        "_by_principal_type",
        "_by_resource",
        "_by_resource_type",
        "_dedupe",
        "policies",
    )

    def __init__(self, policies: Sequence[CompiledPolicy]) -> None:
        self.policies = tuple(policies)
        self._by_resource: _Table = {}
        self._by_principal: _Table = {}
        self._by_action: _Table = {}
        self._by_resource_type: dict[str, list[CompiledPolicy]] = {}
        self._by_principal_type: dict[str, list[CompiledPolicy]] = {}
        self._any: list[CompiledPolicy] = []
        self._dedupe = False
        for policy in self.policies:
            self._file(policy)

    def _file(self, policy: CompiledPolicy) -> None:
        template = policy.template
        for table, constraint in (
            (self._by_resource, template.resource),
            (self._by_principal, template.principal),
            (self._by_action, template.action),
        ):
            keys = _scope_entities(constraint)
            if keys:
                for key in keys:
                    table.setdefault(key, []).append(policy)
                self._dedupe |= len(keys) > 1
                return
        for types, constraint in (
            (self._by_resource_type, template.resource),
            (self._by_principal_type, template.principal),
        ):
            name = _scope_type(constraint)
            if name is not None:
                types.setdefault(name, []).append(policy)
                return
        self._any.append(policy)

    def candidates(
        self, principal: EntityUID, action: EntityUID, resource: EntityUID, store: Store
    ) -> Sequence[CompiledPolicy]:
        found = list(self._any)
        for table, uid in (
            (self._by_resource, resource),
            (self._by_principal, principal),
            (self._by_action, action),
        ):
            if table:
                _probe(table, uid, store, found)
        if self._by_resource_type:
            found += self._by_resource_type.get(resource.type, ())
        if self._by_principal_type:
            found += self._by_principal_type.get(principal.type, ())
        if self._dedupe:
            return list(dict.fromkeys(found))
        return found


def _probe(table: _Table, uid: EntityUID, store: Store, found: list[CompiledPolicy]) -> None:
    bucket = table.get(uid)
    if bucket:
        found += bucket
    entity = store.get(uid)
    for ancestor in entity.ancestors if entity is not None else NO_ANCESTORS:
        bucket = table.get(ancestor)
        if bucket:
            found += bucket
