"""Signed example bundles in a temporary folder, with one fresh key per layer."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.bundle.build import build_bundles
from governance.bundle.trust import Trust

LAYERS = ("global", "finance", "marketing", "people", "sales")
POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="session")
def keys() -> dict[str, Ed25519PrivateKey]:
    return {layer: Ed25519PrivateKey.generate() for layer in LAYERS}


@pytest.fixture(scope="session")
def trust(keys: dict[str, Ed25519PrivateKey]) -> Trust:
    return Trust.of({f"{layer}-team": (k.public_key(), [layer]) for layer, k in keys.items()})


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, keys) -> Path:
    out = tmp_path_factory.mktemp("built")
    build_bundles(POLICIES, out, keys)
    return out


@pytest.fixture
def served(tmp_path: Path, built: Path) -> Path:
    """A writable copy of the signed bundles, as a gateway's watched folder."""
    folder = tmp_path / "served"
    folder.mkdir()
    for path in built.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder
