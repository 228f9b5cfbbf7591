"""The evaluator interface: a table of plans, one per (slice, catalog resource), and the bound
request they read.

A snapshot holds the whole table, built when it loads: a decision looks its plans up and
evaluates them, nothing is built on first use. Plans come in two kinds behind one protocol,
fused compiled code (`governance.access.plans`) and pre-parsed cedarpy slices
(`governance.access.cedar_evaluator`); both answer with an `Access` built by
`governance.access.answer.combine` (see docs/combining.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from governance.access.answer import Access
from governance.access.request import AccessRequest
from governance.access.slices import SliceKey
from governance.compiler.entities import NO_ANCESTORS, NO_TAGS, Entity
from governance.compiler.values import EMPTY_RECORD, EntityUID, Record

Resource = EntityUID  # (entity type, entity id), built once per product and column at load
PlanKey = tuple[SliceKey, Resource]


class Reuse(NamedTuple):
    """What a rebuild on reload takes from the previous evaluator (when of the same kind):
    `catalog` names the domains whose catalog entities are unchanged, `slices` those whose
    slices are too (their policies, and every entity those policies name)."""

    previous: object
    catalog: frozenset[str]
    slices: frozenset[str]


class CedarRequest(NamedTuple):
    """A request as cedarpy takes it, with the entities of its domain and its principal."""

    principal: dict[str, str]
    action: dict[str, str]
    context: dict[str, Any]
    entities: Any  # a cedarpy Entities handle


def _no_entity(uid: EntityUID) -> Entity | None:
    return None


class BoundRequest(Entity):
    """One request as every plan reads it, bound once: plain data and one method.

    For compiled plans this object is both the principal's entity and the store their policies
    read (`get`: the catalog plus this principal), one object instead of two on every request;
    `cedar` is the same request for cedarpy plans, set only when the domain has any.
    """

    __slots__ = ("_catalog_get", "cedar", "context")

    def __init__(
        self,
        uid: EntityUID,
        attrs: Mapping[str, object] = EMPTY_RECORD,
        groups: frozenset[EntityUID] = NO_ANCESTORS,
        context: Record = EMPTY_RECORD,
        catalog_get: Callable[[EntityUID], Entity | None] = _no_entity,
        cedar: CedarRequest | None = None,
    ) -> None:
        # The groups come closed (the catalog has no group hierarchy), so no `parents` are
        # kept to close them from.
        self.uid, self.attrs, self.ancestors, self.parents = uid, attrs, groups, ()
        self.tags = NO_TAGS
        self.context, self._catalog_get, self.cedar = context, catalog_get, cedar

    def get(self, uid: EntityUID) -> Entity | None:
        return self if uid == self.uid else self._catalog_get(uid)


class Plan(Protocol):
    """The policies of one slice that can apply to one catalog resource, ready to evaluate."""

    @property
    def policy_ids(self) -> tuple[str, ...]: ...

    def evaluate(self, request: BoundRequest, removed: Mapping[str, str]) -> Access:
        """The combined answer; `removed` guardrails (waived guardrail -> waiver) take no part,
        and the answer names the waivers whose guardrail would have fired."""
        ...


class AccessEvaluator(Protocol):
    """Builds the plan table and binds requests: the compiled and the reference (cedarpy) one."""

    def plans(self, targets: Iterable[PlanKey]) -> dict[PlanKey, Plan]:
        """The plan of every target, built now, so that no request has to build one."""
        ...

    def bind(self, request: AccessRequest, domain: str, plain: bool = False) -> BoundRequest:
        """The request as the plans of `domain` read it; `plain` says its attributes and
        context hold only strings, booleans and longs (the fast reader read them, the schema
        left them as they were), so they are not checked again."""
        ...

    def fallback_policies(self) -> frozenset[str]:
        """Policies this evaluator hands to cedarpy because it cannot run them itself."""
        ...

    def fallback_reasons(self) -> Mapping[str, str]:
        """Why each of the fallback policies cannot be run by this evaluator itself."""
        ...
