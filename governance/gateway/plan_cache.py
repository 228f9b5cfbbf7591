"""Plans reused across statements: by exact text, and by token shape with the literals bound.

A plan depends only on the statement and the catalog, never on who asks (decisions are made
afresh for every query). A text seen before gets its plan back; a text of a known shape
(`literal_shapes`) gets the shape's plan bound to its own literals, at the cost of tokenizing
it. A new shape is planned once from its sentinel tokens, so its plan holds `$n` where the
literals were; when a literal does not end up as a plain value (`NotBindable`), or the text is
a catalog query, the shape is remembered as one whose texts are each planned as written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Generic, TypeVar

from governance.gateway.browse_sql import CatalogQuery, is_catalog_query
from governance.gateway.literal_shapes import Element, Shape, shape_of
from governance.gateway.policy_sql import NotBindable, QueryPlan, Refused, one_query, plan_query
from governance.gateway.relations import Relation
from governance.gateway.statement import plan_statement

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Planned = QueryPlan | CatalogQuery
_AS_WRITTEN = "as written"  # a shape whose texts are each planned as written


class _Lru(Generic[K, V]):
    """A bounded mapping dropping the least recently used entry; safe across threads."""

    def __init__(self, size: int) -> None:
        self._size, self._entries, self._lock = size, OrderedDict[K, V](), threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class StatementPlanner:
    """`plan(sql)`: the statement's plan for one catalog, Refused as `plan_statement` refuses."""

    def __init__(self, catalog: Mapping[tuple[str, str], Relation], size: int = 2048) -> None:
        self._catalog = catalog
        self._texts: _Lru[str, Planned] = _Lru(size)
        self._shapes: _Lru[tuple[Element, ...], QueryPlan | str] = _Lru(size)

    def __call__(self, sql: str) -> Planned:
        return self.plan(sql)

    def plan(self, sql: str) -> Planned:
        planned = self._texts.get(sql)
        if planned is None:
            planned = self._plan_new_text(sql)
            self._texts.put(sql, planned)
        return planned

    def _plan_new_text(self, sql: str) -> Planned:
        shape = shape_of(sql)
        if shape is None:
            return plan_statement(sql, self._catalog)
        known = self._shapes.get(shape.key)
        if known is None:
            known = self._plan_shape(sql, shape)
            self._shapes.put(shape.key, known)
        if isinstance(known, QueryPlan):
            return known.bound(shape.values)
        return plan_statement(sql, self._catalog, shape.tokens)

    def _plan_shape(self, sql: str, shape: Shape) -> QueryPlan | str:
        """The shape's plan, or `_AS_WRITTEN`. A refusal of the sentinel tokens is not the
        client's answer: the exact text is then planned, and refused, as written."""
        tokens, sentinels = shape.sentinel_tokens()
        try:
            tree = one_query(sql, tokens)
            if is_catalog_query(tree):
                return _AS_WRITTEN
            return plan_query(tree, self._catalog, sentinels)
        except (Refused, NotBindable):
            return _AS_WRITTEN
