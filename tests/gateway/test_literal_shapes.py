"""Plans shared by texts differing only in literals: the literals are bound values, so none can
change a statement's structure, what it reads or the masks it sees; every other literal keeps
the text planned as written. Checked in process against the planner's exact twin
(`plan_statement`), and through psycopg against a gateway process."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql as pgsql

from governance import Engine
from governance.gateway.identity import load_users
from governance.gateway.literal_shapes import shape_of
from governance.gateway.plan_cache import StatementPlanner
from governance.gateway.policy_sql import QueryPlan, Refused
from governance.gateway.server import GatewayConnection
from governance.gateway.statement import plan_statement
from tests.gateway.conftest import ROOT
from tests.gateway.test_reads_differential import _catalog, _lineage_reads, queries


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- shapes ---------------------------------------------------------------------------------

SAME_SHAPE = [
    ("SELECT a FROM s.t WHERE x = 1", "SELECT a FROM s.t WHERE x = 250"),
    ("SELECT a FROM s.t WHERE x = 'a'", "SELECT a FROM s.t WHERE x = ''' OR 1=1 --'"),
    ("SELECT a FROM s.t WHERE x IN (1, 2) AND y BETWEEN 3 AND 4",
     "SELECT a FROM s.t WHERE x IN (7, 8) AND y BETWEEN 9 AND 10"),
    ("SELECT a FROM s.t WHERE x LIKE 'a%' LIMIT 5 OFFSET 10",
     "SELECT a FROM s.t WHERE x LIKE '$$--/*' LIMIT 50 OFFSET 0"),
    ("SELECT a FROM s.t WHERE x >= 1.5 -- one", "SELECT a FROM s.t WHERE x >= 2.25 /* two */"),
]  # fmt: skip
OTHER_SHAPE = {
    "ordinal": ("SELECT a, b FROM s.t ORDER BY 1", "SELECT a, b FROM s.t ORDER BY 2"),
    "grouping ordinal": ("SELECT a FROM s.t GROUP BY 1", "SELECT a FROM s.t GROUP BY 2"),
    "spliced": ("SELECT a FROM s.t WHERE x = 'a'", "SELECT a FROM s.t WHERE x = '' OR 1=1 --'"),
    "interval": ("SELECT a FROM s.t WHERE d > INTERVAL '1 day'",
                 "SELECT a FROM s.t WHERE d > INTERVAL '1 month'"),
    "typed literal": ("SELECT a FROM s.t WHERE d > DATE '2024-01-01'",
                      "SELECT a FROM s.t WHERE d > DATE '2025-01-01'"),
    "escape string": ("SELECT a FROM s.t WHERE x = E'a'", "SELECT a FROM s.t WHERE x = E'b'"),
    "dollar quoted": ("SELECT a FROM s.t WHERE x = $$a$$", "SELECT a FROM s.t WHERE x = $$b$$"),
    "function argument": ("SELECT left(a, 2) FROM s.t", "SELECT left(a, 3) FROM s.t"),
    "projected": ("SELECT 'a' AS k FROM s.t", "SELECT 'b' AS k FROM s.t"),
    "kind of number": ("SELECT a FROM s.t WHERE x = 1", "SELECT a FROM s.t WHERE x = 1.0"),
    "exponent": ("SELECT a FROM s.t WHERE x = 1e3", "SELECT a FROM s.t WHERE x = 2e3"),
    "number for string": ("SELECT a FROM s.t WHERE x = 1", "SELECT a FROM s.t WHERE x = '1'"),
    "touching tokens": ("SELECT a FROM s.t WHERE x = 1 AND y", "SELECT a FROM s.t WHERE x = 1AND y"),
}  # fmt: skip


@pytest.mark.parametrize(("one", "other"), SAME_SHAPE)
def test_texts_differing_in_values_share_a_shape(one: str, other: str) -> None:
    first, second = shape_of(one), shape_of(other)
    assert first is not None and second is not None
    assert first.key == second.key
    assert first.values != second.values


@pytest.mark.parametrize(("one", "other"), OTHER_SHAPE.values(), ids=OTHER_SHAPE.keys())
def test_literals_that_are_not_values_stay_in_the_key(one: str, other: str) -> None:
    first, second = shape_of(one), shape_of(other)
    assert first is None or second is None or first.key != second.key


def test_lifted_values_are_the_literals_as_bound() -> None:
    shape = shape_of("SELECT a FROM s.t WHERE x = 'it''s' AND y > 12 AND z < 0.50 LIMIT 3")
    assert shape is not None
    assert shape.values == ("it's", 12, Decimal("0.50"), 3)
    assert [type(v) for v in shape.values] == [str, int, Decimal, int]


@pytest.mark.parametrize(
    "sql",
    ["SELECT a FROM s.t", "SELECT a FROM s.t WHERE x = $1 AND y = 2", "SELECT 'unclosed"],
)
def test_no_shape_without_liftable_literals_or_with_parameters(sql: str) -> None:
    assert shape_of(sql) is None


# --- plans against the data -------------------------------------------------------------------


@pytest.fixture(scope="module")
def connection(gateway_data: Path) -> GatewayConnection:
    users = load_users(ROOT / "policies" / "fixtures.yaml")
    return GatewayConnection(Engine.from_path(ROOT / "policies"), gateway_data, users)


def _rows(connection: GatewayConnection, plan: object) -> list[tuple[Any, ...]]:
    assert isinstance(plan, QueryPlan)
    cursor = connection.db.cursor()
    try:
        relation = cursor.sql(plan.render({}), params=list(plan.values) or None)
        assert relation is not None
        return relation.fetchall()
    finally:
        cursor.close()


def _exact(connection: GatewayConnection, sql: str) -> QueryPlan:
    plan = plan_statement(sql, connection.catalog)
    assert isinstance(plan, QueryPlan)
    return plan


ORDERS = "SELECT order_id, total_amount FROM sales.orders WHERE customer_email = {}"
ATTACKS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    "'; SELECT * FROM people.employees; --",
    "' UNION ALL SELECT base_salary::varchar, base_salary FROM people.employees --",
    "*/ OR 1=1 /*",
    "$$ OR 1=1 $$",
    "$tag$ OR true $tag$",
    "\\' OR 1=1 --",
    "%' OR email LIKE '%",
    "\n OR 1=1",
    "\u2019 OR 1=1 --",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_literal_never_changes_the_statement(connection: GatewayConnection, attack: str) -> None:
    """The attack text shares the plan of an innocent one and is bound as one value: it finds
    no order, asks about sales.orders alone, and gives what the exact planner gives."""
    planner = StatementPlanner(connection.catalog)
    innocent = planner(ORDERS.format(_quoted("nobody@example.com")))
    attacked = planner(ORDERS.format(_quoted(attack)))
    assert isinstance(innocent, QueryPlan) and isinstance(attacked, QueryPlan)
    assert attacked.template == innocent.template and "$1" in attacked.template
    assert attacked.values == (attack,)
    assert attacked.sorted_products() == [("sales.orders", ["customer_email", "order_id",
                                                            "total_amount"])]  # fmt: skip
    assert (
        _rows(connection, attacked)
        == []
        == _rows(connection, _exact(connection, ORDERS.format(_quoted(attack))))
    )


def test_a_spliced_literal_is_another_statement(connection: GatewayConnection) -> None:
    """`'' OR 1=1 --'` is a string, OR, a comparison and a comment: not the innocent shape,
    so it is planned as written and finds every order, as it says."""
    planner = StatementPlanner(connection.catalog)
    innocent = planner(ORDERS.format("'nobody@example.com'"))
    spliced_sql = ORDERS.format("'' OR 1=1 --'")
    spliced = planner(spliced_sql)
    assert isinstance(innocent, QueryPlan) and isinstance(spliced, QueryPlan)
    assert spliced.template != innocent.template
    everything = _rows(connection, planner("SELECT order_id, total_amount FROM sales.orders"))
    assert sorted(_rows(connection, spliced)) == sorted(everything) != []


def test_values_change_the_answer_not_the_plan(connection: GatewayConnection) -> None:
    planner = StatementPlanner(connection.catalog)
    sql = "SELECT order_id FROM sales.orders WHERE total_amount > {} ORDER BY 1 LIMIT {}"
    some, none = planner(sql.format(0, 3)), planner(sql.format(1000000000, 3))
    one = planner(sql.format(0, 1))
    assert (
        isinstance(some, QueryPlan) and isinstance(none, QueryPlan) and isinstance(one, QueryPlan)
    )
    assert some.template == none.template == one.template
    assert len(_rows(connection, some)) == 3 and _rows(connection, none) == []
    assert _rows(connection, one) == _rows(connection, some)[:1]


@pytest.mark.parametrize("ordinal", [1, 2])
def test_ordinals_are_planned_as_written(connection: GatewayConnection, ordinal: int) -> None:
    planner = StatementPlanner(connection.catalog)
    planner("SELECT order_id, total_amount FROM sales.orders ORDER BY 3 - 1 LIMIT 5")
    sql = f"SELECT order_id, total_amount FROM sales.orders ORDER BY {ordinal} LIMIT 5"
    assert _rows(connection, planner(sql)) == _rows(connection, _exact(connection, sql))


def test_literals_in_expressions_are_planned_as_written(connection: GatewayConnection) -> None:
    """`total_amount > 3 + 4`: the literal is an operand of `+`, not a value of the comparison;
    the shape's texts are each planned with their own literals."""
    planner = StatementPlanner(connection.catalog)
    first = planner("SELECT count(*) AS n FROM sales.orders WHERE total_amount > 3 + 4")
    second = planner("SELECT count(*) AS n FROM sales.orders WHERE total_amount > 300 + 400")
    assert isinstance(first, QueryPlan) and isinstance(second, QueryPlan)
    assert first.values == second.values == ()
    assert _rows(connection, first) != _rows(connection, second)


