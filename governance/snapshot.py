"""An evaluation snapshot: everything a decision needs, computed once from a valid policy tree.

A snapshot is immutable once built; the engine swaps whole snapshots on reload, so a request
always sees one consistent policy set.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from governance.access.answer import OnForbidError, PolicyRef
from governance.access.catalog_entities import (
    CATALOG_TYPES,
    Catalog,
    action_entities,
    domain_entities,
)
from governance.access.cedar_evaluator import ReferenceEvaluator
from governance.access.compiled_evaluator import CompiledEvaluator
from governance.access.evaluator import AccessEvaluator, Plan, PlanKey, Resource, Reuse
from governance.access.request_schema import RequestSchema
from governance.access.slices import SliceKey, build_slices
from governance.cedar_bridge import pst
from governance.compiler.schema import load_schema
from governance.errors import LoadError, Location, Problem
from governance.rules.classification import Classifier, ProductClassification
from governance.rules.encoded import ProductJson
from governance.rules.masking import MaskingResolver, MaskSource, Strategy
from governance.rules.retention import Retention, RetentionResolver
from governance.rules.waivers import WaiverBook
from governance.tree.catalog import Product
from governance.tree.cedar_files import SourcePolicy
from governance.tree.layers import GLOBAL, Layer, PolicyTree
from governance.tree.load import display_path

EvaluatorName = Literal["compiled", "reference"]


class MaskableColumn(NamedTuple):
    key: str
    level: str
    resource: Resource
    strategy: Strategy  # how the column is masked when it is (masking.yaml)
    strategy_source: MaskSource


@dataclass(frozen=True, slots=True)
class ProductView:
    """A product with its precomputed classification and retention and its maskable columns."""

    product: Product
    classification: ProductClassification
    retention: Retention
    maskable: tuple[MaskableColumn, ...]  # every non-public column
    revisions: Mapping[str, str]
    resource: Resource
    column_keys: frozenset[str]  # every column, public or not
    encoded: ProductJson  # classification, retention and strategies as JSON, for decisions


@dataclass(frozen=True, slots=True)
class Snapshot:
    tree: PolicyTree
    products: Mapping[str, ProductView]
    actions: frozenset[str]
    waivers: WaiverBook
    evaluator: AccessEvaluator
    evaluator_name: EvaluatorName
    plans: Mapping[PlanKey, Plan]  # every (slice, resource) a decision can evaluate
    request_schema: RequestSchema | None = None  # None only for a schema the reader cannot type
    # What the next reload compares against: each domain's catalog entities, the entities each
    # layer's policies name, and which domains this build made afresh (None: all of them).
    catalog: Mapping[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    named: Mapping[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    rebuilt: frozenset[str] | None = None
    # The slices and their templates, and each domain's plan keys: what a reload that keeps a
    # domain takes as it is, instead of selecting, collecting or filtering them again.
    slices: Mapping[SliceKey, tuple[SourcePolicy, ...]] = field(default_factory=dict)
    templates: Mapping[SliceKey, tuple[pst.Template, ...]] = field(default_factory=dict)
    plan_keys: Mapping[str, tuple[PlanKey, ...]] = field(default_factory=dict)
    # Each layer's policy references, kept whole for the next reload while the layer is the same.
    refs: Mapping[str, tuple[Layer, dict[str, PolicyRef]]] = field(default_factory=dict)


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a snapshot is built, restored after.

    A build makes a million objects that live as long as the snapshot, and none of them is
    cyclic garbage: collections during the build find nothing, yet each full one walks every
    object with the interpreter lock held, stalling deciding threads for a second or more.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle_after_swap() -> None:
    """Move everything alive (the new snapshot with it) out of the collector's sight: later
    collections never walk the snapshot again. A replaced snapshot holds no reference cycle
    (tests/test_reload.py checks it), so reference counting alone frees it, and so does a
    snapshot built and never served."""
    gc.freeze()


def build_snapshot(
    tree: PolicyTree,
    problems: list[Problem],
    evaluator: EvaluatorName,
    previous: Snapshot | None = None,
) -> Snapshot:
    """Refuses (LoadError) a tree with any error: a gateway never serves a half-valid set.

    With the `previous` snapshot, what only unchanged domains determine is taken from it
    (see docs/reload.md): a domain whose revision is the same keeps its catalog entities,
    classification and product views, and keeps its slices and plans too unless its policies
    name an entity of a changed domain. A change to the global layer (its policies, rules,
    `governance.yaml` or the schema) rebuilds everything."""
    if any(p.severity == "error" for p in problems):
        raise LoadError(problems)
    with collector_paused():
        same = _unchanged_domains(previous, tree, evaluator)
        snapshot = _build(tree, evaluator, None if same is None else previous, same or frozenset())
        # Frozen before the collector is back: built while it was off, the snapshot's million
        # objects all sit in the youngest generation, and the first collection after would
        # walk every one of them with the interpreter lock held (a stall of a second at 10,000
        # policies) before the swap could freeze them.
        settle_after_swap()
        return snapshot


def _unchanged_domains(
    previous: Snapshot | None, tree: PolicyTree, evaluator: EvaluatorName
) -> frozenset[str] | None:
    """Domains whose revision is the previous snapshot's; None when nothing carries over (no
    previous snapshot, another evaluator, or a changed global layer, config or schema)."""
    if previous is None or previous.evaluator_name != evaluator:
        return None
    old = previous.tree
    if old.global_layer.revision != tree.global_layer.revision:
        return None
    return frozenset(
        name for name, layer in tree.domains.items()
        if name in old.domains and old.domains[name].revision == layer.revision
    )  # fmt: skip


def _kept_slices(
    previous: Snapshot, parts: Mapping[str, tuple[dict[str, Any], ...]], same: frozenset[str]
) -> frozenset[str]:
    """The unchanged domains whose slices and plans carry over: partial evaluation folded what
    a policy read of any entity it names, so naming an entity that changed (or appeared, or
    went) rebuilds every slice the policy is in (a global policy: all of them)."""
    touched: set[tuple[str, str]] = set()
    for name in (set(parts) | set(previous.catalog)) - same:
        before, after = _by_uid(previous.catalog.get(name, ())), _by_uid(parts.get(name, ()))
        touched |= {u for u in before.keys() | after.keys() if before.get(u) != after.get(u)}
    named = previous.named
    if not touched.isdisjoint(named.get(GLOBAL, ())):
        return frozenset()
    return frozenset(d for d in same if touched.isdisjoint(named.get(d, ())))


def _by_uid(entities: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(e["uid"]["type"], e["uid"]["id"]): e for e in entities}


def _build(
    tree: PolicyTree, evaluator: EvaluatorName, previous: Snapshot | None, same: frozenset[str]
) -> Snapshot:
    """The snapshot of `tree`; the parts of the `same` domains come from `previous`."""
    classifier, resolver, masking = Classifier(tree), RetentionResolver(tree), MaskingResolver(tree)
    views: dict[str, ProductView] = {}
    parts: dict[str, tuple[dict[str, Any], ...]] = {}
    for name, layer in tree.domains.items():
        if previous is not None and name in same:
            parts[name] = previous.catalog[name]
            views.update((p.id, previous.products[p.id]) for p in layer.products)
            continue
        products = {p.id: p for p in layer.products}
        classification = {pid: classifier.classify(p) for pid, p in products.items()}
        parts[name] = domain_entities(name, products, classification)
        views.update(
            (pid, _view(tree, p, classification[pid], resolver, masking))
            for pid, p in products.items()
        )
    catalog = Catalog(parts, action_entities(tree.config.action_specs()))
    known = {} if previous is None else {k: p for k, p in previous.slices.items() if k[1] in same}
    slices = build_slices(tree, known)
    templates = {
        key: previous.templates[key] if previous is not None and key in known
        else tuple(p.template for p in policies)
        for key, policies in slices.items()
    }  # fmt: skip
    layer_refs = _layer_refs(tree, previous)
    refs: dict[str, PolicyRef] = {}
    for _, own in layer_refs.values():
        refs.update(own)
    reuse = None
    if previous is not None:
        reuse = Reuse(previous.evaluator, same, _kept_slices(previous, parts, same))
    fresh = [v for v in views.values() if reuse is None or v.product.domain not in reuse.slices]
    try:
        access = _evaluator(evaluator, templates, catalog, refs, tree.config.on_forbid_error, reuse)
        plans = access.plans(_targets(fresh, slices))
    except ValueError as exc:
        # The tree's validation should have refused whatever the entity store cannot hold (a
        # duplicate or cyclic entity); if something still gets here it is a load error, never a
        # bare exception out of `reload`.
        where = Location(display_path(tree.root))
        raise LoadError([Problem(where, "snapshot", " ".join(str(exc).split()))]) from exc
    plan_keys = _plan_keys(plans)
    if previous is not None and reuse is not None:
        plans = _with_kept_plans(previous, plans, reuse.slices)
        plan_keys.update(
            (d, previous.plan_keys[d]) for d in reuse.slices & previous.plan_keys.keys()
        )
    return Snapshot(
        tree=tree,
        products=views,
        actions=frozenset(a.name for a in tree.config.action_specs()),
        waivers=WaiverBook(tree.global_layer.waivers, tree.products()),
        evaluator=access,
        evaluator_name=evaluator,
        plans=plans,
        request_schema=_request_schema(tree.schema_text),
        catalog=parts,
        named=_named(tree, previous, same),
        rebuilt=None if reuse is None else frozenset(tree.domains) - reuse.slices,
        slices=slices,
        templates=templates,
        plan_keys=plan_keys,
        refs=layer_refs,
    )


def _layer_refs(
    tree: PolicyTree, previous: Snapshot | None
) -> dict[str, tuple[Layer, dict[str, PolicyRef]]]:
    """Each layer's policy references; a layer the tree took whole from the previous one (the
    same object) keeps its references."""
    earlier = {} if previous is None else previous.refs
    found = {}
    for layer in tree.layers():
        kept = earlier.get(layer.name)
        if kept is not None and kept[0] is layer:
            found[layer.name] = kept
            continue
        found[layer.name] = (layer, {
            p.full_id: PolicyRef(p.full_id, p.layer, p.effect, p.location, p.reason)
            for p in layer.policies
        })  # fmt: skip
    return found


def _plan_keys(plans: Mapping[PlanKey, Plan]) -> dict[str, tuple[PlanKey, ...]]:
    by_domain: dict[str, list[PlanKey]] = {}
    for key in plans:
        by_domain.setdefault(key[0][1], []).append(key)
    return {domain: tuple(keys) for domain, keys in by_domain.items()}


def _with_kept_plans(
    previous: Snapshot, fresh: dict[PlanKey, Plan], kept: frozenset[str]
) -> dict[PlanKey, Plan]:
    """The previous plan table without the domains not `kept` (rebuilt or gone), and the
    `fresh` plans: a copy and a few deletions rather than a filter of every plan."""
    plans = dict(previous.plans)
    for domain, keys in previous.plan_keys.items():
        if domain not in kept:
            for key in keys:
                del plans[key]
    plans.update(fresh)
    return plans


def _named(
    tree: PolicyTree, previous: Snapshot | None, same: frozenset[str]
) -> dict[str, frozenset[tuple[str, str]]]:
    """The entities each layer's policies name, kept for the next reload's staleness test."""
    named = {}
    for layer in tree.layers():
        if previous is not None and (layer.is_global or layer.name in same):
            named[layer.name] = previous.named[layer.name]
        else:
            uids = (u for p in layer.policies for u in p.names)
            named[layer.name] = frozenset((str(u.type), u.id) for u in uids)
    return named


def _request_schema(text: str) -> RequestSchema | None:
    try:
        schema = load_schema(text)
    except Exception as exc:  # the loader reports it first; never serve requests unchecked
        where = Location("schema.cedarschema", 1, 1)
        raise LoadError([Problem(where, "cedar-schema", " ".join(str(exc).split()))]) from exc
    return None if schema is None else RequestSchema(schema, CATALOG_TYPES)


def _targets(views: Iterable[ProductView], slices: Iterable[SliceKey]) -> Iterator[PlanKey]:
    """Every (slice, resource) a decision can evaluate: each product and its maskable columns,
    for each action that has policies in the product's domain."""
    actions_by_domain: dict[str, list[str]] = {}
    for action, domain in slices:
        actions_by_domain.setdefault(domain, []).append(action)
    for view in views:
        domain = view.product.domain
        for action in actions_by_domain.get(domain, ()):
            yield (action, domain), view.resource
            for column in view.maskable:
                yield (action, domain), column.resource


