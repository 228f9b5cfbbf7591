"""The compiled evaluator: each slice's policies compiled to Python (Cedar's semantics) and
specialised, per catalog resource, into a plan (see `governance.access.plans`).

A request is bound once (`governance.access.evaluator.BoundRequest`): one object serves as the
principal's entity and as the store the policies read (the catalog plus that principal).

A slice holding any policy the compiler cannot handle is evaluated by cedarpy instead, whole and
transparently (its targets get `CedarPlan`s in the same table), so correctness never depends on
the compiler's coverage.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any

from governance.access.answer import OnForbidError, PolicyRef
from governance.access.catalog_entities import CATALOG_TYPES, Catalog
from governance.access.cedar_evaluator import CedarSlices
from governance.access.evaluator import BoundRequest, Plan, PlanKey, Reuse
from governance.access.plans import Planner
from governance.access.principal_groups import GROUP, groups_named
from governance.access.request import AccessRequest
from governance.access.slices import SliceKey
from governance.cedar_bridge import held_as_text, pst
from governance.compiler import (
    CompiledPolicy,
    Entity,
    EntityStore,
    EntityUID,
    Record,
    compile_policy,
)
from governance.compiler.jsonvalues import read_record
from governance.compiler.partial import KnownStore
from governance.errors import CompileError
from governance.release import let_go
from governance.tree.layers import GLOBAL


class CompiledEvaluator:
    def __init__(
        self,
        slices: Mapping[SliceKey, Sequence[pst.Template]],
        catalog: Catalog,
        refs: Mapping[str, PolicyRef],
        on_forbid_error: OnForbidError = "deny",
        reuse: Reuse | None = None,
    ) -> None:
        previous = reuse.previous if reuse and type(reuse.previous) is CompiledEvaluator else None
        if previous is None or reuse is None:
            self._store = EntityStore.from_json(catalog.entities())
            self._parts = _parts(self._store, catalog)
            compiled, failed = _compile_all(slices, {})
        else:
            self._store, self._parts = _updated_store(previous, catalog, reuse.catalog)
            unchanged = reuse.catalog | {GLOBAL}
            kept = {
                pid: policy for pid, policy in previous._compiled.items()
                if policy.id.partition("/")[0] in unchanged
            }  # fmt: skip
            compiled, failed = _compile_all(slices, kept)
        self._compiled: dict[str, CompiledPolicy] = compiled
        self._fallback_ids = frozenset(failed)
        self._fallback_reasons = failed
        self._slices: dict[SliceKey, tuple[CompiledPolicy, ...]] = {}
        self._templates = slices
        fallback: dict[SliceKey, Sequence[pst.Template]] = {}
        # A slice of the very templates the previous evaluator had (a kept domain's) keeps its
        # compiled policies, and its domain what its policies name.
        earlier_templates = {} if previous is None else previous._templates
        fresh: set[str] = set()
        for key, templates in slices.items():
            if failed and any(t.id in failed for t in templates):
                fallback[key] = templates
            elif earlier_templates.get(key) is templates and key in previous._slices:  # type: ignore[union-attr]
                self._slices[key] = previous._slices[key]  # type: ignore[union-attr]
            else:
                self._slices[key] = tuple(compiled[t.id] for t in templates)
                fresh.add(key[1])
        entities = catalog.entities() if fallback else []
        self._fallback = CedarSlices(fallback, entities, refs, on_forbid_error)
        # What each policy names is read once per compiled policy: a kept one keeps its reading.
        before: Mapping[str, CompiledPolicy] = {} if previous is None else previous._compiled
        earlier: Mapping[str, frozenset[str] | None] = {} if previous is None else previous._groups
        self._groups: dict[str, frozenset[str] | None] = {
            pid: earlier[pid] if before.get(pid) is policy and pid in earlier
            else groups_named((policy.template,))
            for pid, policy in compiled.items() if pid not in failed
        }  # fmt: skip
        if previous is None:
            self._tested = _tested_by_domain(self._slices, self._groups)
        else:
            rebuilt = {k: v for k, v in self._slices.items() if k[1] in fresh}
            domains = {k[1] for k in self._slices} - fresh
            self._tested = {d: previous._tested[d] for d in domains if d in previous._tested}
            self._tested.update(_tested_by_domain(rebuilt, self._groups))
        self._refs, self._mode = refs, on_forbid_error
        # Per domain whose policies name groups: group lists already bound (see `bind`).
        self._bound_groups: dict[str, dict[tuple[str, ...], frozenset[EntityUID]]] = {
            domain: {} for domain, tested in self._tested.items() if tested is not None
        }
        self._kept_lists = 0  # group lists kept, over every domain (bounded: `_ancestors`)

    def fallback_policies(self) -> frozenset[str]:
        return self._fallback_ids

    def fallback_reasons(self) -> Mapping[str, str]:
        return self._fallback_reasons

    def plans(self, targets: Iterable[PlanKey]) -> dict[PlanKey, Plan]:
        """The plan table; the planner and its caches live only while it is built."""
        # Catalog entities never change between requests; a principal never has their types.
        planner = Planner(KnownStore(self._store, CATALOG_TYPES), self._refs, self._mode)
        table: dict[PlanKey, Plan] = {}
        actions: dict[str, EntityUID] = {}
        for key, resource in targets:
            policies = self._slices.get(key)
            if policies is None:
                table[key, resource] = self._fallback.plan(key, resource)
                continue
            action = actions.get(key[0])
            if action is None:
                action = actions[key[0]] = EntityUID("Action", key[0])
            table[key, resource] = planner.plan(policies, action, resource)
        # Its caches are as big as the table: freed in one go, they would stall deciding
        # threads for a tenth of a second at 10,000 policies.
        done = [planner]
        del planner
        let_go(done)
        return table

    def bind(self, request: AccessRequest, domain: str, plain: bool = False) -> BoundRequest:
        principal: EntityUID = _new_uid(EntityUID, (request.principal_type, request.principal))
        groups: Collection[str] = request.groups
        # A few groups, as the reader gives them, bind to what they bound to before: one
        # lookup instead of an intersection and a set of uids built on every request.
        few = groups if type(groups) is tuple and len(groups) <= _KEPT_GROUPS else None
        known = None if few is None else self._bound_groups.get(domain)
        ancestors = None if known is None else known.get(few)  # type: ignore[arg-type]
        if ancestors is None:
            ancestors = self._ancestors(groups, domain, known)
        attributes, context = request.attributes, request.context
        if plain:  # strings, booleans and longs only: taken as they are
            record = Record(context)
        else:
            attributes, record = _attributes(attributes), cedar_record(context)
        return BoundRequest(
            principal, attributes, ancestors, record,
            self._store.get,
            self._fallback.bind(request, domain) if domain in self._fallback.domains else None,
        )  # fmt: skip

    def _ancestors(
        self,
        groups: Collection[str],
        domain: str,
        known: dict[tuple[str, ...], frozenset[EntityUID]] | None,
    ) -> frozenset[EntityUID]:
        """The principal's groups as its ancestors in `domain` (only those the domain's
        policies name), kept in `known` (given only for a short tuple of groups; bounded)."""
        tested = self._tested.get(domain, _ANY_GROUP)
        named = groups
        if tested is not None:  # only the groups the domain's policies name can matter
            named = tested.intersection(groups) if groups else ()
        # Group uids are only ever tested for membership, so plain (type, id) tuples serve:
        # they hash and compare exactly as EntityUIDs do, and cost no constructor call.
        ancestors: frozenset[EntityUID] = frozenset(zip(repeat(GROUP), named))  # type: ignore[arg-type]
        # Kept only when short in characters too: the key holds the request's own strings,
        # which a hostile stream could make as long as a body allows.
        if known is not None and sum(map(len, groups)) <= _KEPT_CHARACTERS:
            if self._kept_lists >= _KEPT_PRINCIPALS:
                # Bounded over all domains: a stream of ever new group lists starts over.
                for kept in self._bound_groups.values():
                    kept.clear()
                self._kept_lists = 0
            known[groups] = ancestors  # type: ignore[index]
            self._kept_lists += 1
        return ancestors


# Group lists kept (over all domains), each of at most so many groups (a longer one is
# hashed, and kept, at a cost that grows with it, so it is intersected each time instead)
# and characters (so what is kept stays under a few megabytes, whatever the requests).
_KEPT_PRINCIPALS, _KEPT_GROUPS, _KEPT_CHARACTERS = 4096, 32, 1024
_PLAIN = frozenset({str, int, bool})
_ANY_GROUP = None  # a domain without compiled slices binds every group (it has no plans to cut for)


def _tested_by_domain(
    slices: Mapping[SliceKey, Sequence[CompiledPolicy]],
    by_policy: Mapping[str, frozenset[str] | None],
) -> dict[str, frozenset[str] | None]:
    """Per domain, the groups its compiled policies can test a principal against (None: any),
    from what each policy names (`by_policy`, read once per policy)."""
    named: dict[str, set[str] | None] = {}
    for (_, domain), policies in slices.items():
        groups = named.setdefault(domain, set())
        for policy in policies:
            if groups is None:
                break
            found = by_policy[policy.id]
            if found is None:
                groups = named[domain] = None
            else:
                groups |= found
    return {domain: None if g is None else frozenset(g) for domain, g in named.items()}


_new_uid = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


def cedar_record(values: Mapping[str, Any]) -> Record:
    """Request values as a Cedar record; strings, longs and booleans pass through untouched."""
    if _PLAIN.issuperset(map(type, values.values())):
        return Record(values)
    return read_record(values)


def _attributes(values: Mapping[str, Any]) -> Mapping[str, Any]:
    """The principal's attributes: policies only look them up by name, so plain values need
    no copy into a Record (sets and records among them are read as Cedar values)."""
    if _PLAIN.issuperset(map(type, values.values())):
        return values
    return read_record(values)


_Parts = dict[str, tuple[Entity, ...]]  # the store's entities by catalog part ("" the actions)


def _parts(store: EntityStore, catalog: Catalog) -> _Parts:
    """The entities of each domain's part of the catalog, and of the actions, in `store`."""
    parts = {
        name: tuple(_kept(store, item) for item in part) for name, part in catalog.domains.items()
    }
    parts[""] = tuple(_kept(store, item) for item in catalog.actions)
    return parts


