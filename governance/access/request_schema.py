"""Requests checked against the Cedar schema, as cedarpy given the schema checks them: the subject
type, and the subject properties and context as closed records of declared attributes.

Each is refused before any policy runs, naming the attribute path and what is wrong: a property
the schema types differently (`clearance: "2"` where it says Long) could compare without error
and slip past a guardrail; an attribute the schema does not declare, or a required one that is
missing, makes cedarpy refuse the request. The checks are built once per schema: per subject
type and per action, a set of declared names, a set of required ones and the exact Python type
of each primitive attribute, so a request of plain values costs one type test per attribute.
Anything else (sets, records, entities, extension values, or a mistake) takes the thorough
path, which walks the declared types and explains the first problem.

Where the schema expects an entity or an extension value, Cedar reads `{"type", "id"}` as an
entity and `"1.5"` as a decimal; read without the schema they would be a record and a string.
The thorough path rewrites such values to their explicit escapes (`__entity`, `__extn`), which
both evaluators read as Cedar given the schema reads the original: `principal.manager ==
User::"boss"` cannot come out false where Cedar says true.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from governance.access.request import AccessRequest
from governance.compiler.jsonvalues import read_json_uid, read_value, write_value
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

# The value if it has the declared type (an entity or extension value rewritten to its
# escape); otherwise raises a RequestError naming `path`.
Check = Callable[[Any, str], Any]
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

    def check(self, request: AccessRequest) -> AccessRequest:
        """The request as the evaluators must read it (the same object unless an entity or
        extension value was rewritten), or a RequestError saying what the schema refuses."""
        subject = self._subjects.get(request.principal_type)
        if subject is None:
            known = ", ".join(sorted(self._subjects)) or "none"
            raise RequestError(
                f"subject type `{request.principal_type}` is not a principal type of the schema "
                f"(known: {known})",
                "bad_subject_type",
            )
        # `RecordCheck.check`'s common case, inline here for both records (a call costs as
        # much as the check): each name declared with a primitive type (an undeclared one
        # maps to None, which no value's type is), each value exactly of it, each required
        # name given. Anything else takes the record's own check, which explains it.
        attributes = request.attributes
        primitive = subject._primitive
        for name, value in attributes.items():
            if type(value) is not primitive(name):
                attributes = subject.check(attributes, "subject.properties")
                break
        else:
            if subject._required and not attributes.keys() >= subject._required:
                attributes = subject.check(attributes, "subject.properties")
        action = self._actions.get(request.action)
        if action is None:  # Cedar given the schema refuses an action the schema does not declare
            raise RequestError(
                f"action `{request.action}` is not declared by the schema", "unknown_action"
            )
        context_check, principals = action
        if principals and request.principal_type not in principals:
            raise RequestError(
                f"subject type `{request.principal_type}` cannot {request.action}: the "
                f"schema allows {', '.join(sorted(principals))}",
                "bad_subject_type",
            )
        context = request.context
        primitive = context_check._primitive
        for name, value in context.items():
            if type(value) is not primitive(name):
                context = context_check.check(context, "context")
                break
        else:
            if context_check._required and not context.keys() >= context_check._required:
                context = context_check.check(context, "context")
        if attributes is request.attributes and context is request.context:
            return request
        return request._replace(attributes=attributes, context=context)

    def required_properties(self, principal_type: str) -> dict[str, Any]:
        """A value of its type for each attribute the schema requires of `principal_type`
        (0, "", false, [], nested records likewise): what a principal the CI tools make up
        (a synthetic member of a group) carries, so that the schema does not refuse it."""
        subject = self._subjects.get(principal_type)
        return {} if subject is None else subject.placeholder()

    def required_context(self, action: str) -> dict[str, Any]:
        """Likewise for the context the schema requires of `action`: what the CI tools add to
        the contexts they make up, so that a required attribute cannot blind them."""
        declared = self._actions.get(action)
        return {} if declared is None else declared[0].placeholder()


class RecordCheck:
    """A closed record: only declared attributes, every required one, each of its type."""

    __slots__ = ("_declared", "_fields", "_primitive", "_record", "_required", "_rewrites")

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
        self._rewrites = any(map(_rewrites, record.attributes.values()))

    def check(self, values: Mapping[str, Any], path: str) -> Mapping[str, Any]:
        # The common case: every name declared with a primitive type, the value exactly of it.
        # An undeclared name maps to None, which no value's type is. (For the few attributes
        # of a request, this loop beats building and comparing sets or lists in C.)
        primitive = self._primitive
        for name, value in values.items():
            if type(value) is not primitive(name):
                break
        else:
            if not self._required or values.keys() >= self._required:
                return values
        return self._thorough(values, path)

    def __call__(self, value: Any, path: str) -> Mapping[str, Any]:
        """The record as a value inside another (a record attribute, a set's element)."""
        if not isinstance(value, Mapping):
            _mistyped(self._record, value, path)
        return self.check(value, path)

    def placeholder(self) -> dict[str, Any]:
        """The record's required attributes, each with a value of its type."""
        attributes = self._record.attributes
        return {name: _placeholder(attributes[name]) for name in sorted(self._required)}

    def _thorough(self, values: Mapping[str, Any], path: str) -> Mapping[str, Any]:
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
        fields = self._fields
        if self._rewrites:
            return {name: fields[name](value, f"{path}.{name}") for name, value in values.items()}
        for name, value in values.items():
            fields[name](value, f"{path}.{name}")
        return values


_EXTENSION_PLACEHOLDERS = {
    "decimal": "0.0", "ipaddr": "0.0.0.0", "datetime": "1970-01-01", "duration": "0ms",
}  # fmt: skip


def _placeholder(declared: SchemaType) -> Any:
    match declared:
        case Primitive("Long"):
            return 0
        case Primitive("String"):
            return ""
        case Primitive("Bool"):
            return False
        case SetType():
            return []
        case RecordType():
            return RecordCheck(declared).placeholder()
        case EntityType(name):
            return {"type": name, "id": ""}
        case ExtensionType(name):
            return _EXTENSION_PLACEHOLDERS[name]
    raise AssertionError(f"unknown schema type {declared!r}")


def _rewrites(declared: SchemaType) -> bool:
    """Does a value of this type hold an entity or extension value (read differently with
    and without the schema)?"""
    match declared:
        case EntityType() | ExtensionType():
            return True
        case SetType(element):
            return _rewrites(element)
        case RecordType(attributes):
            return any(map(_rewrites, attributes.values()))
    return False


def _check_for(declared: SchemaType) -> Check:
    match declared:
        case Primitive(name):
            python = _PYTHON[name]

            def primitive(value: Any, path: str) -> Any:
                if type(value) is not python:
                    _mistyped(declared, value, path)
                return value

            return primitive
        case SetType(element):
            return _set_check(declared, _check_for(element), _rewrites(element))
        case RecordType():
            return RecordCheck(declared)
        case EntityType(name):
            return _entity_check(name)
        case ExtensionType(name):
            return _extension_check(name)
    raise AssertionError(f"unknown schema type {declared!r}")


def _set_check(declared: SetType, item_check: Check, rewrites: bool) -> Check:
    def set_of(value: Any, path: str) -> Any:
        if type(value) not in _SETS:
            _mistyped(declared, value, path)
        items = [item_check(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return items if rewrites else value

    return set_of


def _entity_check(expected: str) -> Check:
    """An entity reference as Cedar reads one where the schema expects an entity: `{"type",
    "id"}` or its `__entity` escape (never uid text), of exactly the declared type."""

    def entity(value: Any, path: str) -> Any:
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
        return write_value(uid)

    return entity


def _extension_check(expected: str) -> Check:
    """An extension value as Cedar reads one where the schema expects it: the constructor's
    text (`"1.5"` for a decimal) or an `__extn` escape, well formed and of the declared type."""
    declared = ExtensionType(expected)

    def extension(value: Any, path: str) -> Any:
        try:
            read = read_value(value, declared)
        except ValueError as error:
            raise RequestError(f"`{path}` is not a well-formed {expected}: {error}") from None
        if getattr(read, "type_name", None) != expected:
            _mistyped(declared, value, path)
        return write_value(read)

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
