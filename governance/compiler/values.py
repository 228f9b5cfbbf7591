"""Cedar runtime values as cheap Python objects, and Cedar equality over them.

The representation is chosen for the hot path, so the engine can build values directly:

* Bool -> ``bool``, Long -> ``int`` (within 64 bits), String -> ``str``;
* entity reference -> :class:`EntityUID`, a two-field named tuple ``(type, id)`` such as
  ``EntityUID("User", "alice")`` or ``EntityUID("NS::User", "alice")``: hashing and equality
  are the tuple's own, done in C;
* Set -> :class:`CedarSet` (build with ``CedarSet.of(values)``), Record -> :class:`Record`
  (a ``dict`` subclass: ``Record(name="x", age=3)``);
* extension values -> the classes of :mod:`governance.compiler.extensions`.

Python's ``True == 1`` and ``hash(True) == hash(1)`` disagree with Cedar, where values of
different types are never equal. :func:`cedar_eq` compares types first; sets store Bools
under private keys so ``{1, true}`` keeps two elements; records compare field by field with
:func:`cedar_eq`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from governance.compiler.literals import escape_debug

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


class EntityUID(NamedTuple):
    """An entity reference: its type name (namespace included, ``NS::User``) and its id."""

    type: str
    id: str

    def __str__(self) -> str:
        return f'{self.type}::"{escape_debug(self.id)}"'


class _BoolKey:
    """Stands for a Bool inside a set's storage, so it never collides with the Long 0 or 1."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "true" if self.value else "false"


_TRUE_KEY = _BoolKey(True)
_FALSE_KEY = _BoolKey(False)


def set_key(value: object) -> object:
    """The form a value takes inside a :class:`CedarSet`'s frozenset."""
    if value is True:
        return _TRUE_KEY
    if value is False:
        return _FALSE_KEY
    return value


def _unkey(key: object) -> object:
    return key.value if type(key) is _BoolKey else key


class CedarSet:
    """An immutable, hashable Cedar set with Cedar's (type-strict) element equality."""

    __slots__ = ("elems",)

    def __init__(self, elems: frozenset[object]) -> None:
        # `elems` holds keyed values (see `set_key`); use `CedarSet.of` from plain values.
        self.elems = elems

    @classmethod
    def of(cls, values: Iterable[object]) -> CedarSet:
        return cls(frozenset(map(set_key, values)))

    def contains(self, value: object) -> bool:
        return set_key(value) in self.elems

    def __iter__(self) -> Iterator[object]:
        return map(_unkey, self.elems)

    def __len__(self) -> int:
        return len(self.elems)

    def __eq__(self, other: object) -> bool:
        return type(other) is CedarSet and self.elems == other.elems

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.elems)

    def __repr__(self) -> str:
        return "[" + ", ".join(sorted(map(repr, self))) + "]"


_MISSING = object()


class Record(dict[str, object]):
    """A Cedar record: a ``dict`` from attribute name to value, with Cedar equality and a hash
    (over its keys only, which equal records share) so records can live in sets."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not Record or len(self) != len(other):
            return False
        for name, value in self.items():
            theirs = other.get(name, _MISSING)
            if theirs is _MISSING or not cedar_eq(value, theirs):
                return False
        return True

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self))


EMPTY_RECORD = Record()
EMPTY_SET = CedarSet(frozenset())


def cedar_eq(left: object, right: object) -> bool:
    """Cedar ``==``: values of different types are unequal (never an error)."""
    return type(left) is type(right) and left == right


def type_name(value: object) -> str:
    """Cedar's name for a value's type, as used in type-error messages."""
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int:
        return "long"
    if kind is str:
        return "string"
    if kind is EntityUID:
        return "entity"
    if kind is CedarSet:
        return "set"
    if kind is Record:
        return "record"
    return str(getattr(value, "type_name", kind.__name__))
