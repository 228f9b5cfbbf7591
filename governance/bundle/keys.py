"""Ed25519 signing keys: generation, PEM files, and the fingerprint that names a key."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from governance.bundle.errors import TrustFileError


def fingerprint(public: Ed25519PublicKey) -> str:
    """A key's id: derived from the key itself, so a signer cannot claim another key's name."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class KeyPair:
    private_path: Path
    public_path: Path
    key_id: str


def generate(folder: Path, name: str) -> KeyPair:
    """Write `<name>.key` (private, mode 0600) and `<name>.pub`; refuses to overwrite either."""
    if not name or "/" in name or name.startswith("."):
        raise TrustFileError(f"invalid key name `{name}`")
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise TrustFileError(f"`{path}` already exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(public_pem(key.public_key()))
    return KeyPair(private_path, public_path, fingerprint(key.public_key()))


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustFileError(f"cannot read signing key `{path}`: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise TrustFileError(f"`{path}` is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise TrustFileError(f"`{path}` is not an Ed25519 key")
    return key


def parse_public(data: bytes, where: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise TrustFileError(f"{where}: not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise TrustFileError(f"{where}: not an Ed25519 public key")
    return key
