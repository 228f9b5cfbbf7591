"""Attacks on the gateway's input handling, one class per case, through psycopg: every statement
kind that could read files, change DuckDB or escape the masks is refused, and every way of
reading a masked column (stars, star-likes, joins, laterals, samples, windows, recursion,
structs, lists) sees the masked value. dave (HR, purpose hr_administration) has base_salary
masked; no employee's salary is NULL in the data, so a NULL is the mask."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest

from governance import Engine
from governance.gateway.identity import load_users
from governance.gateway.server import GatewayConnection
from tests.gateway.conftest import ROOT


@pytest.fixture(scope="module")
def dave(gateway_port: int) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(
        host="127.0.0.1", port=gateway_port, user="dave", dbname="govern", autocommit=True
    ) as conn:
        conn.execute("SET govern.purpose = 'hr_administration'")
        yield conn


REFUSED = {
    # statements that are not one read query
    "copy": "COPY people.employees TO '/tmp/out.csv'",
    "copy query": "COPY (SELECT * FROM people.employees) TO '/tmp/out.csv'",
    "attach": "ATTACH '/tmp/other.duckdb' AS other",
    "detach": "DETACH memory",
    "pragma": "PRAGMA database_list",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set option": "SET threads = 1",
    "set external access": "SET enable_external_access = true",
    "set global": "SET GLOBAL lock_configuration = false",
    "reset": "RESET lock_configuration",
    "call": "CALL pragma_version()",
    "summarize": "SUMMARIZE people.employees",
    "describe": "DESCRIBE people.employees",
    "explain": "EXPLAIN SELECT * FROM people.employees",
    "show": "SHOW TABLES",
    "create view": "CREATE VIEW v AS SELECT * FROM people.employees",
    "create temp table": "CREATE TEMP TABLE t AS SELECT 1",
    "select into": "SELECT * INTO t FROM people.employees",
    "update": "UPDATE people.employees SET base_salary = 0",
    "pivot": "PIVOT people.employees ON department USING max(base_salary)",
    "export": "EXPORT DATABASE '/tmp/dump'",
    # functions reading files, the environment or the system
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_csv_auto": "SELECT * FROM read_csv_auto('/etc/passwd')",
    "read_parquet": "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "parquet_scan": "SELECT * FROM parquet_scan('/tmp/x.parquet')",
    "read_json": "SELECT * FROM read_json('/tmp/x.json')",
    "read_text": "SELECT read_text('/etc/passwd')",
    "read_text in where": "SELECT employee_id FROM people.employees WHERE read_text('/etc/passwd') <> ''",
    "read_blob": "SELECT * FROM read_blob('/etc/passwd')",
    "glob": "SELECT * FROM glob('/tmp/*')",
    "getenv": "SELECT getenv('HOME')",
    "current_setting": "SELECT current_setting('threads') FROM people.employees",
    "duckdb_settings": "SELECT * FROM duckdb_settings()",
    "pragma function": "SELECT * FROM pragma_table_info('people.employees')",
    "lateral file": "SELECT * FROM people.employees e, LATERAL read_csv('/etc/passwd')",
    "file as table": "SELECT * FROM '/etc/passwd'",
    "file as identifier": 'SELECT * FROM "/tmp/people/employees.parquet"',
    # several statements, hidden or not
    "two statements": "SELECT 1; SELECT 2",
    "statement after comment": "SELECT 1 /* a */; DROP TABLE people.employees",
    "fullwidth semicolon": "SELECT 1\uff1bSELECT 2",
    # names that are not the catalog's, though DuckDB might resolve them
    "quoted other case": 'SELECT * FROM "PEOPLE"."EMPLOYEES"',
    "database qualified": "SELECT * FROM memory.people.employees",
    "system catalog": "SELECT * FROM system.main.duckdb_settings",
    "homoglyph": "SELECT * FROM people.\u0435mployees",
    "unicode escape column": 'SELECT U&"\\0062ase_salary" FROM people.employees',
    # star-likes chosen at run time, whole rows
    "columns star": "SELECT COLUMNS(*) FROM people.employees",
    "columns regex": "SELECT COLUMNS('base_.*') FROM people.employees",
    "columns lambda": "SELECT COLUMNS(c -> c LIKE 'base%') FROM people.employees",
    "aggregate of columns": "SELECT max(COLUMNS('.*salary')) FROM people.employees",
    "whole row": "SELECT e FROM people.employees e",
    "whole row field": "SELECT (e).base_salary FROM people.employees e",
    "row to json": "SELECT to_json(e) FROM people.employees e",
    "struct_pack": "SELECT struct_pack(s := base_salary) FROM people.employees",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_refused(dave: psycopg.Connection[Any], sql: str) -> None:
    with pytest.raises(psycopg.Error):
        dave.execute(sql).fetchall()
    assert dave.execute("SELECT 1 AS alive").fetchall() == [(1,)]  # the session survives


MASKED = {
    "star": "SELECT * FROM people.employees",
    "star exclude": "SELECT * EXCLUDE (employee_id) FROM people.employees",
    "qualified star": "SELECT e.* FROM people.employees e",
    "fully qualified column": "SELECT people.employees.base_salary FROM people.employees",
    "from first": "FROM people.employees SELECT base_salary",
    "table statement": "TABLE people.employees",
    "self join": "SELECT b.base_salary FROM people.employees a JOIN people.employees b "
    "ON a.employee_id = b.employee_id",
    "join using": "SELECT e.base_salary FROM people.employees e JOIN people.payroll p "
    "USING (employee_id)",
    "lateral": "SELECT x.s AS base_salary FROM people.employees e, "
    "LATERAL (SELECT e.base_salary AS s) x",
    "sample": "SELECT base_salary FROM people.employees USING SAMPLE 50 PERCENT (bernoulli)",
    "qualify": "SELECT base_salary FROM people.employees "
    "QUALIFY row_number() OVER (ORDER BY base_salary DESC) <= 3",
    "window": "SELECT max(base_salary) OVER () AS base_salary FROM people.employees",
    "recursive cte": "WITH RECURSIVE r(n, base_salary) AS (SELECT 1, "
    "(SELECT max(base_salary) FROM people.employees) UNION ALL "
    "SELECT n + 1, base_salary FROM r WHERE n < 3) SELECT base_salary FROM r",
    "cte named like the product": "WITH employees AS (SELECT * FROM people.employees) "
    "SELECT base_salary FROM employees",
    "cte chain": "WITH a AS (SELECT base_salary AS s FROM people.employees), "
    "employees AS (SELECT s AS base_salary FROM a) SELECT base_salary FROM employees",
    "scalar subquery": "SELECT (SELECT max(base_salary) FROM people.employees) AS base_salary",
    "exists": "SELECT base_salary FROM people.employees e WHERE EXISTS "
    "(SELECT 1 FROM people.payroll p WHERE p.employee_id = e.employee_id)",
    "union": "SELECT base_salary FROM people.employees UNION ALL "
    "SELECT base_salary FROM people.employees",
    "struct field": "SELECT {'s': base_salary}.s AS base_salary FROM people.employees",
    "list": "SELECT unnest(list(base_salary)) AS base_salary FROM people.employees",
    "cast": "SELECT base_salary::varchar AS base_salary FROM people.employees",
    "order by masked": "SELECT base_salary FROM people.employees ORDER BY base_salary DESC "
    "NULLS LAST LIMIT 1",
    "group by masked": "SELECT base_salary FROM people.employees GROUP BY base_salary",
    "aggregate": "SELECT max(base_salary) AS base_salary FROM people.employees",
    "hidden in comment": "SELECT base_salary FROM people.employees -- */ UNION SELECT 1",
    "subquery column aliases": "SELECT x.base_salary FROM (SELECT employee_id, base_salary "
    "FROM people.employees) AS x(id, base_salary)",
    "cte column aliases": "WITH t(base_salary) AS (SELECT base_salary FROM people.employees) "
    "SELECT base_salary FROM t",
}


@pytest.mark.parametrize("sql", MASKED.values(), ids=MASKED.keys())
def test_masks_hold(dave: psycopg.Connection[Any], sql: str) -> None:
    cursor = dave.execute(sql)
    names = [d.name for d in cursor.description or ()]
    rows = cursor.fetchall()
    assert rows, "the query found rows"
    assert all(row[names.index("base_salary")] is None for row in rows)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM people.employees AS e(a)",
        "SELECT * FROM people.employees e(base_salary, employee_id)",
        "WITH t AS (SELECT base_salary FROM people.employees) SELECT s FROM t AS u(s)",
    ],
)
def test_column_aliases_on_a_table_are_refused_by_name(
    dave: psycopg.Connection[Any], sql: str
) -> None:
    """Renaming a table's columns by position would let a name stand for another column: it is
    refused, and the reason says so rather than naming a column the table lacks."""
    with pytest.raises(psycopg.Error, match="column aliases on a table are not supported"):
        dave.execute(sql).fetchall()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT count(*) FROM people.employees WHERE base_salary > 0", 0),
        ("SELECT count(*) FROM people.employees WHERE base_salary IS NULL", 40),
        ("SELECT count(*) FROM people.employees a JOIN people.employees b "
         "ON a.base_salary = b.base_salary", 0),
        ("SELECT count(DISTINCT base_salary) FROM people.employees", 0),
    ],
)  # fmt: skip
def test_predicates_see_masked_values(
    dave: psycopg.Connection[Any], sql: str, expected: int
) -> None:
    assert dave.execute(sql).fetchall() == [(expected,)]


@pytest.fixture(scope="module")
def data_database(gateway_data: Path) -> duckdb.DuckDBPyConnection:
    users = load_users(ROOT / "policies" / "fixtures.yaml")
    return GatewayConnection(Engine.from_path(ROOT / "policies"), gateway_data, users).db


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "ATTACH '/tmp/govern-attack.duckdb' AS other",
    ],
)
def test_the_database_itself_is_locked(data_database: duckdb.DuckDBPyConnection, sql: str) -> None:
    """The second wall: were a statement to get past the parser, DuckDB would still refuse."""
    with pytest.raises(duckdb.Error):
        data_database.execute(sql)
