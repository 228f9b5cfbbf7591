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
    fuse: Callable[[Sequence[T], Sequence[int]], FusedFunction],
    index_from: int = INDEX_FROM,
) -> FusedFunction | None:
    """A function answering as one fused function of `entries` does, positions included, that
    evaluates only the candidates of each request; None when too few entries name a principal
    to pay off. `fuse(part, positions)` fuses a part reporting the entries' own positions.
    The function is called with the principal's own entity as the store (the engine's bound
    request): it reads the principal's ancestors from it."""
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
        key: fuse([entries[i] for i in positions], positions) for key, positions in named.items()
    }
    always = fuse([entries[i] for i in rest], rest) if rest else None
    return _IndexedFunction(table, always)


class _IndexedFunction:
    """Each part reports the plan's positions itself, so a request whose candidates make one
    part (or the unnamed part alone) costs that part's call and nothing more."""

    __slots__ = ("_always", "_table")

    def __init__(self, table: dict[EntityUID, FusedFunction], always: FusedFunction | None) -> None:
        self._table, self._always = table, always

    def __call__(
        self,
        principal: EntityUID,
        action: EntityUID,
        resource: EntityUID,
        context: Record,
        store: object,
    ) -> tuple[list[int], Errors]:
        table = self._table
        # The store is the principal's own entity (the engine's bound request), as the
        # parts are fused to take it (`store_is_principal`): no lookup.
        ancestors: frozenset[EntityUID] = store.ancestors  # type: ignore[attr-defined]
        if len(ancestors) <= len(table):
            parts = [table[a] for a in ancestors if a in table]
        else:  # a principal in more groups than the plan names: walk the plan's side
            parts = [part for key, part in table.items() if key in ancestors]
        named = table.get(principal)
        if named is not None:
            parts.append(named)
        if self._always is not None:
            parts.append(self._always)
        if len(parts) == 1:
            return parts[0](principal, action, resource, context, store)
        if not parts:
            return [], None
        hits: list[int] = []
        errors: list[tuple[int, EvaluationError]] = []
        for function in parts:
            found, failed = function(principal, action, resource, context, store)
            hits += found
            if failed:
                errors += failed
        hits.sort()  # positions in the order one fused function would give them
        if errors:
            errors.sort(key=_position)
            return hits, errors
        return hits, None


def _position(pair: tuple[int, EvaluationError]) -> int:
    return pair[0]
