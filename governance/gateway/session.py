"""One client session: identity and purpose, and each statement decided, masked and run on DuckDB."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
from buenavista.backends.duckdb import DuckDBQueryResult  # type: ignore[import-untyped]
from buenavista.core import Session  # type: ignore[import-untyped]

from governance.access.request import AccessRequest
from governance.decision import Decision, Mask
from governance.engine import Engine
from governance.gateway.browse_catalog import CatalogCache, Visible
from governance.gateway.browse_sql import SERVER_VERSION, CatalogQuery
from governance.gateway.identity import Principal
from governance.gateway.policy_sql import QueryPlan, Refused
from governance.gateway.relations import Relation
from governance.gateway.statement import plan_statement
from governance.rules.mask_sql import render_mask

_SET_PURPOSE = re.compile(
    r"^\s*SET\s+(?:SESSION\s+)?govern\.purpose\s*(?:=|TO)\s*'([A-Za-z0-9_\-]*)'\s*;?\s*$", re.I
)
# What drivers send on their own (psycopg's BEGIN, JDBC's SET extra_float_digits): accepted,
# acknowledged and not run, since every statement the gateway runs is a read.
_CLIENT_NOISE = re.compile(
    r"^\s*(?:(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK)(?:\s+\w+)*"
    r"|SET\s+(?:SESSION\s+)?(?:extra_float_digits|application_name|datestyle|client_encoding"
    r"|timezone|time\s+zone)\b[^;]*)\s*;?\s*$",
    re.I,
)


def mask_sql(mask: Mask, column_name: str, column_sql_type: str) -> str:
    """The DuckDB expression a masked column becomes: the mask's strategy, keeping the column's
    type. A failure to render (a `hash` without its key) is NULL: the strictest mask, never the
    value."""
    column_sql = '"' + column_name.replace('"', '""') + '"'
    try:
        return render_mask(mask.strategy, column_sql, "duckdb", column_type=column_sql_type)
    except Exception:
        return f"CAST(NULL AS {column_sql_type})"


@dataclass(frozen=True, slots=True)
class Governed:
    """A query as DuckDB runs it: the masked SQL and the values bound to its parameters."""

    sql: str
    parameters: tuple[Any, ...]


@dataclass(slots=True)
class QueryRecord:
    """One query's decisions, kept for the decision log."""

    query_id: str
    sql: str
    decisions: list[Decision] = field(default_factory=list)


