"""The decision-log extension points: a log the engine feeds, the sinks a writer feeds, a no-op log."""

from __future__ import annotations

from typing import Any, Protocol

from governance.decision import Decision


class DecisionLog(Protocol):
    """What the engine calls after every decision; it must return at once (no I/O)."""

    def log(
        self, decision: Decision, req_id: int | None = None, requested_by: str = ""
    ) -> None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    """Where a background writer puts finished records, one batch at a time, from one thread."""

    def write(self, records: list[dict[str, Any]]) -> None: ...

    def close(self) -> None: ...


class NoDecisionLog:
    """Logging off: the engine recognises it and skips the call, so it costs nothing."""

    def log(self, decision: Decision, req_id: int | None = None, requested_by: str = "") -> None:
        return None

    def close(self) -> None:
        return None


NO_LOG = NoDecisionLog()
