"""The public engine: load a policy tree, decide requests, reload atomically; safe across threads."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from governance.access.answer import Access
from governance.access.catalog_entities import CATALOG_TYPES
from governance.access.evaluator import BoundRequest
from governance.access.request import AccessRequest, coerce_request
from governance.access.slices import SliceKey
from governance.decision import (
    Decision,
    Mask,
    from_epoch_ns,
    next_sequence,
    to_epoch_ns,
)
from governance.errors import LoadError, ReloadError, RequestError
from governance.snapshot import EvaluatorName, MaskableColumn, ProductView, Snapshot, build_snapshot
from governance.tree.load import load_tree

Clock = Callable[[], dt.datetime]
RequestLike = AccessRequest | Mapping[str, Any]
_DENIED = Access("not_permitted", ())
_NOTHING_WAIVED: frozenset[str] = frozenset()


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _clock_ns(clock: Clock) -> Callable[[], int]:
    """The clock as epoch nanoseconds; the system clock reads `time.time_ns` directly, a
    fraction of the cost of building a datetime on every decision."""
    if clock is system_clock:
        return time.time_ns
    return lambda: to_epoch_ns(clock())


class Engine:
    """Answers access, masks, classification and retention for every data-product request.

    Decisions read one immutable snapshot; `reload` builds a new one off to the side and swaps
    the reference, so readers never see a half-loaded set and never take a lock.
    """

    def __init__(self, snapshot: Snapshot, *, clock: Clock = system_clock) -> None:
        self._snapshot = snapshot
        self._now_ns = _clock_ns(clock)
        self._reload_lock = threading.Lock()

    @classmethod
    def from_path(
        cls, path: str | Path, *, evaluator: EvaluatorName = "compiled", clock: Clock = system_clock
    ) -> Engine:
        """Load a tree; raises LoadError listing every problem when it has any error."""
        return cls(_load(path, evaluator), clock=clock)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def reload(self, path: str | Path) -> None:
        """Swap in a new tree; on failure the previous set stays active and ReloadError is raised."""
        with self._reload_lock:
            try:
                snapshot = _load(path, self._snapshot.evaluator_name)
            except LoadError as exc:
                raise ReloadError(exc.problems) from exc
            self._snapshot = snapshot

    def decide_many(self, requests: Iterable[RequestLike]) -> list[Decision]:
        return [self.decide(r) for r in requests]

    def decide(self, request: RequestLike) -> Decision:
        """Never raises and never allows what it cannot understand: bad input is a reasoned deny."""
        started, snapshot, now = time.perf_counter_ns(), self._snapshot, self._now_ns()
        try:
            parsed = coerce_request(request)
            return _decide(snapshot, parsed, _resolve(snapshot, parsed), now, started)
        except RequestError as exc:
            return _refusal(snapshot, request, str(exc), now, started)
        except Exception as exc:
            return _refusal(snapshot, request, f"internal evaluation error: {exc!r}", now, started)


def _load(path: str | Path, evaluator: EvaluatorName) -> Snapshot:
    tree, problems = load_tree(path)
    if tree is None:
        raise LoadError(problems)
    return build_snapshot(tree, problems, evaluator)


def _resolve(snapshot: Snapshot, request: AccessRequest) -> ProductView:
    view = snapshot.products.get(request.product)
    if view is None:
        raise RequestError(f"unknown product `{request.product}`")
    if request.action not in snapshot.actions:
        raise RequestError(f"unknown action `{request.action}`")
    if request.principal_type in CATALOG_TYPES:
        raise RequestError(f"`{request.principal_type}` cannot be a subject type")
    return view


def _decide(
    snapshot: Snapshot, request: AccessRequest, view: ProductView, now: int, started: int
) -> Decision:
    domain = view.product.domain
    key = (request.action, domain)
    if request.columns is not None and not view.column_keys.issuperset(request.columns):
        unknown = next(c for c in request.columns if c not in view.column_keys)
        raise RequestError(f"product `{view.product.id}` has no column `{unknown}`")
    waived = (
        snapshot.waivers.waived(request, domain, from_epoch_ns(now).date())
        if snapshot.waivers.has_waivers(domain)
        else None
    )
    removed = frozenset(waived) if waived else _NOTHING_WAIVED
    bound = snapshot.evaluator.bind(request)
    access = bound.authorize_one(key, view.resource, removed)
    if waived:
        access = Access(access.kind, access.policies, access.errors, tuple(waived.values()))
    masks: tuple[Mask, ...] = ()
    if access.kind == "permitted" and view.maskable:
        masks = _masks(bound, key, _columns_to_check(view, request), removed)
    return Decision(
        next_sequence(), request, access, masks, view.classification, view.retention,
        view.revisions, now, time.perf_counter_ns() - started,
    )  # fmt: skip


def _columns_to_check(view: ProductView, request: AccessRequest) -> Sequence[MaskableColumn]:
    """The non-public columns the request touches (all of them when it names none)."""
    if request.columns is None:
        return view.maskable
    named = set(request.columns)
    return [c for c in view.maskable if c.key in named]


def _masks(
    bound: BoundRequest, key: SliceKey, columns: Sequence[MaskableColumn], removed: frozenset[str]
) -> tuple[Mask, ...]:
    """SPEC 3.4: each column the request may not read, on a product it may read, is masked."""
    accesses = bound.authorize(key, [c.resource for c in columns], removed)
    masks = []
    for column, access in zip(columns, accesses, strict=True):
        if access.kind != "permitted":
            strategy, rule = column.strategy, column.strategy_source
            masks.append(
                Mask(column.key, column.level, access.kind, access.policies, strategy, rule)
            )
    return tuple(masks)


def _refusal(snapshot: Snapshot, request: Any, reason: str, now: int, started: int) -> Decision:
    raw = request if isinstance(request, AccessRequest) else _json_safe(request)
    return Decision(
        next_sequence(),
        raw,
        _DENIED,
        (),
        None,
        None,
        {},
        now,
        time.perf_counter_ns() - started,
        reason,
    )


def _json_safe(request: Any) -> Mapping[str, Any]:
    """A copy of an unreadable request that still serialises: the decision log must not choke."""
    try:
        copy = json.loads(json.dumps(request, default=repr))
    except (TypeError, ValueError, RecursionError):
        copy = None
    return copy if isinstance(copy, dict) else {"invalid": repr(request)[:200]}
