"""The `.manifest`: what a bundle claims to be (layer, revision, sequence, schema, files)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from governance.bundle.errors import MalformedBundle

FORMAT = "govern-bundle/1"
MANIFEST = ".manifest"
SIGNATURES = ".signatures.json"
GLOBAL = "global"
GLOBAL_ROOT_FILES = ("governance.yaml", "schema.cedarschema")
SCHEMA_FILE = "schema.cedarschema"
_LAYER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def revision_of(digests: Mapping[str, str]) -> str:
    """The content digest of a layer: one line per file, sorted, so order and clocks never matter."""
    listing = "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))
    return sha256(listing.encode("utf-8"))


def in_layer(layer: str, name: str) -> bool:
    """A layer ships only its own files: global its folder, the org config and schema."""
    if layer == GLOBAL:
        return name in GLOBAL_ROOT_FILES or name.startswith("global/")
    return name.startswith(f"domains/{layer}/")


def valid_layer_name(name: str) -> bool:
    return bool(_LAYER_NAME.match(name))


@dataclass(frozen=True, slots=True)
class Manifest:
    layer: str
    revision: str
    sequence: int
    schema_digest: str
    govern_version: str
    files: Mapping[str, str]  # name -> sha256 hex

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "layer": self.layer,
            "revision": self.revision,
            "sequence": self.sequence,
            "schema_digest": self.schema_digest,
            "govern_version": self.govern_version,
            "files": [{"name": n, "sha256": self.files[n]} for n in sorted(self.files)],
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    def to_dict(self) -> dict[str, Any]:
        return orjson.loads(self.to_bytes())  # type: ignore[no-any-return]


def parse_manifest(data: bytes, bundle: str) -> Manifest:
    """Every field checked for type and shape; anything unexpected is a MalformedBundle."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedBundle(bundle, f"{MANIFEST} is not JSON") from exc
    if not isinstance(document, dict):
        raise MalformedBundle(bundle, f"{MANIFEST} is not a JSON object")
    if document.get("format") != FORMAT:
        raise MalformedBundle(bundle, f"{MANIFEST}: format is not `{FORMAT}`")
    layer = _field(document, "layer", str, bundle)
    if not valid_layer_name(layer):
        raise MalformedBundle(bundle, f"{MANIFEST}: invalid layer name `{layer}`")
    sequence = _field(document, "sequence", int, bundle)
    if isinstance(sequence, bool) or sequence < 1:
        raise MalformedBundle(bundle, f"{MANIFEST}: `sequence` must be a positive integer")
    revision = _field(document, "revision", str, bundle)
    schema_digest = _field(document, "schema_digest", str, bundle)
    for name, value in (("revision", revision), ("schema_digest", schema_digest)):
        if not _HEX64.match(value):
            raise MalformedBundle(bundle, f"{MANIFEST}: `{name}` is not a sha256 hex digest")
    return Manifest(
        layer,
        revision,
        sequence,
        schema_digest,
        _field(document, "govern_version", str, bundle),
        _files(_field(document, "files", list, bundle), bundle),
    )


def _files(entries: list[Any], bundle: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"name", "sha256"}:
            raise MalformedBundle(bundle, f"{MANIFEST}: each file is {{name, sha256}}")
        name, digest = entry["name"], entry["sha256"]
        if not isinstance(name, str) or not isinstance(digest, str) or not _HEX64.match(digest):
            raise MalformedBundle(bundle, f"{MANIFEST}: bad file entry `{name}`")
        if name in files or name in (MANIFEST, SIGNATURES):
            raise MalformedBundle(bundle, f"{MANIFEST}: file `{name}` listed twice or reserved")
        files[name] = digest
    return files


def _field(document: dict[str, Any], key: str, kind: type[Any], bundle: str) -> Any:
    value = document.get(key)
    if not isinstance(value, kind):
        raise MalformedBundle(bundle, f"{MANIFEST}: `{key}` must be a {kind.__name__}")
    return value
