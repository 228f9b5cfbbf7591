"""How govern answers Trino's OPA plugin: table mapping, operation classes, context (trino.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from governance.errors import GovernanceError

Verdict = Literal["allow", "deny"]

# Operations decided by the engine on the product a table maps to, as this govern action.
DEFAULT_ACTIONS: Mapping[str, str] = {
    "SelectFromColumns": "read",
    "FilterColumns": "read",
    "FilterTables": "read",
    "ShowColumns": "read",
    "ShowCreateTable": "read",
    "CreateViewWithSelectFromColumns": "read",
    "InsertIntoTable": "write",
    "UpdateTableColumns": "write",
    "DeleteFromTable": "delete",
    "TruncateTable": "delete",
}
# Operations products do not cover, allowed without a decision: starting a query, finding
# one's way through catalogs and schemas (tables stay filtered), session settings.
DEFAULT_ALLOWED: tuple[str, ...] = (
    "ExecuteQuery",
    "AccessCatalog",
    "FilterCatalogs",
    "ShowSchemas",
    "FilterSchemas",
    "ShowCreateSchema",
    "ShowTables",
    "ShowFunctions",
    "FilterFunctions",
    "ExecuteFunction",
    "SetSystemSessionProperty",
    "SetCatalogSessionProperty",
)
# Operations on queries: allowed when the query's owner is the caller.
OWN_QUERY_OPERATIONS: tuple[str, ...] = (
    "ViewQueryOwnedBy",
    "FilterViewQueryOwnedBy",
    "KillQueryOwnedBy",
)
DEFAULT_PASSTHROUGH_TABLES: tuple[str, ...] = ("*.information_schema.*",)


class TrinoConfigError(GovernanceError):
    """trino.yaml is not what govern expects: the server does not start."""


@dataclass(frozen=True, slots=True)
class TableTarget:
    product: str
    table: str | None = None  # the product's table (ODCS schema object); None: its only one


@dataclass(frozen=True, slots=True)
class TrinoConfig:
    """`tables` keys are `catalog.schema.table` patterns (`*` matches within one part), tried
    in file order before the default mapping (schema.table = product id, or table = a
    product table's physicalName). Anything not listed anywhere follows `otherwise`."""

    tables: tuple[tuple[str, TableTarget], ...] = ()
    actions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    allowed: frozenset[str] = frozenset(DEFAULT_ALLOWED)
    own_queries: frozenset[str] = frozenset(OWN_QUERY_OPERATIONS)
    otherwise: Verdict = "deny"
    unmapped_tables: Verdict = "deny"
    passthrough_tables: tuple[str, ...] = DEFAULT_PASSTHROUGH_TABLES
    context: Mapping[str, Any] = field(default_factory=dict)
    context_properties: frozenset[str] = frozenset({"purpose"})


_KEYS = {
    "tables", "actions", "allow", "own_queries", "otherwise", "unmapped_tables",
    "passthrough_tables", "context", "context_properties",
}  # fmt: skip


def load_trino_config(path: str | Path) -> TrinoConfig:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TrinoConfigError(f"{path}: {exc}") from None
    return trino_config(document or {}, str(path))


def trino_config(document: Any, where: str = "trino config") -> TrinoConfig:
    """Validate a parsed trino.yaml; a key govern does not know is an error, not a no-op."""
    if not isinstance(document, dict):
        raise TrinoConfigError(f"{where}: expected a mapping")
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        raise TrinoConfigError(
            f"{where}: unknown key `{unknown[0]}` (known: {', '.join(sorted(_KEYS))})"
        )
    base = TrinoConfig()
    return TrinoConfig(
        tables=_tables(document.get("tables", {}), where),
        actions={**base.actions, **_str_map(document.get("actions", {}), f"{where}: actions")},
        allowed=frozenset(_strings(document.get("allow", DEFAULT_ALLOWED), f"{where}: allow")),
        own_queries=frozenset(
            _strings(document.get("own_queries", OWN_QUERY_OPERATIONS), f"{where}: own_queries")
        ),
        otherwise=_verdict(document.get("otherwise", "deny"), f"{where}: otherwise"),
        unmapped_tables=_verdict(
            document.get("unmapped_tables", "deny"), f"{where}: unmapped_tables"
        ),
        passthrough_tables=tuple(
            _strings(
                document.get("passthrough_tables", DEFAULT_PASSTHROUGH_TABLES),
                f"{where}: passthrough_tables",
            )
        ),
        context=_object(document.get("context", {}), f"{where}: context"),
        context_properties=frozenset(
            _strings(
                document.get("context_properties", ["purpose"]), f"{where}: context_properties"
            )
        ),
    )


def _tables(raw: Any, where: str) -> tuple[tuple[str, TableTarget], ...]:
    if not isinstance(raw, dict):
        raise TrinoConfigError(
            f"{where}: tables: expected a mapping of catalog.schema.table to products"
        )
    found = []
    for pattern, target in raw.items():
        if not isinstance(pattern, str) or pattern.count(".") != 2:
            raise TrinoConfigError(f"{where}: tables: `{pattern}` is not catalog.schema.table")
        if isinstance(target, str):
            found.append((pattern.lower(), TableTarget(target)))
        elif (
            isinstance(target, dict)
            and set(target) <= {"product", "table"}
            and isinstance(target.get("product"), str)
        ):
            table = target.get("table")
            if table is not None and not isinstance(table, str):
                raise TrinoConfigError(f"{where}: tables: `{pattern}`: `table` must be a string")
            found.append((pattern.lower(), TableTarget(target["product"], table)))
        else:
            raise TrinoConfigError(
                f"{where}: tables: `{pattern}` must name a product id or {{product, table}}"
            )
    return tuple(found)


def _strings(raw: Any, where: str) -> list[str]:
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        raise TrinoConfigError(f"{where}: expected a list of names")
    return list(raw)


def _str_map(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise TrinoConfigError(f"{where}: expected a mapping of operation to govern action")
    return dict(raw)


def _object(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TrinoConfigError(f"{where}: expected a mapping")
    return dict(raw)


def _verdict(raw: Any, where: str) -> Verdict:
    if raw not in ("allow", "deny"):
        raise TrinoConfigError(f"{where}: expected `allow` or `deny`, not `{raw}`")
    return "allow" if raw == "allow" else "deny"
