"""The catalog a client browses: PostgreSQL's `pg_catalog` and `information_schema` tables, filled
with only the relations and columns one user may read, in a DuckDB of their own holding no data.

psql's `\\dt` and `\\d`, JDBC's `DatabaseMetaData` and BI tools' schema browsers query these
tables. They never reach the data database nor DuckDB's own catalog: each is answered by a
separate in-memory DuckDB whose only tables are the ones defined here, rows derived from the
engine's decisions (a product whose whole-product read is denied has no row anywhere).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from governance.gateway.relations import Relation

PG_CATALOG, INFORMATION_SCHEMA = "pg_catalog", "information_schema"
# Where the tables live in the browsing DuckDB: DuckDB reserves the PostgreSQL schema names.
SHADOW_SCHEMA = {PG_CATALOG: "govern_pg", INFORMATION_SCHEMA: "govern_is"}
DATABASE = "govern"

_T, _I, _B, _L = "VARCHAR", "INTEGER", "BOOLEAN", "VARCHAR[]"
_IL = "INTEGER[]"

# Each table with the PostgreSQL columns clients read (a row leaves the others NULL).
TABLES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    (PG_CATALOG, name): tuple((c, t) for c, t in (col.split(":") for col in spec.split()))
    for name, spec in {
        "pg_namespace": f"oid:{_I} nspname:{_T} nspowner:{_I} nspacl:{_L}",
        "pg_class": (
            f"oid:{_I} relname:{_T} relnamespace:{_I} reltype:{_I} reloftype:{_I} relowner:{_I} "
            f"relam:{_I} relfilenode:{_I} reltablespace:{_I} relpages:{_I} reltuples:DOUBLE "
            f"relallvisible:{_I} reltoastrelid:{_I} relhasindex:{_B} relisshared:{_B} "
            f"relpersistence:{_T} relkind:{_T} relnatts:{_I} relchecks:{_I} relhasrules:{_B} "
            f"relhastriggers:{_B} relhassubclass:{_B} relrowsecurity:{_B} "
            f"relforcerowsecurity:{_B} relispopulated:{_B} relreplident:{_T} "
            f"relispartition:{_B} relrewrite:{_I} relacl:{_L} reloptions:{_L} relpartbound:{_T}"
        ),
        "pg_attribute": (
            f"attrelid:{_I} attname:{_T} atttypid:{_I} attstattarget:{_I} attlen:{_I} "
            f"attnum:{_I} attndims:{_I} atttypmod:{_I} attbyval:{_B} attalign:{_T} "
            f"attstorage:{_T} attcompression:{_T} attnotnull:{_B} atthasdef:{_B} "
            f"atthasmissing:{_B} attidentity:{_T} attgenerated:{_T} attisdropped:{_B} "
            f"attislocal:{_B} attinhcount:{_I} attcollation:{_I} attacl:{_L} attoptions:{_L}"
        ),
        "pg_type": (
            f"oid:{_I} typname:{_T} typnamespace:{_I} typowner:{_I} typlen:{_I} typbyval:{_B} "
            f"typtype:{_T} typcategory:{_T} typispreferred:{_B} typisdefined:{_B} "
            f"typdelim:{_T} typrelid:{_I} typelem:{_I} typarray:{_I} typinput:{_T} "
            f"typoutput:{_T} typreceive:{_T} typsend:{_T} typalign:{_T} typstorage:{_T} "
            f"typnotnull:{_B} typbasetype:{_I} typtypmod:{_I} typndims:{_I} "
            f"typcollation:{_I} typdefault:{_T} typacl:{_L}"
        ),
        "pg_am": f"oid:{_I} amname:{_T} amhandler:{_T} amtype:{_T}",
        "pg_database": (
            f"oid:{_I} datname:{_T} datdba:{_I} encoding:{_I} datlocprovider:{_T} "
            f"datistemplate:{_B} datallowconn:{_B} datconnlimit:{_I} datcollate:{_T} "
            f"datctype:{_T} daticulocale:{_T} dattablespace:{_I} datacl:{_L}"
        ),
        "pg_description": f"objoid:{_I} classoid:{_I} objsubid:{_I} description:{_T}",
        "pg_index": (
            f"indexrelid:{_I} indrelid:{_I} indnatts:{_I} indnkeyatts:{_I} indisunique:{_B} "
            f"indisprimary:{_B} indisexclusion:{_B} indimmediate:{_B} indisclustered:{_B} "
            f"indisvalid:{_B} indisready:{_B} indislive:{_B} indisreplident:{_B} "
            f"indkey:{_IL} indexprs:{_T} indpred:{_T}"
        ),
        "pg_constraint": (
            f"oid:{_I} conname:{_T} connamespace:{_I} contype:{_T} condeferrable:{_B} "
            f"condeferred:{_B} convalidated:{_B} conrelid:{_I} contypid:{_I} conindid:{_I} "
            f"conparentid:{_I} confrelid:{_I} confupdtype:{_T} confdeltype:{_T} "
            f"confmatchtype:{_T} conislocal:{_B} coninhcount:{_I} connoinherit:{_B} "
            f"conkey:{_IL} confkey:{_IL} conbin:{_T}"
        ),
        "pg_attrdef": f"oid:{_I} adrelid:{_I} adnum:{_I} adbin:{_T}",
        "pg_collation": f"oid:{_I} collname:{_T} collnamespace:{_I} collprovider:{_T}",
        "pg_inherits": f"inhrelid:{_I} inhparent:{_I} inhseqno:{_I} inhdetachpending:{_B}",
        "pg_policy": (
            f"oid:{_I} polname:{_T} polrelid:{_I} polcmd:{_T} polpermissive:{_B} "
            f"polroles:{_IL} polqual:{_T} polwithcheck:{_T}"
        ),
        "pg_roles": (
            f"oid:{_I} rolname:{_T} rolsuper:{_B} rolinherit:{_B} rolcreaterole:{_B} "
            f"rolcreatedb:{_B} rolcanlogin:{_B} rolreplication:{_B} rolconnlimit:{_I} "
            f"rolvaliduntil:{_T} rolbypassrls:{_B} rolconfig:{_L}"
        ),
        "pg_user": f"usename:{_T} usesysid:{_I} usecreatedb:{_B} usesuper:{_B}",
        "pg_statistic_ext": (
            f"oid:{_I} stxrelid:{_I} stxname:{_T} stxnamespace:{_I} stxowner:{_I} "
            f"stxstattarget:{_I} stxkeys:{_IL} stxkind:{_L}"
        ),
        "pg_publication": (
            f"oid:{_I} pubname:{_T} pubowner:{_I} puballtables:{_B} pubinsert:{_B} "
            f"pubupdate:{_B} pubdelete:{_B} pubtruncate:{_B} pubviaroot:{_B}"
        ),
        "pg_publication_rel": f"oid:{_I} prpubid:{_I} prrelid:{_I} prqual:{_T} prattrs:{_IL}",
        "pg_publication_namespace": f"oid:{_I} pnpubid:{_I} pnnspid:{_I}",
        "pg_trigger": f"oid:{_I} tgrelid:{_I} tgname:{_T} tgenabled:{_T} tgisinternal:{_B}",
        "pg_rewrite": f"oid:{_I} rulename:{_T} ev_class:{_I} ev_type:{_T}",
        "pg_proc": f"oid:{_I} proname:{_T} pronamespace:{_I} prokind:{_T} prorettype:{_I}",
        "pg_settings": f"name:{_T} setting:{_T} unit:{_T} category:{_T} short_desc:{_T}",
        "pg_tables": (
            f"schemaname:{_T} tablename:{_T} tableowner:{_T} tablespace:{_T} "
            f"hasindexes:{_B} hasrules:{_B} hastriggers:{_B} rowsecurity:{_B}"
        ),
        "pg_views": f"schemaname:{_T} viewname:{_T} viewowner:{_T} definition:{_T}",
        "pg_matviews": f"schemaname:{_T} matviewname:{_T} matviewowner:{_T} definition:{_T}",
        "pg_foreign_table": f"ftrelid:{_I} ftserver:{_I} ftoptions:{_L}",
        "pg_partitioned_table": f"partrelid:{_I} partstrat:{_T} partnatts:{_I}",
        "pg_extension": f"oid:{_I} extname:{_T} extnamespace:{_I} extversion:{_T}",
        "pg_enum": f"oid:{_I} enumtypid:{_I} enumsortorder:DOUBLE enumlabel:{_T}",
        "pg_depend": (
            f"classid:{_I} objid:{_I} objsubid:{_I} refclassid:{_I} refobjid:{_I} "
            f"refobjsubid:{_I} deptype:{_T}"
        ),
        "pg_tablespace": f"oid:{_I} spcname:{_T} spcowner:{_I}",
    }.items()
} | {
    (INFORMATION_SCHEMA, name): tuple((c, t) for c, t in (col.split(":") for col in spec.split()))
    for name, spec in {
        "schemata": f"catalog_name:{_T} schema_name:{_T} schema_owner:{_T}",
        "tables": (
            f"table_catalog:{_T} table_schema:{_T} table_name:{_T} table_type:{_T} "
            f"self_referencing_column_name:{_T} reference_generation:{_T} "
            f"user_defined_type_catalog:{_T} user_defined_type_schema:{_T} "
            f"user_defined_type_name:{_T} is_insertable_into:{_T} is_typed:{_T} "
            f"commit_action:{_T} table_comment:{_T}"
        ),
        "columns": (
            f"table_catalog:{_T} table_schema:{_T} table_name:{_T} column_name:{_T} "
            f"ordinal_position:{_I} column_default:{_T} is_nullable:{_T} data_type:{_T} "
            f"character_maximum_length:{_I} character_octet_length:{_I} "
            f"numeric_precision:{_I} numeric_precision_radix:{_I} numeric_scale:{_I} "
            f"datetime_precision:{_I} udt_catalog:{_T} udt_schema:{_T} udt_name:{_T} "
            f"is_identity:{_T} is_generated:{_T} is_updatable:{_T} column_comment:{_T}"
        ),
        "views": f"table_catalog:{_T} table_schema:{_T} table_name:{_T} view_definition:{_T}",
        "table_constraints": (
            f"constraint_catalog:{_T} constraint_schema:{_T} constraint_name:{_T} "
            f"table_catalog:{_T} table_schema:{_T} table_name:{_T} constraint_type:{_T}"
        ),
        "key_column_usage": (
            f"constraint_catalog:{_T} constraint_schema:{_T} constraint_name:{_T} "
            f"table_catalog:{_T} table_schema:{_T} table_name:{_T} column_name:{_T} "
            f"ordinal_position:{_I}"
        ),
    }.items()
}

# PostgreSQL's own oids where clients compare with them ('pg_class'::regclass is 1259).
_WELL_KNOWN_RELATIONS = {"pg_class": 1259, "pg_attribute": 1249, "pg_type": 1247, "pg_proc": 1255}
_NAMESPACES = {PG_CATALOG: 11, "public": 2200, INFORMATION_SCHEMA: 13000}
_FIRST_USER_OID = 16384

# (oid, typname, what format_type prints, information_schema data_type, len, category)
_TYPES: dict[str, tuple[int, str, str, int, str]] = {
    "BOOLEAN": (16, "bool", "boolean", 1, "B"),
    "BIGINT": (20, "int8", "bigint", 8, "N"),
    "VARCHAR": (1043, "varchar", "character varying", -1, "S"),
    "DOUBLE": (701, "float8", "double precision", 8, "N"),
    "DATE": (1082, "date", "date", 4, "D"),
    "TIMESTAMP": (1114, "timestamp", "timestamp without time zone", 8, "D"),
    "VARCHAR[]": (1015, "_varchar", "character varying[]", -1, "A"),
}
_OTHER_TYPES = [(19, "name", "name", 64, "S"), (23, "int4", "integer", 4, "N"),
                (25, "text", "text", -1, "S"), (26, "oid", "oid", 4, "N"),
                (21, "int2", "smallint", 2, "N"), (700, "float4", "real", 4, "N")]  # fmt: skip

# Functions psql and drivers call, as macros over the tables above (never DuckDB's own).
_MACROS = """
current_user_name() AS (SELECT _gu.usename FROM {pg}.pg_user _gu);
pg_get_userbyid(role) AS (SELECT _gr.rolname FROM {pg}.pg_roles _gr WHERE _gr.oid = role);
pg_table_is_visible(rel) AS (SELECT count(*) > 0 FROM {pg}.pg_class _gk WHERE _gk.oid = rel);
pg_type_is_visible(t) AS true;
pg_function_is_visible(f) AS true;
format_type(t, typmod) AS (SELECT CASE {type_cases} ELSE NULL END);
pg_get_expr(e, r) AS CAST(NULL AS VARCHAR), (e, r, pretty) AS CAST(NULL AS VARCHAR);
pg_get_indexdef(i) AS CAST(NULL AS VARCHAR), (i, c, p) AS CAST(NULL AS VARCHAR);
pg_get_constraintdef(c) AS CAST(NULL AS VARCHAR), (c, p) AS CAST(NULL AS VARCHAR);
pg_get_viewdef(v) AS CAST(NULL AS VARCHAR), (v, p) AS CAST(NULL AS VARCHAR);
pg_get_statisticsobjdef_columns(s) AS CAST(NULL AS VARCHAR);
pg_get_partkeydef(r) AS CAST(NULL AS VARCHAR);
pg_relation_is_publishable(r) AS false;
pg_encoding_to_char(e) AS 'UTF8';
pg_relation_size(r) AS CAST(0 AS BIGINT), (r, f) AS CAST(0 AS BIGINT);
pg_total_relation_size(r) AS CAST(0 AS BIGINT);
pg_table_size(r) AS CAST(0 AS BIGINT);
pg_size_pretty(s) AS CAST(s AS VARCHAR) || ' bytes';
pg_backend_pid() AS 0;
col_description(rel, n) AS (SELECT _gd.description FROM {pg}.pg_description _gd WHERE _gd.objoid = rel AND _gd.objsubid = n);
obj_description(o) AS (SELECT _gd.description FROM {pg}.pg_description _gd WHERE _gd.objoid = o AND _gd.objsubid = 0), (o, c) AS (SELECT _gd.description FROM {pg}.pg_description _gd WHERE _gd.objoid = o AND _gd.objsubid = 0);
shobj_description(o, c) AS CAST(NULL AS VARCHAR);
has_table_privilege(a, b) AS true, (a, b, c) AS true;
has_schema_privilege(a, b) AS true, (a, b, c) AS true;
has_database_privilege(a, b) AS true, (a, b, c) AS true;
has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true;
current_setting(n) AS (SELECT _gs.setting FROM {pg}.pg_settings _gs WHERE _gs.name = n), (n, missing_ok) AS (SELECT _gs.setting FROM {pg}.pg_settings _gs WHERE _gs.name = n);
regclass_name(rel) AS (SELECT CASE WHEN _gn.nspname IN ('pg_catalog', 'public') THEN _gc.relname ELSE _gn.nspname || '.' || _gc.relname END FROM {pg}.pg_class _gc JOIN {pg}.pg_namespace _gn ON _gn.oid = _gc.relnamespace WHERE _gc.oid = rel);
regclass_oid(name) AS (SELECT _gc.oid FROM {pg}.pg_class _gc JOIN {pg}.pg_namespace _gn ON _gn.oid = _gc.relnamespace WHERE _gc.relname = name OR _gn.nspname || '.' || _gc.relname = name ORDER BY _gn.nspname <> 'pg_catalog' LIMIT 1);
regtype_name(t) AS format_type(t, NULL);
regnamespace_name(ns) AS (SELECT _gm.nspname FROM {pg}.pg_namespace _gm WHERE _gm.oid = ns);
array_upper(a, d) AS len(a);
array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END;
"""
# The PostgreSQL function names a catalog query may call, each a macro above.
FUNCTIONS = frozenset(
    line.split("(", 1)[0] for line in _MACROS.strip().splitlines() if not line.startswith("reg")
)
REG_FUNCTIONS = {"regclass": "regclass_name", "regtype": "regtype_name",
                 "regnamespace": "regnamespace_name"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Visible:
    """A relation the user may read, and the masked columns' strategies (shown as comments)."""

    relation: Relation
    masked: tuple[tuple[str, str], ...]  # (SQL column name, strategy name)


