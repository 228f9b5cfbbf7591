"""Read-only SQL under governance: refuse what is not one plain query, find what it reads, mask it.

Every statement is parsed with sqlglot (PostgreSQL dialect, as clients send it), qualified
against the catalog (stars expanded, every column bound to its table), and each catalog table
it reads is replaced by a subquery projecting exactly the columns read, masked columns already
rewritten, so predicates, joins and aggregates only ever see masked values.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema
from sqlglot.tokenizer_core import Token

from governance.gateway.relations import Relation, sqlglot_schema

# Dialects as instances: sqlglot makes a new one for every name it is given.
_POSTGRES, _DUCKDB = Dialect.get_or_raise("postgres"), Dialect.get_or_raise("duckdb")
# Statement and expression kinds a read query may never contain, whatever they are nested in.
FORBIDDEN_NODES: tuple[type[Any], ...] = (
    exp.DDL, exp.DML, exp.Command, exp.Copy, exp.Attach, exp.Detach, exp.Pragma, exp.Set,
    exp.Use, exp.Transaction, exp.Commit, exp.Rollback, exp.Into,
)  # fmt: skip


class NotBindable(Exception):
    """A lifted literal did not end up as a plain value (`literal_shapes`): plan the exact text."""


class Refused(Exception):
    """A statement the gateway will not run; the message is the SQL error the client sees."""

    def __init__(self, message: str, sqlstate: str = "42501") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@dataclass(slots=True)
class Reads:
    """What one query reads: per relation touched, the columns it reads (in catalog order)."""

    columns: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def add(self, key: tuple[str, str], column: str | None) -> None:
        found = self.columns.setdefault(key, set())
        if column is not None:
            found.add(column)


class QueryPlan:
    """A parsed, qualified query and what it reads; `render` applies the masks.

    The query is generated once, each catalog table standing as a placeholder; rendering with
    a set of masks puts each table's projected, masked subquery in its place. The placeholder
    is a random name, and a query text holding it is planned again, so no client text can
    stand in for it.

    A plan made for a shape (`literal_shapes`) has `parameters` bound values, `$1`... in its
    SQL; `bound` gives the plan with one text's values, sharing the analysis and the SQL.
    """

    values: tuple[Any, ...] = ()

    def __init__(
        self,
        tree: exp.Query,
        reads: Reads,
        catalog: Mapping[tuple[str, str], Relation],
        parameters: int = 0,
    ) -> None:
        self.reads, self._catalog, self.parameters = reads, catalog, parameters
        self._rendered: dict[tuple[tuple[str, tuple[tuple[str, str], ...]], ...], str] = {}
        self._products = self._read_products()
        self.template, self._slots = _template(tree, catalog)

    def bound(self, values: Sequence[Any]) -> QueryPlan:
        """This plan for a text whose lifted literals are `values`, in order."""
        if len(values) != self.parameters:
            raise ValueError(f"the plan binds {self.parameters} values, not {len(values)}")
        plan = copy.copy(self)  # shallow: the analysis, the SQL and its renderings are shared
        plan.values = tuple(values)
        return plan

    def products(self) -> dict[str, set[str]]:
        """Engine column keys read, per product (a product with two tables gets both)."""
        return {product: set(keys) for product, keys in self._products.items()}

    def sorted_products(self) -> list[tuple[str, list[str]]]:
        return [(product, sorted(keys)) for product, keys in sorted(self._products.items())]

    def _read_products(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for key, names in self.reads.columns.items():
            relation = self._catalog[key]
            keys = found.setdefault(relation.product, set())
            keys.update(c.key for c in relation.columns if c.name in names)
        return found

    def render(self, masked: Mapping[str, Mapping[str, str]]) -> str:
        """DuckDB SQL with each catalog table replaced by its projected, masked subquery.
        `masked` maps a product to {column key: the DuckDB expression replacing it}. The same
        masks give the same SQL, so it is rendered once per distinct set of masks."""
        key = tuple(sorted((p, tuple(sorted(m.items()))) for p, m in masked.items()))
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self._rendered[key] = self._render(masked)
        return rendered

    def _render(self, masked: Mapping[str, Mapping[str, str]]) -> str:
        sql = self.template
        for placeholder, key in self._slots:
            relation = self._catalog[key]
            subquery = _projection(
                relation, self.reads.columns.get(key, set()), masked.get(relation.product, {})
            )
            sql = sql.replace(placeholder, f"({subquery})")
        return sql


def _template(
    tree: exp.Query, catalog: Mapping[tuple[str, str], Relation]
) -> tuple[str, list[tuple[str, tuple[str, str]]]]:
    """The query's DuckDB SQL with a placeholder for each catalog table (the tree is the plan's
    own, so it is changed in place). Comments are dropped: DuckDB runs exactly what was
    checked."""
    token = f"__govern_{secrets.token_hex(16)}"
    slots = []
    for index, table in enumerate(list(tree.find_all(exp.Table))):
        key = _catalog_key(table)
        if key is None or key not in catalog:
            continue
        placeholder = f"{token}_{index}"
        alias = exp.TableAlias(this=exp.to_identifier(table.alias_or_name, quoted=True))
        table.replace(exp.Table(this=exp.to_identifier(placeholder, quoted=True), alias=alias))
        slots.append((f'"{placeholder}"', key))
    template = tree.sql(dialect=_DUCKDB, comments=False, copy=False)  # the plan's own tree
    if any(template.count(placeholder) != 1 for placeholder, _ in slots):
        raise Refused("the query holds a reserved name", "42601")  # a 128-bit guess
    return template, slots


def plan(sql: str, catalog: Mapping[tuple[str, str], Relation]) -> QueryPlan:
    """Refuses (Refused) anything but exactly one read query over catalog tables."""
    return plan_query(one_query(sql), catalog)


def plan_query(
    tree: exp.Query,
    catalog: Mapping[tuple[str, str], Relation],
    sentinels: Mapping[tuple[bool, str], int] | None = None,
) -> QueryPlan:
    """With `sentinels` (`Shape.sentinel_tokens`), each sentinel literal becomes its parameter
    (NotBindable when one is anywhere but a value position)."""
    _refuse_forbidden(tree)
    name_outputs(tree)
    type_bare_nulls(tree)
    schema = _schema(catalog)
    try:
        qualified = qualify(
            tree, schema=schema, dialect=_POSTGRES, validate_qualify_columns=True,
            quote_identifiers=True, identify=False,
        )  # fmt: skip
    except SqlglotError as exc:
        raise Refused(f"cannot resolve the query against the catalog: {exc}", "42703") from exc
    if not isinstance(qualified, exp.Query):
        raise Refused("only read queries (SELECT) are allowed", "42501")
    reads = _reads(qualified, catalog)
    _refuse_unplanned_tables(qualified, catalog)
    if not sentinels:
        return QueryPlan(qualified, reads, catalog)
    bind_sentinels(qualified, sentinels)
    plan = QueryPlan(qualified, reads, catalog, parameters=len(sentinels))
    if any(text in plan.template for _, text in sentinels):
        raise NotBindable("a sentinel outlived binding")  # copied into a non-literal form
    return plan


# Where a literal is only a value: an operand of a comparison, LIKE, BETWEEN or an IN list, or
# the count of LIMIT or OFFSET (under casts and parentheses).
_VALUE_POSITIONS: tuple[tuple[tuple[type[Any], ...], frozenset[str]], ...] = (
    ((exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike),
     frozenset({"this", "expression"})),
    ((exp.In,), frozenset({"expressions"})),
    ((exp.Between,), frozenset({"low", "high"})),
    ((exp.Limit, exp.Offset), frozenset({"expression"})),
)  # fmt: skip


def bind_sentinels(tree: exp.Query, sentinels: Mapping[tuple[bool, str], int]) -> None:
    """Each sentinel literal replaced by its parameter `$n`. NotBindable unless every one is
    found, each time in a value position, and the query had no parameters of its own."""
    literals: list[tuple[exp.Literal, int]] = []
    for node in tree.walk():
        if isinstance(node, (exp.Placeholder, exp.Parameter)):
            raise NotBindable("the query has parameters of its own")
        if isinstance(node, exp.Literal):
            index = sentinels.get((node.is_string, node.this))
            if index is not None:
                literals.append((node, index))
    found: set[int] = set()
    for literal, index in literals:
        if not _value_position(literal):
            raise NotBindable(f"literal {index} is not a plain value")
        literal.replace(exp.Placeholder(this=str(index + 1)))
        found.add(index)
    if len(found) != len(sentinels):
        raise NotBindable("a literal did not survive as a value")


def _value_position(literal: exp.Literal) -> bool:
    node: exp.Expr = literal
    while isinstance(node.parent, exp.Paren) or (
        isinstance(node.parent, exp.Cast) and node.arg_key == "this"
    ):
        node = node.parent
    parent = node.parent
    return any(
        isinstance(parent, kinds) and node.arg_key in keys for kinds, keys in _VALUE_POSITIONS
    )


def _refuse_unplanned_tables(tree: exp.Query, catalog: Mapping[tuple[str, str], Relation]) -> None:
    """Every table left in the query is a catalog relation (rendered as its masked subquery)
    or a CTE: a table the scope walk did not see would reach DuckDB as written, unmasked, and
    DuckDB matches even quoted names without regard to case."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        key = _catalog_key(table)
        if key is not None and key in catalog:
            continue
        if not table.db and not table.catalog and table.name in ctes:
            continue
        raise Refused(f"relation `{table.sql('postgres')}` does not exist", "42P01")


