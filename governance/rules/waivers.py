"""Waivers: governed, expiring exceptions from waivable global guardrails.

Runtime, `govern check` and `govern audit` all use this module with an injected date, so an
expired waiver applies nowhere, whoever asks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
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
    def groups(self) -> Sequence[str]: ...
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
        if self.principals and request.principal not in self.principals:
            return False
        if self.groups and self.groups.isdisjoint(request.groups):
            return False
        if self.actions and request.action not in self.actions:
            return False
        return self.products is None or request.product in self.products


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

    def has_waivers(self, domain: str) -> bool:
        return domain in self.by_domain

    def waived(self, request: WaivableRequest, domain: str, today: dt.date) -> dict[str, str]:
        """Guardrail full id -> waiver id, for the waivers that apply to this request today."""
        return {
            w.policy: w.id
            for w in self.by_domain.get(domain, ())
            if w.is_active(today) and w.matches(request)
        }