class CatalogCache:
    """Browsing catalogs shared by the sessions that would build the same one (same user, same
    visible relations and masks): building one costs DuckDB far more than the decisions do.
    Each session reads its own cursor; the tables never change once built."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._built: OrderedDict[tuple[Any, ...], duckdb.DuckDBPyConnection] = OrderedDict()
        self._lock = threading.Lock()

    def cursor(
        self, visible: Sequence[Visible], user: str, settings: Mapping[str, str]
    ) -> duckdb.DuckDBPyConnection:
        key = (user, tuple(visible), tuple(sorted(settings.items())))
        with self._lock:
            db = self._built.get(key)
            if db is None:
                db = self._built[key] = open_catalog(visible, user, settings)
                while len(self._built) > self._size:
                    self._built.popitem(last=False)  # sessions still reading keep it alive
            self._built.move_to_end(key)
            return db.cursor()


def open_catalog(
    visible: Sequence[Visible], user: str, settings: Mapping[str, str]
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB holding the catalog tables for these relations, then locked
    (no file access, no configuration change), so a catalog query reads these rows only."""
    db = duckdb.connect(":memory:")
    # One script: DuckDB's cost is per call far more than per statement.
    script = ["BEGIN;", *(f"CREATE SCHEMA {schema};" for schema in SHADOW_SCHEMA.values())]
    rows = _rows(visible, user, settings)
    for (schema, name), columns in TABLES.items():
        table = f'{SHADOW_SCHEMA[schema]}."{name}"'
        body = ", ".join(f'"{c}" {t}' for c, t in columns)
        script.append(f"CREATE TABLE {table} ({body});")
        if rows[(schema, name)]:
            values = ", ".join(
                "(" + ", ".join(_literal(row.get(c)) for c, _ in columns) + ")"
                for row in rows[(schema, name)]
            )
            script.append(f"INSERT INTO {table} VALUES {values};")
    cases = " ".join(f"WHEN t = {oid} THEN '{shown}'" for oid, _, shown, _, _ in _all_types())
    for macro in _MACROS.strip().splitlines():
        text = macro.format(pg=SHADOW_SCHEMA[PG_CATALOG], type_cases=cases)
        script.append(f"CREATE MACRO {SHADOW_SCHEMA[PG_CATALOG]}.{text}")
    script += ["COMMIT;", "SET enable_external_access = false;", "SET lock_configuration = true;"]
    db.execute("\n".join(script))
    return db


