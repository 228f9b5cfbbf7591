"""Access requests: the OpenID AuthZEN 1.0 evaluation request shape, read into a typed object."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from governance.compiler.values import LONG_MAX, LONG_MIN
from governance.errors import RequestError

MAX_DEPTH = 32  # sets and records nested deeper are refused (Cedar's own parser gives up sooner
# or later; refusing here makes both evaluators agree and keeps the checks off the C stack)
# Cedar's entity type grammar: `Name` or `Namespace::Name`, each part an identifier.
_ENTITY_TYPE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*(?:::[_a-zA-Z][_a-zA-Z0-9]*)*")
WHOLE_PRODUCT = None  # `columns` of a request that reads every column


class _NoValues(dict[str, Any]):
    """The empty attributes or context the fast reader shares among requests: read-only, and
    copied and pickled as itself."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a request's values are read-only")

    __setitem__ = __delitem__ = __ior__ = _refuse
    setdefault = pop = popitem = clear = update = _refuse

    def __reduce__(self) -> str:
        return "NO_VALUES"  # pickle finds the module's own object by this name

    def __copy__(self) -> _NoValues:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _NoValues:
        return self


# What the fast reader gives for absent or empty properties or context: one shared object, so
# a decision kept alive holds one object fewer for the cyclic collector to visit (a dict
# subclass is always tracked; CPython untracks only exact dicts, at full collections).
NO_VALUES: Mapping[str, Any] = _NoValues()


class AccessRequest(NamedTuple):
    """May `principal` perform `action` on `product` (and which of `columns` must be masked)?

    `columns` None means the whole product; an empty tuple means no column work at all.
    `groups` may be a frozenset: a caller deciding many requests for a principal in many groups
    builds it once, and each decision then costs what it costs for a principal in a few
    (the engine intersects it with the groups the policies name, from the smaller side).
    A NamedTuple: immutable, and built in a fraction of a frozen dataclass's time on every request.
    """

    principal: str
    action: str
    product: str
    groups: tuple[str, ...] | frozenset[str] = ()
    attributes: Mapping[str, Any] = MappingProxyType({})
    columns: tuple[str, ...] | None = WHOLE_PRODUCT
    context: Mapping[str, Any] = MappingProxyType({})
    principal_type: str = "User"

    def to_authzen(self) -> dict[str, Any]:
        groups = self.groups
        shown = list(groups) if type(groups) is tuple else sorted(groups)  # a set in a fixed order
        properties: dict[str, Any] = {"groups": shown, **self.attributes}
        resource: dict[str, Any] = {"type": "DataProduct", "id": self.product}
        if self.columns is not None:
            resource["properties"] = {"columns": list(self.columns)}
        return {
            "subject": {
                "type": self.principal_type,
                "id": self.principal,
                "properties": properties,
            },
            "action": {"name": self.action},
            "resource": resource,
            "context": dict(self.context),
        }


def coerce_request(request: AccessRequest | Mapping[str, Any]) -> AccessRequest:
    """Accept a typed request or an AuthZEN dict; anything else is a RequestError (a deny)."""
    if type(request) is dict:  # the common case first
        return fast_authzen(request) or _thorough_authzen(request)
    if isinstance(request, AccessRequest):
        if type(request.principal_type) is not str or not _ENTITY_TYPE.fullmatch(
            request.principal_type
        ):
            raise RequestError("`principal_type` must be a Cedar entity type name")
        principal, action, product = request.principal, request.action, request.product
        if not (
            type(principal) is str and type(action) is str and type(product) is str
            and principal and action and product
        ):  # fmt: skip
            _refuse_names(request)  # `principal=None` must not be decided
        if not (_is_mapping(request.attributes) and _is_mapping(request.context)):
            for name, values in (("attributes", request.attributes), ("context", request.context)):
                if not _is_mapping(values):
                    raise RequestError(f"`{name}` must be a mapping, not {_kind(values)}")
        _check_values(request.attributes, "subject.properties")
        _check_values(request.context, "context")
        columns = request.columns
        if columns is not None and type(columns) is not tuple:
            # An iterator would be used up by the column check, leaving no column to mask
            if type(columns) not in _COLUMN_COLLECTIONS:
                raise RequestError(
                    f"`columns` must be None or a tuple of column names, not {_kind(columns)}"
                )
            columns = tuple(columns)
            request = request._replace(columns=columns)
        if columns:
            try:
                "".join(columns)  # strings only, checked in C
            except TypeError:
                raise RequestError("`columns` must hold column names (strings) only") from None
        return request
    if not _is_mapping(request):
        raise RequestError(f"request must be an object, not {type(request).__name__}")
    return from_authzen(request)


def from_authzen(request: Mapping[str, Any]) -> AccessRequest:
    """Read an AuthZEN request; well-formed plain JSON takes a fast path, anything else the
    thorough one that names exactly what is wrong."""
    return fast_authzen(request) or _thorough_authzen(request)


