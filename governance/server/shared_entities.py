"""Equal subjects and contexts within one batch made one object each, so that the engine reads,
checks and binds each principal once for all of its items (`Engine.decide_many`)."""

from __future__ import annotations

from typing import Any

import orjson


def share_equal_entities(requests: list[dict[str, Any]]) -> None:
    """In place: requests whose subjects (or contexts) are equal come to hold one of them.

    The requests are decoded JSON, so encoding a value again tells equal exactly: the same
    bytes are the same values of the same JSON types (`1`, `1.0` and `true` differ). Only the
    requests of a subject id that repeats are encoded; each request is its own dict (a batch
    item merged with the defaults), so replacing its entries changes no caller's value."""
    by_id: dict[Any, list[dict[str, Any]]] = {}
    for request in requests:
        subject = request.get("subject")
        if type(subject) is dict:
            by_id.setdefault(subject.get("id"), []).append(request)
    for same_id in by_id.values():
        if len(same_id) > 1:
            _share(same_id, "subject")
            _share(same_id, "context")


def _share(requests: list[dict[str, Any]], name: str) -> None:
    first: dict[bytes, Any] = {}
    seen: Any = None  # the value of the request before (a dict), and the one it came to hold
    kept: Any = None
    for request in requests:
        value = request.get(name)
        if type(value) is not dict:
            continue
        if value is not seen:  # the same object (a default) needs no encoding again
            seen = value
            try:
                kept = first.setdefault(orjson.dumps(value), value)
            except TypeError:  # nested deeper than orjson writes: kept as it is
                kept = value
        request[name] = kept
