"""Shared helpers for the CLI tests: the repository paths and a click runner wrapper."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from governance.cli import main

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
BROKEN = REPO / "tests" / "fixtures" / "broken"
TODAY = "2026-06-01"  # fixtures judge waiver expiry on this date, whatever the clock says


def run(*args: str, input: str | None = None) -> Result:
    """`govern ARGS` in process; exceptions are not swallowed, so a traceback fails the test."""
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


@pytest.fixture
def org(tmp_path: Path) -> Path:
    """A private copy of the example organisation a test may change."""
    copy = tmp_path / "policies"
    shutil.copytree(POLICIES, copy)
    return copy
