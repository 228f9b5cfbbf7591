"""Catalog browsing: psql's \\dt and \\d, information_schema and a JDBC driver's metadata queries
answer with exactly the relations whose whole-product read the engine allows the user, and
never reach the data or DuckDB's own catalog."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from typing import Any

import psycopg
import pytest

from governance import Engine
from governance.gateway.identity import load_users
from governance.gateway.relations import relations
from tests.gateway.conftest import ROOT


def _rows(port: int, user: str, purpose: str | None, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(
        host="127.0.0.1", port=port, user=user, dbname="govern", autocommit=True
    ) as conn:
        if purpose:
            conn.execute(f"SET govern.purpose = '{purpose}'")
        return conn.execute(sql).fetchall()


@cache
def _engine() -> Engine:
    return Engine.from_path(ROOT / "policies")


@cache
def _allowed(user: str, purpose: str | None) -> frozenset[tuple[str, str]]:
    """What the engine itself says the user may read, product by product, whole product."""
    engine = _engine()
    principal = load_users(ROOT / "policies" / "fixtures.yaml")[user]
    found = set()
    for key, relation in relations(engine.snapshot).items():
        request = {
            "subject": {"type": "User", "id": user,
                        "properties": {"groups": list(principal.groups), **principal.attributes}},
            "action": {"name": "read"},
            "resource": {"type": "DataProduct", "id": relation.product,
                         "properties": {"columns": [c.key for c in relation.columns]}},
            "context": {"purpose": purpose} if purpose else {},
        }  # fmt: skip
        if engine.decide(request).allowed:
            found.add(key)
    return frozenset(found)


PERSONAS = [("alice", "analytics"), ("dave", "hr_administration"), ("ivan", "analytics"),
            ("frank", "audit"), ("alice", None)]  # fmt: skip


@pytest.mark.parametrize(("user", "purpose"), PERSONAS)
def test_information_schema_lists_what_the_engine_allows(
    gateway_port: int, user: str, purpose: str | None
) -> None:
    tables = _rows(gateway_port, user, purpose,
                   "SELECT table_schema, table_name FROM information_schema.tables")  # fmt: skip
    assert set(tables) == _allowed(user, purpose)
    columns = _rows(gateway_port, user, purpose,
                    "SELECT DISTINCT table_schema, table_name FROM information_schema.columns")  # fmt: skip
    assert set(columns) == _allowed(user, purpose)


def test_personas_see_different_catalogs() -> None:
    """The test above would pass vacuously if everyone saw everything or nothing."""
    assert ("people", "employees") in _allowed("dave", "hr_administration")
    assert ("people", "employees") not in _allowed("alice", "analytics")
    assert ("sales", "orders") in _allowed("alice", "analytics")
    assert not _allowed("ivan", "analytics") >= _allowed("alice", "analytics")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
        "ON c.oid = a.attrelid WHERE c.relname = 'employees'",
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'employees'",
        "SELECT relname FROM pg_class WHERE relname = 'employees'",
        "SELECT description FROM pg_catalog.pg_description",
        "SELECT 1 FROM pg_catalog.pg_class WHERE 'people.employees'::regclass IS NOT NULL",
    ],
)
def test_a_forbidden_products_columns_never_show(gateway_port: int, sql: str) -> None:
    rows = _rows(gateway_port, "alice", "analytics", sql)
    assert not any("salary" in str(r) or "employees" in str(r) for r in rows), rows
    assert _rows(gateway_port, "dave", "hr_administration", sql)  # the query does find it


def test_masked_columns_are_described(gateway_port: int) -> None:
    rows = _rows(gateway_port, "dave", "hr_administration",
                 "SELECT column_name, column_comment FROM information_schema.columns "
                 "WHERE table_name = 'employees' AND column_comment IS NOT NULL")  # fmt: skip
    assert rows and all(c.startswith("masked for you") for _, c in rows)
    assert "base_salary" in {name for name, _ in rows}


def test_the_catalog_follows_the_purpose(gateway_port: int) -> None:
    sql = "SELECT table_schema, table_name FROM information_schema.tables"
    with psycopg.connect(host="127.0.0.1", port=gateway_port, user="dave", autocommit=True) as c:
        before = set(c.execute(sql).fetchall())
        c.execute("SET govern.purpose = 'hr_administration'")
        after = set(c.execute(sql).fetchall())
    assert before == _allowed("dave", None)
    assert after == _allowed("dave", "hr_administration")
    assert before != after


CLOSED = [
    ("SELECT * FROM duckdb_tables()", "table functions are not allowed"),
    ("SELECT * FROM pg_catalog.duckdb_settings", "does not exist"),
    ("SELECT * FROM duckdb_settings", "does not exist"),
    ("SELECT * FROM information_schema.character_sets", "does not exist"),
    ("SELECT relname FROM pg_class, sales.orders", "not both"),
    ("SELECT read_text('/etc/passwd')", "not allowed"),
    ("SELECT pg_catalog.read_text('/etc/passwd')", "not allowed"),
    ("SELECT main.current_setting('threads')", "not allowed"),
    ("SELECT * FROM pg_catalog.pg_class; SELECT 1", "exactly one statement"),
    ("SELECT pg_catalog.pg_sleep(100)", "not allowed"),
    ("COPY (SELECT * FROM pg_class) TO '/tmp/x'", "only read queries"),
]


@pytest.mark.parametrize(("sql", "message"), CLOSED)
def test_catalog_queries_reach_only_the_browsing_tables(
    gateway_port: int, sql: str, message: str
) -> None:
    with pytest.raises(psycopg.Error, match=message):
        _rows(gateway_port, "alice", "analytics", sql)


def test_duckdb_settings_are_not_the_catalog_settings(gateway_port: int) -> None:
    rows = _rows(gateway_port, "alice", None,
                 "SELECT current_setting('threads'), current_setting('server_version_num'), "
                 "version(), current_user")  # fmt: skip
    assert rows == [(None, "160000", "PostgreSQL 16.0 (govern gateway)", "alice")]


# What pgjdbc's DatabaseMetaData.getTables and getColumns send (JDBC tools, DBeaver, Metabase).
JDBC_TABLES = """SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,
 CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema' WHEN true THEN CASE
 WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind
 WHEN 'r' THEN 'SYSTEM TABLE' WHEN 'v' THEN 'SYSTEM VIEW' ELSE NULL END ELSE NULL END
 WHEN false THEN CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE'
 WHEN 'v' THEN 'VIEW' ELSE NULL END ELSE NULL END AS TABLE_TYPE, d.description AS REMARKS,
 '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME,
 '' AS REF_GENERATION FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0
 and d.classoid = 'pg_class'::regclass) WHERE c.relnamespace = n.oid AND c.relname LIKE '%'
 AND (false OR ( c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ))
 ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME"""
JDBC_COLUMNS = """SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,
 a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,
 t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum,
 nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,
 pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype
 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)
 JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid) JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)
 LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)
 LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
 LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')
 LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')
 WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped
 AND n.nspname LIKE '%' AND c.relname LIKE '%') c WHERE true ORDER BY nspname,c.relname,attnum"""


def test_jdbc_metadata_queries(gateway_port: int) -> None:
    tables = _rows(gateway_port, "alice", "analytics", JDBC_TABLES)
    assert {(r[1], r[2]) for r in tables} == _allowed("alice", "analytics")
    assert {r[3] for r in tables} == {"TABLE"}
    assert {r[4] for r in tables} >= {"data product sales.orders"}
    columns = _rows(gateway_port, "alice", "analytics", JDBC_COLUMNS)
    assert {(r[0], r[1]) for r in columns} == _allowed("alice", "analytics")
    catalog = relations(_engine().snapshot)
    expected = {(s, n, c.name) for (s, n) in _allowed("alice", "analytics")
                for c in catalog[(s, n)].columns}  # fmt: skip
    assert {(r[0], r[1], r[2]) for r in columns} == expected


def _psql(port: int, user: str, purpose: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-X", "-A", "-t", "-F", "|",
         "-c", command],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PGAPPNAME": purpose, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


needs_psql = pytest.mark.skipif(shutil.which("psql") is None, reason="no psql binary")


@needs_psql
@pytest.mark.parametrize(
    ("user", "purpose"), [("alice", "analytics"), ("dave", "hr_administration")]
)
def test_psql_dt_lists_what_the_engine_allows(gateway_port: int, user: str, purpose: str) -> None:
    result = _psql(gateway_port, user, purpose, r"\dt")
    assert result.returncode == 0, result.stderr
    listed = {tuple(line.split("|")[:2]) for line in result.stdout.splitlines() if line}
    assert listed == _allowed(user, purpose)


@needs_psql
def test_psql_d_describes_a_visible_table(gateway_port: int) -> None:
    result = _psql(gateway_port, "dave", "hr_administration", r"\d people.employees")
    assert result.returncode == 0, result.stderr
    lines = [line.split("|") for line in result.stdout.splitlines() if "|" in line]
    catalog = relations(_engine().snapshot)
    assert [line[0] for line in lines] == [c.name for c in catalog[("people", "employees")].columns]
    assert ["base_salary", "double precision"] in [line[:2] for line in lines]


@needs_psql
def test_psql_d_does_not_find_a_forbidden_table(gateway_port: int) -> None:
    result = _psql(gateway_port, "alice", "analytics", r"\d people.employees")
    assert "Did not find any relation named" in result.stderr
    assert "base_salary" not in result.stdout
    assert "Did not find" in _psql(gateway_port, "alice", "analytics", r"\d employees").stderr
