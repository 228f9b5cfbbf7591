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
    """A query and its output column names; every column read is also projected."""
    catalog = _catalog()
    keys = sorted(catalog)
    tables = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3))
    projections, froms = [], []
    for index, key in enumerate(tables):
        relation = catalog[key]
        names = [c.name for c in relation.columns]
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
        alias = f"t{index}"
        froms.append((f"{relation.qualified} AS {alias}", alias, chosen[0]))
        projections += [f'{alias}."{name}"' for name in chosen]
    outputs = [f"c{i}" for i in range(len(projections))]
    select = ", ".join(f"{p} AS {o}" for p, o in zip(projections, outputs, strict=True))
    sql = f"SELECT {select} FROM {froms[0][0]}"
    for source, alias, column in froms[1:]:
        sql += f' JOIN {source} ON {alias}."{column}" = {froms[0][1]}."{froms[0][2]}"'
    shape = draw(st.sampled_from(["plain", "cte", "subquery"]))
    listed = ", ".join(outputs)
    if shape == "cte":
        sql = f"WITH q AS ({sql}) SELECT {listed} FROM q"
    elif shape == "subquery":
        sql = f"SELECT {listed} FROM ({sql}) AS q"
    return sql, outputs


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


@settings(max_examples=40, deadline=None)
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
