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
from operator import itemgetter
from typing import Any, Literal, NamedTuple

import cedarpy
from cedarpy import pst

from governance.compiler.compile import CompiledPolicy, compile_policy
from governance.compiler.entities import Store
from governance.compiler.errors import EvaluationError
from governance.compiler.extensions import Unknown
from governance.compiler.fallback import FallbackPolicies
from governance.compiler.index import AllPolicies, PolicyIndex, PolicySource
from governance.compiler.jsonvalues import TYPE_NAMES_SEEN as _NAMES
from governance.compiler.jsonvalues import has_unknown, read_record, read_uid
from governance.compiler.schema import Schema, SchemaInput, load_schema
from governance.compiler.statements import parse_accepted, split_statements
from governance.compiler.values import (
    EMPTY_RECORD,
    LONG_MAX,
    LONG_MIN,
    CedarSet,
    EntityUID,
    Record,
)
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
    """Cedar's answer: ``decision``, and ``reasons``/``errors`` as sets of policy ids (built
    when first read: a caller asking only for the decision does not pay for them)."""

    __slots__ = ("_errors", "_reasons", "_reasons_set", "buckets", "decision")

    def __init__(self, buckets: Buckets, open_forbid: bool = False) -> None:
        """`open_forbid`: a forbid's answer was left open by an ``unknown(...)`` value; cedarpy
        then allows (if a permit holds) without naming a reason."""
        self.buckets = buckets
        self._errors: frozenset[str] | None = None
        self._reasons_set: frozenset[str] | None = None
        if buckets.satisfied_forbids:
            self.decision: Decision = "Deny"
            self._reasons: tuple[str, ...] = buckets.satisfied_forbids
        elif buckets.satisfied_permits:
            self.decision = "Allow"
            self._reasons = () if open_forbid else buckets.satisfied_permits
        else:
            self.decision = "Deny"
            self._reasons = ()

    @property
    def reasons(self) -> frozenset[str]:
        if self._reasons_set is None:
            self._reasons_set = frozenset(self._reasons)
        return self._reasons_set

    @property
    def errors(self) -> frozenset[str]:
        if self._errors is None:
            self._errors = frozenset(self.buckets.errored)
        return self._errors

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
    """Compiled static policies with their index and its unindexed twin, and the policies
    left to cedarpy (``fallback_reasons`` says why each one), merged into the same buckets."""

    __slots__ = ("_text", "_whole", "fallback", "index", "policies", "schema", "unindexed")

    def __init__(
        self,
        policies: Sequence[CompiledPolicy],
        schema: Schema | None = None,
        fallback: FallbackPolicies | None = None,
        text: str | None = None,
    ) -> None:
        self.policies = tuple(policies)
        self.unindexed = AllPolicies(self.policies)
        self.index: PolicySource = (
            PolicyIndex(self.policies) if len(self.policies) >= _INDEX_FROM else self.unindexed
        )
        self.schema = schema
        self.fallback = fallback
        self._text = text  # the source, for requests only cedarpy can answer
        self._whole: FallbackPolicies | None = None

    @property
    def fallback_reasons(self) -> Mapping[str, str]:
        """Why each policy evaluated by cedarpy is not compiled, by policy id."""
        return self.fallback.reasons if self.fallback is not None else {}

    def authorize(
        self, request: Mapping[str, object] | Request, store: Store, *, indexed: bool = True
    ) -> AuthorizationResult:
        plain = _plain_request(request) if type(request) is dict and self.schema is None else None
        if plain is None:
            if not isinstance(request, Request):
                request = Request.from_json(request, self.schema)
            principal, action, resource = request.principal, request.action, request.resource
            context = request.context
            unknowns = _holds_unknown(context)
        else:  # plain values: no unknown(...) in the context
            principal, action, resource, context = plain
            unknowns = False
        if unknowns or getattr(store, "unknowns", False):
            # Cedar's partial evaluation decides what an unknown(...) value makes of a policy
            forbids, permits, errored, open_forbid = self._everything().evaluate(
                principal, action, resource, context, store
            )
            buckets = Buckets(tuple(forbids), tuple(permits), tuple(errored))
            return AuthorizationResult(buckets, open_forbid)
        index = self.index if indexed else self.unindexed
        # `bucket`, inline: a call costs as much as running one short policy.
        satisfied_forbids: list[str] = []
        satisfied_permits: list[str] = []
        errors: list[str] = []
        for policy in index.candidates(principal, action, resource, store):
            try:
                if policy.function(principal, action, resource, context, store):
                    (satisfied_forbids if policy.forbid else satisfied_permits).append(policy.id)
            except EvaluationError:
                errors.append(policy.id)
        buckets = _new_buckets(
            Buckets, (tuple(satisfied_forbids), tuple(satisfied_permits), tuple(errors))
        )
        if self.fallback is not None:
            forbids, permits, errored, open_forbid = self.fallback.evaluate(
                principal, action, resource, context, store
            )
            buckets = Buckets(
                buckets.satisfied_forbids + tuple(forbids),
                buckets.satisfied_permits + tuple(permits),
                buckets.errored + tuple(errored),
            )
            return AuthorizationResult(buckets, open_forbid)
        return AuthorizationResult(buckets)

    def _everything(self) -> FallbackPolicies:
        """Every static policy, for cedarpy (built on the first request that needs it)."""
        if self._whole is None:
            if self._text is None:
                raise ValueError("unknown(...) values need the policy text (compile_policies)")
            est = json.loads(cedarpy.policies_to_json_str(self._text))
            reason = "the request or its entities hold unknown(...) values"
            self._whole = _fallback(self._text, est, dict.fromkeys(est["staticPolicies"], reason))
        return self._whole

    def __len__(self) -> int:
        return len(self.policies)