_EMPTY: dict[str, Any] = {}
# A product's attributes come from its catalog, never from the request: `columns` is the only
# resource property, and any other is refused rather than silently ignored.
_RESOURCE_PROPERTIES = frozenset({"columns"})
_LISTS = frozenset({list, tuple})
_GROUP_COLLECTIONS = frozenset({tuple, frozenset, list})
_COLUMN_COLLECTIONS = frozenset({list, frozenset, set})  # besides a tuple, turned into one
_new_request = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


def fast_authzen(request: Mapping[str, Any]) -> AccessRequest | None:
    """The common case, checked with C-level operations; None sends the request to the
    thorough reader, which accepts or refuses it with a precise reason."""
    subject, action, resource = (
        request.get("subject"),
        request.get("action"),
        request.get("resource"),
    )
    if type(subject) is not dict or type(action) is not dict or type(resource) is not dict:
        return None
    # `None` or absent reads as `{}`; any other non-object (`[]`, `0`, `""`, `false`) goes to
    # the thorough reader, which refuses it instead of reading it as empty.
    properties = subject.get("properties")
    context = request.get("context")
    resource_properties = resource.get("properties")
    if properties is None:
        properties = _EMPTY
    if context is None:
        context = _EMPTY
    if resource_properties is None:
        resource_properties = _EMPTY
    if not (
        type(properties) is dict and type(context) is dict and type(resource_properties) is dict
    ):
        return None
    principal, name, product = subject.get("id"), action.get("name"), resource.get("id")
    principal_type = subject.get("type", "User")
    if not (
        type(principal) is str and type(name) is str and type(product) is str
        and type(principal_type) is str and principal and name and product
        and resource.get("type", "DataProduct") == "DataProduct"
        and (principal_type in _TYPE_NAMES or _type_name(principal_type))
    ):  # fmt: skip
        return None
    groups = properties.get("groups", ())
    columns = resource_properties.get("columns") if resource_properties else None
    if type(groups) not in _LISTS or (
        resource_properties and not _RESOURCE_PROPERTIES.issuperset(resource_properties)
    ):
        return None
    try:
        # Strings only: `str.join` refuses anything else, in one pass in C (a fifth of testing
        # each item's type, which counts for a principal in thousands of groups).
        "".join(groups)
        if columns is not None:
            if columns == "*" or columns == ["*"]:
                columns = None
            elif type(columns) in _LISTS:
                "".join(columns)
                columns = tuple(columns)
            else:
                return None
    except TypeError:
        return None
    # Exact dicts: the collector untracks an exact dict of atomic values (the context at once,
    # the attributes, copied with their list of groups, at the next full collection), never a
    # subclass. The caller knows the values are plain by having called this reader.
    attributes = dict(properties)
    attributes.pop("groups", None)
    # Strings, booleans and 64-bit longs only (bool is not an int here: types are exact),
    # checked inline: a call costs as much as the loop over a request's few values.
    for values in (attributes, context):
        for value in values.values():
            kind = type(value)
            if kind is int:
                if not LONG_MIN <= value <= LONG_MAX:
                    return None
            elif kind is not str and kind is not bool:
                return None
    return _new_request(AccessRequest, (
        principal, name, product, tuple(groups), attributes or NO_VALUES, columns,
        dict(context) if context else NO_VALUES, principal_type,
    ))  # fmt: skip


_TYPE_NAMES: set[str] = {"User"}  # principal type names already found valid
_MAX_TYPE_NAMES = 1024
_KEPT_TYPE_NAME = 128  # characters of a name remembered (a longer one is matched each time)


def _type_name(name: str) -> bool:
    """Is `name` a Cedar entity type name? Remembered when it is (bounded)."""
    if not _ENTITY_TYPE.fullmatch(name):
        return False
    # Bounded in number and in length: a hostile stream of long names cannot grow the set.
    if len(_TYPE_NAMES) < _MAX_TYPE_NAMES and len(name) <= _KEPT_TYPE_NAME:
        _TYPE_NAMES.add(name)
    return True


