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

    The resource and action levels depend only on the request's resource and action (and
    their ancestors), which a catalog repeats: their walk is remembered per target as one
    table from principal key to candidates (bounded; keyed by the ancestor sets themselves,
    so any store gives the same answer), and a request then probes that table alone.
    """

    __slots__ = ("_position", "_root", "_targets", "policies")

    def __init__(self, policies: Sequence[CompiledPolicy]) -> None:
        self.policies = tuple(policies)
        self._root: dict[_Key, dict[_Key, dict[_Key, list[CompiledPolicy]]]] = {}
        self._position = {id(policy): n for n, policy in enumerate(self.policies)}
        self._targets: dict[_Target, dict[_Key, tuple[CompiledPolicy, ...]]] = {}
        for policy in self.policies:
            template = policy.template
            actions = _scope_keys(template.action)
            for resource in _scope_keys(template.resource):
                by_principal = self._root.setdefault(resource, {})
                for principal in _scope_keys(template.principal):
                    by_action = by_principal.setdefault(principal, {})
                    for action in actions:
                        by_action.setdefault(action, []).append(policy)

    def candidates(
        self, principal: EntityUID, action: EntityUID, resource: EntityUID, store: Store
    ) -> Sequence[CompiledPolicy]:
        get = store.get
        found_resource, found_action = get(resource), get(action)
        target = (
            resource,
            NO_ANCESTORS if found_resource is None else found_resource.ancestors,
            action,
            NO_ANCESTORS if found_action is None else found_action.ancestors,
        )
        table = self._targets.get(target)
        if table is None:
            table = self._target_table(target)
        if not table:
            return ()
        entity = get(principal)
        ancestors = NO_ANCESTORS if entity is None else entity.ancestors
        if len(table) <= len(ancestors):  # a principal in many groups: walk the table instead
            kind = principal.type
            walked: list[CompiledPolicy] = []
            for key, policies in table.items():
                if key is None or key in (principal, kind) or key in ancestors:
                    walked += policies
            return walked
        probe = table.get
        found = [*probe(principal, ()), *probe(principal.type, ()), *probe(None, ())]
        for key in ancestors:
            bucket = probe(key)
            if bucket is not None:
                found += bucket
        return found

    def _target_table(self, target: _Target) -> dict[_Key, tuple[CompiledPolicy, ...]]:
        """The candidates of a resource and action, by principal key, in policy order."""
        resource, resource_ancestors, action, action_ancestors = target
        merged: dict[_Key, dict[int, CompiledPolicy]] = {}
        action_keys = _target_keys(action, action_ancestors)
        position = self._position
        for key in _target_keys(resource, resource_ancestors):
            by_principal = self._root.get(key)
            if by_principal is None:
                continue
            for principal_key, by_action in by_principal.items():
                for action_key in action_keys:
                    for policy in by_action.get(action_key, ()):
                        merged.setdefault(principal_key, {})[position[id(policy)]] = policy
        table = {
            key: tuple(policies[n] for n in sorted(policies)) for key, policies in merged.items()
        }
        if len(self._targets) >= _MAX_TARGETS:
            self._targets.clear()  # bounded: a store of unusually many targets re-walks the tree
        self._targets[target] = table
        return table


_Target = tuple[EntityUID, frozenset[EntityUID], EntityUID, frozenset[EntityUID]]
_MAX_TARGETS = 1 << 14


def _target_keys(uid: EntityUID, ancestors: frozenset[EntityUID]) -> tuple[_Key, ...]:
    return (uid, *ancestors, uid.type, None)
