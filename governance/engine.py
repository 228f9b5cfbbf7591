"""The public engine: load a policy tree, decide requests, reload atomically; safe across threads."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from governance.access.answer import Access
from governance.access.catalog_entities import CATALOG_TYPES
from governance.access.evaluator import BoundRequest, Plan, PlanKey
from governance.access.request import AccessRequest, coerce_request
from governance.access.request_schema import RequestSchema
from governance.access.slices import SliceKey
from governance.bundle.archive import DEFAULT_LIMITS, Limits
from governance.bundle.loader import BundleLoader
from governance.bundle.sources import BundleSource
from governance.bundle.trust import Trust, load_trust
from governance.decision import (
    REASON_CODES,
    Decision,
    Mask,
    ReasonCode,
    from_epoch_ns,
    next_sequence,
    to_epoch_ns,
)
from governance.errors import LoadError, ReloadError, RequestError
from governance.logs.interface import DecisionLog, NoDecisionLog
from governance.release import let_go
from governance.snapshot import (
    EvaluatorName,
    MaskableColumn,
    ProductView,
    Snapshot,
    build_snapshot,
    collector_paused,
    settle_after_swap,
)
from governance.tree.load import load_tree, shown_from

Clock = Callable[[], dt.datetime]
RequestLike = AccessRequest | Mapping[str, Any]
_DENIED = Access("not_permitted", ())
_NOTHING_WAIVED: Mapping[str, str] = {}


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _clock_ns(clock: Clock) -> Callable[[], int]:
    """The clock as epoch nanoseconds; the system clock reads `time.time_ns` directly, a
    fraction of the cost of building a datetime on every decision."""
    if clock is system_clock:
        return time.time_ns
    _check_aware(clock())
    return lambda: to_epoch_ns(_check_aware(clock()))


def _check_aware(now: Any) -> dt.datetime:
    """A decision's time must be an instant: a naive datetime has no time zone to place it."""
    if not isinstance(now, dt.datetime):
        raise TypeError(f"the engine's clock must return a datetime, not {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(
            "the engine's clock returned a naive datetime; return an aware one, "
            "e.g. datetime.now(datetime.UTC)"
        )
    return now


