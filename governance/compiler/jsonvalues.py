"""Reading Cedar's JSON value format into runtime values, with or without a schema, and
writing runtime values back in it.

Without a schema (as Cedar does): JSON objects are records unless they are an explicit
``{"__entity": {"type", "id"}}`` or ``{"__extn": {"fn", "arg" | "args"}}`` escape. With a
schema, the declared type directs the reading: a string typed ``ipaddr``/``decimal``/
``datetime``/``duration`` is parsed by that constructor, and ``{"type", "id"}`` or
``{"fn", "arg"}`` are accepted without the escape where an entity or extension is expected.
Malformed input raises ``ValueError`` (cedarpy refuses such input as a whole).
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from governance.compiler.errors import EvaluationError
from governance.compiler.extensions import CONSTRUCTORS, FUNCTIONS, Unknown, extension_json
from governance.compiler.literals import UnescapeError, escape_debug, name_problem, unescape
from governance.compiler.schema import (
    EntityType,
    ExtensionType,
    RecordType,
    SchemaType,
    SetType,
)
from governance.compiler.values import LONG_MAX, LONG_MIN, CedarSet, EntityUID, Record


def read_uid(data: object) -> EntityUID:
    """An entity uid from ``{"type", "id"}``, ``{"__entity": {...}}`` or ``Type::"id"`` text."""
    if type(data) is dict and "__entity" not in data:  # the common case, without ABC checks
        kind, ident = data.get("type"), data.get("id")
        if type(kind) is str and type(ident) is str and kind in _NAMES:
            return _new_uid(EntityUID, (kind, ident))
    if isinstance(data, str):
        return parse_uid_text(data)
    if isinstance(data, Mapping):
        inner = data.get("__entity", data)
        if isinstance(inner, Mapping):
            kind, ident = inner.get("type"), inner.get("id")
            if type(kind) is str and kind in _NAMES and type(ident) is str:
                return _new_uid(EntityUID, (kind, ident))
            if isinstance(kind, str) and isinstance(ident, str):
                return _checked_uid(kind, ident)
    raise ValueError(f"not an entity uid: `{data!r}`")


def read_json_uid(data: object) -> EntityUID:
    """An entity uid in Cedar's JSON entity format: ``{"type", "id"}`` or its ``__entity``
    escape (Cedar refuses uid text there)."""
    if isinstance(data, str):
        raise ValueError(f"an entity uid in JSON is an object, not the text `{data}`")
    return read_uid(data)


_NAMES: set[str] = set()  # type names already found valid (requests repeat a few)
TYPE_NAMES_SEEN: Set[str] = _NAMES  # read-only, for readers that take the common case inline
_MAX_NAMES = 4096
_new_uid = tuple.__new__  # skips NamedTuple's Python-level __new__


def _checked_uid(kind: str, ident: str) -> EntityUID:
    if kind not in _NAMES:
        problem = name_problem(kind)
        if problem is not None:
            raise ValueError(f"bad entity type: {problem}")
        if len(_NAMES) < _MAX_NAMES:
            _NAMES.add(kind)
    return EntityUID(kind, ident)


def parse_uid_text(text: str) -> EntityUID:
    """``Type::"id"`` text, accepted exactly when Cedar accepts it: by Cedar's grammar, and
    only in normalised form (no spaces or comments, the id escaped as Cedar prints it)."""
    quote = text.find('"')
    if quote < 3 or not text.endswith('"') or len(text) < quote + 2:
        raise ValueError(f"not an entity uid: `{text}`")
    if text[quote - 2 : quote] != "::":
        raise ValueError(f"not an entity uid: `{text}`")
    body = text[quote + 1 : -1]
    try:
        ident = unescape(body)
    except UnescapeError as error:
        raise ValueError(f"not an entity uid: `{text}`: {error}") from None
    if escape_debug(ident) != body:
        raise ValueError(f'entity uid `{text}` is not normalised: write `"{escape_debug(ident)}"`')
    return _checked_uid(text[: quote - 2], ident)


def read_value(data: object, expected: SchemaType | None = None) -> object:
    """One JSON value as a Cedar value; ``expected`` is its schema type when one is known."""
    if expected is not None:
        typed = _read_typed(data, expected)
        if typed is not _UNTYPED:
            return typed
    if isinstance(data, bool | str):
        return data
    if isinstance(data, int):
        return _long(data)
    if isinstance(data, list):
        return CedarSet.of(read_value(item) for item in data)
    if isinstance(data, Mapping):
        if len(data) == 1:
            unknown = _read_unknown(data.get("__extn"))
            if unknown is not None:
                return unknown
            escaped = _read_escape(data)
            if escaped is not _UNTYPED:
                return escaped
        return Record({str(k): read_value(v) for k, v in data.items()})
    raise ValueError(f"unsupported JSON value `{data!r}`")


def _read_unknown(escape: object) -> Unknown | None:
    """cedarpy's ``unknown(name)`` escape, as cedarpy reads it in a context (found by
    probing): named by ``arg``, or else by the first of ``args``. (In entity data cedarpy also
    takes it from an object with keys beside ``__extn``; here that object is a record.)"""
    if not isinstance(escape, Mapping) or escape.get("fn") != "unknown":
        return None
    if "arg" in escape:
        name = escape["arg"]
    else:
        args = escape.get("args")
        name = args[0] if isinstance(args, list) and args else None
    return Unknown(name) if isinstance(name, str) else None


def _read_escape(data: Mapping[str, object]) -> object:
    """A one-key object that is a well-formed escape, or `_UNTYPED` for a plain record.

    Like Cedar's (serde "untagged") reader, a malformed ``__entity`` or ``__extn`` escape is
    just a record; a well-formed ``__extn`` naming an unknown function or a bad argument is
    an error, and so is the retired ``__expr`` escape.
    """
    if isinstance(data.get("__expr"), str):
        # Cedar refuses the retired escape; any other `__expr` value is a plain record.
        raise ValueError("the `__expr` escape is no longer supported")
    inner = data.get("__entity")
    if isinstance(inner, Mapping):
        kind, ident = inner.get("type"), inner.get("id")
        if isinstance(kind, str) and isinstance(ident, str):
            return _checked_uid(kind, ident)
    inner = data.get("__extn")
    if (
        isinstance(inner, Mapping)
        and isinstance(inner.get("fn"), str)
        and ("arg" in inner or isinstance(inner.get("args"), list))
    ):
        return _read_extension(inner)
    return _UNTYPED


def read_record(data: object, expected: RecordType | None = None) -> Record:
    """A JSON object as a record (a context, or an entity's attributes)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a JSON object, got `{data!r}`")
    attributes = expected.attributes if expected is not None else {}
    return Record({str(k): read_value(v, attributes.get(str(k))) for k, v in data.items()})


_UNTYPED = object()


def _read_typed(data: object, expected: SchemaType) -> object:
    """The value read as `expected` says, or `_UNTYPED` to read it the schemaless way."""
    if isinstance(expected, EntityType) and isinstance(data, Mapping):
        return read_json_uid(data)
    if isinstance(expected, ExtensionType):
        if isinstance(data, str):
            return _construct(expected.name, [data])
        if isinstance(data, Mapping):
            return _read_extension(data.get("__extn", data))
    if isinstance(expected, SetType) and isinstance(data, list):
        return CedarSet.of(read_value(item, expected.element) for item in data)
    if isinstance(expected, RecordType) and isinstance(data, Mapping):
        return read_record(data, expected)
    return _UNTYPED


def _long(number: int) -> int:
    if not LONG_MIN <= number <= LONG_MAX:
        raise ValueError(f"integer `{number}` does not fit in 64 bits")
    return number


def _read_extension(escape: object) -> object:
    if not isinstance(escape, Mapping) or not isinstance(escape.get("fn"), str):
        raise ValueError(f"malformed extension escape `{escape!r}`")
    name = str(escape["fn"])
    if "args" in escape:
        raw_args = escape["args"]
        if not isinstance(raw_args, list):
            raise ValueError(f"malformed extension arguments `{raw_args!r}`")
        return _call(name, [read_value(arg) for arg in raw_args])
    return _call(name, [read_value(escape.get("arg"))])


def _construct(type_name: str, args: list[object]) -> object:
    parser = CONSTRUCTORS[type_name]
    try:
        text = args[0]
        if not isinstance(text, str):
            raise ValueError(f"`{type_name}` expects a string, got `{text!r}`")
        return parser(text)
    except EvaluationError as error:
        raise ValueError(str(error)) from None


def _call(name: str, args: list[object]) -> object:
    function = FUNCTIONS.get(name)
    if function is None:
        raise ValueError(f"unknown extension function `{name}`")
    try:
        return function(*args)
    except (EvaluationError, TypeError) as error:
        raise ValueError(f"bad extension value `{name}`: {error}") from None


def write_value(value: object) -> object:
    """A runtime value as Cedar's JSON, which Cedar reads back (without a schema) to an equal
    value: entities and extension values as escapes."""
    kind = type(value)
    if kind is bool or kind is int or kind is str:
        return value
    if kind is EntityUID:
        return write_uid(value)  # type: ignore[arg-type]
    if kind is Unknown:
        return {"__extn": {"fn": "unknown", "arg": value.name}}  # type: ignore[attr-defined]
    if kind is CedarSet:
        return [write_value(item) for item in value]  # type: ignore[attr-defined]
    if isinstance(value, Mapping):
        return {str(name): write_value(item) for name, item in value.items()}
    return extension_json(value)


def write_uid(uid: EntityUID) -> dict[str, object]:
    return {"__entity": {"type": uid.type, "id": uid.id}}


def has_unknown(value: object) -> bool:
    """Does the value hold an ``unknown(...)`` anywhere (inside sets and records too)?"""
    kind = type(value)
    if kind is Unknown:
        return True
    if kind is CedarSet:
        return any(map(has_unknown, value))  # type: ignore[call-overload]
    if isinstance(value, Mapping):
        return any(map(has_unknown, value.values()))
    return False
