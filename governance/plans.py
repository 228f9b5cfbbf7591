"""Access plans: a slice's policies specialised to one catalog resource, ready to evaluate.

A request's action and resource are catalog entities, known when the policies load; only the
principal and the context vary. So for each (slice, resource) the engine keeps a plan: every
policy of the slice specialised by partial evaluation (`governance.compiler.partial`) to that
action and resource, with the policies that can never apply there dropped. What a policy reads
of the resource (`resource.sensitivity >= 2`, `resource in Domain::"sales"`) is decided once,
and a decision runs only the residual tests on the principal and the context.

Plans are interned: the columns of a product usually leave the same residual policies, so they
share one plan, and a request evaluates each distinct plan once however many columns use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from governance.cedar_bridge import pst
from governance.compiler import CompiledPolicy, EntityUID, EvaluationError, Record, compile_policy
from governance.compiler.entities import Store
from governance.compiler.partial import KnownStore, specialise
from governance.decision import Access, PolicyError, PolicyRef
from governance.errors import CompileError

_NO_ERRORS: tuple[PolicyError, ...] = ()


class Plan:
    """The policies that can apply to one (slice, resource), as residual functions of the
    principal and the context, each with the policy it decides for."""

    __slots__ = ("_action", "_entries", "_resource")

    def __init__(
        self,
        policies: Sequence[tuple[CompiledPolicy, PolicyRef]],
        action: EntityUID,
        resource: EntityUID,
    ) -> None:
        self._entries = tuple((p.function, p.forbid, ref) for p, ref in policies)
        # Residuals no longer read the action or resource unless their scope could not be
        # decided ahead; such plans are keyed by resource too (see `Planner._intern`).
        self._action, self._resource = action, resource

    @property
    def policy_ids(self) -> tuple[str, ...]:
        return tuple(ref.id for _, _, ref in self._entries)

    def evaluate(
        self, principal: EntityUID, context: Record, store: Store, removed: frozenset[str]
    ) -> Access:
        """Cedar's authorizer over the plan: any satisfied forbid denies, else any satisfied
        permit allows, else deny; errored policies are skipped and reported."""
        action, resource = self._action, self._resource
        forbids: list[PolicyRef] = []
        permits: list[PolicyRef] = []
        errors = _NO_ERRORS
        for function, forbid, ref in self._entries:
            if removed and ref.id in removed:
                continue
            try:
                if function(principal, action, resource, context, store):
                    (forbids if forbid else permits).append(ref)
            except EvaluationError as error:
                errors = (*errors, PolicyError(ref.id, str(error)))
        if forbids:
            return Access("forbidden", tuple(forbids), errors)
        if permits:
            return Access("permitted", tuple(permits), errors)
        return Access("not_permitted", (), errors)


class Planner:
    """Builds the plan of a (slice, resource) the first time a request needs it."""

    def __init__(self, store: KnownStore, refs: Mapping[str, PolicyRef]) -> None:
        self._store, self._refs = store, refs
        self._residuals: dict[object, CompiledPolicy] = {}
        self._plans: dict[object, Plan] = {}

    def plan(
        self, policies: Sequence[CompiledPolicy], action: EntityUID, resource: EntityUID
    ) -> Plan:
        entries: list[tuple[CompiledPolicy, PolicyRef]] = []
        exact = False  # does any entry still read the action or resource itself?
        for policy in policies:
            residual, reads_request_target = self._residual(policy, action, resource)
            if residual is not None:
                entries.append((residual, self._refs[policy.id]))
                exact |= reads_request_target
        key = (tuple(id(p) for p, _ in entries), (action, resource) if exact else None)
        found = self._plans.get(key)
        if found is None:
            found = self._plans.setdefault(key, Plan(entries, action, resource))
        return found

    def _residual(
        self, policy: CompiledPolicy, action: EntityUID, resource: EntityUID
    ) -> tuple[CompiledPolicy | None, bool]:
        """The policy specialised to the action and resource (None when it can never apply
        there), and whether it still reads them; the original when it cannot be specialised."""
        try:
            residual = specialise(policy.template, action, resource, self._store)
            if residual is None:
                return None, False
            compiled = self._compiled(residual)
        except CompileError:
            return policy, True
        scoped = not isinstance(residual.action, pst.ScopeAny) or not isinstance(
            residual.resource, pst.ScopeAny
        )
        return compiled, scoped

    def _compiled(self, residual: pst.Template) -> CompiledPolicy:
        """One compiled function per distinct residual, so equal residuals are shared."""
        key = (residual.id, residual.effect, residual.principal, residual.action,
               residual.resource, residual.clauses)  # fmt: skip
        try:
            found = self._residuals.get(key)
        except TypeError:  # a folded value Python cannot hash: compile it unshared
            return compile_policy(residual, residual.id)
        if found is None:
            found = self._residuals.setdefault(key, compile_policy(residual, residual.id))
        return found
