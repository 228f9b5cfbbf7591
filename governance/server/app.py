"""govern's HTTP endpoints: AuthZEN, Trino's OPA plugin, health, readiness and metrics."""

from __future__ import annotations

import hmac
import itertools
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from governance.decision import Decision
from governance.engine import Engine
from governance.server import metrics
from governance.server.asgi import App, Handler, Request, Response, json_response
from governance.server.authzen import BadRequest, Decide, evaluate_batch, evaluate_one
from governance.server.directory import Directory, Principals
from governance.server.limits import DEFAULT_LIMITS, Limits
from governance.server.log_subjects import LoggedSubjects
from governance.server.search import search_actions, search_resources, search_subjects
from governance.server.tree_watch import TreeWatcher
from governance.server.trino import TrinoPlugin
from governance.server.trino_config import TrinoConfig

Work = Callable[[Any, "_Decider"], dict[str, Any]]
TRINO_BASE = "/v1/data/govern/trino"  # OPA's data API shape, which the plugin's URIs name
_REQUEST_ID = b"x-request-id"


def _request_ids() -> Callable[[], bytes]:
    """Ids for requests that bring none, shaped like a UUID: a random per-process prefix and a
    counter, unique without a uuid4's system call per request (a tenth of a request's cost)."""
    prefix, counter = str(uuid.uuid4())[:23], itertools.count(1)
    return lambda: f"{prefix}-{next(counter):012x}".encode()


