"""The trust file: which public key may sign which layers (central key for global, one per domain)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from governance.bundle.errors import TrustFileError
from governance.bundle.keys import fingerprint, parse_public

_KEY_FIELDS = {"name", "public_key", "public_key_file", "layers"}


@dataclass(frozen=True, slots=True)
class TrustedKey:
    name: str
    key_id: str
    public: Ed25519PublicKey
    layers: frozenset[str]


@dataclass(frozen=True, slots=True)
class Trust:
    """Trusted keys by fingerprint; an empty trust verifies nothing."""

    keys: Mapping[str, TrustedKey]

    def key(self, key_id: str) -> TrustedKey | None:
        return self.keys.get(key_id)

    @classmethod
    def of(cls, keys: Mapping[str, tuple[Ed25519PublicKey, list[str]]]) -> Trust:
        """Built in code: `{name: (public key, layers)}`."""
        trusted = [TrustedKey(n, fingerprint(k), k, frozenset(ls)) for n, (k, ls) in keys.items()]
        return cls({t.key_id: t for t in trusted})


def load_trust(path: str | Path) -> Trust:
    """Read a trust file (YAML); every malformed part is a TrustFileError naming the file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrustFileError(f"cannot read trust file `{path}`: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TrustFileError(f"trust file `{path}` is not valid YAML") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise TrustFileError(f"trust file `{path}`: expected a top-level `keys:` list")
    keys: dict[str, TrustedKey] = {}
    for index, entry in enumerate(document["keys"]):
        trusted = _entry(entry, f"{path}: keys[{index}]", path.parent)
        if trusted.key_id in keys:
            raise TrustFileError(f"{path}: key `{trusted.name}` is listed twice")
        keys[trusted.key_id] = trusted
    return Trust(keys)


def _entry(entry: Any, where: str, base: Path) -> TrustedKey:
    if not isinstance(entry, dict):
        raise TrustFileError(f"{where}: expected a mapping")
    unknown = set(entry) - _KEY_FIELDS
    if unknown:
        raise TrustFileError(f"{where}: unknown field `{sorted(unknown)[0]}`")
    name, layers = entry.get("name"), entry.get("layers")
    if not isinstance(name, str) or not name:
        raise TrustFileError(f"{where}: `name` must be a non-empty string")
    if not isinstance(layers, list) or not layers or not all(isinstance(x, str) for x in layers):
        raise TrustFileError(f"{where}: `layers` must be a non-empty list of layer names")
    public = parse_public(_public_bytes(entry, where, base), f"{where} (`{name}`)")
    return TrustedKey(name, fingerprint(public), public, frozenset(layers))


def _public_bytes(entry: dict[str, Any], where: str, base: Path) -> bytes:
    inline, file = entry.get("public_key"), entry.get("public_key_file")
    if (inline is None) == (file is None):
        raise TrustFileError(f"{where}: give exactly one of `public_key` or `public_key_file`")
    if isinstance(inline, str):
        return inline.encode("ascii", "replace")
    if not isinstance(file, str):
        raise TrustFileError(f"{where}: `public_key_file` must be a path")
    try:
        return (base / file).read_bytes()
    except OSError as exc:
        raise TrustFileError(f"{where}: cannot read `{file}`: {exc.strerror}") from exc
