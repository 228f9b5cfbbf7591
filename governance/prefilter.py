"""Per-resource candidate lists: what a policy can never grant or forbid on a catalog resource is
decided once, not on every request.

Catalog resources are static, so a policy's resource scope, and the resource-only conditions it
tests first, have one answer per resource. Cedar evaluates a policy as principal scope, action
scope, resource scope, then its conditions in order, with `&&` short-circuiting; scope checks
never error. So a policy whose resource scope misses, or whose leading resource-only condition is
false *without error*, is false for that resource whatever the principal and context: dropping
it changes no decision, reason or error. A condition that errors keeps the policy, so the error
is still reported at request time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from governance.cedar_bridge import pst
from governance.compiler import (
    CompiledPolicy,
    EntityStore,
    EntityUID,
    EvaluationError,
    compile_policy,
)
from governance.compiler.compile import entity_uid
from governance.compiler.values import EMPTY_RECORD
from governance.errors import CompileError

_NOBODY = EntityUID("__govern", "nobody")  # guards read only the resource


class ResourceFilter:
    """Whether one policy can be satisfied at all on a given catalog resource."""

    __slots__ = ("_guards", "_scope")

    def __init__(self, policy: CompiledPolicy) -> None:
        self._scope = policy.template.resource
        self._guards = tuple(_compile_guards(policy))

    def possible(self, resource: EntityUID, store: EntityStore) -> bool:
        if not _scope_matches(self._scope, resource, store):
            return False
        for guard in self._guards:
            try:
                if not guard.function(_NOBODY, _NOBODY, resource, EMPTY_RECORD, store):
                    return False
            except EvaluationError:
                return True  # the error must surface at request time, as Cedar reports it
        return True


def candidates_for(
    policies: Sequence[CompiledPolicy],
    filters: dict[str, ResourceFilter],
    resource: EntityUID,
    store: EntityStore,
) -> tuple[CompiledPolicy, ...]:
    return tuple(p for p in policies if filters[p.id].possible(resource, store))


def _scope_matches(scope: object, resource: EntityUID, store: EntityStore) -> bool:
    kind = str(scope.entity_type) if isinstance(scope, pst.ScopeIs | pst.ScopeIsIn) else None
    if kind is not None and resource.type != kind:
        return False
    if not isinstance(scope, pst.ScopeEq | pst.ScopeIn | pst.ScopeIsIn):
        return True  # any resource, or `is` alone (checked above)
    if isinstance(scope.entity, pst.Slot):
        return True  # a template slot: not a static policy, never filtered
    target = entity_uid(scope.entity)
    if isinstance(scope, pst.ScopeEq):
        return resource == target
    return resource == target or target in store.ancestors(resource)


def _compile_guards(policy: CompiledPolicy) -> Iterator[CompiledPolicy]:
    """Guards for the resource-only conditions of the first clause that Cedar reaches before
    anything that could error: conditions that cannot error (`principal has x`, then
    `principal.x == "y"`, group membership...) are stepped over, the first other one stops."""
    clauses = policy.template.clauses
    if not clauses:
        return
    first = clauses[0]
    conjuncts: list[pst.Expr] = (
        _conjuncts(first.expr) if isinstance(first, pst.When) else [pst.UnaryOp("not", first.expr)]
    )
    known: set[tuple[str, str]] = set()  # attributes a preceding `has` proved present
    for index, conjunct in enumerate(conjuncts):
        if _reads_only_resource(conjunct):
            guard = _guard(policy.id, index, conjunct)
            if guard is None:
                return
            yield guard
        elif _cannot_error(conjunct, known):
            known |= _proved(conjunct)
        else:
            return


def _guard(policy_id: str, index: int, conjunct: pst.Expr) -> CompiledPolicy | None:
    template = pst.Template(
        id=f"{policy_id}#guard{index}", effect="permit", principal=pst.ScopeAny(), action=pst.ScopeAny(),
        resource=pst.ScopeAny(), clauses=(pst.When(conjunct),), annotations=pst.FrozenMap(),
    )  # fmt: skip
    try:
        return compile_policy(template, template.id)
    except CompileError:
        return None


def _proved(conjunct: pst.Expr) -> set[tuple[str, str]]:
    if isinstance(conjunct, pst.HasAttr) and isinstance(conjunct.base, pst.Var):
        return {(conjunct.base.name, conjunct.attrs[0])}
    return set()


def _cannot_error(expr: pst.Expr, known: set[tuple[str, str]]) -> bool:
    """A conservative test that evaluating `expr` to a boolean can never raise.

    The request's principal and the catalog resource always exist in the store, so `has`,
    `is`, `in` over entity literals and `==` between values that cannot error are safe, and so
    is reading an attribute a preceding `has` proved present.
    """
    if isinstance(expr, pst.BoolLit | pst.HasAttr):
        return not isinstance(expr, pst.HasAttr) or isinstance(expr.base, pst.Var)
    if isinstance(expr, pst.Is):
        return isinstance(expr.base, pst.Var) and (
            expr.in_expr is None or _entity_operand(expr.in_expr)
        )
    if isinstance(expr, pst.UnaryOp):
        return expr.op == "not" and _cannot_error(expr.arg, known)
    if isinstance(expr, pst.BinaryOp):
        if expr.op in ("and", "or"):
            return _cannot_error(expr.left, known) and _cannot_error(expr.right, known)
        if expr.op in ("eq", "not_eq"):
            return _safe_value(expr.left, known) and _safe_value(expr.right, known)
        if expr.op == "in":
            return (
                isinstance(expr.left, pst.Var)
                and expr.left.name in ("principal", "resource")
                and (_entity_operand(expr.right))
            )
        if expr.op == "contains":
            return (
                isinstance(expr.left, pst.Set)
                and all(_safe_value(e, known) for e in expr.left.elements)
                and (_safe_value(expr.right, known))
            )
    return False


def _safe_value(expr: pst.Expr, known: set[tuple[str, str]]) -> bool:
    if isinstance(expr, pst.BoolLit | pst.LongLit | pst.StringLit | pst.EntityLit | pst.Var):
        return True
    if isinstance(expr, pst.GetAttr) and isinstance(expr.base, pst.Var):
        return (expr.base.name, expr.attr) in known
    return _cannot_error(expr, known)


def _entity_operand(expr: pst.Expr) -> bool:
    if isinstance(expr, pst.EntityLit):
        return True
    return isinstance(expr, pst.Set) and all(isinstance(e, pst.EntityLit) for e in expr.elements)


def _conjuncts(expr: pst.Expr) -> list[pst.Expr]:
    """`a && b && c` (left-nested) as [a, b, c], in evaluation order."""
    if isinstance(expr, pst.BinaryOp) and expr.op == "and":
        return [*_conjuncts(expr.left), *_conjuncts(expr.right)]
    return [expr]


def _reads_only_resource(node: object) -> bool:
    if isinstance(node, pst.Var):
        return node.name == "resource"
    if isinstance(node, pst.Slot):
        return False
    if isinstance(node, dict):
        return all(_reads_only_resource(v) for v in node.values())
    if isinstance(node, tuple):
        return all(_reads_only_resource(v) for v in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return all(_reads_only_resource(getattr(node, f.name)) for f in dataclasses.fields(node))
    return True
