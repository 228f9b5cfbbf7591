"""Classification: each column's and product's level and labels, and the rules behind them.

Computed once at load time: it depends only on the catalog and the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import lru_cache

from governance.errors import Location, Problem
from governance.tree.catalog import Column, Product
from governance.tree.formats import ClassificationRule
from governance.tree.layers import GLOBAL, PolicyTree, Sourced


@dataclass(frozen=True, slots=True)
class LevelSource:
    """One rule or declaration that set a level: what it said, and where."""

    rule: str  # `layer/rule-id`, or `layer/declared` for a descriptor's own declaration
    layer: str
    level: str
    rank: int
    labels: tuple[str, ...]
    location: Location
    column: str = ""  # set when a column's level lifted the product's

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"rule": self.rule, "layer": self.layer, "level": self.level}
        if self.column:
            found["column"] = self.column
        return {**found, "source": str(self.location)}

    def __str__(self) -> str:
        via = f" (column `{self.column}`)" if self.column else ""
        return f"`{self.rule}`{via} at {self.location}"


@dataclass(frozen=True, slots=True)
class Classified:
    """A column's or product's result: the highest level any source gave, and the union of labels."""

    level: str
    rank: int
    labels: frozenset[str]
    sources: tuple[LevelSource, ...]  # every contributing source, highest level first

    @property
    def deciding(self) -> tuple[LevelSource, ...]:
        return tuple(s for s in self.sources if s.rank == self.rank)


@dataclass(frozen=True, slots=True)
class ProductClassification:
    product: Classified
    columns: dict[str, Classified]


class Classifier:
    """Applies the ordered scale and both layers' rules to the catalog."""

    def __init__(self, tree: PolicyTree) -> None:
        self.levels = tree.config.classification.levels
        self.rank = {level: i for i, level in enumerate(self.levels)}
        self.global_rules = tree.global_layer.classification
        self.domain_rules = {name: layer.classification for name, layer in tree.domains.items()}

    def classify(self, product: Product) -> ProductClassification:
        rules = self._rules(product)
        column_rules = _column_rules(rules, product)
        columns = {c.key: self._classify_column(product, c, column_rules) for c in product.columns}
        sources = self._product_sources(product, rules)
        for key, column in columns.items():
            sources += [replace(source, labels=(), column=key) for source in column.deciding[:1]]
        labels = frozenset().union(
            *(c.labels for c in columns.values()), *(s.labels for s in sources)
        )
        return ProductClassification(self._result(sources, labels), columns)

    def floor_findings(self, product: Product) -> list[Problem]:
        """Domain rules or declarations below a global floor: they have no effect."""
        rules = self._rules(product)
        column_rules = _column_rules(rules, product)
        findings = []
        for column in product.columns:
            sources = self._column_sources(product, column, column_rules)
            findings += self._below_floor(sources, f"column `{product.id}/{column.key}`")
        sources = self._product_sources(product, rules)
        return findings + self._below_floor(sources, f"product `{product.id}`")

    def _rules(self, product: Product) -> list[Sourced[ClassificationRule]]:
        return [*self.global_rules, *self.domain_rules.get(product.domain, [])]

    def _product_sources(
        self, product: Product, rules: list[Sourced[ClassificationRule]]
    ) -> list[LevelSource]:
        """Product-level rules and the descriptor's own declaration (columns come on top)."""
        found = [
            self._source(r)
            for r in rules
            if _targets_product(r.item) and _matches_product(r.item, product)
        ]
        if product.declared in self.rank:
            found.append(self._declared(product.domain, product.declared, product.location))
        return found

    def _column_sources(
        self, product: Product, column: Column, column_rules: list[Sourced[ClassificationRule]]
    ) -> list[LevelSource]:
        """The column rules (already matched to the product, see `_column_rules`) matching
        the column, and the levels it declares or inherits."""
        found = [self._source(r) for r in column_rules if _matches_column(r.item, column)]
        declarations = [*column.inherited, (column.declared, column.location)]
        for level, location in declarations:
            if level in self.rank:
                found.append(self._declared(product.domain, level, location))
        return found

    def _below_floor(self, sources: list[LevelSource], what: str) -> list[Problem]:
        floors = [s for s in sources if s.layer == GLOBAL]
        if not floors:
            return []
        floor = max(floors, key=lambda s: s.rank)
        return [
            Problem(
                s.location,
                "below-global-floor",
                f"{what}: `{s.rule}` sets `{s.level}`, below the global floor `{floor.level}` "
                f"of `{floor.rule}`; it has no effect",
                "warning",
            )
            for s in sources
            if s.layer != GLOBAL and s.rank < floor.rank
        ]

    def _classify_column(
        self, product: Product, column: Column, column_rules: list[Sourced[ClassificationRule]]
    ) -> Classified:
        sources = self._column_sources(product, column, column_rules)
        labels = frozenset(label for s in sources for label in s.labels)
        return self._result(sources, labels)

    def _result(self, sources: list[LevelSource], labels: frozenset[str]) -> Classified:
        ordered = tuple(sorted(sources, key=lambda s: (-s.rank, s.layer != GLOBAL, s.rule)))
        rank = ordered[0].rank if ordered else 0
        return Classified(self.levels[rank], rank, labels, ordered)

    def _source(self, rule: Sourced[ClassificationRule]) -> LevelSource:
        level = rule.item.level
        return LevelSource(
            rule.full_id,
            rule.layer,
            level,
            self.rank.get(level, 0),
            tuple(rule.item.labels),
            rule.location,
        )

    def _declared(self, layer: str, level: str, location: Location) -> LevelSource:
        return LevelSource(f"{layer}/declared", layer, level, self.rank[level], (), location)


def _targets_product(rule: ClassificationRule) -> bool:
    return not rule.match.columns and not rule.match.tags


def _matches_product(rule: ClassificationRule, product: Product) -> bool:
    match = rule.match
    if match.products and not any(fnmatchcase(product.id, glob) for glob in match.products):
        return False
    return not match.product_tags or bool(set(match.product_tags) & set(product.tags))


def _column_rules(
    rules: list[Sourced[ClassificationRule]], product: Product
) -> list[Sourced[ClassificationRule]]:
    """The column rules that can match a column of `product`: matched once per product, not
    once per column."""
    return [r for r in rules if not _targets_product(r.item) and _matches_product(r.item, product)]


def _matches_column(rule: ClassificationRule, column: Column) -> bool:
    """Whether a column rule of the column's product (see `_column_rules`) matches it."""
    match = rule.match
    if match.columns and not _names_match(column.names, tuple(match.columns)):
        return False
    return not match.tags or bool(set(match.tags) & set(column.tags))


@lru_cache(maxsize=2**16)
def _names_match(names: tuple[str, ...], globs: tuple[str, ...]) -> bool:
    """Whether a glob matches a name, case-insensitively; catalogs repeat column names, so
    each (names, globs) pair is matched once. A name rule matches the column's own name
    however it is nested or qualified (`dob` is `person.dob` and `customers.dob`), as well as
    its path and key."""
    lowered = [glob.lower() for glob in globs]
    return any(fnmatchcase(name.lower(), glob) for name in names for glob in lowered)
