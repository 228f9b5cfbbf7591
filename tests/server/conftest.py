"""A real `python -m governance serve` process on localhost, shared by the server tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(*extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "governance", "serve", "--policies", str(ROOT / "policies"),
         "--port", str(port), *extra],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(process.communicate()[1].decode())
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    process.communicate()
    raise RuntimeError("server did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Graceful shutdown: SIGTERM, then the process must exit on its own."""
    process.terminate()
    process.communicate(timeout=20)
    assert process.returncode is not None


@pytest.fixture(scope="session")
def server():
    process, url = start()
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client
    stop(process)


@pytest.fixture(scope="session")
def guarded_server():
    process, url = start(env={"GOVERN_SERVE_TOKEN": TOKEN})
    with httpx.Client(base_url=url, timeout=10) as client:
        yield client
    stop(process)