class Engine:
    """Answers access, masks, classification and retention for every data-product request.

    Decisions read one immutable snapshot; `reload` builds a new one off to the side and swaps
    the reference, so readers never see a half-loaded set and never take a lock.
    """

    def __init__(
        self, snapshot: Snapshot, *, clock: Clock = system_clock, log: DecisionLog | None = None
    ) -> None:
        self._snapshot = snapshot
        settle_after_swap()
        self._now_ns = _clock_ns(clock)
        self._reload_lock = threading.Lock()
        # With logging off there is no call at all, not even to a no-op.
        self._log = None if log is None or isinstance(log, NoDecisionLog) else log
        self.bundles: BundleLoader | None = None  # set by from_bundles: status, poll, watch

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        evaluator: EvaluatorName = "compiled",
        clock: Clock = system_clock,
        log: DecisionLog | None = None,
    ) -> Engine:
        """Load a tree; raises LoadError listing every problem when it has any error."""
        return cls(_load(path, evaluator), clock=clock, log=log)

    @classmethod
    def from_bundles(
        cls,
        source: BundleSource | str | Path,
        *,
        trust: Trust | str | Path,
        evaluator: EvaluatorName = "compiled",
        clock: Clock = system_clock,
        state_dir: str | Path | None = None,
        limits: Limits = DEFAULT_LIMITS,
        log: DecisionLog | None = None,
    ) -> Engine:
        """Serve signed bundles (a folder or a BundleSource); every bundle is verified against
        `trust` first and a refused one raises a BundleRejected naming it. `engine.bundles`
        polls for newer revisions, keeps the last good set and reports its status."""
        if not isinstance(trust, Trust):
            trust = load_trust(trust)
        loader = BundleLoader(
            source, trust, evaluator=evaluator, limits=limits, state_dir=state_dir
        )
        engine = cls(loader.load(), clock=clock, log=log)
        loader.on_activate = engine.activate
        engine.bundles = loader
        return engine

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def reload(self, path: str | Path) -> None:
        """Swap in a new tree; on failure the previous set stays active and ReloadError is raised."""
        with self._reload_lock:
            try:
                snapshot = _load(path, self._snapshot.evaluator_name, self._snapshot)
            except LoadError as exc:
                raise ReloadError(exc.problems) from exc
            self._swap(snapshot)

    def activate(self, snapshot: Snapshot) -> None:
        """Swap in a snapshot built elsewhere (a verified bundle set); one reference swap."""
        with self._reload_lock:
            self._swap(snapshot)

    def _swap(self, snapshot: Snapshot) -> None:
        """One reference swap; the replaced snapshot is then let go a part at a time, so freeing
        it never stalls deciding threads (decisions still running on it keep what they use)."""
        replaced = [self._snapshot]
        self._snapshot = snapshot
        settle_after_swap()
        let_go(replaced)

    def decide_many(
        self,
        requests: Iterable[RequestLike],
        *,
        until: Callable[[Decision], bool] | None = None,
        requested_by: str = "",
    ) -> list[Decision]:
        """Decide a batch against one snapshot: the whole batch sees one policy set, even
        across a reload. Requests of one principal (same subject, action and context, anywhere
        in the batch; typically one principal asking about many products) are checked against
        the schema and bound once. `until`, when given, stops the batch after the first
        decision it is true of (the rest are not decided, nor logged). With a decision log
        every decision is enqueued (`requested_by`, the caller's address, in each record)."""
        snapshot, batch = self._snapshot, _Batch()
        decide_in = self._decide_in
        if until is None:
            decisions = [decide_in(snapshot, request, batch) for request in requests]
        else:
            decisions = []
            for request in requests:
                decision = decide_in(snapshot, request, batch)
                decisions.append(decision)
                if until(decision):
                    break
        if self._log is not None:
            log = self._log.log
            for decision in decisions:
                log(decision, None, requested_by)
        return decisions

    def decide(
        self, request: RequestLike, *, req_id: int | None = None, requested_by: str = ""
    ) -> Decision:
        """Never raises and never allows what it cannot understand: bad input is a reasoned deny.

        With a decision log, the decision is enqueued for it (`req_id` and `requested_by`, the
        caller's request number and client address, go into the record)."""
        decision = self._decide_in(self._snapshot, request, None)
        if self._log is not None:
            self._log.log(decision, req_id, requested_by)
        return decision

    def _decide_in(
        self, snapshot: Snapshot, request: RequestLike, batch: _Batch | None
    ) -> Decision:
        started, now = time.perf_counter_ns(), 0
        try:
            now = self._now_ns()  # inside the guard: a failing clock is a refusal, not a raise
            parsed, view = _resolve(snapshot, coerce_request(request), batch)
            decision = _decide(snapshot, parsed, view, now, started, batch)
        except RequestError as exc:
            code = exc.code if exc.code in REASON_CODES else "bad_request"
            decision = _refusal(snapshot, request, str(exc), code, now, started)  # type: ignore[arg-type]
        except Exception as exc:
            decision = _refusal(
                snapshot, request, _internal(exc), "internal_error", now or time.time_ns(), started
            )
        return decision


