"""Dead policies: domain permits that a global guardrail overrides wherever they would grant.

Best effort, over the catalog and the decision space (personas, plus one synthetic principal
per group or user a permit names in its scope or conditions, every enumerated context): a
permit that grants somewhere in that space, and is overridden by a global forbid everywhere it
grants, has no effect a test can see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from governance.access.catalog_entities import catalog_entities, principal_entity, uid
from governance.access.request import AccessRequest, from_authzen
from governance.access.slices import action_ancestry, applies_to_action
from governance.cedar_bridge import CedarEntities, CedarSlice
from governance.compiler import (
    CompiledPolicy,
    Entity,
    EntityStore,
    EntityUID,
    EvaluationError,
    Record,
    Store,
    compile_policy,
)
from governance.compiler.jsonvalues import read_record
from governance.engine import Engine
from governance.errors import CompileError, Problem, RequestError
from governance.snapshot import Snapshot
from governance.tools.decision_space import (
    SpaceRequest,
    context_values,
    named_principals,
    request_key,
    space,
)
from governance.tools.progress import Progress, no_progress
from governance.tree.cedar_files import SourcePolicy

# One request as a compiled policy function takes it: principal, action, resource, context, store.
Call = tuple[EntityUID, EntityUID, EntityUID, Record, Store]


@dataclass(frozen=True, slots=True)
class DeadPolicy:
    policy: SourcePolicy
    guardrails: tuple[str, ...]  # the global forbids that overrode it
    requests: int  # how many requests of the space it would have granted
    lapsed: tuple[str, ...] = ()  # expired waivers that used to lift those guardrails

    def problem(self) -> Problem:
        by = ", ".join(f"`{g}`" for g in self.guardrails)
        message = (
            f"`{self.policy.full_id}` never takes effect: on the catalog, every one of the "
            f"{self.requests} request(s) it permits is forbidden by global guardrail {by}"
        )
        if self.lapsed:
            message += f" (lapsed waiver {', '.join(f'`{w}`' for w in self.lapsed)})"
        return Problem(self.policy.location, "dead-policy", message, "warning")


def dead_policies(
    engine: Engine,
    today: dt.date,
    *,
    exact_only: bool = False,
    progress: Progress = no_progress,
) -> list[DeadPolicy]:
    """Every domain permit a global guardrail overrides wherever it would grant.

    Each permit is run alone over its part of the decision space by the compiled evaluator
    (cedarpy for a policy the compiler leaves to it, or everywhere with `exact_only`), on one
    catalog store shared by every policy and persona.
    """
    snapshot = engine.snapshot
    tree = snapshot.tree
    catalog = _catalog(snapshot)
    solo = _SoloEvaluator(catalog, use_compiler=not exact_only)
    ancestry = action_ancestry(tree)
    contexts = context_values(tree.config.context)
    schema = snapshot.request_schema
    required = schema.required_properties if schema is not None else lambda kind: {}
    required_context = schema.required_context if schema is not None else lambda action: {}
    found = []
    accepted: dict[tuple[str, str], bool] = {}
    fixtures = tree.fixtures.principals
    for done, layer in enumerate(tree.domains.values()):
        progress("dead-policy analysis", done, len(tree.domains))
        products = [p.id for p in layer.products]
        # The fixture personas' requests are the same for every permit of the domain that
        # covers an action: made, checked and read once per domain and action, not per permit.
        shared: dict[str, list[SpaceRequest]] = {}
        solo.forget_requests()
        for policy in layer.policies:
            if policy.effect != "permit" or not products:
                continue
            actions = [a for a, up in ancestry.items() if applies_to_action(policy.template, up)]
            named = {
                n: p for n, p in named_principals([policy.template], required).items()
                if n not in fixtures
            }  # fmt: skip
            requests = [
                r
                for r in space(named, actions, products, contexts, required_context)
                if _accepts(r, accepted)
            ]
            for action in actions:
                if action not in shared:
                    shared[action] = [
                        r
                        for r in space(fixtures, [action], products, contexts, required_context)
                        if _accepts(r, accepted)
                    ]
                requests += shared[action]
            granted = solo.granted(policy, requests)
            if not granted:
                continue
            dead = _overridden(engine, requests, granted)
            if dead is not None:
                lapsed = tuple(
                    w.id
                    for w in snapshot.waivers.by_domain.get(layer.name, ())
                    if w.policy in dead and not w.is_active(today)
                )
                found.append(DeadPolicy(policy, tuple(sorted(dead)), len(granted), lapsed))
    return found


def _accepts(item: SpaceRequest, seen: dict[tuple[str, str], bool]) -> bool:
    """Whether the engine reads this request at all: one it refuses (a fixtures persona that is
    no valid subject, reported as `bad-persona`) is granted by no permit."""
    key = (item.persona, request_key(item.request.get("context") or {}))
    known = seen.get(key)
    if known is None:
        try:
            from_authzen(item.request)
            known = True
        except RequestError:
            known = False
        seen[key] = known
    return known


def _overridden(
    engine: Engine, requests: list[SpaceRequest], granted: list[int]
) -> set[str] | None:
    """The global forbids that overrode every granted request, or None when one got through."""
    overriding: set[str] = set()
    for index in granted:
        access = engine.decide(requests[index].request).access
        globals_ = {p.id for p in access.policies if p.layer == "global"}
        if access.kind != "forbidden" or not globals_:
            return None
        overriding |= globals_
    return overriding


def _catalog(snapshot: Snapshot) -> list[dict[str, object]]:
    tree = snapshot.tree
    products = tree.products()
    classification = {pid: view.classification for pid, view in snapshot.products.items()}
    return catalog_entities(
        list(tree.domains), products, classification, tree.config.action_specs()
    )


class _SoloEvaluator:
    """Runs one permit alone over requests. The compiled evaluator (exact: it is Cedar's
    semantics, checked against cedarpy by the differential tests) reads one catalog store that
    every policy and persona share, each persona an overlay of one entity; a policy the
    compiler leaves to cedarpy is run there, all its personas added to one copy of the store."""

    def __init__(self, catalog: list[dict[str, object]], *, use_compiler: bool) -> None:
        self._catalog = catalog
        self._use_compiler = use_compiler
        self._store: EntityStore | None = None
        self._cedar: CedarEntities | None = None
        # The requests as the compiled function takes them, by identity of the request: the
        # fixture personas' requests are shared by every permit of a domain (`forget_requests`
        # between domains, which also keeps the identities from being reused).
        self._read: dict[int, tuple[SpaceRequest, Call]] = {}
        self._personas: dict[str, tuple[EntityUID, Store]] = {}
        self._contexts: dict[str, Record] = {}
        self._uids: dict[tuple[str, str], EntityUID] = {}

    def forget_requests(self) -> None:
        self._read.clear()

    def granted(self, policy: SourcePolicy, requests: list[SpaceRequest]) -> list[int]:
        """Indexes of the requests this permit alone would allow."""
        compiled = self._compiled(policy)
        if compiled is None:
            return self._granted_by_cedar(policy, requests)
        if self._store is None:
            self._store = EntityStore.from_json(self._catalog)
        function = compiled.function
        granted = []
        for index, (principal, action, resource, context, store) in enumerate(
            self._compiled_requests(requests, self._store)
        ):
            try:
                if function(principal, action, resource, context, store):
                    granted.append(index)
            except EvaluationError:
                continue  # an erroring permit grants nothing, as in Cedar
        return granted

    def _compiled_requests(self, requests: list[SpaceRequest], base: EntityStore) -> Iterator[Call]:
        """The requests as the compiled function takes them: each request read once, each
        persona once (one overlay store holding its entity), each context once, each uid once."""
        read = self._read
        for item in requests:
            known = read.get(id(item))
            if known is None:
                known = read[id(item)] = (item, self._call(item, base))
            yield known[1]

    def _call(self, item: SpaceRequest, base: EntityStore) -> Call:
        # A persona's name stands for one principal throughout (fixtures override synthetic
        # names the same way for every permit), so its entity is read once.
        seen = self._personas.get(item.persona)
        if seen is None:
            entity = _principal(from_authzen(item.request))
            seen = self._personas[item.persona] = (entity.uid, base.overlay([entity]))
        raw = item.request.get("context") or {}
        key = request_key(raw)
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = read_record(dict(from_authzen(item.request).context))
        action = _uid(self._uids, "Action", item.action)
        resource = _uid(self._uids, "DataProduct", item.product)
        return seen[0], action, resource, context, seen[1]

    def _compiled(self, policy: SourcePolicy) -> CompiledPolicy | None:
        if not self._use_compiler:
            return None
        try:
            return compile_policy(policy.template, policy.full_id)
        except CompileError:
            return None

    def _granted_by_cedar(self, policy: SourcePolicy, requests: list[SpaceRequest]) -> list[int]:
        """One cedarpy batch per round of personas whose principals do not collide (usually
        one): the catalog store is copied once per round, not once per persona."""
        if self._cedar is None:
            self._cedar = CedarEntities(self._catalog)
        solo = CedarSlice([policy.template])
        parsed = [from_authzen(item.request) for item in requests]
        rounds: list[dict[tuple[str, str], tuple[str, dict[str, Any]]]] = []
        for item, request in zip(requests, parsed, strict=True):
            uid_key = (request.principal_type, request.principal)
            for round_ in rounds:
                held = round_.get(uid_key)
                if held is None or held[0] == item.persona:
                    break
            else:
                round_ = {}
                rounds.append(round_)
            round_.setdefault(uid_key, (item.persona, principal_entity(request)))
        granted = []
        for round_ in rounds:
            personas = {persona for persona, _ in round_.values()}
            handle = self._cedar.with_request_entities([e for _, e in round_.values()])
            indexes = [i for i, item in enumerate(requests) if item.persona in personas]
            batch = [
                {
                    "principal": uid(r.principal_type, r.principal),
                    "action": uid("Action", r.action),
                    "resource": uid("DataProduct", r.product),
                    "context": dict(r.context),
                }
                for r in (parsed[i] for i in indexes)
            ]
            outcomes = solo.authorize_many(batch, handle)
            granted += [i for i, o in zip(indexes, outcomes, strict=True) if o.allowed]
        return sorted(granted)


def _uid(known: dict[tuple[str, str], EntityUID], kind: str, identifier: str) -> EntityUID:
    found = known.get((kind, identifier))
    if found is None:
        found = known[(kind, identifier)] = EntityUID(kind, identifier)
    return found


def _principal(request: AccessRequest) -> Entity:
    return Entity(
        EntityUID(request.principal_type, request.principal),
        read_record(dict(request.attributes)),
        [EntityUID("Group", group) for group in request.groups],
    )
