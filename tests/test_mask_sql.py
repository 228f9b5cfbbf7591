"""Mask strategies as SQL: executed in DuckDB, parsed by sqlglot as Trino and Spark SQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import duckdb
import pytest
import sqlglot
from hypothesis import given
from hypothesis import strategies as st

from governance.rules.mask_sql import DIALECTS, MaskKeyError, render_mask
from governance.rules.masking import Strategy

KEY = "a-test-key-of-32-bytes-long-0123"
SECRETS = {"GOVERN_MASK_KEY": KEY}
ALL = [
    Strategy("null"),
    Strategy("redact", text="it's hidden"),
    Strategy("hash"),
    Strategy("partial", keep="last", chars=4),
    Strategy("partial", keep="first", chars=2),
    Strategy("truncate", unit="year"),
    Strategy("truncate", unit="month"),
]


@pytest.fixture(scope="module")
def db():
    connection = duckdb.connect()
    yield connection
    connection.close()


def masked(db, strategy, value, sql_type="VARCHAR", **options):
    expression = render_mask(strategy, "v", "duckdb", secrets=SECRETS, **options)
    return db.execute(
        f"SELECT {expression} FROM (SELECT CAST(? AS {sql_type}) AS v)", [value]
    ).fetchone()[0]


def test_null_redact_and_partial_in_duckdb(db):
    assert masked(db, Strategy("null"), "x") is None
    assert masked(db, Strategy("redact", text="it's hidden"), "secret") == "it's hidden"
    assert masked(db, Strategy("partial", chars=4), "DE89370400440532013000") == "*" * 18 + "3000"
    assert masked(db, Strategy("partial", keep="first", chars=2), "alice") == "al***"
    assert masked(db, Strategy("partial", chars=4), "1234") == "****"  # nothing left to show


def test_truncate_dates_and_timestamps_in_duckdb(db):
    assert masked(db, Strategy("truncate"), "1990-05-17", "DATE", column_type="DATE") == dt.date(
        1990, 1, 1
    )
    month = masked(db, Strategy("truncate", unit="month"), "1990-05-17 13:45", "TIMESTAMP")
    assert month == dt.datetime(1990, 5, 1)


@pytest.mark.parametrize("strategy", ALL[1:], ids=lambda s: f"{s.name}")
def test_null_stays_null(db, strategy):
    sql_type = "DATE" if strategy.name == "truncate" else "VARCHAR"
    assert masked(db, strategy, None, sql_type) is None


@given(st.text(max_size=40))
def test_hash_is_hmac_sha256_of_the_utf8_value(db, value):
    got = masked(db, Strategy("hash"), value)
    assert got == hmac.new(KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


@given(st.text(min_size=0, max_size=30), st.integers(1, 8), st.sampled_from(["first", "last"]))
def test_partial_keeps_only_the_named_end(db, value, chars, keep):
    got = masked(db, Strategy("partial", keep=keep, chars=chars), value)
    assert len(got) == len(value)
    if len(value) <= chars:
        assert got == "*" * len(value)
    elif keep == "last":
        assert got == "*" * (len(value) - chars) + value[-chars:]
    else:
        assert got == value[:chars] + "*" * (len(value) - chars)


@given(st.text(max_size=64).filter(lambda t: all(ord(c) >= 0x20 and c != "\x7f" for c in t)))
def test_redaction_text_cannot_break_out_of_its_literal(db, text):
    assert masked(db, Strategy("redact", text=text), "secret") == text


def test_long_keys_are_hashed_first_as_hmac_requires(db):
    long_key = "k" * 100
    expression = render_mask(Strategy("hash"), "v", "duckdb", secrets={"GOVERN_MASK_KEY": long_key})
    got = db.execute(f"SELECT {expression} FROM (SELECT 'x' AS v)").fetchone()[0]
    assert got == hmac.new(long_key.encode(), b"x", hashlib.sha256).hexdigest()


@pytest.mark.parametrize("secrets", [{}, {"GOVERN_MASK_KEY": "short"}])
def test_hash_without_a_usable_key_refuses(secrets):
    with pytest.raises(MaskKeyError, match="GOVERN_MASK_KEY"):
        render_mask(Strategy("hash"), "v", "trino", secrets=secrets)


@pytest.mark.parametrize(
    ("strategy", "column_type", "expected"),
    [
        (Strategy("hash"), "bigint", "CAST(NULL AS bigint)"),
        (Strategy("truncate"), "varchar", "CAST(NULL AS varchar)"),
        (Strategy("partial", chars=2), "decimal(10,2)", "CAST(NULL AS decimal(10,2))"),
        (Strategy("redact"), "varchar); DROP TABLE x; --", "NULL"),
    ],
)
def test_a_strategy_that_cannot_keep_the_type_becomes_null(strategy, column_type, expected):
    got = render_mask(strategy, '"c"', "trino", column_type=column_type, secrets=SECRETS)
    assert got == expected


def test_typed_masks_keep_the_column_type_in_duckdb(db):
    expression = render_mask(
        Strategy("hash"), "v", "duckdb", column_type="VARCHAR(10)", secrets=SECRETS
    )
    kind = db.execute(f"SELECT typeof({expression}) FROM (SELECT 'x' AS v)").fetchone()[0]
    assert kind == "VARCHAR"


@pytest.mark.parametrize("dialect", ["trino", "spark"])
@pytest.mark.parametrize("strategy", ALL, ids=lambda s: f"{s.name}-{s.keep}-{s.unit}")
def test_every_strategy_parses_in_its_dialect(dialect, strategy):
    for column_type in (None, "date" if strategy.name == "truncate" else "varchar"):
        expression = render_mask(strategy, "c", dialect, column_type=column_type, secrets=SECRETS)
        tree = sqlglot.parse_one(f"SELECT {expression} FROM t", read=dialect)
        assert tree.find(sqlglot.exp.Column) is not None or strategy.name == "null"


def test_trino_hash_uses_its_hmac_function():
    expression = render_mask(Strategy("hash"), "c", "trino", secrets=SECRETS)
    call = sqlglot.parse_one(expression, read="trino")
    assert "hmac_sha256" in expression and KEY.encode().hex() in expression
    assert call is not None


def test_spark_truncate_keeps_dates_dates():
    assert render_mask(Strategy("truncate"), "c", "spark", column_type="date").startswith(
        "CAST(trunc(c, 'YEAR')"
    )
    assert render_mask(Strategy("truncate"), "c", "spark").startswith("date_trunc('YEAR'")


def test_unknown_dialect_is_refused():
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        render_mask(Strategy("null"), "c", "oracle")  # type: ignore[arg-type]
    assert set(DIALECTS) == {"duckdb", "trino", "spark"}
