"""The decision-log record: OPA's decision log event fields, filled from a govern Decision.

Built on the writer thread, never by the caller. Parts shared between decisions (the answer's
policies, the product's classification and retention) are converted once and reused: records are
only ever read after they are built, and masking copies what it changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from governance.access.answer import Access
from governance.access.request import AccessRequest
from governance.decision import Decision, Mask
from governance.rules.classification import ProductClassification
from governance.rules.encoded import retention_summary

PATH = "govern/decide"  # OPA's `path`: the decision that was asked for
EVAL_METRIC = "timer_govern_eval_ns"  # OPA names metrics timer_<what>_ns

_CACHE_LIMIT = 4096


def reason_code(decision: Decision) -> str | None:
    """None for a decision the policies made; otherwise why the request was refused."""
    return decision.reason_code if decision.refusal else None


def rfc3339(epoch_ns: int) -> str:
    seconds, ns = divmod(epoch_ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ns // 1000:06d}Z"


class RecordBuilder:
    """Turns decisions into records; one per writer thread (its caches are not locked)."""

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels or {})
        self._answers: dict[int, tuple[Access, dict[str, Any]]] = {}
        self._products: dict[int, tuple[object, Any]] = {}
        self._second = -1
        self._second_text = ""

    def build(
        self, decision: Decision, req_id: int | None = None, requested_by: str = ""
    ) -> dict[str, Any]:
        request = decision.request
        result = dict(self.answer(decision.access))
        if decision.masks:
            result["masks"] = [mask_fields(m) for m in decision.masks]
        result["classification"] = self._shared(decision.classification, _classification)
        result["retention"] = self._shared(decision.retention, retention_fields)
        code = reason_code(decision)
        if code is not None:
            result["reason_code"] = code
            result["reason"] = decision.refusal
        result["domain"] = _domain(decision.revisions)
        return {
            "decision_id": decision.decision_id,
            "timestamp": self.timestamp(decision.evaluated_ns),
            "path": PATH,
            "labels": self.labels,
            "input": request.to_authzen() if isinstance(request, AccessRequest) else dict(request),
            "result": result,
            "revisions": decision.revisions,
            "metrics": {EVAL_METRIC: decision.duration_ns},
            "req_id": decision.sequence if req_id is None else req_id,
            "requested_by": requested_by,
        }

    def timestamp(self, epoch_ns: int) -> str:
        seconds, ns = divmod(epoch_ns, 1_000_000_000)
        if seconds != self._second:  # one datetime per second of traffic, not per record
            self._second = seconds
            self._second_text = f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%dT%H:%M:%S}"
        return f"{self._second_text}.{ns // 1000:06d}Z"

    def answer(self, access: Access) -> dict[str, Any]:
        """The answer's part of `result`, shared between decisions: treat it as read-only."""
        cached = self._answers.get(id(access))
        if cached is not None and cached[0] is access:
            return cached[1]
        answer = {
            "allowed": access.allowed,
            "effect": "allow" if access.allowed else "deny",
            "kind": access.kind,
            "policies": [
                {"id": p.id, "layer": p.layer, "effect": p.effect} for p in access.policies
            ],
            "layers": sorted({p.layer for p in access.policies}),
            "errors": [e.policy for e in access.errors],
            "waivers": list(access.waivers),
            "masks": [],
        }
        if len(self._answers) >= _CACHE_LIMIT:
            self._answers.clear()
        self._answers[id(access)] = (access, answer)  # the reference keeps the id from reuse
        return answer

    def _shared(self, part: Any, convert: Any) -> Any:
        if part is None:
            return None
        cached = self._products.get(id(part))
        if cached is not None and cached[0] is part:
            return cached[1]
        converted = convert(part)
        if len(self._products) >= _CACHE_LIMIT:
            self._products.clear()
        self._products[id(part)] = (part, converted)
        return converted


def mask_fields(mask: Mask) -> dict[str, Any]:
    return {
        "column": mask.column,
        "level": mask.level,
        "kind": mask.kind,
        "policies": [p.id for p in mask.policies],
    }


def _classification(classification: ProductClassification) -> str:
    return classification.product.level


retention_fields = retention_summary  # what a record keeps of retention


def _domain(revisions: Mapping[str, str]) -> str | None:
    for layer in revisions:
        if layer != "global":
            return layer
    return None
