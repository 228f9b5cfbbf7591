"""`govern serve`: the decision server (AuthZEN 1.0) on uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import click

from governance.errors import LoadError
from governance.server.app import POLICIES_ENV, TOKEN_ENV


@click.command()
@click.option(
    "--policies",
    "policies",
    type=click.Path(path_type=Path),
    default=Path("policies"),
    show_default=True,
    help="policy tree to serve",
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
def serve(policies: Path, host: str, port: int, workers: int, token_env: str) -> None:
    """Serve decisions over HTTP: POST /access/v1/evaluation and /access/v1/evaluations."""
    import uvicorn

    from governance.engine import Engine

    try:
        Engine.from_path(policies)  # refuse to start on a tree with errors, before binding
    except LoadError as exc:
        raise click.ClickException(str(exc)) from None
    os.environ[POLICIES_ENV] = str(policies.resolve())
    token = os.environ.get(token_env)
    if token:
        os.environ[TOKEN_ENV] = token
    uvicorn.run(
        "governance.server.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


COMMANDS = [serve]
