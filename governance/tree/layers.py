"""The layer model: the global layer and one layer per domain, and the scope rule between them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from governance.errors import Location
from governance.tree.catalog import Product
from governance.tree.cedar_files import SourcePolicy
from governance.tree.file_memo import FileMemo
from governance.tree.formats import (
    ClassificationRule,
    DomainConfig,
    FixturesFile,
    GovernanceConfig,
    LegalHold,
    MaskingRule,
    RetentionRule,
    StrategySpec,
    Waiver,
)

GLOBAL = "global"


def name_under(base: tuple[str, str], path: Path) -> str | None:
    """`prefix + path below folder` for `base = (folder, prefix)`, or None when `path` is not
    below `folder` (or no folder is set)."""
    folder, prefix = base
    if not folder:
        return None
    text = os.fspath(path)
    # The common case, a plain path the loader joined below the folder, without relpath's cost.
    if text.startswith(folder + os.sep) and os.sep + "." not in text[len(folder) :]:
        return prefix + text[len(folder) + 1 :].replace(os.sep, "/")
    inside = os.path.relpath(path, folder)
    if inside == os.pardir or inside.startswith(os.pardir + os.sep):
        return None
    if inside == ".":
        return prefix.rstrip("/:") or "."
    return prefix + Path(inside).as_posix()


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A validated configuration item with the layer and place it came from."""

    item: T
    layer: str
    location: Location

    @property
    def full_id(self) -> str:
        return f"{self.layer}/{getattr(self.item, 'id', '')}"


@dataclass(slots=True)
class Layer:
    """Everything one team owns: the central team's global layer, or one domain's."""

    name: str
    folder: Path
    policies: list[SourcePolicy] = field(default_factory=list)
    classification: list[Sourced[ClassificationRule]] = field(default_factory=list)
    retention: list[Sourced[RetentionRule]] = field(default_factory=list)
    holds: list[Sourced[LegalHold]] = field(default_factory=list)
    masking: list[Sourced[MaskingRule]] = field(default_factory=list)
    masking_default: Sourced[StrategySpec] | None = None
    tests: list[Path] = field(default_factory=list)
    revision: str = ""
    # domain layers only
    config: DomainConfig | None = None
    products: list[Product] = field(default_factory=list)
    # global layer only
    waivers: list[Sourced[Waiver]] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        return self.name == GLOBAL


@dataclass(slots=True)
class PolicyTree:
    """A whole policy source tree, validated: the input to building an evaluation snapshot."""

    root: Path
    config: GovernanceConfig
    schema_text: str
    global_layer: Layer
    domains: dict[str, Layer]
    fixtures: FixturesFile
    fixtures_location: Location | None = None
    # (resolved root, prefix): how the load named this tree's files; see `display`
    names: tuple[str, str] = ("", "")
    memo: FileMemo | None = None  # what the next load of this tree can reuse (load_tree)

    def display(self, path: Path) -> str:
        """A file of this tree named as the loader named the others (a test file read later
        reads `policies/domains/...` like the problems of the load, not its resolved path)."""
        return name_under(self.names, path) or str(path)

    def layers(self) -> list[Layer]:
        return [self.global_layer, *self.domains.values()]

    def products(self) -> dict[str, Product]:
        return {p.id: p for layer in self.domains.values() for p in layer.products}

    def policies(self) -> list[SourcePolicy]:
        return [p for layer in self.layers() for p in layer.policies]

    def policies_in_scope(self, domain: str) -> list[SourcePolicy]:
        """The scope rule: global policies apply everywhere, a domain's only at home."""
        home = self.domains.get(domain)
        return [*self.global_layer.policies, *(home.policies if home else [])]