def _updated_store(
    previous: CompiledEvaluator, catalog: Catalog, same: frozenset[str]
) -> tuple[EntityStore, _Parts]:
    """The catalog store with the entities of unchanged domains and the actions (the global
    layer is unchanged too) taken from the previous store as they are, the others read anew.
    Each part's hierarchy lies within it (a column's product, a product's domain; an action's
    parents are actions), so what the previous store closed stays closed."""
    parts = {"": previous._parts[""]}
    fresh: dict[str, tuple[dict[str, Any], ...]] = {}
    for name, part in catalog.domains.items():
        if name in same:
            parts[name] = previous._parts[name]
        else:
            fresh[name] = part
    read = EntityStore.from_json([e for part in fresh.values() for e in part])
    parts.update((name, tuple(_kept(read, item) for item in part)) for name, part in fresh.items())
    kept = [e for name, part in parts.items() if name == "" or name in same for e in part]
    return EntityStore.joined(kept, previous._store, read), parts


def _kept(store: EntityStore, item: Mapping[str, Any]) -> Entity:
    entity = store.get(EntityUID(item["uid"]["type"], item["uid"]["id"]))
    if entity is None:  # never: each entity of the catalog part was read into `store`
        raise RuntimeError(f"entity {item['uid']} missing from the catalog store")
    return entity


def _compile_all(
    slices: Mapping[SliceKey, Sequence[pst.Template]],
    kept: Mapping[str, CompiledPolicy],
) -> tuple[dict[str, CompiledPolicy], dict[str, str]]:
    """Compile each distinct policy once (slices share the global layer's); `kept` are
    policies compiled before whose text is unchanged."""
    compiled: dict[str, CompiledPolicy] = dict(kept)
    failed: dict[str, str] = {}
    for templates in slices.values():
        for template in templates:
            if template.id in compiled or template.id in failed:
                continue
            held = held_as_text(template)
            if held is not None:
                failed[template.id] = (
                    f"cedarpy's typed nodes cannot hold this policy ({held[1]}); "
                    "cedarpy evaluates its text"
                )
                continue
            try:
                compiled[template.id] = compile_policy(template, template.id)
            except CompileError as exc:
                failed[template.id] = str(exc)
    return compiled, failed
