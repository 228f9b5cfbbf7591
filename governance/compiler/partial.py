"""Partial evaluation: a policy specialised to one known action and one known resource.

In the engine a request's action and resource are catalog entities, known when the policies
load; only the principal and the context vary per request. :func:`specialise` evaluates what
that fixes ahead of time and leaves a *residual* policy over the principal and context:

* the action and resource scope are decided (a miss drops the policy);
* every subexpression that reads no `principal` or `context` is evaluated now and replaced by
  a :class:`Constant` (`resource.sensitivity >= 2` becomes `true` or `false`);
* `when` clauses that became `true` (and `unless` clauses that became `false`) are dropped;
  a clause that became unsatisfiable ends the policy, and drops it when nothing before it can
  error.

The residual is exact: it is satisfied, not satisfied or errors on every request exactly when
the original would. A subexpression is folded only when evaluating it now succeeds; one that
errors is left in place, so the error still surfaces at request time, as Cedar reports it.
Entities whose data may change per request (the principal, added to the store by each request)
are never read ahead: `known_types` names the entity types whose data the store holds for good.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from cedarpy import pst

from governance.compiler.compile import Constant, compile_expression, constant, literal_value
from governance.compiler.entities import Entity, EntityStore
from governance.compiler.errors import EvaluationError
from governance.compiler.values import EntityUID
from governance.errors import CompileError

_UNKNOWN = object()
_REQUEST_VARIABLES = frozenset({"principal", "context"})


class _NotKnownAhead(Exception):
    """A folded expression read an entity whose data is only known at request time."""


class KnownStore:
    """The catalog store as partial evaluation sees it: an entity of a type outside
    `known_types` may be the request's principal, so reading it stops the folding."""

    __slots__ = ("_known_types", "_store")

    def __init__(self, store: EntityStore, known_types: frozenset[str]) -> None:
        self._store, self._known_types = store, known_types

    def get(self, uid: EntityUID) -> Entity | None:
        if uid.type not in self._known_types:
            raise _NotKnownAhead(uid)
        return self._store.get(uid)

    def ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        if uid.type not in self._known_types:
            raise _NotKnownAhead(uid)
        return self._store.ancestors(uid)


def specialise(
    template: pst.Template, action: EntityUID, resource: EntityUID, store: KnownStore
) -> pst.Template | None:
    """The residual of `template` for requests on `action` and `resource`, or None when the
    policy can never be satisfied there nor error."""
    action_scope = _decide_scope(_action_scope, template.action, action, store)
    resource_scope = _decide_scope(_resource_scope, template.resource, resource, store)
    if action_scope is None or resource_scope is None:
        return None
    folder = _Folder(action, resource, store)
    clauses: list[pst.Clause] = []
    for test in _tests(template.clauses):
        when = isinstance(test, pst.When)
        expr = folder.fold(test.expr)
        known, value = literal_value(expr)
        if known and value is when:
            continue  # passes without error: the test no longer takes part
        clauses.append(type(test)(expr))
        if known and value is (not when):
            # Unsatisfiable from here: only an error in an earlier test can still show.
            if _cannot_error_in_order([_condition(c) for c in clauses[:-1]]):
                return None
            break
    return replace(template, action=action_scope, resource=resource_scope, clauses=tuple(clauses))


def _tests(clauses: tuple[pst.Clause, ...]) -> Iterator[pst.Clause]:
    """The clauses as a sequence of single tests, in evaluation order: `when { a && b }` is
    `when { a } when { b }`, and `unless { a || b }` is `unless { a } unless { b }`. Cedar
    gives both forms the same value and the same errors, and single tests fold separately."""
    for clause in clauses:
        op = "and" if isinstance(clause, pst.When) else "or"
        for part in _chain(clause.expr, op):
            yield type(clause)(part)


def _chain(expr: pst.Expr, op: str) -> list[pst.Expr]:
    """`a op b op c`, however nested, as [a, b, c] in evaluation order."""
    if isinstance(expr, pst.BinaryOp) and expr.op == op:
        return [*_chain(expr.left, op), *_chain(expr.right, op)]
    return [expr]


_ANY = pst.ScopeAny()


def _decide_scope(
    decide: Callable[[Any, EntityUID, KnownStore], bool],
    scope: Any,
    uid: EntityUID,
    store: KnownStore,
) -> Any:
    """ScopeAny when the scope holds, None when it misses, the scope itself when only the
    request can tell (an entity whose ancestors are not known ahead)."""
    try:
        return _ANY if decide(scope, uid, store) else None
    except _NotKnownAhead:
        return scope