EDGE_FORMS = [
    "customer_email LIKE '%!%' ESCAPE '!'",
    "order_ts > '2024-03-01'::date",
    "order_ts::date = '2024-01-05'",
    "store_id NOT IN ('S001', 'S002')",
    "total_amount NOT BETWEEN 10 AND 500",
    "total_amount > 100 ORDER BY 1 OFFSET 5 ROWS",
    "total_amount > 100 ORDER BY 1 FETCH FIRST 5 ROWS ONLY",
    "(CASE WHEN total_amount > 500 THEN 'big' ELSE 'small' END) = 'big'",
    "total_amount > 100 GROUP BY order_id, total_amount HAVING count(*) > 0",
    "total_amount > '100'",
    "total_amount > -5",
    "channel = 'web' COLLATE nocase",
    "coalesce(channel, 'x') = 'web'",
    "total_amount > 100 LIMIT 3 OFFSET 0",
]


@pytest.mark.parametrize("where", EDGE_FORMS)
def test_edge_forms_answer_as_written(connection: GatewayConnection, where: str) -> None:
    """Bound or planned as written, each form gives the exact planner's rows."""
    sql = f"SELECT order_id, total_amount FROM sales.orders WHERE {where}"
    shared = StatementPlanner(connection.catalog)(sql)
    assert isinstance(shared, QueryPlan)
    assert sorted(_rows(connection, shared)) == sorted(_rows(connection, _exact(connection, sql)))


