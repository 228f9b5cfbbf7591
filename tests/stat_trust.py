"""Tests of loads that trust file listings: files written moments ago are never trusted (their
next change may leave the same stat), so these tests wait out the clock instead of 2 s."""

from __future__ import annotations

import time

import pytest

from governance.tree import fingerprint

# Longer than a kernel tick (the resolution of file timestamps on ext4 and tmpfs): a file
# written after this wait has another ctime than one written before it.
TICK = 0.03


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust the stat of every file written before now, and let a tick pass, so that each
    write after this call stamps a ctime no file written before it has."""
    monkeypatch.setattr(fingerprint, "SETTLE_NS", 0)
    time.sleep(TICK)
