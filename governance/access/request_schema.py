"""Requests checked against the Cedar schema, as cedarpy given the schema checks them: the subject
type, and the subject properties and context as closed records of declared attributes.

Each is refused before any policy runs, naming the attribute path and what is wrong: a property
the schema types differently (`clearance: "2"` where it says Long) could compare without error
and slip past a guardrail; an attribute the schema does not declare, or a required one that is
missing, makes cedarpy refuse the request. The checks are built once per schema: per subject
type and per action, a set of declared names, a set of required ones and the exact Python type
of each primitive attribute, so a request of plain values costs one type test per attribute; anything else (sets, records, entities, extension values, or a mistake) takes the
thorough path, which walks the declared types and explains the first problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from governance.access.request import AccessRequest
from governance.compiler.jsonvalues import read_json_uid, read_value
from governance.compiler.schema import (
    EntityType,
    ExtensionType,
    Primitive,
    RecordType,
    Schema,
    SchemaType,
    SetType,
)
from governance.errors import RequestError

# Raises a RequestError naming `path` when the value is not of the declared type.
Check = Callable[[Any, str], None]
_PYTHON = {"Long": int, "String": str, "Bool": bool}  # exact types: a bool is not a Long
_SETS = (list, tuple)  # what the request reader accepts as a JSON array


class RequestSchema:
    """The subject types a request may name, and per subject type and per action a precompiled
    check of the subject properties and of the context."""

    def __init__(self, schema: Schema, not_subjects: frozenset[str]) -> None:
        self._subjects = {
            name: RecordCheck(decl.attributes) for name, decl in schema.entities.items()
            if name not in not_subjects
        }  # fmt: skip
        self._actions = {
            uid[1]: (RecordCheck(decl.context), decl.principals)
            for uid, decl in schema.actions.items()
        }

    def check(self, request: AccessRequest) -> None:
        subject = self._subjects.get(request.principal_type)
        if subject is None:
            known = ", ".join(sorted(self._subjects)) or "none"
            raise RequestError(
                f"subject type `{request.principal_type}` is not a principal type of the schema "
                f"(known: {known})",
                "bad_subject_type",
            )
        subject.check(request.attributes, "subject.properties")
        action = self._actions.get(request.action)
        if action is None:
            return  # an action governance.yaml names but the schema does not: no context declared
        context, principals = action
        if principals and request.principal_type not in principals:
            raise RequestError(
                f"subject type `{request.principal_type}` cannot {request.action}: the schema "
                f"allows {', '.join(sorted(principals))}",
                "bad_subject_type",
            )
        context.check(request.context, "context")


class RecordCheck:
    """A closed record: only declared attributes, every required one, each of its type."""

    __slots__ = ("_declared", "_required", "_primitive", "_fields", "_record")

    def __init__(self, record: RecordType) -> None:
        self._record = record
        self._declared = frozenset(record.attributes)
        self._required = record.required
        # The exact Python type of each primitive attribute; None for the others, so that a
        # record holding a set, a record, an entity or an extension value takes `_thorough`.
        self._primitive = {
            name: _PYTHON[t.name] if isinstance(t, Primitive) else None
            for name, t in record.attributes.items()
        }.get
        self._fields = {name: _check_for(t) for name, t in record.attributes.items()}

    def check(self, values: Mapping[str, Any], path: str) -> None:
        # The common case: every name declared with a primitive type, the value exactly of it.
        # An undeclared name maps to None, which no value's type is. (For the few attributes
        # of a request, this loop beats building and comparing sets or lists in C.)
        primitive = self._primitive
        for name, value in values.items():
            if type(value) is not primitive(name):
                break
        else:
            if not self._required or values.keys() >= self._required:
                return
        self._thorough(values, path)

    def __call__(self, value: Any, path: str) -> None:
        """The record as a value inside another (a record attribute, a set's element)."""
        if not isinstance(value, Mapping):
            _mistyped(self._record, value, path)
        self.check(value, path)

    def _thorough(self, values: Mapping[str, Any], path: str) -> None:
        undeclared = [name for name in values if name not in self._declared]
        if undeclared:
            name = sorted(undeclared)[0]
            declared = ", ".join(sorted(self._declared)) or "none"
            raise RequestError(
                f"`{path}.{name}` is not declared by the schema (it declares: {declared})",
                "unknown_attribute",
            )
        missing = sorted(self._required.difference(values))
        if missing:
            name = missing[0]
            raise RequestError(
                f"`{path}.{name}` is missing: the schema requires it "
                f"({_describe(self._record.attributes[name])})",
                "missing_attribute",
            )
        for name, value in values.items():
            self._fields[name](value, f"{path}.{name}")


def _check_for(declared: SchemaType) -> Check:
    match declared:
        case Primitive(name):
            python = _PYTHON[name]

            def primitive(value: Any, path: str) -> None:
                if type(value) is not python:
                    _mistyped(declared, value, path)

            return primitive
        case SetType(element):
            item_check = _check_for(element)

            def set_of(value: Any, path: str) -> None:
                if type(value) not in _SETS:
                    _mistyped(declared, value, path)
                for i, item in enumerate(value):
                    item_check(item, f"{path}[{i}]")

            return set_of
        case RecordType():
            return RecordCheck(declared)
        case EntityType(name):
            return _entity_check(name)
        case ExtensionType(name):
            return _extension_check(name)
    raise AssertionError(f"unknown schema type {declared!r}")


def _entity_check(expected: str) -> Check:
    """An entity reference as Cedar reads one where the schema expects an entity: `{"type",
    "id"}` or its `__entity` escape (never uid text), of exactly the declared type."""

    def entity(value: Any, path: str) -> None:
        try:
            uid = read_json_uid(value) if isinstance(value, Mapping) else None
        except ValueError:
            uid = None
        if uid is None:
            raise RequestError(
                f'`{path}` must be a reference to a `{expected}` entity ({{"type", "id"}}) as '
                f"the schema declares, not {_given(value)}"
            )
        if uid.type != expected:
            raise RequestError(
                f"`{path}` must be a `{expected}` entity as the schema declares, "
                f"not a `{uid.type}` entity"
            )

    return entity


def _extension_check(expected: str) -> Check:
    """An extension value as Cedar reads one where the schema expects it: the constructor's
    text (`"1.5"` for a decimal) or an `__extn` escape, well formed and of the declared type."""
    declared = ExtensionType(expected)

    def extension(value: Any, path: str) -> None:
        try:
            read = read_value(value, declared)
        except ValueError as error:
            raise RequestError(f"`{path}` is not a well-formed {expected}: {error}") from None
        if getattr(read, "type_name", None) != expected:
            _mistyped(declared, value, path)

    return extension


def _mistyped(declared: SchemaType, value: Any, path: str) -> None:
    raise RequestError(
        f"`{path}` must be {_describe(declared)} as the schema declares, not {_given(value)}"
    )


def _describe(declared: SchemaType) -> str:
    match declared:
        case Primitive(name) | EntityType(name) | ExtensionType(name):
            return name
        case SetType(element):
            return f"Set<{_describe(element)}>"
    return "a record"


def _given(value: Any) -> str:
    return _JSON_NAMES.get(type(value), "a record" if isinstance(value, Mapping) else "a value")


_JSON_NAMES = {str: "a string", int: "a Long", bool: "a Bool", float: "a number", list: "a set"}
