"""Verification: a bundle is trusted only when its signature, key, files and manifest all agree.

The signature is checked first and covers every file, the manifest included, so no byte of a
bundle is interpreted before it is known to come from a key trusted for the layer it claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from governance.bundle import jws
from governance.bundle.archive import DEFAULT_LIMITS, Limits, unpack
from governance.bundle.errors import (
    BadSignature,
    DigestMismatch,
    DuplicateLayer,
    IncompleteSet,
    MalformedBundle,
    MissingSignature,
    OutOfLayer,
    Rollback,
    SchemaMismatch,
    TamperedFile,
    UntrustedKey,
)
from governance.bundle.manifest import (
    GLOBAL,
    GLOBAL_ROOT_FILES,
    MANIFEST,
    SCHEMA_FILE,
    SIGNATURES,
    Manifest,
    in_layer,
    parse_manifest,
    revision_of,
    sha256,
)
from governance.bundle.trust import Trust, TrustedKey

HASH_ALGORITHM = "SHA-256"


@dataclass(frozen=True, slots=True)
class VerifiedBundle:
    name: str  # where it came from: file name or URL
    data: bytes  # the archive as received, kept for persisting the last good set
    manifest: Manifest
    key: TrustedKey
    files: Mapping[str, bytes]  # the layer's files by tree-relative path

    @property
    def layer(self) -> str:
        return self.manifest.layer


def verify_bundle(
    data: bytes, name: str, trust: Trust, limits: Limits = DEFAULT_LIMITS
) -> VerifiedBundle:
    entries = unpack(data, name, limits)
    token = _token(entries, name)
    key, layer = _trusted_key(token, trust, name)
    signed = _signed_files(token.payload, name)
    _match_files(entries, signed, name)
    manifest = parse_manifest(entries[MANIFEST], name)
    files = {n: content for n, content in entries.items() if n not in (MANIFEST, SIGNATURES)}
    _check_manifest(manifest, layer, signed, files, name)
    return VerifiedBundle(name, data, manifest, key, files)


def _token(entries: Mapping[str, bytes], name: str) -> jws.Token:
    raw = entries.get(SIGNATURES)
    if raw is None:
        raise MissingSignature(name, f"no {SIGNATURES}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadSignature(name, f"{SIGNATURES} is not JSON") from exc
    tokens = document.get("signatures") if isinstance(document, dict) else None
    if not isinstance(tokens, list) or not tokens:
        raise MissingSignature(name, f"{SIGNATURES} holds no signature")
    if len(tokens) != 1 or not isinstance(tokens[0], str):
        raise BadSignature(name, f"{SIGNATURES} must hold exactly one JWS")
    try:
        return jws.parse(tokens[0])
    except jws.JwsError as exc:
        raise BadSignature(name, str(exc)) from exc


def _trusted_key(token: jws.Token, trust: Trust, name: str) -> tuple[TrustedKey, str]:
    key = trust.key(token.key_id)
    if key is None:
        raise UntrustedKey(name, f"signed by `{token.key_id}`, which the trust file does not list")
    try:
        jws.verify(token, key.public)
    except jws.JwsError as exc:
        raise BadSignature(name, str(exc)) from exc
    layer = token.payload.get("scope")
    if not isinstance(layer, str):
        raise BadSignature(name, "the signature names no layer (`scope`)")
    if layer not in key.layers:
        allowed = ", ".join(f"`{x}`" for x in sorted(key.layers))
        raise UntrustedKey(name, f"key `{key.name}` may sign {allowed}, not `{layer}`")
    return key, layer


def _signed_files(payload: Mapping[str, Any], name: str) -> dict[str, str]:
    entries = payload.get("files")
    if not isinstance(entries, list):
        raise BadSignature(name, "the signature lists no files")
    signed: dict[str, str] = {}
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or entry.get("algorithm") != HASH_ALGORITHM
            or not isinstance(entry.get("name"), str)
            or not isinstance(entry.get("hash"), str)
            or entry["name"] in signed
        ):
            raise BadSignature(name, f"malformed file entry in the signature: {entry!r:.80}")
        signed[entry["name"]] = entry["hash"]
    return signed


def _match_files(entries: Mapping[str, bytes], signed: Mapping[str, str], name: str) -> None:
    present = set(entries) - {SIGNATURES}
    for extra in sorted(present - set(signed)):
        raise TamperedFile(name, f"`{extra}` is not covered by the signature (extra file)")
    for missing in sorted(set(signed) - present):
        raise TamperedFile(name, f"signed file `{missing}` is missing")
    for file in sorted(present):
        if sha256(entries[file]) != signed[file]:
            raise TamperedFile(name, f"`{file}` does not match its signed digest")


def _check_manifest(
    manifest: Manifest,
    layer: str,
    signed: Mapping[str, str],
    files: Mapping[str, bytes],
    name: str,
) -> None:
    if manifest.layer != layer:
        raise DigestMismatch(name, f"manifest layer `{manifest.layer}` is not signed `{layer}`")
    listed = {n: d for n, d in signed.items() if n != MANIFEST}
    if dict(manifest.files) != listed:
        raise DigestMismatch(name, "the manifest's file list differs from the signed one")
    if revision_of(manifest.files) != manifest.revision:
        raise DigestMismatch(name, "the revision is not the digest of the files")
    for file in sorted(files):
        if not in_layer(layer, file):
            raise OutOfLayer(name, f"`{file}` does not belong to layer `{layer}`")
    if layer == GLOBAL:
        for required in GLOBAL_ROOT_FILES:
            if required not in files:
                raise MalformedBundle(name, f"the global bundle has no `{required}`")
        if sha256(files[SCHEMA_FILE]) != manifest.schema_digest:
            raise DigestMismatch(name, "schema_digest is not the digest of its schema")


def check_set(
    candidates: Iterable[VerifiedBundle], active: Mapping[str, VerifiedBundle]
) -> dict[str, VerifiedBundle]:
    """The new set: active bundles with the candidates' newer layers in place; raises on the
    first duplicate layer, rollback, missing global layer or schema mismatch."""
    by_layer: dict[str, VerifiedBundle] = {}
    for bundle in candidates:
        other = by_layer.get(bundle.layer)
        if other is not None:
            raise DuplicateLayer(bundle.name, f"`{other.name}` also carries `{bundle.layer}`")
        by_layer[bundle.layer] = bundle
    combined = dict(active)
    for layer, bundle in by_layer.items():
        check_newer(bundle, active.get(layer))
        combined[layer] = bundle
    check_schemas(combined)
    return combined


def check_newer(bundle: VerifiedBundle, active: VerifiedBundle | None) -> None:
    """A different revision needs a higher sequence; the same revision is simply unchanged."""
    if active is None or bundle.manifest.revision == active.manifest.revision:
        return
    if bundle.manifest.sequence <= active.manifest.sequence:
        raise Rollback(
            bundle.name,
            f"sequence {bundle.manifest.sequence} is not above the active "
            f"{active.manifest.sequence} of layer `{bundle.layer}`",
        )


def check_schemas(bundles: Mapping[str, VerifiedBundle]) -> None:
    central = bundles.get(GLOBAL)
    if central is None:
        some = next(iter(bundles.values()), None)
        raise IncompleteSet(some.name if some else "(none)", "no bundle for the global layer")
    for layer in sorted(bundles):
        bundle = bundles[layer]
        if bundle.manifest.schema_digest != central.manifest.schema_digest:
            raise SchemaMismatch(
                bundle.name,
                f"layer `{layer}` was checked against schema {bundle.manifest.schema_digest[:12]}, "
                f"the global layer ships {central.manifest.schema_digest[:12]}",
            )
