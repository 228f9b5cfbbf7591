"""The groups a slice's policies can test a principal against, so a request in thousands of
groups is bound with only the few that can matter.

A principal's groups are read by membership tests only (`principal in Group::"g"`, in a scope
or a condition). When every `in` of a domain's policies tests against entity literals, a group
that no policy names can change no answer: binding the request's groups intersected with the
named ones is exact, and costs what the named side costs when the caller passes a frozenset
(a frozenset intersection walks the smaller side). One `in` against a computed value
(`principal in context.team`, `principal in resource.owners`) could test any group, and then
the domain keeps every group of the request, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from governance.cedar_bridge import pst

GROUP = "Group"  # the entity type of a principal's groups (`governance.access.catalog_entities`)


def groups_named(templates: Iterable[pst.Template]) -> frozenset[str] | None:
    """Every `Group` id the policies name; None when one of them tests `in` against anything
    but entity literals, so that any group could matter."""
    named: set[str] = set()
    for template in templates:
        found = _named_groups(template)
        if found is None:
            return None
        named |= found
    return frozenset(named)


def _named_groups(template: pst.Template) -> set[str] | None:
    named: set[str] = set()
    for scope in (template.principal, template.resource):
        entity = getattr(scope, "entity", None)
        if isinstance(entity, pst.Slot):
            return None  # a template slot: any entity, linked later
    stack: list[Any] = [template.principal, template.resource, template.action]
    stack += [clause.expr for clause in template.clauses]
    while stack:  # an explicit stack: a deeply nested condition cannot exhaust the C stack
        node = stack.pop()
        if isinstance(node, pst.EntityUid):
            if str(node.type) == GROUP:
                named.add(node.id)
        elif isinstance(node, pst.BinaryOp):
            if node.op == "in" and not _literal_entities(node.right):
                return None
            stack += (node.left, node.right)
        elif isinstance(node, pst.Is):
            if node.in_expr is not None and not _literal_entities(node.in_expr):
                return None
            stack += (node.base, node.in_expr)
        elif isinstance(node, tuple):
            stack += node
        elif isinstance(node, pst.FrozenMap):
            stack += node.values()
        elif hasattr(node, "__dataclass_fields__"):
            stack += (getattr(node, name) for name in node.__dataclass_fields__)
    return named


def _literal_entities(node: object) -> bool:
    """An entity literal, or a set literal of them: what an `in` can test without a lookup."""
    elements = node.elements if isinstance(node, pst.Set) else (node,)
    return all(isinstance(e, pst.EntityLit) for e in elements)
