"""What a policy reads of the resource, and a resource's signature under it.

Partial evaluation (`governance.compiler.partial`) folds a policy for one catalog resource, and
what it folds depends only on what the policy reads of that resource: its type, the attributes
it names, whether it is one of the entities the policy tests it against, its tags. Resources
with equal signatures therefore get the same residual, so a policy is specialised once per
signature instead of once per resource (a domain's columns and products mostly share a few).

Anything the reading cannot account for (the resource used as a value, an `in` test against a
computed set) makes the resource its own signature: sharing is an optimisation, never a guess.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from governance.cedar_bridge import pst
from governance.compiler import Entity, EntityUID

_ABSENT = object()  # an attribute the resource does not have


class Reads(NamedTuple):
    """What one policy reads of the resource; `whole` means it reads the resource itself."""

    attributes: tuple[str, ...] = ()
    targets: tuple[EntityUID, ...] = ()  # entities the resource is compared with or tested `in`
    ancestors: bool = False  # an `in` test against something other than entity literals
    tags: bool = False
    whole: bool = False


_WHOLE = Reads(whole=True)


def reads(template: pst.Template) -> Reads:
    """What `template` reads of `resource`, from its scope and every expression of its clauses."""
    found = _Found()
    try:
        found.scope(template.resource)
        for clause in template.clauses:
            found.expr(clause.expr)
    except _ReadsWhole:
        return _WHOLE
    return Reads(
        tuple(sorted(found.attributes)), tuple(sorted(found.targets)), found.ancestors, found.tags
    )


def merge(all_reads: Iterable[Reads]) -> Reads:
    """What a set of policies reads together: equal signatures under it are equal under each."""
    attributes: set[str] = set()
    targets: set[EntityUID] = set()
    ancestors = tags = False
    for one in all_reads:
        if one.whole:
            return _WHOLE
        attributes.update(one.attributes)
        targets.update(one.targets)
        ancestors |= one.ancestors
        tags |= one.tags
    return Reads(tuple(sorted(attributes)), tuple(sorted(targets)), ancestors, tags)


def signature(reads: Reads, resource: EntityUID, entity: Entity | None) -> object:
    """The resource as `reads` sees it: equal signatures fold to the same residual."""
    if reads.whole or entity is None:
        return resource
    attrs = entity.attrs
    values = tuple(_typed(attrs.get(name, _ABSENT)) for name in reads.attributes)
    ancestors = entity.ancestors
    tested = tuple((resource == t, t in ancestors) for t in reads.targets)
    return (
        resource.type,
        values,
        tested,
        ancestors if reads.ancestors else None,
        frozenset((k, _typed(v)) for k, v in entity.tags.items()) if reads.tags else None,
    )


def _typed(value: object) -> tuple[type, object]:
    # Python's `1 == True` must not make a Long and a Bool share a signature.
    return type(value), value


class _ReadsWhole(Exception):
    """The policy uses the resource in a way a signature cannot capture."""


class _Found:
    def __init__(self) -> None:
        self.attributes: set[str] = set()
        self.targets: set[EntityUID] = set()
        self.ancestors = False
        self.tags = False

    def scope(self, scope: object) -> None:
        if isinstance(scope, pst.ScopeEq | pst.ScopeIn | pst.ScopeIsIn):
            if not isinstance(scope.entity, pst.EntityUid):
                raise _ReadsWhole  # a template slot
            self.targets.add(_uid(scope.entity))

    def expr(self, node: object) -> None:
        """Record each use of `resource` by the node that reads it; walk everything else."""
        if isinstance(node, pst.Var):
            if node.name == "resource":
                raise _ReadsWhole  # the resource as a value
            return
        if _is_resource(getattr(node, "base", None)):
            if isinstance(node, pst.GetAttr):
                self.attributes.add(node.attr)
                return
            if isinstance(node, pst.HasAttr):
                self.attributes.add(node.attrs[0])
                return
            if isinstance(node, pst.Is):
                if node.in_expr is not None:
                    self._member_of(node.in_expr)
                return
        if isinstance(node, pst.BinaryOp) and _is_resource(node.left):
            if node.op == "in":
                self._member_of(node.right)
                return
            if node.op in ("has_tag", "get_tag"):
                self.tags = True
                self.expr(node.right)
                return
        for child in _children(node):
            self.expr(child)

    def _member_of(self, node: object) -> None:
        literals = node.elements if isinstance(node, pst.Set) else (node,)
        if all(isinstance(e, pst.EntityLit) for e in literals):
            self.targets.update(_uid(e.value) for e in literals)  # type: ignore[attr-defined]
        else:
            self.ancestors = True
            self.expr(node)


def _is_resource(node: object) -> bool:
    return isinstance(node, pst.Var) and node.name == "resource"


def _children(node: object) -> Iterator[Any]:
    if isinstance(node, tuple | list):
        yield from node
    elif isinstance(node, pst.FrozenMap):
        yield from node.values()
    elif dataclasses.is_dataclass(node):
        for name in _field_names(node if isinstance(node, type) else type(node)):
            value = getattr(node, name)
            if isinstance(value, tuple | list | pst.FrozenMap) or dataclasses.is_dataclass(value):
                yield value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A node class's field names, read once (`dataclasses.fields` per node is slow)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _uid(node: pst.EntityUid) -> EntityUID:
    return EntityUID(str(node.type), node.id)