def _all_types() -> list[tuple[int, str, str, int, str]]:
    return [*_TYPES.values(), *_OTHER_TYPES]


def _literal(value: Any) -> str:
    """SQL for a catalog value: names come from policy files, so strings are escaped."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _rows(
    visible: Sequence[Visible], user: str, settings: Mapping[str, str]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in TABLES}

    def add(table: str, schema: str = PG_CATALOG, **values: Any) -> None:
        rows[(schema, table)].append(values)

    add("pg_roles", oid=10, rolname=user, rolsuper=False, rolinherit=True, rolcanlogin=True,
        rolcreaterole=False, rolcreatedb=False, rolreplication=False, rolbypassrls=False,
        rolconnlimit=-1)  # fmt: skip
    add("pg_user", usename=user, usesysid=10, usecreatedb=False, usesuper=False)
    add("pg_database", oid=1, datname=DATABASE, datdba=10, encoding=6, datlocprovider="c",
        datistemplate=False, datallowconn=True, datconnlimit=-1, datcollate="C", datctype="C",
        dattablespace=1663)  # fmt: skip
    add("pg_am", oid=2, amname="heap", amhandler="heap_tableam_handler", amtype="t")
    add("pg_tablespace", oid=1663, spcname="pg_default", spcowner=10)
    for name, value in settings.items():
        add("pg_settings", name=name, setting=value)
    for oid, typname, _, length, category in _all_types():
        add("pg_type", oid=oid, typname=typname, typnamespace=_NAMESPACES[PG_CATALOG],
            typowner=10, typlen=length, typbyval=length in (1, 2, 4, 8), typtype="b",
            typcategory=category, typisdefined=True, typdelim=",", typrelid=0, typelem=0,
            typnotnull=False, typbasetype=0, typtypmod=-1, typndims=0, typcollation=0)  # fmt: skip
    schemas = dict(_NAMESPACES)
    oids = iter(range(_FIRST_USER_OID, 2**31))
    for domain in sorted({v.relation.schema for v in visible}):
        schemas[domain] = next(oids)
    for name, oid in schemas.items():
        add("pg_namespace", oid=oid, nspname=name, nspowner=10)
        if name not in (PG_CATALOG, INFORMATION_SCHEMA):
            add("schemata", INFORMATION_SCHEMA, catalog_name=DATABASE, schema_name=name,
                schema_owner=user)  # fmt: skip
    for number, (schema, table) in enumerate(TABLES):
        oid = _WELL_KNOWN_RELATIONS.get(table, 1000 + number)
        add("pg_class", **_class_row(oid, table, schemas[schema], "v", 0))
    for item in visible:
        _relation_rows(add, item, next(oids), schemas[item.relation.schema], user)
    return rows


def _class_row(oid: int, name: str, namespace: int, kind: str, columns: int) -> dict[str, Any]:
    return dict(
        oid=oid, relname=name, relnamespace=namespace, reltype=0, reloftype=0, relowner=10,
        relam=2 if kind == "r" else 0, relfilenode=oid, reltablespace=0, relpages=0,
        reltuples=-1.0, relallvisible=0, reltoastrelid=0, relhasindex=False, relisshared=False,
        relpersistence="p", relkind=kind, relnatts=columns, relchecks=0, relhasrules=False,
        relhastriggers=False, relhassubclass=False, relrowsecurity=False,
        relforcerowsecurity=False, relispopulated=True, relreplident="d", relispartition=False,
        relrewrite=0,
    )  # fmt: skip


def _relation_rows(add: Any, item: Visible, oid: int, namespace: int, user: str) -> None:
    relation = item.relation
    add("pg_class", **_class_row(oid, relation.name, namespace, "r", len(relation.columns)))
    add("pg_tables", schemaname=relation.schema, tablename=relation.name, tableowner=user,
        hasindexes=False, hasrules=False, hastriggers=False, rowsecurity=False)  # fmt: skip
    add("pg_description", objoid=oid, classoid=1259, objsubid=0,
        description=f"data product {relation.product}")  # fmt: skip
    add("tables", INFORMATION_SCHEMA, table_catalog=DATABASE, table_schema=relation.schema,
        table_name=relation.name, table_type="BASE TABLE", is_insertable_into="NO",
        is_typed="NO", table_comment=f"data product {relation.product}")  # fmt: skip
    for number, column in enumerate(relation.columns, start=1):
        type_oid, typname, shown, length, _ = _TYPES.get(column.sql_type, _TYPES["VARCHAR"])
        add("pg_attribute", attrelid=oid, attname=column.name, atttypid=type_oid,
            attstattarget=-1, attlen=length, attnum=number, attndims=0, atttypmod=-1,
            attbyval=length in (1, 2, 4, 8), attalign="i", attstorage="x", attcompression="",
            attnotnull=False, atthasdef=False, atthasmissing=False, attidentity="",
            attgenerated="", attisdropped=False, attislocal=True, attinhcount=0,
            attcollation=0)  # fmt: skip
        strategy = dict(item.masked).get(column.name)
        comment = None if strategy is None else f"masked for you ({strategy})"
        if comment:
            add("pg_description", objoid=oid, classoid=1259, objsubid=number, description=comment)
        add("columns", INFORMATION_SCHEMA, table_catalog=DATABASE, table_schema=relation.schema,
            table_name=relation.name, column_name=column.name, ordinal_position=number,
            is_nullable="YES", data_type=shown, udt_catalog=DATABASE, udt_schema=PG_CATALOG,
            udt_name=typname, is_identity="NO", is_generated="NEVER", is_updatable="NO",
            column_comment=comment)  # fmt: skip
