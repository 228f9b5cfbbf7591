"""Retention: how long a product must or may be kept, what happens at expiry, and why.

Combining, in order: a matching hold blocks disposal; a domain `min` longer than a locked
global `max` is clipped to that ceiling (and reported); the longest `min` wins; among `max`
values locked global ceilings always bind, a domain rule replaces unlocked global defaults, and
the shortest remaining `max` wins; a `min` still above the `max` keeps the data to the `min` and
is reported as a conflict; the disposal action is the most protective one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Literal

from governance.errors import Location, Problem
from governance.rules.classification import Classified
from governance.tree.catalog import Product
from governance.tree.durations import Duration
from governance.tree.formats import LegalHold, OnExpiry, RetentionRule, Selector
from governance.tree.layers import GLOBAL, PolicyTree, Sourced

Bound = Literal["min", "max"]
# Most protective first: deleting leaves nothing to leak, anonymising leaves aggregates.
PROTECTION = ("delete", "anonymize", "archive")


@dataclass(frozen=True, slots=True)
class RetentionSource:
    rule: str
    layer: str
    role: str  # min | max | on_expiry | hold
    value: str
    location: Location

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "layer": self.layer,
            "role": self.role,
            "value": self.value,
            "source": str(self.location),
        }


@dataclass(frozen=True, slots=True)
class RetentionConflict:
    min_rules: tuple[str, ...]
    max_rules: tuple[str, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class RetentionClip:
    """A domain `min` longer than a locked global ceiling: the ceiling binds, this reports it."""

    rule: str
    min: Duration  # what the rule asked for
    ceiling: Duration
    ceiling_rule: str
    location: Location

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "min": self.min.iso,
            "ceiling": self.ceiling.iso,
            "ceiling_rule": self.ceiling_rule,
            "source": str(self.location),
        }


@dataclass(frozen=True, slots=True)
class Retention:
    min: Duration | None
    max: Duration | None
    on_expiry: OnExpiry | None
    holds: tuple[str, ...]
    sources: tuple[RetentionSource, ...]
    conflict: RetentionConflict | None
    clipped: tuple[RetentionClip, ...] = ()

    @property
    def legal_hold(self) -> bool:
        return bool(self.holds)

    def to_dict(self) -> dict[str, object]:
        return {
            "min": self.min.iso if self.min else None,
            "max": self.max.iso if self.max else None,
            "on_expiry": self.on_expiry,
            "legal_hold": self.legal_hold,
            "holds": list(self.holds),
            "conflict": None
            if self.conflict is None
            else {
                "min_rules": list(self.conflict.min_rules),
                "max_rules": list(self.conflict.max_rules),
                "detail": self.conflict.detail,
            },
            "sources": [s.to_dict() for s in self.sources],
            "clipped": [c.to_dict() for c in self.clipped],
        }


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A rule reduced to what combining needs; the descriptor's promise is one too."""

    id: str
    layer: str
    locked: bool
    min: Duration | None
    max: Duration | None
    on_expiry: OnExpiry | None
    location: Location

    def bound(self, which: Bound) -> Duration | None:
        return self.min if which == "min" else self.max


