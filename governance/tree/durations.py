"""Retention durations: ISO-8601 (`P7Y`), `{value, unit}` and shorthand (`30d`), compared on days."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

# Calendar units become a fixed day count so durations compare totally; retention rules are
# written in years and months where a day either way never decides the outcome.
_DAYS_PER_UNIT = {"Y": 365.0, "M": 30.0, "W": 7.0, "D": 1.0}
_TIME_PER_DAY = {"H": 1 / 24, "M": 1 / 1440, "S": 1 / 86400}
_ISO = re.compile(
    r"^P(?!$)(?:(?P<Y>\d+(?:\.\d+)?)Y)?(?:(?P<M>\d+(?:\.\d+)?)M)?(?:(?P<W>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<D>\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# Longer than any legal duty (a millennium): a bigger number is a typo or an attack, not a rule.
MAX_DAYS = 365.0 * 1000
_SHORT = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]+)$")
_UNIT_NAMES = {
    "y": "Y", "yr": "Y", "yrs": "Y", "year": "Y", "years": "Y",
    "mo": "M", "mon": "M", "month": "M", "months": "M",
    "w": "W", "wk": "W", "week": "W", "weeks": "W",
    "d": "D", "day": "D", "days": "D",
}  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A retention period: `days` orders it, `iso` is how it is shown."""

    days: float
    iso: str = field(compare=False)  # P1Y and P365D are the same length, so equal

    def __str__(self) -> str:
        return self.iso


def parse_duration(value: Any) -> Duration:
    """Parse any accepted spelling; raises ValueError with a one-line message otherwise."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, dict):
        return _from_value_unit(value.get("value"), value.get("unit"))
    if isinstance(value, str):
        text = value.strip()
        iso = _ISO.match(text.upper())
        if iso:
            return _from_iso(iso)
        short = _SHORT.match(text)
        if short:
            return _from_value_unit(short["value"], short["unit"])
    raise ValueError(
        f"invalid duration `{value}`: use ISO-8601 (P7Y, P30D), 30d or {{value, unit}}"
    )


def _from_iso(match: re.Match[str]) -> Duration:
    days = sum(float(match[u]) * n for u, n in _DAYS_PER_UNIT.items() if match[u])
    days += sum(float(match[u.lower()]) * n for u, n in _TIME_PER_DAY.items() if match[u.lower()])
    return Duration(_bounded(days, match.string), match.string)


def _bounded(days: float, shown: object) -> float:
    if not math.isfinite(days) or not 0 <= days <= MAX_DAYS:
        raise ValueError(f"invalid duration `{shown}`: must be finite and at most 1000 years")
    return days


def _from_value_unit(value: Any, unit: Any) -> Duration:
    code = _UNIT_NAMES.get(str(unit).strip().lower()) if unit is not None else None
    try:
        amount = float(value)
    except (TypeError, ValueError):
        amount = -1.0
    if code is None or not math.isfinite(amount) or amount < 0:
        raise ValueError(f"invalid duration value `{value}` unit `{unit}`")
    _bounded(amount * _DAYS_PER_UNIT[code], f"{value} {unit}")
    shown = int(amount) if amount.is_integer() else amount
    return Duration(amount * _DAYS_PER_UNIT[code], f"P{shown}{code}")
