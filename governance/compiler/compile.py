"""Compiling one Cedar policy (a cedarpy PST template) into a Python function.

Each policy becomes the source of one function ``policy(P, A, R, C, S)`` (principal,
action, resource uids, context record, entity store) that returns ``True``/``False`` or
raises :class:`EvaluationError`, exactly when Cedar's evaluator would. The body is straight
statement code: scope tests first, then each ``when``/``unless`` clause as early
``return False`` tests, so a policy that does not apply costs a few comparisons. Expressions
compile to assignments into temporaries, short-circuit operators to ``if`` blocks, and every
operand whose Cedar type is not known statically is type-checked inline.

Literals become closure constants, so policies of the same shape (differing only in entity
ids, strings and numbers) share one compiled code object: source is generated per policy but
``compile()`` runs once per shape, which keeps compiling 10,000 policies in seconds.

``compile_policy(template, policy_id)`` is the entry point; an unsupported construct
(template slots, nesting too deep for Python's parser) raises
:class:`governance.errors.CompileError`, and the caller evaluates that policy with cedarpy.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

from cedarpy import pst

from governance.compiler import extensions as ext
from governance.compiler import runtime, wildcards
from governance.compiler.errors import EvaluationError
from governance.compiler.values import CedarSet, EntityUID, Record, cedar_eq
from governance.errors import CompileError

PolicyFunction = Callable[[EntityUID, EntityUID, EntityUID, Record, object], bool]
Effect = Literal["permit", "forbid"]
_MAX_DEPTH = 60  # Python's tokenizer allows 100 indentation levels


class CompiledPolicy:
    """One compiled policy: ``id`` (Cedar's positional id), ``effect``, and ``function``."""

    __slots__ = ("effect", "forbid", "function", "id", "template")

    def __init__(self, policy_id: str, template: pst.Template, function: PolicyFunction) -> None:
        self.id = policy_id
        self.effect: Effect = template.effect
        self.forbid = template.effect == "forbid"
        self.template = template
        self.function = function

    @property
    def source(self) -> str:
        """The generated source of the policy's factory (made again when asked: only tests
        and debugging read it, and 10,000 policies' sources are megabytes kept for nothing)."""
        return generate_source(self.template)[0]

    def evaluate(
        self,
        principal: EntityUID,
        action: EntityUID,
        resource: EntityUID,
        context: Record,
        store: object,
    ) -> bool:
        """Is the policy satisfied? Raises :class:`EvaluationError` when Cedar would error."""
        return self.function(principal, action, resource, context, store)

    def __repr__(self) -> str:
        return f"CompiledPolicy({self.id!r}, {self.effect})"


class Constant:
    """An expression node holding an already-evaluated Cedar value: what partial evaluation
    leaves where a subexpression's value was known ahead of the request.

    Equality is Cedar's (type-strict), so `Constant(1)` and `Constant(True)` stay distinct
    when specialised policies are compared and shared.
    """

    __slots__ = ("value",)
    __match_args__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Constant and cedar_eq(self.value, other.value)

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


def constant(value: object) -> pst.Expr:
    """A :class:`Constant`, typed as the expression it stands in for inside PST nodes."""
    return cast(pst.Expr, Constant(value))


def entity_uid(node: pst.EntityUid) -> EntityUID:
    return EntityUID(str(node.type), node.id)


def type_name(node: pst.EntityType) -> str:
    return str(node)


_Kind = str | None  # the statically known Cedar type of an operand, or None
_LITERAL_KINDS = {bool: "bool", int: "long", str: "string", EntityUID: "entity"}


def literal_value(expr: pst.Expr) -> tuple[bool, object]:
    """``(True, value)`` for an expression made only of literals, else ``(False, None)``."""
    match expr:
        case pst.BoolLit(value) | pst.LongLit(value) | pst.StringLit(value):
            return True, value
        case Constant():
            return True, expr.value
        case pst.EntityLit(value):
            return True, entity_uid(value)
        case pst.Set(elements):
            values = [literal_value(e) for e in elements]
            if all(ok for ok, _ in values):
                return True, CedarSet.of(v for _, v in values)
        case pst.Record(fields):
            items = {k: literal_value(v) for k, v in fields.items()}
            if all(ok for ok, _ in items.values()):
                return True, Record({k: v for k, (_, v) in items.items()})
    return False, None


_CONSTRUCTORS = {
    "decimal": (ext.parse_decimal, "_decimal"),
    "ip": (ext.parse_ip, "_ip"),
    "datetime": (ext.parse_datetime, "_datetime"),
    "duration": (ext.parse_duration, "_duration"),
}
_UNARY_HELPERS = {
    "is_ipv4": ("_is_ipv4", "bool"),
    "is_ipv6": ("_is_ipv6", "bool"),
    "is_loopback": ("_is_loopback", "bool"),
    "is_multicast": ("_is_multicast", "bool"),
    "to_date": ("_to_date", None),
    "to_time": ("_to_time", None),
    "to_milliseconds": ("_to_milliseconds", "long"),
    "to_seconds": ("_to_seconds", "long"),
    "to_minutes": ("_to_minutes", "long"),
    "to_hours": ("_to_hours", "long"),
    "to_days": ("_to_days", "long"),
    "is_empty": ("_is_empty", "bool"),
}
_BINARY_HELPERS = {
    "contains": "_contains",
    "contains_all": "_contains_all",
    "contains_any": "_contains_any",
    "is_in_range": "_is_in_range",
    "decimal_less_than": "_decimal_less_than",
    "decimal_less_eq": "_decimal_less_eq",
    "decimal_greater": "_decimal_greater",
    "decimal_greater_eq": "_decimal_greater_eq",
}
_ARITHMETIC = {"add": ("+", "add"), "sub": ("-", "subtract"), "mul": ("*", "multiply")}
_COMPARISONS = {
    "less": ("<", "_less", False),
    "less_eq": ("<=", "_less_eq", False),
    "greater": ("<", "_less", True),
    "greater_eq": ("<=", "_less_eq", True),
}
_HOISTABLE = {"P": "eP", "R": "eR"}  # variable -> the name its entity is bound to once
_VARS = {
    "principal": ("P", "entity"),
    "action": ("A", "entity"),
    "resource": ("R", "entity"),
    "context": ("C", "record"),
}


class Codegen:
    """Emits the body of one policy function.

    `reject` is the statement that leaves the body when the policy is not satisfied; several
    bodies can share one `constants` list (see :mod:`governance.compiler.fused`).
    """

    def __init__(
        self,
        constants: list[object] | None = None,
        reject: str = "return False",
        depth: int = 1,
        hoist: bool = False,
    ) -> None:
        self.lines: list[str] = []
        self.depth = depth
        self.constants: list[object] = [] if constants is None else constants
        self.temps = 0
        self.reject = reject
        self.hoist = hoist
        self.hoisted: set[str] = set()

    # emission helpers
    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def indent(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise CompileError("policy nesting too deep to compile")

    def dedent(self) -> None:
        self.depth -= 1

    def const(self, value: object) -> str:
        self.constants.append(value)
        return f"K{len(self.constants) - 1}"

    def temp(self) -> str:
        self.temps += 1
        return f"t{self.temps}"

    def lookup(self, atom: str) -> str:
        """The name holding the entity `atom` refers to (``None`` when the store lacks it).

        While hoisting, the principal's and the resource's lookups are names the caller
        binds once (see :func:`hoisted_lookups`): `P`, `R` and the store do not change
        during a call, so this is exact. Anything else is looked up where it is used."""
        if self.hoist and atom in _HOISTABLE:
            self.hoisted.add(atom)
            return _HOISTABLE[atom]
        self.emit(f"e = S.get({atom})")
        return "e"

    def check(self, atom: str, kind: _Kind, want: str) -> None:
        """Emit a type check of `atom` unless its kind is statically `want`."""
        if kind == want:
            return
        test, raiser = {
            "bool": ("bool", "_not_bool"),
            "long": ("int", "_not_long"),
            "string": ("str", "_not_string"),
            "entity": ("EntityUID", "_not_entity"),
            "set": ("CedarSet", "_not_set"),
        }[want]
        self.emit(f"if type({atom}) is not {test}: {raiser}({atom})")

    # policy structure
    def scope(self, var: str, constraint: object) -> None:
        match constraint:
            case pst.ScopeAny():
                pass
            case pst.ScopeEq(entity=pst.EntityUid() as uid) | pst.ActionEq(entity=uid):
                self.emit(f"if {var} != {self.const(entity_uid(uid))}: {self.reject}")
            case pst.ScopeIn(entity=pst.EntityUid() as uid):
                self.scope_in(var, self.const(entity_uid(uid)), single=True)
            case pst.ActionIn(entities):
                uids = frozenset(entity_uid(u) for u in entities)
                self.scope_in(var, self.const(uids), single=False)
            case pst.ScopeIs(entity_type):
                self.emit(f"if {var}[0] != {self.const(type_name(entity_type))}: {self.reject}")
            case pst.ScopeIsIn(entity_type, entity=pst.EntityUid() as uid):
                self.emit(f"if {var}[0] != {self.const(type_name(entity_type))}: {self.reject}")
                self.scope_in(var, self.const(entity_uid(uid)), single=True)
            case _:
                raise CompileError(f"unsupported scope constraint `{constraint!r}`")

    def scope_in(self, var: str, target: str, single: bool) -> None:
        self.emit(f"if {var} != {target}:" if single else f"if {var} not in {target}:")
        self.indent()
        e = self.lookup(var)
        miss = f"{target} not in {e}.ancestors" if single else f"{target}.isdisjoint({e}.ancestors)"
        self.emit(f"if {e} is None or {miss}: {self.reject}")
        self.dedent()

    def test(self, expr: pst.Expr, negate: bool = False) -> None:
        """Emit code that returns False unless `expr` is True (False when `negate`)."""
        match expr:
            case pst.BinaryOp("and", left, right) if not negate:
                self.test(left)
                self.test(right)
                return
            case pst.BinaryOp("or", left, right) if negate:
                self.test(left, negate=True)
                self.test(right, negate=True)
                return
            case pst.UnaryOp("not", arg):
                self.test(arg, not negate)
                return
        atom, kind = self.expr(expr)
        if kind == "bool":
            self.emit(f"if {atom}: {self.reject}" if negate else f"if not {atom}: {self.reject}")
            return
        expected, other = ("False", "True") if negate else ("True", "False")
        self.emit(f"if {atom} is not {expected}:")
        self.indent()
        self.emit(f"if {atom} is {other}: {self.reject}")
        self.emit(f"_not_bool({atom})")
        self.dedent()

    # expressions: each emits statements and returns (atom, kind)
    def expr(self, expr: pst.Expr) -> tuple[str, _Kind]:
        match expr:
            case pst.Var(name):
                return _VARS[name]
            case pst.Slot():
                raise CompileError("template slots are not compiled")
            case pst.BoolLit(value):
                # a name, not a Python literal: `True[0]` would be a SyntaxWarning
                return self.const(value), "bool"
            case Constant(value):
                return self.const(value), _kind_of(value)
            case pst.LongLit() | pst.StringLit() | pst.EntityLit() | pst.Set() | pst.Record():
                is_literal, constant = literal_value(expr)
                if is_literal:
                    return self.const(constant), _kind_of(constant)
                if isinstance(expr, pst.Set):
                    return self.set_expr(expr), "set"
                assert isinstance(expr, pst.Record)
                return self.record_expr(expr), "record"
            case pst.UnaryOp(op, arg):
                return self.unary(op, arg)
            case pst.BinaryOp(op, left, right):
                return self.binary(op, left, right)
            case pst.GetAttr(base, attr):
                return self.get_attr(base, attr)
            case pst.HasAttr(base, attrs):
                return self.has_attr(base, attrs)
            case pst.Like(base, pattern):
                return self.like(base, pattern)
            case pst.Is(base, entity_type, in_expr):
                return self.is_expr(base, entity_type, in_expr)
            case pst.IfThenElse(cond, then_expr, else_expr):
                return self.if_expr(cond, then_expr, else_expr)
        raise CompileError(f"unsupported expression `{type(expr).__name__}`")

    def assign(self, code: str) -> str:
        target = self.temp()
        self.emit(f"{target} = {code}")
        return target

    def set_expr(self, expr: pst.Set) -> str:
        atoms = [self.expr(element)[0] for element in expr.elements]
        return self.assign(f"_make_set(({', '.join(atoms)},))")

    def record_expr(self, expr: pst.Record) -> str:
        fields = [f"{name!r}: {self.expr(value)[0]}" for name, value in expr.fields.items()]
        return self.assign(f"Record({{{', '.join(fields)}}})")

    def unary(self, op: str, arg: pst.Expr) -> tuple[str, _Kind]:
        if op in _CONSTRUCTORS:
            return self.constructor(op, arg)
        atom, kind = self.expr(arg)
        if op == "not":
            self.check(atom, kind, "bool")
            return self.assign(f"not {atom}"), "bool"
        if op == "neg":
            self.check(atom, kind, "long")
            result = self.assign(f"-{atom}")
            self.emit(f"if {result} > LONG_MAX: _overflow('negate')")
            return result, "long"
        helper, result_kind = _UNARY_HELPERS[op]
        return self.assign(f"{helper}({atom})"), result_kind

    def constructor(self, op: str, arg: pst.Expr) -> tuple[str, _Kind]:
        parser, helper = _CONSTRUCTORS[op]
        if isinstance(arg, pst.StringLit):
            # Validated once here; a bad literal is still an evaluation error, as in Cedar.
            try:
                return self.const(parser(arg.value)), "ext"
            except EvaluationError as error:
                return self.assign(f"_fail({self.const(str(error))})"), "ext"
        atom, _ = self.expr(arg)
        return self.assign(f"{helper}({atom})"), "ext"

    def binary(self, op: str, left: pst.Expr, right: pst.Expr) -> tuple[str, _Kind]:
        if op in ("and", "or"):
            return self.short_circuit(op, left, right)
        if op == "in":
            return self.in_expr(self.expr(left), right)
        lhs, lkind = self.expr(left)
        rhs, rkind = self.expr(right)
        if op in ("eq", "not_eq"):
            return self.equality(op == "not_eq", lhs, lkind, rhs, rkind), "bool"
        if op in _COMPARISONS:
            return self.comparison(op, lhs, lkind, rhs, rkind), "bool"
        if op in _ARITHMETIC:
            return self.arithmetic(op, lhs, lkind, rhs, rkind), "long"
        if op in ("has_tag", "get_tag"):
            return self.assign(f"_{op}({lhs}, {rhs}, S)"), ("bool" if op == "has_tag" else None)
        if op == "offset":
            return self.assign(f"_offset({lhs}, {rhs})"), "ext"
        if op == "duration_since":
            return self.assign(f"_duration_since({lhs}, {rhs})"), "ext"
        if op == "contains":
            is_literal, container = literal_value(left)
            if is_literal and type(container) is CedarSet:
                # A literal set: `_contains` without its call (a Bool is the one value the
                # set keys apart, `set_key`, so it alone takes the helper).
                elems = self.const(container.elems)
                return self.assign(
                    f"{rhs} in {elems} if type({rhs}) is not bool else _contains({lhs}, {rhs})"
                ), "bool"
        return self.assign(f"{_BINARY_HELPERS[op]}({lhs}, {rhs})"), "bool"

    def short_circuit(self, op: str, left: pst.Expr, right: pst.Expr) -> tuple[str, _Kind]:
        lhs, lkind = self.expr(left)
        self.check(lhs, lkind, "bool")
        result = self.temp()
        self.emit(f"if {lhs}:" if op == "and" else f"if not {lhs}:")
        self.indent()
        rhs, rkind = self.expr(right)
        self.check(rhs, rkind, "bool")
        self.emit(f"{result} = {rhs}")
        self.dedent()
        self.emit("else:")
        self.emit(f"    {result} = {op == 'or'}")
        return result, "bool"

    def equality(self, negate: bool, lhs: str, lkind: _Kind, rhs: str, rkind: _Kind) -> str:
        if lkind is not None and rkind is not None and lkind != "ext" and rkind != "ext":
            same = f"{lhs} == {rhs}" if lkind == rkind else "False"
        elif lkind in ("string", "entity") or rkind in ("string", "entity"):
            # str and tuple equality never holds across Cedar types (no bool/int confusion)
            same = f"{lhs} == {rhs}"
        else:
            same = f"type({lhs}) is type({rhs}) and {lhs} == {rhs}"
        return self.assign(f"not ({same})" if negate else same)

    def comparison(self, op: str, lhs: str, lkind: _Kind, rhs: str, rkind: _Kind) -> str:
        symbol, helper, swap = _COMPARISONS[op]
        if swap:
            lhs, lkind, rhs, rkind = rhs, rkind, lhs, lkind
        if lkind == "long" and rkind == "long":
            return self.assign(f"{lhs} {symbol} {rhs}")
        # Two Longs compare inline, as the helper would (it tests exactly this first); only
        # other values (extension values, or a type error) pay for its call.
        longs = " and ".join(
            f"type({atom}) is int" for atom, kind in ((lhs, lkind), (rhs, rkind)) if kind != "long"
        )
        return self.assign(f"{lhs} {symbol} {rhs} if {longs} else {helper}({lhs}, {rhs})")

    def arithmetic(self, op: str, lhs: str, lkind: _Kind, rhs: str, rkind: _Kind) -> str:
        symbol, verb = _ARITHMETIC[op]
        if lkind != "long" or rkind != "long":
            self.emit(
                f"if type({lhs}) is not int or type({rhs}) is not int: _not_long({lhs}, {rhs})"
            )
        result = self.assign(f"{lhs} {symbol} {rhs}")
        self.emit(f"if {result} > LONG_MAX or {result} < LONG_MIN: _overflow({verb!r})")
        return result

    def in_expr(self, left: tuple[str, _Kind], right: pst.Expr) -> tuple[str, _Kind]:
        lhs, lkind = left
        is_literal, target = literal_value(right)
        single = is_literal and type(target) is EntityUID
        many = isinstance(target, CedarSet) and all(type(v) is EntityUID for v in target)
        if not (single or many):
            rhs, _ = self.expr(right)
            return self.assign(f"_in({lhs}, {rhs}, S)"), "bool"
        self.check(lhs, lkind, "entity")
        name = self.const(target if single else frozenset(target))  # type: ignore[call-overload]
        result = self.assign(f"{lhs} == {name}" if single else f"{lhs} in {name}")
        self.emit(f"if not {result}:")
        self.indent()
        e = self.lookup(lhs)
        found = f"{name} in {e}.ancestors" if single else f"not {name}.isdisjoint({e}.ancestors)"
        self.emit(f"{result} = {e} is not None and {found}")
        self.dedent()
        return result, "bool"

    def get_attr(self, base: pst.Expr, attr: str) -> tuple[str, _Kind]:
        atom, kind = self.expr(base)
        if kind == "entity":
            e = self.lookup(atom)
            self.emit(f"if {e} is None: _no_entity({atom})")
            result = self.assign(f"{e}.attrs.get({attr!r}, MISSING)")
        elif kind == "record":
            result = self.assign(f"{atom}.get({attr!r}, MISSING)")
        else:
            return self.assign(f"_get_attr({atom}, {attr!r}, S)"), None
        self.emit(f"if {result} is MISSING: _no_attr({atom}, {attr!r})")
        return result, None

    def has_attr(self, base: pst.Expr, attrs: tuple[str, ...]) -> tuple[str, _Kind]:
        if len(attrs) > 1:
            # `e has a.b` means `e has a && e.a has b`
            first: pst.Expr = pst.HasAttr(base, attrs[:1])
            rest: pst.Expr = pst.HasAttr(pst.GetAttr(base, attrs[0]), attrs[1:])
            return self.expr(pst.BinaryOp("and", first, rest))
        attr = attrs[0]
        atom, kind = self.expr(base)
        if kind == "entity":
            e = self.lookup(atom)
            return self.assign(f"{e} is not None and {attr!r} in {e}.attrs"), "bool"
        if kind == "record":
            return self.assign(f"{attr!r} in {atom}"), "bool"
        return self.assign(f"_has_attr({atom}, {attr!r}, S)"), "bool"

    def like(self, base: pst.Expr, pattern: tuple[pst.PatternElem, ...]) -> tuple[str, _Kind]:
        atom, kind = self.expr(base)
        self.check(atom, kind, "string")
        return self.assign(_like_code(atom, pattern, self.const)), "bool"

    def is_expr(
        self, base: pst.Expr, entity_type: pst.EntityType, in_expr: pst.Expr | None
    ) -> tuple[str, _Kind]:
        atom, kind = self.expr(base)
        self.check(atom, kind, "entity")
        result = self.assign(f"{atom}[0] == {self.const(type_name(entity_type))}")
        if in_expr is not None:
            self.emit(f"if {result}:")
            self.indent()
            inner, _ = self.in_expr((atom, "entity"), in_expr)
            self.emit(f"{result} = {inner}")
            self.dedent()
        return result, "bool"

    def if_expr(
        self, cond: pst.Expr, then_expr: pst.Expr, else_expr: pst.Expr
    ) -> tuple[str, _Kind]:
        atom, kind = self.expr(cond)
        self.check(atom, kind, "bool")
        result = self.temp()
        kinds = []
        for header, branch in ((f"if {atom}:", then_expr), ("else:", else_expr)):
            self.emit(header)
            self.indent()
            value, branch_kind = self.expr(branch)
            self.emit(f"{result} = {value}")
            kinds.append(branch_kind)
            self.dedent()
        return result, kinds[0] if kinds[0] == kinds[1] else None


def _kind_of(value: object) -> _Kind:
    if type(value) is CedarSet:
        return "set"
    if type(value) is Record:
        return "record"
    return _LITERAL_KINDS.get(type(value))


def _like_code(
    atom: str, pattern: tuple[pst.PatternElem, ...], const: Callable[[object], str]
) -> str:
    """Python code for `atom like pattern`: str methods for the common shapes, else the
    linear-time matcher of :mod:`governance.compiler.wildcards` (never a regex)."""
    elements = [None if isinstance(e, pst.Wildcard) else e.value for e in pattern]
    parts = wildcards.pieces(elements)
    if not parts:
        return f"{atom} == ''"
    if parts == [None]:
        return "True"
    if len(parts) == 1:
        return f"{atom} == {const(parts[0])}"
    if len(parts) == 2:
        method = "startswith" if parts[1] is None else "endswith"
        literal = parts[0] if parts[1] is None else parts[1]
        return f"{atom}.{method}({const(literal)})"
    if len(parts) == 3 and parts[0] is None and parts[2] is None:
        return f"{const(parts[1])} in {atom}"
    split = wildcards.split(elements)
    assert split is not None
    head, middles, tail = split
    return f"_like({atom}, {const(head)}, {const(middles)}, {const(tail)})"


_SHAPES: dict[str, Callable[..., Any]] = {}


def emit_policy(gen: Codegen, template: pst.Template) -> int:
    """Emit the policy's tests: scope first, then each clause. Returns where the clauses
    start (after the scope checks)."""
    gen.scope("A", template.action)
    gen.scope("P", template.principal)
    gen.scope("R", template.resource)
    body_start = len(gen.lines)
    gen.hoist = True  # past the scope checks, which reject most requests without a lookup
    for clause in template.clauses:
        gen.test(clause.expr, negate=isinstance(clause, pst.Unless))
    return body_start


def generate_source(template: pst.Template) -> tuple[str, list[object]]:
    """The source of the policy's factory function, and the constants to call it with."""
    gen = Codegen()
    body_start = emit_policy(gen, template)
    gen.emit("return True")
    gen.lines[body_start:body_start] = hoisted_lookups(gen.hoisted, depth=1)
    return factory_source("policy", "P, A, R, C, S", gen.lines, gen.constants), gen.constants


def factory_source(name: str, parameters: str, lines: list[str], constants: list[object]) -> str:
    """The source of a factory taking `constants` as K0, K1... and returning the function
    `name(parameters)` whose body is `lines` (one indent deep): what `instantiate` compiles."""
    params = ", ".join(f"K{i}" for i in range(len(constants)))
    body = "\n".join("    " + line for line in lines)
    return f"def factory({params}):\n    def {name}({parameters}):\n{body}\n    return {name}\n"


def hoisted_lookups(variables: set[str], depth: int, store_is_principal: bool = False) -> list[str]:
    """The statements binding each hoisted variable's entity (see :meth:`Codegen.lookup`);
    `store_is_principal`: the caller passes the principal's own entity as the store (one
    whose `get` of the principal gives itself), so the principal needs no lookup."""
    indent = "    " * depth
    return [
        f"{indent}eP = S" if v == "P" and store_is_principal else
        f"{indent}{_HOISTABLE[v]} = S.get({v})"
        for v in sorted(variables)
    ]  # fmt: skip


def compile_policy(template: pst.Template, policy_id: str) -> CompiledPolicy:
    """Compile one static policy; raises :class:`CompileError` for what it cannot handle."""
    source, constants = generate_source(template)
    function = instantiate(source, constants, f"policy `{policy_id}`")
    return CompiledPolicy(policy_id, template, function)


ExpressionFunction = Callable[[object], object]


def compile_expression(expr: pst.Expr) -> ExpressionFunction:
    """A function of the entity store giving the value of an expression that reads no
    variable (partial evaluation folds such expressions); it raises :class:`EvaluationError`
    as Cedar's evaluator would. Raises :class:`CompileError` for what it cannot handle."""
    gen = Codegen()
    atom, _ = gen.expr(expr)
    gen.emit(f"return {atom}")
    source = factory_source("expression", "S", gen.lines, gen.constants)
    return cast(ExpressionFunction, instantiate(source, gen.constants, "expression"))


def instantiate(source: str, constants: list[object], name: str, loops: int = 0) -> Any:
    """Compile a factory's source once per shape and call it with this instance's constants.

    The source is checked before it runs (see :func:`verify_generated`): `loops` is the number
    of ``while True`` blocks the caller wrapped around policy bodies."""
    factory = _SHAPES.get(source)
    if factory is None:
        namespace: dict[str, object] = dict(runtime.NAMESPACE)
        try:
            tree = ast.parse(source, f"<{name}>")
            verify_generated(tree, namespace, loops)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. comparisons of constants Cedar allows
                exec(compile(tree, f"<{name}>", "exec"), namespace)
        except (SyntaxError, RecursionError, MemoryError) as error:
            raise CompileError(f"{name} cannot be compiled: {error}") from None
        factory = cast(Callable[..., Any], namespace["factory"])
        _SHAPES[source] = factory
    return factory(*constants)


# The syntax generated code is made of: no loops but the fused wrappers, no comprehensions,
# lambdas, imports, classes or starred/keyword tricks.
_NODES = (
    *(ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign, ast.If),
    *(ast.While, ast.Break, ast.Try, ast.ExceptHandler, ast.Expr, ast.Call, ast.Name),
    *(ast.Load, ast.Store, ast.Attribute, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp),
    *(ast.BinOp, ast.Tuple, ast.List, ast.Dict, ast.Subscript, ast.boolop, ast.unaryop),
    *(ast.operator, ast.cmpop, ast.IfExp),  # IfExp: a helper's common case inline
)
_ATTRIBUTES = frozenset(
    {"attrs", "ancestors", "tags", "get", "isdisjoint", "startswith", "endswith", "append"}
)


def verify_generated(tree: ast.Module, namespace: Mapping[str, object], loops: int) -> None:
    """Refuse generated code that reads a name neither its namespace nor its own function
    binds, reaches an attribute outside the entity and str API it uses, or loops (but for
    the `loops` ``while True`` wrappers of fused bodies): a code generator bug must never
    become code that does something else.

    One walk over the tree (it is most of what checking costs): the names read are checked
    against those bound once the walk has seen every binding."""
    builtins = namespace.get("__builtins__")
    known = set(namespace) | (set(builtins) if isinstance(builtins, Mapping) else set())
    bound: set[str] = set()
    read: set[str] = set()
    whiles = 0
    stack: list[ast.AST] = [tree]
    pop, push = stack.pop, stack.extend
    while stack:
        node = pop()
        if not isinstance(node, _NODES):
            raise CompileError(f"generated code contains `{type(node).__name__}`")
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                read.add(node.id)
            elif node.id in known:
                raise CompileError(f"generated code rebinds `{node.id}`")
            else:
                bound.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr not in _ATTRIBUTES:
            raise CompileError(f"generated code reads the attribute `{node.attr}`")
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.ExceptHandler, ast.FunctionDef)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.While):
            whiles += 1
            if not (isinstance(node.test, ast.Constant) and node.test.value is True):
                raise CompileError("generated code contains a conditional loop")
        for field in node._fields:  # ast.iter_child_nodes, inlined: a generator per node costs
            child = getattr(node, field, None)
            if isinstance(child, list):
                push(child)
            elif isinstance(child, ast.AST):
                stack.append(child)
    unknown = read - known - bound
    if unknown:
        raise CompileError(f"generated code reads the unknown name `{min(unknown)}`")
    if whiles != loops:
        raise CompileError(f"generated code contains {whiles} loop(s), expected {loops}")
