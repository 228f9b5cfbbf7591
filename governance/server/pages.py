"""AuthZEN search pagination: `page.limit` and opaque tokens bound to the request they continue."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from governance.server.authzen import BadRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    limit: int
    digest: str  # of the request without its token: a token only continues the same search


def read_page(body: dict[str, Any]) -> Page:
    """`page: {token?, limit?}`. The spec makes every other value of the request part of the
    search a token continues, so a token presented with anything changed is refused."""
    page = body.get("page")
    if page is None:
        page = {}
    if not isinstance(page, dict):
        raise BadRequest("`page` must be an object")
    limit = page.get("limit", DEFAULT_LIMIT)
    if type(limit) is not int or limit < 0:
        raise BadRequest("`page.limit` must be a non-negative integer")
    limit = min(limit, MAX_LIMIT)
    digest = _digest(body, limit)
    token = page.get("token")
    if token is None or token == "":
        return Page(0, limit, digest)
    if not isinstance(token, str):
        raise BadRequest("`page.token` must be a string")
    offset, issued_for = _decode(token)
    if issued_for != digest:
        raise BadRequest(
            "`page.token` continues a different search: the entities, context and `page.limit` "
            "must stay the same while paging"
        )
    return Page(offset, limit, digest)


def paged(results: list[dict[str, Any]], page: Page) -> dict[str, Any]:
    """One page of `results` (already in a stable order), `page` first as the spec recommends."""
    end = page.offset + page.limit
    chunk = results[page.offset : end] if page.limit else []
    more = page.limit > 0 and end < len(results)
    next_token = _encode(end, page.digest) if more else ""
    return {
        "page": {"next_token": next_token, "count": len(chunk), "total": len(results)},
        "results": chunk,
    }


def _digest(body: dict[str, Any], limit: int) -> str:
    search = {k: v for k, v in body.items() if k != "page"}
    try:
        canonical = orjson.dumps([search, limit], option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # integers beyond 64 bits and the like
        raise BadRequest(f"the request cannot be paged: {exc}") from None
    return hashlib.sha256(canonical).hexdigest()[:32]


def _encode(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        offset, _, digest = raw.partition(":")
        if not offset.isdigit() or len(offset) > 9:
            raise ValueError(offset)
        return int(offset), digest
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest("`page.token` is not a token this server issued") from None
