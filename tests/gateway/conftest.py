"""A real gateway process on localhost over synthetic demo data, shared by the module's tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "governance",
        "gateway",
        "--policies",
        str(ROOT / "policies"),
        *args,
    ]


def _log_dir(factory: pytest.TempPathFactory) -> Path:
    return factory.getbasetemp() / "gateway-decision-log"


@pytest.fixture(scope="session")
def gateway_log(gateway_port: int, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The decision log the session's gateway writes."""
    return _log_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def gateway_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    data = tmp_path_factory.mktemp("gateway-data")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        _run("--demo-data", "--data", str(data)), check=True, env=env, capture_output=True
    )
    port = _free_port()
    process = subprocess.Popen(
        _run("--data", str(data), "--port", str(port), "--log", str(_log_dir(tmp_path_factory))),
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):  # up to 30 s on a loaded machine: the engine loads first
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None:
                    message = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(message) from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
