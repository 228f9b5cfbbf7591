"""The exception tree and the located problem records every stage reports into."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """Where a problem is: a file, and the line and column when known (1-based)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        if not self.column:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding: sorted by location so a user reads a file top to bottom."""

    location: Location
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}[{self.code}]: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }


class GovernanceError(Exception):
    """Root of every error this package raises."""


class LoadError(GovernanceError):
    """A policy tree could not be loaded; carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        shown = "\n".join(f"  {p}" for p in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"policy tree has {len(errors)} error(s):\n{shown}{more}")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class ReloadError(LoadError):
    """A reload failed; the engine kept serving the previous policy set."""


class RequestError(GovernanceError):
    """A request the engine cannot understand; the engine turns it into a deny, never an allow.

    `code` is the decision's machine-readable `reason_code` (see `governance.decision`)."""

    def __init__(self, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.code = code


class CompileError(GovernanceError):
    """Cedar text the compiler cannot take: a construct it does not handle (the engine leaves
    that policy's slice to cedarpy) or, with a `location`, text Cedar itself rejects."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message if location is None else f"{location}: {message}")
        self.location = location


class BundleError(GovernanceError):
    """A bundle is malformed or its signature does not verify."""