# The catalog's schema, normalised once: building it per query was a third of the planning time.
_SCHEMAS: list[tuple[Mapping[tuple[str, str], Relation], MappingSchema]] = []


def _schema(catalog: Mapping[tuple[str, str], Relation]) -> MappingSchema:
    for known, schema in _SCHEMAS:
        if known is catalog:
            return schema
    schema = MappingSchema(sqlglot_schema(catalog), dialect="postgres")
    _SCHEMAS[:] = [*_SCHEMAS[-3:], (catalog, schema)]  # a reload brings a new catalog
    return schema


def one_query(sql: str, tokens: list[Token] | None = None) -> exp.Query:
    """The one read statement `sql` holds, parsed (from its `tokens` when the caller has them);
    Refused for anything else."""
    try:
        tokens = _POSTGRES.tokenize(sql) if tokens is None else tokens
        statements = [s for s in _POSTGRES.parser().parse(tokens, sql) if s is not None]
    except (ParseError, SqlglotError) as exc:
        raise Refused(f"syntax error: {_first_line(exc)}", "42601") from exc
    if len(statements) != 1:
        raise Refused(f"exactly one statement per query, got {len(statements)}", "42601")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        kind = type(statement).__name__.upper()
        raise Refused(f"only read queries (SELECT) are allowed, not {kind}", "42501")
    return statement


