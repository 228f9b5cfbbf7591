"""Extension parsers accept exactly what Cedar accepts, and compute Cedar's values."""

from __future__ import annotations

import json

import cedarpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compiler import extensions as ext
from governance.compiler.errors import EvaluationError

CONSTRUCTORS = {
    "decimal": ext.parse_decimal,
    "ip": ext.parse_ip,
    "datetime": ext.parse_datetime,
    "duration": ext.parse_duration,
}
REQUEST = {"principal": 'User::"u"', "action": 'Action::"a"', "resource": 'R::"r"', "context": {}}


def cedar_accepts(constructor: str, text: str) -> bool:
    probe = f"{constructor}({json.dumps(text)})"
    policy = f"permit(principal, action, resource) when {{ {probe} == {probe} }};"
    return cedarpy.is_authorized(REQUEST, policy, []).allowed


def compiled_accepts(constructor: str, text: str) -> bool:
    try:
        CONSTRUCTORS[constructor](text)
    except EvaluationError:
        return False
    return True


SAMPLES = {
    "decimal": [
        "1.0",
        "-1.0",
        "1.2345",
        "1.23456",
        "1",
        ".5",
        "1.",
        "+1.0",
        "-0.0",
        "00.10",
        "922337203685477.5807",
        "922337203685477.5808",
        "-922337203685477.5808",
        "-922337203685477.5809",
        "1e3",
        " 1.0",
        "1.0\n",
        "\u0661.\u0660",
    ],
    "ip": [
        "127.0.0.1",
        "0.0.0.0/0",
        "1.2.3.4/32",
        "1.2.3.4/33",
        "1.2.3.4/",
        "1.2.3.4/08",
        "1.2.3.4/+8",
        "256.1.1.1",
        "1.2.3",
        "01.2.3.4",
        "::",
        "::1",
        "1::",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        ":1::",
        "::ffff:1.2.3.4",
        "12345::",
        "fe80::1%eth0",
        "ff00::/8",
        "::/129",
        "::/128",
        "1.2.3.4 ",
        "a:b:c:d:e:f:0:1/64",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1.2.3.4/1/2",
        "1.2.3.4\n",
    ],
    "datetime": [
        "2024-01-01",
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.123Z",
        "2024-01-01T00:00:00+0100",
        "2024-01-01T00:00:00.1Z",
        "2024-01-01T00:00:00",
        "2024-13-01",
        "2024-02-29",
        "2023-02-29",
        "1900-02-29",
        "2000-02-29",
        "0000-02-29",
        "2024-01-01T23:59:60Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00+2400",
        "2024-01-01T00:00:00-2359",
        "2024-01-01Z",
        "24-01-01",
        "2024-01-01T00:00Z",
        "2024-01-01\n",
    ],
    "duration": [
        "1d",
        "1h",
        "1m",
        "1s",
        "1ms",
        "1d1h1m1s1ms",
        "-1d",
        "1h1d",
        "",
        "-",
        "1",
        "1.5h",
        "1ms1s",
        "9223372036854775807ms",
        "9223372036854775808ms",
        "-9223372036854775808ms",
        "106751991167d",
        "106751991168d",
        "18446744073709551616ms",
        "0d0ms",
        "1m\n",
    ],
}


@pytest.mark.parametrize(
    ("constructor", "text"), [(c, t) for c, texts in SAMPLES.items() for t in texts]
)
def test_parser_accepts_what_cedar_accepts(constructor: str, text: str) -> None:
    assert compiled_accepts(constructor, text) == cedar_accepts(constructor, text)


@given(st.text(alphabet="0123456789.:/-+abcdefTZ ", max_size=24), st.sampled_from(list(SAMPLES)))
def test_random_strings_parse_like_cedar(text: str, constructor: str) -> None:
    assert compiled_accepts(constructor, text) == cedar_accepts(constructor, text)


def test_values() -> None:
    assert ext.parse_decimal("-0.5").value == -5000
    assert ext.parse_datetime("1970-01-02T00:00:00.001+0100").ms == 86_400_001 - 3_600_000
    assert ext.parse_duration("-1d2h").ms == -(86_400_000 + 7_200_000)
    ip = ext.parse_ip("10.1.2.3/8")
    assert (ip.v6, ip.addr, ip.prefix) == (False, 0x0A010203, 8)
    assert ext.is_in_range(ext.parse_ip("10.1.2.3"), ip)
    assert ext.is_in_range(ext.parse_ip("::1"), ext.parse_ip("::/0"))
    assert not ext.is_in_range(ext.parse_ip("::1"), ext.parse_ip("0.0.0.0/0"))
    assert ext.to_time(ext.Datetime(-1)).ms == 86_399_999
    assert ext.to_days(ext.Duration(-86_400_001)) == -1


def test_equality_is_by_type_and_value() -> None:
    assert ext.Datetime(5) != ext.Duration(5)
    assert ext.Decimal(10_000) != 10_000
    assert len({ext.Datetime(5), ext.Duration(5), ext.Decimal(5), 5}) == 4
