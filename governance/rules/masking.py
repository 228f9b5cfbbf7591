"""Mask strategies: how each masked column is rewritten, and the `masking.yaml` rule that says so.

Resolved once per column at load time. The global layer's matching rules (or its default) give a
column its strategy; a domain's rules (or its default) may only make it stricter. Within a layer
and across layers the strictest strategy wins: `null` > `redact` > `hash` > `partial` > `truncate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from governance.errors import Location, Problem
from governance.rules.classification import Classified, ProductClassification
from governance.tree.catalog import Product
from governance.tree.formats import MaskingRule, StrategyName, StrategySpec
from governance.tree.layers import GLOBAL, PolicyTree, Sourced

STRICTNESS: tuple[StrategyName, ...] = ("truncate", "partial", "hash", "redact", "null")
_RANK = {name: i for i, name in enumerate(STRICTNESS)}
DEFAULT_REDACTION = "****"
DEFAULT_KEY_ENV = "GOVERN_MASK_KEY"


@dataclass(frozen=True, slots=True)
class Strategy:
    """A mask strategy with its parameters filled in; hashing names its key, never holds it."""

    name: StrategyName
    text: str = DEFAULT_REDACTION  # redact: the fixed string shown instead of the value
    key_env: str = DEFAULT_KEY_ENV  # hash: the environment variable holding the HMAC key
    keep: Literal["first", "last"] = "last"  # partial: which end stays readable
    chars: int = 4  # partial: how many characters stay readable
    unit: Literal["year", "month"] = "year"  # truncate: the precision dates keep

    @classmethod
    def from_spec(cls, spec: StrategySpec) -> Strategy:
        given = {
            name: value
            for name in ("text", "key_env", "keep", "chars", "unit")
            if (value := getattr(spec, name)) is not None
        }
        return cls(spec.strategy, **given)

    @property
    def strictness(self) -> tuple[int, int]:
        """Orders strategies, then parameters of one strategy: fewer kept characters, or a
        coarser date, is stricter."""
        if self.name == "partial":
            return _RANK["partial"], -self.chars
        if self.name == "truncate":
            return _RANK["truncate"], int(self.unit == "year")
        return _RANK[self.name], 0

    def to_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"name": self.name}
        if self.name == "redact":
            found["text"] = self.text
        elif self.name == "hash":
            found["key_env"] = self.key_env
        elif self.name == "partial":
            found.update(keep=self.keep, chars=self.chars)
        elif self.name == "truncate":
            found["unit"] = self.unit
        return found


NULL = Strategy("null")


@dataclass(frozen=True, slots=True)
class MaskSource:
    """The rule (or default) that chose a column's strategy, and where it is written."""

    rule: str  # `layer/rule-id`, `layer/default`, or `govern/default` when no file sets one
    layer: str
    location: Location | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "layer": self.layer,
            "source": "" if self.location is None else str(self.location),
        }


# No masking.yaml anywhere: a masked column shows nothing (fail closed).
BUILTIN_DEFAULT = MaskSource("govern/default", GLOBAL)


@dataclass(frozen=True, slots=True)
class Choice:
    strategy: Strategy
    source: MaskSource


