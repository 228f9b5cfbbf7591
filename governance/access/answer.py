"""The answer on one resource: Access, the policies it names, and the one combining function."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from governance.errors import Location

Kind = Literal["permitted", "forbidden", "not_permitted"]
# What an errored forbid does: `deny` (default) treats it as satisfied, so an error never
# unmasks or allows; `skip` is Cedar's own rule (the errored policy takes no part).
OnForbidError = Literal["deny", "skip"]


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


class Buckets(NamedTuple):
    """What an evaluator found on one resource: satisfied policies and errored ones."""

    satisfied: Iterable[PolicyRef]
    errored: Iterable[tuple[PolicyRef, str]] = ()


_NO_WAIVERS: Mapping[str, str] = {}


def combine(
    buckets: Buckets,
    removed: Mapping[str, str] = _NO_WAIVERS,
    on_forbid_error: OnForbidError = "deny",
) -> Access:
    """Cedar's authorizer, in one place for every evaluator: a satisfied forbid denies
    (forbidden), else a satisfied permit allows (permitted), else deny (not permitted).

    `removed` maps waived guardrails to the waiver lifting each: they take no part, and the
    answer lists a waiver only when its guardrail would have fired. An errored policy is
    reported; an errored forbid denies unless `on_forbid_error` is `skip`.
    """
    forbids: list[PolicyRef] = []
    permits: list[PolicyRef] = []
    fired: list[str] = []
    for ref in buckets.satisfied:
        waiver = removed.get(ref.id)
        if waiver is not None:
            if ref.effect == "forbid":
                fired.append(waiver)
        elif ref.effect == "forbid":
            forbids.append(ref)
        else:
            permits.append(ref)
    errors: list[PolicyError] = []
    for ref, message in buckets.errored:
        waiver = removed.get(ref.id)
        if waiver is not None:
            if ref.effect == "forbid" and on_forbid_error == "deny":
                fired.append(waiver)
            continue
        errors.append(PolicyError(ref.id, message))
        if ref.effect == "forbid" and on_forbid_error == "deny":
            forbids.append(ref)
    waivers = tuple(dict.fromkeys(fired))
    if forbids:
        return Access("forbidden", tuple(forbids), tuple(errors), waivers)
    kind: Kind = "permitted" if permits else "not_permitted"
    return Access(kind, tuple(permits), tuple(errors), waivers)