class GatewaySession(Session):  # type: ignore[misc]
    """Each statement: refuse or plan, one decision per product, masks rendered, then run."""

    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        engine: Engine,
        catalog: Mapping[tuple[str, str], Relation],
        purposes: frozenset[str],
        planner: Callable[[str], QueryPlan | CatalogQuery] | None = None,
        catalogs: CatalogCache | None = None,
    ) -> None:
        super().__init__()
        self._cursor, self._engine, self._catalog = cursor, engine, catalog
        self._plan = planner or (lambda sql: plan_statement(sql, catalog))
        self._browsing: tuple[str | None, duckdb.DuckDBPyConnection] | None = None
        self._catalogs = catalogs or CatalogCache(size=1)
        self._purposes = purposes
        self.principal: Principal | None = None
        self._groups: tuple[Principal | None, frozenset[str]] = (None, frozenset())
        self.purpose: str | None = None
        self.in_txn = False
        self.records: list[QueryRecord] = []

    def identify(self, principal: Principal, application_name: str | None) -> None:
        self.principal = principal
        if application_name in self._purposes:
            self.purpose = application_name

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._cursor

    def close(self) -> None:
        self._cursor.close()
        if self._browsing is not None:
            self._browsing[1].close()

    def in_transaction(self) -> bool:
        return self.in_txn

    def execute_sql(self, sql: str, params: Sequence[Any] | None = None) -> DuckDBQueryResult:
        if self.principal is None:
            raise Refused("no identity bound to this session", "28000")
        if match := _SET_PURPOSE.match(sql):
            return self._set_purpose(match.group(1))
        if match := _CLIENT_NOISE.match(sql):
            return self._noise(match.group(1))
        planned = self._plan(sql)
        arguments = list(params) if params else None
        if isinstance(planned, CatalogQuery):
            relation = self.browsing_catalog().sql(planned.sql, params=arguments)
        else:
            governed = self._governed(planned, sql, arguments)
            relation = self._cursor.sql(governed.sql, params=list(governed.parameters) or None)
        if relation is None:  # DuckDB gives no relation for statements; only reads get here
            raise Refused("the statement returned no rows description", "XX000")
        return DuckDBQueryResult(relation.to_arrow_reader())

    def govern(self, sql: str, params: Sequence[Any] | None = None) -> Governed:
        """The DuckDB SQL to run for a client's read query over the products, and the values
        it binds; Refused when it may not run."""
        planned = self._plan(sql)
        if isinstance(planned, CatalogQuery):
            raise Refused("a catalog query, answered by the browsing catalog", "0A000")
        return self._governed(planned, sql, list(params) if params else None)

    def _governed(self, plan: QueryPlan, sql: str, arguments: list[Any] | None) -> Governed:
        """A plan shared by texts differing in literals binds this text's own (`$1`...); the
        client's parameters only go with its own placeholders, which such a plan never has."""
        if plan.values and arguments:
            raise Refused("parameters were sent for a query without placeholders", "08P01")
        return Governed(self._decide(plan, sql), plan.values or tuple(arguments or ()))

    def browsing_catalog(self) -> duckdb.DuckDBPyConnection:
        """This session's catalog for psql and BI tools: the products whose whole-product read
        the engine allows now, for this purpose (rebuilt when the purpose changes)."""
        if self._browsing is not None and self._browsing[0] == self.purpose:
            return self._browsing[1]
        assert self.principal is not None
        record = QueryRecord(uuid.uuid4().hex, "-- catalog browsing")
        self.records.append(record)
        visible = []
        for relation in self._catalog.values():
            keys = [c.key for c in relation.columns]
            decision = self._engine.decide(
                self.request(relation.product, keys), requested_by=f"gateway:{record.query_id}"
            )
            record.decisions.append(decision)
            if decision.allowed:
                names = {c.key: c.name for c in relation.columns}
                masked = sorted((names[m.column], m.strategy.name) for m in decision.masks)
                visible.append(Visible(relation, tuple(masked)))
        settings = {"server_version": SERVER_VERSION, "server_version_num": "160000",
                    "search_path": '"$user", public', "standard_conforming_strings": "on",
                    "client_encoding": "UTF8", "DateStyle": "ISO, MDY",
                    "TimeZone": "UTC", "transaction_isolation": "read committed",
                    "max_identifier_length": "63"}  # fmt: skip
        if self._browsing is not None:
            self._browsing[1].close()
        cursor = self._catalogs.cursor(visible, self.principal.name, settings)
        self._browsing = (self.purpose, cursor)
        return cursor

    def _set_purpose(self, purpose: str) -> DuckDBQueryResult:
        if purpose not in self._purposes:
            known = ", ".join(sorted(self._purposes))
            raise Refused(f"unknown purpose `{purpose}` (known: {known})", "22023")
        self.purpose = purpose
        return DuckDBQueryResult(status="SET")

    def _noise(self, transaction_word: str | None) -> DuckDBQueryResult:
        if transaction_word is None:
            return DuckDBQueryResult(status="SET")
        word = transaction_word.upper()
        self.in_txn = word in ("BEGIN", "START TRANSACTION")
        return DuckDBQueryResult(status="BEGIN" if self.in_txn else word.replace("END", "COMMIT"))

    def _decide(self, query: QueryPlan, sql: str) -> str:
        """One decision per product read; any deny refuses the whole query with its reason."""
        record = QueryRecord(uuid.uuid4().hex, sql)
        self.records.append(record)
        masked: dict[str, dict[str, str]] = {}
        for product, columns in query.sorted_products():
            # The query id goes into the decision log, so audit can group a query's decisions.
            decision = self._engine.decide(
                self.request(product, columns), requested_by=f"gateway:{record.query_id}"
            )
            record.decisions.append(decision)
            if not decision.allowed:
                raise Refused(f"`{product}` {decision.reason}", "42501")
            columns_by_key = _columns(self._catalog, product)
            masked[product] = {
                m.column: mask_sql(m, *columns_by_key[m.column]) for m in decision.masks
            }
        return query.render(masked)

    def request(self, product: str, columns: list[str]) -> AccessRequest:
        """The principal reading `columns` of `product`. Its groups are a frozenset built once
        per principal, so a principal in thousands of groups costs each decision what one in
        a few costs (the engine intersects from the smaller side)."""
        principal = self.principal
        assert principal is not None
        if self._groups[0] is not principal:
            self._groups = (principal, frozenset(principal.groups))
        return AccessRequest(
            principal=principal.name,
            action="read",
            product=product,
            groups=self._groups[1],
            attributes=principal.attributes,
            columns=tuple(columns),
            context={"purpose": self.purpose} if self.purpose else {},
        )


def _columns(
    catalog: Mapping[tuple[str, str], Relation], product: str
) -> dict[str, tuple[str, str]]:
    """Engine column key -> (SQL column name, SQL type), for the product's tables."""
    return {
        c.key: (c.name, c.sql_type)
        for r in catalog.values()
        if r.product == product
        for c in r.columns
    }
