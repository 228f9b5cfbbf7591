"""Which data product (and which of its tables and columns) a Trino catalog.schema.table is."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from governance.server.trino_config import TableTarget, TrinoConfig
from governance.snapshot import Snapshot
from governance.tree.catalog import Column


@dataclass(frozen=True, slots=True)
class ProductTable:
    """A product table as Trino sees it: its columns by lower-case Trino name → govern key."""

    product: str
    table: str
    columns: Mapping[str, str]


class TableMap:
    """Resolves Trino tables against one snapshot; rebuilt when the engine's snapshot changes."""

    def __init__(self, config: TrinoConfig, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._config = config
        self._tables: dict[tuple[str, str], ProductTable] = {}
        by_id: dict[str, list[ProductTable]] = {}
        by_physical: dict[str, list[ProductTable]] = {}
        for pid, view in snapshot.products.items():
            product = view.product
            physical = dict(product.physical_names)
            for name in sorted({c.table for c in product.columns}):
                table = ProductTable(pid, name, _columns(product.columns, name))
                self._tables[(pid, name)] = table
                # one table: `domain.product`; several: `domain.table`, as the SQL gateway names them
                alias = (
                    pid
                    if len({c.table for c in product.columns}) == 1
                    else f"{product.domain}.{name}"
                )
                by_id.setdefault(alias.lower(), []).append(table)
                if name in physical:
                    by_physical.setdefault(physical[name].lower(), []).append(table)
        self._by_id = {k: v[0] for k, v in by_id.items() if len(v) == 1}
        self._by_physical = {k: v[0] for k, v in by_physical.items() if len(v) == 1}

    def resolve(self, catalog: str, schema: str, table: str) -> ProductTable | None:
        """The configured mapping first (in file order), then `schema.table` as a product id,
        then `table` as a physicalName held by exactly one product table. Ambiguity is no match."""
        full = f"{catalog}.{schema}.{table}".lower()
        for pattern, target in self._config.tables:
            if _matches(pattern, full):
                return self._target(target)
        return self._by_id.get(f"{schema}.{table}".lower()) or self._by_physical.get(table.lower())

    def passthrough(self, catalog: str, schema: str, table: str) -> bool:
        full = f"{catalog}.{schema}.{table}".lower()
        return any(_matches(p.lower(), full) for p in self._config.passthrough_tables)

    def _target(self, target: TableTarget) -> ProductTable | None:
        view = self.snapshot.products.get(target.product)
        if view is None:
            return None
        tables = sorted({c.table for c in view.product.columns})
        name = (
            target.table if target.table is not None else (tables[0] if len(tables) == 1 else None)
        )
        return self._tables.get((target.product, name)) if name is not None else None


def _columns(columns: tuple[Column, ...], table: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for column in columns:
        key = column.key
        if column.table != table:
            continue
        short = key[len(table) + 1 :] if key.startswith(f"{table}.") else key
        found[short.lower()] = key
    return found


def _matches(pattern: str, name: str) -> bool:
    """`*` matches within one dot-separated part, so `hive.*.orders` never spans schemas."""
    parts, names = pattern.split("."), name.split(".")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p) for p, n in zip(parts, names, strict=True)
    )
