"""`summary` and `replay` draw a progress bar on a real terminal, never in a pipe or in JSON output."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit.conftest import POLICIES


def _stderr_on_a_terminal(args: list[str]) -> tuple[str, bytes]:
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(POLICIES.parent)
    done = subprocess.Popen(
        [sys.executable, "-m", "governance", *args],
        stdout=subprocess.PIPE, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = done.communicate(timeout=300)
    os.close(leader)
    return seen.decode(errors="replace"), stdout


@pytest.mark.parametrize(
    ("verb", "words"), [("replay", "replaying lines"), ("summary", "reading records")]
)
def test_a_terminal_gets_a_bar_json_does_not(simulated_log: Path, verb: str, words: str) -> None:
    args = ["audit", verb, str(simulated_log)]
    if verb == "replay":
        args += ["--policies", str(POLICIES), "--jobs", "1"]
    text, _ = _stderr_on_a_terminal(args)
    assert words in text
    machine, stdout = _stderr_on_a_terminal([*args, "--format", "json"])
    assert words not in machine and stdout.startswith(b"{")
