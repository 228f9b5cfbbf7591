"""Signed identity tokens as passwords: a JWT verified with the configured key names the principal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from governance.gateway.identity import Principal

# Claims the gateway reads itself; every other claim is not an attribute (only `attributes` is).
_REQUIRED = ("sub", "exp")
_LEEWAY_SECONDS = 5  # clock skew between the issuer and the gateway
_MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash


class TokenKeyError(Exception):
    """The configured key cannot verify tokens; the gateway does not start."""


class TokenRefused(Exception):
    """A token that does not prove who connects; the message is what the client sees."""


@dataclass(frozen=True, slots=True)
class TokenKey:
    """One verification key and the one algorithm it accepts, so a token cannot choose its
    own (`alg: none`, or an HMAC keyed with a public key)."""

    key: Ed25519PublicKey | bytes
    algorithm: str

    def verify(self, token: str, user: str) -> Principal:
        """The principal a token names, refused unless it is signed by this key, unexpired,
        and issued to the connecting user."""
        try:
            claims = jwt.decode(
                token, self.key, algorithms=[self.algorithm], leeway=_LEEWAY_SECONDS,
                options={"require": list(_REQUIRED)},
            )  # fmt: skip
        except jwt.ExpiredSignatureError as exc:
            raise TokenRefused("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenRefused("token not valid yet") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenRefused("token signature does not verify with the gateway's key") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRefused(f"token has no `{exc.claim}` claim") from exc
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"not a valid token: {exc}") from exc
        return _principal(claims, user)


def _principal(claims: Mapping[str, Any], user: str) -> Principal:
    subject = claims["sub"]
    if subject != user:
        raise TokenRefused(f"token is for `{subject}`, not the connecting user `{user}`")
    groups = claims.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise TokenRefused("token claim `groups` must be a list of names")
    attributes = claims.get("attributes", {})
    if not isinstance(attributes, dict) or "groups" in attributes:
        raise TokenRefused("token claim `attributes` must be a mapping without `groups`")
    return Principal(user, tuple(groups), dict(attributes))


def load_token_key(path: str | Path) -> TokenKey:
    """A PEM Ed25519 public key verifies EdDSA tokens; any other file content is an HMAC
    secret (HS256) of at least 32 bytes, surrounding whitespace stripped."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TokenKeyError(f"{path}: {exc}") from exc
    if b"-----BEGIN" in raw:
        try:
            public = load_pem_public_key(raw)
        except ValueError as exc:
            raise TokenKeyError(f"{path}: not a PEM public key: {exc}") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise TokenKeyError(f"{path}: only Ed25519 public keys are supported")
        return TokenKey(public, "EdDSA")
    secret = raw.strip()
    if len(secret) < _MIN_SECRET_BYTES:
        raise TokenKeyError(
            f"{path}: an HMAC secret needs at least {_MIN_SECRET_BYTES} bytes, got {len(secret)}"
        )
    return TokenKey(secret, "HS256")
