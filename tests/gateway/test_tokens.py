"""Identity by signed token: psycopg presents a JWT as the password to a token gateway; only a
token signed by the configured key, unexpired and issued to the connecting user, gets in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from pathlib import Path
from typing import Any

import jwt
import psycopg
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from governance.cli import main
from governance.gateway.tokens import TokenKeyError, TokenRefused, load_token_key
from tests.gateway.conftest import ROOT

HR_PARTNER = {
    "groups": ["hr-partners"],
    "attributes": {
        "department": "people",
        "clearance": 3,
        "employment": "employee",
        "region": "eu",
    },
}


def _token(
    key: Any, sub: str = "zoe", ttl: int = 300, algorithm: str = "EdDSA", **claims: Any
) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + ttl, **HR_PARTNER, **claims}
    return jwt.encode(payload, key, algorithm=algorithm)


def _connect(port: int, user: str, password: str | None) -> psycopg.Connection[Any]:
    extra = {} if password is None else {"password": password}
    return psycopg.connect(
        host="127.0.0.1", port=port, user=user, dbname="govern", autocommit=True, **extra
    )


def test_a_signed_token_is_the_identity(
    token_gateway_port: int, signing_key: Ed25519PrivateKey
) -> None:
    """zoe is in no users file: her groups and attributes come from the token alone."""
    with _connect(token_gateway_port, "zoe", _token(signing_key)) as conn:
        conn.execute("SET govern.purpose = 'hr_administration'")
        rows = conn.execute("SELECT employee_id, base_salary FROM people.employees").fetchall()
    assert len(rows) == 40
    assert all(r[0] is not None and r[1] is None for r in rows)


def test_token_groups_decide_access(
    token_gateway_port: int, signing_key: Ed25519PrivateKey
) -> None:
    token = _token(signing_key, groups=[])
    with _connect(token_gateway_port, "zoe", token) as conn:
        conn.execute("SET govern.purpose = 'hr_administration'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=r"people\.employees"):
            conn.execute("SELECT employee_id FROM people.employees")


def _forged(signing_key: Ed25519PrivateKey) -> dict[str, str]:
    other = Ed25519PrivateKey.generate()
    public_pem = signing_key.public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    header, _, signature = _token(signing_key).split(".")
    stewards = _b64(b'{"sub":"zoe","exp":9999999999,"groups":["data-stewards"]}')
    return {
        "expired": _token(signing_key, ttl=-60),
        "signature does not verify": _token(other),
        "is for `alice`": _token(signing_key, sub="alice"),
        "no `exp` claim": jwt.encode({"sub": "zoe"}, signing_key, algorithm="EdDSA"),
        "not valid yet": _token(signing_key, nbf=int(time.time()) + 3600),
        # a token choosing its algorithm: none, or HMAC keyed with the public key
        "alg none": jwt.encode({"sub": "zoe", "exp": time.time() + 60}, None, algorithm="none"),
        "alg confusion": _hs256_with(public_pem),
        "tampered payload": f"{header}.{stewards}.{signature}",
        "garbage": "not-a-token",
        "groups not a list": _token(signing_key, groups="hr-partners"),
    }


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_with(secret: bytes) -> str:
    """PyJWT will not sign HS256 with a PEM key, so the token is put together by hand."""
    head = _b64(b'{"alg":"HS256","typ":"JWT"}')
    body = _b64(f'{{"sub":"zoe","exp":{int(time.time()) + 60}}}'.encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


@pytest.mark.parametrize(
    "case",
    [
        "expired", "signature does not verify", "is for `alice`", "no `exp` claim",
        "not valid yet", "alg none", "alg confusion", "tampered payload", "garbage",
        "groups not a list",
    ],
)  # fmt: skip
def test_bad_tokens_refuse_the_connection(
    token_gateway_port: int, signing_key: Ed25519PrivateKey, case: str
) -> None:
    token = _forged(signing_key)[case]
    with pytest.raises(psycopg.OperationalError, match="authentication failed") as raised:
        _connect(token_gateway_port, "zoe", token)
    expected = {"expired": "token expired", "signature does not verify": "does not verify",
                "is for `alice`": "is for `alice`", "no `exp` claim": "no `exp` claim",
                "not valid yet": "not valid yet"}  # fmt: skip
    if case in expected:
        assert expected[case] in str(raised.value)


def test_no_password_refuses_the_connection(token_gateway_port: int) -> None:
    with pytest.raises(psycopg.OperationalError):
        _connect(token_gateway_port, "dave", None)


def test_hmac_secret_verifies_hs256_only(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    key = load_token_key(secret)
    principal = key.verify(_token("s" * 40, algorithm="HS256"), "zoe")
    assert principal.groups == ("hr-partners",)
    assert principal.attributes["clearance"] == 3
    with pytest.raises(TokenRefused, match="does not verify"):
        key.verify(_token("t" * 40, algorithm="HS256"), "zoe")
    with pytest.raises(TokenRefused):  # an EdDSA token is not accepted by an HMAC key
        key.verify(_token(Ed25519PrivateKey.generate()), "zoe")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"short", "at least 32 bytes"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
    ],
)
def test_bad_keys_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "key"
    path.write_bytes(content)
    with pytest.raises(TokenKeyError, match=message):
        load_token_key(path)


def test_users_and_token_key_exclude_each_other(tmp_path: Path) -> None:
    key = tmp_path / "secret"
    key.write_text("s" * 40)
    result = CliRunner().invoke(
        main,
        ["gateway", "--policies", str(ROOT / "policies"), "--token-key", str(key),
         "--users", str(ROOT / "policies" / "fixtures.yaml")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "exclude each other" in result.output
