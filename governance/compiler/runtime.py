"""Helpers the generated policy code calls for the operations it does not inline.

Generated code inlines the common, statically typed cases (entity attribute access, Long
comparison, hierarchy tests against literal entities); everything here handles the general
case, with Cedar's type checks, and raises :class:`EvaluationError` exactly where Cedar
reports an error. ``NAMESPACE`` is the global namespace generated functions run in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from governance.compiler import extensions as ext
from governance.compiler import wildcards
from governance.compiler.entities import Store
from governance.compiler.errors import EvaluationError
from governance.compiler.values import (
    LONG_MAX,
    LONG_MIN,
    CedarSet,
    EntityUID,
    Record,
    set_key,
    type_name,
)

MISSING = object()
"""Sentinel for an absent attribute: never a Cedar value."""


def type_error(expected: str, value: object) -> NoReturn:
    raise EvaluationError(f"type error: expected {expected}, got {type_name(value)}")


def not_bool(value: object) -> NoReturn:
    type_error("bool", value)


def not_long(left: object, right: object = 0) -> NoReturn:
    type_error("long", left if type(left) is not int else right)


def not_set(value: object) -> NoReturn:
    type_error("set", value)


def not_string(value: object) -> NoReturn:
    type_error("string", value)


def not_entity(value: object) -> NoReturn:
    type_error("entity", value)


def overflow(operation: str) -> NoReturn:
    raise EvaluationError(f"integer overflow while attempting to {operation}")


def fail(message: str) -> NoReturn:
    """An expression that always errors, such as ``decimal("bad")`` found at compile time."""
    raise EvaluationError(message)


def no_entity(uid: EntityUID) -> NoReturn:
    raise EvaluationError(f"entity `{uid}` does not exist")


def no_attr(base: object, attr: str) -> NoReturn:
    raise EvaluationError(f"`{base}` does not have the attribute `{attr}`")


def checked(value: int) -> int:
    if value < LONG_MIN or value > LONG_MAX:
        overflow("compute a Long")
    return value


def get_attr(base: object, attr: str, store: Store) -> object:
    kind = type(base)
    if kind is Record:
        value = base.get(attr, MISSING)  # type: ignore[attr-defined]
    elif kind is EntityUID:
        entity = store.get(base)  # type: ignore[arg-type]
        if entity is None:
            no_entity(base)  # type: ignore[arg-type]
        value = entity.attrs.get(attr, MISSING)
    else:
        type_error("record or entity", base)
    if value is MISSING:
        no_attr(base, attr)
    return value


def has_attr(base: object, attr: str, store: Store) -> bool:
    kind = type(base)
    if kind is Record:
        return attr in base  # type: ignore[operator]
    if kind is EntityUID:
        entity = store.get(base)  # type: ignore[arg-type]
        return entity is not None and attr in entity.attrs
    type_error("record or entity", base)


def is_in(left: object, right: object, store: Store) -> bool:
    """Cedar ``in``: ``left`` is an entity; ``right`` an entity or a set of entities (every
    element is checked to be an entity before any is compared)."""
    if type(left) is not EntityUID:
        not_entity(left)
    if type(right) is EntityUID:
        targets: frozenset[object] = frozenset((right,))
    elif type(right) is CedarSet:
        targets = right.elems
        for target in targets:
            if type(target) is not EntityUID:
                not_entity(target)
    else:
        type_error("set or entity", right)
    if left in targets:
        return True
    entity = store.get(left)
    return entity is not None and not targets.isdisjoint(entity.ancestors)


def contains(container: object, value: object) -> bool:
    if type(container) is not CedarSet:
        not_set(container)
    if type(value) is bool:  # only Bools are stored under a key of their own (`set_key`)
        value = set_key(value)
    return value in container.elems


def contains_all(left: object, right: object) -> bool:
    if type(left) is not CedarSet:
        not_set(left)
    if type(right) is not CedarSet:
        not_set(right)
    return right.elems <= left.elems


def contains_any(left: object, right: object) -> bool:
    if type(left) is not CedarSet:
        not_set(left)
    if type(right) is not CedarSet:
        not_set(right)
    return not left.elems.isdisjoint(right.elems)


def is_empty(value: object) -> bool:
    if type(value) is not CedarSet:
        not_set(value)
    return not value.elems


def _tag_owner(base: object, key: object) -> None:
    if type(base) is not EntityUID:
        not_entity(base)
    if type(key) is not str:
        not_string(key)


def has_tag(base: object, key: object, store: Store) -> bool:
    _tag_owner(base, key)
    entity = store.get(base)  # type: ignore[arg-type]
    return entity is not None and key in entity.tags


def get_tag(base: object, key: object, store: Store) -> object:
    _tag_owner(base, key)
    entity = store.get(base)  # type: ignore[arg-type]
    if entity is None:
        no_entity(base)  # type: ignore[arg-type]
    value = entity.tags.get(key, MISSING)  # type: ignore[call-overload]
    if value is MISSING:
        raise EvaluationError(f"`{base}` does not have the tag `{key}`")
    return value


def make_set(values: tuple[object, ...]) -> CedarSet:
    return CedarSet.of(values)


def less(left: object, right: object) -> bool:
    if type(left) is int and type(right) is int:
        return left < right
    return ext.compare_lt(left, right)


def less_eq(left: object, right: object) -> bool:
    if type(left) is int and type(right) is int:
        return left <= right
    return ext.compare_le(left, right)


_HELPERS: dict[str, Callable[..., object] | object] = {
    "MISSING": MISSING,
    "EvaluationError": EvaluationError,  # caught per policy by fused functions
    "EntityUID": EntityUID,
    "CedarSet": CedarSet,
    "Record": Record,
    "LONG_MIN": LONG_MIN,
    "LONG_MAX": LONG_MAX,
    "_not_bool": not_bool,
    "_not_long": not_long,
    "_not_set": not_set,
    "_not_string": not_string,
    "_not_entity": not_entity,
    "_overflow": overflow,
    "_fail": fail,
    "_no_entity": no_entity,
    "_no_attr": no_attr,
    "_get_attr": get_attr,
    "_has_attr": has_attr,
    "_in": is_in,
    "_contains": contains,
    "_contains_all": contains_all,
    "_contains_any": contains_any,
    "_is_empty": is_empty,
    "_has_tag": has_tag,
    "_get_tag": get_tag,
    "_make_set": make_set,
    "_like": wildcards.matches,
    "_less": less,
    "_less_eq": less_eq,
    "_decimal": ext.construct_decimal,
    "_ip": ext.construct_ip,
    "_datetime": ext.construct_datetime,
    "_duration": ext.construct_duration,
    "_is_ipv4": ext.is_ipv4,
    "_is_ipv6": ext.is_ipv6,
    "_is_loopback": ext.is_loopback,
    "_is_multicast": ext.is_multicast,
    "_is_in_range": ext.is_in_range,
    "_to_date": ext.to_date,
    "_to_time": ext.to_time,
    "_to_milliseconds": ext.to_milliseconds,
    "_to_seconds": ext.to_seconds,
    "_to_minutes": ext.to_minutes,
    "_to_hours": ext.to_hours,
    "_to_days": ext.to_days,
    "_offset": ext.offset,
    "_duration_since": ext.duration_since,
    "_decimal_less_than": ext.decimal_lt,
    "_decimal_less_eq": ext.decimal_le,
    "_decimal_greater": ext.decimal_gt,
    "_decimal_greater_eq": ext.decimal_ge,
}

NAMESPACE: dict[str, object] = {
    "__builtins__": {"type": type, "bool": bool, "int": int, "str": str},
    **_HELPERS,
}
"""Globals of generated code: the helpers above and nothing else."""
