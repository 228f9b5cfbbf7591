"""Access plans: a slice's policies specialised to one catalog resource, ready to evaluate.

A request's action and resource are catalog entities, known when the policies load; only the
principal and the context vary. So for each (slice, resource) the engine keeps a plan: every
policy of the slice specialised by partial evaluation (`governance.compiler.partial`) to that
action and resource, with the policies that can never apply there dropped. What a policy reads
of the resource (`resource.sensitivity >= 2`, `resource in Domain::"sales"`) is decided once,
and a decision runs only the residual tests on the principal and the context.

Plans are interned: the columns of a product usually leave the same residual policies, so they
share one plan, and a decision evaluates each distinct plan once however many columns use it.
A `FusedPlan` is one of the two kinds of `governance.access.evaluator.Plan`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import NamedTuple

from governance.access.answer import Access, Buckets, OnForbidError, PolicyRef, combine
from governance.access.evaluator import BoundRequest
from governance.access.principal_index import INDEX_FROM, index_by_principal
from governance.access.signatures import Reads, merge, reads, signature
from governance.cedar_bridge import pst
from governance.compiler import CompiledPolicy, Entity, EntityUID, EvaluationError, Record
from governance.compiler.fused import BodyCache, Errors, FusedFunction, compile_fused
from governance.compiler.partial import KnownStore, specialise
from governance.errors import CompileError

_NOT_PERMITTED = Access("not_permitted", ())
_MAX_COMBINATIONS = 256  # answers kept per plan for requests satisfying several policies
_UNSIGNED = object()  # a Reads whose signature `Planner._build` has not taken yet


class Entry(NamedTuple):
    """One policy of a plan: its residual (or, when it could not be specialised, itself), the
    compiled original, and the policy it decides for."""

    residual: pst.Template
    original: CompiledPolicy
    ref: PolicyRef


class FusedPlan:
    """The policies that can apply to one (slice, resource), as one fused function of the
    principal and the context, with the policy each position decides for."""

    __slots__ = (
        "_action", "_alone", "_answers", "_function", "_mode", "_refs", "_resource", "exact",
    )  # fmt: skip

    def __init__(
        self,
        entries: Sequence[Entry],
        action: EntityUID,
        resource: EntityUID,
        on_forbid_error: OnForbidError = "deny",
        exact: bool = False,
        index_from: int = INDEX_FROM,
        bodies: BodyCache | None = None,
    ) -> None:
        # Many policies naming their principal: only a request's candidates run (see
        # `governance.access.principal_index`), so a decision stays flat inside a domain.
        fuse = partial(_fused, bodies=bodies)
        self._function = index_by_principal(entries, _principal_scope, fuse, index_from) or fuse(
            entries
        )
        self._refs = tuple(e.ref for e in entries)
        self._mode: OnForbidError = on_forbid_error
        # The common answer, one satisfied policy and no error, built once per position.
        self._alone = tuple(combine(Buckets((ref,))) for ref in self._refs)
        self._answers: dict[tuple[int, ...], Access] = {}
        # Residuals no longer read the action or resource unless their scope could not be
        # decided ahead; such `exact` plans are kept for that resource only (`Planner.plan`).
        self._action, self._resource, self.exact = action, resource, exact

    @property
    def policy_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for ref in self._refs)

    def evaluate(self, request: BoundRequest, removed: Mapping[str, str]) -> Access:
        """The plan's policies combined (`governance.access.answer.combine`); the common
        answers are built once, not on every request."""
        hits, errors = self._function(
            request.uid, self._action, self._resource, request.context, request
        )
        if errors is not None or removed:
            return self._combine(hits, errors or [], removed)
        if not hits:
            return _NOT_PERMITTED
        if len(hits) == 1:
            return self._alone[hits[0]]
        # Several satisfied policies: the answer depends on which, so it is built once per
        # combination seen (a bounded set), not once per request.
        key = tuple(hits)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._combine(hits, [], removed)
            if len(self._answers) < _MAX_COMBINATIONS:
                self._answers[key] = answer
        return answer

    def _combine(
        self, hits: list[int], errors: list[tuple[int, EvaluationError]], removed: Mapping[str, str]
    ) -> Access:
        refs = self._refs
        buckets = Buckets([refs[i] for i in hits], [(refs[i], str(e)) for i, e in errors])
        return combine(buckets, removed, self._mode)


def _principal_scope(entry: Entry) -> object:
    return entry.residual.principal


def _fused(
    entries: Sequence[Entry],
    positions: Sequence[int] | None = None,
    bodies: BodyCache | None = None,
) -> FusedFunction:
    """The residuals as one fused function reporting `positions` (their indexes when not
    given); the compiled originals, one call each, if fusing fails (exact too: the plan passes
    them the real action and resource)."""
    try:
        # A plan passes the bound request as the store: the principal's entity itself.
        return compile_fused(
            [e.residual for e in entries], positions, bodies, store_is_principal=True
        )
    except CompileError:
        return _in_turn([e.original for e in entries], positions)


def _in_turn(
    policies: Sequence[CompiledPolicy], numbers: Sequence[int] | None = None
) -> FusedFunction:
    functions = list(
        zip(numbers or range(len(policies)), [p.function for p in policies], strict=True)
    )

    def evaluate(
        principal: EntityUID, action: EntityUID, resource: EntityUID, context: Record, store: object
    ) -> tuple[list[int], Errors]:
        hits: list[int] = []
        errors: Errors = None
        for position, function in functions:
            try:
                if function(principal, action, resource, context, store):
                    hits.append(position)
            except EvaluationError as error:
                errors = [*(errors or []), (position, error)]
        return hits, errors

    return evaluate


class Planner:
    """Builds the plan of a (slice, resource); equal residuals and equal plans are shared, and
    a policy is specialised once per signature of what it reads of the resource
    (`governance.access.signatures`), not once per resource."""

    def __init__(
        self,
        store: KnownStore,
        refs: Mapping[str, PolicyRef],
        on_forbid_error: OnForbidError = "deny",
        index_from: int = INDEX_FROM,
    ) -> None:
        self._store, self._refs, self._mode = store, refs, on_forbid_error
        self._index_from = index_from
        self._residuals: dict[object, pst.Template] = {}
        self._plans: dict[object, FusedPlan] = {}
        # template id -> (template, what it reads); the template is held so its id stays its own
        self._reads: dict[int, tuple[pst.Template, Reads]] = {}
        # (template id, action, signature) -> residual (None: never applies there)
        self._slice_reads: dict[int, tuple[Sequence[CompiledPolicy], Reads]] = {}
        self._by_signature: dict[object, FusedPlan] = {}
        self._specialised: dict[tuple[int, EntityUID, object], pst.Template | None] = {}
        # each residual's fused body, generated once for every plan holding it
        self._bodies: BodyCache = {}

    def plan(
        self, policies: Sequence[CompiledPolicy], action: EntityUID, resource: EntityUID
    ) -> FusedPlan:
        """The plan of `policies` on `action` and `resource`; resources the policies read alike
        (equal signatures under all of them) share it without a policy being looked at."""
        known = self._slice_reads.get(id(policies))
        if known is None:
            union = merge(self._reads_of(p.template) for p in policies)
            known = self._slice_reads[id(policies)] = (policies, union)
        try:
            key = (id(policies), action, signature(known[1], resource, self._entity(resource)))
            found = self._by_signature.get(key)
        except TypeError:  # a value Python cannot hash: no sharing by signature
            key, found = None, None
        if found is None:
            found = self._build(policies, action, resource)
            if key is not None and not found.exact:
                self._by_signature[key] = found
        return found

    def _build(
        self, policies: Sequence[CompiledPolicy], action: EntityUID, resource: EntityUID
    ) -> FusedPlan:
        entries: list[Entry] = []
        exact = False  # does any entry still read the action or resource itself?
        entity = self._entity(resource)
        signatures: dict[Reads, object] = {}  # policies that read alike share the signature
        for policy in policies:
            residual = self._residual(policy, action, resource, entity, signatures)
            if residual is not None:
                entries.append(Entry(residual, policy, self._refs[policy.id]))
                exact |= not (
                    isinstance(residual.action, pst.ScopeAny)
                    and isinstance(residual.resource, pst.ScopeAny)
                )
        key = (tuple(id(e.residual) for e in entries), (action, resource) if exact else None)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = FusedPlan(
                entries, action, resource, self._mode, exact, self._index_from, self._bodies
            )
        return found

    def _residual(
        self,
        policy: CompiledPolicy,
        action: EntityUID,
        resource: EntityUID,
        entity: Entity | None,
        signatures: dict[Reads, object],
    ) -> pst.Template | None:
        """The policy specialised to the action and resource's signature (None when it can
        never apply there), interned; the original template when it cannot be specialised.
        `entity` is the resource's (`_entity`); `signatures` its signature under each Reads."""
        template = policy.template
        reads_of = self._reads_of(template)
        try:
            found = signatures.get(reads_of, _UNSIGNED)
            if found is _UNSIGNED:
                found = signatures[reads_of] = signature(reads_of, resource, entity)
            key = (id(template), action, found)
            hash(key)
        except TypeError:  # a value Python cannot hash: this resource is its own signature
            key = (id(template), action, resource)
        if key in self._specialised:
            return self._specialised[key]
        residual = self._specialise(policy, action, resource)
        self._specialised[key] = residual
        return residual

    def _reads_of(self, template: pst.Template) -> Reads:
        known = self._reads.get(id(template))
        if known is None:
            known = self._reads[id(template)] = (template, reads(template))
        return known[1]

    def _entity(self, resource: EntityUID) -> Entity | None:
        try:
            return self._store.get(resource)
        except Exception:  # a resource whose data is not known ahead: no signature to take
            return None

    def _specialise(
        self, policy: CompiledPolicy, action: EntityUID, resource: EntityUID
    ) -> pst.Template | None:
        try:
            residual = specialise(policy.template, action, resource, self._store)
        except CompileError:
            return policy.template
        if residual is None:
            return None
        key = (residual.id, residual.effect, residual.principal, residual.action,
               residual.resource, residual.clauses)  # fmt: skip
        try:
            return self._residuals.setdefault(key, residual)
        except TypeError:  # a folded value Python cannot hash: the residual stays unshared
            return residual
