"""Cedar's extension types (decimal, ipaddr, datetime, duration): parsing and every method.

Each parser follows the Cedar reference implementation character for character (regular
expressions anchored at both ends, ASCII digits only, 64-bit overflow checks), because a
string Cedar rejects must be an evaluation error here too. Functions raise
:class:`~governance.compiler.errors.EvaluationError` on a bad argument or a type error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from governance.compiler.errors import EvaluationError
from governance.compiler.values import LONG_MAX, LONG_MIN, type_name


class Decimal:
    """A decimal with four fractional digits, stored as a 64-bit count of 1/10000ths."""

    __slots__ = ("value",)
    type_name = "decimal"

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Decimal and other.value == self.value

    def __hash__(self) -> int:
        return hash(("decimal", self.value))

    def __repr__(self) -> str:
        sign = "-" if self.value < 0 else ""
        whole, frac = divmod(abs(self.value), 10_000)
        return f'decimal("{sign}{whole}.{frac:04d}")'


class IPAddr:
    """An IPv4 or IPv6 address with its prefix length; equality is structural, as in Cedar."""

    __slots__ = ("addr", "prefix", "v6")
    type_name = "ipaddr"

    def __init__(self, v6: bool, addr: int, prefix: int) -> None:
        self.v6 = v6
        self.addr = addr
        self.prefix = prefix

    def _key(self) -> tuple[bool, int, int]:
        return (self.v6, self.addr, self.prefix)

    def __eq__(self, other: object) -> bool:
        return type(other) is IPAddr and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(("ipaddr", *self._key()))

    def __repr__(self) -> str:
        return f"ip({self.v6}, {self.addr:#x}/{self.prefix})"


class _Instant:
    """Shared shape of datetime and duration: a 64-bit count of milliseconds, ordered."""

    __slots__ = ("ms",)
    type_name = ""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.ms == self.ms

    def __hash__(self) -> int:
        return hash((self.type_name, self.ms))

    def __repr__(self) -> str:
        return f"{self.type_name}({self.ms}ms)"


class Datetime(_Instant):
    """A point in time: milliseconds since the Unix epoch."""

    __slots__ = ()
    type_name = "datetime"


class Duration(_Instant):
    """A signed length of time in milliseconds."""

    __slots__ = ()
    type_name = "duration"


# --- errors ----------------------------------------------------------------------------


def _type_error(expected: str, value: object) -> EvaluationError:
    return EvaluationError(f"type error: expected {expected}, got {type_name(value)}")


def _checked(value: int, what: str) -> int:
    if value < LONG_MIN or value > LONG_MAX:
        raise EvaluationError(f"overflow when computing {what}")
    return value


def _string_arg(value: object) -> str:
    if type(value) is not str:
        raise _type_error("string", value)
    return value


# --- decimal ---------------------------------------------------------------------------

_DECIMAL = re.compile(r"(-?)([0-9]+)\.([0-9]+)")


def parse_decimal(text: str) -> Decimal:
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise EvaluationError(f"`{text}` is not a well-formed decimal value")
    sign, whole, frac = match.groups()
    if len(frac) > 4:
        raise EvaluationError(f"too many digits after the decimal in `{text}`")
    magnitude = int(whole) * 10_000 + int(frac) * 10 ** (4 - len(frac))
    return Decimal(_checked(-magnitude if sign else magnitude, "a decimal"))


def _as_decimal(value: object) -> Decimal:
    if type(value) is not Decimal:
        raise _type_error("decimal", value)
    return value


def decimal_lt(left: object, right: object) -> bool:
    return _as_decimal(left).value < _as_decimal(right).value


def decimal_le(left: object, right: object) -> bool:
    return _as_decimal(left).value <= _as_decimal(right).value


def decimal_gt(left: object, right: object) -> bool:
    return _as_decimal(left).value > _as_decimal(right).value


def decimal_ge(left: object, right: object) -> bool:
    return _as_decimal(left).value >= _as_decimal(right).value


# --- ipaddr ----------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")


def _parse_ipv4(text: str) -> int | None:
    parts = text.split(".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        # Rust's parser: 1-3 ASCII digits, no leading zero, at most 255.
        if not 1 <= len(part) <= 3 or not part.isascii() or not part.isdigit():
            return None
        if len(part) > 1 and part[0] == "0":
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = value << 8 | octet
    return value


def _parse_hex_groups(text: str) -> list[int] | None:
    if text == "":
        return []
    groups = []
    for group in text.split(":"):
        if not 1 <= len(group) <= 4 or not _HEX.issuperset(group):
            return None
        groups.append(int(group, 16))
    return groups


def _parse_ipv6(text: str) -> int | None:
    # Embedded IPv4 (dotted) forms are rejected by Cedar, so only hex groups are accepted.
    if text.count("::") > 1:
        return None
    if "::" in text:
        head_text, tail_text = text.split("::")
        head, tail = _parse_hex_groups(head_text), _parse_hex_groups(tail_text)
        if head is None or tail is None or len(head) + len(tail) > 7:
            return None
        groups = head + [0] * (8 - len(head) - len(tail)) + tail
    else:
        parsed = _parse_hex_groups(text)
        if parsed is None or len(parsed) != 8:
            return None
        groups = parsed
    value = 0
    for group in groups:
        value = value << 16 | group
    return value


def _parse_address(text: str) -> tuple[bool, int] | None:
    v4 = _parse_ipv4(text)
    if v4 is not None:
        return (False, v4)
    v6 = _parse_ipv6(text)
    if v6 is not None:
        return (True, v6)
    return None


def _parse_prefix(text: str, limit: int) -> int | None:
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text) > 1 and text[0] == "0":
        return None
    prefix = int(text)
    return prefix if prefix <= limit else None


def parse_ip(text: str) -> IPAddr:
    if text.count(":") >= 2 and text.count(".") >= 2:
        raise EvaluationError(f"we do not accept IPv4 embedded in IPv6: `{text}`")
    address, slash, prefix_text = text.partition("/")
    parsed = _parse_address(address)
    if parsed is None:
        raise EvaluationError(f"invalid IP address: {text}")
    v6, addr = parsed
    width = 128 if v6 else 32
    if not slash:
        return IPAddr(v6, addr, width)
    prefix = _parse_prefix(prefix_text, width)
    if prefix is None:
        raise EvaluationError(f"error parsing prefix `{prefix_text}`")
    return IPAddr(v6, addr, prefix)


def _as_ip(value: object) -> IPAddr:
    if type(value) is not IPAddr:
        raise _type_error("ipaddr", value)
    return value


def is_ipv4(value: object) -> bool:
    return not _as_ip(value).v6


def is_ipv6(value: object) -> bool:
    return _as_ip(value).v6


def is_loopback(value: object) -> bool:
    ip = _as_ip(value)
    return ip.addr == 1 if ip.v6 else ip.addr >> 24 == 127


def is_multicast(value: object) -> bool:
    ip = _as_ip(value)
    if ip.v6:
        return ip.addr >> 120 == 0xFF and ip.prefix >= 8
    return ip.addr >> 28 == 0xE and ip.prefix >= 4


def _network_bounds(ip: IPAddr) -> tuple[int, int]:
    width = 128 if ip.v6 else 32
    host_bits = width - ip.prefix
    network = ip.addr >> host_bits << host_bits
    return network, network | ((1 << host_bits) - 1)


def is_in_range(child: object, parent: object) -> bool:
    inner, outer = _as_ip(child), _as_ip(parent)
    if inner.v6 != outer.v6:
        return False
    inner_low, inner_high = _network_bounds(inner)
    outer_low, outer_high = _network_bounds(outer)
    return outer_low <= inner_low and inner_high <= outer_high


# --- datetime and duration -------------------------------------------------------------

_DAY_MS = 86_400_000
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_HMS = re.compile(r"T([0-9]{2}):([0-9]{2}):([0-9]{2})")
_MS_AND_OFFSET = re.compile(r"(?:\.([0-9]{3}))?(?:Z|([+-])([0-9]{2})([0-9]{2}))")
_DURATION = re.compile(r"-?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in_month(year: int, month: int) -> int:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 29 if month == 2 and leap else _MONTH_DAYS[month - 1]


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 included)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def parse_datetime(text: str) -> Datetime:
    date = _DATE.match(text)
    if date is None:
        raise EvaluationError(f"invalid date pattern in `{text}`")
    year, month, day = (int(part) for part in date.groups())
    rest = text[date.end() :]
    millis = hours = minutes = seconds = offset = 0
    if rest:
        hms = _HMS.match(rest)
        if hms is None:
            raise EvaluationError(f"invalid hour/minute/second pattern in `{text}`")
        hours, minutes, seconds = (int(part) for part in hms.groups())
        tail = _MS_AND_OFFSET.fullmatch(rest[hms.end() :])
        if tail is None:
            raise EvaluationError(f"invalid millisecond and/or offset pattern in `{text}`")
        ms_text, sign, offset_h, offset_m = tail.groups()
        millis = int(ms_text) if ms_text else 0
        if sign:
            if int(offset_h) >= 24 or int(offset_m) >= 60:
                raise EvaluationError(f"invalid offset range in `{text}`")
            offset = (int(offset_h) * 3600 + int(offset_m) * 60) * (1 if sign == "+" else -1)
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        raise EvaluationError(f"invalid date in `{text}`")
    if hours >= 24 or minutes >= 60 or seconds >= 60:
        raise EvaluationError(f"invalid hour/minute/second in `{text}`")
    seconds_total = hours * 3600 + minutes * 60 + seconds - offset
    return Datetime(_days_from_civil(year, month, day) * _DAY_MS + seconds_total * 1000 + millis)


_UNIT_MS = (86_400_000, 3_600_000, 60_000, 1000, 1)


def parse_duration(text: str) -> Duration:
    match = _DURATION.fullmatch(text)
    if match is None or text in ("", "-"):
        raise EvaluationError(f"invalid duration pattern: `{text}`")
    total = 0
    for digits, unit in zip(match.groups(), _UNIT_MS, strict=True):
        if digits is not None:
            amount = int(digits)
            # Cedar converts each quantity but the milliseconds to i64 before multiplying;
            # the milliseconds (and the sum) only have to fit once the sign is applied.
            if unit != 1 and amount * unit > LONG_MAX:
                raise EvaluationError("duration overflows internal representation")
            total += amount * unit
    if text.startswith("-"):
        total = -total
    return Duration(_checked(total, "a duration"))


def _as_datetime(value: object) -> Datetime:
    if type(value) is not Datetime:
        raise _type_error("datetime", value)
    return value


def _as_duration(value: object) -> Duration:
    if type(value) is not Duration:
        raise _type_error("duration", value)
    return value


def offset(moment: object, length: object) -> Datetime:
    total = _as_datetime(moment).ms + _as_duration(length).ms
    return Datetime(_checked(total, "an offset"))


def duration_since(later: object, earlier: object) -> Duration:
    total = _as_datetime(later).ms - _as_datetime(earlier).ms
    return Duration(_checked(total, "a duration"))


def to_date(moment: object) -> Datetime:
    ms = _as_datetime(moment).ms
    return Datetime(_checked(ms - ms % _DAY_MS, "a date"))


def to_time(moment: object) -> Duration:
    # Python's floored modulo is exactly Cedar's "time of day, never negative".
    return Duration(_as_datetime(moment).ms % _DAY_MS)


def _truncated(ms: int, unit: int) -> int:
    # Cedar divides with Rust's integer division, which truncates toward zero.
    quotient = abs(ms) // unit
    return -quotient if ms < 0 else quotient


def to_milliseconds(length: object) -> int:
    return _as_duration(length).ms


def to_seconds(length: object) -> int:
    return _truncated(_as_duration(length).ms, 1000)


def to_minutes(length: object) -> int:
    return _truncated(_as_duration(length).ms, 60_000)


def to_hours(length: object) -> int:
    return _truncated(_as_duration(length).ms, 3_600_000)


def to_days(length: object) -> int:
    return _truncated(_as_duration(length).ms, _DAY_MS)


def compare_lt(left: object, right: object) -> bool:
    """``<`` for anything but two Longs: datetimes or durations of the same type, else error."""
    if type(left) is type(right) and type(left) in (Datetime, Duration):
        return left.ms < right.ms  # type: ignore[attr-defined, no-any-return]
    bad = left if type(left) not in (int, Datetime, Duration) else right
    raise _type_error("one of [long, datetime, duration]", bad)


def compare_le(left: object, right: object) -> bool:
    if type(left) is type(right) and type(left) in (Datetime, Duration):
        return left.ms <= right.ms  # type: ignore[attr-defined, no-any-return]
    bad = left if type(left) not in (int, Datetime, Duration) else right
    raise _type_error("one of [long, datetime, duration]", bad)


# --- constructors by name (policy text, and the JSON `__extn` escape) --------------------


def _construct(parser: Callable[[str], object]) -> Callable[[object], object]:
    def construct(value: object) -> object:
        return parser(_string_arg(value))

    return construct


construct_decimal = _construct(parse_decimal)
construct_ip = _construct(parse_ip)
construct_datetime = _construct(parse_datetime)
construct_duration = _construct(parse_duration)

CONSTRUCTORS: dict[str, Callable[[str], object]] = {
    "decimal": parse_decimal,
    "ip": parse_ip,
    "ipaddr": parse_ip,
    "datetime": parse_datetime,
    "duration": parse_duration,
}
"""String parsers by constructor name (``ipaddr`` is the type name schemas use for ``ip``)."""


class Unknown:
    """Cedar's ``unknown("name")``: a value left for partial evaluation. Cedar accepts it in
    entity data and contexts; any policy whose answer depends on it is reported as errored.
    Compiled policies never evaluate one: the standalone API hands requests that hold one to
    cedarpy (see :mod:`governance.compiler.fallback`)."""

    __slots__ = ("name",)
    type_name = "unknown"

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f'unknown("{self.name}")'


def construct_unknown(value: object) -> Unknown:
    return Unknown(_string_arg(value))


FUNCTIONS: dict[str, Callable[..., object]] = {
    "decimal": construct_decimal,
    "ip": construct_ip,
    "datetime": construct_datetime,
    "duration": construct_duration,
    "unknown": construct_unknown,
    "lessThan": decimal_lt,
    "lessThanOrEqual": decimal_le,
    "greaterThan": decimal_gt,
    "greaterThanOrEqual": decimal_ge,
    "isIpv4": is_ipv4,
    "isIpv6": is_ipv6,
    "isLoopback": is_loopback,
    "isMulticast": is_multicast,
    "isInRange": is_in_range,
    "offset": offset,
    "durationSince": duration_since,
    "toDate": to_date,
    "toTime": to_time,
    "toMilliseconds": to_milliseconds,
    "toSeconds": to_seconds,
    "toMinutes": to_minutes,
    "toHours": to_hours,
    "toDays": to_days,
}
"""Every extension function of Cedar 4, by its Cedar name: what a JSON ``__extn`` escape may
call (Cedar evaluates any of them there, constructors or not; ``unknown`` included)."""


# --- writing values back as Cedar's JSON escapes (for evaluation by cedarpy) -------------


def _decimal_text(value: Decimal) -> str:
    sign = "-" if value.value < 0 else ""
    whole, frac = divmod(abs(value.value), 10_000)
    return f"{sign}{whole}.{frac:04d}"


def _ip_text(value: IPAddr) -> str:
    if value.v6:
        groups = [f"{value.addr >> shift & 0xFFFF:x}" for shift in range(112, -16, -16)]
        return f"{':'.join(groups)}/{value.prefix}"
    octets = [str(value.addr >> shift & 0xFF) for shift in (24, 16, 8, 0)]
    return f"{'.'.join(octets)}/{value.prefix}"


def _escape(fn: str, arg: str) -> dict[str, object]:
    return {"__extn": {"fn": fn, "arg": arg}}


def extension_json(value: object) -> dict[str, object]:
    """An extension value as the ``__extn`` escape Cedar reads back to the same value (a
    datetime as an offset from the epoch, since not every instant has a datetime string)."""
    if type(value) is Decimal:
        return _escape("decimal", _decimal_text(value))
    if type(value) is IPAddr:
        return _escape("ip", _ip_text(value))
    if type(value) is Duration:
        return _escape("duration", f"{value.ms}ms")
    if type(value) is Datetime:
        epoch = _escape("datetime", "1970-01-01")
        return {"__extn": {"fn": "offset", "args": [epoch, _escape("duration", f"{value.ms}ms")]}}
    raise TypeError(f"not an extension value: `{value!r}`")
