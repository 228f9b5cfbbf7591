"""End to end: psycopg and psql against a gateway process, masking, refusals and identity."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest


def _connect(port: int, user: str, purpose: str | None = None) -> psycopg.Connection[Any]:
    conn = psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="govern", autocommit=True)
    if purpose:
        conn.execute(f"SET govern.purpose = '{purpose}'")
    return conn


def _rows(
    port: int, user: str, purpose: str, sql: str, params: Any = None
) -> list[tuple[Any, ...]]:
    with _connect(port, user, purpose) as conn:
        return conn.execute(sql, params).fetchall()


# dave, an HR partner administering employees, may read people.employees; base_salary is masked.
HR = ("dave", "hr_administration")


def test_star_masks_salary_but_not_public_columns(gateway_port: int) -> None:
    with _connect(gateway_port, *HR) as conn:
        cursor = conn.execute("SELECT * FROM people.employees")
        names = [d.name for d in cursor.description or ()]
        rows = cursor.fetchall()
    salary = names.index("base_salary")
    assert len(rows) == 40
    assert all(row[salary] is None for row in rows)
    assert all(row[names.index("employee_id")] is not None for row in rows)


def test_where_on_masked_column_sees_masked_values(gateway_port: int) -> None:
    assert _rows(
        gateway_port, *HR, "SELECT count(*) FROM people.employees WHERE base_salary > 0"
    ) == [(0,)]
    assert _rows(
        gateway_port, *HR, "SELECT count(*) FROM people.employees WHERE base_salary IS NULL"
    ) == [(40,)]


def test_aggregates_subqueries_and_ctes_see_masked_values(gateway_port: int) -> None:
    queries = [
        "SELECT max(base_salary), sum(base_salary) FROM people.employees",
        "SELECT (SELECT max(base_salary) FROM people.employees), 1",
        "WITH e AS (SELECT base_salary AS pay FROM people.employees) SELECT max(pay), 1 FROM e",
        "SELECT max(x.s), 1 FROM (SELECT base_salary AS s FROM people.employees) AS x",
    ]
    for sql in queries:
        assert _rows(gateway_port, *HR, sql) == [(None, _second(sql))], sql


def _second(sql: str) -> Any:
    return None if "sum(" in sql else 1


def test_self_join_masks_both_sides(gateway_port: int) -> None:
    rows = _rows(
        gateway_port, *HR,
        "SELECT a.employee_id, a.base_salary, b.base_salary FROM people.employees a "
        "JOIN people.employees b ON a.employee_id = b.employee_id",
    )  # fmt: skip
    assert len(rows) == 40
    assert all(r[1] is None and r[2] is None for r in rows)


def test_join_on_masked_column_matches_nothing(gateway_port: int) -> None:
    rows = _rows(
        gateway_port, *HR,
        "SELECT count(*) FROM people.employees a JOIN people.employees b ON a.base_salary = b.base_salary",
    )  # fmt: skip
    assert rows == [(0,)]


def test_cte_shadowing_a_product_name_is_the_cte(gateway_port: int) -> None:
    sql = "WITH employees AS (SELECT 42 AS base_salary) SELECT base_salary FROM employees"
    assert _rows(gateway_port, *HR, sql) == [(42,)]


def test_join_across_domains_and_parameters(gateway_port: int) -> None:
    sql = (
        "SELECT c.customer_id, o.order_id FROM sales.customers c JOIN sales.orders o "
        "ON o.customer_id = c.customer_id WHERE c.customer_id = %s AND o.total_amount > %s"
    )
    rows = _rows(gateway_port, "alice", "analytics", sql, ["CUS-0001", 0])
    assert rows and all(r[0] == "CUS-0001" for r in rows)


def test_denied_product_refuses_with_the_decisions_reason(gateway_port: int) -> None:
    with pytest.raises(
        psycopg.errors.InsufficientPrivilege, match=r"people\.employees.*not permitted"
    ):
        _rows(gateway_port, "ivan", "analytics", "SELECT employee_id FROM people.employees")


def test_one_denied_product_refuses_the_whole_join(gateway_port: int) -> None:
    sql = (
        "SELECT c.customer_id FROM sales.customers c "
        "JOIN people.employees e ON e.employee_id = c.customer_id"
    )
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=r"people\.employees"):
        _rows(gateway_port, "alice", "analytics", sql)


REFUSED = [
    "COPY sales.orders TO '/tmp/x.csv'",
    "ATTACH '/tmp/other.db' AS other",
    "PRAGMA version",
    "INSTALL httpfs",
    "SET threads = 1",
    "SET enable_external_access = true",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT read_text('/etc/passwd')",
    "SELECT 1; SELECT 2",
    "INSERT INTO sales.orders (order_id) VALUES ('x')",
    "CREATE TABLE t AS SELECT 1",
    "DROP TABLE sales.orders",
    "SELECT * FROM main.duckdb_settings()",
    "SELECT * FROM information_schema.character_sets",
    "SELECT employees FROM people.employees",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused_statements(gateway_port: int, sql: str) -> None:
    with pytest.raises(psycopg.Error):
        _rows(gateway_port, "alice", "analytics", sql)


def test_unknown_user_cannot_connect(gateway_port: int) -> None:
    with pytest.raises(psycopg.OperationalError, match="unknown user"):
        _connect(gateway_port, "mallory")


def test_unknown_purpose_is_refused(gateway_port: int) -> None:
    with (
        _connect(gateway_port, "alice") as conn,
        pytest.raises(psycopg.errors.InvalidParameterValue),
    ):
        conn.execute("SET govern.purpose = 'whatever'")


def test_transactions_as_psycopg_opens_them(gateway_port: int) -> None:
    with psycopg.connect(
        host="127.0.0.1", port=gateway_port, user="alice", dbname="govern"
    ) as conn:
        conn.execute("SET govern.purpose = 'analytics'")
        assert conn.execute("SELECT count(*) FROM sales.store_locations").fetchone() == (40,)
        conn.commit()


@pytest.mark.skipif(shutil.which("psql") is None, reason="no psql binary")
def test_psql_session(gateway_port: int) -> None:
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(gateway_port), "-U", "dave", "-A", "-t",
         "-c", "SET govern.purpose = 'hr_administration'",
         "-c", "SELECT count(*) FROM people.employees WHERE base_salary IS NULL"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["SET", "40"]


def test_every_decision_of_a_query_is_in_the_decision_log(
    gateway_port: int, gateway_log: Path
) -> None:
    sql = (
        "SELECT c.customer_id, o.order_id FROM sales.customers c "
        "JOIN sales.orders o ON o.customer_id = c.customer_id"
    )
    _rows(gateway_port, "alice", "analytics", sql)
    records: list[dict[str, Any]] = []
    for _ in range(100):  # the background writer flushes within a fraction of a second
        records = [
            json.loads(line)
            for path in sorted(gateway_log.glob("*.jsonl"))
            for line in path.read_text().splitlines()
        ]
        by_query: dict[str, set[str]] = {}
        for r in records:
            if r.get("requested_by", "").startswith("gateway:"):
                by_query.setdefault(r["requested_by"], set()).add(r["input"]["resource"]["id"])
        if {"sales.customers", "sales.orders"} in by_query.values():
            return
        time.sleep(0.1)
    raise AssertionError(f"no query with both products in the log: {records[-3:]}")
