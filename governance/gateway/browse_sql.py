"""Catalog queries (`pg_catalog`, `information_schema`, and queries reading no table) rewritten to
run on a user's browsing catalog: only its own tables and macros are reachable, never DuckDB's.

A query is a catalog query when a table it reads is a catalog table, or when it reads no table at
all (`SELECT version()`). One reading both catalog tables and products is refused, since the
browsing catalog holds no data and the data database no catalog.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify_columns import qualify_columns
from sqlglot.schema import MappingSchema

from governance.gateway.browse_catalog import (
    DATABASE,
    FUNCTIONS,
    INFORMATION_SCHEMA,
    PG_CATALOG,
    REG_FUNCTIONS,
    SHADOW_SCHEMA,
    TABLES,
)
from governance.gateway.policy_sql import (
    FORBIDDEN_NODES,
    UNSAFE_FUNCTIONS,
    Refused,
    name_outputs,
    type_bare_nulls,
)

SERVER_VERSION = "16.0 (govern gateway)"
_CATALOG_SCHEMAS = (PG_CATALOG, INFORMATION_SCHEMA)
_PG_TABLES = frozenset(name for schema, name in TABLES if schema == PG_CATALOG)
# Table functions that produce rows from their arguments alone (psql's \d calls both).
_ROW_FUNCTIONS = (exp.Explode, exp.Unnest, exp.ExplodingGenerateSeries, exp.GenerateSeries)
# sqlglot's names for types PostgreSQL spells in its own way, as DuckDB types.
_TYPE_NAMES = {"int2": "SMALLINT", "int4": "INTEGER", "int8": "BIGINT", "oid": "INTEGER",
               "text": "VARCHAR", "name": "VARCHAR", "varchar": "VARCHAR", "bpchar": "VARCHAR",
               "char": "VARCHAR", "bool": "BOOLEAN", "float4": "REAL", "float8": "DOUBLE",
               "regproc": "VARCHAR", "regrole": "VARCHAR"}  # fmt: skip
# DuckDB built-ins a catalog query may call by a name sqlglot does not know when qualified
# (`pg_catalog.array_to_string`): each computes from its arguments only.
_BUILTINS = frozenset(
    [
        "array_to_string",
        "string_agg",
        "array_length",
        "array_agg",
        "lower",
        "upper",
        "length",
        "coalesce",
        "concat",
        "substring",
        "replace",
        "split_part",
        "trim",
        "ltrim",
        "rtrim",
        "left",
        "right",
        "strpos",
        "unnest",
    ]
)
_OPERATORS = {"~": "regexp", "!~": "not regexp", "~*": "iregexp", "!~*": "not iregexp",
              "=": "eq", "<>": "neq"}  # fmt: skip


_SCHEMA = MappingSchema(
    {
        shadow: {name: dict(columns) for (schema, name), columns in TABLES.items() if schema == key}
        for key, shadow in SHADOW_SCHEMA.items()
    },
    dialect="duckdb",
)


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    """A catalog query as DuckDB SQL over the browsing catalog's tables and macros (which know
    the session's user, so the SQL is the same for everyone)."""

    sql: str


def is_catalog_query(tree: exp.Query) -> bool:
    ctes = _cte_names(tree)
    tables = [t for t in tree.find_all(exp.Table) if not _is_row_function(t)]
    named = [t for t in tables if not (not t.db and t.name.lower() in ctes)]
    return not named or any(_catalog_table(t) is not None for t in named)


def rewrite(tree: exp.Query) -> CatalogQuery:
    """Refused unless every table is a catalog table (or a CTE, or a row function) and every
    function is a plain one or a catalog macro; then the DuckDB SQL to run."""
    tree = tree.copy()
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise Refused(f"{type(node).__name__.upper()} is not allowed in a query", "42501")
    name_outputs(tree)
    type_bare_nulls(tree)
    ctes = _cte_names(tree)
    for table in list(tree.find_all(exp.Table)):
        _rewrite_table(table, ctes)
    for node in list(tree.find_all(exp.Collate)):
        node.replace(node.this)
    for node in list(tree.find_all(exp.Operator)):
        node.replace(_operator(node))
    for node in reversed(list(tree.find_all(exp.Cast, bfs=False))):  # inner casts first
        node.replace(_cast(node))
    for node in list(tree.find_all(exp.Func)):
        _rewrite_function(node)
    return CatalogQuery(_qualified(tree).sql(dialect="duckdb", comments=False))


def _qualified(tree: exp.Expr) -> exp.Expr:
    """Every column bound to its table alias where sqlglot can, so a macro's argument
    (`pg_table_is_visible(oid)`) never binds to a table inside the macro's own subquery. Where
    it cannot (columns of a row function, `prattrs[s]` in psql's publications query), the
    query runs as written: the browsing catalog holds nothing the user may not see, so a
    column bound differently can only give a wrong catalog answer, never a leak."""
    try:
        return qualify_columns(
            tree.copy(), schema=_SCHEMA, expand_alias_refs=False, dialect="duckdb"
        )
    except SqlglotError:
        return tree


