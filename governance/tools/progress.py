"""Progress reports of long tooling runs: `report(stage, done, total)`; the CLI may show them."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The default: library calls report to no one."""
