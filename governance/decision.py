"""The decision: one answer for access, masks, classification and retention, each naming its rule.

The hot path builds a slotted Decision holding references to precomputed parts; the JSON form
is built only when someone asks for it: `to_json` splices the product's fragments, encoded
once per snapshot (`governance.rules.encoded`), and `to_dict` builds the same value as dicts.
A decision carries the classification of the columns it read (the requested ones, every
column for a whole-product request); `to_dict(all_columns=True)` gives every column.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson

from governance.access.answer import Access, Kind, PolicyError, PolicyRef
from governance.access.request import AccessRequest
from governance.rules.classification import ProductClassification
from governance.rules.encoded import ProductJson, classification_dict, dumps
from governance.rules.masking import BUILTIN_DEFAULT, NULL, MaskSource, Strategy
from governance.rules.retention import Retention

_BOOT = os.urandom(4).hex()
_SEQUENCE = itertools.count(1)  # next() on a count is atomic under the GIL
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CACHE_LIMIT = 4096  # shared answers kept encoded; past it the cache starts over
_Fragment = orjson.Fragment


# Why a request was refused before any policy ran, for machines (the sentence is for people).
ReasonCode = Literal[
    "bad_request",  # the request cannot be read (shape, types, values)
    "unknown_product",
    "unknown_action",
    "unknown_column",
    "bad_subject_type",  # a catalog type named as the subject
    "unknown_attribute",  # a subject property or context attribute the schema does not declare
    "missing_attribute",  # one the schema declares required is absent
    "internal_error",  # the engine failed: a bug, never the caller's fault
]
REASON_CODES: frozenset[str] = frozenset(get_args(ReasonCode))


# The count's own `__next__`: a C-level call, not a Python function around `next`.
next_sequence: Callable[[], int] = _SEQUENCE.__next__


def to_epoch_ns(moment: dt.datetime) -> int:
    """A timezone-aware datetime as nanoseconds since the epoch (exact to the microsecond)."""
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def from_epoch_ns(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


@dataclass(slots=True)
class Mask:
    """A column the gateway must mask: the product is readable, this column is not; `strategy`
    says how (masking.yaml), `rule` which rule chose it."""

    column: str
    level: str
    kind: Kind
    policies: tuple[PolicyRef, ...]
    errors: tuple[PolicyError, ...] = ()  # policies that errored on this column
    strategy: Strategy = NULL
    rule: MaskSource = BUILTIN_DEFAULT

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "level": self.level,
            "kind": self.kind,
            "policies": [p.to_dict() for p in self.policies],
            "errors": [{"policy": e.policy, "message": e.message} for e in self.errors],
            "strategy": {**self.strategy.to_dict(), **self.rule.to_dict()},
        }

    def to_json(self, encoded: ProductJson | None = None) -> bytes:
        """`to_dict` as JSON; `encoded`, the product's fragments, supplies the strategy."""
        strategy = (
            encoded.strategy_json(self.column, self.strategy, self.rule)
            if encoded is not None
            else dumps({**self.strategy.to_dict(), **self.rule.to_dict()})
        )
        return orjson.dumps({
            "column": self.column,
            "level": self.level,
            "kind": self.kind,
            "policies": _Fragment(
                _POLICIES.encode(self.policies, _policies_json) if self.policies else b"[]"
            ),
            "errors": _Fragment(_ERRORS.encode(self.errors, _errors_json) if self.errors else b"[]"),
            "strategy": _Fragment(strategy),
        })  # fmt: skip


