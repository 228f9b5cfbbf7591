"""How two answers to one request differ: each side reduced to what is compared, and the flips."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from governance.decision import Decision

Change = Literal["granted", "unmasked", "revoked", "masked"]
Changed = tuple[Change, tuple[str, ...], tuple[str, ...]]  # change, responsible, columns


@dataclass(frozen=True, slots=True)
class Answer:
    """One side of a flip: what `govern diff` and `govern audit replay` compare and name."""

    allowed: bool
    kind: str
    policies: tuple[str, ...]
    masks: Mapping[str, tuple[str, ...]]  # masked column -> the policies that masked it
    # The refusal sentence, when refused: shown, not compared (a log keeps only the code).
    reason: str = field(default="", compare=False)
    reason_code: str | None = None

    @classmethod
    def of_decision(cls, decision: Decision) -> Answer:
        return cls(
            decision.allowed,
            decision.access.kind,
            tuple(p.id for p in decision.access.policies),
            {m.column: tuple(p.id for p in m.policies) for m in decision.masks},
            decision.refusal or "",
            decision.reason_code if decision.refusal else None,
        )

    @classmethod
    def of_record(cls, result: Mapping[str, Any]) -> Answer:
        """The logged `result` of a decision record (a log holds the reason code, not the
        sentence); raises KeyError, TypeError or ValueError on anything else."""
        allowed = result["allowed"]
        if not isinstance(allowed, bool):
            raise TypeError("`result.allowed` is not a boolean")
        return cls(
            allowed,
            str(result.get("kind")),
            tuple(str(p["id"]) for p in result.get("policies", ())),
            {
                str(m["column"]): tuple(map(str, m.get("policies", ())))
                for m in result.get("masks", ())
            },
            reason_code=result.get("reason_code"),
        )

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "allowed": self.allowed,
            "kind": self.kind,
            "policies": list(self.policies),
            "masks": sorted(self.masks),
        }
        if self.reason:
            found["reason"] = self.reason
        if self.reason_code is not None:
            found["reason_code"] = self.reason_code
        return found


def changes(before: Answer, after: Answer) -> list[Changed]:
    """What changed from `before` to `after`, with the policies responsible: an allow that became
    a deny (or back), else the columns unmasked and the columns masked."""
    if before.allowed != after.allowed:
        if after.allowed:
            return [("granted", after.policies or before.policies, ())]
        responsible = after.policies if after.kind == "forbidden" else before.policies
        return [("revoked", responsible or after.policies, ())]
    if not after.allowed:
        return []
    found: list[Changed] = []
    mask_changes: tuple[tuple[Change, Answer, Answer], ...] = (
        ("unmasked", before, after),
        ("masked", after, before),
    )
    for change, gone, kept in mask_changes:
        columns = sorted(set(gone.masks) - set(kept.masks))
        if columns:
            responsible = tuple(sorted({p for c in columns for p in gone.masks[c]}))
            found.append((change, responsible, tuple(columns)))
    return found
