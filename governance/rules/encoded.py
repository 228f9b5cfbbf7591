"""A product's load-time answers as JSON bytes, encoded once per snapshot for every decision on it.

Classification, retention and mask strategies are fixed per product, so a decision's JSON
splices these fragments instead of rebuilding (and re-encoding) their dicts on every call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from governance.rules.classification import Classified, ProductClassification
from governance.rules.masking import MaskSource, Strategy
from governance.rules.retention import Retention


def dumps(value: Any) -> bytes:
    """`value` as JSON bytes; what orjson refuses (a lone surrogate, an integer past 64 bits)
    goes through the standard library, so a fragment never fails where `json.dumps` would not."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, allow_nan=False).encode()


def classified_dict(classified: Classified) -> dict[str, Any]:
    return {
        "level": classified.level,
        "labels": sorted(classified.labels),
        "sources": [s.to_dict() for s in classified.deciding],
    }


def classification_dict(
    classification: ProductClassification, columns: Iterable[str] | None = None
) -> dict[str, Any]:
    """The product's classification as of its `columns` (every column when None): their
    levels, and of the sources that set the product's level those of the product itself and
    of these columns (the first source when none of them is one, so the level keeps a why)."""
    product = classification.product
    every = classification.columns
    if columns is None:
        return {
            **classified_dict(product),
            "columns": {k: classified_dict(c) for k, c in every.items()},
        }
    keys = [c for c in dict.fromkeys(columns) if c in every]
    deciding = product.deciding
    read = set(keys)
    sources = [s for s in deciding if not s.column or s.column in read] or list(deciding[:1])
    return {
        "level": product.level,
        "labels": sorted(product.labels),
        "sources": [s.to_dict() for s in sources],
        "columns": {key: classified_dict(every[key]) for key in keys},
    }


def retention_summary(retention: Retention) -> dict[str, Any]:
    """What a decision-log record keeps of retention: the bounds, the action, the hold."""
    return {
        "min": retention.min.iso if retention.min else None,
        "max": retention.max.iso if retention.max else None,
        "on_expiry": retention.on_expiry,
        "legal_hold": retention.legal_hold,
    }


_COLUMN_SETS = 256  # column lists kept encoded per product; past it the cache starts over


class Fragments(NamedTuple):
    head: bytes  # the classification up to its sources: `{"level":...,"labels":[...],"sources":[`
    own: tuple[tuple[int, bytes], ...]  # the product's own deciding sources, by position
    by_column: Mapping[str, tuple[tuple[int, bytes], ...]]  # the deciding sources per column
    first: bytes  # the first deciding source (b"" when there is none)
    columns: Mapping[str, bytes]  # each column as an object member: `"key":{...}`
    every_column: bytes  # the whole classification, every column
    level: bytes  # the product's level: `"confidential"`
    retention: bytes  # Retention.to_dict()
    retention_summary: bytes
    strategies: Mapping[str, tuple[Strategy, MaskSource, bytes]]  # a masked column's strategy


class ProductJson:
    """The fragments of one product, encoded on first use and kept for the snapshot's life
    (a wide product costs its first decision, never the load). Safe across threads: two
    threads racing to encode build equal bytes and either result is kept."""

    __slots__ = ("_by_columns", "_fragments", "classification", "retention", "strategies")

    def __init__(
        self,
        classification: ProductClassification,
        retention: Retention,
        strategies: Mapping[str, tuple[Strategy, MaskSource]] | None = None,
    ) -> None:
        self.classification, self.retention = classification, retention
        self.strategies = strategies or {}
        self._fragments: Fragments | None = None
        self._by_columns: dict[tuple[str, ...], bytes] = {}  # traffic repeats its column lists

    @property
    def fragments(self) -> Fragments:
        found = self._fragments
        if found is None:
            found = self._fragments = self._encode()
        return found

    def classification_json(self, columns: tuple[str, ...] | None) -> bytes:
        """The classification as of `columns` (every column when None), as
        `classification_dict` would encode it."""
        if columns is None:
            return self.fragments.every_column
        found = self._by_columns.get(columns)
        if found is None:
            found = self._classification_json(columns)
            if len(self._by_columns) >= _COLUMN_SETS:
                self._by_columns.clear()
            self._by_columns[columns] = found
        return found

    def _classification_json(self, columns: tuple[str, ...]) -> bytes:
        fragments = self.fragments
        encoded = fragments.columns
        keys = [c for c in dict.fromkeys(columns) if c in encoded]
        sources = list(fragments.own)
        by_column = fragments.by_column
        for key in keys:
            sources += by_column.get(key, ())
        if len(sources) > 1:
            sources.sort()
        return b"".join((
            fragments.head, b",".join([s for _, s in sources]) if sources else fragments.first,
            b'],"columns":{', b",".join([encoded[c] for c in keys]), b"}}",
        ))  # fmt: skip

    def strategy_json(self, column: str, strategy: Strategy, rule: MaskSource) -> bytes:
        """A mask's `strategy` member: its strategy and the rule that chose it."""
        known = self.fragments.strategies.get(column)
        if known is not None and known[0] is strategy and known[1] is rule:
            return known[2]
        return dumps({**strategy.to_dict(), **rule.to_dict()})

    def _encode(self) -> Fragments:
        classification = self.classification
        product = classification.product
        head = dumps({"level": product.level, "labels": sorted(product.labels), "sources": []})
        deciding = [(i, dumps(s.to_dict())) for i, s in enumerate(product.deciding)]
        by_column: dict[str, list[tuple[int, bytes]]] = {}
        for (i, encoded), source in zip(deciding, product.deciding, strict=True):
            if source.column:
                by_column.setdefault(source.column, []).append((i, encoded))
        own = tuple(d for d, s in zip(deciding, product.deciding, strict=True) if not s.column)
        columns = {
            key: dumps(key) + b":" + dumps(classified_dict(c))
            for key, c in classification.columns.items()
        }
        every = b"".join((
            head[:-2], b",".join(e for _, e in deciding), b'],"columns":{',
            b",".join(columns.values()), b"}}",
        ))  # fmt: skip
        strategies = {
            key: (strategy, rule, dumps({**strategy.to_dict(), **rule.to_dict()}))
            for key, (strategy, rule) in self.strategies.items()
        }
        return Fragments(
            head[:-2], own, {k: tuple(v) for k, v in by_column.items()},
            deciding[0][1] if deciding else b"", columns, every, dumps(classification.product.level),
            dumps(self.retention.to_dict()), dumps(retention_summary(self.retention)), strategies,
        )  # fmt: skip