@dataclass(slots=True)
class Decision:
    """Built on every request, so plain slots; treat it as read-only."""

    sequence: int  # formatted into `decision_id` only when someone reads it
    request: AccessRequest | Mapping[str, Any]  # the raw request when it could not be read
    access: Access
    masks: tuple[Mask, ...]
    classification: ProductClassification | None
    retention: Retention | None
    revisions: Mapping[str, str]
    evaluated_ns: int  # epoch nanoseconds; `evaluated_at` builds the datetime when asked
    duration_ns: int
    refusal: str = ""  # why a request was denied before any policy ran (bad request, ...)
    reason_code: ReasonCode | None = None  # set exactly when `refusal` is
    encoded: ProductJson | None = None  # the product's JSON fragments (snapshot's ProductView)

    @property
    def reason(self) -> str:
        """The decision in one sentence (see `summary`)."""
        return summary(self)

    @property
    def allowed(self) -> bool:
        return self.access.allowed

    @property
    def evaluated_at(self) -> dt.datetime:
        return from_epoch_ns(self.evaluated_ns)

    @property
    def decision_id(self) -> str:
        return f"{_BOOT}-{self.sequence:012d}"

    def to_dict(self, *, all_columns: bool = False) -> dict[str, Any]:
        """The decision as JSON-ready dicts; `all_columns` classifies every column of the
        product, not only those the request read (what `govern decide --explain` shows)."""
        classification = self.classification
        return {
            "decision_id": self.decision_id,
            "allowed": self.allowed,
            "request": _request_dict(self.request),
            "reason": summary(self),
            "reason_code": self.reason_code,
            "access": self.access.to_dict(),
            "masks": [m.to_dict() for m in self.masks],
            "classification": None
            if classification is None
            else classification_dict(classification, None if all_columns else self.read_columns),
            "retention": None if self.retention is None else self.retention.to_dict(),
            "revisions": dict(self.revisions),
            "evaluated_at": self.evaluated_at.isoformat(),
            "duration_us": round(self.duration_ns / 1000, 2),
        }

    def to_json(self) -> bytes:
        """`to_dict()` as compact JSON bytes, built from fragments encoded once per product and
        per shared answer: a few microseconds, and request-sized for a product of any width."""
        try:
            return self._encode()
        except (TypeError, orjson.JSONEncodeError):  # text orjson refuses (a lone surrogate)
            return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":")).encode()

    def _encode(self) -> bytes:
        encoded, access = self._product_json(), self.access
        if self.refusal or self.masks:
            verdict = b"".join((
                b',"reason":', orjson.dumps(summary(self)),
                b',"reason_code":', orjson.dumps(self.reason_code),
                b',"access":', _ACCESS.encode(access, _access_json),
            ))  # fmt: skip
        else:  # the reason is the answer's alone: encoded with it, once
            verdict = _VERDICT.encode(access, _verdict_json)
        if encoded is None:
            product = b',"classification":null,"retention":null'
        else:
            product = b"".join((
                b',"classification":', encoded.classification_json(self.read_columns),
                b',"retention":', encoded.fragments.retention,
            ))  # fmt: skip
        # The identifiers, time and duration are ASCII without quotes: formatted, not encoded.
        # `.2f` is the decimal `round(x, 2)` stands for, so both read back as the same float.
        allowed = "true" if access.kind == "permitted" else "false"
        head = f'{{"decision_id":"{_BOOT}-{self.sequence:012d}","allowed":{allowed},"request":'
        tail = (
            f',"evaluated_at":"{isoformat(self.evaluated_ns)}",'
            f'"duration_us":{self.duration_ns / 1000:.2f}}}'
        )
        return b"".join((
            head.encode(), _request_json(self.request), verdict,
            b',"masks":', self._masks_json(encoded), product,
            b',"revisions":', _REVISIONS.encode(self.revisions, _revisions_json), tail.encode(),
        ))  # fmt: skip

    def _masks_json(self, encoded: ProductJson | None) -> bytes:
        if not self.masks:
            return b"[]"
        return b"[" + b",".join([m.to_json(encoded) for m in self.masks]) + b"]"

    @property
    def read_columns(self) -> tuple[str, ...] | None:
        """The columns the request read, as it named them; None for a whole-product request,
        which reads every column. The masked columns are always among them."""
        request = self.request
        return request.columns if isinstance(request, AccessRequest) else None

    def _product_json(self) -> ProductJson | None:
        """The snapshot's fragments when they describe this decision's product; fragments
        made afresh for a decision built by hand."""
        classification, encoded = self.classification, self.encoded
        if classification is None or self.retention is None:
            return None
        if (
            encoded is not None
            and encoded.classification is classification
            and encoded.retention is self.retention
        ):
            return encoded
        return ProductJson(classification, self.retention)


def headline(decision: Decision) -> str:
    """Which layer decided, in the words docs/SEMANTICS.md §2 uses."""
    access = decision.access
    if access.kind == "permitted":
        layers = sorted({p.layer for p in access.policies})
        return f"permitted by {' and '.join(layers)} policy"
    if access.kind == "not_permitted":
        return "not permitted by any policy"
    if any(p.layer == "global" for p in access.policies):
        return "forbidden by a global guardrail"
    return "forbidden by a domain policy"


