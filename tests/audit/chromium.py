"""Open a page in real headless Chromium: its DOM after scripts ran, and every console message."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

_CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


def _base(binary: str) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--virtual-time-budget=10000"]  # fmt: skip


def open_page(page: Path) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and the console messages (errors included)."""
    done = subprocess.run(
        [*_base(chromium()), "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip
    return done.stdout, _CONSOLE.findall(done.stderr)


def screenshot(page: Path, out: Path, size: str = "1400,1800") -> None:
    subprocess.run(
        [*_base(chromium()), f"--window-size={size}", f"--screenshot={out}", page.as_uri()],
        capture_output=True, timeout=180, check=True,
    )  # fmt: skip
