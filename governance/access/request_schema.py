"""Requests checked against the Cedar schema: subject type, subject properties and context types.

A property the schema types differently (`clearance: "2"` where it says Long) is refused before
any policy runs, naming the attribute, the expected and the given type: a wrong-typed value could
otherwise compare without error and slip past a guardrail. The checks are built once per schema
as one small function per declared attribute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from governance.access.request import AccessRequest
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

Check = Callable[[Any, str], None]  # raises RequestError naming the path when the value is wrong
_SETS = (list, tuple, set, frozenset)


class RequestSchema:
    """The subject types a request may name, and a precompiled check per declared attribute."""

    def __init__(self, schema: Schema, not_subjects: frozenset[str]) -> None:
        self._subjects = {
            name: {attr: _check_for(t) for attr, t in decl.attributes.attributes.items()}
            for name, decl in schema.entities.items()
            if name not in not_subjects
        }
        self._contexts = {
            uid[1]: {attr: _check_for(t) for attr, t in decl.context.attributes.items()}
            for uid, decl in schema.actions.items()
        }

    def check(self, request: AccessRequest) -> None:
        checks = self._subjects.get(request.principal_type)
        if checks is None:
            known = ", ".join(sorted(self._subjects)) or "none"
            raise RequestError(
                f"subject type `{request.principal_type}` is not a principal type of the schema "
                f"(known: {known})",
                "bad_subject_type",
            )
        _check_record(request.attributes, checks, "subject.properties")
        contexts = self._contexts.get(request.action)
        if contexts:
            _check_record(request.context, contexts, "context")


def _check_record(values: Mapping[str, Any], checks: Mapping[str, Check], path: str) -> None:
    for name, value in values.items():
        check = checks.get(name)
        if check is not None:
            check(value, f"{path}.{name}")


def _check_for(declared: SchemaType) -> Check:
    match declared:
        case Primitive("Long"):
            return _exact(int, "Long")
        case Primitive("String"):
            return _exact(str, "String")
        case Primitive("Bool"):
            return _exact(bool, "Bool")
        case SetType(element):
            return _set_of(_check_for(element), _describe(declared))
        case RecordType(attributes):
            return _record_of({a: _check_for(t) for a, t in attributes.items()})
        case EntityType() | ExtensionType():
            return _any  # entity references and extension values are read and checked by Cedar
    return _any


def _exact(kind: type, name: str) -> Check:
    def check(value: Any, path: str) -> None:
        if type(value) is not kind:  # bool is not a Long, and a Long is not a Bool
            _mismatch(path, name, value)

    return check


def _set_of(element: Check, name: str) -> Check:
    def check(value: Any, path: str) -> None:
        if type(value) not in _SETS:
            _mismatch(path, name, value)
        for item in value:
            element(item, f"{path}[]")

    return check


def _record_of(checks: Mapping[str, Check]) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            _mismatch(path, "a record", value)
        _check_record(value, checks, path)

    return check


def _any(value: Any, path: str) -> None:
    return None


def _describe(declared: SchemaType) -> str:
    match declared:
        case Primitive(name) | EntityType(name):
            return name
        case ExtensionType(name):
            return name
        case SetType(element):
            return f"Set<{_describe(element)}>"
    return "a record"


_JSON_NAMES = {str: "a string", int: "a Long", bool: "a Bool", float: "a number", list: "a set"}


def _mismatch(path: str, expected: str, value: Any) -> None:
    given = _JSON_NAMES.get(type(value), "a record" if isinstance(value, Mapping) else "a value")
    raise RequestError(f"`{path}` must be {expected} as the schema declares, not {given}")
