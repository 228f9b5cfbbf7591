"""Candidate selection: which compiled policies can apply to a request, by their scope.

:class:`PolicyIndex` files every policy by all three scope constraints (resource, then
principal, then action): the entity a constraint names with ``==``/``in``, the type it names
with ``is``, or "any". A request probes only the keys it can match (each uid, its ancestors
and its type), so the cost tracks the number of plausible policies, not the size of the
policy set. Candidates are a superset of the applicable policies: each compiled function
still checks its full scope.

:class:`AllPolicies` is the unindexed twin with the same interface; tests compare the two to
show the index never changes an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from cedarpy import pst

from governance.compiler.compile import CompiledPolicy, entity_uid, type_name
from governance.compiler.entities import Store
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


_V = TypeVar("_V")
_Key = EntityUID | str | None  # an entity, an entity type (from `is`), or None for "any"
_ANY: tuple[_Key, ...] = (None,)


def _scope_keys(constraint: object) -> tuple[_Key, ...]:
    match constraint:
        case (
            pst.ScopeEq(entity=pst.EntityUid() as uid) | pst.ScopeIn(entity=pst.EntityUid() as uid)
        ):
            return (entity_uid(uid),)
        case pst.ScopeIsIn(entity=pst.EntityUid() as uid) | pst.ActionEq(entity=uid):
            return (entity_uid(uid),)
        case pst.ActionIn(entities):
            return tuple(dict.fromkeys(entity_uid(uid) for uid in entities))
        case pst.ScopeIs(entity_type):
            return (type_name(entity_type),)
    return _ANY


class PolicyIndex:
    """Policies in a three-level tree keyed by resource, then principal, then action scope.

    Each level maps a key (an entity a scope names with ``==``/``in``, an entity type named
    with ``is``, or None for an unconstrained scope) to the next level. A request walks only
    the keys it can match: the uid itself, its ancestors, its type, and None.
    """

    __slots__ = ("_dedupe", "_root", "policies")

    def __init__(self, policies: Sequence[CompiledPolicy]) -> None:
        self.policies = tuple(policies)
        self._root: dict[_Key, dict[_Key, dict[_Key, list[CompiledPolicy]]]] = {}
        self._dedupe = False
        for policy in self.policies:
            template = policy.template
            actions = _scope_keys(template.action)
            self._dedupe |= len(actions) > 1
            for resource in _scope_keys(template.resource):
                by_principal = self._root.setdefault(resource, {})
                for principal in _scope_keys(template.principal):
                    by_action = by_principal.setdefault(principal, {})
                    for action in actions:
                        by_action.setdefault(action, []).append(policy)

    def candidates(
        self, principal: EntityUID, action: EntityUID, resource: EntityUID, store: Store
    ) -> Sequence[CompiledPolicy]:
        found: list[CompiledPolicy] = []
        principal_keys: tuple[_Key, ...] | None = None
        action_keys: tuple[_Key, ...] | None = None
        for by_principal in _matches(self._root, resource, store):
            if principal_keys is None:
                principal_keys = _keys(principal, store)
            for key in principal_keys:
                by_action = by_principal.get(key)
                if by_action is None:
                    continue
                if action_keys is None:
                    action_keys = _keys(action, store)
                for action_key in action_keys:
                    bucket = by_action.get(action_key)
                    if bucket:
                        found += bucket
        if self._dedupe:
            return list(dict.fromkeys(found))
        return found


def _keys(uid: EntityUID, store: Store) -> tuple[_Key, ...]:
    """Every index key a request uid can match."""
    entity = store.get(uid)
    if entity is None or not entity.ancestors:
        return (uid, uid.type, None)
    return (uid, *entity.ancestors, uid.type, None)


def _matches(table: dict[_Key, _V], uid: EntityUID, store: Store) -> list[_V]:
    if len(table) == 1 and None in table:
        return [table[None]]
    return [table[key] for key in _keys(uid, store) if key in table]
