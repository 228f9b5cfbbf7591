"""The HTTP application: AuthZEN endpoints, health and readiness, on Starlette with orjson."""

from __future__ import annotations

import hmac
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from governance.engine import Engine
from governance.server.authzen import (
    BadRequest,
    evaluate_batch,
    evaluation_response,
    read_evaluation,
)

Handler = Callable[[Request], Awaitable[Response]]
POLICIES_ENV = "GOVERN_SERVE_POLICIES"
TOKEN_ENV = "GOVERN_SERVE_TOKEN"


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 1_048_576
    max_batch: int = 1000


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(engine: Engine, *, token: str | None = None, limits: Limits = Limits()) -> Starlette:
    """`token`, when set, is required as `Authorization: Bearer <token>` on decision endpoints."""

    async def body_of(request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and (
            not declared.isdigit() or int(declared) > limits.max_body_bytes
        ):
            raise BadRequest(f"the request body exceeds {limits.max_body_bytes} bytes")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limits.max_body_bytes:
                raise BadRequest(f"the request body exceeds {limits.max_body_bytes} bytes")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the request body is not JSON: {exc}") from None

    def guarded(handler: Callable[[Any], Any]) -> Handler:
        async def endpoint(request: Request) -> Response:
            request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
            headers = {"X-Request-ID": request_id[:200]}
            if token is not None and not _authorised(request, token):
                return JSON({"error": "a valid bearer token is required"}, 401, headers)
            try:
                return JSON(handler(await body_of(request)), 200, headers)
            except BadRequest as exc:
                return JSON({"error": str(exc)}, 400, headers)

        return endpoint

    def evaluation(body: Any) -> dict[str, Any]:
        return evaluation_response(engine.decide(read_evaluation(body)))

    def evaluations(body: Any) -> dict[str, Any]:
        return evaluate_batch(body, engine.decide, limits.max_batch)

    async def configuration(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSON(
            {
                "policy_decision_point": base,
                "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
                "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
            }
        )

    async def health(request: Request) -> Response:
        return JSON({"status": "ok"})

    async def ready(request: Request) -> Response:
        snapshot = engine.snapshot
        revisions = {"global": snapshot.tree.global_layer.revision}
        return JSON({"status": "ready", "revisions": revisions})

    routes = [
        Route("/access/v1/evaluation", guarded(evaluation), methods=["POST"]),
        Route("/access/v1/evaluations", guarded(evaluations), methods=["POST"]),
        Route("/.well-known/authzen-configuration", configuration, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.encode(), token.encode())


def app_from_env() -> Starlette:
    """The factory each uvicorn worker calls: the policy path and token come from the
    environment `govern serve` set before starting the workers."""
    engine = Engine.from_path(os.environ[POLICIES_ENV])
    return create_app(engine, token=os.environ.get(TOKEN_ENV) or None)