class RetentionResolver:
    def __init__(self, tree: PolicyTree) -> None:
        self.rank = {level: i for i, level in enumerate(tree.config.classification.levels)}
        self.global_rules = tree.global_layer.retention
        self.domain_rules = {name: layer.retention for name, layer in tree.domains.items()}
        self.holds = {
            name: [*tree.global_layer.holds, *layer.holds] for name, layer in tree.domains.items()
        }

    def resolve(self, product: Product, classified: Classified) -> Retention:
        matching = self._matching(product, classified)
        locked = [c for c in matching if c.layer == GLOBAL and c.locked]
        defaults = [c for c in matching if c.layer == GLOBAL and not c.locked]
        domain = [c for c in matching if c.layer != GLOBAL]
        min_pool, max_pool = (
            _pool("min", locked, domain, defaults),
            _pool("max", locked, domain, defaults),
        )
        min_pool, clipped = _clip_to_locked_ceiling(min_pool, _binding("max", locked))
        minimum, min_rules = _strongest("min", min_pool)
        maximum, max_rules = _strongest("max", max_pool)
        # Every rule in force takes part in choosing the disposal action, not only the winners.
        on_expiry, expiry_rules = _most_protective(
            list({c.id: c for c in min_pool + max_pool}.values())
        )
        holds = [
            h
            for h in self.holds.get(product.domain, [])
            if self._selects(h.item.applies_to, product, classified)
        ]
        sources = _sources(min_rules, max_rules, expiry_rules, holds)
        conflict = _conflict(minimum, maximum, min_rules, max_rules)
        return Retention(
            minimum, maximum, on_expiry, tuple(h.full_id for h in holds), sources, conflict,
            clipped,
        )  # fmt: skip

    def override_findings(self, product: Product, classified: Classified) -> list[Problem]:
        """Domain rules a locked global rule overrides for this product: they have no effect.
        A domain `min` beyond a locked ceiling is an error (`exceeds-locked-max`): the domain
        promises to keep data longer than the central team allows."""
        matching = self._matching(product, classified)
        locked = [c for c in matching if c.layer == GLOBAL and c.locked]
        ceiling, duty = _binding("max", locked), _binding("min", locked)
        findings = []
        for rule in (c for c in matching if c.layer != GLOBAL):
            findings += _beyond_ceiling(product, rule, ceiling, duty)
            for which in ("min", "max"):
                ours, binding = rule.bound(which), _binding(which, locked)
                if ours is None or binding is None or _wins(which, ours, binding.bound(which)):
                    continue
                if ours == binding.bound(which):
                    continue
                findings.append(Problem(
                    rule.location, "overridden-by-locked-rule",
                    f"product `{product.id}`: `{rule.id}` {which} {ours} is overridden by locked "
                    f"`{binding.id}` {which} {binding.bound(which)}", "warning",
                ))  # fmt: skip
        return findings

    def _matching(self, product: Product, classified: Classified) -> list[_Candidate]:
        rules = [*self.global_rules, *self.domain_rules.get(product.domain, [])]
        found = [
            _candidate(r) for r in rules if self._selects(r.item.applies_to, product, classified)
        ]
        if product.retention_promise is not None:
            location = product.retention_location or product.location
            promise = _Candidate(f"{product.domain}/sla:{product.id}", product.domain, False,
                                 product.retention_promise, None, None, location)  # fmt: skip
            found.append(promise)
        return found

    def _selects(self, selector: Selector, product: Product, classified: Classified) -> bool:
        if selector.domains and product.domain not in selector.domains:
            return False
        if selector.products and not any(fnmatchcase(product.id, g) for g in selector.products):
            return False
        if selector.tags and not set(selector.tags) & set(product.tags):
            return False
        if selector.labels and not set(selector.labels) & classified.labels:
            return False
        floor = selector.min_classification
        return floor is None or classified.rank >= self.rank.get(floor, len(self.rank))


def _candidate(rule: Sourced[RetentionRule]) -> _Candidate:
    item = rule.item
    return _Candidate(
        rule.full_id, rule.layer, item.locked, item.min, item.max, item.on_expiry, rule.location
    )


def _wins(which: Bound, a: Duration, b: Duration | None) -> bool:
    """Whether `a` is the stronger bound: a longer min, a shorter max."""
    return b is None or (a > b if which == "min" else a < b)


def _binding(which: Bound, candidates: list[_Candidate]) -> _Candidate | None:
    best: _Candidate | None = None
    for c in candidates:
        value = c.bound(which)
        if value is not None and (best is None or _wins(which, value, best.bound(which))):
            best = c
    return best


