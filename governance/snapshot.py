"""An evaluation snapshot: everything a decision needs, computed once from a valid policy tree.

A snapshot is immutable once built; the engine swaps whole snapshots on reload, so a request
always sees one consistent policy set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from governance.access.answer import OnForbidError, PolicyRef
from governance.access.catalog_entities import CATALOG_TYPES, catalog_entities
from governance.access.cedar_evaluator import ReferenceEvaluator
from governance.access.compiled_evaluator import CompiledEvaluator
from governance.access.evaluator import AccessEvaluator, Plan, PlanKey, Resource
from governance.access.request_schema import RequestSchema
from governance.access.slices import SliceKey, build_slices
from governance.cedar_bridge import pst
from governance.compiler.schema import load_schema
from governance.errors import LoadError, Problem
from governance.rules.classification import Classifier, ProductClassification
from governance.rules.masking import MaskingResolver, MaskSource, Strategy
from governance.rules.retention import Retention, RetentionResolver
from governance.rules.waivers import WaiverBook
from governance.tree.catalog import Product
from governance.tree.layers import GLOBAL, PolicyTree

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


def build_snapshot(tree: PolicyTree, problems: list[Problem], evaluator: EvaluatorName) -> Snapshot:
    """Refuses (LoadError) a tree with any error: a gateway never serves a half-valid set."""
    if any(p.severity == "error" for p in problems):
        raise LoadError(problems)
    classifier, resolver, masking = Classifier(tree), RetentionResolver(tree), MaskingResolver(tree)
    products = tree.products()
    classification = {pid: classifier.classify(p) for pid, p in products.items()}
    slices = build_slices(tree)
    entities = catalog_entities(
        list(tree.domains), products, classification, tree.config.action_specs()
    )
    templates = {key: tuple(p.template for p in policies) for key, policies in slices.items()}
    refs = {
        p.full_id: PolicyRef(p.full_id, p.layer, p.effect, p.location, p.reason)
        for p in tree.policies()
    }
    views = {
        pid: _view(tree, p, classification[pid], resolver, masking) for pid, p in products.items()
    }
    access = _evaluator(evaluator, templates, entities, refs, tree.config.on_forbid_error)
    plans = access.plans(_targets(views.values(), slices))
    return Snapshot(
        tree=tree,
        products=views,
        actions=frozenset(a.name for a in tree.config.action_specs()),
        waivers=WaiverBook(tree.global_layer.waivers, products),
        evaluator=access,
        evaluator_name=evaluator,
        plans=plans,
        request_schema=_request_schema(tree.schema_text),
    )


def _request_schema(text: str) -> RequestSchema | None:
    try:
        schema = load_schema(text)
    except Exception:  # the tree's validation already judged the schema; typing it is a bonus
        return None
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
    return ProductView(
        product, classification, retention, tuple(maskable), revisions, resource,
        frozenset(classification.columns),
    )  # fmt: skip


def _evaluator(
    name: EvaluatorName,
    templates: Mapping[SliceKey, tuple[pst.Template, ...]],
    entities: list[dict[str, Any]],
    refs: Mapping[str, PolicyRef],
    on_forbid_error: OnForbidError,
) -> AccessEvaluator:
    kind = CompiledEvaluator if name == "compiled" else ReferenceEvaluator
    return kind(templates, entities, refs, on_forbid_error)
