"""What a bundle-fed engine is serving, and what went wrong last: for health checks and operators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class LayerStatus:
    revision: str
    sequence: int
    key: str  # the trusted key's name
    bundle: str  # where it came from
    activated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class BundleStatus:
    """Immutable: each activation or failure publishes a new one, so a reader sees one moment."""

    source: str
    layers: Mapping[str, LayerStatus] = field(default_factory=dict)
    last_activation: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    errors: tuple[str, ...] = ()  # every refusal of the last poll
    started_from_persisted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "layers": {
                name: {
                    "revision": s.revision,
                    "sequence": s.sequence,
                    "key": s.key,
                    "bundle": s.bundle,
                    "activated_at": s.activated_at.isoformat(),
                }
                for name, s in sorted(self.layers.items())
            },
            "last_activation": _iso(self.last_activation),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "errors": list(self.errors),
            "started_from_persisted": self.started_from_persisted,
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