def compile_policies(policies_text: str, schema: SchemaInput = None) -> CompiledPolicySet:
    """Parse (with cedarpy) and compile every static policy, keeping Cedar's positional ids.

    Any text Cedar accepts gives Cedar's answers: a policy cedarpy's typed AST cannot hold or
    the compiler cannot compile is evaluated by cedarpy (see :mod:`.fallback`). Raises
    :class:`CompileError` with a ``location`` only for text Cedar rejects (policy or schema).
    """
    parsed = parse_accepted(policies_text)
    try:
        loaded = load_schema(schema)
    except ValueError as error:
        raise CompileError(str(error), Location("<schema>")) from None
    templates, reasons = _templates(policies_text, parsed)
    compiled: list[CompiledPolicy] = []
    for policy_id, template in templates.items():
        try:
            compiled.append(compile_policy(template, policy_id))
        except CompileError as error:
            reasons[policy_id] = str(error)
    if not reasons:
        return CompiledPolicySet(compiled, loaded, text=policies_text)
    est = json.loads(
        parsed if isinstance(parsed, str) else cedarpy.policies_to_json_str(policies_text)
    )
    fallback = _fallback(policies_text, est, reasons)
    return CompiledPolicySet(compiled, loaded, fallback, policies_text)


_DEEP = frozenset({Unknown, CedarSet, Record})


def _plain_request(
    data: dict[str, Any],
) -> tuple[EntityUID, EntityUID, EntityUID, Record] | None:
    """The common request, read without a schema in one pass: each uid exactly ``{"type",
    "id"}`` of a type name already found valid, the context absent or of strings, booleans
    and 64-bit longs (so it holds no ``unknown(...)``). None sends the request to
    :meth:`Request.from_json`, which reads every other form and refuses what Cedar refuses."""
    try:
        principal, action, resource = _PARTS(data)
        if type(principal) is not dict or type(action) is not dict or type(resource) is not dict:
            return None
        if len(principal) != 2 or len(action) != 2 or len(resource) != 2:
            return None  # an `__entity` escape or extra keys: the thorough reader
        p, a, r = _TYPE_ID(principal), _TYPE_ID(action), _TYPE_ID(resource)
    except KeyError:
        return None
    if not (
        type(p[0]) is str and type(p[1]) is str and type(a[0]) is str and type(a[1]) is str
        and type(r[0]) is str and type(r[1]) is str
        and p[0] in _NAMES and a[0] in _NAMES and r[0] in _NAMES
    ):  # fmt: skip
        return None
    context = data.get("context")
    if not context:
        if context is not None and type(context) is not dict:
            return None  # `""`, `[]`, `0`: the thorough reader says what it makes of them
        record = EMPTY_RECORD
    elif type(context) is dict and _STRINGS.issuperset(map(type, context)):
        # Strings, booleans and 64-bit longs, checked inline (a call costs as much as this).
        for value in context.values():
            kind = type(value)
            if kind is int:
                if not LONG_MIN <= value <= LONG_MAX:
                    return None
            elif kind is not str and kind is not bool:
                return None
        record = Record(context)
    else:
        return None
    return _new_uid(EntityUID, p), _new_uid(EntityUID, a), _new_uid(EntityUID, r), record


_PARTS = itemgetter("principal", "action", "resource")
_TYPE_ID = itemgetter("type", "id")
_STRINGS = frozenset({str})
_new_uid = tuple.__new__


def _holds_unknown(context: Record) -> bool:
    if not context or _DEEP.isdisjoint(map(type, context.values())):
        return False  # the common case, decided in C
    return any(type(value) in _DEEP and has_unknown(value) for value in context.values())


def _fallback(text: str, est: Mapping[str, Any], reasons: Mapping[str, str]) -> FallbackPolicies:
    """The policies of `reasons` for cedarpy, each as its own statement of `text`."""
    by_id = _statements(text, est)
    chosen = {p: (str(est["staticPolicies"][p]["effect"]), by_id[p]) for p in reasons}
    return FallbackPolicies(chosen, reasons)


def _statements(text: str, est: Mapping[str, Any]) -> dict[str, str]:
    """Each policy's (or template's) own text by its positional id."""
    statements = split_statements(text)
    if len(statements) != len(est["staticPolicies"]) + len(est["templates"]):
        raise CompileError("cannot match the policies to their statements in the text")
    # Cedar numbers policies and templates together, in the order of the text.
    return {f"policy{i}": statement.text for i, statement in enumerate(statements)}


def _templates(
    text: str, parsed: pst.PolicySet | str
) -> tuple[dict[str, pst.Template], dict[str, str]]:
    """Each static policy's typed template, and why for those cedarpy's typed AST refuses
    (only when the set as a whole could not be given as typed nodes: then one by one)."""
    if not isinstance(parsed, str):
        return dict(parsed.static_policies), {}
    est = json.loads(parsed)
    templates: dict[str, pst.Template] = {}
    reasons: dict[str, str] = {}
    for policy_id, statement in _statements(text, est).items():
        if policy_id not in est["staticPolicies"]:
            continue  # a template: never evaluated unless linked
        try:
            templates[policy_id] = cedarpy.policies_to_pst(statement).static_policies["policy0"]
        except ValueError as error:
            reasons[policy_id] = f"cedarpy's typed AST cannot represent it: {error}"
    return templates, reasons
