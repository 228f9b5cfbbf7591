"""Plans with many policies, indexed by the principal entity their scope names.

A domain with one grant per group has a plan of a thousand `permit (principal in Group::"g", ...)`
policies, and a request is in two or three of those groups. Evaluating all of them makes a
decision linear in the domain's policies; the index evaluates only the policies whose principal
scope names the principal itself or one of its ancestors, plus those that name none.

Skipping the others is exact: Cedar tests a policy's scope before its conditions, and a scope
that does not hold leaves the policy unsatisfied without an error. The candidates still run
their own scope test, so the index only ever removes policies that could not apply.
`tests/test_principal_index.py` checks that it never changes an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from governance.cedar_bridge import pst
from governance.compiler import EntityUID, EvaluationError, Record
from governance.compiler.fused import Errors, FusedFunction

T = TypeVar("T")
INDEX_FROM = 16  # below this many indexable policies, one fused function is faster


def principal_key(scope: object) -> EntityUID | None:
    """The entity a principal scope names (`== E`, `in E`, `is T in E`), or None."""
    if isinstance(scope, pst.ScopeEq | pst.ScopeIn | pst.ScopeIsIn) and isinstance(
        scope.entity, pst.EntityUid
    ):
        return EntityUID(str(scope.entity.type), scope.entity.id)
    return None


def index_by_principal(
    entries: Sequence[T],
    scope_of: Callable[[T], object],
    fuse: Callable[[Sequence[T]], FusedFunction],
    index_from: int = INDEX_FROM,
) -> FusedFunction | None:
    """A function answering as `fuse(entries)` does, positions included, that evaluates only
    the candidates of each request; None when too few entries name a principal to pay off."""
    named: dict[EntityUID, list[int]] = {}
    rest: list[int] = []
    for position, entry in enumerate(entries):
        key = principal_key(scope_of(entry))
        if key is None:
            rest.append(position)
        else:
            named.setdefault(key, []).append(position)
    if len(entries) - len(rest) < index_from:
        return None
    table = {
        key: (fuse([entries[i] for i in positions]), tuple(positions))
        for key, positions in named.items()
    }
    always = (fuse([entries[i] for i in rest]), tuple(rest)) if rest else None
    return _IndexedFunction(table, always)


class _IndexedFunction:
    __slots__ = ("_always", "_table")

    def __init__(
        self,
        table: dict[EntityUID, tuple[FusedFunction, tuple[int, ...]]],
        always: tuple[FusedFunction, tuple[int, ...]] | None,
    ) -> None:
        self._table, self._always = table, always

    def __call__(
        self,
        principal: EntityUID,
        action: EntityUID,
        resource: EntityUID,
        context: Record,
        store: object,
    ) -> tuple[list[int], Errors]:
        hits: list[int] = []
        errors: list[tuple[int, EvaluationError]] = []
        parts = [] if self._always is None else [self._always]
        parts += self._candidates(principal, store)
        for function, positions in parts:
            found, failed = function(principal, action, resource, context, store)
            hits += [positions[i] for i in found]
            if failed:
                errors += [(positions[i], error) for i, error in failed]
        if len(parts) > 1:  # positions in the order one fused function would give them
            hits.sort()
            errors.sort(key=lambda pair: pair[0])
        return hits, errors or None

    def _candidates(
        self, principal: EntityUID, store: object
    ) -> list[tuple[FusedFunction, tuple[int, ...]]]:
        table = self._table
        entity = store.get(principal)  # type: ignore[attr-defined]
        ancestors: frozenset[EntityUID] = frozenset() if entity is None else entity.ancestors
        found = table.get(principal)
        chosen = [] if found is None else [found]
        if len(ancestors) <= len(table):
            chosen += [table[a] for a in ancestors if a in table]
        else:  # a principal in more groups than the plan names: walk the plan's side
            chosen += [part for key, part in table.items() if key in ancestors]
        return chosen
