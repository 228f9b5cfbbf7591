"""Waivers: governed, expiring exceptions from waivable global guardrails.

Runtime, `govern check` and `govern audit` all use this module with an injected date, so an
expired waiver applies nowhere, whoever asks.

A domain's waivers are indexed by what a request brings (its principal, groups, product and
action), so a request looks at the few waivers that can match it instead of scanning them all:
a domain with a thousand waivers decides as fast as one with three. The index only ever picks
candidates; each candidate is matched in full, and the answer is the one the linear scan
(`linear_waived`) gives, which `tests/test_waiver_index.py` checks.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

from governance.tree.formats import Waiver
from governance.tree.layers import Sourced


class WaivableRequest(Protocol):
    """What a waiver matches on; an access request has it, and rules need nothing more of one."""

    @property
    def principal(self) -> str: ...
    @property
    def groups(self) -> Collection[str]: ...
    @property
    def action(self) -> str: ...
    @property
    def product(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ActiveWaiver:
    """The waivers of one domain, ready to match against requests."""

    id: str
    policy: str
    expires: dt.date
    principals: frozenset[str]
    groups: frozenset[str]
    products: frozenset[str] | None  # catalog products the globs name; None = any product
    actions: frozenset[str]

    def is_active(self, today: dt.date) -> bool:
        return today <= self.expires

    def matches(self, request: WaivableRequest) -> bool:
        return self.matches_in(request, request.groups)

    def matches_in(self, request: WaivableRequest, groups: Collection[str]) -> bool:
        """`matches`, with the request's groups given as a set that holds at least every group
        this waiver names that the request is in (the index passes only those)."""
        if self.principals and request.principal not in self.principals:
            return False
        if self.groups and self.groups.isdisjoint(groups):
            return False
        if self.actions and request.action not in self.actions:
            return False
        return self.products is None or request.product in self.products


# The dimensions a waiver can be indexed by, in the order ties are broken (most selective first).
_PRINCIPAL, _GROUP, _PRODUCT, _ACTION = range(4)


class DomainWaivers:
    """One domain's waivers in file order, with each filed under the one dimension it narrows
    that the fewest other waivers share, so a request's candidates are few."""

    __slots__ = ("_always", "_by", "_groups", "waivers")

    def __init__(self, waivers: Sequence[ActiveWaiver]) -> None:
        self.waivers = tuple(waivers)
        self._by: tuple[dict[str, list[int]], ...] = ({}, {}, {}, {})
        self._always: list[int] = []
        counts = Counter(
            (dimension, value) for w in self.waivers for dimension, values in _narrowing(w)
            for value in values
        )  # fmt: skip
        for position, waiver in enumerate(self.waivers):
            narrowing = _narrowing(waiver)
            if not narrowing:
                self._always.append(position)
                continue
            dimension, values = min(
                narrowing, key=lambda d: (max((counts[d[0], v] for v in d[1]), default=0), d[0])
            )
            for value in values:  # no values: a product glob that names nothing, never matches
                self._by[dimension].setdefault(value, []).append(position)
        # Every group some waiver names: a request's groups are cut down to these once.
        self._groups = frozenset(g for w in self.waivers for g in w.groups)

    def waived(self, request: WaivableRequest, today: dt.date) -> dict[str, str]:
        """Guardrail full id -> waiver id, as `linear_waived` answers."""
        by_principal, by_group, by_product, by_action = self._by
        candidates = list(self._always)
        for index, key in ((by_principal, request.principal), (by_product, request.product),
                           (by_action, request.action)):  # fmt: skip
            found = index.get(key)
            if found is not None:
                candidates += found
        # A set of the request's groups that waivers name: a frozenset intersects from its
        # smaller side, so a principal in ten thousand groups costs what one in three does.
        groups = self._groups.intersection(request.groups) if self._groups else frozenset()
        for group in groups:
            found = by_group.get(group)
            if found is not None:
                candidates += found
        if not candidates:
            return {}
        waivers = self.waivers
        return {
            w.policy: w.id
            for w in map(waivers.__getitem__, sorted(set(candidates)))  # file order: last wins
            if w.is_active(today) and w.matches_in(request, groups)
        }


def _narrowing(waiver: ActiveWaiver) -> list[tuple[int, frozenset[str]]]:
    """The dimensions `waiver` narrows, each with the values it allows."""
    found = [(_PRINCIPAL, waiver.principals), (_GROUP, waiver.groups), (_ACTION, waiver.actions)]
    narrowing = [(dimension, values) for dimension, values in found if values]
    if waiver.products is not None:
        narrowing.append((_PRODUCT, waiver.products))
    return narrowing


def linear_waived(
    waivers: Iterable[ActiveWaiver], request: WaivableRequest, today: dt.date
) -> dict[str, str]:
    """The definition the index answers by: every waiver, in file order, the last match of a
    guardrail winning."""
    return {w.policy: w.id for w in waivers if w.is_active(today) and w.matches(request)}


class WaiverBook:
    """Every waiver, by domain; answers which guardrails a request is exempt from today."""

    def __init__(self, waivers: Iterable[Sourced[Waiver]], products: Iterable[str]) -> None:
        catalog = sorted(products)
        self.by_domain: dict[str, list[ActiveWaiver]] = {}
        for sourced in waivers:
            w = sourced.item
            # Globs are resolved once against the catalog: the hot path tests set membership.
            named = frozenset(p for p in catalog if any(fnmatchcase(p, g) for g in w.products))
            entry = ActiveWaiver(
                sourced.full_id, w.policy, w.expires, frozenset(w.principals), frozenset(w.groups),
                named if w.products else None, frozenset(w.actions),
            )  # fmt: skip
            self.by_domain.setdefault(w.domain, []).append(entry)
        self._indexed: Mapping[str, DomainWaivers] = {
            domain: DomainWaivers(entries) for domain, entries in self.by_domain.items()
        }
        # The domains with any waiver, tested by the hot path without a call.
        self.domains: frozenset[str] = frozenset(self._indexed)

    def waived(self, request: WaivableRequest, domain: str, today: dt.date) -> dict[str, str]:
        """Guardrail full id -> waiver id, for the waivers that apply to this request today."""
        indexed = self._indexed.get(domain)
        return {} if indexed is None else indexed.waived(request, today)