def test_refusals_are_not_shared(connection: GatewayConnection) -> None:
    """A refused text of a shape does not refuse the shape's other texts, nor the reverse."""
    planner = StatementPlanner(connection.catalog)
    with pytest.raises(Refused):
        planner("SELECT nope FROM sales.orders WHERE total_amount > 1")
    planner("SELECT order_id FROM sales.orders WHERE total_amount > 1")
    with pytest.raises(Refused):
        planner("SELECT order_id FROM sales.orders WHERE total_amount > 1; SELECT 2")


def test_client_parameters_never_fill_bound_literals(connection: GatewayConnection) -> None:
    session = connection.new_session()
    try:
        session.identify(connection.users["alice"], "analytics")
        sql = "SELECT order_id FROM sales.orders WHERE total_amount > 100"
        assert session.govern(sql).parameters == (100,)
        with pytest.raises(Refused) as refused:
            session.govern(sql, [5])
        assert refused.value.sqlstate == "08P01"
    finally:
        session.close()


_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)


@st.composite
def _filtered(draw: st.DrawFn) -> tuple[str, str]:
    """Two texts of one shape: the same filter on one column, with other values."""
    catalog = _catalog()
    relation = catalog[draw(st.sampled_from(sorted(catalog)))]
    column = draw(st.sampled_from([c for c in relation.columns if c.sql_type != "VARCHAR[]"]))
    kind = column.sql_type
    if kind == "VARCHAR":
        operator = draw(st.sampled_from(["=", "<>", "<", "LIKE", "ILIKE", "IN", "BETWEEN"]))
        values = st.builds(_quoted, _TEXT)
    elif kind in ("DATE", "TIMESTAMP"):
        operator = draw(st.sampled_from(["=", ">=", "<", "IN", "BETWEEN"]))
        values = st.dates().map(lambda d: _quoted(d.isoformat()))
    elif kind == "BOOLEAN":
        operator, values = "=", st.sampled_from(["'true'", "'false'"])
    else:
        operator = draw(st.sampled_from(["=", ">", "<=", "IN", "BETWEEN"]))
        integers = st.integers(0, 10**6).map(str)
        decimals = st.decimals(0, 10**4, places=2).map(str)  # one kind of number per shape
        values = draw(st.sampled_from([integers, decimals]))
    target = f'"{column.name}"'

    def text() -> str:
        pick = [draw(values) for _ in range(2)]
        if operator == "IN":
            predicate = f"{target} IN ({pick[0]}, {pick[1]})"
        elif operator == "BETWEEN":
            predicate = f"{target} BETWEEN {pick[0]} AND {pick[1]}"
        else:
            predicate = f"{target} {operator} {pick[0]}"
        limit = draw(st.integers(0, 30))
        first = relation.columns[0].name
        return (f'SELECT "{first}", {target} FROM {relation.qualified} WHERE {predicate} '
                f"ORDER BY 1, 2 LIMIT {limit}")  # fmt: skip

    return text(), text()


