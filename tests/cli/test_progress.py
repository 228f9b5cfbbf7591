"""Long commands draw a progress bar on a terminal only, after a delay, never in machine formats."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from governance.cli import progress as progress_module
from governance.cli.progress import _DelayedBar, progress_bar
from governance.tools.progress import no_progress


def test_machine_formats_and_pipes_get_no_bar() -> None:
    with progress_bar(machine_format=True) as report:
        assert report is no_progress
    with progress_bar(machine_format=False) as report:  # pytest's stderr is not a terminal
        assert report is no_progress


def test_the_bar_appears_only_after_the_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(
        progress_module, "Console", lambda stderr: Console(file=screen, force_terminal=True)
    )
    quick = _DelayedBar(delay=3600)
    quick("deciding", 1, 10)
    quick.close()
    assert screen.getvalue() == ""
    slow = _DelayedBar(delay=0)
    slow("deciding", 5, 10)
    slow.close()
    assert "deciding" in screen.getvalue() and "5/10" in screen.getvalue()