def _view(
    tree: PolicyTree,
    product: Product,
    classification: ProductClassification,
    resolver: RetentionResolver,
    masking: MaskingResolver,
) -> ProductView:
    maskable = []
    for key, column in classification.columns.items():
        if column.rank > 0:
            choice = masking.resolve(product, key, column)
            resource = Resource("Column", f"{product.id}/{key}")
            maskable.append(
                MaskableColumn(key, column.level, resource, choice.strategy, choice.source)
            )
    revisions = {
        GLOBAL: tree.global_layer.revision,
        product.domain: tree.domains[product.domain].revision,
    }
    retention = resolver.resolve(product, classification.product)
    resource = Resource("DataProduct", product.id)
    strategies = {c.key: (c.strategy, c.strategy_source) for c in maskable}
    return ProductView(
        product, classification, retention, tuple(maskable), revisions, resource,
        frozenset(classification.columns), ProductJson(classification, retention, strategies),
    )  # fmt: skip


def _evaluator(
    name: EvaluatorName,
    templates: Mapping[SliceKey, tuple[pst.Template, ...]],
    catalog: Catalog,
    refs: Mapping[str, PolicyRef],
    on_forbid_error: OnForbidError,
    reuse: Reuse | None,
) -> AccessEvaluator:
    kind = CompiledEvaluator if name == "compiled" else ReferenceEvaluator
    return kind(templates, catalog, refs, on_forbid_error, reuse)
