"""Building bundles: one reproducible, signed archive per layer of a policy tree."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.bundle import jws
from governance.bundle.archive import DEFAULT_LIMITS, pack, unpack
from governance.bundle.errors import BundleRejected
from governance.bundle.keys import fingerprint
from governance.bundle.manifest import (
    GLOBAL,
    GLOBAL_ROOT_FILES,
    MANIFEST,
    SCHEMA_FILE,
    SIGNATURES,
    Manifest,
    parse_manifest,
    revision_of,
    sha256,
    valid_layer_name,
)
from governance.bundle.verify import HASH_ALGORITHM
from governance.errors import BundleError

ALL_LAYERS = "*"  # the signing-key entry that applies to every layer without its own


def govern_version() -> str:
    try:
        return metadata.version("govern-mesh")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


@dataclass(frozen=True, slots=True)
class BuiltBundle:
    layer: str
    path: Path
    manifest: Manifest
    key_id: str | None  # None: unsigned, which no engine will load
    written: bool  # False when the file already held exactly these bytes


def layer_files(root: Path) -> dict[str, dict[str, bytes]]:
    """Each layer's files by tree-relative path; hidden files are skipped, symlinks refused."""
    layers = {
        GLOBAL: {n: (root / n).read_bytes() for n in GLOBAL_ROOT_FILES if (root / n).is_file()}
    }
    layers[GLOBAL] |= _folder_files(root, root / GLOBAL)
    domains = root / "domains"
    if domains.is_dir():
        for child in sorted(domains.iterdir()):
            if child.name.startswith(".") or not child.is_dir():
                continue
            if not valid_layer_name(child.name) or child.name == GLOBAL:
                raise BundleError(f"domain folder `{child}`: not a valid layer name")
            layers[child.name] = _folder_files(root, child)
    return layers


def _folder_files(root: Path, folder: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    if not folder.is_dir():
        return files
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink():
            raise BundleError(f"`{path}` is a symlink; bundles carry plain files only")
        if path.is_file():
            files[relative.as_posix()] = path.read_bytes()
    return files


def build_bundles(
    root: str | Path,
    out: str | Path,
    keys: Mapping[str, Ed25519PrivateKey],
    *,
    layers: Collection[str] | None = None,
    sequence: int | None = None,
) -> list[BuiltBundle]:
    """Write `<out>/<layer>.tar.gz` for each layer (all, or those named). Without an explicit
    `sequence`, a layer continues the bundle already in `out`: same revision keeps its number
    (a rebuild gives identical bytes), a new revision takes the next one, a first build is 1."""
    root, out = Path(root), Path(out)
    found = layer_files(root)
    unknown = sorted(set(layers or ()) - set(found))
    if unknown:
        raise BundleError(f"no layer `{unknown[0]}` in `{root}`")
    schema = found[GLOBAL].get(SCHEMA_FILE)
    if schema is None:
        raise BundleError(f"`{root}` has no {SCHEMA_FILE}")
    out.mkdir(parents=True, exist_ok=True)
    built = []
    for layer in sorted(layers or found):
        key = keys.get(layer, keys.get(ALL_LAYERS))
        built.append(_build_one(layer, found[layer], sha256(schema), key, out, sequence))
    return built


def _build_one(
    layer: str,
    files: Mapping[str, bytes],
    schema_digest: str,
    key: Ed25519PrivateKey | None,
    out: Path,
    sequence: int | None,
) -> BuiltBundle:
    digests = {name: sha256(content) for name, content in files.items()}
    revision = revision_of(digests)
    path = out / f"{layer}.tar.gz"
    number = sequence if sequence is not None else _next_sequence(path, revision)
    manifest = Manifest(layer, revision, number, schema_digest, govern_version(), digests)
    entries = {**files, MANIFEST: manifest.to_bytes()}
    key_id = None
    if key is not None:
        key_id = fingerprint(key.public_key())
        entries[SIGNATURES] = signatures_file(entries, layer, key)
    data = pack(entries)
    written = not (path.is_file() and path.read_bytes() == data)
    if written:
        write_atomically(path, data)
    return BuiltBundle(layer, path, manifest, key_id, written)


def signatures_file(entries: Mapping[str, bytes], layer: str, key: Ed25519PrivateKey) -> bytes:
    """OPA's `.signatures.json` shape: one JWS whose claims list every file's digest."""
    claims = {
        "files": [
            {"name": name, "hash": sha256(entries[name]), "algorithm": HASH_ALGORITHM}
            for name in sorted(entries)
            if name != SIGNATURES
        ],
        "keyid": fingerprint(key.public_key()),
        "scope": layer,
    }
    token = jws.sign(claims, key, fingerprint(key.public_key()))
    return jws.canonical_json({"signatures": [token]}) + b"\n"


def _next_sequence(path: Path, revision: str) -> int:
    if not path.is_file():
        return 1
    try:
        previous = parse_manifest(
            unpack(path.read_bytes(), path.name, DEFAULT_LIMITS)[MANIFEST], path.name
        )
    except (BundleRejected, KeyError) as exc:
        raise BundleError(
            f"cannot read the previous `{path}` to continue its sequence; pass a sequence"
        ) from exc
    return previous.sequence if previous.revision == revision else previous.sequence + 1


def write_atomically(path: Path, data: bytes) -> None:
    """Readers (a watching gateway) see the old file or the new one, never half of one."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
