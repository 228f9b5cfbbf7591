"""The HTTP application: AuthZEN endpoints, health and readiness, on Starlette with orjson."""

from __future__ import annotations

import contextlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from governance.decision import Decision
from governance.engine import Engine
from governance.server import metrics
from governance.server.authzen import BadRequest, Decide, evaluate_batch, evaluate_one
from governance.server.directory import Directory, Principals
from governance.server.limits import DEFAULT_LIMITS, Limits
from governance.server.search import search_actions, search_resources, search_subjects
from governance.server.trino import TrinoPlugin
from governance.server.trino_config import TrinoConfig

Handler = Callable[[Request], Awaitable[Response]]
Work = Callable[[Any, Decide], dict[str, Any]]


TRINO_BASE = "/v1/data/govern/trino"  # OPA's data API shape, which the plugin's URIs name


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def create_app(
    engine: Engine,
    *,
    token: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
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

    def guarded(name: str, work: Work) -> Handler:
        allowed = metrics.DECISIONS.labels(name, "allow")
        denied = metrics.DECISIONS.labels(name, "deny")
        latency = metrics.REQUESTS.labels(name)
        refused = metrics.BAD_REQUESTS.labels(name)

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            request_id = request.headers.get("x-request-id") or str(uuid.uuid4())
            headers = {"X-Request-ID": request_id[:200]}
            if token is not None and not _authorised(request, token):
                refused.inc()
                return JSON({"error": "a valid bearer token is required"}, 401, headers)
            caller = request.client.host if request.client else ""
            tally = [0, 0]  # allowed, denied: counted once per request, not per decision

            def decide(body: Mapping[str, Any]) -> Decision:
                decision = engine.decide(body, requested_by=caller)
                tally[not decision.allowed] += 1
                return decision

            try:
                response = JSON(work(await body_of(request), decide), 200, headers)
            except BadRequest as exc:
                refused.inc()
                response = JSON({"error": str(exc)}, 400, headers)
            if tally[0]:
                allowed.inc(tally[0])
            if tally[1]:
                denied.inc(tally[1])
            latency.observe(time.perf_counter() - started)
            return response

        return endpoint

    directory = Directory(engine, principals)
    plugin = TrinoPlugin(engine, trino or TrinoConfig(), directory, limits.max_batch)

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
        """Ready once the engine holds a verified policy set (it cannot exist otherwise);
        with bundles, their status: a refused newer bundle leaves the last good set serving."""
        snapshot = engine.snapshot
        answer: dict[str, Any] = {
            "status": "ready",
            "revisions": {"global": snapshot.tree.global_layer.revision},
        }
        if engine.bundles is not None:
            answer["bundles"] = engine.bundles.status.to_dict()
        return JSON(answer)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    routes = [
        Route("/access/v1/evaluation", guarded("evaluation", evaluate_one), methods=["POST"]),
        Route("/access/v1/evaluations", guarded("evaluations", evaluations), methods=["POST"]),
        Route(
            "/access/v1/search/resource", guarded("search_resource", resources), methods=["POST"]
        ),
        Route("/access/v1/search/action", guarded("search_action", actions), methods=["POST"]),
        Route("/access/v1/search/subject", guarded("search_subject", subjects), methods=["POST"]),
        Route(f"{TRINO_BASE}/allow", guarded("trino_allow", plugin.allow), methods=["POST"]),
        Route(f"{TRINO_BASE}/batch", guarded("trino_batch", plugin.batch), methods=["POST"]),
        Route(
            f"{TRINO_BASE}/columnMask",
            guarded("trino_column_mask", plugin.column_mask),
            methods=["POST"],
        ),
        Route(
            f"{TRINO_BASE}/batchColumnMasks",
            guarded("trino_batch_column_masks", plugin.batch_column_masks),
            methods=["POST"],
        ),
        Route(
            f"{TRINO_BASE}/rowFilters",
            guarded("trino_row_filters", plugin.row_filters),
            methods=["POST"],
        ),
        Route("/.well-known/authzen-configuration", configuration, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
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
