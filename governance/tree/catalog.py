"""The catalog: data products and their columns, read from ODCS descriptors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from governance.errors import Location, Problem
from governance.tree.durations import Duration, parse_duration
from governance.tree.formats import OdcsProperty, ProductDescriptor


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # how requests name it: `name`, or `table.name` when two tables share a name
    table: str
    product: str
    logical_type: str
    tags: tuple[str, ...]
    declared: str | None
    location: Location

    @property
    def entity_id(self) -> str:
        return f"{self.product}/{self.key}"


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
    flat = [
        (table.name, name, prop, locate(path))
        for t, table in enumerate(descriptor.schema_)
        for name, prop, path in _flatten(table.properties, "", ("schema", t))
    ]
    shared = {name for name, count in Counter(f[1] for f in flat).items() if count > 1}
    columns = tuple(
        Column(
            key=f"{table}.{name}" if name in shared else name,
            table=table,
            product=product_id,
            logical_type=prop.logicalType,
            tags=tuple(prop.tags),
            declared=prop.classification,
            location=column_location,
        )
        for table, name, prop, column_location in flat
    )
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


def _flatten(
    properties: list[OdcsProperty], prefix: str, path: tuple[int | str, ...]
) -> Iterator[tuple[str, OdcsProperty, tuple[int | str, ...]]]:
    for index, prop in enumerate(properties):
        name, here = f"{prefix}{prop.name}", (*path, "properties", index)
        if prop.properties:
            yield from _flatten(prop.properties, f"{name}.", here)
        else:
            yield name, prop, here


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
