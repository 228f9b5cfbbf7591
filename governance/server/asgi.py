"""A minimal ASGI 3 application: exact-path routes, bounded JSON bodies, lifespan shutdown hooks.

The decision endpoints are a handful of fixed paths taking and returning JSON, so routing is
one dict lookup and a request is its scope's headers and one bounded body. Measured against
the same handlers on Starlette, this cuts the per-request overhead by about a third
(docs/server.md, "Performance").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from governance.server.authzen import BadRequest
from governance.server.json_keys import repeated_key

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
JSON_TYPE = b"application/json"


class Request:
    """What a handler sees of a request: its lower-cased headers, client address, base URL.

    Built on every request: a plain slots class, a third of a frozen dataclass's cost."""

    __slots__ = ("client", "headers", "receive", "scope")

    def __init__(
        self, headers: Mapping[bytes, bytes], client: str, scope: Scope, receive: Receive
    ) -> None:
        self.headers, self.client, self.scope, self.receive = headers, client, scope, receive

    @property
    def base_url(self) -> str:
        """Built when asked (only the metadata endpoint needs it), not on every request."""
        return _base_url(self.scope, self.headers)

    def header(self, name: bytes) -> str:
        return self.headers.get(name, b"").decode("latin-1")

    async def json(self, max_bytes: int) -> Any:
        """The body as JSON: `Content-Type: application/json`, at most `max_bytes`, not empty."""
        media_type = self.headers.get(b"content-type", b"").partition(b";")[0].strip().lower()
        if media_type != JSON_TYPE:
            raise BadRequest("the request must have `Content-Type: application/json`")
        declared = self.headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            raise BadRequest(f"the request body exceeds {max_bytes} bytes")
        body = await self._body(max_bytes)
        if not body:
            raise BadRequest("the request body is empty")
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the request body is not JSON: {exc}") from None
        if repeated_key(body, value):
            raise BadRequest("the request body repeats a key within one object")
        return value

    async def _body(self, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise BadRequest("the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise BadRequest(f"the request body exceeds {max_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class Response:
    """Status, body, media type and extra headers; a plain slots class, as `Request`."""

    __slots__ = ("body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        content_type: bytes = JSON_TYPE,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.status, self.body, self.content_type, self.headers = (
            status, body, content_type, headers,
        )  # fmt: skip


def json_response(
    content: Any, status: int = 200, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> Response:
    return Response(status, orjson.dumps(content), JSON_TYPE, headers)


Handler = Callable[[Request], Awaitable[Response]]


class App:
    """Routes `(method, path)` to handlers; `on_shutdown` hooks run once the server stops
    taking requests (ASGI lifespan), in order."""

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Handler],
        on_shutdown: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._routes = dict(routes)
        self._paths = {path for _, path in routes}
        self._on_shutdown = list(on_shutdown)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websockets and anything newer: not served
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        handler = self._routes.get((method, path))
        if handler is None:
            status = 405 if path in self._paths else 404
            response = json_response(
                {"error": "method not allowed" if status == 405 else "not found"}, status
            )
        else:
            headers = dict(scope["headers"])
            client = scope.get("client")
            request = Request(headers, client[0] if client else "", scope, receive)
            try:
                response = await handler(request)
            except Exception:  # a bug must not leak a traceback or hang the caller: fail closed
                response = json_response({"error": "internal error"}, 500)
        await send({
            "type": "http.response.start",
            "status": response.status,
            "headers": [
                (b"content-type", response.content_type),
                (b"content-length", str(len(response.body)).encode()),
                *response.headers,
            ],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": response.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for close in self._on_shutdown:  # stop reloading, flush the decision log
                    close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _base_url(scope: Scope, headers: Mapping[bytes, bytes]) -> str:
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"