def create_app(
    engine: Engine,
    *,
    token: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    principals: Principals | None = None,
    trino: TrinoConfig | None = None,
    tree: TreeWatcher | None = None,
    logged: LoggedSubjects | None = None,
    on_shutdown: Sequence[Callable[[], None]] = (),
) -> App:
    """`token`, when set, is required as `Authorization: Bearer <token>` on decision endpoints.
    `principals` are the subjects search and Trino identities draw on (default: the policy
    tree's fixtures); `logged`, principals read from decision logs, are subject search
    candidates too. `tree`, when the served policy tree is watched, reports its reloads in
    `/ready`."""
    expected = None if token is None else f"Bearer {token}".encode()
    new_request_id = _request_ids()

    def guarded(name: str, work: Work) -> Handler:
        """A decision endpoint: bearer token, JSON body within limits, 400 with a message,
        the request id echoed (or made), decisions counted by effect, latency observed."""
        allowed = metrics.DECISIONS.labels(name, "allow")
        denied = metrics.DECISIONS.labels(name, "deny")
        latency = metrics.REQUESTS.labels(name)
        refused = metrics.BAD_REQUESTS.labels(name)

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            request_id = request.headers.get(_REQUEST_ID) or new_request_id()
            headers = ((b"x-request-id", request_id[:200]),)
            if expected is not None and not _authorised(request, expected):
                refused.inc()
                return json_response({"error": "a valid bearer token is required"}, 401, headers)
            decider = _Decider(engine, request.client)
            try:
                body = await request.json(limits.max_body_bytes)
                response = json_response(work(body, decider), 200, headers)
            except BadRequest as exc:
                refused.inc()
                response = json_response({"error": str(exc)}, 400, headers)
            if decider.allowed:  # counted once per request, not per decision
                allowed.inc(decider.allowed)
            if decider.denied:
                denied.inc(decider.denied)
            latency.observe(time.perf_counter() - started)
            return response

        return endpoint

    directory = Directory(engine, principals, None if logged is None else logged.principals)
    plugin = TrinoPlugin(engine, trino or TrinoConfig(), directory, limits.max_batch)

    def evaluations(body: Any, decider: _Decider) -> dict[str, Any]:
        return evaluate_batch(body, decider.many, limits.max_batch)

    def resources(body: Any, decide: Decide) -> dict[str, Any]:
        return search_resources(body, engine.snapshot, decide)

    def actions(body: Any, decide: Decide) -> dict[str, Any]:
        return search_actions(body, engine.snapshot, decide)

    def trino_batch(body: Any, decider: _Decider) -> dict[str, Any]:
        return plugin.batch(body, decider, decider.many)

    def subjects(body: Any, decide: Decide) -> dict[str, Any]:
        return search_subjects(body, directory.searchable(), decide)

    async def configuration(request: Request) -> Response:
        base = request.base_url
        return json_response(
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
        return json_response({"status": "ok"})

    async def ready(request: Request) -> Response:
        """Ready once the engine holds a verified policy set (it cannot exist otherwise);
        with bundles or a watched tree, the reload status: a refused newer bundle or a tree
        edit that does not load leaves the last good set serving, and ready."""
        snapshot = engine.snapshot
        answer: dict[str, Any] = {
            "status": "ready",
            "revisions": {"global": snapshot.tree.global_layer.revision},
        }
        if engine.bundles is not None:
            answer["bundles"] = engine.bundles.status.to_dict()
        if tree is not None:
            answer["policies"] = tree.status.to_dict()
        if logged is not None:
            answer["logged_subjects"] = {
                "subjects": len(logged.principals),
                "records": logged.records,
                "limited": logged.limited,
                "skipped": logged.skips.count,
                "skipped_examples": logged.skips.examples,
            }
        return json_response(answer)

    async def prometheus(request: Request) -> Response:
        return Response(200, metrics.exposition(), metrics.CONTENT_TYPE.encode())

    posts: dict[str, tuple[str, Work]] = {
        "/access/v1/evaluation": ("evaluation", evaluate_one),
        "/access/v1/evaluations": ("evaluations", evaluations),
        "/access/v1/search/resource": ("search_resource", resources),
        "/access/v1/search/action": ("search_action", actions),
        "/access/v1/search/subject": ("search_subject", subjects),
        f"{TRINO_BASE}/allow": ("trino_allow", plugin.allow),
        f"{TRINO_BASE}/batch": ("trino_batch", trino_batch),
        f"{TRINO_BASE}/columnMask": ("trino_column_mask", plugin.column_mask),
        f"{TRINO_BASE}/batchColumnMasks": ("trino_batch_column_masks", plugin.batch_column_masks),
        f"{TRINO_BASE}/rowFilters": ("trino_row_filters", plugin.row_filters),
    }
    routes: dict[tuple[str, str], Handler] = {
        ("POST", path): guarded(name, work) for path, (name, work) in posts.items()
    }
    routes |= {
        ("GET", "/.well-known/authzen-configuration"): configuration,
        ("GET", "/health"): health,
        ("GET", "/ready"): ready,
        ("GET", "/metrics"): prometheus,
    }
    return App(routes, on_shutdown)


class _Decider:
    """The engine as one request's handler uses it: one decision or a batch, each logged with
    the caller's address and counted by effect for the metrics."""

    __slots__ = ("_caller", "_engine", "allowed", "denied")

    def __init__(self, engine: Engine, caller: str) -> None:
        self._engine, self._caller = engine, caller
        self.allowed = self.denied = 0

    def __call__(self, body: Mapping[str, Any]) -> Decision:
        decision = self._engine.decide(body, requested_by=self._caller)
        if decision.allowed:
            self.allowed += 1
        else:
            self.denied += 1
        return decision

    def many(
        self, bodies: Sequence[Mapping[str, Any]], until: Callable[[Decision], bool] | None
    ) -> list[Decision]:
        decisions = self._engine.decide_many(bodies, until=until, requested_by=self._caller)
        allowed = sum(1 for d in decisions if d.allowed)
        self.allowed += allowed
        self.denied += len(decisions) - allowed
        return decisions


def _authorised(request: Request, expected: bytes) -> bool:
    given = request.headers.get(b"authorization", b"")
    scheme, _, value = given.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(b"Bearer " + value, expected)