def _cannot_error_in_order(conditions: list[pst.Expr]) -> bool:
    """Can none of these conditions, evaluated in turn while each holds, raise?"""
    known: set[tuple[str, str]] = set()
    for condition in conditions:
        if not cannot_error(condition, known):
            return False
        known |= proved(condition)
    return True


def _condition(clause: pst.Clause) -> pst.Expr:
    return clause.expr if isinstance(clause, pst.When) else pst.UnaryOp("not", clause.expr)


def _action_scope(scope: object, action: EntityUID, store: KnownStore) -> bool:
    match scope:
        case pst.ActionEq(entity=uid):
            return action == _uid(uid)
        case pst.ActionIn(entities=uids):
            targets = {_uid(u) for u in uids}
            return action in targets or not targets.isdisjoint(store.ancestors(action))
    return True  # any action


def _resource_scope(scope: object, resource: EntityUID, store: KnownStore) -> bool:
    if isinstance(scope, pst.ScopeIs | pst.ScopeIsIn) and resource.type != str(scope.entity_type):
        return False
    if not isinstance(scope, pst.ScopeEq | pst.ScopeIn | pst.ScopeIsIn):
        return True  # any resource, or `is` alone (checked above)
    if isinstance(scope.entity, pst.Slot):
        raise CompileError("template slots are not specialised")
    target = _uid(scope.entity)
    if isinstance(scope, pst.ScopeEq):
        return resource == target
    return resource == target or target in store.ancestors(resource)


def _uid(node: pst.EntityUid) -> EntityUID:
    return EntityUID(str(node.type), node.id)


class _Folder:
    """Folds the known parts of one policy's expressions."""

    def __init__(self, action: EntityUID, resource: EntityUID, store: KnownStore) -> None:
        self._variables = {"action": constant(action), "resource": constant(resource)}
        self._store = store

    def fold(self, expr: pst.Expr) -> pst.Expr:
        if isinstance(expr, pst.Var):
            return self._variables.get(expr.name, expr)
        if literal_value(expr)[0]:
            return expr
        if not _reads_request(expr):
            substituted = self._open(expr)
            value = self._evaluate(substituted)
            return substituted if value is _UNKNOWN else constant(value)
        return self._open(expr)

    def _evaluate(self, expr: pst.Expr) -> object:
        """The value of a variable-free expression, or _UNKNOWN when it errors now or reads
        data only a request knows (both are left for request time)."""
        try:
            return compile_expression(expr)(self._store)
        except (EvaluationError, _NotKnownAhead, CompileError):
            return _UNKNOWN

    def _open(self, expr: pst.Expr) -> pst.Expr:
        """`expr` with its operands folded, short-circuiting what Cedar itself would skip."""
        fold = self.fold
        match expr:
            case pst.BinaryOp("and" | "or" as op, left, right):
                folded = fold(left)
                known, value = literal_value(folded)
                if known and value is (op == "or"):
                    return constant(value)  # `false && x`, `true || x`: x is never evaluated
                return pst.BinaryOp(op, folded, fold(right))
            case pst.IfThenElse(cond, then_expr, else_expr):
                folded = fold(cond)
                known, value = literal_value(folded)
                if known and type(value) is bool:
                    return fold(then_expr if value else else_expr)
                return pst.IfThenElse(folded, fold(then_expr), fold(else_expr))
            case pst.UnaryOp(op, arg):
                return pst.UnaryOp(op, fold(arg))
            case pst.BinaryOp(op, left, right):
                return pst.BinaryOp(op, fold(left), fold(right))
            case pst.GetAttr(base, attr):
                return pst.GetAttr(fold(base), attr)
            case pst.HasAttr(base, attrs):
                return pst.HasAttr(fold(base), attrs)
            case pst.Like(base, pattern):
                return pst.Like(fold(base), pattern)
            case pst.Is(base, entity_type, in_expr):
                return pst.Is(fold(base), entity_type, None if in_expr is None else fold(in_expr))
            case pst.Set(elements):
                return pst.Set(tuple(map(fold, elements)))
            case pst.Record(fields):
                return pst.Record(pst.FrozenMap({k: fold(v) for k, v in fields.items()}))
        return expr


