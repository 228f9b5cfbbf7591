"""What each server worker builds at start: the engine and the app, from `govern serve`'s options."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import orjson
from starlette.applications import Starlette

from governance.engine import Engine
from governance.server.app import MAX_BATCH, MAX_BODY_BYTES, Limits, create_app
from governance.server.trino_config import TrinoConfig, TrinoConfigError, load_trino_config

OPTIONS_ENV = "GOVERN_SERVE_OPTIONS"
TOKEN_ENV = "GOVERN_SERVE_TOKEN"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Everything a worker needs, passed through the environment (uvicorn starts each worker
    in a fresh process that calls `app_from_env`)."""

    policies: str = "policies"
    trino: str | None = None  # trino.yaml; None: the documented defaults
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH

    def to_env(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_env(cls) -> ServeOptions:
        return cls(**orjson.loads(os.environ[OPTIONS_ENV]))


def build_app(options: ServeOptions, token: str | None) -> Starlette:
    engine = Engine.from_path(options.policies)
    limits = Limits(options.max_body_bytes, options.max_batch)
    trino = trino_settings(options, engine)
    return create_app(engine, token=token, limits=limits, trino=trino)


def trino_settings(options: ServeOptions, engine: Engine) -> TrinoConfig:
    """trino.yaml, checked against the served policies: every action it names exists and
    every product it maps to is in the catalog (TrinoConfigError otherwise)."""
    config = TrinoConfig() if options.trino is None else load_trino_config(options.trino)
    snapshot = engine.snapshot
    for operation, action in sorted(config.actions.items()):
        if action not in snapshot.actions:
            raise TrinoConfigError(f"trino config: `{operation}` maps to unknown action `{action}`")
    for pattern, target in config.tables:
        if target.product not in snapshot.products:
            raise TrinoConfigError(
                f"trino config: `{pattern}` maps to unknown product `{target.product}`"
            )
    return config


def app_from_env() -> Starlette:
    """The factory each uvicorn worker calls."""
    return build_app(ServeOptions.from_env(), os.environ.get(TOKEN_ENV) or None)
