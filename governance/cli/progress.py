"""A progress bar for long commands: shown on a terminal (stderr), in text output only, and only
once a command has run for two seconds, so quick runs and machine formats stay clean."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from governance.tools.progress import Progress as Report
from governance.tools.progress import no_progress

DELAY = 2.0  # seconds before a bar appears


class _DelayedBar:
    def __init__(self, delay: float) -> None:
        self._started = time.monotonic()
        self._delay = delay
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._bar is None:
            if time.monotonic() - self._started < self._delay:
                return
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(stage, total=total)
        assert self._task is not None
        self._bar.update(self._task, description=stage, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextmanager
def progress_bar(machine_format: bool, delay: float = DELAY) -> Iterator[Report]:
    """A report callback that draws a bar on a terminal after `delay` seconds; a no-op when the
    output is a machine format or stderr is not a terminal."""
    if machine_format or not sys.stderr.isatty():
        yield no_progress
        return
    bar = _DelayedBar(delay)
    try:
        yield bar
    finally:
        bar.close()
