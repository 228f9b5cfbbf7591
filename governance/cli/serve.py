"""`govern serve`: the decision server (AuthZEN 1.0) on uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import click

from governance.errors import LoadError
from governance.server.runtime import OPTIONS_ENV, TOKEN_ENV, ServeOptions, trino_settings
from governance.server.trino_config import TrinoConfigError


@click.command()
@click.option(
    "--policies",
    "policies",
    type=click.Path(path_type=Path),
    default=Path("policies"),
    show_default=True,
    help="policy tree to serve",
)
@click.option(
    "--trino",
    "trino",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="trino.yaml: table mapping and operation defaults for Trino's OPA plugin",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8181, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--token-env",
    default=TOKEN_ENV,
    show_default=True,
    help="environment variable holding the bearer token callers must send (unset: none required)",
)
def serve(
    policies: Path, trino: Path | None, host: str, port: int, workers: int, token_env: str
) -> None:
    """Serve decisions over HTTP: AuthZEN 1.0 evaluation, batch and search endpoints."""
    import uvicorn

    from governance.engine import Engine

    options = ServeOptions(
        policies=str(policies.resolve()), trino=None if trino is None else str(trino.resolve())
    )
    try:  # refuse to start on a tree or a trino.yaml with errors, before binding
        trino_settings(options, Engine.from_path(policies))
    except (LoadError, TrinoConfigError) as exc:
        raise click.ClickException(str(exc)) from None
    os.environ[OPTIONS_ENV] = options.to_env()
    token = os.environ.get(token_env)
    if token:
        os.environ[TOKEN_ENV] = token
    uvicorn.run(
        "governance.server.runtime:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


COMMANDS = [serve]
