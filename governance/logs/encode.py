"""The decision-log record encoded straight to JSON bytes, on the writer thread, without building it as a dict.

The record is the one `RecordBuilder` builds, field for field and in the same order, less the
closing `prev_hash` that the file sink appends. Parts shared between decisions (the answer's
policies, the product's classification and retention, the revisions, the labels) are encoded
once and reused as bytes; per decision only the identifiers, the time, the request and the
masks are encoded. A value orjson cannot encode (in a raw request refused as unreadable) is
written as its type name, so one odd request never costs the batch it travels in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from governance.access.answer import Access
from governance.access.request import AccessRequest
from governance.decision import Decision, request_json
from governance.logs.record import (
    EVAL_METRIC,
    PATH,
    RecordBuilder,
    mask_fields,
    reason_code,
)
from governance.rules.encoded import ProductJson, retention_summary

_CACHE_LIMIT = 4096


class RecordEncoder:
    """Decisions to record bytes `{"decision_id": ..., "requested_by": ...` (no closing brace);
    one per writer thread (its caches are not locked)."""

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._builder = RecordBuilder(labels)  # the shapes of shared parts, and the clock text
        self._path_labels = (
            b'","path":' + orjson.dumps(PATH) + b',"labels":' + orjson.dumps(self._builder.labels)
        )
        self._metric = b',"metrics":{' + orjson.dumps(EVAL_METRIC) + b":"
        self._cache: dict[int, tuple[object, bytes]] = {}

    def encode(
        self, decision: Decision, req_id: int | None = None, requested_by: str = ""
    ) -> bytes:
        # The identifiers, the time and the numbers are ASCII without quotes: formatted, not
        # encoded; everything else is orjson's, or a fragment encoded once per product.
        request = decision.request
        head = (
            f'{{"decision_id":"{decision.decision_id}",'
            f'"timestamp":"{self._builder.timestamp(decision.evaluated_ns)}'
        )
        masks = orjson.dumps([mask_fields(m) for m in decision.masks]) if decision.masks else b"[]"
        parts = [
            head.encode(), self._path_labels, b',"input":', _input(request),
            b',"result":', self._shared(decision.access, self._answer), masks,
            self._product(decision),
        ]  # fmt: skip
        code = reason_code(decision)
        if code is not None:
            parts += [b',"reason_code":', _json(code), b',"reason":', _json(decision.refusal)]
        number = decision.sequence if req_id is None else req_id
        tail = f'{decision.duration_ns}}},"req_id":{number},"requested_by":'
        parts += [
            self._shared(decision.revisions, _revisions), self._metric,
            tail.encode() if type(number) is int else _tail(decision.duration_ns, number),
            _json(requested_by) if requested_by else b'""',
        ]  # fmt: skip
        return b"".join(parts)

    def _product(self, decision: Decision) -> bytes:
        """`,"classification":...,"retention":...`: from the snapshot's fragments of the
        product (one lookup), else encoded here once per part."""
        encoded = decision.encoded
        if (
            encoded is not None
            and encoded.classification is decision.classification
            and encoded.retention is decision.retention
        ):
            return self._shared(encoded, _product_part)
        return b"".join((
            b',"classification":', self._shared(decision.classification, _classification),
            b',"retention":', self._shared(decision.retention, _retention),
        ))  # fmt: skip

    def _answer(self, access: Access) -> bytes:
        """The result up to its masks: `{"allowed": ..., "waivers": [...], "masks":`."""
        fields = dict(self._builder.answer(access))
        del fields["masks"]
        return orjson.dumps(fields)[:-1] + b',"masks":'

    def _shared(self, part: Any, encode: Any) -> bytes:
        if part is None:
            return b"null"
        cached = self._cache.get(id(part))
        if cached is not None and cached[0] is part:
            return cached[1]
        encoded: bytes = encode(part)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[id(part)] = (part, encoded)  # the reference keeps the id from reuse
        return encoded


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        try:
            return orjson.dumps(value, default=_type_name, option=orjson.OPT_NON_STR_KEYS)
        except (TypeError, orjson.JSONEncodeError):  # too deep, or a cycle
            return orjson.dumps({"unencodable": type(value).__name__})


def _input(request: AccessRequest | Mapping[str, Any]) -> bytes:
    if isinstance(request, AccessRequest):
        try:
            return request_json(request)
        except (TypeError, orjson.JSONEncodeError):
            return _json(request.to_authzen())
    return _json(dict(request))


def _tail(duration_ns: int, req_id: Any) -> bytes:
    """The record's end for a `req_id` that is not an integer (JSON-encoded whatever it is)."""
    return str(duration_ns).encode() + b'},"req_id":' + _json(req_id) + b',"requested_by":'


def _product_part(encoded: ProductJson) -> bytes:
    fragments = encoded.fragments
    return b"".join((
        b',"classification":', fragments.level, b',"retention":', fragments.retention_summary
    ))  # fmt: skip


def _type_name(value: Any) -> str:
    return f"<{type(value).__name__}>"


def _classification(classification: Any) -> bytes:
    return orjson.dumps(classification.product.level)


def _retention(retention: Any) -> bytes:
    return orjson.dumps(retention_summary(retention))


def _revisions(revisions: Mapping[str, str]) -> bytes:
    """The end of the result (its domain) and the revisions: `,"domain":...},"revisions":{...}`."""
    domain = next((layer for layer in revisions if layer != "global"), None)
    return b',"domain":' + orjson.dumps(domain) + b'},"revisions":' + orjson.dumps(dict(revisions))
