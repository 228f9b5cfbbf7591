"""The decision: one answer for access, masks, classification and retention, each naming its rule.

The hot path builds a slotted Decision holding references to precomputed parts; the JSON form
is built only when someone asks for it (`to_dict`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from governance.access.answer import Access, Kind, PolicyError, PolicyRef
from governance.access.request import AccessRequest
from governance.rules.classification import Classified, ProductClassification
from governance.rules.masking import BUILTIN_DEFAULT, NULL, MaskSource, Strategy
from governance.rules.retention import Retention

_BOOT = os.urandom(4).hex()
_SEQUENCE = itertools.count(1)  # next() on a count is atomic under the GIL
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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


def next_sequence() -> int:
    return next(_SEQUENCE)


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "allowed": self.allowed,
            "request": self.request.to_authzen()
            if isinstance(self.request, AccessRequest)
            else dict(self.request),
            "reason": summary(self),
            "reason_code": self.reason_code,
            "access": self.access.to_dict(),
            "masks": [m.to_dict() for m in self.masks],
            "classification": _classification_dict(self.classification),
            "retention": None if self.retention is None else self.retention.to_dict(),
            "revisions": dict(self.revisions),
            "evaluated_at": self.evaluated_at.isoformat(),
            "duration_us": round(self.duration_ns / 1000, 2),
        }


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


def _classified_dict(classified: Classified) -> dict[str, Any]:
    return {
        "level": classified.level,
        "labels": sorted(classified.labels),
        "sources": [s.to_dict() for s in classified.deciding],
    }


def _classification_dict(classification: ProductClassification | None) -> dict[str, Any] | None:
    if classification is None:
        return None
    result = _classified_dict(classification.product)
    result["columns"] = {key: _classified_dict(c) for key, c in classification.columns.items()}
    return result