def _outcome(connection: GatewayConnection, plan: QueryPlan) -> object:
    try:
        return sorted(map(repr, _rows(connection, plan)))
    except duckdb.Error as exc:
        return type(exc).__name__


@settings(max_examples=60, deadline=None)
@given(_filtered())
def test_shared_plans_answer_as_exact_plans(
    connection: GatewayConnection, texts: tuple[str, str]
) -> None:
    """Differential: a text planned through another text's shape asks about the same columns
    and gets the same rows (or the same error) as the text planned as written."""
    warm, sql = texts
    planner = StatementPlanner(connection.catalog)
    first, shared = planner(warm), planner(sql)
    assert isinstance(first, QueryPlan) and isinstance(shared, QueryPlan)
    assert shared.values and shared.template == first.template
    exact = _exact(connection, sql)
    assert shared.sorted_products() == exact.sorted_products()
    assert _outcome(connection, shared) == _outcome(connection, exact)


@settings(max_examples=60, deadline=None)
@given(queries(), st.lists(st.tuples(_TEXT, st.integers(0, 99)), min_size=2, max_size=2))
def test_shared_plans_read_what_lineage_reads(
    query: tuple[str, list[str]], values: list[tuple[str, int]]
) -> None:
    """The lineage differential through the shape cache: a generated query with a filter and a
    limit, planned after another text of its shape, asks about what lineage says it reads."""
    sql, outputs = query
    planner = StatementPlanner(_catalog())
    texts = [
        f"SELECT * FROM ({sql}) AS f WHERE CAST(c0 AS VARCHAR) <> {_quoted(text)} LIMIT {limit}"
        for text, limit in values
    ]
    first, shared = planner(texts[0]), planner(texts[1])
    assert isinstance(first, QueryPlan) and isinstance(shared, QueryPlan)
    assert shared.values and shared.template == first.template
    assert shared.products() == _lineage_reads(texts[1], outputs)


# --- through the wire -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dave(gateway_port: int) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(
        host="127.0.0.1", port=gateway_port, user="dave", dbname="govern", autocommit=True
    ) as conn:
        conn.execute("SET govern.purpose = 'hr_administration'")
        yield conn


def _literal_query(template: str, *values: object) -> pgsql.Composed:
    return pgsql.SQL(template).format(*(pgsql.Literal(v) for v in values))  # type: ignore[arg-type]


def test_masks_hold_under_bound_literals(dave: psycopg.Connection[Any]) -> None:
    """dave's base_salary is masked: through texts differing only in values, predicates on it
    still see the mask, and the attack string is one value."""
    count = "SELECT count(*) FROM people.employees WHERE base_salary > {}"
    assert [dave.execute(_literal_query(count, n)).fetchall() for n in (0, 1, 50000)] == [
        [(0,)]
    ] * 3
    employee = dave.execute("SELECT employee_id FROM people.employees LIMIT 1").fetchall()[0][0]
    one = "SELECT employee_id, base_salary FROM people.employees WHERE employee_id = {}"
    assert dave.execute(_literal_query(one, employee)).fetchall() == [(employee, None)]
    assert dave.execute(_literal_query(one, "' OR 1=1 --")).fetchall() == []
