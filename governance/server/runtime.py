"""What each server worker builds at start: the engine and the app, from `govern serve`'s options."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import orjson
from starlette.applications import Starlette

from governance.engine import Engine
from governance.server.app import MAX_BATCH, MAX_BODY_BYTES, Limits, create_app

OPTIONS_ENV = "GOVERN_SERVE_OPTIONS"
TOKEN_ENV = "GOVERN_SERVE_TOKEN"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Everything a worker needs, passed through the environment (uvicorn starts each worker
    in a fresh process that calls `app_from_env`)."""

    policies: str = "policies"
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
    return create_app(engine, token=token, limits=limits)


def app_from_env() -> Starlette:
    """The factory each uvicorn worker calls."""
    return build_app(ServeOptions.from_env(), os.environ.get(TOKEN_ENV) or None)
