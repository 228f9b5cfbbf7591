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

Check = Callable[[Any], bool]  # fast: does the value have the declared type?
_SETS = (list, tuple, set, frozenset)


class RequestSchema:
    """The subject types a request may name, and a precompiled check per declared attribute."""

    def __init__(self, schema: Schema, not_subjects: frozenset[str]) -> None:
        self._subjects = {
            name: _checks(decl.attributes) for name, decl in schema.entities.items()
            if name not in not_subjects
        }  # fmt: skip
        self._contexts = {uid[1]: _checks(decl.context) for uid, decl in schema.actions.items()}

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


_Checks = Mapping[str, tuple[Check, SchemaType]]


def _checks(record: RecordType) -> _Checks:
    return {attr: (_check_for(t), t) for attr, t in record.attributes.items()}


def _check_record(values: Mapping[str, Any], checks: _Checks, path: str) -> None:
    for name, value in values.items():
        entry = checks.get(name)
        if entry is not None and not entry[0](value):
            _explain(entry[1], value, f"{path}.{name}")  # only now is the path built


def _check_for(declared: SchemaType) -> Check:
    match declared:
        case Primitive("Long"):
            return lambda value: type(value) is int  # bool is not a Long
        case Primitive("String"):
            return lambda value: type(value) is str
        case Primitive("Bool"):
            return lambda value: type(value) is bool
        case SetType(element):
            item_ok = _check_for(element)
            return lambda value: type(value) in _SETS and all(map(item_ok, value))
        case RecordType(attributes):
            fields = {a: _check_for(t) for a, t in attributes.items()}
            return lambda value: (
                isinstance(value, Mapping)
                and all(ok(value[a]) for a, ok in fields.items() if a in value)
            )
    return lambda value: True  # entity references and extension values are checked by Cedar


def _explain(declared: SchemaType, value: Any, path: str) -> None:
    """Raise the refusal for a value `_check_for(declared)` rejected, naming where and why."""
    match declared:
        case SetType(element) if type(value) in _SETS:
            for item in value:
                if not _check_for(element)(item):
                    _explain(element, item, f"{path}[]")
        case RecordType() if isinstance(value, Mapping):
            _check_record(value, _checks(declared), path)
    given = _JSON_NAMES.get(type(value), "a record" if isinstance(value, Mapping) else "a value")
    raise RequestError(
        f"`{path}` must be {_describe(declared)} as the schema declares, not {given}"
    )


def _describe(declared: SchemaType) -> str:
    match declared:
        case Primitive(name) | EntityType(name) | ExtensionType(name):
            return name
        case SetType(element):
            return f"Set<{_describe(element)}>"
    return "a record"


_JSON_NAMES = {str: "a string", int: "a Long", bool: "a Bool", float: "a number", list: "a set"}