def _pool(
    which: Bound, locked: list[_Candidate], domain: list[_Candidate], defaults: list[_Candidate]
) -> list[_Candidate]:
    """The rules in force for one bound: locked ones always, the domain's in place of defaults."""
    own = [c for c in domain if c.bound(which) is not None]
    pool = [c for c in locked if c.bound(which) is not None]
    return pool + (own or [c for c in defaults if c.bound(which) is not None])


def _beyond_ceiling(
    product: Product, rule: _Candidate, ceiling: _Candidate | None, duty: _Candidate | None
) -> list[Problem]:
    """A domain min above the locked ceiling is an error, unless a locked global min at least as
    long keeps the data anyway (then the conflict is the central team's, between its own rules)."""
    if ceiling is None or ceiling.max is None or rule.min is None or rule.min <= ceiling.max:
        return []
    kept = ceiling.max if duty is None or duty.min is None else max(ceiling.max, duty.min)
    if rule.min <= kept:
        return []
    message = (
        f"product `{product.id}`: `{rule.id}` min {rule.min} exceeds the locked max "
        f"{ceiling.max} of `{ceiling.id}`; the data is kept only to {kept}"
    )
    return [Problem(rule.location, "exceeds-locked-max", message)]


def _clip_to_locked_ceiling(
    pool: list[_Candidate], ceiling: _Candidate | None
) -> tuple[list[_Candidate], tuple[RetentionClip, ...]]:
    """Locked means locked: a domain `min` (a rule, or a contract's SLA promise) never keeps data
    beyond a locked global `max`. Global mins are not clipped: a legal duty beats a ceiling when
    the central team wrote both, and that stays a conflict."""
    if ceiling is None or ceiling.max is None:
        return pool, ()
    limit, kept, clips = ceiling.max, [], []
    for c in pool:
        if c.layer != GLOBAL and c.min is not None and c.min > limit:
            clips.append(RetentionClip(c.id, c.min, limit, ceiling.id, c.location))
            c = replace(c, min=limit)
        kept.append(c)
    return kept, tuple(clips)


def _strongest(which: Bound, pool: list[_Candidate]) -> tuple[Duration | None, list[_Candidate]]:
    """The winning bound and every rule that states it (ties are all named)."""
    best = _binding(which, pool)
    if best is None:
        return None, []
    value = best.bound(which)
    return value, [c for c in pool if c.bound(which) == value]


def _most_protective(rules: list[_Candidate]) -> tuple[OnExpiry | None, list[_Candidate]]:
    stated = [c for c in rules if c.on_expiry is not None]
    if not stated:
        return None, []
    action = min((c.on_expiry for c in stated if c.on_expiry), key=PROTECTION.index)
    return action, [c for c in stated if c.on_expiry == action]


def _conflict(
    minimum: Duration | None,
    maximum: Duration | None,
    min_rules: list[_Candidate],
    max_rules: list[_Candidate],
) -> RetentionConflict | None:
    if minimum is None or maximum is None or minimum <= maximum:
        return None
    detail = f"min {minimum} exceeds max {maximum}: the data is kept for the min"
    return RetentionConflict(tuple(c.id for c in min_rules), tuple(c.id for c in max_rules), detail)


def _sources(
    min_rules: list[_Candidate], max_rules: list[_Candidate], expiry_rules: list[_Candidate],
    holds: list[Sourced[LegalHold]],
) -> tuple[RetentionSource, ...]:  # fmt: skip
    found = [RetentionSource(c.id, c.layer, "min", str(c.min), c.location) for c in min_rules]
    found += [RetentionSource(c.id, c.layer, "max", str(c.max), c.location) for c in max_rules]
    found += [
        RetentionSource(c.id, c.layer, "on_expiry", str(c.on_expiry), c.location)
        for c in expiry_rules
    ]
    found += [RetentionSource(h.full_id, h.layer, "hold", h.item.reason, h.location) for h in holds]
    return tuple(found)