class MaskingResolver:
    """Applies both layers' masking rules to the catalog's classified columns."""

    def __init__(self, tree: PolicyTree) -> None:
        self.rank = {level: i for i, level in enumerate(tree.config.classification.levels)}
        self.global_rules = tree.global_layer.masking
        self.global_default = _default(tree.global_layer.masking_default) or Choice(
            NULL, BUILTIN_DEFAULT
        )
        self.domain_rules = {name: layer.masking for name, layer in tree.domains.items()}
        self.domain_defaults = {
            name: _default(layer.masking_default) for name, layer in tree.domains.items()
        }

    def resolve(self, product: Product, column: str, classified: Classified) -> Choice:
        """The strategy for one masked column: the domain's choice only where it is stricter."""
        chosen = self.global_choice(product, column, classified)
        domain = self._domain_choice(product, column, classified)
        if domain is not None and domain.strategy.strictness > chosen.strategy.strictness:
            return domain
        return chosen

    def global_choice(self, product: Product, column: str, classified: Classified) -> Choice:
        matching = self.matching(self.global_rules, product, column, classified)
        return _strictest(matching) or self.global_default

    def _domain_choice(
        self, product: Product, column: str, classified: Classified
    ) -> Choice | None:
        rules = self.domain_rules.get(product.domain, [])
        matching = self.matching(rules, product, column, classified)
        return _strictest(matching) or self.domain_defaults.get(product.domain)

    def matching(
        self,
        rules: Sequence[Sourced[MaskingRule]],
        product: Product,
        column: str,
        classified: Classified,
    ) -> list[Choice]:
        return [
            _choice(rule) for rule in rules if self._matches(rule.item, product, column, classified)
        ]

    def _matches(
        self, rule: MaskingRule, product: Product, column: str, classified: Classified
    ) -> bool:
        match = rule.match
        if match.labels and not classified.labels.intersection(match.labels):
            return False
        if match.levels and classified.level not in match.levels:
            return False
        if match.min_level is not None and classified.rank < self.rank.get(match.min_level, 0):
            return False
        if match.columns and not _names_match(product, column, match.columns):
            return False
        return not match.products or any(fnmatchcase(product.id, glob) for glob in match.products)


def _names_match(product: Product, key: str, globs: Sequence[str]) -> bool:
    """Like classification, a name rule matches a column's own name however it is nested or
    qualified, as well as its path and key."""
    column = product.column(key)
    names = [name.lower() for name in (column.names if column else (key,))]
    return any(fnmatchcase(name, glob.lower()) for name in names for glob in globs)


def masking_findings(
    tree: PolicyTree, classified: Iterable[tuple[Product, ProductClassification]]
) -> list[Problem]:
    """What `govern check` reports about masking.yaml: labels no classification rule produces,
    and domain rules or defaults that never make any column's mask stricter (no effect)."""
    resolver = MaskingResolver(tree)
    found = _unknown_labels(tree)
    tightened: set[str] = set()
    considered: set[str] = set()
    for product, classification in classified:
        for key, column in classification.columns.items():
            if column.rank == 0:
                continue  # public columns are never masked
            base = resolver.global_choice(product, key, column)
            candidates = resolver.matching(
                resolver.domain_rules.get(product.domain, []), product, key, column
            )
            fallback = resolver.domain_defaults.get(product.domain)
            for choice in candidates or ([fallback] if fallback else []):
                considered.add(choice.source.rule)
                if choice.strategy.strictness > base.strategy.strictness:
                    tightened.add(choice.source.rule)
    for name, layer in tree.domains.items():
        sources = [(r.full_id, r.location) for r in layer.masking]
        if layer.masking_default is not None:
            sources.append((f"{name}/default", layer.masking_default.location))
        for rule, location in sources:
            if rule in tightened:
                continue
            why = (
                "is never stricter than the global strategy on the columns it applies to"
                if rule in considered
                else "applies to no masked column"
            )
            message = f"masking rule `{rule}` {why}; it has no effect"
            found.append(Problem(location, "masking-no-effect", message, "warning"))
    return found


def _unknown_labels(tree: PolicyTree) -> list[Problem]:
    known = {
        label for layer in tree.layers() for r in layer.classification for label in r.item.labels
    }
    found = []
    for layer in tree.layers():
        for rule in layer.masking:
            for label in rule.item.match.labels:
                if label not in known:
                    message = (
                        f"masking rule `{rule.item.id}`: no classification rule gives the label "
                        f"`{label}`"
                    )
                    found.append(Problem(rule.location, "unknown-label", message, "warning"))
    return found


def _choice(rule: Sourced[MaskingRule]) -> Choice:
    return Choice(
        Strategy.from_spec(rule.item), MaskSource(rule.full_id, rule.layer, rule.location)
    )


def _default(spec: Sourced[StrategySpec] | None) -> Choice | None:
    if spec is None:
        return None
    source = MaskSource(f"{spec.layer}/default", spec.layer, spec.location)
    return Choice(Strategy.from_spec(spec.item), source)


def _strictest(choices: list[Choice]) -> Choice | None:
    """The strictest choice; among equals the first written (max keeps the first maximum)."""
    if not choices:
        return None
    return max(choices, key=lambda c: c.strategy.strictness)
