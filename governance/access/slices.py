"""Slicing: which policies can apply to an (action, owning domain) pair.

The scope rule lives here: a slice holds the global policies and the owning domain's, never
another domain's, so the cost of a decision does not grow with the number of domains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from governance.cedar_bridge import pst
from governance.tree.cedar_files import SourcePolicy
from governance.tree.layers import PolicyTree

SliceKey = tuple[str, str]  # (action, domain)


def action_ancestry(tree: PolicyTree) -> dict[str, frozenset[str]]:
    """Each action with itself and every action group above it."""
    parents = {a.name: set(a.parents) for a in tree.config.action_specs()}
    closure: dict[str, frozenset[str]] = {}
    for action in parents:
        seen, stack = {action}, list(parents[action])
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.add(parent)
                stack.extend(parents.get(parent, ()))
        closure[action] = frozenset(seen)
    return closure


def applies_to_action(template: pst.Template, ancestry: frozenset[str]) -> bool:
    constraint = template.action
    if isinstance(constraint, pst.ActionEq):
        return constraint.entity.id in ancestry
    if isinstance(constraint, pst.ActionIn):
        return any(uid.id in ancestry for uid in constraint.entities)
    return True


Slices = dict[SliceKey, tuple[SourcePolicy, ...]]


def build_slices(
    tree: PolicyTree, known: Mapping[SliceKey, tuple[SourcePolicy, ...]] | None = None
) -> Slices:
    """Every (action, domain) slice; those in `known` (slices of unchanged domains, built by an
    earlier load with the same global layer and actions) are taken as they are."""
    ancestry = action_ancestry(tree)
    known = known or {}
    slices: Slices = {}
    for action, ancestors in ancestry.items():
        for domain in tree.domains:
            kept = known.get((action, domain))
            slices[action, domain] = (
                kept if kept is not None else _select(tree.policies_in_scope(domain), ancestors)
            )
    return slices


def _select(policies: Iterable[SourcePolicy], ancestry: frozenset[str]) -> tuple[SourcePolicy, ...]:
    return tuple(p for p in policies if applies_to_action(p.template, ancestry))
