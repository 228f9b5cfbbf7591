"""Compiled Cedar evaluation: Cedar policies compiled to Python functions with Cedar's exact
semantics, an entity store with precomputed ancestors, and a scope index.

Standalone (Cedar-compatible) API::

    ps = compile_policies(policies_text, schema=None)
    es = EntityStore.from_json(entities, schema=None)
    r = ps.authorize({"principal": {"type": ..., "id": ...}, "action": ..., "resource": ...,
                      "context": {...}}, es)
    r.decision          # "Allow" | "Deny"
    r.reasons, r.errors # frozensets of Cedar's positional policy ids ("policy0", ...)

Engine API (hot path; see each module's docstring):

* ``compile_policy(template: cedarpy.pst.Template, policy_id: str) -> CompiledPolicy``
  (``.id``, ``.effect``, ``.function(P, A, R, context, store) -> bool``, raising
  ``EvaluationError``); raises ``governance.errors.CompileError`` for constructs left to cedarpy;
* ``PolicyIndex(policies)`` / ``AllPolicies(policies)`` with
  ``.candidates(principal, action, resource, store)``;
* ``evaluate(index, Request(principal, action, resource, context), store) -> Buckets`` and
  ``decide(buckets) -> AuthorizationResult``;
* values: ``EntityUID(type, id)``, ``int``/``str``/``bool``, ``CedarSet.of(values)``,
  ``Record(mapping)``; entities: ``Entity(uid, attrs, parents, tags)``,
  ``EntityStore(entities)``, ``store.overlay(entities)``.
"""

from governance.compiler.authorize import (
    AuthorizationResult,
    Buckets,
    CompiledPolicySet,
    Request,
    compile_policies,
    decide,
    evaluate,
)
from governance.compiler.compile import CompiledPolicy, compile_policy
from governance.compiler.entities import Entity, EntityStore, OverlayStore, Store
from governance.compiler.errors import EvaluationError
from governance.compiler.extensions import Datetime, Decimal, Duration, IPAddr
from governance.compiler.index import AllPolicies, PolicyIndex, PolicySource
from governance.compiler.schema import Schema, load_schema
from governance.compiler.values import CedarSet, EntityUID, Record, cedar_eq

__all__ = [
    "AllPolicies",
    "AuthorizationResult",
    "Buckets",
    "CedarSet",
    "CompiledPolicy",
    "CompiledPolicySet",
    "Datetime",
    "Decimal",
    "Duration",
    "Entity",
    "EntityStore",
    "EntityUID",
    "EvaluationError",
    "IPAddr",
    "OverlayStore",
    "PolicyIndex",
    "PolicySource",
    "Record",
    "Request",
    "Schema",
    "Store",
    "cedar_eq",
    "compile_policies",
    "compile_policy",
    "decide",
    "evaluate",
    "load_schema",
]
