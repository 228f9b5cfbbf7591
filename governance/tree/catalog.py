"""The catalog: data products and their columns, read from ODCS descriptors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from governance.errors import Location, Problem
from governance.tree.durations import Duration, parse_duration
from governance.tree.formats import OdcsItems, OdcsProperty, ProductDescriptor


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # how requests name it: `path`, or `table.path` when two tables share a path
    table: str
    product: str
    logical_type: str
    tags: tuple[str, ...]  # its own, its table's and its enclosing properties'
    declared: str | None
    location: Location
    name: str = ""  # its own name: `dob` for `person.dob`
    path: str = ""  # dotted from its table: `person.dob`
    # Levels its table and enclosing properties declare, each where it is declared: they apply
    # to the column as if it declared them itself.
    inherited: tuple[tuple[str, Location], ...] = ()

    @property
    def entity_id(self) -> str:
        return f"{self.product}/{self.key}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every name a column rule may match: own name, path within its table, and key."""
        return tuple(dict.fromkeys((self.name or self.key, self.path or self.key, self.key)))


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    domain: str
    status: str
    purpose: str
    tags: tuple[str, ...]
    declared: str | None
    columns: tuple[Column, ...]
    location: Location
    retention_promise: Duration | None = None
    retention_location: Location | None = None
    physical_names: tuple[tuple[str, str], ...] = ()  # (table, ODCS physicalName) pairs

    def column(self, key: str) -> Column | None:
        for column in self.columns:
            if column.key == key or f"{column.table}.{column.key}" == key:
                return column
        return None


Locate = Callable[[tuple[int | str, ...]], Location]


def product_from_descriptor(
    descriptor: ProductDescriptor, locate: Locate, problems: list[Problem], domain: str, stem: str
) -> Product:
    """Flatten an ODCS contract of `domain` (its folder) into a product: its columns keyed as
    requests name them. `stem` is the file's name without suffix, which names the product when
    the contract's own `id` is not a govern product id (ODCS ids are often UUIDs)."""
    location = locate(())
    product_id = _product_id(descriptor.id, domain, stem, locate(("id",)), problems)
    columns = _columns(descriptor, product_id, locate, problems)
    promise = _retention_promise(descriptor, locate(("slaProperties",)), problems)
    return Product(
        id=product_id,
        name=descriptor.name or product_id,
        domain=domain,
        status=descriptor.status,
        purpose=descriptor.purpose,
        tags=tuple(descriptor.tags),
        declared=descriptor.classification,
        columns=columns,
        location=location,
        retention_promise=promise,
        retention_location=locate(("slaProperties",)) if promise else None,
        physical_names=tuple(
            (table.name, table.physicalName) for table in descriptor.schema_ if table.physicalName
        ),
    )


def _product_id(
    declared: str, domain: str, stem: str, location: Location, problems: list[Problem]
) -> str:
    """`<domain>.<name>` as the contract says it, or from the file name for an `id` that is no
    product id at all (no `.`: a UUID or a bare name). A dotted id of another domain would claim
    a name in that domain's namespace, and a `/` would make `product/column` ids ambiguous."""
    if "/" in declared:
        message = f"product id `{declared}` contains `/`, which separates product and column ids"
        problems.append(Problem(location, "bad-product-id", message))
    elif declared.startswith(f"{domain}.") and len(declared) > len(domain) + 1:
        return declared
    elif "." in declared:
        message = f"product id `{declared}` must begin with its domain: `{domain}.<name>`"
        problems.append(Problem(location, "bad-product-id", message))
    else:
        return f"{domain}.{stem}"
    return declared


class _Leaf(NamedTuple):
    """A column as the contract nests it, with what its table and ancestors give it (a named
    tuple: `_replace` is several times cheaper than `dataclasses.replace`)."""

    table: str
    path: str
    logical_type: str
    declared: str | None
    tags: tuple[str, ...]
    inherited: tuple[tuple[str, Location], ...]
    location: Location


def _columns(
    descriptor: ProductDescriptor, product_id: str, locate: Locate, problems: list[Problem]
) -> tuple[Column, ...]:
    """Every leaf of every table, keyed by its path, or `table.path` when tables share one; a
    key given twice is an error, so each key (and entity id) names one column."""
    leaves = []
    for t, table in enumerate(descriptor.schema_):
        here = ("schema", t)
        given = ((table.classification, locate(here)),) if table.classification else ()
        context = _Leaf(table.name, "", "", None, tuple(table.tags), given, locate(here))
        leaves += list(_flatten(table.properties, context, here, locate))
    shared = {path for path, count in Counter(leaf.path for leaf in leaves).items() if count > 1}
    columns: dict[str, Column] = {}
    for leaf in leaves:
        key = f"{leaf.table}.{leaf.path}" if leaf.path in shared else leaf.path
        if key in columns:
            message = f"column `{key}` is defined twice (first at {columns[key].location})"
            problems.append(Problem(leaf.location, "duplicate-id", message))
            continue
        columns[key] = Column(
            key=key, table=leaf.table, product=product_id, logical_type=leaf.logical_type,
            tags=leaf.tags, declared=leaf.declared, location=leaf.location,
            name=leaf.path.rsplit(".", 1)[-1], path=leaf.path, inherited=leaf.inherited,
        )  # fmt: skip
    return tuple(columns.values())


def _flatten(
    properties: list[OdcsProperty], parent: _Leaf, path: tuple[int | str, ...], locate: Locate
) -> Iterator[_Leaf]:
    for index, prop in enumerate(properties):
        here = (*path, "properties", index)
        name = f"{parent.path}.{prop.name}" if parent.path else prop.name
        yield from _descend(prop, parent._replace(path=name), here, locate)


def _descend(
    prop: OdcsProperty | OdcsItems, parent: _Leaf, here: tuple[int | str, ...], locate: Locate
) -> Iterator[_Leaf]:
    """A property is a leaf unless it has properties of its own, or is an array whose `items`
    have them; what an enclosing property or `items` declares passes to what it holds."""
    location = locate(here)
    tags = tuple(dict.fromkeys((*parent.tags, *prop.tags)))
    leaf = parent._replace(logical_type=prop.logicalType, declared=prop.classification,
                           tags=tags, location=location)  # fmt: skip
    items = prop.items
    if prop.properties or (items is not None and _has_structure(items)):
        given = ((prop.classification, location),) if prop.classification else ()
        inner = leaf._replace(inherited=(*parent.inherited, *given))
        yield from _flatten(prop.properties, inner, here, locate)
        if items is not None:
            yield from _descend(items, inner, (*here, "items"), locate)
    elif items is not None:
        # An array of scalars: what its items declare, the array column declares.
        declared = (
            ((items.classification, locate((*here, "items"))),) if items.classification else ()
        )
        more_tags = tuple(dict.fromkeys((*tags, *items.tags)))
        yield leaf._replace(tags=more_tags, inherited=(*parent.inherited, *declared))
    else:
        yield leaf


def _has_structure(items: OdcsItems) -> bool:
    return bool(items.properties) or (items.items is not None and _has_structure(items.items))


def _retention_promise(
    descriptor: ProductDescriptor, location: Location, problems: list[Problem]
) -> Duration | None:
    for sla in descriptor.slaProperties:
        if sla.property.lower() != "retention":
            continue
        try:
            if sla.unit is None:
                return parse_duration(sla.value)
            return parse_duration({"value": sla.value, "unit": sla.unit})
        except ValueError as exc:
            problems.append(Problem(location, "bad-duration", str(exc)))
    return None