def _cte_names(tree: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _is_row_function(table: exp.Table) -> bool:
    return isinstance(table.this, exp.Func)


def _catalog_table(table: exp.Table) -> tuple[str, str] | None:
    schema, name = table.db.lower(), table.name.lower()
    if table.catalog and table.catalog.lower() != DATABASE:
        return None
    if not schema and name in _PG_TABLES:
        schema = PG_CATALOG  # PostgreSQL searches pg_catalog first
    key = (schema, name)
    return key if key in TABLES else None


def _rewrite_table(table: exp.Table, ctes: set[str]) -> None:
    if _is_row_function(table):
        if not isinstance(table.this, _ROW_FUNCTIONS):
            raise Refused(f"table functions are not allowed: `{table.this.sql('postgres')}`")
        table.set("db", None)
        table.set("catalog", None)
        return
    if not table.db and table.name.lower() in ctes:
        return
    key = _catalog_table(table)
    if key is None:
        if table.db.lower() in _CATALOG_SCHEMAS or not table.db:
            raise Refused(f"relation `{table.sql('postgres')}` does not exist", "42P01")
        raise Refused(
            "a query reads either the catalog (pg_catalog, information_schema) or data "
            f"products, not both: `{table.sql('postgres')}`",
            "0A000",
        )
    if not table.alias:
        table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
    table.set("this", exp.to_identifier(key[1], quoted=True))
    table.set("db", exp.to_identifier(SHADOW_SCHEMA[key[0]]))
    table.set("catalog", None)


def _operator(node: exp.Operator) -> exp.Expr:
    """`a OPERATOR(pg_catalog.~) b`, as psql writes its pattern matches."""
    symbol = str(node.args.get("operator", "")).removeprefix("pg_catalog.").strip()
    kind = _OPERATORS.get(symbol)
    left, right = node.this, node.expression
    if kind is None:
        raise Refused(f"operator `{symbol}` is not supported in catalog queries", "0A000")
    if kind == "eq":
        return exp.EQ(this=left, expression=right)
    if kind == "neq":
        return exp.NEQ(this=left, expression=right)
    flags = exp.Literal.string("i") if "iregexp" in kind else None
    match: exp.Expr = exp.RegexpLike(this=left, expression=right, flag=flags)
    return exp.Not(this=match) if kind.startswith("not") else match


def _cast(node: exp.Cast) -> exp.Expr:
    """Casts to PostgreSQL's object identifier types look the name up in the browsing catalog;
    PostgreSQL type names become DuckDB's."""
    target = node.to
    name = _type_name(target)
    if name is None:
        return node
    if name == "regclass":
        if isinstance(node.this, exp.Literal) and node.this.is_string:
            return _macro("regclass_oid", node.this)
        return _macro("regclass_name", node.this)
    if name in REG_FUNCTIONS:
        return _macro(REG_FUNCTIONS[name], node.this)
    duck = _TYPE_NAMES.get(name)
    if duck is None:
        raise Refused(f"type `{name}` is not supported in catalog queries", "0A000")
    array = isinstance(target, exp.DataType) and target.this == exp.DType.ARRAY
    return exp.cast(node.this, f"{duck}[]" if array else duck, dialect="duckdb")


def _type_name(target: exp.Expr) -> str | None:
    if isinstance(target, exp.ObjectIdentifier):
        return target.name.lower()
    if not isinstance(target, exp.DataType):
        return None
    if target.this == exp.DType.ARRAY and target.expressions:
        return _type_name(target.expressions[0])
    if target.this == exp.DType.USERDEFINED:
        kind = target.args.get("kind")
        return (kind.name if isinstance(kind, exp.Dot) else str(kind or "")).lower()
    if target.this == exp.DType.NAME:
        return "name"
    return None


def _macro(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Dot(
        this=exp.to_identifier(SHADOW_SCHEMA[PG_CATALOG]),
        expression=exp.Anonymous(this=name, expressions=list(args)),
    )


_SESSION_VALUES: dict[type[exp.Expr], str] = {
    exp.CurrentSchema: "public",
    exp.CurrentDatabase: DATABASE,
    exp.CurrentCatalog: DATABASE,
    exp.CurrentVersion: f"PostgreSQL {SERVER_VERSION}",
    exp.Version: f"PostgreSQL {SERVER_VERSION}",
}
_USER_FUNCTIONS = (exp.CurrentUser, exp.SessionUser, exp.CurrentRole)


def _rewrite_function(node: exp.Func) -> None:
    parent = node.parent
    qualified = isinstance(parent, exp.Dot) and parent.expression is node
    if qualified and parent is not None and parent.this.name.lower() == SHADOW_SCHEMA[PG_CATALOG]:
        return  # one of ours, made by _cast
    target: exp.Expr = parent if qualified and parent is not None else node
    if qualified and parent is not None and parent.this.name.lower() != PG_CATALOG:
        raise Refused(f"function `{parent.sql('postgres')}` is not allowed", "42501")
    if isinstance(node, _USER_FUNCTIONS):
        target.replace(_macro("current_user_name"))
    elif type(node) in _SESSION_VALUES:
        target.replace(exp.Literal.string(_SESSION_VALUES[type(node)]))
    elif isinstance(node, exp.CurrentSchemas):
        schemas = [exp.Literal.string(s) for s in ("pg_catalog", "public")]
        target.replace(exp.Array(expressions=schemas))
    elif isinstance(node, exp.Anonymous) and node.name.lower() in _BUILTINS:
        target.replace(node)
    elif isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name not in FUNCTIONS:
            raise Refused(f"function `{node.name}` is not allowed", "42883")
        target.replace(_macro(name, *node.expressions))
    elif type(node).__name__.startswith("Read") or isinstance(node, UNSAFE_FUNCTIONS):
        raise Refused(f"function `{node.sql_name()}` is not allowed", "42501")
    elif qualified:
        target.replace(node)  # pg_catalog.array_to_string(...): DuckDB has it unqualified
