"""Decision-log records as JSON bytes, in two steps: a cheap pack on the caller, a format on the writer.

`RecordPacker.pack` runs on the deciding thread. It turns a decision into a flat tuple of
integers, strings and bytes (`Packed`): the request encoded by orjson, and the parts decisions
share (the answer's policies, the product's classification and retention, the revisions)
looked up as bytes encoded once. A tuple holding only such scalars is untracked by the
garbage collector after its first young collection, so a queue of a hundred thousand of them
adds nothing to a full collection; `marshal` ships batches of them to a writer process.

`RecordFormatter.format` runs on the writer (thread or process) and splices a packed tuple
into the record `RecordBuilder` builds, field for field and in the same order, less the closing
`prev_hash` that the file sink appends. A value orjson cannot encode (in a raw request refused
as unreadable) is written as its type name, so one odd request never costs the batch it
travels in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from governance import decision as decision_module
from governance.access.answer import Access
from governance.access.request import AccessRequest
from governance.decision import Decision, request_json
from governance.logs.record import (
    EVAL_METRIC,
    PATH,
    RecordBuilder,
    mask_fields,
)
from governance.rules.encoded import ProductJson, retention_summary

_CACHE_LIMIT = 4096

# sequence, evaluated_ns, duration_ns, req_id (an int, or its JSON), requested_by, input JSON,
# result head (the answer up to its masks), masks JSON, product fragment, reason_code (None
# unless refused), refusal, domain and revisions fragment.
Packed = tuple[int, int, int, int | bytes, str, bytes, bytes, bytes, bytes, str | None, str, bytes]


def process_boot() -> str:
    """The prefix of the decision ids this process makes (a writer process has its own)."""
    return decision_module._BOOT


def boot_of(decision: Decision) -> str:
    """The per-process prefix of decision ids (`decision_id` is `<boot>-<sequence>`)."""
    return decision.decision_id.rsplit("-", 1)[0]


class RecordPacker:
    """Decisions to `Packed` tuples on the caller's thread; safe across threads (a cache race
    encodes a shared part twice and keeps either, equal, result)."""

    def __init__(self) -> None:
        self._builder = RecordBuilder()  # the shape of an answer
        self._cache: dict[int, tuple[object, bytes]] = {}

    def pack(self, decision: Decision, req_id: Any = None, requested_by: str = "") -> Packed:
        # The caller's thread runs this on every logged decision: the shared parts are looked
        # up inline (one dict each), only the request is encoded.
        number = decision.sequence if req_id is None else req_id
        if type(number) is not int:  # marshal takes exact types only: anything else as JSON
            number = _json(number)
        if type(requested_by) is not str:
            requested_by = str(requested_by)
        cache, access, revisions = self._cache, decision.access, decision.revisions
        found = cache.get(id(access))
        answer = found[1] if found is not None and found[0] is access else self._miss(access)
        found = cache.get(id(revisions))
        tail = found[1] if found is not None and found[0] is revisions else self._miss(revisions)
        product = decision.encoded
        found = None if product is None else cache.get(id(product))
        if (
            found is None
            or found[0] is not product
            or product.classification is not decision.classification  # type: ignore[union-attr]
            or product.retention is not decision.retention  # type: ignore[union-attr]
        ):
            part = self._product(decision)
        else:
            part = found[1]
        refusal = decision.refusal
        request = decision.request
        try:
            encoded = request_json(request) if type(request) is AccessRequest else _input(request)
        except (TypeError, orjson.JSONEncodeError):
            encoded = _input(request)
        return (
            decision.sequence, decision.evaluated_ns, decision.duration_ns, number, requested_by,
            encoded, answer, _masks(decision) if decision.masks else b"[]", part,
            decision.reason_code if refusal else None, refusal, tail,
        )  # fmt: skip

    def _miss(self, part: Any) -> bytes:
        encode = self._answer if isinstance(part, Access) else _revisions
        return self._shared(part, encode)

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
        cache = self._cache
        cached = cache.get(id(part))
        if cached is not None and cached[0] is part:
            return cached[1]
        encoded: bytes = encode(part)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[id(part)] = (part, encoded)  # the reference keeps the id from reuse
        return encoded


class RecordFormatter:
    """`Packed` tuples to record bytes `{"decision_id": ..., "requested_by": ...` (no closing
    brace); one per writer (its clock cache is not locked). `boot` is the deciding process's
    decision-id prefix, which a writer process does not share."""

    def __init__(self, labels: Mapping[str, str] | None, boot: str) -> None:
        self._clock = RecordBuilder(labels)  # the labels, and the clock text cached per second
        self._boot = boot
        self._path_labels = (
            b'","path":' + orjson.dumps(PATH) + b',"labels":' + orjson.dumps(self._clock.labels)
        )
        self._metric = b',"metrics":{' + orjson.dumps(EVAL_METRIC) + b":"

    def format(self, packed: Packed) -> bytes:
        # The identifiers, the time and the numbers are ASCII without quotes: formatted, not
        # encoded; everything else arrived encoded.
        seq, at, took, number, by, request, answer, masks, product, code, refusal, tail = packed
        head = f'{{"decision_id":"{self._boot}-{seq:012d}","timestamp":"{self._clock.timestamp(at)}'
        parts = [
            head.encode(), self._path_labels, b',"input":', request, b',"result":', answer,
            masks, product,
        ]  # fmt: skip
        if code is not None:
            parts += [b',"reason_code":', _json(code), b',"reason":', _json(refusal)]
        if isinstance(number, bytes):  # a req_id that is not an integer, as JSON
            end = b"".join((str(took).encode(), b'},"req_id":', number, b',"requested_by":'))
        else:
            end = f'{took}}},"req_id":{number},"requested_by":'.encode()
        parts += [tail, self._metric, end, _json(by) if by else b'""']
        return b"".join(parts)


class RecordEncoder:
    """Pack and format in one step, on one thread: the record bytes of a decision."""

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._packer = RecordPacker()
        self._labels = labels
        self._formatter: RecordFormatter | None = None

    def encode(
        self, decision: Decision, req_id: int | None = None, requested_by: str = ""
    ) -> bytes:
        formatter = self._formatter
        if formatter is None:
            formatter = self._formatter = RecordFormatter(self._labels, boot_of(decision))
        return formatter.format(self._packer.pack(decision, req_id, requested_by))


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


def _masks(decision: Decision) -> bytes:
    return orjson.dumps([mask_fields(m) for m in decision.masks])


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
