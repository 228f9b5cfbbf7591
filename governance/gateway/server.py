"""The gateway process: DuckDB locked down over the products' Parquet files, behind buenavista's
PostgreSQL wire protocol, with identity bound at connection start."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import duckdb
from buenavista.core import Connection  # type: ignore[import-untyped]
from buenavista.postgres import (  # type: ignore[import-untyped]
    BuenaVistaHandler,
    BuenaVistaServer,
    BVBuffer,
    BVContext,
    ServerResponse,
)

from governance.engine import Engine
from governance.gateway.browse_catalog import CatalogCache
from governance.gateway.browse_sql import SERVER_VERSION
from governance.gateway.identity import Principal
from governance.gateway.plan_cache import StatementPlanner
from governance.gateway.policy_sql import Refused
from governance.gateway.relations import Relation, relations
from governance.gateway.session import GatewaySession
from governance.gateway.tokens import TokenKey, TokenRefused


class GatewayConnection(Connection):  # type: ignore[misc]
    """One in-memory DuckDB holding every product table; each session gets its own cursor."""

    def __init__(
        self,
        engine: Engine,
        data: Path,
        users: Mapping[str, Principal],
        token_key: TokenKey | None = None,
    ) -> None:
        super().__init__()
        self.engine, self.users, self.token_key = engine, users, token_key
        self.catalog = relations(engine.snapshot)
        self.missing: list[str] = []
        self.browsing = CatalogCache()
        self.db = _locked_database(self.catalog, data, self.missing)
        purposes = engine.snapshot.tree.config.context.get("purpose", [])
        self.purposes = frozenset(str(p) for p in purposes)
        # Plans depend only on the statement and the catalog, so clients repeating a query (BI
        # dashboards, prepared statements, apps changing only values) pay parsing and
        # qualifying once per shape; decisions are never cached.
        self.plan = StatementPlanner(self.catalog)

    def new_session(self) -> GatewaySession:
        return GatewaySession(
            self.db.cursor(), self.engine, self.catalog, self.purposes, self.plan, self.browsing
        )

    def parameters(self) -> dict[str, str]:
        return {
            "server_version": SERVER_VERSION,
            "server_encoding": "UTF8",
            "client_encoding": "UTF8",
            "DateStyle": "ISO, MDY",
            "integer_datetimes": "on",
            "standard_conforming_strings": "on",
        }


def _locked_database(
    catalog: Mapping[tuple[str, str], Relation], data: Path, missing: list[str]
) -> duckdb.DuckDBPyConnection:
    """Tables are loaded before external access is switched off and the configuration locked,
    so no query can read a file or turn either setting back on."""
    db = duckdb.connect(":memory:")
    for relation in catalog.values():
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{relation.schema}"')
        columns = ", ".join(f'"{c.name}" {c.sql_type}' for c in relation.columns)
        target = f'"{relation.schema}"."{relation.name}"'
        db.execute(f"CREATE TABLE {target} ({columns})")
        path = data / relation.schema / f"{relation.name}.parquet"
        if path.is_file():
            names = ", ".join(f'"{c.name}"' for c in relation.columns)
            db.execute(f"INSERT INTO {target} SELECT {names} FROM read_parquet(?)", [str(path)])
        else:
            missing.append(str(path))
    db.execute("SET enable_external_access = false")
    db.execute("SET lock_configuration = true")
    return db


class _ConnectionRefused(Exception):
    """The client was already sent a FATAL error; the connection ends."""


_CLEARTEXT_PASSWORD = 3  # AuthenticationCleartextPassword: the token is the password


class GatewayHandler(BuenaVistaHandler):  # type: ignore[misc]
    """buenavista's handler with identity at startup and errors carrying a SQLSTATE."""

    def send_auth_request(self, ctx: BVContext) -> None:
        """With a token key, the password is asked for and must be a token (identity comes from
        it alone); without one, the user name must be in the users file."""
        if self.server.conn.token_key is not None:
            self.wfile.write(
                struct.pack("!cii", ServerResponse.AUTHENTICATION_REQUEST, 8, _CLEARTEXT_PASSWORD)
            )
            return
        user = ctx.params.get("user", "")
        principal = self.server.conn.users.get(user)
        if principal is None:
            self._refuse("28000", f'unknown user "{user}": not in the gateway users file')
        self._authenticated(ctx, principal)

    def handle_md5_password(self, ctx: BVContext, payload: bytes | None) -> None:
        """The password message (buenavista routes every one here): the token, verified."""
        key = self.server.conn.token_key
        if key is None:
            self._refuse("08P01", "no password was asked for")
        token = (payload or b"").rstrip(b"\x00").decode("utf-8", errors="replace")
        try:
            principal = key.verify(token, ctx.params.get("user", ""))
        except TokenRefused as exc:
            self._refuse("28P01", f"authentication failed: {exc}")
        self._authenticated(ctx, principal)

    def _authenticated(self, ctx: BVContext, principal: Principal) -> None:
        ctx.session.identify(principal, ctx.params.get("application_name"))
        self.send_authentication_ok()
        self.handle_post_auth(ctx)

    def _refuse(self, code: str, message: str) -> NoReturn:
        self._error("FATAL", code, message)
        raise _ConnectionRefused(message)

    def handle_bind(self, ctx: BVContext, payload: bytes) -> None:
        """Parameters stay text for DuckDB to cast: buenavista guesses dates for untyped ones
        (which psycopg sends for every string) and fails on anything that is not a date."""
        portal, rest = _cstring(payload, 0)
        statement, offset = _cstring(payload, rest)
        (count,) = struct.unpack_from("!h", payload, offset)
        formats = list(struct.unpack_from(f"!{count}h", payload, offset + 2))
        offset += 2 + 2 * count
        (n_params,) = struct.unpack_from("!h", payload, offset)
        offset += 2
        formats = formats * n_params if len(formats) == 1 else formats or [0] * n_params
        oids = ctx.stmts[statement][1]
        params: list[Any] = []
        for index in range(n_params):
            (size,) = struct.unpack_from("!i", payload, offset)
            offset += 4
            if size < 0:
                params.append(None)
                continue
            raw = payload[offset : offset + size]
            oid = oids[index] if index < len(oids) else 0
            params.append(raw.decode("utf-8") if formats[index] == 0 else _binary(oid, raw))
            offset += size
        (n_results,) = struct.unpack_from("!h", payload, offset)
        result_formats = list(struct.unpack_from(f"!{n_results}h", payload, offset + 2))
        ctx.add_portal(portal, statement, params, result_formats)
        self.send_bind_complete()

    def send_error(self, exception: Any, ctx: BVContext | None = None) -> None:
        if isinstance(exception, _ConnectionRefused):
            return  # already answered, the connection ends
        code = exception.sqlstate if isinstance(exception, Refused) else _sqlstate(exception)
        self._error("ERROR", code, str(exception))
        if ctx:
            ctx.mark_error()

    def _error(self, severity: str, code: str, message: str) -> None:
        buf = BVBuffer()
        for field, value in (("S", severity), ("V", severity), ("C", code), ("M", message)):
            buf.write_bytes(field.encode())
            buf.write_string(value)
        buf.write_bytes(b"\x00")
        out = buf.get_value()
        self.wfile.write(struct.pack("!ci", ServerResponse.ERROR_RESPONSE, len(out) + 4) + out)