def _thorough_authzen(request: Mapping[str, Any]) -> AccessRequest:
    subject = _object(request, "subject")
    action = _object(request, "action")
    resource = _object(request, "resource")
    properties = dict(_optional_object(subject, "properties", "subject.properties"))
    groups = properties.pop("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise RequestError("`subject.properties.groups` must be a list of strings")
    context = _optional_object(request, "context", "context")
    _check_values(properties, "subject.properties")
    _check_values(context, "context")
    resource_type = resource.get("type", "DataProduct")
    if resource_type != "DataProduct":
        raise RequestError(f"`resource.type` must be `DataProduct`, not `{resource_type}`")
    principal_type = _text(subject, "type", "subject.type") if "type" in subject else "User"
    if not _ENTITY_TYPE.fullmatch(principal_type):
        raise RequestError(
            f"`subject.type` must be a Cedar entity type name (Name or Namespace::Name), "
            f"not {_shown(principal_type)}"
        )
    return AccessRequest(
        principal=_text(subject, "id", "subject.id"),
        principal_type=principal_type,
        action=_text(action, "name", "action.name"),
        product=_text(resource, "id", "resource.id"),
        groups=tuple(groups),
        attributes=properties,
        columns=_columns(_optional_object(resource, "properties", "resource.properties")),
        context=dict(context),
    )


def _columns(properties: Mapping[str, Any]) -> tuple[str, ...] | None:
    unknown = sorted(str(key) for key in properties if key not in _RESOURCE_PROPERTIES)
    if unknown:
        raise RequestError(
            f"`resource.properties.{unknown[0]}` is not a property govern reads: a product's "
            "attributes come from its catalog, and `columns` is the only resource property",
            "unknown_attribute",
        )
    columns = properties.get("columns", WHOLE_PRODUCT)
    if columns is WHOLE_PRODUCT or columns == "*" or columns == ["*"]:
        return WHOLE_PRODUCT
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise RequestError('`resource.properties.columns` must be a list of column names or "*"')
    return tuple(columns)


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # the exact-type test skips the ABC


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not _is_mapping(value):
        raise RequestError(f"request has no `{key}` object")
    return cast(Mapping[str, Any], value)


def _optional_object(parent: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any]:
    value = parent.get(key, {})
    if value is None:
        return {}
    if not _is_mapping(value):
        raise RequestError(f"`{name}` must be an object")
    return cast(Mapping[str, Any], value)


def _text(parent: Mapping[str, Any], key: str, name: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise RequestError(f"`{name}` must be a non-empty string")
    return value


def _check_values(values: Mapping[str, Any], where: str, depth: int = 0) -> None:
    """Cedar has strings, 64-bit longs, booleans, sets and records: nothing else may pass."""
    for key, value in values.items():
        kind = type(value)
        if kind is str or kind is bool or (kind is int and LONG_MIN <= value <= LONG_MAX):
            continue  # the common case, without building a path string
        _check_value(value, f"{where}.{key}", depth + 1)


def _check_value(value: Any, where: str, depth: int) -> None:
    if isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if not LONG_MIN <= value <= LONG_MAX:
            raise RequestError(f"`{where}` is outside Cedar's 64-bit Long range")
        return
    if isinstance(value, float):
        what = "not a number" if math.isnan(value) else "infinite" if math.isinf(value) else None
        detail = f"is {what} (float)" if what else "is a decimal number (float)"
        raise RequestError(f"`{where}` {detail}; Cedar has only 64-bit whole-number Longs")
    if depth > MAX_DEPTH:
        raise RequestError(f"`{where}` nests sets and records deeper than {MAX_DEPTH} levels")
    if isinstance(value, list | tuple):  # JSON arrays; bytes and str are Sequences too, not sets
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise RequestError(f"`{where}` has a non-string key")
        _check_values(value, where, depth)
        return
    raise RequestError(f"`{where}` has a value Cedar cannot hold ({type(value).__name__})")


def _refuse_names(request: AccessRequest) -> None:
    for name in ("principal", "action", "product"):
        value = getattr(request, name)
        if not isinstance(value, str) or not value:
            raise RequestError(f"`{name}` must be a non-empty string, not {_kind(value)}")


def _kind(value: Any) -> str:
    """What a value is, for a message: `None`, `an empty string` or its type's name."""
    if value is None or value == "":
        return "None" if value is None else "an empty string"
    return f"`{type(value).__name__}`"


def _shown(value: str) -> str:
    """A value quoted for a message, cut short so a huge input cannot flood the log."""
    return repr(value[:60] + ("..." if len(value) > 60 else ""))


def about_resource(request: AccessRequest, resource: Any) -> AccessRequest | None:
    """`request` about the AuthZEN `resource` object instead, read exactly as `fast_authzen`
    reads a resource; None when that reader would not take it (the whole request must then be
    read). What a batch uses for requests sharing one subject, action and context."""
    if type(resource) is not dict:
        return None
    properties = resource.get("properties")
    if properties is None:
        properties = _EMPTY
    product = resource.get("id")
    if not (
        type(properties) is dict and type(product) is str and product
        and resource.get("type", "DataProduct") == "DataProduct"
    ):  # fmt: skip
        return None
    columns = None
    if properties:
        if not _RESOURCE_PROPERTIES.issuperset(properties):
            return None
        columns = properties.get("columns")
        if columns is not None:
            if columns == "*" or columns == ["*"]:
                columns = None
            elif type(columns) in _LISTS:
                try:
                    "".join(columns)
                except TypeError:
                    return None
                columns = tuple(columns)
            else:
                return None
    principal, action, _, groups, attributes, _, context, principal_type = request
    return _new_request(AccessRequest, (
        principal, action, product, groups, attributes, columns, context, principal_type,
    ))  # fmt: skip
