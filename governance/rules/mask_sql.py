"""Mask strategies as SQL expressions for DuckDB, Trino and Spark SQL, one small renderer each.

A rendered mask keeps NULL as NULL. When the caller gives the column's type, the expression
keeps that type (Trino requires it of a column mask); a strategy that cannot produce the type
(a `hash` of an integer, a `truncate` of a string) becomes `null`, the strictest strategy, so a
mask never fails open.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from typing import Literal

from governance.errors import GovernanceError
from governance.rules.masking import NULL, Strategy

Dialect = Literal["duckdb", "trino", "spark"]
DIALECTS: tuple[Dialect, ...] = ("duckdb", "trino", "spark")
MIN_KEY_BYTES = 16
_BLOCK = 64  # SHA-256's block size, which HMAC pads the key to
_SAFE_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_ (),]{0,99}$")
_TEXT_TYPES = ("varchar", "char", "string", "text")
_DATE_TYPES = ("date", "timestamp")


class MaskKeyError(GovernanceError):
    """A `hash` strategy's key is missing or too short: the mask cannot be rendered."""


def render_mask(
    strategy: Strategy,
    column_sql: str,
    dialect: Dialect,
    *,
    column_type: str | None = None,
    secrets: Mapping[str, str] | None = None,
) -> str:
    """The SQL expression that replaces `column_sql` (an already quoted column reference).

    `secrets` maps environment names to values (default: the process environment) and is read
    only for `hash`; a missing or short key raises MaskKeyError rather than weakening the mask.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect `{dialect}`")
    sql_type = _checked_type(column_type)
    if column_type is not None and (sql_type is None or not _fits(strategy, sql_type)):
        strategy = NULL
    if strategy.name == "null":
        return "NULL" if sql_type is None else f"CAST(NULL AS {sql_type})"
    key = _key(strategy, os.environ if secrets is None else secrets)
    expression = _RENDERERS[dialect](strategy, column_sql, key, sql_type)
    return expression if sql_type is None else f"CAST({expression} AS {sql_type})"


def sql_string(text: str) -> str:
    """A SQL string literal: quotes doubled, the same in all three dialects."""
    return "'" + text.replace("'", "''") + "'"


def _checked_type(column_type: str | None) -> str | None:
    """A type name safe to splice into SQL, or None (the renderer then types nothing)."""
    if column_type is None or not _SAFE_TYPE.match(column_type):
        return None
    if column_type.count("(") != column_type.count(")"):
        return None
    return column_type


def _fits(strategy: Strategy, sql_type: str) -> bool:
    base = sql_type.strip().lower()
    if strategy.name == "truncate":
        return base.startswith(_DATE_TYPES)
    return strategy.name == "null" or base.startswith(_TEXT_TYPES)


def _key(strategy: Strategy, secrets: Mapping[str, str]) -> bytes:
    if strategy.name != "hash":
        return b""
    value = secrets.get(strategy.key_env, "")
    key = value.encode()
    if len(key) < MIN_KEY_BYTES:
        state = "is not set" if not value else f"is shorter than {MIN_KEY_BYTES} bytes"
        raise MaskKeyError(f"hash mask key `{strategy.key_env}` {state}")
    return key


def _pads(key: bytes) -> tuple[str, str]:
    """HMAC's inner and outer padded keys (RFC 2104), hex, for engines without an HMAC function."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in key).hex()
    outer = bytes(b ^ 0x5C for b in key).hex()
    return inner, outer


def _partial(strategy: Strategy, text: str, length: str) -> str:
    """Stars for all but the kept characters; a value no longer than what is kept is all stars."""
    n = strategy.chars
    kept = (
        f"lpad(substr({text}, -{n}), {length}, '*')"
        if strategy.keep == "last"
        else f"rpad(substr({text}, 1, {n}), {length}, '*')"
    )
    return f"CASE WHEN length({text}) > {n} THEN {kept} ELSE lpad('', {length}, '*') END"


def _redact(strategy: Strategy, column: str) -> str:
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE {sql_string(strategy.text)} END"


def _duckdb(strategy: Strategy, column: str, key: bytes, sql_type: str | None) -> str:
    text = f"CAST({column} AS VARCHAR)"
    if strategy.name == "redact":
        return _redact(strategy, column)
    if strategy.name == "hash":
        inner, outer = _pads(key)
        digest = f"sha256(unhex('{inner}') || encode({text}))"
        return f"sha256(unhex('{outer}') || unhex({digest}))"
    if strategy.name == "partial":
        # DuckDB's lpad takes an INTEGER count and length() answers a BIGINT.
        return _partial(strategy, text, f"CAST(length({text}) AS INTEGER)")
    return f"date_trunc('{strategy.unit}', {column})"


def _trino(strategy: Strategy, column: str, key: bytes, sql_type: str | None) -> str:
    text = f"CAST({column} AS varchar)"
    if strategy.name == "redact":
        return _redact(strategy, column)
    if strategy.name == "hash":
        return f"lower(to_hex(hmac_sha256(to_utf8({text}), from_hex('{key.hex()}'))))"
    if strategy.name == "partial":
        return _partial(strategy, text, f"length({text})")
    return f"date_trunc('{strategy.unit}', {column})"


def _spark(strategy: Strategy, column: str, key: bytes, sql_type: str | None) -> str:
    text = f"CAST({column} AS STRING)"
    if strategy.name == "redact":
        return _redact(strategy, column)
    if strategy.name == "hash":
        inner, outer = _pads(key)
        digest = f"sha2(concat(unhex('{inner}'), encode({text}, 'UTF-8')), 256)"
        return f"sha2(concat(unhex('{outer}'), unhex({digest})), 256)"
    if strategy.name == "partial":
        return _partial(strategy, text, f"length({text})")
    unit = strategy.unit.upper()
    # `trunc` keeps a DATE a DATE; `date_trunc` answers a TIMESTAMP for either input.
    if sql_type is not None and sql_type.strip().lower() == "date":
        return f"trunc({column}, '{unit}')"
    return f"date_trunc('{unit}', {column})"


_Renderer = Callable[[Strategy, str, bytes, "str | None"], str]
_RENDERERS: dict[Dialect, _Renderer] = {"duckdb": _duckdb, "trino": _trino, "spark": _spark}