def _reads_request(expr: object) -> bool:
    """Does the expression read `principal` or `context` (or a template slot)?"""
    match expr:
        case pst.Var(name):
            return name in _REQUEST_VARIABLES
        case pst.Slot():
            return True
        case pst.UnaryOp(_, arg):
            return _reads_request(arg)
        case pst.BinaryOp(_, left, right):
            return _reads_request(left) or _reads_request(right)
        case pst.GetAttr(base, _) | pst.HasAttr(base, _) | pst.Like(base, _):
            return _reads_request(base)
        case pst.Is(base, _, in_expr):
            return _reads_request(base) or _reads_request(in_expr)
        case pst.IfThenElse(cond, then_expr, else_expr):
            return any(map(_reads_request, (cond, then_expr, else_expr)))
        case pst.Set(elements):
            return any(map(_reads_request, elements))
        case pst.Record(fields):
            return any(map(_reads_request, fields.values()))
    return False


def cannot_error(expr: pst.Expr, known: set[tuple[str, str]]) -> bool:
    """A conservative test that evaluating `expr` to a boolean can never raise.

    The request's principal and the catalog resource always exist in the store, so `has`,
    `is`, `in` over entity literals and `==` between values that cannot error are safe, and so
    is reading an attribute a preceding `has` (recorded in `known`) proved present.
    """
    if isinstance(expr, Constant):
        return type(expr.value) is bool
    if isinstance(expr, pst.BoolLit):
        return True
    if isinstance(expr, pst.HasAttr):  # `x has a.b` reads x.a, which may not be a record
        return len(expr.attrs) == 1 and isinstance(expr.base, pst.Var)
    if isinstance(expr, pst.Is):
        return _is_entity(expr.base) and (expr.in_expr is None or _entity_operand(expr.in_expr))
    if isinstance(expr, pst.UnaryOp):
        return expr.op == "not" and cannot_error(expr.arg, known)
    if isinstance(expr, pst.BinaryOp):
        return _binary_cannot_error(expr, known)
    return False


def _binary_cannot_error(expr: pst.BinaryOp, known: set[tuple[str, str]]) -> bool:
    if expr.op == "and":
        # `a && b` reads b only once a held, so what a proved is known in b
        return cannot_error(expr.left, known) and cannot_error(
            expr.right, known | proved(expr.left)
        )
    if expr.op == "or":
        return cannot_error(expr.left, known) and cannot_error(expr.right, known)
    if expr.op in ("eq", "not_eq"):
        return _safe_value(expr.left, known) and _safe_value(expr.right, known)
    if expr.op == "in":
        return _is_entity(expr.left) and _entity_operand(expr.right)
    if expr.op == "contains":
        return (
            isinstance(expr.left, pst.Set)
            and all(_safe_value(e, known) for e in expr.left.elements)
            and _safe_value(expr.right, known)
        )
    return False


def proved(expr: pst.Expr) -> set[tuple[str, str]]:
    """The (variable, attribute) pairs a true `expr` proves present."""
    if isinstance(expr, pst.HasAttr) and isinstance(expr.base, pst.Var):
        return {(expr.base.name, expr.attrs[0])}
    if isinstance(expr, pst.BinaryOp) and expr.op == "and":
        return proved(expr.left) | proved(expr.right)
    return set()


def _safe_value(expr: pst.Expr, known: set[tuple[str, str]]) -> bool:
    if isinstance(expr, pst.BoolLit | pst.LongLit | pst.StringLit | pst.EntityLit | pst.Var):
        return True
    if isinstance(expr, Constant):
        return True
    if isinstance(expr, pst.GetAttr) and isinstance(expr.base, pst.Var):
        return (expr.base.name, expr.attr) in known
    return cannot_error(expr, known)


def _is_entity(expr: pst.Expr) -> bool:
    """An operand that is always an entity: the principal, or a known entity."""
    if isinstance(expr, pst.Var):
        return expr.name in ("principal", "resource")
    return _entity_operand(expr) and not isinstance(expr, pst.Set)


def _entity_operand(expr: pst.Expr) -> bool:
    if isinstance(expr, pst.EntityLit):
        return True
    if isinstance(expr, Constant):
        return type(expr.value) is EntityUID
    return isinstance(expr, pst.Set) and all(isinstance(e, pst.EntityLit) for e in expr.elements)
