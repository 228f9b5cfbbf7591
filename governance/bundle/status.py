"""What a live engine is serving, layer by layer, and what went wrong last: for health checks and operators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar


@dataclass(frozen=True, slots=True)
class LayerRevision:
    """A layer as activated from a policy tree: its revision, and since when it serves."""

    revision: str
    activated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "activated_at": self.activated_at.isoformat()}


@dataclass(frozen=True, slots=True)
class LayerStatus(LayerRevision):
    """A layer as activated from a signed bundle: also its sequence, key and bundle."""

    sequence: int
    key: str  # the trusted key's name
    bundle: str  # where it came from

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "sequence": self.sequence,
            "key": self.key,
            "bundle": self.bundle,
            "activated_at": self.activated_at.isoformat(),
        }


Layer = TypeVar("Layer", bound=LayerRevision)


@dataclass(frozen=True, slots=True)
class ServingStatus(Generic[Layer]):
    """Immutable: each activation or failure publishes a new one, so a reader sees one moment."""

    source: str
    layers: Mapping[str, Layer] = field(default_factory=dict)
    last_activation: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    errors: tuple[str, ...] = ()  # the (first) refusals of the last poll or load

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "layers": {name: s.to_dict() for name, s in sorted(self.layers.items())},
            "last_activation": _iso(self.last_activation),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "errors": list(self.errors),
            **self._details(),
        }

    def _details(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True)
class BundleStatus(ServingStatus[LayerStatus]):
    """A bundle-fed engine: also whether it started from the last verified bundles on disk."""

    started_from_persisted: bool = False

    def _details(self) -> dict[str, Any]:
        return {"started_from_persisted": self.started_from_persisted}


@dataclass(frozen=True, slots=True)
class TreeStatus(ServingStatus[LayerRevision]):
    """A tree-fed engine: also how many problems the tree on disk has while it does not load."""

    error_count: int = 0

    def _details(self) -> dict[str, Any]:
        return {"error_count": self.error_count}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
