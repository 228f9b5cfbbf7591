"""Requests, Cedar's bucketing authorizer, and the standalone Cedar-compatible API.

The authorizer mirrors Cedar's: :func:`evaluate` sorts the candidate policies into
satisfied forbids, satisfied permits and errored policies, and :func:`decide` is a pure
function of those buckets (any satisfied forbid denies; else any satisfied permit allows;
else deny; errored policies are skipped and always reported).

Standalone use::

    policies = compile_policies(policy_text, schema=None)
    store = EntityStore.from_json(entities_json, schema=None)
    result = policies.authorize({"principal": {...}, "action": {...}, "resource": {...},
                                 "context": {...}}, store)
    result.decision, result.reasons, result.errors   # "Allow"/"Deny", sets of policy ids
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

from governance.compiler.compile import CompiledPolicy, compile_policy
from governance.compiler.entities import Store
from governance.compiler.errors import EvaluationError
from governance.compiler.index import AllPolicies, PolicyIndex, PolicySource
from governance.compiler.jsonvalues import read_record, read_uid
from governance.compiler.schema import Schema, SchemaInput, load_schema
from governance.compiler.statements import parse_located
from governance.compiler.values import EMPTY_RECORD, EntityUID, Record
from governance.errors import CompileError, Location

Decision = Literal["Allow", "Deny"]


class Request:
    """One authorization request: three entity uids and the context record."""

    __slots__ = ("action", "context", "principal", "resource")

    def __init__(
        self,
        principal: EntityUID,
        action: EntityUID,
        resource: EntityUID,
        context: Record = EMPTY_RECORD,
    ) -> None:
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context

    @classmethod
    def from_json(cls, data: Mapping[str, object], schema: Schema | None = None) -> Request:
        """From cedarpy's request dict; the context may use ``__entity``/``__extn`` escapes,
        and is read as the schema's context type for the action when a schema is given."""
        action = read_uid(data["action"])
        raw = data.get("context")
        if isinstance(raw, str):
            raw = json.loads(raw)
        expected = schema.context_type(action) if schema is not None else None
        context = read_record(raw, expected) if raw else EMPTY_RECORD
        return cls(read_uid(data["principal"]), action, read_uid(data["resource"]), context)

    def __repr__(self) -> str:
        return f"Request({self.principal}, {self.action}, {self.resource}, {self.context!r})"


class Buckets(NamedTuple):
    """Policy ids by outcome; the decision is a pure function of these."""

    satisfied_forbids: tuple[str, ...]
    satisfied_permits: tuple[str, ...]
    errored: tuple[str, ...]


_new_buckets = tuple.__new__


def evaluate(index: PolicySource, request: Request, store: Store) -> Buckets:
    """Evaluate the request's candidate policies and bucket them."""
    principal, action, resource = request.principal, request.action, request.resource
    candidates = index.candidates(principal, action, resource, store)
    return bucket(candidates, principal, action, resource, request.context, store)


def bucket(
    policies: Iterable[CompiledPolicy],
    principal: EntityUID,
    action: EntityUID,
    resource: EntityUID,
    context: Record,
    store: Store,
) -> Buckets:
    """Cedar's authorizer core: each policy satisfied (by effect), not, or errored."""
    forbids: list[str] = []
    permits: list[str] = []
    errored: list[str] = []
    for policy in policies:
        try:
            if policy.function(principal, action, resource, context, store):
                (forbids if policy.forbid else permits).append(policy.id)
        except EvaluationError:
            errored.append(policy.id)
    return _new_buckets(Buckets, (tuple(forbids), tuple(permits), tuple(errored)))


class AuthorizationResult:
    """Cedar's answer: ``decision``, and ``reasons``/``errors`` as sets of policy ids."""

    __slots__ = ("buckets", "decision", "errors", "reasons")

    def __init__(self, buckets: Buckets) -> None:
        self.buckets = buckets
        self.errors = frozenset(buckets.errored)
        if buckets.satisfied_forbids:
            self.decision: Decision = "Deny"
            self.reasons = frozenset(buckets.satisfied_forbids)
        elif buckets.satisfied_permits:
            self.decision = "Allow"
            self.reasons = frozenset(buckets.satisfied_permits)
        else:
            self.decision = "Deny"
            self.reasons = frozenset()

    @property
    def allowed(self) -> bool:
        return self.decision == "Allow"

    def __repr__(self) -> str:
        return (
            f"AuthorizationResult({self.decision}, reasons={sorted(self.reasons)}, "
            f"errors={sorted(self.errors)})"
        )


def decide(buckets: Buckets) -> AuthorizationResult:
    return AuthorizationResult(buckets)


_INDEX_FROM = 8  # below this many policies, probing an index costs more than evaluating them


class CompiledPolicySet:
    """Compiled static policies with their index and its unindexed twin."""

    __slots__ = ("index", "policies", "schema", "unindexed")

    def __init__(self, policies: Sequence[CompiledPolicy], schema: Schema | None = None) -> None:
        self.policies = tuple(policies)
        self.unindexed = AllPolicies(self.policies)
        self.index: PolicySource = (
            PolicyIndex(self.policies) if len(self.policies) >= _INDEX_FROM else self.unindexed
        )
        self.schema = schema

    def authorize(
        self, request: Mapping[str, object] | Request, store: Store, *, indexed: bool = True
    ) -> AuthorizationResult:
        if not isinstance(request, Request):
            request = Request.from_json(request, self.schema)
        return AuthorizationResult(
            evaluate(self.index if indexed else self.unindexed, request, store)
        )

    def __len__(self) -> int:
        return len(self.policies)


def compile_policies(policies_text: str, schema: SchemaInput = None) -> CompiledPolicySet:
    """Parse (with cedarpy) and compile every static policy, keeping Cedar's positional ids.

    Raises :class:`CompileError` with a ``location`` for text Cedar rejects (policy or schema),
    and without one naming the policies that cannot be compiled, whose evaluation the caller
    must leave to cedarpy.
    """
    parsed = parse_located(policies_text)
    try:
        loaded = load_schema(schema)
    except ValueError as error:
        raise CompileError(str(error), Location("<schema>")) from None
    compiled: list[CompiledPolicy] = []
    failed: list[str] = []
    for policy_id, template in parsed.static_policies.items():
        try:
            compiled.append(compile_policy(template, policy_id))
        except CompileError as error:
            failed.append(f"{policy_id}: {error}")
    if failed or parsed.template_links:
        detail = "; ".join(failed) or "template-linked policies"
        raise CompileError(f"cannot compile: {detail}")
    return CompiledPolicySet(compiled, loaded)
