"""The slice of a Cedar schema the compiled evaluator needs: attribute, tag and context types
(to read JSON values the way Cedar does) and the action hierarchy.

cedarpy validates the schema (text or JSON) and renders it back as normalised Cedar schema
text; this module parses that rendering with a small recursive-descent parser, so both input
forms go through one path and cedarpy remains the judge of what a valid schema is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

import cedarpy

from governance.compiler.literals import unescape
from governance.compiler.statements import MAX_NESTING, nesting_failure
from governance.compiler.values import EntityUID

# --- resolved types ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Primitive:
    name: str  # "Long", "String" or "Bool"


@dataclass(frozen=True, slots=True)
class SetType:
    element: SchemaType


@dataclass(frozen=True, slots=True)
class RecordType:
    attributes: Mapping[str, SchemaType]
    optional: frozenset[str] = frozenset()  # declared `name?: T`; every other one is required

    @property
    def required(self) -> frozenset[str]:
        return frozenset(self.attributes) - self.optional


@dataclass(frozen=True, slots=True)
class EntityType:
    name: str


@dataclass(frozen=True, slots=True)
class ExtensionType:
    name: str  # "decimal", "ipaddr", "datetime" or "duration"


SchemaType = Union[Primitive, SetType, RecordType, EntityType, ExtensionType]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class EntityDecl:
    attributes: RecordType
    tags: SchemaType | None


@dataclass(frozen=True, slots=True)
class ActionDecl:
    context: RecordType
    member_of: tuple[EntityUID, ...]
    principals: frozenset[str] = frozenset()  # full names of the `appliesTo` principal types


@dataclass(frozen=True, slots=True)
class Schema:
    """Entity types by full name, and actions by uid."""

    entities: Mapping[str, EntityDecl] = field(default_factory=dict)
    actions: Mapping[EntityUID, ActionDecl] = field(default_factory=dict)

    def context_type(self, action: EntityUID) -> RecordType | None:
        decl = self.actions.get(action)
        return decl.context if decl else None


SchemaInput = Union[str, Mapping[str, object], Schema, None]  # noqa: UP007


def load_schema(source: SchemaInput) -> Schema | None:
    """Read a schema given as Cedar schema text, JSON text, a JSON dict, or a :class:`Schema`."""
    if source is None or isinstance(source, Schema):
        return source
    if isinstance(source, Mapping):
        try:
            source = json.dumps(source)
        except RecursionError:
            raise ValueError(f"schema nests deeper than {MAX_NESTING} levels") from None
    # cedarpy's schema parser overflows the C stack (SIGSEGV) on deep nesting: refused first
    failure = nesting_failure(source, schema=True)
    if failure is not None:
        line, column, message = failure
        raise ValueError(f"{line}:{column}: {message}")
    if source.lstrip().startswith("{"):
        handle = cedarpy.Schema.from_json_str(source)
    else:
        handle = cedarpy.Schema.from_str(source)
    return _Parser(str(handle)).parse()


# --- tokens ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
      | (?P<sep>::)
      | (?P<punct>[{}\[\]<>(),;:?=@])""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected character in schema at offset {position}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))
        position = match.end()
    tokens.append(("end", ""))
    return tokens


def _unquote(token: str) -> str:
    return unescape(token[1:-1])


# --- unresolved type syntax ------------------------------------------------------------

_RawType = Union[tuple[str, str, str], tuple[str, object]]  # noqa: UP007
_BUILTINS = {"Long", "String", "Bool"}
_EXTENSIONS = {"decimal", "ipaddr", "datetime", "duration"}


def _qualify(namespace: str, name: str) -> str:
    return f"{namespace}::{name}" if namespace else name


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.common: dict[str, tuple[object, str]] = {}
        self.entity_raw: dict[str, tuple[object, object, str]] = {}
        self.action_raw: dict[EntityUID, tuple[object, tuple[EntityUID, ...], str, list[str]]] = {}

    # token helpers
    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position]

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def accept(self, text: str) -> bool:
        if self.peek()[1] == text and self.peek()[0] != "string":
            self.position += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise ValueError(f"schema: expected `{text}`, found `{self.peek()[1]}`")

    def name(self) -> str:
        kind, text = self.take()
        if kind == "string":
            return _unquote(text)
        if kind != "ident":
            raise ValueError(f"schema: expected a name, found `{text}`")
        return text

    def path(self) -> str:
        parts = [self.name()]
        while self.peek()[0] == "sep" and self.tokens[self.position + 1][0] == "ident":
            self.take()
            parts.append(self.name())
        return "::".join(parts)

    def skip_annotations(self) -> None:
        while self.accept("@"):
            self.name()
            if self.accept("("):
                self.take()
                self.expect(")")

    # declarations
    def parse(self) -> Schema:
        while self.peek()[0] != "end":
            self.skip_annotations()
            if self.accept("namespace"):
                namespace = self.path()
                self.expect("{")
                while not self.accept("}"):
                    self.declaration(namespace)
            else:
                self.declaration("")
        return self.resolve_all()

    def declaration(self, namespace: str) -> None:
        self.skip_annotations()
        keyword = self.name()
        if keyword == "entity":
            self.entity(namespace)
        elif keyword == "action":
            self.action(namespace)
        elif keyword == "type":
            name = self.name()
            self.expect("=")
            self.common[_qualify(namespace, name)] = (self.type_expr(), namespace)
            self.expect(";")
        else:
            raise ValueError(f"schema: unexpected `{keyword}`")

    def entity(self, namespace: str) -> None:
        names = [self.name()]
        while self.accept(","):
            names.append(self.name())
        shape: object = ("record", {})
        tags: object = None
        if self.accept("enum"):
            self.expect("[")
            while not self.accept("]"):
                self.take()
                self.accept(",")
        else:
            if self.accept("in"):
                self.type_names()
            self.accept("=")
            if self.peek()[1] == "{":
                shape = self.type_expr()
            if self.accept("tags"):
                tags = self.type_expr()
        self.expect(";")
        for name in names:
            self.entity_raw[_qualify(namespace, name)] = (shape, tags, namespace)

    def type_names(self) -> list[str]:
        if not self.accept("["):
            return [self.path()]
        names = []
        while not self.accept("]"):
            names.append(self.path())
            self.accept(",")
        return names

    def action_ref(self, namespace: str) -> EntityUID:
        if self.peek()[0] == "string":
            return EntityUID(_qualify(namespace, "Action"), self.name())
        action_type = self.path()
        self.expect("::")
        if "::" not in action_type:
            action_type = _qualify(namespace, action_type)
        return EntityUID(action_type, self.name())

    def action(self, namespace: str) -> None:
        names = [self.name()]
        while self.accept(","):
            names.append(self.name())
        parents: list[EntityUID] = []
        if self.accept("in"):
            if self.accept("["):
                while not self.accept("]"):
                    parents.append(self.action_ref(namespace))
                    self.accept(",")
            else:
                parents.append(self.action_ref(namespace))
        context: object = ("record", {})
        principals: list[str] = []
        if self.accept("appliesTo"):
            self.expect("{")
            while not self.accept("}"):
                key = self.name()
                self.expect(":")
                if key == "context":
                    context = self.type_expr()
                elif key == "principal":
                    principals = self.type_names()
                else:
                    self.type_names()
                self.accept(",")
        self.expect(";")
        for name in names:
            uid = EntityUID(_qualify(namespace, "Action"), name)
            self.action_raw[uid] = (context, tuple(parents), namespace, principals)

    def type_expr(self) -> object:
        if self.accept("{"):
            attributes: dict[str, object] = {}
            optional: set[str] = set()
            while not self.accept("}"):
                self.skip_annotations()
                name = self.name()
                if self.accept("?"):
                    optional.add(name)
                self.expect(":")
                attributes[name] = self.type_expr()
                self.accept(",")
            return ("record", attributes, frozenset(optional))
        name = self.path()
        if name == "Set" and self.accept("<"):
            element = self.type_expr()
            self.expect(">")
            return ("set", element)
        return ("name", name)

    # resolution
    def resolve_all(self) -> Schema:
        entities = {
            name: EntityDecl(
                attributes=self.as_record(self.resolve(shape, namespace)),
                tags=None if tags is None else self.resolve(tags, namespace),
            )
            for name, (shape, tags, namespace) in self.entity_raw.items()
        }
        actions = {
            uid: ActionDecl(
                self.as_record(self.resolve(context, namespace)),
                parents,
                frozenset(self.entity_name(p, namespace) for p in principals),
            )
            for uid, (context, parents, namespace, principals) in self.action_raw.items()
        }
        return Schema(entities, actions)

    @staticmethod
    def as_record(resolved: SchemaType) -> RecordType:
        if not isinstance(resolved, RecordType):
            raise ValueError("schema: expected a record type")
        return resolved

    def resolve(self, raw: object, namespace: str) -> SchemaType:
        assert isinstance(raw, tuple)
        kind, value = raw[0], raw[1]
        if kind == "record":
            assert isinstance(value, dict)
            optional = raw[2] if len(raw) > 2 else frozenset()
            assert isinstance(optional, frozenset)
            return RecordType({k: self.resolve(v, namespace) for k, v in value.items()}, optional)
        if kind == "set":
            return SetType(self.resolve(value, namespace))
        assert isinstance(value, str)
        return self.resolve_name(value, namespace)

    def entity_name(self, name: str, namespace: str) -> str:
        """The full name of an entity type named in `namespace` (the name as written when
        the schema does not declare it: cedarpy has already refused such a schema)."""
        for candidate in [_qualify(namespace, name), name] if namespace else [name]:
            if candidate in self.entity_raw:
                return candidate
        return name

    def resolve_name(self, name: str, namespace: str) -> SchemaType:
        candidates = [_qualify(namespace, name), name] if namespace else [name]
        for candidate in candidates:
            if candidate in self.common:
                raw, declared_in = self.common[candidate]
                return self.resolve(raw, declared_in)
            if candidate in self.entity_raw:
                return EntityType(candidate)
        builtin = name.removeprefix("__cedar::")
        if builtin in _BUILTINS:
            return Primitive(builtin)
        if builtin in _EXTENSIONS:
            return ExtensionType(builtin)
        raise ValueError(f"schema: unknown type `{name}`")
