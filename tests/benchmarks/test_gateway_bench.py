"""Gateway overhead per query (parse, qualify, decide, rewrite) beside plain DuckDB running the
same three-table join, in the same run (`make bench`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from governance import Engine
from governance.gateway.demo_data import write_demo_data
from governance.gateway.identity import load_users
from governance.gateway.policy_sql import plan
from governance.gateway.relations import relations
from governance.gateway.server import GatewayConnection
from governance.gateway.session import GatewaySession

POLICIES = Path(__file__).resolve().parents[2] / "policies"
JOIN = (
    "SELECT c.customer_id, c.email, o.order_id, o.total_amount, s.store_name "
    "FROM sales.customers c JOIN sales.orders o ON o.customer_id = c.customer_id "
    "JOIN sales.store_locations s ON s.store_id = o.store_id WHERE o.total_amount > 100"
)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewaySession]:
    engine = Engine.from_path(POLICIES)
    data = tmp_path_factory.mktemp("bench-data")
    write_demo_data(relations(engine.snapshot), data)
    users = load_users(POLICIES / "fixtures.yaml")
    connection = GatewayConnection(engine, data, users)
    governed = connection.new_session()
    governed.identify(users["alice"], "analytics")
    yield governed
    governed.close()


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_overhead(benchmark: BenchmarkFixture, session: GatewaySession) -> None:
    """A query text seen before: its plan is cached; the decisions are made afresh."""
    benchmark.extra_info["evaluator"] = "gateway overhead, repeated query text"
    rendered = benchmark(session.govern, JOIN)
    assert '"sales"."orders"' in rendered


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_overhead_first_sight(benchmark: BenchmarkFixture, session: GatewaySession) -> None:
    """A query text the gateway has not seen: sqlglot parses and qualifies it first."""
    benchmark.extra_info["evaluator"] = "gateway overhead, new query text"
    catalog = relations(session._engine.snapshot)
    rendered = benchmark(lambda: plan(JOIN, catalog).render({}))
    assert '"sales"."orders"' in rendered


@pytest.mark.benchmark(group="gateway: three-table join")
def test_plain_duckdb(benchmark: BenchmarkFixture, session: GatewaySession) -> None:
    benchmark.extra_info["evaluator"] = "plain duckdb"
    cursor = session.cursor()
    rows = benchmark(lambda: cursor.execute(JOIN).fetchall())
    assert rows


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_end_to_end(benchmark: BenchmarkFixture, session: GatewaySession) -> None:
    """The whole query in process, as a client's repeated query: decisions, the rewritten SQL
    run on DuckDB (each table a masked subquery) and every row fetched."""
    benchmark.extra_info["evaluator"] = "gateway, deciding and executing"
    rows = benchmark(lambda: session.execute_sql(JOIN).rbr.read_all().num_rows)
    assert rows