class _Batch:
    """What the requests of one batch share: per principal, action and context the schema
    accepted, the request as checked and its bindings per domain. A request shares them only
    when it names the same principal, action and context, values and types alike (compared
    as JSON); telling costs a dict lookup for a principal not seen before in the batch, so
    mixed traffic pays next to nothing."""

    __slots__ = ("bound", "seen")

    def __init__(self) -> None:
        # Per principal id, what each accepted request of it brought: the request (its key
        # made when first compared), the request as checked, and its bindings per domain.
        self.seen: dict[str, list[_Accepted]] = {}
        self.bound: dict[str, BoundRequest] = {}  # the bindings of the request being decided

    def checked(self, schema: RequestSchema | None, request: AccessRequest) -> AccessRequest:
        """`request` as the schema reads it: checked, or taken from an earlier request of the
        batch with the same principal, action and context (the check is a function of those
        alone). A refusal raises and is never kept, so it is never shared."""
        accepted = self.seen.get(request.principal)
        key = None
        if accepted is not None:
            key = _principal_key(request)
            for entry in accepted if key is not None else ():
                if entry.key() == key:
                    self.bound = entry.bound
                    return entry.shared_by(request)
        checked = request if schema is None else schema.check(request)
        entry = _Accepted(request, checked, key)
        if accepted is None:
            self.seen[request.principal] = [entry]
        elif len(accepted) < _PRINCIPAL_VARIANTS:  # bounded: a hostile batch cannot grow it
            accepted.append(entry)
        self.bound = entry.bound
        return checked

    def bind(self, snapshot: Snapshot, request: AccessRequest, domain: str) -> BoundRequest:
        """The request's principal bound to `domain`, bound on first use in the batch."""
        bound = self.bound.get(domain)
        if bound is None:
            bound = self.bound[domain] = snapshot.evaluator.bind(request, domain)
        return bound


_PRINCIPAL_VARIANTS = 16  # contexts (or attribute sets) kept per principal within one batch


class _Accepted:
    """One request the schema accepted in a batch, and what requests like it share."""

    __slots__ = ("_key", "bound", "checked", "request")

    def __init__(self, request: AccessRequest, checked: AccessRequest, key: bytes | None) -> None:
        self.request, self.checked, self._key = request, checked, key
        self.bound: dict[str, BoundRequest] = {}

    def key(self) -> bytes | None:
        if self._key is None:
            self._key = _principal_key(self.request)
        return self._key

    def shared_by(self, request: AccessRequest) -> AccessRequest:
        """`request` (same principal, action and context) as the check read the accepted one:
        the values the check rewrote (entities, extension values) are taken from it."""
        checked = self.checked
        if checked is self.request:
            return request
        return request._replace(attributes=checked.attributes, context=checked.context)


def _principal_key(request: AccessRequest) -> bytes | None:
    """The principal, action and context as JSON: equal exactly when they are the same values
    of the same types (`1 == True` in Python, never in Cedar); None shares nothing."""
    try:
        return orjson.dumps((
            request.principal, request.principal_type, request.groups, request.attributes,
            request.action, request.context,
        ))  # fmt: skip
    except (TypeError, orjson.JSONEncodeError):  # a value JSON cannot hold: decided alone
        return None


def _load(path: str | Path, evaluator: EvaluatorName, previous: Snapshot | None = None) -> Snapshot:
    """The tree at `path` as a snapshot; what unchanged domains determine is taken from the
    `previous` one (see `build_snapshot`)."""
    # Decision sources name files relative to the tree root, whatever the working directory;
    # the problems of a tree that does not load are named as the path was given, to be opened.
    with collector_paused():  # reading the tree makes as many long-lived objects as building
        earlier = None if previous is None else previous.tree
        tree, problems = load_tree(path, tree_relative=True, previous=earlier)
        try:
            if tree is None:
                raise LoadError(problems)
            return build_snapshot(tree, problems, evaluator, previous)
        except LoadError as exc:
            raise LoadError(shown_from(path, exc.problems)) from None


def _resolve(
    snapshot: Snapshot, request: AccessRequest, batch: _Batch | None
) -> tuple[AccessRequest, ProductView]:
    """The product the request is about, and the request as the schema says to read it."""
    view = snapshot.products.get(request.product)
    if view is None:
        raise RequestError(f"unknown product `{request.product}`", "unknown_product")
    if request.action not in snapshot.actions:
        raise RequestError(f"unknown action `{request.action}`", "unknown_action")
    if request.principal_type in CATALOG_TYPES:
        raise RequestError(
            f"`{request.principal_type}` cannot be a subject type", "bad_subject_type"
        )
    schema = snapshot.request_schema
    if batch is not None:
        return batch.checked(schema, request), view
    if schema is not None:
        # The check also rewrites what the schema types as entities and extensions.
        request = schema.check(request)
    return request, view


