"""Entity stores: entities by uid with their transitive ancestors precomputed, and a cheap
per-request overlay on top of a shared base store.

Compiled policies read a store through one call only, ``store.get(uid)`` (the
:class:`Entity` or ``None``, whose ``ancestors`` are already closed); both store kinds also
offer ``store.ancestors(uid)`` for building. On :class:`EntityStore`, ``get`` is the
underlying dict's own ``get``, so a lookup costs one C call.

Build a base store once with :meth:`EntityStore.from_json` (Cedar's JSON entity format,
optionally schema-directed) or from :class:`Entity` objects; per request, add the few
request-specific entities with :meth:`EntityStore.overlay`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from governance.compiler.jsonvalues import (
    has_unknown,
    read_json_uid,
    read_record,
    read_value,
    write_value,
)
from governance.compiler.schema import Schema, SchemaInput, load_schema
from governance.compiler.values import EMPTY_RECORD, CedarSet, EntityUID, Record

NO_ANCESTORS: frozenset[EntityUID] = frozenset()
NO_TAGS: Mapping[str, object] = {}


class Entity:
    """One entity. ``parents`` are the declared parents; a store fills ``ancestors`` (the
    transitive closure) when the entity is added to it (the store adopts the object)."""

    __slots__ = ("ancestors", "attrs", "parents", "tags", "uid")

    def __init__(
        self,
        uid: EntityUID,
        attrs: Mapping[str, object] = EMPTY_RECORD,
        parents: Iterable[EntityUID] = (),
        tags: Mapping[str, object] = NO_TAGS,
    ) -> None:
        self.uid = uid
        self.attrs = attrs
        self.parents = tuple(parents)
        self.ancestors: frozenset[EntityUID] = frozenset(self.parents)
        self.tags = tags

    def __repr__(self) -> str:
        return f"Entity({self.uid}, parents={list(map(str, self.parents))})"


class Store(Protocol):
    """What a compiled policy needs from an entity store."""

    def get(self, uid: EntityUID, /) -> Entity | None: ...


def _close(
    entities: Mapping[EntityUID, Entity],
    known: Callable[[EntityUID], frozenset[EntityUID] | None],
) -> None:
    """Set each entity's ``ancestors`` to the transitive closure of its parents.

    ``known`` gives an already-closed ancestor set for uids outside ``entities`` (the base of
    an overlay). A cycle is an error, as in Cedar (which refuses such an entity set).
    """
    done: dict[EntityUID, frozenset[EntityUID]] = {}
    for uid, entity in entities.items():
        seen: set[EntityUID] = set()
        stack = list(entity.parents)
        while stack:
            parent = stack.pop()
            if parent in seen:
                continue
            seen.add(parent)
            closed = done.get(parent)
            if closed is None and parent not in entities:
                closed = known(parent)
            if closed is not None:
                seen |= closed
            elif parent in entities:
                stack.extend(entities[parent].parents)
        if uid in seen:
            raise ValueError(f"the entity hierarchy has a cycle containing `{uid}`")
        done[uid] = entity.ancestors = frozenset(seen)


def _share_equal_values(entities: Iterable[Entity]) -> None:
    """Equal ancestor sets, and equal sets among the attributes, become one object: a
    catalog's columns mostly hold the same few (a product's ancestors, its labels), and
    every value here is immutable, so sharing changes nothing but the memory they take."""
    ancestors: dict[frozenset[EntityUID], frozenset[EntityUID]] = {}
    sets: dict[CedarSet, CedarSet] = {}
    for entity in entities:
        entity.ancestors = ancestors.setdefault(entity.ancestors, entity.ancestors)
        attrs = entity.attrs
        if type(attrs) is not Record:
            continue
        for name, value in attrs.items():
            if type(value) is CedarSet:
                attrs[name] = sets.setdefault(value, value)


class EntityStore:
    """An immutable set of entities with precomputed transitive ancestors."""

    __slots__ = ("__weakref__", "_entities", "get", "unknowns")

    def __init__(self, entities: Iterable[Entity] = ()) -> None:
        table: dict[EntityUID, Entity] = {}
        for entity in entities:
            if entity.uid in table:
                raise ValueError(f"duplicate entity `{entity.uid}`")
            table[entity.uid] = entity
        _close(table, lambda _uid: None)
        _share_equal_values(table.values())
        self._entities = table
        self.unknowns = any(map(_holds_unknown, table.values()))
        """Does some entity hold an ``unknown(...)`` value (which only cedarpy evaluates)?"""
        self.get: Callable[[EntityUID], Entity | None] = table.get

    @classmethod
    def from_json(
        cls, data: str | Iterable[Mapping[str, object]], schema: SchemaInput = None
    ) -> EntityStore:
        """Read Cedar's JSON entity list (a list, or its JSON text). With a schema, attribute
        and tag values are read as their declared types and the schema's actions (with their
        ``memberOf`` hierarchy) are added unless the list defines them."""
        items = json.loads(data) if isinstance(data, str) else data
        if not isinstance(items, list):
            raise ValueError("entities must be a JSON list")
        parsed = load_schema(schema)
        entities = [_read_entity(item, parsed) for item in items]
        if parsed is not None:
            defined = {entity.uid for entity in entities}
            entities.extend(
                Entity(uid, parents=decl.member_of)
                for uid, decl in parsed.actions.items()
                if uid not in defined
            )
        return cls(entities)

    @classmethod
    def joined(cls, kept: Iterable[Entity], base: EntityStore, fresh: EntityStore) -> EntityStore:
        """The `kept` entities of `base` and all of `fresh`, as they are: nothing is read or
        closed again. Each kept entity's hierarchy must lie among the kept ones (a reload keeps
        whole parts of a catalog whose entities name parents only within their part); a uid in
        both is an error, as in the constructor."""
        table: dict[EntityUID, Entity] = {}
        kept = list(kept)
        for entity in (*kept, *fresh._entities.values()):
            if entity.uid in table:
                raise ValueError(f"duplicate entity `{entity.uid}`")
            table[entity.uid] = entity
        store = cls.__new__(cls)
        store._entities = table
        store.unknowns = fresh.unknowns or (base.unknowns and any(map(_holds_unknown, kept)))
        store.get = table.get
        return store

    def ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        entity = self._entities.get(uid)
        return entity.ancestors if entity is not None else NO_ANCESTORS

    def overlay(self, entities: Iterable[Entity]) -> OverlayStore:
        """A store that sees ``entities`` first, then this one. The new entities' ancestors
        are computed through this store. Entities of this store do not gain ancestors from
        the overlay, so overlay entities should be leaves (such as a request's principal)."""
        return OverlayStore(self, entities)

    def to_json(self) -> list[dict[str, object]]:
        """The entities in Cedar's JSON entity format (what cedarpy reads back)."""
        return [entity_json(entity) for entity in self._entities.values()]

    def __len__(self) -> int:
        return len(self._entities)

    def __iter__(self) -> Iterable[Entity]:
        return iter(self._entities.values())


class OverlayStore:
    """A small dict of request-specific entities looked up before a base store."""

    __slots__ = ("__weakref__", "_base", "_base_get", "_local", "unknowns")

    def __init__(self, base: Store, entities: Iterable[Entity]) -> None:
        local = {entity.uid: entity for entity in entities}
        if any(parent in local for entity in local.values() for parent in entity.parents):
            _close(local, lambda uid: None if (found := base.get(uid)) is None else found.ancestors)
        else:
            # The common case (a principal whose groups live in the base): one union each.
            for entity in local.values():
                ancestors = set(entity.parents)
                for parent in entity.parents:
                    found = base.get(parent)
                    if found is not None:
                        ancestors |= found.ancestors
                entity.ancestors = frozenset(ancestors)
        self._local = local
        self._base = base
        self._base_get = base.get
        self.unknowns = getattr(base, "unknowns", False) or any(map(_holds_unknown, local.values()))

    def to_json(self) -> list[dict[str, object]]:
        """The entities seen through the overlay, in Cedar's JSON entity format."""
        to_json = getattr(self._base, "to_json", None)
        if to_json is None:
            raise TypeError(f"the base store `{self._base!r}` cannot be written as JSON")
        base = [item for item in to_json() if read_json_uid(item["uid"]) not in self._local]
        return base + [entity_json(entity) for entity in self._local.values()]

    def get(self, uid: EntityUID) -> Entity | None:
        entity = self._local.get(uid)
        return entity if entity is not None else self._base_get(uid)

    def ancestors(self, uid: EntityUID) -> frozenset[EntityUID]:
        entity = self.get(uid)
        return entity.ancestors if entity is not None else NO_ANCESTORS

    def overlay(self, entities: Iterable[Entity]) -> OverlayStore:
        return OverlayStore(self, entities)


def _read_entity(item: object, schema: Schema | None) -> Entity:
    if not isinstance(item, Mapping) or "uid" not in item:
        raise ValueError(f"malformed entity `{item!r}`")
    uid = read_json_uid(item["uid"])
    if "attrs" not in item or "parents" not in item:
        raise ValueError(f"entity `{uid}` needs `attrs` and `parents`")
    decl = schema.entities.get(uid.type) if schema is not None else None
    attrs = read_record(item["attrs"], decl.attributes if decl is not None else None)
    parents = item["parents"]
    if not isinstance(parents, list):
        raise ValueError(f"entity `{uid}`: `parents` must be a list")
    raw_tags = item.get("tags") or {}
    if not isinstance(raw_tags, Mapping):
        raise ValueError(f"entity `{uid}`: `tags` must be an object")
    tag_type = decl.tags if decl is not None else None
    tags = {str(k): read_value(v, tag_type) for k, v in raw_tags.items()}
    return Entity(uid, attrs, [read_json_uid(parent) for parent in parents], tags)


def _holds_unknown(entity: Entity) -> bool:
    return has_unknown(entity.attrs) or has_unknown(entity.tags)


def entity_json(entity: Entity) -> dict[str, object]:
    """One entity in Cedar's JSON entity format."""
    return {
        "uid": {"type": entity.uid.type, "id": entity.uid.id},
        "attrs": write_value(entity.attrs),
        "parents": [{"type": uid.type, "id": uid.id} for uid in entity.parents],
        "tags": write_value(entity.tags),
    }
