"""The SQL face of the catalog: each product table as a `domain.table` relation with typed columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from governance.snapshot import Snapshot

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
    "array": "VARCHAR[]",
}


@dataclass(frozen=True, slots=True)
class SqlColumn:
    name: str  # as SQL names it
    key: str  # as the engine names it (`table.name` when two tables of a product share a name)
    sql_type: str


@dataclass(frozen=True, slots=True)
class Relation:
    schema: str  # the owning domain
    name: str
    product: str
    table: str  # the ODCS table, which names the Parquet file
    columns: tuple[SqlColumn, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> SqlColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def relations(snapshot: Snapshot) -> Mapping[tuple[str, str], Relation]:
    """A product with one table is `domain.product`; each table of a product with several is
    `domain.table`. Two relations with one name would make a query ambiguous, so that fails."""
    found: dict[tuple[str, str], Relation] = {}
    for pid, view in sorted(snapshot.products.items()):
        product = view.product
        tables = sorted({c.table for c in product.columns})
        for table in tables:
            name = product.name if len(tables) == 1 else table
            columns = tuple(
                SqlColumn(c.key.rsplit(".", 1)[-1] if c.key.startswith(f"{table}.") else c.key,
                          c.key, _DUCKDB_TYPES.get(c.logical_type, "VARCHAR"))
                for c in product.columns
                if c.table == table
            )  # fmt: skip
            key = (product.domain, name)
            if key in found:
                raise ValueError(f"two tables are both exposed as `{product.domain}.{name}`")
            found[key] = Relation(product.domain, name, pid, table, columns)
    return found


def sqlglot_schema(
    catalog: Mapping[tuple[str, str], Relation],
) -> dict[str, object]:
    """The nested mapping sqlglot's qualifier expands stars against."""
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for (domain, name), relation in catalog.items():
        schema.setdefault(domain, {})[name] = {c.name: c.sql_type for c in relation.columns}
    return dict(schema)