def name_outputs(tree: exp.Query) -> None:
    """PostgreSQL's names for the outer query's unaliased expressions (`count(*)` is `count`,
    `1 + 1` is `?column?`), set as aliases so sqlglot's qualifier does not name them `_col_0`."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for projection in list(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)) or projection.is_star:
            continue
        if isinstance(projection, exp.Subquery) and projection.alias:
            continue
        projection.replace(exp.alias_(projection.copy(), _output_name(projection), quoted=True))


def type_bare_nulls(tree: exp.Query) -> None:
    """`SELECT NULL AS x`: DuckDB types the column NULL, which has no PostgreSQL type to send;
    PostgreSQL calls it text."""
    for select in tree.find_all(exp.Select):
        for projection in select.expressions:
            value = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(value, exp.Null):
                value.replace(exp.cast(exp.null(), "VARCHAR"))


def _output_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        node = node.expression
    if isinstance(node, exp.Cast):
        inner = node.this
        return inner.name if isinstance(inner, exp.Column) else _output_name(inner)
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, (exp.CurrentVersion, exp.Version)):
        return "version"
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return "?column?"


def _refuse_forbidden(tree: exp.Query) -> None:
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise Refused(f"{type(node).__name__.upper()} is not allowed in a query", "42501")
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            raise Refused(
                f"table functions are not allowed: `{node.this.sql('postgres')}`", "42501"
            )
        if isinstance(node, exp.Table) and _column_aliases(node):
            raise Refused(
                f"column aliases on a table are not supported (`{node.sql('postgres')}`): "
                "rename the columns in the select list instead (`column AS name`)", "0A000",
            )  # fmt: skip
        if isinstance(node, (exp.Lateral, exp.Unnest)) and isinstance(node.this, exp.Func):
            continue
        if isinstance(node, exp.Func) and not _known_function(node):
            raise Refused(f"function `{_function_name(node)}` is not allowed", "42501")


def _column_aliases(table: exp.Table) -> bool:
    """`FROM people.employees AS e(a, b)` renames the table's columns by position: the
    scope walk would read `a` as a column of the table, so it is refused with its own reason."""
    alias = table.args.get("alias")
    return isinstance(alias, exp.TableAlias) and bool(alias.args.get("columns"))


# Functions sqlglot knows that a query may still not call: DuckDB's star-likes (`COLUMNS(*)`,
# `COLUMNS('regex')`) pick columns at run time, after the columns read were decided; the
# others reach files or secrets.
UNSAFE_FUNCTIONS: tuple[type[Any], ...] = (exp.Columns, exp.ToFile, exp.Secret)


def _known_function(node: exp.Func) -> bool:
    """Anonymous functions are whatever DuckDB has under that name, file readers included
    (read_text, read_blob, glob...): only functions sqlglot knows pass, and none that read files."""
    return not isinstance(node, (exp.Anonymous, *UNSAFE_FUNCTIONS)) and not type(
        node
    ).__name__.startswith("Read")


def _function_name(node: exp.Func) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name()


def _catalog_key(table: exp.Table) -> tuple[str, str] | None:
    if table.catalog or not table.db:
        return None
    return (table.db, table.name)


def _reads(tree: exp.Query, catalog: Mapping[tuple[str, str], Relation]) -> Reads:
    reads = Reads()
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                key = _check_table(source, catalog)
                reads.add(key, None)
        for column in scope.columns:
            found = scope.sources.get(column.table)
            if isinstance(found, exp.Table):
                relation = catalog[_check_table(found, catalog)]
                if relation.column(column.name) is None:
                    raise Refused(
                        f"relation `{relation.qualified}` has no column `{column.name}`", "42703"
                    )
                reads.add((relation.schema, relation.name), column.name)
    _refuse_whole_row_references(tree)
    return reads


def _refuse_whole_row_references(tree: exp.Query) -> None:
    """`SELECT t FROM people.employees t` reads every column as one value: not allowed. The
    qualifier marks such references as table columns; ordinary columns are all qualified or
    name an output alias (`ORDER BY revenue`)."""
    for column in tree.find_all(exp.TableColumn):
        raise Refused(f"whole-row reference `{column.name}` is not allowed", "42501")


def _check_table(table: exp.Table, catalog: Mapping[tuple[str, str], Relation]) -> tuple[str, str]:
    key = _catalog_key(table)
    if key is None or key not in catalog:
        raise Refused(f"relation `{table.sql('postgres')}` does not exist", "42P01")
    return key


def _projection(relation: Relation, names: set[str], masked: Mapping[str, str]) -> str:
    """`SELECT` of the columns read from one table, each masked column as its expression (made
    by the gateway from the mask's strategy, never by a client)."""
    projections: list[str] = []
    for column in relation.columns:
        if column.name not in names:
            continue
        ident = _quoted(column.name)
        projections.append(f"({masked[column.key]}) AS {ident}" if column.key in masked else ident)
    if not projections:  # COUNT(*): the rows, no column
        projections.append("NULL AS __govern_row")
    source = f"{_quoted(relation.schema)}.{_quoted(relation.name)}"
    return f"SELECT {', '.join(projections)} FROM {source}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