def summary(decision: Decision) -> str:
    """One sentence a person reads in five seconds."""
    if decision.refusal:
        return f"denied: {decision.refusal}"
    access = decision.access
    unevaluated = {e.policy: e.message for e in access.errors}
    if access.kind == "forbidden" and access.policies[0].id in unevaluated:
        guardrail = access.policies[0]
        return (
            f"denied: {guardrail.layer} policy `{guardrail.id}` could not be evaluated "
            f"({unevaluated[guardrail.id]})"
        )
    decider = access.policies[0] if access.policies else None
    because = f" by {decider.layer} policy `{decider.id}`" if decider else ""
    why = f": {decider.reason}" if decider and decider.reason else ""
    if access.kind == "forbidden":
        layer = "a global guardrail" if decider and decider.layer == "global" else "a domain policy"
        return f"denied: forbidden by {layer} (`{decider.id if decider else '?'}`){why}"
    if access.kind == "not_permitted":
        return "denied: not permitted by any policy (no permit matched)"
    count = len(decision.masks)
    masked = f" ({count} column{'s' if count > 1 else ''} masked)" if count else ""
    return f"allowed{because}{why}{masked}"


def isoformat(epoch_ns: int) -> str:
    """`from_epoch_ns(epoch_ns).isoformat()`, the date and time formatted once per second."""
    global _second  # one (second, text) tuple, replaced whole: safe across threads
    seconds, ns = divmod(epoch_ns, 1_000_000_000)
    cached = _second
    if cached[0] != seconds:
        text = from_epoch_ns(seconds * 1_000_000_000).isoformat(timespec="seconds")[:-6]
        cached = _second = (seconds, text)
    micros = ns // 1000
    return f"{cached[1]}.{micros:06d}+00:00" if micros else f"{cached[1]}+00:00"


_second: tuple[int, str] = (-1, "")


def _request_dict(request: AccessRequest | Mapping[str, Any]) -> dict[str, Any]:
    return request.to_authzen() if isinstance(request, AccessRequest) else dict(request)


def _request_json(request: AccessRequest | Mapping[str, Any]) -> bytes:
    return (
        request_json(request) if isinstance(request, AccessRequest) else orjson.dumps(dict(request))
    )


def request_json(request: AccessRequest) -> bytes:
    """`orjson.dumps(request.to_authzen())`, a third cheaper: orjson reads the request's
    tuples and dicts as they are, only the nesting is built. Raises what orjson raises."""
    context = request.context
    properties = {"groups": request.groups, **request.attributes}
    resource: dict[str, Any] = {"type": "DataProduct", "id": request.product}
    if request.columns is not None:
        resource["properties"] = {"columns": request.columns}
    return orjson.dumps({
        "subject": {"type": request.principal_type, "id": request.principal, "properties": properties},
        "action": {"name": request.action},
        "resource": resource,
        "context": context if isinstance(context, dict) else dict(context),
    })  # fmt: skip


class _IdentityCache:
    """Encodings of parts decisions share (an answer, its policies, a product's revisions),
    kept by identity: evaluators hand the same Access to every request it answers. Bounded;
    safe across threads (a race encodes twice and keeps either, equal, result)."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[int, tuple[object, bytes]] = {}

    def encode(self, part: Any, encode: Callable[[Any], bytes]) -> bytes:
        found = self._found
        cached = found.get(id(part))
        if cached is not None and cached[0] is part:
            return cached[1]
        encoded = encode(part)
        if len(found) >= _CACHE_LIMIT:
            found.clear()
        found[id(part)] = (part, encoded)  # the reference keeps the id from reuse
        return encoded


_ACCESS, _VERDICT, _REVISIONS = _IdentityCache(), _IdentityCache(), _IdentityCache()
_POLICIES, _ERRORS = _IdentityCache(), _IdentityCache()


def _verdict_json(access: Access) -> bytes:
    """`,"reason":...,"reason_code":null,"access":{...}` of a decision the answer alone explains."""
    reason = summary(Decision(0, {}, access, (), None, None, {}, 0, 0))
    return b"".join((
        b',"reason":', dumps(reason), b',"reason_code":null,"access":', _access_json(access)
    ))  # fmt: skip


def _revisions_json(revisions: Mapping[str, str]) -> bytes:
    return dumps(dict(revisions))


def _access_json(access: Access) -> bytes:
    return dumps(access.to_dict())


def _policies_json(policies: tuple[PolicyRef, ...]) -> bytes:
    return dumps([p.to_dict() for p in policies])


def _errors_json(errors: tuple[PolicyError, ...]) -> bytes:
    return dumps([{"policy": e.policy, "message": e.message} for e in errors])
