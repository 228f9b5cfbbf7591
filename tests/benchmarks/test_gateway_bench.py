"""Gateway overhead per query (parse, qualify, decide, rewrite) beside plain DuckDB running the
same three-table join, in the same run (`make bench`): for a repeated query text, for texts seen
for the first time that differ from earlier ones only in literals (the plan of their shape is
reused, `governance/gateway/literal_shapes.py`), and for texts of a structure never seen."""

from __future__ import annotations

import itertools
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
# The same join, one value (literals) or one output name (structure) new in every round.
NEW_LITERALS = JOIN.replace("> 100", "> {} AND c.email <> '{}@example.com'")
NEW_STRUCTURE = JOIN.replace("o.total_amount,", "o.total_amount AS amount_{},")


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
    governed = benchmark(session.govern, JOIN)
    assert '"sales"."orders"' in governed.sql


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_overhead_new_literals(
    benchmark: BenchmarkFixture, session: GatewaySession
) -> None:
    """A text never seen, of a shape seen before: tokenized, the shape's plan bound to its own
    literals, the decisions made afresh."""
    benchmark.extra_info["evaluator"] = "gateway overhead, new text, new literals only"
    counter = itertools.count()
    session.govern(NEW_LITERALS.format(0, "warm"))
    governed = benchmark(lambda: session.govern(NEW_LITERALS.format(n := next(counter), n)))
    assert governed.parameters[0] == next(counter) - 1 and "$1" in governed.sql


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_overhead_new_structure(
    benchmark: BenchmarkFixture, session: GatewaySession
) -> None:
    """A text of a structure never seen: tokenized, parsed, qualified and rewritten with its
    literals lifted, then decided."""
    benchmark.extra_info["evaluator"] = "gateway overhead, new text, new structure"
    counter = itertools.count()
    governed = benchmark(lambda: session.govern(NEW_STRUCTURE.format(next(counter))))
    assert f"amount_{next(counter) - 1}" in governed.sql


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_overhead_first_sight(benchmark: BenchmarkFixture, session: GatewaySession) -> None:
    """The planning alone, as written (no shape reuse): parse, qualify, rewrite."""
    benchmark.extra_info["evaluator"] = "planning one text as written"
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


@pytest.mark.benchmark(group="gateway: three-table join")
def test_plain_duckdb_new_literals(benchmark: BenchmarkFixture, session: GatewaySession) -> None:
    benchmark.extra_info["evaluator"] = "plain duckdb, new literals"
    cursor, counter = session.cursor(), itertools.count()
    rows = benchmark(lambda: cursor.execute(NEW_LITERALS.format(0, next(counter))).fetchall())
    assert rows


@pytest.mark.benchmark(group="gateway: three-table join")
def test_gateway_end_to_end_new_literals(
    benchmark: BenchmarkFixture, session: GatewaySession
) -> None:
    """As above, each round a text never seen that differs in literals only."""
    benchmark.extra_info["evaluator"] = "gateway, new literals, deciding and executing"
    counter = itertools.count()
    rows = benchmark(
        lambda: session.execute_sql(NEW_LITERALS.format(0, next(counter))).rbr.read_all().num_rows
    )
    assert rows
