"""The HTTP application: AuthZEN endpoints, health and readiness, on Starlette with orjson."""

from __future__ import annotations

import contextlib
import hmac
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from governance.decision import Decision
from governance.engine import Engine
from governance.server.authzen import BadRequest, Decide, evaluate_batch, evaluate_one
from governance.server.directory import Directory, Principals
from governance.server.search import search_actions, search_resources, search_subjects
from governance.server.trino import TrinoPlugin
from governance.server.trino_config import TrinoConfig

Handler = Callable[[Request], Awaitable[Response]]
Work = Callable[[Any, Decide], dict[str, Any]]


TRINO_BASE = "/v1/data/govern/trino"  # OPA's data API shape, which the plugin's URIs name
MAX_BODY_BYTES = 1_048_576
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(
    engine: Engine,
    *,
    token: str | None = None,
    limits: Limits = Limits(),
    principals: Principals | None = None,
    trino: TrinoConfig | None = None,
    on_shutdown: Sequence[Callable[[], None]] = (),
) -> Starlette:
    """`token`, when set, is required as `Authorization: Bearer <token>` on decision endpoints.
    `principals` are the subjects `/access/v1/search/subject` may return (default: the policy
    tree's fixtures)."""

    async def body_of(request: Request) -> Any:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            raise BadRequest("the request must have `Content-Type: application/json`")
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
        if not raw:
            raise BadRequest("the request body is empty")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the request body is not JSON: {exc}") from None

    def guarded(work: Work) -> Handler:
        async def endpoint(request: Request) -> Response:
            request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
            headers = {"X-Request-ID": request_id[:200]}
            if token is not None and not _authorised(request, token):
                return JSON({"error": "a valid bearer token is required"}, 401, headers)
            caller = request.client.host if request.client else ""

            def decide(body: Mapping[str, Any]) -> Decision:
                return engine.decide(body, requested_by=caller)

            try:
                return JSON(work(await body_of(request), decide), 200, headers)
            except BadRequest as exc:
                return JSON({"error": str(exc)}, 400, headers)

        return endpoint

    directory = Directory(engine, principals)
    plugin = TrinoPlugin(engine, trino or TrinoConfig(), directory)

    def evaluations(body: Any, decide: Decide) -> dict[str, Any]:
        return evaluate_batch(body, decide, limits.max_batch)

    def resources(body: Any, decide: Decide) -> dict[str, Any]:
        return search_resources(body, engine.snapshot, decide)

    def actions(body: Any, decide: Decide) -> dict[str, Any]:
        return search_actions(body, engine.snapshot, decide)

    def subjects(body: Any, decide: Decide) -> dict[str, Any]:
        return search_subjects(body, directory.all(), decide)

    async def configuration(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSON(
            {
                "policy_decision_point": base,
                "access_evaluation_endpoint": f"{base}/access/v1/evaluation",
                "access_evaluations_endpoint": f"{base}/access/v1/evaluations",
                "search_subject_endpoint": f"{base}/access/v1/search/subject",
                "search_resource_endpoint": f"{base}/access/v1/search/resource",
                "search_action_endpoint": f"{base}/access/v1/search/action",
                "supported_obligations": ["custom"],
            }
        )

    async def health(request: Request) -> Response:
        return JSON({"status": "ok"})

    async def ready(request: Request) -> Response:
        snapshot = engine.snapshot
        revisions = {"global": snapshot.tree.global_layer.revision}
        return JSON({"status": "ready", "revisions": revisions})

    routes = [
        Route("/access/v1/evaluation", guarded(evaluate_one), methods=["POST"]),
        Route("/access/v1/evaluations", guarded(evaluations), methods=["POST"]),
        Route("/access/v1/search/resource", guarded(resources), methods=["POST"]),
        Route("/access/v1/search/action", guarded(actions), methods=["POST"]),
        Route("/access/v1/search/subject", guarded(subjects), methods=["POST"]),
        Route(f"{TRINO_BASE}/allow", guarded(plugin.allow), methods=["POST"]),
        Route(f"{TRINO_BASE}/batch", guarded(plugin.batch), methods=["POST"]),
        Route(f"{TRINO_BASE}/columnMask", guarded(plugin.column_mask), methods=["POST"]),
        Route(
            f"{TRINO_BASE}/batchColumnMasks",
            guarded(plugin.batch_column_masks),
            methods=["POST"],
        ),
        Route(f"{TRINO_BASE}/rowFilters", guarded(plugin.row_filters), methods=["POST"]),
        Route("/.well-known/authzen-configuration", configuration, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for close in on_shutdown:  # graceful shutdown: stop reloading, flush the decision log
            close()

    return Starlette(routes=routes, lifespan=lifespan)


def _authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.encode(), token.encode())
