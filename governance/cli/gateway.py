"""`govern gateway`: a PostgreSQL-wire SQL gateway over DuckDB that enforces access and masks."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import click

from governance.engine import Engine
from governance.errors import LoadError
from governance.logs import BackgroundLog, FileSink


@click.command("gateway")
@click.option(
    "--policies",
    "policies",
    default="policies",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--data",
    "data",
    default=".demo-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of `<domain>/<table>.parquet` files.",
)
@click.option(
    "--users",
    "users",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Users file (YAML); default: the policy tree's fixtures.yaml.",
)
@click.option(
    "--token-key",
    "token_key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Identity by signed token: the password must be a JWT verified with this key "
    "(a PEM Ed25519 public key, or an HMAC secret); the users file is then not used.",
)
@click.option(
    "--log",
    "log_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write every decision to a hash-chained decision log in this directory.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5433, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--demo-data",
    "demo_data",
    is_flag=True,
    help="Write synthetic Parquet rows for every product to --data, then exit.",
)
def gateway(
    policies: Path,
    data: Path,
    users: Path | None,
    token_key: Path | None,
    log_dir: Path | None,
    host: str,
    port: int,
    demo_data: bool,
) -> None:
    """Serve the products as SQL to psql, psycopg, JDBC: every query decided, masked and logged."""
    from governance.gateway.demo_data import write_demo_data
    from governance.gateway.identity import UsersFileError, load_users
    from governance.gateway.relations import relations
    from governance.gateway.server import serve
    from governance.gateway.tokens import TokenKeyError, load_token_key

    log = None if log_dir is None or demo_data else BackgroundLog(FileSink(log_dir), labels=LABELS)
    try:
        engine = Engine.from_path(policies, log=log)
    except LoadError as exc:
        raise click.ClickException(f"cannot load {policies}: {exc}") from exc
    if demo_data:
        written = write_demo_data(relations(engine.snapshot), data)
        click.echo(f"wrote {len(written)} Parquet files under {data}")
        return
    if token_key is not None and users is not None:
        raise click.UsageError(
            "--users and --token-key exclude each other: identity comes from one"
        )
    try:
        key = None if token_key is None else load_token_key(token_key)
        principals = {} if key is not None else load_users(users or policies / "fixtures.yaml")
    except (UsersFileError, TokenKeyError) as exc:
        raise click.UsageError(str(exc)) from exc
    _one_line_connection_errors()
    server = serve(engine, data, principals, host, port, key)
    for path in server.conn.missing:
        click.echo(f"warning: no data file {path}; the table is empty", err=True)
    click.echo(f"govern gateway listening on {host}:{server.server_address[1]}", err=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop flushes the log too
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if log is not None:
            log.close()


class _NoTraceback(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"govern gateway: connection ended: {record.getMessage()}"


def _one_line_connection_errors() -> None:
    """buenavista logs every connection that ends in an error (a refused token, a client
    hanging up) with its traceback; the operator gets one line each instead."""
    handler = logging.StreamHandler()
    handler.setFormatter(_NoTraceback())
    bv = logging.getLogger("buenavista")
    bv.handlers[:] = [handler]
    bv.setLevel(logging.ERROR)
    bv.propagate = False
    # sqlglot warns about syntax it drops (`FOR UPDATE`), quoting the client's SQL: not for stderr
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


LABELS = {"service": "govern-gateway"}
COMMANDS = [gateway]
