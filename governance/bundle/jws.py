"""Compact JWS with EdDSA (RFC 7515, RFC 8037): the token inside `.signatures.json`.

Hand-written over `cryptography` because the format is three base64url parts and one signature;
the verifier accepts `EdDSA` and nothing else, so `alg: none` or algorithm confusion cannot pass.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"


class JwsError(ValueError):
    """A token that does not parse or does not verify."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise JwsError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JwsError("not base64url") from exc


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace: the same claims always give the same token bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sign(payload: dict[str, Any], key: Ed25519PrivateKey, key_id: str) -> str:
    """Ed25519 signatures are deterministic, so the token is reproducible too."""
    header = {"alg": ALGORITHM, "kid": key_id, "typ": "JWT"}
    signing_input = f"{_b64(canonical_json(header))}.{_b64(canonical_json(payload))}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{_b64(signature)}"


@dataclass(frozen=True, slots=True)
class Token:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def key_id(self) -> str:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else ""


def parse(token: str) -> Token:
    """Split and decode without verifying (the key is chosen from the header's `kid`)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("a compact JWS has three parts")
    header, payload = (_json_object(_unb64(p)) for p in parts[:2])
    if header.get("alg") != ALGORITHM:
        raise JwsError(f"algorithm `{header.get('alg')}` is not {ALGORITHM}")
    if "crit" in header:
        raise JwsError("critical header parameters are not supported")
    return Token(header, payload, f"{parts[0]}.{parts[1]}".encode("ascii"), _unb64(parts[2]))


def verify(token: Token, public: Ed25519PublicKey) -> None:
    try:
        public.verify(token.signature, token.signing_input)
    except InvalidSignature as exc:
        raise JwsError("signature does not verify with the trusted key") from exc


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JwsError("not JSON") from exc
    if not isinstance(value, dict):
        raise JwsError("not a JSON object")
    return value
