"""The answer on one resource: Access, the policies it names, and the one combining function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from governance.errors import Location

Kind = Literal["permitted", "forbidden", "not_permitted"]


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy as a decision names it: full id, layer, file:line and its @reason."""

    id: str
    layer: str
    effect: str
    location: Location
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "layer": self.layer,
            "effect": self.effect,
            "source": str(self.location),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class PolicyError:
    policy: str
    message: str


@dataclass(frozen=True, slots=True)
class Access:
    """The answer on one resource; evaluators share instances between requests, hence frozen."""

    kind: Kind
    policies: tuple[PolicyRef, ...]
    errors: tuple[PolicyError, ...] = ()
    waivers: tuple[str, ...] = ()  # waivers that lifted a guardrail for this request

    @property
    def allowed(self) -> bool:
        return self.kind == "permitted"

    def to_dict(self) -> dict[str, Any]:
        return {
            "effect": "allow" if self.allowed else "deny",
            "kind": self.kind,
            "policies": [p.to_dict() for p in self.policies],
            "errors": [{"policy": e.policy, "message": e.message} for e in self.errors],
            "waivers": list(self.waivers),
        }
