"""The principals the server knows (for subject search and Trino identities), by snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.engine import Engine
from governance.snapshot import Snapshot

Principals = Mapping[str, Mapping[str, Any]]


class Directory:
    """A fixed set of principals, or else the policy tree's fixtures (read again after a
    reload). Bundles do not ship fixtures, so a bundle-served engine knows none by itself.

    `logged` principals (seen in decision logs) are candidates for subject search only: their
    properties are what some caller once claimed, so they never become a Trino user's
    attributes. A logged principal the fixtures also name is the fixtures' one."""

    def __init__(
        self, engine: Engine, fixed: Principals | None = None, logged: Principals | None = None
    ) -> None:
        self._engine = engine
        self._fixed = fixed
        self._logged = logged or {}
        self._snapshot: Snapshot | None = None
        self._all: Principals = {}
        self._searchable: Principals = {}
        self._by_id: dict[str, Mapping[str, Any]] = {}

    def all(self) -> Principals:
        """The known principals: the fixtures (or fixed set)."""
        self._refresh()
        return self._all

    def searchable(self) -> Principals:
        """The candidates of subject search: the known principals and the logged ones."""
        self._refresh()
        return self._searchable

    def find(self, subject_type: str, subject_id: str) -> Mapping[str, Any] | None:
        self._refresh()
        found = self._by_id.get(subject_id)
        return found if found is not None and found.get("type") == subject_type else None

    def _refresh(self) -> None:
        snapshot = self._engine.snapshot
        if snapshot is self._snapshot:
            return
        if self._fixed is not None:
            principals = self._fixed
        else:
            found = snapshot.tree.fixtures.principals
            principals = {name: p.model_dump() for name, p in found.items()}
        known = {(str(p.get("type")), str(p.get("id"))) for p in principals.values()}
        self._all = principals
        self._searchable = {
            **{
                name: p
                for name, p in self._logged.items()
                if (str(p.get("type")), str(p.get("id"))) not in known
            },
            **principals,
        }
        self._by_id = {str(p.get("id")): p for p in principals.values()}
        self._snapshot = snapshot