def _decide(
    snapshot: Snapshot,
    request: AccessRequest,
    view: ProductView,
    now: int,
    started: int,
    batch: _Batch | None = None,
) -> Decision:
    domain = view.product.domain
    key = (request.action, domain)
    if request.columns is not None and not view.column_keys.issuperset(request.columns):
        unknown = next(c for c in request.columns if c not in view.column_keys)
        raise RequestError(
            f"product `{view.product.id}` has no column `{unknown}`", "unknown_column"
        )
    waived = (
        snapshot.waivers.waived(request, domain, from_epoch_ns(now).date())
        if snapshot.waivers.has_waivers(domain)
        else None
    )
    removed = waived or _NOTHING_WAIVED
    bound = (
        snapshot.evaluator.bind(request, domain)
        if batch is None
        else batch.bind(snapshot, request, domain)
    )
    plans = snapshot.plans
    plan = plans[key, view.resource]
    access = plan.evaluate(bound, removed)
    masks: tuple[Mask, ...] = ()
    if access.kind == "permitted" and view.maskable:
        columns = _columns_to_check(view, request)
        masks = _masks(bound, plans, key, columns, removed, {plan: access})
    return Decision(
        next_sequence(), request, access, masks, view.classification, view.retention,
        view.revisions, now, time.perf_counter_ns() - started, encoded=view.encoded,
    )  # fmt: skip


def _columns_to_check(view: ProductView, request: AccessRequest) -> Sequence[MaskableColumn]:
    """The non-public columns the request touches (all of them when it names none)."""
    if request.columns is None:
        return view.maskable
    named = set(request.columns)
    return [c for c in view.maskable if c.key in named]


def _masks(
    bound: BoundRequest,
    plans: Mapping[PlanKey, Plan],
    key: SliceKey,
    columns: Sequence[MaskableColumn],
    removed: Mapping[str, str],
    evaluated: dict[Plan, Access],
) -> tuple[Mask, ...]:
    """Each column the request may not read, on a product it may read, is masked. Columns
    often share a plan (with each other and with the product): each plan runs once, its
    answer kept in `evaluated` for this decision only."""
    masks = []
    for column in columns:
        plan = plans[key, column.resource]
        access = evaluated.get(plan)
        if access is None:
            access = evaluated[plan] = plan.evaluate(bound, removed)
        if access.kind != "permitted":
            strategy, rule = column.strategy, column.strategy_source
            masks.append(
                Mask(
                    column.key,
                    column.level,
                    access.kind,
                    access.policies,
                    access.errors,
                    strategy,
                    rule,
                )
            )
    return tuple(masks)


def _refusal(
    snapshot: Snapshot, request: Any, reason: str, code: ReasonCode, now: int, started: int
) -> Decision:
    raw: AccessRequest | Mapping[str, Any]
    if not isinstance(request, AccessRequest):
        raw = _json_safe(request)
    elif code in ("bad_request", "internal_error"):  # a typed request its reader refused
        raw = _json_safe(_authzen_or_repr(request))  # may hold NaN or a non-mapping
    else:
        raw = request
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
        code,
    )


def _internal(exc: Exception) -> str:
    return f"internal evaluation error: {_safe_repr(exc)}"


def _json_safe(request: Any) -> Mapping[str, Any]:
    """A copy of an unreadable request that still serialises as strict JSON (no NaN): the
    decision log must not choke, whatever the value (deep, hostile `repr`, non-finite)."""
    try:
        copy = json.loads(json.dumps(request, default=_safe_repr, allow_nan=False))
    except Exception:  # any failure of a hostile value: fall back to its (guarded) repr
        copy = None
    return copy if isinstance(copy, dict) else {"invalid": _safe_repr(request)}


def _authzen_or_repr(request: AccessRequest) -> Any:
    try:
        return request.to_authzen()
    except Exception:  # e.g. `attributes` that is no mapping
        return {"invalid": _safe_repr(request)}


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:200]
    except Exception:  # a hostile __repr__ may raise anything
        return f"<unrepresentable {type(value).__name__}>"
