"""Differential: the columns the gateway asks the engine about are the columns sqlglot's lineage
says a generated query reads, through joins, CTEs, subqueries and stars."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.lineage import lineage

from governance import Engine
from governance.gateway.policy_sql import plan
from governance.gateway.relations import Relation, relations, sqlglot_schema
from tests.gateway.conftest import ROOT


@cache
def _catalog() -> dict[tuple[str, str], Relation]:
    return dict(relations(Engine.from_path(ROOT / "policies").snapshot))


@st.composite
def queries(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A query and its output column names; every column read is also projected, each output
    a column or an expression over one or two columns (so lineage sees every read)."""
    catalog = _catalog()
    keys = sorted(catalog)
    tables = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3))  # repeats: self-joins
    columns, froms = [], []
    for index, key in enumerate(tables):
        relation = catalog[key]
        names = [c.name for c in relation.columns]
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        alias = f"t{index}"
        froms.append((f"{relation.qualified} AS {alias}", alias, chosen[0]))
        columns += [f'{alias}."{name}"' for name in chosen]
    projections = _expressions(draw, columns)
    outputs = [f"c{i}" for i in range(len(projections))]
    select = ", ".join(f"{p} AS {o}" for p, o in zip(projections, outputs, strict=True))
    sql = f"SELECT {select} FROM {froms[0][0]}"
    for source, alias, column in froms[1:]:
        join = draw(st.sampled_from(["JOIN", "LEFT JOIN", "FULL OUTER JOIN"]))
        sql += f' {join} {source} ON {alias}."{column}" = {froms[0][1]}."{froms[0][2]}"'
    listed = ", ".join(outputs)
    shape = draw(
        st.sampled_from(["plain", "cte", "subquery", "cte chain", "star subquery", "union",
                         "cte shadowing", "cte joined"])
    )  # fmt: skip
    if shape == "cte":
        sql = f"WITH q AS ({sql}) SELECT {listed} FROM q"
    elif shape == "subquery":
        sql = f"SELECT {listed} FROM ({sql}) AS q"
    elif shape == "cte chain":
        sql = f"WITH a AS ({sql}), b AS (SELECT {listed} FROM a) SELECT {listed} FROM b"
    elif shape == "star subquery":
        sql = f"SELECT * FROM ({sql}) AS q"
    elif shape == "union":
        sql = f"{sql} UNION ALL {sql}"
    elif shape == "cte shadowing":  # a CTE named like a catalog relation shadows it
        name = catalog[tables[0]].name
        sql = f"WITH {name} AS ({sql}) SELECT {listed} FROM {name}"
    elif shape == "cte joined":
        sql = f"WITH q AS ({sql}) SELECT {', '.join(f'x.{o}' for o in outputs)} FROM q AS x JOIN q AS y ON x.c0 = y.c0"
    return sql, outputs


def _expressions(draw: st.DrawFn, columns: list[str]) -> list[str]:
    """Every column in some output: alone, under a function, or combined with the next one."""
    found, index = [], 0
    while index < len(columns):
        column = columns[index]
        form = draw(st.sampled_from(["plain", "function", "pair"]))
        if form == "pair" and index + 1 < len(columns):
            found.append(f"CAST({column} AS VARCHAR) || CAST({columns[index + 1]} AS VARCHAR)")
            index += 2
            continue
        found.append(f"upper(CAST({column} AS VARCHAR))" if form == "function" else column)
        index += 1
    return found


def _lineage_reads(sql: str, outputs: list[str]) -> dict[str, set[str]]:
    catalog, schema = _catalog(), sqlglot_schema(_catalog())
    found: dict[str, set[str]] = {}
    for output in outputs:
        for node in lineage(output, sql, schema=schema, dialect="postgres").walk():
            if isinstance(node.source, exp.Table) and not node.downstream:
                relation = catalog[(node.source.db, node.source.name)]
                column = relation.column(node.name.rsplit(".", 1)[-1].strip('"'))
                assert column is not None
                found.setdefault(relation.product, set()).add(column.key)
    return found


@settings(max_examples=100, deadline=None)
@given(queries())
def test_gateway_reads_what_lineage_reads(query: tuple[str, list[str]]) -> None:
    sql, outputs = query
    assert plan(sql, _catalog()).products() == _lineage_reads(sql, outputs)


@settings(max_examples=17, deadline=None)
@given(st.sampled_from(sorted(_catalog())))
def test_star_reads_every_column(key: tuple[str, str]) -> None:
    relation = _catalog()[key]
    sql = f"SELECT * FROM {relation.qualified}"
    names = [c.name for c in relation.columns]
    assert plan(sql, _catalog()).products() == _lineage_reads(sql, names)


@settings(max_examples=40, deadline=None)
@given(queries(), st.data())
def test_predicate_columns_are_read_too(query: tuple[str, list[str]], data: st.DataObject) -> None:
    """Lineage follows outputs only; a column read only in WHERE (or a subquery in WHERE) is
    read all the same, and the gateway asks about it."""
    sql, outputs = query
    relation = _catalog()[data.draw(st.sampled_from(sorted(_catalog())), label="filtered by")]
    column = data.draw(st.sampled_from(relation.columns), label="filter column")
    where = data.draw(st.sampled_from(["exists", "in"]))
    inner = f'SELECT 1 FROM {relation.qualified} AS w WHERE w."{column.name}" IS NOT NULL'
    if where == "in":
        inner = f'SELECT CAST(w."{column.name}" AS VARCHAR) FROM {relation.qualified} AS w'
        sql = f"SELECT * FROM ({sql}) AS outer_q WHERE CAST(c0 AS VARCHAR) IN ({inner})"
    else:
        sql = f"SELECT * FROM ({sql}) AS outer_q WHERE EXISTS ({inner})"
    expected = _lineage_reads(sql, outputs)
    expected.setdefault(relation.product, set()).add(column.key)
    assert plan(sql, _catalog()).products() == expected