_BINARY = {16: "!?", 20: "!q", 21: "!h", 23: "!i", 700: "!f", 701: "!d"}


def _binary(oid: int, raw: bytes) -> Any:
    """The binary parameter formats psycopg uses for bool, integers and floats."""
    layout = _BINARY.get(oid)
    if layout is None or struct.calcsize(layout) != len(raw):
        raise Refused(f"binary parameters of type oid {oid} are not supported; send text", "0A000")
    return struct.unpack(layout, raw)[0]


def _cstring(payload: bytes, start: int) -> tuple[str, int]:
    end = payload.index(b"\x00", start)
    return payload[start:end].decode("utf-8"), end + 1


def _sqlstate(exception: Any) -> str:
    if isinstance(exception, duckdb.Error):
        return "XX000" if isinstance(exception, duckdb.InternalException) else "42000"
    return "XX000"


def serve(
    engine: Engine,
    data: Path,
    users: Mapping[str, Principal],
    host: str,
    port: int,
    token_key: TokenKey | None = None,
) -> BuenaVistaServer:
    """A bound server; the caller runs `serve_forever` and `server_close`."""
    connection = GatewayConnection(engine, data, users, token_key)
    server = BuenaVistaServer((host, port), connection)
    server.RequestHandlerClass = GatewayHandler
    server.daemon_threads = True  # a client left open never keeps the process alive
    return server
