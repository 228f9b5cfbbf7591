"""Real gateway processes on localhost over synthetic demo data, shared by the module's tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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
def gateway_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("gateway-data")
    subprocess.run(
        _run("--demo-data", "--data", str(data)), check=True, env=_env(), capture_output=True
    )
    return data


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _gateway(*args: str) -> Iterator[int]:
    """A gateway process with these options; its port once it accepts connections."""
    port = _free_port()
    process = subprocess.Popen(
        _run(*args, "--port", str(port)),
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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


@pytest.fixture(scope="session")
def gateway_log(gateway_port: int, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The decision log the session's gateway writes."""
    return _log_dir(tmp_path_factory)


@pytest.fixture(scope="session")
def gateway_port(gateway_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The users-file gateway, logging its decisions."""
    yield from _gateway("--data", str(gateway_data), "--log", str(_log_dir(tmp_path_factory)))


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    """The issuer's key; the token gateway holds only its public half."""
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def token_gateway_port(
    gateway_data: Path, signing_key: Ed25519PrivateKey, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """A gateway taking identity from Ed25519-signed tokens given as the password."""
    public = tmp_path_factory.mktemp("token-key") / "issuer.pub"
    public.write_bytes(
        signing_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    yield from _gateway("--data", str(gateway_data), "--token-key", str(public))
