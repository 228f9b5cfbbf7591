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
from governance.access.request import (
    NO_VALUES,
    AccessRequest,
    about_resource,
    coerce_request,
    fast_authzen,
)
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
        across a reload, and each request gets exactly the decision `decide` gives it.

        Requests of one principal, action and context share the reading of them, the schema
        check and the bindings per domain: those naming the very same subject and context
        objects (a batch's defaults, `{**base, "resource": ...}`) read only their resource,
        and equal ones elsewhere in the batch (same values of the same types) share the rest.
        The requests are read as they are when decided: when code can run between two of
        them (`until`, an iterator that is not a list or tuple) and change the objects they
        name, only equal values are shared, never objects.
        `until`, when given, stops the batch after the first decision it is true of (the rest
        are not decided, nor logged). With a decision log every decision is enqueued
        (`requested_by`, the caller's address, in each record)."""
        batch = _Batch(self._snapshot, self._now_ns)
        decide = batch.decide
        if until is None and type(requests) in _SEQUENCES:
            decisions = [decide(request) for request in requests]
        else:
            decisions = []
            forget_objects = batch.forget_objects
            for request in requests:
                forget_objects()  # whatever ran since the request before may have changed them
                decision = decide(request)
                decisions.append(decision)
                if until is not None and until(decision):
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
        decision = self._decide_in(self._snapshot, request)
        if self._log is not None:
            self._log.log(decision, req_id, requested_by)
        return decision

    def _decide_in(self, snapshot: Snapshot, request: RequestLike) -> Decision:
        started, now = time.perf_counter_ns(), 0
        try:
            now = self._now_ns()  # inside the guard: a failing clock is a refusal, not a raise
            # An AuthZEN dict of plain values is read without the call that dispatches it
            # (`coerce_request` reads every other form, and refuses what it must).
            read = fast_authzen(request) if type(request) is dict else None
            checked, view = _resolve(snapshot, read or coerce_request(request))
            # The fast reader's values, left as they were by the schema: not checked again.
            decision = _decide(snapshot, checked, view, now, started, None, checked is read)
        except Exception as exc:
            decision = _failed(snapshot, request, exc, now, started)
        return decision


class _Batch:
    """One batch's decisions, on one snapshot, and what its requests share: per principal,
    action and context the schema accepted, the request as checked and its bindings per
    domain. A request shares them only when it names the same principal, action and context,
    values and types alike. Found first by the very objects a request names (its subject and
    context dicts, and its action's name: a batch's defaults, or `{**base, ...}`), looked for
    when the subject object is the previous request's, which then leaves only the resource to
    read; else by principal id and, only when the id repeats in the batch, by value (compared
    as JSON). A request of a principal new to the batch keeps nothing but its id: mixed
    traffic pays a comparison, a dict lookup and a store a request."""

    __slots__ = (
        "_bind", "_by_objects", "_by_principal", "_last_subject", "_now_ns", "_snapshot",
        "_targets",
    )  # fmt: skip

    def __init__(self, snapshot: Snapshot, now_ns: Callable[[], int]) -> None:
        self._snapshot, self._now_ns = snapshot, now_ns
        self._bind = snapshot.evaluator.bind
        # (product, action) -> its view, domain, slice key, plan and whether the domain has
        # waivers, once known good.
        self._targets: dict[tuple[str, str], _Target] = {}
        self._last_subject: Any = _NOTHING  # the subject object of the request before
        # (id of subject, id of context, action name) -> those objects (held, so the ids
        # cannot be reused while the batch runs), the request as checked, its bindings.
        self._by_objects: dict[tuple[int, int, str], _Named] = {}
        # Per principal id, what each accepted request of it brought once the id repeats.
        self._by_principal: dict[str, list[_Accepted]] = {}

    def decide(self, request: RequestLike) -> Decision:
        """What `Engine.decide` answers for `request` (so never raises)."""
        started, now = time.perf_counter_ns(), 0
        try:
            now = self._now_ns()  # inside the guard: a failing clock is a refusal, not a raise
            objects = subject = context = None
            if type(request) is dict:
                subject = request.get("subject")
                if subject is not self._last_subject:
                    self._last_subject = subject
                else:  # the subject object of the request before: perhaps all the same objects
                    action, context = request.get("action"), request.get("context")
                    name = action.get("name") if type(action) is dict else None
                    if type(name) is str:
                        objects = (id(subject), id(context), name)
                        named = self._by_objects.get(objects)
                        if named is not None and named[0] is subject and named[1] is context:
                            shared = about_resource(named[2], request.get("resource"))
                            if shared is not None:
                                target = self._target(shared)
                                return self._decided(shared, target, now, started, named[3])
            read = fast_authzen(request) if type(request) is dict else None
            parsed = read or coerce_request(request)
            target = self._target(parsed)
            if parsed.principal_type in CATALOG_TYPES:
                raise _catalog_subject(parsed.principal_type)
            if parsed.principal not in self._by_principal:  # the common case of mixed traffic
                self._by_principal[parsed.principal] = _FIRST_SEEN
                schema = self._snapshot.request_schema
                checked = parsed if schema is None else schema.check(parsed)
                return self._decided(checked, target, now, started, None, checked is read)
            checked, bindings = self._checked(parsed)
            if bindings is not None and objects is not None and parsed is read:
                # Read by the fast reader: another request naming the same objects reads the
                # same principal, action and context, whatever its resource.
                self._by_objects[objects] = (subject, context, checked, bindings)
            return self._decided(checked, target, now, started, bindings)
        except Exception as exc:
            return _failed(self._snapshot, request, exc, now, started)

    def forget_objects(self) -> None:
        """Take no request's objects to be as the one before saw them: for the next request
        when code that could change them ran since (the values kept are keyed by value)."""
        self._last_subject = _NOTHING

    def _target(self, request: AccessRequest) -> _Target:
        """What deciding `request` needs of its product and action, looked up once a batch;
        an unknown product or action is refused as `_resolve` refuses it."""
        target = self._targets.get((request.product, request.action))
        if target is not None:
            return target
        snapshot = self._snapshot
        view = snapshot.products.get(request.product)
        if view is None:
            raise _unknown_product(request.product)
        if request.action not in snapshot.actions:
            raise _unknown_action(request.action)
        domain = view.product.domain
        key = (request.action, domain)
        waived = domain in snapshot.waivers.domains
        target = (view, domain, key, snapshot.plans[key, view.resource], waived)
        self._targets[request.product, request.action] = target
        return target

    def _decided(
        self,
        request: AccessRequest,
        target: _Target,
        now: int,
        started: int,
        bindings: dict[str, BoundRequest] | None,
        plain: bool = False,
    ) -> Decision:
        """`_decide` on a target looked up once a batch (the same steps, in the same order)."""
        view, domain, key, plan, waived = target
        columns = request.columns
        if columns is not None and not view.column_keys.issuperset(columns):
            raise _unknown_column(view, columns)
        removed = (
            self._snapshot.waivers.waived(request, domain, from_epoch_ns(now).date())
            or _NOTHING_WAIVED
            if waived
            else _NOTHING_WAIVED
        )
        if bindings is None:
            bound = self._bind(request, domain, plain)
        else:  # a principal that repeats: bound once per domain
            kept = bindings.get(domain)
            bound = bindings[domain] = self._bind(request, domain) if kept is None else kept
        access = plan.evaluate(bound, removed)
        masks: tuple[Mask, ...] = ()
        if access.kind == "permitted" and view.maskable:
            plans = self._snapshot.plans
            masks = _masks(bound, plans, key, view, request.columns, removed, plan, access)
        return Decision(
            next_sequence(), request, access, masks, view.classification, view.retention,
            view.revisions, now, time.perf_counter_ns() - started, "", None, view.encoded,
        )  # fmt: skip

    def _checked(
        self, request: AccessRequest
    ) -> tuple[AccessRequest, dict[str, BoundRequest] | None]:
        """`request` as the schema reads it, and its bindings per domain (None: not kept):
        checked, or taken from an earlier request of the batch with the same principal,
        action and context (the check is a function of those alone). A principal's first
        request keeps nothing (see `decide`), so it is called only for one that repeats.
        A refusal raises and is never kept, so never shared."""
        schema, principal = self._snapshot.request_schema, request.principal
        accepted = self._by_principal[principal]
        key = _principal_key(request)
        if key is None:  # a value JSON cannot hold: decided alone
            return (request if schema is None else schema.check(request)), None
        for entry in accepted:
            if entry.key == key:
                return entry.shared_by(request), entry.bound
        checked = request if schema is None else schema.check(request)
        entry = _Accepted(request, checked, key)
        if accepted is _FIRST_SEEN:
            self._by_principal[principal] = [entry]
        elif len(accepted) < _PRINCIPAL_VARIANTS:  # bounded: a hostile batch cannot grow it
            accepted.append(entry)
        return checked, entry.bound


# What a batch keeps of the objects a request names: the subject and the context (held, so
# their ids stay theirs), the request as checked, and its bindings per domain.
_Named = tuple[Any, Any, AccessRequest, dict[str, BoundRequest]]
_Target = tuple[ProductView, str, SliceKey, Plan, bool]  # ..., whether the domain has waivers
_NOTHING = object()
_SEQUENCES = (list, tuple)  # iterated in C: no code runs between two of their requests
_PRINCIPAL_VARIANTS = 16  # contexts (or attribute sets) kept per principal within one batch


class _Accepted:
    """One request the schema accepted in a batch, and what requests like it share."""

    __slots__ = ("bound", "checked", "key", "request")

    def __init__(self, request: AccessRequest, checked: AccessRequest, key: bytes) -> None:
        self.request, self.checked, self.key = request, checked, key
        self.bound: dict[str, BoundRequest] = {}

    def shared_by(self, request: AccessRequest) -> AccessRequest:
        """`request` (same principal, action and context) as the check read the accepted one:
        the values the check rewrote (entities, extension values) are taken from it."""
        checked = self.checked
        if checked is self.request:
            return request
        return request._replace(attributes=checked.attributes, context=checked.context)


# A principal seen once in the batch: nothing kept yet (a marker, replaced, never appended to).
_FIRST_SEEN: list[_Accepted] = []


def _principal_key(request: AccessRequest) -> bytes | None:
    """The principal, action and context as JSON: equal exactly when they are the same values
    of the same types (`1 == True` in Python, never in Cedar); None shares nothing."""
    attributes, context = request.attributes, request.context
    try:
        # orjson encodes a subclass of dict, list or str by what it holds, not by what its
        # methods (which the checks and bindings call) show: refused, decided alone. The
        # reader's shared empty NO_VALUES (read-only) is the empty dict it is.
        return orjson.dumps((
            request.principal, request.principal_type, request.groups,
            {} if attributes is NO_VALUES else attributes,
            request.action, {} if context is NO_VALUES else context,
        ), option=orjson.OPT_PASSTHROUGH_SUBCLASS)  # fmt: skip
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


def _resolve(snapshot: Snapshot, request: AccessRequest) -> tuple[AccessRequest, ProductView]:
    """The product the request is about, and the request as the schema says to read it."""
    view = snapshot.products.get(request.product)
    if view is None:
        raise _unknown_product(request.product)
    if request.action not in snapshot.actions:
        raise _unknown_action(request.action)
    if request.principal_type in CATALOG_TYPES:
        raise _catalog_subject(request.principal_type)
    schema = snapshot.request_schema
    if schema is not None:
        # The check also rewrites what the schema types as entities and extensions.
        request = schema.check(request)
    return request, view


# The refusals before any policy runs, alike for a request alone and in a batch.
def _unknown_product(product: str) -> RequestError:
    return RequestError(f"unknown product `{product}`", "unknown_product")


def _unknown_action(action: str) -> RequestError:
    return RequestError(f"unknown action `{action}`", "unknown_action")


def _catalog_subject(principal_type: str) -> RequestError:
    return RequestError(f"`{principal_type}` cannot be a subject type", "bad_subject_type")


def _unknown_column(view: ProductView, columns: tuple[str, ...]) -> RequestError:
    unknown = next(c for c in columns if c not in view.column_keys)
    return RequestError(f"product `{view.product.id}` has no column `{unknown}`", "unknown_column")


def _decide(
    snapshot: Snapshot,
    request: AccessRequest,
    view: ProductView,
    now: int,
    started: int,
    bindings: dict[str, BoundRequest] | None = None,
    plain: bool = False,
) -> Decision:
    domain = view.product.domain
    key = (request.action, domain)
    if request.columns is not None and not view.column_keys.issuperset(request.columns):
        raise _unknown_column(view, request.columns)
    waived = (
        snapshot.waivers.waived(request, domain, from_epoch_ns(now).date())
        if domain in snapshot.waivers.domains
        else None
    )
    removed = waived or _NOTHING_WAIVED
    if bindings is None:
        bound = snapshot.evaluator.bind(request, domain, plain)
    else:  # a batch's principal: bound once per domain
        kept = bindings.get(domain)
        bound = bindings[domain] = (
            snapshot.evaluator.bind(request, domain) if kept is None else kept
        )
    plans = snapshot.plans
    plan = plans[key, view.resource]
    access = plan.evaluate(bound, removed)
    masks: tuple[Mask, ...] = ()
    if access.kind == "permitted" and view.maskable:
        masks = _masks(bound, plans, key, view, request.columns, removed, plan, access)
    # Every field by position: a keyword argument costs the dataclass's __init__ more to bind.
    return Decision(
        next_sequence(), request, access, masks, view.classification, view.retention,
        view.revisions, now, time.perf_counter_ns() - started, "", None, view.encoded,
    )  # fmt: skip


def _masks(
    bound: BoundRequest,
    plans: Mapping[PlanKey, Plan],
    key: SliceKey,
    view: ProductView,
    named: Sequence[str] | None,
    removed: Mapping[str, str],
    plan: Plan,
    access: Access,
) -> tuple[Mask, ...]:
    """Each non-public column the request touches (`named`, or every column when it names
    none) that it may not read, on a product it may read, is masked. Columns often share a
    plan (with each other and with the product, whose `plan` gave `access`): each plan runs
    once, its answer kept in `evaluated` for this decision only."""
    wanted = None if named is None else set(named)
    evaluated: dict[Plan, Access] = {plan: access}
    masks = []
    for column in view.maskable:
        if wanted is not None and column.key not in wanted:
            continue
        column_plan = plans[key, column.resource]
        answer = evaluated.get(column_plan)
        if answer is None:
            answer = evaluated[column_plan] = column_plan.evaluate(bound, removed)
        if answer.kind != "permitted":
            masks.append(
                Mask(
                    column.key,
                    column.level,
                    answer.kind,
                    answer.policies,
                    answer.errors,
                    column.strategy,
                    column.strategy_source,
                )
            )
    return tuple(masks)


def _failed(snapshot: Snapshot, request: Any, exc: Exception, now: int, started: int) -> Decision:
    """The decision for a request whose deciding raised: a RequestError refuses it with its
    reason, anything else is an internal error; never a raise, never an allow."""
    if isinstance(exc, RequestError):
        code = exc.code if exc.code in REASON_CODES else "bad_request"
        return _refusal(snapshot, request, str(exc), code, now, started)  # type: ignore[arg-type]
    return _refusal(
        snapshot, request, _internal(exc), "internal_error", now or time.time_ns(), started
    )


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
