"""The Cedar entities govern evaluates against: the catalog with its computed classification,
the action hierarchy, and the per-request principal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from governance.access.request import AccessRequest
from governance.rules.classification import ProductClassification
from governance.tree.catalog import Product
from governance.tree.formats import ActionSpec

Json = dict[str, Any]

CATALOG_TYPES = frozenset({"DataProduct", "Column", "Domain", "Action", "Group"})
"""Entity types the catalog owns: their data is fixed at load, and no request subject has one."""


def uid(kind: str, identifier: str) -> Json:
    return {"type": kind, "id": identifier}


def catalog_entities(
    domains: list[str],
    products: Mapping[str, Product],
    classification: Mapping[str, ProductClassification],
    actions: list[ActionSpec],
) -> list[Json]:
    """Cedar JSON entities for every domain, product, column and action."""
    entities: list[Json] = [
        {"uid": uid("Domain", d), "attrs": {"name": d}, "parents": []} for d in domains
    ]
    for product in products.values():
        entities.append(_product_entity(product, classification[product.id]))
        # One parents list for all of a product's columns: the entities are only read.
        parents = [uid("DataProduct", product.id)]
        entities += [
            _column_entity(product, key, c, parents)
            for key, c in classification[product.id].columns.items()
        ]
    entities += [
        {
            "uid": uid("Action", a.name),
            "attrs": {},
            "parents": [uid("Action", p) for p in a.parents],
        }
        for a in actions
    ]
    return entities


class Catalog(NamedTuple):
    """The catalog entities by owning domain (its Domain, products and columns), and the
    actions: a domain whose files did not change keeps its part on reload."""

    domains: Mapping[str, tuple[Json, ...]]
    actions: tuple[Json, ...]

    def entities(self) -> list[Json]:
        return [e for part in self.domains.values() for e in part] + list(self.actions)


def domain_entities(
    domain: str,
    products: Mapping[str, Product],
    classification: Mapping[str, ProductClassification],
) -> tuple[Json, ...]:
    """One domain's part of the catalog: its Domain entity, products and columns."""
    return tuple(catalog_entities([domain], products, classification, []))


def action_entities(actions: list[ActionSpec]) -> tuple[Json, ...]:
    return tuple(catalog_entities([], {}, {}, actions))


def _product_entity(product: Product, classification: ProductClassification) -> Json:
    level = classification.product
    return {
        "uid": uid("DataProduct", product.id),
        "attrs": {
            "name": product.name,
            "domain": product.domain,
            "status": product.status,
            "tags": sorted(product.tags),
            "classification": level.level,
            "sensitivity": level.rank,
            "labels": sorted(level.labels),
        },
        "parents": [uid("Domain", product.domain)],
    }


def _column_entity(product: Product, key: str, classified: Any, parents: list[Json]) -> Json:
    column = product.column(key)
    return {
        "uid": uid("Column", f"{product.id}/{key}"),
        "attrs": {
            "name": key,
            "product": product.id,
            "domain": product.domain,
            "tags": sorted(column.tags if column else ()),
            "classification": classified.level,
            "sensitivity": classified.rank,
            "labels": sorted(classified.labels),
        },
        "parents": parents,
    }


def principal_entity(request: AccessRequest) -> Json:
    """The caller as a Cedar entity: groups become parents, other properties attributes."""
    return {
        "uid": uid(request.principal_type, request.principal),
        "attrs": dict(request.attributes),
        "parents": [uid("Group", g) for g in request.groups],
    }
