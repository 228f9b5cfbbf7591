"""Dead policies: domain permits that a global guardrail overrides wherever they would grant.

Best effort, over the catalog and the decision space (personas, plus one synthetic principal per
group or user a permit names in its scope or conditions, every enumerated context): a permit that grants somewhere in that
space, and is overridden by a global forbid everywhere it grants, has no effect a test can see.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from governance.access.catalog_entities import catalog_entities, principal_entity, uid
from governance.access.request import from_authzen
from governance.access.slices import action_ancestry, applies_to_action
from governance.cedar_bridge import CedarEntities, CedarSlice
from governance.engine import Engine
from governance.errors import Problem
from governance.snapshot import Snapshot
from governance.tools.decision_space import SpaceRequest, context_values, named_principals, space
from governance.tree.cedar_files import SourcePolicy


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


def dead_policies(engine: Engine, today: dt.date) -> list[DeadPolicy]:
    snapshot = engine.snapshot
    tree = snapshot.tree
    entities = CedarEntities(_catalog(snapshot))
    ancestry = action_ancestry(tree)
    contexts = context_values(tree.config.context)
    found = []
    for layer in tree.domains.values():
        products = [p.id for p in layer.products]
        for policy in layer.policies:
            if policy.effect != "permit" or not products:
                continue
            actions = [a for a, up in ancestry.items() if applies_to_action(policy.template, up)]
            personas = {**named_principals([policy.template]), **tree.fixtures.principals}
            requests = list(space(personas, actions, products, contexts))
            granted = _granted(policy, requests, entities)
            if not granted:
                continue
            overriding: set[str] = set()
            for index in granted:
                access = engine.decide(requests[index].request).access
                globals_ = {p.id for p in access.policies if p.layer == "global"}
                if access.kind != "forbidden" or not globals_:
                    break
                overriding |= globals_
            else:
                lapsed = tuple(
                    w.id
                    for w in snapshot.waivers.by_domain.get(layer.name, ())
                    if w.policy in overriding and not w.is_active(today)
                )
                found.append(DeadPolicy(policy, tuple(sorted(overriding)), len(granted), lapsed))
    return found


def _catalog(snapshot: Snapshot) -> list[dict[str, object]]:
    tree = snapshot.tree
    products = tree.products()
    classification = {pid: view.classification for pid, view in snapshot.products.items()}
    return catalog_entities(
        list(tree.domains), products, classification, tree.config.action_specs()
    )


def _granted(
    policy: SourcePolicy, requests: list[SpaceRequest], entities: CedarEntities
) -> list[int]:
    """Indexes of the requests this permit alone would allow (one cedarpy batch per principal)."""
    solo = CedarSlice([policy.template])
    by_persona: dict[str, list[int]] = {}
    for index, item in enumerate(requests):
        by_persona.setdefault(item.persona, []).append(index)
    granted = []
    for indexes in by_persona.values():
        parsed = [from_authzen(requests[i].request) for i in indexes]
        handle = entities.with_request_entities([principal_entity(parsed[0])])
        batch = [
            {
                "principal": uid(r.principal_type, r.principal),
                "action": uid("Action", r.action),
                "resource": uid("DataProduct", r.product),
                "context": dict(r.context),
            }
            for r in parsed
        ]
        outcomes = solo.authorize_many(batch, handle)
        granted += [i for i, o in zip(indexes, outcomes, strict=True) if o.allowed]
    return sorted(granted)
